/* The host's cost of a hand-off between two processes when the CPUs are
 * crowded: CROWD/2 pairs of processes (far more than CPUs), each pair
 * passing a turn back and forth through a futex word in shared memory,
 * as a trap stub thread and its sentry thread do. ns_per_op is the wall
 * time per round trip, all pairs together: natively, the floor under
 * crowd_syscalls in the sandbox. */
#include "bench.h"
#include <linux/futex.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CROWD 64
#define PAIRS (CROWD / 2)
/* One word per cache line. */
#define STRIDE 16

static void wait_for(_Atomic unsigned *w, unsigned want) {
	unsigned v;
	while ((v = atomic_load(w)) != want)
		syscall(SYS_futex, w, FUTEX_WAIT, v, 0, 0, 0);
}

static void pass(_Atomic unsigned *w, unsigned v) {
	atomic_store(w, v);
	syscall(SYS_futex, w, FUTEX_WAKE, 1, 0, 0, 0);
}

static void run(long n) {
	long each = n / PAIRS > 0 ? n / PAIRS : 1;
	_Atomic unsigned *words = mmap(0, PAIRS * STRIDE * sizeof(unsigned), PROT_READ | PROT_WRITE,
				       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (words == MAP_FAILED)
		BENCH_DIE("mmap");
	pid_t pids[CROWD];
	for (int p = 0; p < CROWD; p++) {
		pids[p] = bench_fork();
		if (pids[p] == 0) {
			_Atomic unsigned *w = words + (p / 2) * STRIDE;
			unsigned side = p % 2;
			/* Side 0 moves the word from even to odd, side 1 back. */
			for (long i = 0; i < each; i++) {
				wait_for(w, 2 * (unsigned)i + side);
				pass(w, 2 * (unsigned)i + side + 1);
			}
			_exit(0);
		}
	}
	for (int p = 0; p < CROWD; p++)
		bench_reap(pids[p], "crowd_pairs");
	munmap((void *)words, PAIRS * STRIDE * sizeof(unsigned));
}

int main(int argc, char **argv) {
	long n = bench_iters(argc, argv);
	run(bench_warmup(n));
	double t0 = bench_now_ns();
	run(n);
	long each = n / PAIRS > 0 ? n / PAIRS : 1;
	bench_report(bench_now_ns() - t0, (double)each * PAIRS);
	return 0;
}
