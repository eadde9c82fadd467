/* Syscalls from many processes at once: CROWD processes (far more than
 * CPUs) each make N/CROWD getppid calls; ns_per_op is the wall time per
 * call, all processes together. On the trap platform each call is a
 * hand-off between a stub thread and a sentry thread; with every CPU
 * busy no side can spin for its partner, so each costs two host
 * context switches (compare crowd_pairs, the host's own cost of that). */
#include "bench.h"
#include <sys/syscall.h>
#include <unistd.h>

#define CROWD 64

static void run(long n) {
	long each = n / CROWD > 0 ? n / CROWD : 1;
	pid_t pids[CROWD];
	for (int p = 0; p < CROWD; p++) {
		pids[p] = bench_fork();
		if (pids[p] == 0) {
			for (long i = 0; i < each; i++)
				syscall(SYS_getppid);
			_exit(0);
		}
	}
	for (int p = 0; p < CROWD; p++)
		bench_reap(pids[p], "crowd_syscalls");
}

int main(int argc, char **argv) {
	long n = bench_iters(argc, argv);
	run(bench_warmup(n));
	double t0 = bench_now_ns();
	run(n);
	long each = n / CROWD > 0 ? n / CROWD : 1;
	bench_report(bench_now_ns() - t0, (double)each * CROWD);
	return 0;
}
