/* Create (O_CREAT|O_EXCL) + close + unlink of a file in a host directory
 * next to the benchmark's binary: under rvisor it runs with
 * --overlay=none, so each file is made and removed on the host through
 * the gofer. */
#include "bench.h"
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char path[4096];

static void run(long n) {
	for (long i = 0; i < n; i++) {
		int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
		if (fd < 0)
			BENCH_DIE("open");
		close(fd);
		if (unlink(path) != 0)
			BENCH_DIE("unlink");
	}
}

int main(int argc, char **argv) {
	long n = bench_iters(argc, argv);
	char self[4096];
	snprintf(self, sizeof self, "%s", argv[0]);
	snprintf(path, sizeof path, "%s/create_unlink.tmp", dirname(self));
	unlink(path);
	run(bench_warmup(n));
	double t0 = bench_now_ns();
	run(n);
	bench_report(bench_now_ns() - t0, (double)n);
	return 0;
}
