// Network namespaces: unshare(CLONE_NEWNET) gives the caller a network
// with its own loopback, down and without addresses: 127.0.0.1 is
// unreachable (ENETUNREACH; ::1 has no source address, EADDRNOTAVAIL),
// SIOCGIFADDR finds no address; bringing lo up (SIOCSIFFLAGS, as `ip link set lo up`)
// gives it 127.0.0.1/8 and a port space of its own: the port the first
// namespace listens on is free here, and connecting to it is refused. A
// socket stays in the namespace it was made in (one made before the
// unshare still reaches the first namespace's listener), and setns back
// makes new sockets there again. Everything runs in a child.
#include "dt.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static struct sockaddr_in lo_addr(unsigned short port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static int try_connect(int s, unsigned short port)
{
	struct sockaddr_in a = lo_addr(port);
	return connect(s, (struct sockaddr *)&a, sizeof(a));
}

static int lo_flags(void)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq r = {0};
	strcpy(r.ifr_name, "lo");
	int ret = ioctl(s, SIOCGIFFLAGS, &r);
	close(s);
	return ret < 0 ? -1 : r.ifr_flags;
}

static void child(void)
{
	// The first namespace: a listener on an ephemeral port, and a socket
	// made here to use after the unshare.
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = lo_addr(0);
	socklen_t len = sizeof(a);
	CHK("bind first", bind(l, (struct sockaddr *)&a, sizeof(a)));
	CHK("listen first", listen(l, 4));
	getsockname(l, (struct sockaddr *)&a, &len);
	unsigned short port = ntohs(a.sin_port);
	int early = socket(AF_INET, SOCK_STREAM, 0);
	int first_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	FACT(first_ns >= 0);

	CHK("unshare", unshare(CLONE_NEWNET));
	int f = lo_flags();
	FACT((f & IFF_LOOPBACK) != 0);
	FACT((f & IFF_UP) == 0);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	CHK("connect while down", try_connect(s, port));
	close(s);
	int d = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq r = {0};
	strcpy(r.ifr_name, "lo");
	CHK("SIOCGIFADDR while down", ioctl(d, SIOCGIFADDR, &r));

	// The socket made before the unshare still reaches the listener.
	CHK("connect from the first namespace's socket", try_connect(early, port));

	// Up: 127.0.0.1/8 comes with it.
	strcpy(r.ifr_name, "lo");
	r.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
	CHK("SIOCSIFFLAGS up", ioctl(d, SIOCSIFFLAGS, &r));
	FACT((lo_flags() & IFF_UP) != 0);
	memset(&r, 0, sizeof(r));
	strcpy(r.ifr_name, "lo");
	CHK("SIOCGIFADDR up", ioctl(d, SIOCGIFADDR, &r));
	struct sockaddr_in *ra = (struct sockaddr_in *)&r.ifr_addr;
	FACT(ra->sin_addr.s_addr == htonl(INADDR_LOOPBACK));
	close(d);

	// Its own port space: the first namespace's port is free here, and
	// nobody listens on it.
	s = socket(AF_INET, SOCK_STREAM, 0);
	CHK("connect to the first namespace's port", try_connect(s, port));
	close(s);
	int l2 = socket(AF_INET, SOCK_STREAM, 0);
	a = lo_addr(port);
	CHK("bind the same port", bind(l2, (struct sockaddr *)&a, sizeof(a)));
	CHK("listen", listen(l2, 4));
	s = socket(AF_INET, SOCK_STREAM, 0);
	CHK("connect here", try_connect(s, port));
	int acc = accept(l2, NULL, NULL);
	FACT(acc >= 0);
	CHK("send", send(s, "x", 1, 0));
	char c = 0;
	CHK("recv", recv(acc, &c, 1, 0));
	FACT(c == 'x');
	close(acc);
	close(s);

	// Back to the first namespace: new sockets are made there.
	CHK("setns", setns(first_ns, CLONE_NEWNET));
	s = socket(AF_INET, SOCK_STREAM, 0);
	CHK("connect after setns", try_connect(s, port));
	FACT((lo_flags() & IFF_UP) != 0);
	close(s);

	// A second new namespace: down again, refused again.
	CHK("unshare again", unshare(CLONE_NEWNET));
	FACT((lo_flags() & IFF_UP) == 0);
	s = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
	a6.sin6_addr = in6addr_loopback;
	CHK("connect ::1 while down", connect(s, (struct sockaddr *)&a6, sizeof(a6)));
	close(s);
}

int main(void)
{
	dt_init();
	pid_t p = fork();
	if (p == 0) {
		child();
		_exit(0);
	}
	int st = 0;
	waitpid(p, &st, 0);
	FACT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return 0;
}
