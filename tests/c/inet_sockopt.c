// Inet socket options: defaults, values kept and reported, buffer sizes,
// SO_REUSEADDR/SO_REUSEPORT port sharing, IPV6_V6ONLY dual-stack binds,
// TCP_INFO's state.
// difftest: network host
#include "dt.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

static void show(int s, int level, int name, const char *what)
{
	int v = -7;
	socklen_t n = sizeof v;
	int r = getsockopt(s, level, name, &v, &n);
	if (r < 0)
		printf("%s: errno=%s\n", what, dt_errname(errno));
	else
		printf("%s: %d (len %u)\n", what, v, n);
}

static void setshow(int s, int level, int name, int v, const char *what)
{
	int r = setsockopt(s, level, name, &v, sizeof v);
	printf("set %s=%d: %s\n", what, v, r < 0 ? dt_errname(errno) : "ok");
	show(s, level, name, what);
}

static int bound(int fam, int type, int reuse, int reuseport, int port, int v6only)
{
	int s = socket(fam, type, 0);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof reuse);
	setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &reuseport, sizeof reuseport);
	if (fam == AF_INET6)
		setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
	int r;
	if (fam == AF_INET) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
		r = bind(s, (void *)&a, sizeof a);
	} else {
		struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
		r = bind(s, (void *)&a, sizeof a);
	}
	if (r < 0) {
		int e = errno;
		close(s);
		errno = e;
		return -1;
	}
	return s;
}

static int port_of(int s)
{
	struct sockaddr_in6 a;
	socklen_t n = sizeof a;
	getsockname(s, (void *)&a, &n);
	return ntohs(a.sin6_port);
}

