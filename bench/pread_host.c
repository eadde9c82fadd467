/* pread of 4 KiB from a host file (the benchmark's own binary), at
 * offsets cycling through the file. */
#include "bench.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static int fd;
static long pages;

static void run(long n) {
	char buf[4096];
	for (long i = 0; i < n; i++)
		if (pread(fd, buf, sizeof buf, (i % pages) * 4096) <= 0)
			BENCH_DIE("pread");
}

int main(int argc, char **argv) {
	long n = bench_iters(argc, argv);
	struct stat st;
	fd = open(argv[0], O_RDONLY);
	if (fd < 0 || fstat(fd, &st) != 0)
		BENCH_DIE(argv[0]);
	pages = st.st_size / 4096;
	if (pages < 1)
		pages = 1;
	run(bench_warmup(n));
	double t0 = bench_now_ns();
	run(n);
	bench_report(bench_now_ns() - t0, (double)n);
	return 0;
}
