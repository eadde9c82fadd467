/* Loopback socket helpers for the network benchmarks. */
#ifndef RVISOR_BENCH_NET_H
#define RVISOR_BENCH_NET_H

#include "bench.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

/* A socket of `type` bound to 127.0.0.1 on an ephemeral port; its address
 * in `*a`. */
static inline int bench_bound(int type, struct sockaddr_in *a) {
	int s = socket(AF_INET, type, 0);
	if (s < 0)
		BENCH_DIE("socket");
	struct sockaddr_in b = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (bind(s, (void *)&b, sizeof b) != 0)
		BENCH_DIE("bind");
	socklen_t n = sizeof *a;
	getsockname(s, (void *)a, &n);
	return s;
}

/* A connected TCP pair (client, server) with TCP_NODELAY. */
static inline void bench_tcp_pair(int *c, int *s) {
	struct sockaddr_in a;
	int l = bench_bound(SOCK_STREAM, &a);
	if (listen(l, 1) != 0)
		BENCH_DIE("listen");
	*c = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(*c, (void *)&a, sizeof a) != 0)
		BENCH_DIE("connect");
	*s = accept(l, NULL, NULL);
	if (*s < 0)
		BENCH_DIE("accept");
	int one = 1;
	setsockopt(*c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(*s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	close(l);
}

/* A TCP connection to $BENCH_PEER_IP at the port in environment
 * variable `port_var`, with TCP_NODELAY. */
static inline int bench_remote(const char *port_var) {
	const char *ip = getenv("BENCH_PEER_IP"), *port = getenv(port_var);
	struct sockaddr_in a = { .sin_family = AF_INET };
	if (!ip || !port || inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
		fprintf(stderr, "BENCH_PEER_IP and %s must be set\n", port_var);
		exit(2);
	}
	a.sin_port = htons(atoi(port));
	int c = socket(AF_INET, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (void *)&a, sizeof a) != 0)
		BENCH_DIE("connect");
	int one = 1;
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return c;
}

/* The client's side of a ping-pong: `w` warm-up then `n` timed round
 * trips of one byte on `c`; returns the timed nanoseconds. */
static inline double bench_pingpong(int c, long w, long n) {
	char b = 'x';
	for (long i = 0; i < w; i++) {
		bench_write1(c, b);
		bench_read1(c, &b);
	}
	double t0 = bench_now_ns();
	for (long i = 0; i < n; i++) {
		bench_write1(c, b);
		bench_read1(c, &b);
	}
	return bench_now_ns() - t0;
}

/* Reads `w` warm-up then `n` timed chunks of `chunk` bytes from `s`;
 * returns the timed nanoseconds. */
static inline double bench_bulk_read(int s, long w, long n, long chunk) {
	static char buf[65536];
	long want = w * chunk, got = 0;
	double t0 = 0;
	int timing = 0;
	for (;;) {
		if (!timing && got >= want) {
			t0 = bench_now_ns();
			timing = 1;
			want = (w + n) * chunk;
		}
		if (timing && got >= want)
			break;
		ssize_t r = read(s, buf, sizeof buf);
		if (r <= 0)
			BENCH_DIE("read");
		got += r;
	}
	return bench_now_ns() - t0;
}

#endif
