/* TCP loopback connection rate: connect + accept + close of both ends, in
 * one process (the client closes with SO_LINGER 0, so no TIME_WAIT piles
 * up natively); ns_per_op is one connection. */
#include "net.h"

static void once(int l, struct sockaddr_in *a) {
	int c = socket(AF_INET, SOCK_STREAM, 0);
	if (c < 0)
		BENCH_DIE("socket");
	if (connect(c, (void *)a, sizeof *a) != 0)
		BENCH_DIE("connect");
	int s = accept(l, NULL, NULL);
	if (s < 0)
		BENCH_DIE("accept");
	struct linger lg = { 1, 0 };
	setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(c);
	close(s);
}

int main(int argc, char **argv) {
	long n = bench_iters(argc, argv);
	long w = bench_warmup(n);
	struct sockaddr_in a;
	int l = bench_bound(SOCK_STREAM, &a);
	if (listen(l, 128) != 0)
		BENCH_DIE("listen");
	for (long i = 0; i < w; i++)
		once(l, &a);
	double t0 = bench_now_ns();
	for (long i = 0; i < n; i++)
		once(l, &a);
	double dt = bench_now_ns() - t0;
	bench_report(dt, (double)n);
	return 0;
}