int main(void)
{
	dt_init();
	int t = socket(AF_INET, SOCK_STREAM, 0);
	show(t, SOL_SOCKET, SO_TYPE, "SO_TYPE");
	show(t, SOL_SOCKET, SO_DOMAIN, "SO_DOMAIN");
	show(t, SOL_SOCKET, SO_PROTOCOL, "SO_PROTOCOL");
	show(t, SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF");
	show(t, SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF");
	show(t, SOL_SOCKET, SO_ACCEPTCONN, "SO_ACCEPTCONN");
	show(t, SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR");
	show(t, SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE");
	show(t, IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY");
	show(t, IPPROTO_TCP, TCP_MAXSEG, "TCP_MAXSEG");
	show(t, IPPROTO_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE");
	show(t, IPPROTO_TCP, TCP_KEEPINTVL, "TCP_KEEPINTVL");
	show(t, IPPROTO_TCP, TCP_KEEPCNT, "TCP_KEEPCNT");
	show(t, IPPROTO_TCP, TCP_SYNCNT, "TCP_SYNCNT");
	show(t, IPPROTO_TCP, TCP_QUICKACK, "TCP_QUICKACK");
	show(t, IPPROTO_IP, IP_TTL, "IP_TTL");
	show(t, IPPROTO_IP, IP_TOS, "IP_TOS");
	setshow(t, SOL_SOCKET, SO_SNDBUF, 10000, "SO_SNDBUF");
	setshow(t, SOL_SOCKET, SO_RCVBUF, 1, "SO_RCVBUF");
	setshow(t, SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE");
	setshow(t, IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY");
	setshow(t, IPPROTO_TCP, TCP_CORK, 1, "TCP_CORK");
	setshow(t, IPPROTO_TCP, TCP_KEEPIDLE, 30, "TCP_KEEPIDLE");
	setshow(t, IPPROTO_TCP, TCP_KEEPIDLE, 0, "TCP_KEEPIDLE");
	setshow(t, IPPROTO_TCP, TCP_KEEPINTVL, 5, "TCP_KEEPINTVL");
	setshow(t, IPPROTO_TCP, TCP_KEEPCNT, 3, "TCP_KEEPCNT");
	setshow(t, IPPROTO_TCP, TCP_USER_TIMEOUT, 1000, "TCP_USER_TIMEOUT");
	setshow(t, IPPROTO_IP, IP_TOS, 0x10, "IP_TOS");
	setshow(t, IPPROTO_IP, IP_TTL, 7, "IP_TTL");
	setshow(t, IPPROTO_IP, IP_TTL, 0, "IP_TTL");
	struct linger lg = { 1, 5 };
	CHK("SO_LINGER", setsockopt(t, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
	struct linger lg2;
	socklen_t n = sizeof lg2;
	getsockopt(t, SOL_SOCKET, SO_LINGER, &lg2, &n);
	printf("linger %d %d\n", lg2.l_onoff, lg2.l_linger);
	char cc[16] = { 0 };
	n = sizeof cc;
	CHK("TCP_CONGESTION", getsockopt(t, IPPROTO_TCP, TCP_CONGESTION, cc, &n));
	struct timeval tv = { 2, 500000 };
	CHK("SO_RCVTIMEO", setsockopt(t, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
	n = sizeof tv;
	getsockopt(t, SOL_SOCKET, SO_RCVTIMEO, &tv, &n);
	printf("rcvtimeo %ld.%06ld\n", (long)tv.tv_sec, (long)tv.tv_usec);

	struct tcp_info ti;
	n = sizeof ti;
	CHK("TCP_INFO", getsockopt(t, IPPROTO_TCP, TCP_INFO, &ti, &n));
	printf("state %d\n", ti.tcpi_state);
	int l = bound(AF_INET, SOCK_STREAM, 0, 0, 0, 0);
	listen(l, 3);
	n = sizeof ti;
	getsockopt(l, IPPROTO_TCP, TCP_INFO, &ti, &n);
	printf("listen state %d\n", ti.tcpi_state);
	show(l, SOL_SOCKET, SO_ACCEPTCONN, "SO_ACCEPTCONN");

	int u = socket(AF_INET, SOCK_DGRAM, 0);
	show(u, SOL_SOCKET, SO_TYPE, "udp SO_TYPE");
	show(u, SOL_SOCKET, SO_PROTOCOL, "udp SO_PROTOCOL");
	show(u, SOL_SOCKET, SO_SNDBUF, "udp SO_SNDBUF");
	show(u, SOL_SOCKET, SO_RCVBUF, "udp SO_RCVBUF");
	setshow(u, SOL_SOCKET, SO_BROADCAST, 1, "SO_BROADCAST");
	setshow(u, IPPROTO_IP, IP_PKTINFO, 1, "IP_PKTINFO");
	setshow(u, IPPROTO_IP, IP_MULTICAST_TTL, 4, "IP_MULTICAST_TTL");
	int six = socket(AF_INET6, SOCK_STREAM, 0);
	show(six, IPPROTO_IPV6, IPV6_V6ONLY, "IPV6_V6ONLY");
	show(six, IPPROTO_IPV6, IPV6_UNICAST_HOPS, "IPV6_UNICAST_HOPS");
	setshow(six, IPPROTO_IPV6, IPV6_TCLASS, 8, "IPV6_TCLASS");

	// Port sharing.
	int a = bound(AF_INET, SOCK_STREAM, 0, 0, 0, 0);
	int p = port_of(a);
	FACT(bound(AF_INET, SOCK_STREAM, 0, 0, p, 0) < 0 && errno == EADDRINUSE);
	FACT(bound(AF_INET, SOCK_STREAM, 1, 0, p, 0) < 0 && errno == EADDRINUSE);
	close(a);
	a = bound(AF_INET, SOCK_STREAM, 1, 0, 0, 0);
	p = port_of(a);
	int b = bound(AF_INET, SOCK_STREAM, 1, 0, p, 0);
	FACT(b >= 0);
	CHK("listen a", listen(a, 1));
	CHK("listen b on the same port", listen(b, 1));
	close(b);
	FACT(bound(AF_INET, SOCK_STREAM, 1, 0, p, 0) < 0 && errno == EADDRINUSE);
	close(a);
	a = bound(AF_INET, SOCK_STREAM, 0, 1, 0, 0);
	p = port_of(a);
	b = bound(AF_INET, SOCK_STREAM, 0, 1, p, 0);
	FACT(b >= 0);
	CHK("reuseport listen a", listen(a, 1));
	CHK("reuseport listen b", listen(b, 1));
	close(a);
	close(b);
	a = bound(AF_INET, SOCK_DGRAM, 1, 0, 0, 0);
	p = port_of(a);
	b = bound(AF_INET, SOCK_DGRAM, 1, 0, p, 0);
	FACT(b >= 0);
	close(a);
	close(b);

	// Dual stack: a v6 wildcard covers IPv4 unless IPV6_V6ONLY.
	a = bound(AF_INET6, SOCK_STREAM, 0, 0, 0, 0);
	p = port_of(a);
	FACT(bound(AF_INET, SOCK_STREAM, 0, 0, p, 0) < 0 && errno == EADDRINUSE);
	close(a);
	a = bound(AF_INET6, SOCK_STREAM, 0, 0, 0, 1);
	p = port_of(a);
	b = bound(AF_INET, SOCK_STREAM, 0, 0, p, 0);
	FACT(b >= 0);
	close(b);
	close(a);
	a = bound(AF_INET, SOCK_STREAM, 0, 0, 0, 0);
	p = port_of(a);
	FACT(bound(AF_INET6, SOCK_STREAM, 0, 0, p, 0) < 0 && errno == EADDRINUSE);
	b = bound(AF_INET6, SOCK_STREAM, 0, 0, p, 1);
	FACT(b >= 0);
	return 0;
}
