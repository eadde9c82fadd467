// AF_UNIX datagram sockets bound to paths and abstract names:
// sendto/recvfrom with the sender's address, connect (default destination,
// only the peer may send, AF_UNSPEC dissolves it and drops what was
// queued), a blocking receive woken by another process, and errors
// ENOTCONN/ENOENT/ECONNREFUSED/EPERM/EPROTOTYPE/EINVAL/EAGAIN.
#include "dt.h"
#include <poll.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SUN_OFF offsetof(struct sockaddr_un, sun_path)

static socklen_t path_addr(struct sockaddr_un *a, const char *path)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	strcpy(a->sun_path, path);
	return SUN_OFF + strlen(path) + 1;
}

static void recv_from(const char *name, int fd)
{
	char buf[64] = { 0 };
	struct sockaddr_un from;
	memset(&from, 0, sizeof(from));
	socklen_t flen = sizeof(from);
	errno = 0;
	ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &flen);
	if (n < 0) {
		printf("%s: ret=-1 errno=%s\n", name, dt_errname(errno));
		return;
	}
	printf("%s: ret=%zd data=%s fromlen=%d", name, n, buf, (int)flen);
	if (flen > SUN_OFF && from.sun_path[0])
		printf(" from=%s", from.sun_path);
	else if (flen > SUN_OFF)
		printf(" from=@%.*s", (int)(flen - SUN_OFF - 1), from.sun_path + 1);
	printf("\n");
}

