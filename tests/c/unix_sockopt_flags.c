// Generic SOL_SOCKET on/off options on unix sockets (stress-ng sockfd and
// epoll set SO_REUSEADDR on theirs): set, read back, cleared; SO_DEBUG
// needs CAP_NET_ADMIN to turn on; short option lengths are EINVAL.
#include "dt.h"
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void roundtrip(int fd, const char *name, int opt)
{
	int v = 1, got = -1;
	socklen_t l = sizeof got;
	char buf[64];
	snprintf(buf, sizeof buf, "set %s", name);
	CHK(buf, setsockopt(fd, SOL_SOCKET, opt, &v, sizeof v));
	getsockopt(fd, SOL_SOCKET, opt, &got, &l);
	printf("%s on: %d len=%d\n", name, got, (int)l);
	v = 0;
	setsockopt(fd, SOL_SOCKET, opt, &v, sizeof v);
	getsockopt(fd, SOL_SOCKET, opt, &got, &l);
	printf("%s off: %d\n", name, got);
}

int main(void)
{
	dt_init();
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	int d = socket(AF_UNIX, SOCK_DGRAM, 0);
	int fds[] = {sv[0], l, d};
	for (int i = 0; i < 3; i++) {
		roundtrip(fds[i], "SO_REUSEADDR", SO_REUSEADDR);
		roundtrip(fds[i], "SO_KEEPALIVE", SO_KEEPALIVE);
		roundtrip(fds[i], "SO_DONTROUTE", SO_DONTROUTE);
		roundtrip(fds[i], "SO_BROADCAST", SO_BROADCAST);
		roundtrip(fds[i], "SO_OOBINLINE", SO_OOBINLINE);
	}
	// Per socket, not per connection.
	int v = 1, got = -1;
	socklen_t gl = sizeof got;
	setsockopt(sv[0], SOL_SOCKET, SO_KEEPALIVE, &v, sizeof v);
	getsockopt(sv[1], SOL_SOCKET, SO_KEEPALIVE, &got, &gl);
	printf("peer keepalive: %d\n", got);
	CHK("short optlen", setsockopt(sv[0], SOL_SOCKET, SO_REUSEADDR, &v, 2));
	CHK("bad optval", setsockopt(sv[0], SOL_SOCKET, SO_REUSEADDR, BADPTR, 4));
	CHK("debug off", setsockopt(sv[0], SOL_SOCKET, SO_DEBUG, &(int){0}, 4));
	pid_t c = fork();
	if (c == 0) {
		if (geteuid() == 0 && setresuid(65534, 65534, 65534) != 0)
			_exit(9);
		CHK("debug on unprivileged", setsockopt(sv[0], SOL_SOCKET, SO_DEBUG, &v, 4));
		_exit(0);
	}
	int st;
	waitpid(c, &st, 0);
	return 0;
}
