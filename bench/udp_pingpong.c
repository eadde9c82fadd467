/* UDP loopback ping-pong between two processes with 1-byte datagrams on
 * connected sockets; ns_per_op is one round trip. */
#include "net.h"

int main(int argc, char **argv) {
	long n = bench_iters(argc, argv);
	long w = bench_warmup(n);
	struct sockaddr_in aa, ba;
	int a = bench_bound(SOCK_DGRAM, &aa);
	int b = bench_bound(SOCK_DGRAM, &ba);
	if (connect(a, (void *)&ba, sizeof ba) != 0 || connect(b, (void *)&aa, sizeof aa) != 0)
		BENCH_DIE("connect");
	pid_t pid = bench_fork();
	char c = 'x';
	if (pid == 0) {
		for (long i = 0; i < w + n; i++) {
			if (recv(b, &c, 1, 0) != 1 || send(b, &c, 1, 0) != 1)
				BENCH_DIE("child");
		}
		_exit(0);
	}
	for (long i = 0; i < w; i++)
		if (send(a, &c, 1, 0) != 1 || recv(a, &c, 1, 0) != 1)
			BENCH_DIE("parent");
	double t0 = bench_now_ns();
	for (long i = 0; i < n; i++)
		if (send(a, &c, 1, 0) != 1 || recv(a, &c, 1, 0) != 1)
			BENCH_DIE("parent");
	double dt = bench_now_ns() - t0;
	bench_reap(pid, "udp_pingpong");
	bench_report(dt, (double)n);
	return 0;
}
