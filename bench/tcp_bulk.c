/* TCP loopback bulk transfer from one process to another in 64 KiB
 * writes; ns_per_op is per 64 KiB received (MB/s = 65536e3 / ns_per_op). */
#include "net.h"

#define CHUNK 65536

int main(int argc, char **argv) {
	long n = bench_iters(argc, argv);
	long w = bench_warmup(n);
	int c, s;
	bench_tcp_pair(&c, &s);
	pid_t pid = bench_fork();
	if (pid == 0) {
		close(s);
		static char buf[CHUNK];
		for (long i = 0; i < w + n; i++) {
			size_t off = 0;
			while (off < CHUNK) {
				ssize_t r = write(c, buf + off, CHUNK - off);
				if (r <= 0)
					BENCH_DIE("write");
				off += r;
			}
		}
		_exit(0);
	}
	close(c);
	double dt = bench_bulk_read(s, w, n, CHUNK);
	bench_reap(pid, "tcp_bulk");
	bench_report(dt, (double)n);
	return 0;
}
