/* stat("/etc/passwd"). */
#include "bench.h"
#include <sys/stat.h>

static void run(long n) {
	struct stat st;
	for (long i = 0; i < n; i++)
		if (stat("/etc/passwd", &st) != 0)
			BENCH_DIE("stat");
}

int main(int argc, char **argv) {
	long n = bench_iters(argc, argv);
	run(bench_warmup(n));
	double t0 = bench_now_ns();
	run(n);
	bench_report(bench_now_ns() - t0, (double)n);
	return 0;
}
