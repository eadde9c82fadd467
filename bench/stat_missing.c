/* stat of a file that does not exist (ENOENT). */
#include "bench.h"
#include <errno.h>
#include <sys/stat.h>

static void run(long n) {
	struct stat st;
	for (long i = 0; i < n; i++)
		if (stat("/etc/rvisor-bench-missing", &st) == 0 || errno != ENOENT)
			BENCH_DIE("stat of a missing file");
}

int main(int argc, char **argv) {
	long n = bench_iters(argc, argv);
	run(bench_warmup(n));
	double t0 = bench_now_ns();
	run(n);
	bench_report(bench_now_ns() - t0, (double)n);
	return 0;
}
