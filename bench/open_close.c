/* open(O_RDONLY) + close of an existing file (/etc/hostname, or a file the
 * benchmark creates in /tmp when /etc/hostname does not exist). */
#include "bench.h"
#include <fcntl.h>
#include <unistd.h>

static const char *path = "/etc/hostname";

static void run(long n) {
	for (long i = 0; i < n; i++) {
		int fd = open(path, O_RDONLY);
		if (fd < 0)
			BENCH_DIE("open");
		close(fd);
	}
}

int main(int argc, char **argv) {
	long n = bench_iters(argc, argv);
	char tmp[64];
	int made = 0;
	if (access(path, R_OK) != 0) {
		snprintf(tmp, sizeof tmp, "/tmp/rvisor-bench-open.%d", (int)getpid());
		int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			BENCH_DIE("create");
		close(fd);
		path = tmp;
		made = 1;
	}
	run(bench_warmup(n));
	double t0 = bench_now_ns();
	run(n);
	bench_report(bench_now_ns() - t0, (double)n);
	if (made)
		unlink(tmp);
	return 0;
}
