/* TCP loopback ping-pong between two processes with 1-byte messages
 * (TCP_NODELAY); ns_per_op is one round trip. */
#include "net.h"

int main(int argc, char **argv) {
	long n = bench_iters(argc, argv);
	long w = bench_warmup(n);
	int c, s;
	bench_tcp_pair(&c, &s);
	pid_t pid = bench_fork();
	if (pid == 0) {
		close(c);
		char b;
		for (long i = 0; i < w + n; i++) {
			bench_read1(s, &b);
			bench_write1(s, b);
		}
		_exit(0);
	}
	close(s);
	double dt = bench_pingpong(c, w, n);
	bench_reap(pid, "tcp_pingpong");
	bench_report(dt, (double)n);
	return 0;
}