int main(void)
{
	dt_init();
	char abs_name[64];
	snprintf(abs_name, sizeof(abs_name), "rvisor-dt-dgram-%d", (int)getpid());
	struct sockaddr_un a1, a2, x;
	socklen_t l1 = path_addr(&a1, "d1.sock"), l2 = path_addr(&a2, "d2.sock");
	int d1 = socket(AF_UNIX, SOCK_DGRAM, 0);
	int d2 = socket(AF_UNIX, SOCK_DGRAM, 0);
	int d3 = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	CHK("bind d1", bind(d1, (struct sockaddr *)&a1, l1));
	CHK("bind d2", bind(d2, (struct sockaddr *)&a2, l2));
	struct stat st;
	CHK("stat", stat("d1.sock", &st));
	FACT(S_ISSOCK(st.st_mode));

	CHK("send unconnected", send(d3, "x", 1, 0));
	CHK("getpeername unconnected", getpeername(d3, (struct sockaddr *)&x, &(socklen_t){ sizeof(x) }));
	CHK("sendto d2->d1", sendto(d2, "hello", 5, 0, (struct sockaddr *)&a1, l1));
	CHK("sendto d3->d1 (unbound sender)", sendto(d3, "anon", 4, 0, (struct sockaddr *)&a1, l1));
	CHK("sendto d1->d1 (itself)", sendto(d1, "self", 4, 0, (struct sockaddr *)&a1, l1));
	struct pollfd p = { .fd = d1, .events = POLLIN | POLLOUT };
	int pn = poll(&p, 1, 0);
	printf("poll n=%d revents=%#x\n", pn, p.revents);
	recv_from("recvfrom 1", d1);
	recv_from("recvfrom 2", d1);
	recv_from("recvfrom 3", d1);
	recv_from("recvfrom empty", d1);

	CHK("sendto missing path", sendto(d2, "x", 1, 0, (struct sockaddr *)&x, path_addr(&x, "none.sock")));
	CHK("sendto family only", sendto(d2, "x", 1, 0, (struct sockaddr *)&x, SUN_OFF));
	x.sun_family = AF_INET;
	CHK("sendto wrong family", sendto(d2, "x", 1, 0, (struct sockaddr *)&x, sizeof(x)));
	struct sockaddr_un ab;
	memset(&ab, 0, sizeof(ab));
	ab.sun_family = AF_UNIX;
	memcpy(ab.sun_path + 1, abs_name, strlen(abs_name));
	socklen_t abl = SUN_OFF + 1 + strlen(abs_name);
	CHK("sendto unknown abstract", sendto(d2, "x", 1, 0, (struct sockaddr *)&ab, abl));
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	CHK("bind stream", bind(s, (struct sockaddr *)&x, path_addr(&x, "stream.sock")));
	CHK("sendto stream socket", sendto(d2, "x", 1, 0, (struct sockaddr *)&x, path_addr(&x, "stream.sock")));
	close(s);

	/* Abstract names. */
	int d4 = socket(AF_UNIX, SOCK_DGRAM, 0);
	CHK("bind abstract", bind(d4, (struct sockaddr *)&ab, abl));
	CHK("sendto abstract", sendto(d2, "abs", 3, 0, (struct sockaddr *)&ab, abl));
	CHK("sendto from abstract", sendto(d4, "back", 4, 0, (struct sockaddr *)&a2, l2));
	char buf[64] = { 0 };
	CHK("recv abstract", recv(d4, buf, sizeof(buf), 0));
	printf("buf=%s\n", buf);
	{
		char b2[64] = { 0 };
		struct sockaddr_un from;
		socklen_t flen = sizeof(from);
		CHK("recvfrom abstract sender", recvfrom(d2, b2, sizeof(b2), 0, (struct sockaddr *)&from, &flen));
		FACT(flen == abl && memcmp(&from, &ab, abl) == 0);
	}

	/* connect. */
	CHK("connect d3->d1", connect(d3, (struct sockaddr *)&a1, l1));
	CHK("send connected", send(d3, "conn", 4, 0));
	recv_from("recvfrom connected", d1);
	socklen_t pl = sizeof(x);
	memset(&x, 0, sizeof(x));
	CHK("getpeername", getpeername(d3, (struct sockaddr *)&x, &pl));
	printf("peer len=%d path=%s\n", (int)pl, x.sun_path);
	CHK("connect d1->d2", connect(d1, (struct sockaddr *)&a2, l2));
	CHK("send d3->d1 (d1 connected elsewhere)", send(d3, "no", 2, 0));
	CHK("sendto d2->d1 (its peer)", sendto(d2, "yes", 3, 0, (struct sockaddr *)&a1, l1));
	recv_from("recvfrom from peer", d1);
	CHK("send d1 default dest", send(d1, "to d2", 5, 0));
	recv_from("recvfrom d2", d2);
	CHK("sendto d2->d1 before disconnect", sendto(d2, "lost", 4, 0, (struct sockaddr *)&a1, l1));
	x.sun_family = AF_UNSPEC;
	CHK("connect AF_UNSPEC", connect(d1, (struct sockaddr *)&x, sizeof(x)));
	recv_from("queue dropped on disconnect", d1);
	CHK("getpeername after AF_UNSPEC", getpeername(d1, (struct sockaddr *)&x, &(socklen_t){ sizeof(x) }));
	CHK("send d3->d1 again", send(d3, "ok", 2, 0));
	recv_from("recvfrom d1", d1);
	CHK("connect missing", connect(d1, (struct sockaddr *)&x, path_addr(&x, "none.sock")));

	/* A full receiver. */
	int n = 0;
	while (send(d3, "fill", 4, 0) == 4 && n < 100000)
		n++;
	printf("filled: errno=%s\n", dt_errname(errno));
	FACT(n > 10);
	int drained = 0;
	while (recv(d1, buf, sizeof(buf), MSG_DONTWAIT) == 4)
		drained++;
	FACT(drained == n);

	/* A blocking receive woken by another process. */
	pid_t pid = fork();
	if (pid == 0) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		int c = socket(AF_UNIX, SOCK_DGRAM, 0);
		sendto(c, "wake", 4, 0, (struct sockaddr *)&a2, l2);
		_exit(0);
	}
	memset(buf, 0, sizeof(buf));
	CHK("blocking recv", recv(d2, buf, sizeof(buf), 0));
	printf("buf=%s\n", buf);
	waitpid(pid, NULL, 0);

	/* The peer goes away. */
	close(d1);
	CHK("send to closed peer", send(d3, "x", 1, 0));
	CHK("send again", send(d3, "x", 1, 0));
	CHK("sendto closed name", sendto(d2, "x", 1, 0, (struct sockaddr *)&a1, l1));
	close(d2);
	close(d3);
	close(d4);
	unlink("d1.sock");
	unlink("d2.sock");
	unlink("stream.sock");
	return 0;
}
