// TCP connect: non-blocking connect (EINPROGRESS, SO_ERROR, the connect
// after it, EISCONN), refused connections blocking and not, EALREADY,
// connecting to a port nobody listens on any more.
// difftest: network host
#include "dt.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

static short ev(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };
	poll(&p, 1, ms);
	return p.revents;
}

static int soerr(int fd)
{
	int e = -1;
	socklen_t n = sizeof e;
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &n);
	return e;
}

int main(void)
{
	dt_init();
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in la = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t n = sizeof la;
	bind(l, (void *)&la, sizeof la);
	getsockname(l, (void *)&la, &n);
	CHK("listen", listen(l, 4));

	int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	CHK("nonblocking connect", connect(c, (void *)&la, sizeof la));
	printf("poll %#x\n", ev(c, 1000));
	printf("SO_ERROR %s\n", dt_errname(soerr(c)));
	CHK("connect again", connect(c, (void *)&la, sizeof la));
	CHK("connect third", connect(c, (void *)&la, sizeof la));
	int s = accept(l, NULL, NULL);
	FACT(s >= 0);
	CHK("send", send(c, "x", 1, 0));
	char b;
	CHK("recv", recv(s, &b, 1, 0));
	close(s);
	close(c);

	// The listener goes: its port refuses.
	struct sockaddr_in gone = la;
	close(l);
	c = socket(AF_INET, SOCK_STREAM, 0);
	CHK("blocking refused", connect(c, (void *)&gone, sizeof gone));
	printf("SO_ERROR after refused %s\n", dt_errname(soerr(c)));
	struct sockaddr_in ca;
	n = sizeof ca;
	getsockname(c, (void *)&ca, &n);
	FACT(ca.sin_port == 0);
	close(c);

	c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	CHK("nonblocking refused", connect(c, (void *)&gone, sizeof gone));
	printf("poll refused %#x\n", ev(c, 1000));
	printf("SO_ERROR %s\n", dt_errname(soerr(c)));
	printf("SO_ERROR again %s\n", dt_errname(soerr(c)));
	CHK("connect after refused", connect(c, (void *)&gone, sizeof gone));
	close(c);

	c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	connect(c, (void *)&gone, sizeof gone);
	ev(c, 1000);
	CHK("connect reports refusal", connect(c, (void *)&gone, sizeof gone));
	CHK("send unconnected", send(c, "x", 1, MSG_NOSIGNAL));
	CHK("recv unconnected", recv(c, &b, 1, 0));
	close(c);

	// Port 0 is refused too.
	struct sockaddr_in zero = gone;
	zero.sin_port = 0;
	c = socket(AF_INET, SOCK_STREAM, 0);
	CHK("connect port 0", connect(c, (void *)&zero, sizeof zero));
	close(c);

	// 0.0.0.0 means this host.
	l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in any = { .sin_family = AF_INET };
	bind(l, (void *)&any, sizeof any);
	listen(l, 1);
	n = sizeof any;
	getsockname(l, (void *)&any, &n);
	FACT(any.sin_addr.s_addr == 0);
	c = socket(AF_INET, SOCK_STREAM, 0);
	CHK("connect to 0.0.0.0", connect(c, (void *)&any, sizeof any));
	s = accept(l, (void *)&ca, &(socklen_t){ sizeof ca });
	struct sockaddr_in sa;
	n = sizeof sa;
	getsockname(s, (void *)&sa, &n);
	FACT(sa.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
	FACT(ca.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
	// 127.0.0.2 reaches a wildcard listener too.
	struct sockaddr_in two = any;
	two.sin_addr.s_addr = htonl(0x7f000002);
	int c2 = socket(AF_INET, SOCK_STREAM, 0);
	CHK("connect to 127.0.0.2", connect(c2, (void *)&two, sizeof two));
	int s2 = accept(l, NULL, NULL);
	n = sizeof sa;
	getsockname(s2, (void *)&sa, &n);
	FACT(sa.sin_addr.s_addr == htonl(0x7f000002));
	return 0;
}
