// Error paths of the socket calls on inet sockets: EBADF, ENOTSOCK,
// EINVAL, EAFNOSUPPORT, EADDRINUSE, EADDRNOTAVAIL, EISCONN, ENOTCONN,
// EPIPE, EOPNOTSUPP, EDESTADDRREQ, EPROTONOSUPPORT, EFAULT.
// difftest: network host
#include "dt.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	struct sockaddr_in lo = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in6 lo6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	char b[8];
	int file = open("/dev/null", O_RDONLY);

	CHK("socket bad family", socket(12345, SOCK_STREAM, 0));
	CHK("socket tcp proto udp", socket(AF_INET, SOCK_STREAM, IPPROTO_UDP));
	CHK("socket udp proto tcp", socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP));
	CHK("socket bad type", socket(AF_INET, 7, 0));
	CHK("socket bad flags", socket(AF_INET, SOCK_STREAM | 0x1000, 0));
	CHK("socketpair inet", socketpair(AF_INET, SOCK_STREAM, 0, (int[2]){ 0 }));

	CHK("bind EBADF", bind(999, (void *)&lo, sizeof lo));
	CHK("bind ENOTSOCK", bind(file, (void *)&lo, sizeof lo));
	int s = socket(AF_INET, SOCK_STREAM, 0);
	CHK("bind short", bind(s, (void *)&lo, 8));
	CHK("bind EFAULT", bind(s, (void *)8, sizeof lo));
	CHK("bind v6 addr on v4", bind(s, (void *)&lo6, sizeof lo6));
	struct sockaddr_in far = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0xC0000201) };
	CHK("bind 192.0.2.1", bind(s, (void *)&far, sizeof far));
	CHK("bind", bind(s, (void *)&lo, sizeof lo));
	CHK("bind again", bind(s, (void *)&lo, sizeof lo));
	struct sockaddr_in got;
	socklen_t n = sizeof got;
	getsockname(s, (void *)&got, &n);
	int t = socket(AF_INET, SOCK_STREAM, 0);
	CHK("bind in use", bind(t, (void *)&got, sizeof got));
	struct sockaddr_in anyp = got;
	anyp.sin_addr.s_addr = 0;
	CHK("bind wildcard over specific", bind(t, (void *)&anyp, sizeof anyp));
	struct sockaddr_in other = got;
	other.sin_addr.s_addr = htonl(0x7f000002);
	CHK("bind other loopback address same port", bind(t, (void *)&other, sizeof other));
	close(t);
	CHK("getsockname EBADF", getsockname(999, (void *)&got, &n));
	CHK("getsockname ENOTSOCK", getsockname(file, (void *)&got, &n));
	CHK("getpeername ENOTCONN", getpeername(s, (void *)&got, &n));
	n = -1;
	CHK("getsockname bad len", getsockname(s, (void *)&got, &n));

	CHK("listen EBADF", listen(999, 1));
	CHK("listen ENOTSOCK", listen(file, 1));
	CHK("listen", listen(s, 1));
	CHK("listen again", listen(s, 5));
	CHK("connect listening", connect(s, (void *)&lo, sizeof lo));
	CHK("recv listening", recv(s, b, 1, 0));
	CHK("send listening", send(s, b, 1, MSG_NOSIGNAL));
	CHK("accept4 bad flags", accept4(s, NULL, NULL, 0x1234));
	CHK("accept EBADF", accept(999, NULL, NULL));
	CHK("accept ENOTSOCK", accept(file, NULL, NULL));

	int u = socket(AF_INET, SOCK_DGRAM, 0);
	CHK("listen udp", listen(u, 1));
	CHK("accept udp", accept(u, NULL, NULL));
	CHK("send udp unconnected", send(u, "x", 1, 0));
	CHK("write udp unconnected", write(u, "x", 1));
	CHK("getpeername udp", getpeername(u, (void *)&got, &(socklen_t){ sizeof got }));
	CHK("shutdown udp unconnected", shutdown(u, SHUT_RDWR));
	CHK("sendto udp short addr", sendto(u, "x", 1, 0, (void *)&lo, 4));
	CHK("sendto udp v6 addr", sendto(u, "x", 1, 0, (void *)&lo6, sizeof lo6));
	static char huge[70000];
	struct sockaddr_in dst = lo;
	dst.sin_port = got.sin_port;
	CHK("sendto udp too big", sendto(u, huge, sizeof huge, 0, (void *)&dst, sizeof dst));

	int c = socket(AF_INET, SOCK_STREAM, 0);
	CHK("send unconnected", send(c, "x", 1, MSG_NOSIGNAL));
	CHK("write unconnected", send(c, "x", 1, MSG_NOSIGNAL));
	CHK("recv unconnected", recv(c, b, 1, 0));
	CHK("read unconnected", read(c, b, 1));
	CHK("accept unconnected", accept(c, NULL, NULL));
	// Linux marks the socket shut even though it says ENOTCONN.
	int d = socket(AF_INET, SOCK_STREAM, 0);
	CHK("shutdown unconnected", shutdown(d, SHUT_RD));
	CHK("recv after failed shutdown", recv(d, b, 1, 0));
	close(d);
	CHK("connect short", connect(c, (void *)&lo, 4));
	CHK("connect v6 on v4", connect(c, (void *)&lo6, sizeof lo6));
	n = sizeof got;
	getsockname(s, (void *)&got, &n);
	CHK("connect", connect(c, (void *)&got, sizeof got));
	CHK("connect again", connect(c, (void *)&got, sizeof got));
	CHK("bind connected", bind(c, (void *)&lo, sizeof lo));
	CHK("listen connected", listen(c, 1));
	CHK("sendto connected tcp ignores address", sendto(c, "x", 1, 0, (void *)&lo, sizeof lo));
	CHK("recv EFAULT", recv(c, (void *)8, 1, MSG_DONTWAIT));
	CHK("send EFAULT", send(c, (void *)8, 1, 0));
	CHK("send OOB flags ok", send(c, "y", 1, MSG_DONTWAIT));
	CHK("getsockopt bad level", getsockopt(c, 999, 1, b, &(socklen_t){ 4 }));
	CHK("getsockopt unknown tcp", getsockopt(c, IPPROTO_TCP, 999, b, &(socklen_t){ 4 }));
	CHK("setsockopt short", setsockopt(c, IPPROTO_TCP, 1, b, 2));
	CHK("setsockopt negative len", setsockopt(c, SOL_SOCKET, SO_REUSEADDR, b, -1));
	CHK("getsockopt ipv6 on v4", getsockopt(c, IPPROTO_IPV6, 26, b, &(socklen_t){ 4 }));
	CHK("tcp option on udp", setsockopt(u, IPPROTO_TCP, 1, &(int){ 1 }, 4));
	CHK("get tcp option on udp", getsockopt(u, IPPROTO_TCP, 1, b, &(socklen_t){ 4 }));
	CHK("setsockopt bad level", setsockopt(c, 999, 1, &(int){ 1 }, 4));

	int six = socket(AF_INET6, SOCK_STREAM, 0);
	CHK("v6only", setsockopt(six, IPPROTO_IPV6, IPV6_V6ONLY, &(int){ 1 }, 4));
	struct sockaddr_in6 mapped = { .sin6_family = AF_INET6 };
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &mapped.sin6_addr);
	mapped.sin6_port = got.sin_port;
	CHK("v6only connect to mapped", connect(six, (void *)&mapped, sizeof mapped));
	CHK("bind short v6", bind(six, (void *)&lo6, 20));
	CHK("bind v4 on v6", bind(six, (void *)&lo, sizeof lo));
	CHK("getsockopt bad level v6", getsockopt(six, 999, 1, b, &(socklen_t){ 4 }));
	CHK("get ip option on v6", getsockopt(six, IPPROTO_IP, IP_TTL, b, &(socklen_t){ 4 }));
	CHK("bind v6 loopback", bind(six, (void *)&lo6, sizeof lo6));
	CHK("v6only after bind", setsockopt(six, IPPROTO_IPV6, IPV6_V6ONLY, &(int){ 0 }, 4));
	return 0;
}
