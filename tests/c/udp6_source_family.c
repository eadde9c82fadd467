// An IPv6 UDP socket's source address decides the family it may send to:
// bound to an IPv6 address it becomes IPV6_V6ONLY (ENETUNREACH to a
// v4-mapped address); with a v4-mapped source (bound, or connected to a
// v4-mapped address) it cannot send to IPv6 (EINVAL; EAFNOSUPPORT before
// Linux 6.x).
#include "dt.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

static struct sockaddr_in6 a6(const char *ip, int port)
{
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
	inet_pton(AF_INET6, ip, &a.sin6_addr);
	return a;
}

static int v6only(int s)
{
	int v = -1;
	socklen_t l = sizeof(v);
	getsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &v, &l);
	return v;
}

static void show_send(const char *what, int s, struct sockaddr_in6 *to)
{
	errno = 0;
	long r = sendto(s, "hello", 5, 0, (struct sockaddr *)to, sizeof(*to));
	int e = errno;
	if (r < 0 && (e == EINVAL || e == EAFNOSUPPORT))
		printf("%s: ret=-1 errno=EINVAL-or-EAFNOSUPPORT\n", what);
	else
		printf("%s: ret=%ld errno=%s\n", what, r, r < 0 ? dt_errname(e) : "0");
}

int main(void)
{
	dt_init();
	/* Receivers: one IPv6, one IPv4, on ephemeral ports. */
	int r6 = socket(AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_in6 any6 = a6("::1", 0);
	CHK("bind r6", bind(r6, (struct sockaddr *)&any6, sizeof(any6)));
	struct sockaddr_in6 got;
	socklen_t gl = sizeof(got);
	getsockname(r6, (struct sockaddr *)&got, &gl);
	int p6 = ntohs(got.sin6_port);
	int r4 = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in lo4 = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	CHK("bind r4", bind(r4, (struct sockaddr *)&lo4, sizeof(lo4)));
	socklen_t l4 = sizeof(lo4);
	getsockname(r4, (struct sockaddr *)&lo4, &l4);
	int p4 = ntohs(lo4.sin_port);
	struct sockaddr_in6 to6 = a6("::1", p6), to4 = a6("::ffff:127.0.0.1", p4);

	printf("fresh v6only: %d\n", v6only(r4 >= 0 ? socket(AF_INET6, SOCK_DGRAM, 0) : -1));
	printf("bound ::1 v6only: %d\n", v6only(r6));

	int s = socket(AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_in6 b = a6("::1", 0);
	CHK("bind ::1", bind(s, (struct sockaddr *)&b, sizeof(b)));
	show_send("::1-bound to mapped", s, &to4);
	show_send("::1-bound to ::1", s, &to6);
	close(s);

	s = socket(AF_INET6, SOCK_DGRAM, 0);
	b = a6("::", 0);
	CHK("bind ::", bind(s, (struct sockaddr *)&b, sizeof(b)));
	printf("bound :: v6only: %d\n", v6only(s));
	show_send("::-bound to mapped", s, &to4);
	show_send("::-bound to ::1", s, &to6);
	close(s);

	s = socket(AF_INET6, SOCK_DGRAM, 0);
	b = a6("::ffff:127.0.0.1", 0);
	CHK("bind mapped", bind(s, (struct sockaddr *)&b, sizeof(b)));
	printf("bound mapped v6only: %d\n", v6only(s));
	show_send("mapped-bound to ::1", s, &to6);
	show_send("mapped-bound to mapped", s, &to4);
	close(s);

	s = socket(AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_in6 c = a6("::ffff:127.0.0.1", 5000);
	CHK("connect mapped", connect(s, (struct sockaddr *)&c, sizeof(c)));
	show_send("mapped-connected to ::1", s, &to6);
	close(s);

	/* An unbound socket sends to both families. */
	s = socket(AF_INET6, SOCK_DGRAM, 0);
	show_send("unbound to mapped", s, &to4);
	show_send("unbound to ::1", s, &to6);
	close(s);

	char buf[16];
	int n6 = 0, n4 = 0;
	while (recv(r6, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		n6++;
	while (recv(r4, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		n4++;
	printf("received v6=%d v4=%d\n", n6, n4);
	return 0;
}
