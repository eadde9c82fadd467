/* pwrite of 4 KiB to a 1 MiB file in a host directory next to the
 * benchmark's binary, at offsets cycling through it: under rvisor it
 * runs with --overlay=none, so the bytes go to the host file (a pwrite
 * on the descriptor the gofer donated, no round trip to it). */
#include "bench.h"
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int fd;

static void run(long n) {
	char buf[4096];
	memset(buf, 'x', sizeof buf);
	for (long i = 0; i < n; i++)
		if (pwrite(fd, buf, sizeof buf, (i % 256) * 4096) != (ssize_t)sizeof buf)
			BENCH_DIE("pwrite");
}

int main(int argc, char **argv) {
	long n = bench_iters(argc, argv);
	char self[4096], path[4096];
	snprintf(self, sizeof self, "%s", argv[0]);
	snprintf(path, sizeof path, "%s/pwrite_host.tmp", dirname(self));
	fd = open(path, O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || ftruncate(fd, 1 << 20) != 0)
		BENCH_DIE(path);
	run(bench_warmup(n));
	double t0 = bench_now_ns();
	run(n);
	bench_report(bench_now_ns() - t0, (double)n);
	close(fd);
	unlink(path);
	return 0;
}
