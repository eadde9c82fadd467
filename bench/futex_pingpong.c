/* Futex ping-pong between two threads of one process: each waits for its
 * turn on a shared word and wakes the other; ns_per_op is one round trip. */
#include "bench.h"
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

static _Atomic int turn; /* 0: main's turn, 1: the other thread's */
static long total;

static void wait_for(int want) {
	int v;
	while ((v = atomic_load(&turn)) != want)
		syscall(SYS_futex, &turn, FUTEX_WAIT_PRIVATE, v, 0, 0, 0);
}

static void pass_to(int who) {
	atomic_store(&turn, who);
	syscall(SYS_futex, &turn, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
}

static void *other(void *a) {
	(void)a;
	for (long i = 0; i < total; i++) {
		wait_for(1);
		pass_to(0);
	}
	return 0;
}

static void run(long n) {
	for (long i = 0; i < n; i++) {
		pass_to(1);
		wait_for(0);
	}
}

int main(int argc, char **argv) {
	long n = bench_iters(argc, argv);
	long w = bench_warmup(n);
	total = w + n;
	pthread_t t;
	if (pthread_create(&t, 0, other, 0) != 0)
		BENCH_DIE("pthread_create");
	run(w);
	double t0 = bench_now_ns();
	run(n);
	double dt = bench_now_ns() - t0;
	pthread_join(t, 0);
	bench_report(dt, (double)n);
	return 0;
}
