// UDP's ICMP port unreachable over loopback, beyond the connected sender
// (udp_loopback.c): with IP_RECVERR/IPV6_RECVERR an unconnected sender
// learns ECONNREFUSED (poll POLLERR, SO_ERROR, the next send or receive),
// without it nothing; a connected sender sending to its peer by address
// learns it too, one sending elsewhere does not; the option itself.
// difftest: network host
#include "dt.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

// A loopback address of `fam` at a port nobody has.
static socklen_t closed_port(int fam, struct sockaddr_storage *a)
{
	int s = socket(fam, SOCK_DGRAM, 0);
	socklen_t n;
	memset(a, 0, sizeof *a);
	if (fam == AF_INET) {
		struct sockaddr_in *v4 = (void *)a;
		v4->sin_family = AF_INET;
		v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		n = sizeof *v4;
	} else {
		struct sockaddr_in6 *v6 = (void *)a;
		v6->sin6_family = AF_INET6;
		v6->sin6_addr = in6addr_loopback;
		n = sizeof *v6;
	}
	bind(s, (void *)a, n);
	getsockname(s, (void *)a, &n);
	close(s);
	return n;
}

static short ev(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	poll(&p, 1, 0);
	return p.revents;
}

static int so_error(int fd)
{
	int e = -1;
	socklen_t n = sizeof e;
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &n);
	return e;
}

static void family(int fam, int level, int opt, const char *name)
{
	struct sockaddr_storage gone;
	socklen_t len = closed_port(fam, &gone);
	char buf[16];
	int v = -1;
	socklen_t n = sizeof v;

	printf("-- %s\n", name);
	int s = socket(fam, SOCK_DGRAM, 0);
	CHK("getsockopt default", getsockopt(s, level, opt, &v, &n));
	printf("default %d\n", v);
	int on = 1;
	CHK("setsockopt on", setsockopt(s, level, opt, &on, sizeof on));
	n = sizeof v;
	getsockopt(s, level, opt, &v, &n);
	printf("now %d\n", v);
	CHK("setsockopt short", setsockopt(s, level, opt, &on, 1));

	// Unconnected with the option: the error is the socket's.
	CHK("sendto closed", sendto(s, "x", 1, 0, (void *)&gone, len));
	usleep(10000);
	printf("poll %#x\n", ev(s));
	printf("SO_ERROR %s\n", dt_errname(so_error(s)));
	printf("SO_ERROR again %s\n", dt_errname(so_error(s)));
	CHK("sendto closed", sendto(s, "x", 1, 0, (void *)&gone, len));
	usleep(10000);
	CHK("recv", recv(s, buf, sizeof buf, MSG_DONTWAIT));
	CHK("sendto closed", sendto(s, "x", 1, 0, (void *)&gone, len));
	usleep(10000);
	CHK("next sendto", sendto(s, "x", 1, 0, (void *)&gone, len));
	usleep(10000);
	close(s);

	// Unconnected without it: nothing.
	s = socket(fam, SOCK_DGRAM, 0);
	CHK("plain sendto closed", sendto(s, "x", 1, 0, (void *)&gone, len));
	usleep(10000);
	printf("plain poll %#x\n", ev(s));
	printf("plain SO_ERROR %s\n", dt_errname(so_error(s)));
	CHK("plain recv", recv(s, buf, sizeof buf, MSG_DONTWAIT));

	// Connected: its peer refuses even when named by address; another
	// destination's refusal is not its.
	struct sockaddr_storage other;
	socklen_t olen = closed_port(fam, &other);
	CHK("connect", connect(s, (void *)&gone, len));
	CHK("sendto peer", sendto(s, "x", 1, 0, (void *)&gone, len));
	usleep(10000);
	CHK("recv", recv(s, buf, sizeof buf, MSG_DONTWAIT));
	CHK("sendto other", sendto(s, "x", 1, 0, (void *)&other, olen));
	usleep(10000);
	CHK("recv", recv(s, buf, sizeof buf, MSG_DONTWAIT));
	close(s);
}

int main(void)
{
	dt_init();
	family(AF_INET, IPPROTO_IP, IP_RECVERR, "IPv4 IP_RECVERR");
	family(AF_INET6, IPPROTO_IPV6, IPV6_RECVERR, "IPv6 IPV6_RECVERR");
	return 0;
}
