/* Signal delivery round trip: raise(SIGUSR1) with a handler installed;
 * ns_per_op covers sending, delivering, running the handler and returning
 * (rt_sigreturn). */
#include "bench.h"
#include <signal.h>

static volatile sig_atomic_t count;

static void on_usr1(int s) {
	(void)s;
	count++;
}

static void run(long n) {
	for (long i = 0; i < n; i++)
		raise(SIGUSR1);
}

int main(int argc, char **argv) {
	long n = bench_iters(argc, argv);
	struct sigaction sa = {0};
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, 0);
	run(bench_warmup(n));
	double t0 = bench_now_ns();
	run(n);
	double dt = bench_now_ns() - t0;
	if (count != bench_warmup(n) + n)
		BENCH_DIE("lost signals");
	bench_report(dt, (double)n);
	return 0;
}
