/* Thread create + join: pthread_create of a thread that returns at once,
 * then pthread_join; ns_per_op is one create+join. */
#include "bench.h"
#include <pthread.h>

static void *nothing(void *a) {
	return a;
}

static void run(long n) {
	for (long i = 0; i < n; i++) {
		pthread_t t;
		if (pthread_create(&t, 0, nothing, 0) != 0 || pthread_join(t, 0) != 0)
			BENCH_DIE("pthread");
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
