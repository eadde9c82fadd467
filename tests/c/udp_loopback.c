// UDP over loopback: unconnected and connected sockets, sender addresses,
// datagram boundaries, MSG_TRUNC/MSG_PEEK, FIONREAD, connected filtering,
// ECONNREFUSED after sending to a port nobody has, AF_UNSPEC disconnect,
// IPv6 and v4-mapped senders, poll.
// difftest: network host
#include "dt.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int udp(int fam, struct sockaddr_storage *a)
{
	int s = socket(fam, SOCK_DGRAM, 0);
	if (fam == AF_INET) {
		struct sockaddr_in b = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		bind(s, (void *)&b, sizeof b);
	} else {
		struct sockaddr_in6 b = { .sin6_family = AF_INET6 };
		bind(s, (void *)&b, sizeof b);
	}
	socklen_t n = sizeof *a;
	getsockname(s, (void *)a, &n);
	return s;
}

static short ev(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };
	poll(&p, 1, 0);
	return p.revents;
}

int main(void)
{
	dt_init();
	struct sockaddr_storage aa, ba, from;
	int a = udp(AF_INET, &aa);
	int b = socket(AF_INET, SOCK_DGRAM, 0);
	char buf[64];
	socklen_t n;
	printf("poll empty %#x\n", ev(a));
	printf("poll fresh %#x\n", ev(b));
	CHK("sendto", sendto(b, "first", 5, 0, (void *)&aa, sizeof(struct sockaddr_in)));
	CHK("sendto", sendto(b, "second!", 7, 0, (void *)&aa, sizeof(struct sockaddr_in)));
	CHK("sendto empty", sendto(b, "", 0, 0, (void *)&aa, sizeof(struct sockaddr_in)));
	n = sizeof ba;
	getsockname(b, (void *)&ba, &n);
	FACT(((struct sockaddr_in *)&ba)->sin_port != 0);
	FACT(((struct sockaddr_in *)&ba)->sin_addr.s_addr == 0);
	usleep(10000);
	printf("poll data %#x\n", ev(a));
	int q = -1;
	ioctl(a, FIONREAD, &q);
	printf("FIONREAD %d\n", q);
	CHK("peek", recv(a, buf, 3, MSG_PEEK));
	n = sizeof from;
	CHK("recvfrom", recvfrom(a, buf, sizeof buf, 0, (void *)&from, &n));
	FACT(n == sizeof(struct sockaddr_in));
	FACT(((struct sockaddr_in *)&from)->sin_port == ((struct sockaddr_in *)&ba)->sin_port);
	FACT(((struct sockaddr_in *)&from)->sin_addr.s_addr == htonl(INADDR_LOOPBACK));
	CHK("recv truncated", recv(a, buf, 3, 0));
	struct iovec iov = { buf, 2 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	CHK("recvmsg empty datagram", recvmsg(a, &mh, 0));
	CHK("recv nothing", recv(a, buf, sizeof buf, MSG_DONTWAIT));
	sendto(b, "abcdef", 6, 0, (void *)&aa, sizeof(struct sockaddr_in));
	usleep(10000);
	CHK("recv MSG_TRUNC", recv(a, buf, 2, MSG_TRUNC));
	sendto(b, "abcdef", 6, 0, (void *)&aa, sizeof(struct sockaddr_in));
	usleep(10000);
	mh.msg_flags = 0;
	CHK("recvmsg short", recvmsg(a, &mh, 0));
	FACT(mh.msg_flags & MSG_TRUNC);

	// A connected socket takes datagrams only from its peer.
	int c = socket(AF_INET, SOCK_DGRAM, 0);
	CHK("connect", connect(a, (void *)&ba, sizeof(struct sockaddr_in)));
	sendto(c, "stranger", 8, 0, (void *)&aa, sizeof(struct sockaddr_in));
	CHK("send to peer", send(a, "to b", 4, 0));
	CHK("b gets", recv(b, buf, sizeof buf, 0));
	CHK("b answers", sendto(b, "hi a", 4, 0, (void *)&aa, sizeof(struct sockaddr_in)));
	usleep(10000);
	CHK("a gets only b", recv(a, buf, sizeof buf, MSG_DONTWAIT));
	CHK("a nothing more", recv(a, buf, sizeof buf, MSG_DONTWAIT));
	struct sockaddr_in peer;
	n = sizeof peer;
	CHK("getpeername", getpeername(a, (void *)&peer, &n));
	struct sockaddr_in un = { .sin_family = AF_UNSPEC };
	CHK("disconnect", connect(a, (void *)&un, sizeof un));
	CHK("getpeername after", getpeername(a, (void *)&peer, &n));

	// Nobody at the port: the datagram is lost, a connected sender learns.
	struct sockaddr_in gone = *(struct sockaddr_in *)&aa;
	close(a);
	CHK("sendto nobody", sendto(c, "x", 1, 0, (void *)&gone, sizeof gone));
	CHK("connect to nobody", connect(c, (void *)&gone, sizeof gone));
	CHK("send nobody", send(c, "x", 1, 0));
	usleep(10000);
	printf("poll refused %#x\n", ev(c));
	CHK("send refused", send(c, "x", 1, 0));
	CHK("send again", send(c, "x", 1, 0));
	usleep(10000);
	CHK("recv refused", recv(c, buf, sizeof buf, MSG_DONTWAIT));
	CHK("recv after", recv(c, buf, sizeof buf, MSG_DONTWAIT));

	// IPv6: a dual-stack socket hears IPv4 senders as v4-mapped.
	struct sockaddr_storage sa6;
	int s6 = udp(AF_INET6, &sa6);
	struct sockaddr_in to4 = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				   .sin_port = ((struct sockaddr_in6 *)&sa6)->sin6_port };
	CHK("v4 to dual-stack", sendto(b, "four", 4, 0, (void *)&to4, sizeof to4));
	struct sockaddr_in6 f6;
	n = sizeof f6;
	usleep(10000);
	CHK("recvfrom v6", recvfrom(s6, buf, sizeof buf, 0, (void *)&f6, &n));
	char txt[64];
	inet_ntop(AF_INET6, &f6.sin6_addr, txt, sizeof txt);
	printf("from %s len %u\n", txt, n);
	int c6 = socket(AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_in6 lo6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT,
				    .sin6_port = ((struct sockaddr_in6 *)&sa6)->sin6_port };
	CHK("v6 to v6", sendto(c6, "six", 3, 0, (void *)&lo6, sizeof lo6));
	usleep(10000);
	n = sizeof f6;
	CHK("recvfrom v6", recvfrom(s6, buf, sizeof buf, 0, (void *)&f6, &n));
	inet_ntop(AF_INET6, &f6.sin6_addr, txt, sizeof txt);
	printf("from %s\n", txt);
	return 0;
}
