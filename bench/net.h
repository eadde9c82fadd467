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

#endif
