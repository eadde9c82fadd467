// /proc/net follows the reader's network namespace (it is /proc/self/net):
// after unshare(CLONE_NEWNET) the first namespace's TCP listener and UDP
// socket are gone from /proc/net/tcp and udp, /proc/net/dev lists lo
// alone and if_inet6 is empty (lo down); once lo is up, this namespace's
// own sockets and ::1 show; setns back shows the first namespace's again.
// Everything runs in a child.
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

// A socket of `type` bound to 127.0.0.1 on an ephemeral port (listening if
// TCP); its port.
static int bound(int type, unsigned short *port)
{
	int s = socket(AF_INET, type, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t n = sizeof a;
	if (bind(s, (void *)&a, sizeof a) != 0)
		return -1;
	if (type == SOCK_STREAM)
		listen(s, 1);
	getsockname(s, (void *)&a, &n);
	*port = ntohs(a.sin_port);
	return s;
}

// Lines of /proc/net/NAME whose local address is 127.0.0.1:port.
static int lines_with(const char *name, unsigned short port)
{
	char path[64], want[32], line[512];
	snprintf(path, sizeof path, "/proc/net/%s", name);
	snprintf(want, sizeof want, " 0100007F:%04X ", port);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	int n = 0;
	while (fgets(line, sizeof line, f))
		n += strstr(line, want) != NULL;
	fclose(f);
	return n;
}

static int count_lines(const char *path)
{
	char line[512];
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	int n = 0;
	while (fgets(line, sizeof line, f))
		n++;
	fclose(f);
	return n;
}

static void show(const char *when, unsigned short tp, unsigned short up, unsigned short tq,
		 unsigned short uq)
{
	printf("%s: tcp first %d, udp first %d, tcp second %d, udp second %d\n", when,
	       lines_with("tcp", tp), lines_with("udp", up), lines_with("tcp", tq),
	       lines_with("udp", uq));
}

int main(void)
{
	dt_init();
	pid_t pid = fork();
	if (pid == 0) {
		unsigned short tp = 0, up = 0, tq = 0, uq = 0;
		int t = bound(SOCK_STREAM, &tp), u = bound(SOCK_DGRAM, &up);
		FACT(t >= 0 && u >= 0);
		show("first", tp, up, 0, 0);
		int first = open("/proc/self/ns/net", O_RDONLY);
		CHK("unshare", unshare(CLONE_NEWNET));
		show("new", tp, up, 0, 0);
		printf("dev lines %d\n", count_lines("/proc/net/dev"));
		printf("if_inet6 lines %d\n", count_lines("/proc/net/if_inet6"));
		int c = socket(AF_INET, SOCK_DGRAM, 0);
		struct ifreq r = {0};
		strcpy(r.ifr_name, "lo");
		ioctl(c, SIOCGIFFLAGS, &r);
		r.ifr_flags |= IFF_UP;
		CHK("lo up", ioctl(c, SIOCSIFFLAGS, &r));
		printf("if_inet6 lines %d\n", count_lines("/proc/net/if_inet6"));
		// Port spaces are separate: take ports the first namespace's
		// sockets do not have, so each line counts one socket.
		int t2, u2;
		while ((t2 = bound(SOCK_STREAM, &tq)) >= 0 && (tq == tp || tq == up))
			close(t2);
		while ((u2 = bound(SOCK_DGRAM, &uq)) >= 0 && (uq == tp || uq == up))
			close(u2);
		FACT(t2 >= 0 && u2 >= 0);
		show("new, own sockets", tp, up, tq, uq);
		CHK("setns back", setns(first, CLONE_NEWNET));
		show("back", tp, up, tq, uq);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	printf("child exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	return 0;
}
