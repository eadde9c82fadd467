/* read() of 4 KiB from /dev/zero (one open, N reads). */
#include "bench.h"
#include <fcntl.h>
#include <unistd.h>

static char buf[4096];

static void run(int fd, long n) {
	for (long i = 0; i < n; i++)
		if (read(fd, buf, sizeof buf) != (ssize_t)sizeof buf)
			BENCH_DIE("read");
}

int main(int argc, char **argv) {
	long n = bench_iters(argc, argv);
	int fd = open("/dev/zero", O_RDONLY);
	if (fd < 0)
		BENCH_DIE("open /dev/zero");
	run(fd, bench_warmup(n));
	double t0 = bench_now_ns();
	run(fd, n);
	bench_report(bench_now_ns() - t0, (double)n);
	close(fd);
	return 0;
}
