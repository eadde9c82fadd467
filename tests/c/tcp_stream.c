// TCP over loopback: listen/connect/accept names, data both ways, peeking,
// MSG_WAITALL, FIONREAD/SIOCOUTQ, shutdown half-close, end of stream, RST
// when closing with unread data, SIGPIPE/EPIPE, poll readiness.
// difftest: network host
#include "dt.h"
#include <arpa/inet.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int sigpipes;
static void on_pipe(int s) { (void)s; sigpipes++; }

static int listener(struct sockaddr_in *a)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in b = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	bind(l, (void *)&b, sizeof b);
	listen(l, 8);
	socklen_t n = sizeof *a;
	getsockname(l, (void *)a, &n);
	return l;
}

static short ev(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT | POLLRDHUP };
	poll(&p, 1, 0);
	return p.revents;
}

int main(void)
{
	dt_init();
	signal(SIGPIPE, on_pipe);
	struct sockaddr_in la, ca, sa, pa;
	socklen_t n;
	int l = listener(&la);
	FACT(la.sin_port != 0);
	FACT(la.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
	printf("listener poll %#x\n", ev(l));
	int c = socket(AF_INET, SOCK_STREAM, 0);
	printf("fresh poll %#x\n", ev(c));
	CHK("connect", connect(c, (void *)&la, sizeof la));
	printf("listener poll after connect %#x\n", ev(l));
	n = sizeof pa;
	int s = accept(l, (void *)&pa, &n);
	FACT(s >= 0);
	FACT(n == sizeof pa);
	n = sizeof ca;
	getsockname(c, (void *)&ca, &n);
	FACT(ca.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
	FACT(ca.sin_port == pa.sin_port && pa.sin_addr.s_addr == ca.sin_addr.s_addr);
	n = sizeof sa;
	getsockname(s, (void *)&sa, &n);
	FACT(sa.sin_port == la.sin_port);
	n = sizeof pa;
	getpeername(c, (void *)&pa, &n);
	FACT(pa.sin_port == la.sin_port);
	int on = 0;
	printf("connected poll %#x\n", ev(c));

	CHK("send", send(c, "hello world", 11, 0));
	char buf[64];
	int q = -1;
	usleep(10000);
	ioctl(s, FIONREAD, &q);
	printf("FIONREAD %d\n", q);
	ioctl(c, SIOCOUTQ, &q);
	printf("SIOCOUTQ %d\n", q);
	printf("server poll %#x\n", ev(s));
	CHK("peek", recv(s, buf, 5, MSG_PEEK));
	CHK("recv 5", recv(s, buf, 5, 0));
	printf("data %.5s\n", buf);
	CHK("recv rest", recv(s, buf, sizeof buf, 0));
	CHK("recv dontwait", recv(s, buf, sizeof buf, MSG_DONTWAIT));
	CHK("send 3", send(s, "abc", 3, 0));
	CHK("send 3", send(s, "def", 3, 0));
	CHK("waitall", recv(c, buf, 6, MSG_WAITALL));
	printf("data %.6s\n", buf);

	// Half-close: the server sees the end, can still send back.
	CHK("shutdown wr", shutdown(c, SHUT_WR));
	printf("server poll after peer shutdown %#x\n", ev(s));
	CHK("recv eof", recv(s, buf, sizeof buf, 0));
	CHK("send after shutdown", send(c, "x", 1, MSG_NOSIGNAL));
	CHK("send back", send(s, "back", 4, 0));
	CHK("recv back", recv(c, buf, sizeof buf, 0));
	CHK("shutdown bad", shutdown(c, 7));
	CHK("send sigpipe", send(c, "x", 1, 0));
	printf("sigpipes %d\n", sigpipes);
	close(s);
	CHK("recv after close", recv(c, buf, sizeof buf, 0));
	close(c);

	// Closing with unread data resets the peer.
	c = socket(AF_INET, SOCK_STREAM, 0);
	connect(c, (void *)&la, sizeof la);
	s = accept(l, NULL, NULL);
	send(c, "unread", 6, 0);
	usleep(10000);
	close(s);
	usleep(10000);
	printf("reset poll %#x\n", ev(c));
	CHK("recv reset", recv(c, buf, sizeof buf, 0));
	CHK("recv after reset", recv(c, buf, sizeof buf, 0));
	CHK("send after reset", send(c, "x", 1, MSG_NOSIGNAL));
	close(c);

	// SO_LINGER with a zero timeout closes abortively: the peer is reset.
	c = socket(AF_INET, SOCK_STREAM, 0);
	connect(c, (void *)&la, sizeof la);
	s = accept(l, NULL, NULL);
	struct linger lg = { 1, 0 };
	setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(c);
	usleep(10000);
	printf("aborted poll %#x\n", ev(s));
	CHK("recv aborted", recv(s, buf, sizeof buf, 0));
	CHK("send aborted", send(s, "x", 1, MSG_NOSIGNAL));
	close(s);

	// A bulk transfer keeps every byte in order.
	c = socket(AF_INET, SOCK_STREAM, 0);
	connect(c, (void *)&la, sizeof la);
	s = accept(l, NULL, NULL);
	if (fork() == 0) {
		static char big[1 << 20];
		for (int i = 0; i < (int)sizeof big; i++)
			big[i] = (char)(i * 7);
		for (int k = 0; k < 8; k++) {
			size_t off = 0;
			while (off < sizeof big) {
				ssize_t w = write(c, big + off, sizeof big - off);
				if (w <= 0)
					_exit(1);
				off += w;
			}
		}
		_exit(0);
	}
	close(c);
	long total = 0, bad = 0;
	static char rb[65536];
	ssize_t r;
	while ((r = read(s, rb, sizeof rb)) > 0) {
		for (ssize_t i = 0; i < r; i++)
			if (rb[i] != (char)(((total + i) % (1 << 20)) * 7))
				bad++;
		total += r;
	}
	printf("bulk total %ld bad %ld\n", total, bad);
	close(s);

	// A blocking write larger than any buffer is written whole.
	c = socket(AF_INET, SOCK_STREAM, 0);
	connect(c, (void *)&la, sizeof la);
	s = accept(l, NULL, NULL);
	if (fork() == 0) {
		close(c);
		long t = 0;
		while ((r = read(s, rb, sizeof rb)) > 0)
			t += r;
		_exit(t == (16 << 20) ? 0 : 1);
	}
	close(s);
	static char huge[16 << 20];
	CHK("write 16 MiB", write(c, huge, sizeof huge));
	close(c);
	int st;
	wait(&st);
	printf("reader status %d\n", WEXITSTATUS(st));
	(void)on;
	return 0;
}
