/* Page-fault heavy: each iteration mmaps 16 MiB of anonymous memory, writes
 * one byte to every 4 KiB page, and munmaps it. ns_per_op is per page
 * touched (ITERATIONS counts 16 MiB rounds, i.e. 4096 pages each). */
#include "bench.h"
#include <sys/mman.h>

#define REGION (16UL << 20)
#define PAGE 4096UL

static void run(long n) {
	for (long i = 0; i < n; i++) {
		volatile char *p = mmap(NULL, REGION, PROT_READ | PROT_WRITE,
		                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			BENCH_DIE("mmap");
		for (unsigned long off = 0; off < REGION; off += PAGE)
			p[off] = 1;
		if (munmap((void *)p, REGION) != 0)
			BENCH_DIE("munmap");
	}
}

int main(int argc, char **argv) {
	long n = bench_iters(argc, argv);
	run(1);
	double t0 = bench_now_ns();
	run(n);
	bench_report(bench_now_ns() - t0, (double)n * (double)(REGION / PAGE));
	return 0;
}
