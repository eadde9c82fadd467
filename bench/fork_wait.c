/* fork(); the child _exit(0)s at once; the parent waitpid()s for it. */
#include "bench.h"
#include <sys/wait.h>
#include <unistd.h>

static void run(long n) {
	for (long i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0)
			BENCH_DIE("fork");
		if (pid == 0)
			_exit(0);
		bench_reap(pid, "fork_wait");
	}
}

int main(int argc, char **argv) {
	long n = bench_iters(argc, argv);
	run(bench_warmup(n));
	double t0 = bench_now_ns();
	run(n);
	bench_report(bench_now_ns() - t0, (double)n);
	return 0;
}
