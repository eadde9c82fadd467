// AF_UNIX stream servers: bind to a path in the cwd (an S_IFSOCK file,
// umask applied) and to an abstract name, listen, a forked client connects;
// messages go both ways; accept4 flags; names and lengths, SO_PEERCRED,
// SO_ACCEPTCONN, poll/epoll on a listener; the backlog; errors EADDRINUSE,
// ECONNREFUSED, ENOENT, EINVAL, EISCONN, EAGAIN, EPROTOTYPE, ECONNRESET.
#include "dt.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define SUN_OFF offsetof(struct sockaddr_un, sun_path)

static socklen_t path_addr(struct sockaddr_un *a, const char *path)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	strcpy(a->sun_path, path);
	return SUN_OFF + strlen(path) + 1;
}

static socklen_t abstract_addr(struct sockaddr_un *a, const char *name)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	memcpy(a->sun_path + 1, name, strlen(name));
	return SUN_OFF + 1 + strlen(name);
}

static void poll_one(const char *name, int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n = poll(&p, 1, 0);
	printf("%s: n=%d revents=%#x\n", name, n, n > 0 ? p.revents : 0);
}

/* The forked client: connects to the path, talks, checks its names. */
static int client(const char *path)
{
	struct sockaddr_un a, peer;
	socklen_t len = path_addr(&a, path);
	int c = socket(AF_UNIX, SOCK_STREAM, 0);
	CHK("client connect", connect(c, (struct sockaddr *)&a, len));
	CHK("client connect again", connect(c, (struct sockaddr *)&a, len));
	CHK("client write ping", write(c, "ping", 4));
	char buf[16] = { 0 };
	CHK("client read", read(c, buf, sizeof(buf)));
	printf("client got %s\n", buf);
	socklen_t plen = sizeof(peer);
	memset(&peer, 0, sizeof(peer));
	CHK("client getpeername", getpeername(c, (struct sockaddr *)&peer, &plen));
	printf("client peer len=%d path=%s\n", (int)plen, peer.sun_path);
	socklen_t slen = sizeof(peer);
	CHK("client getsockname", getsockname(c, (struct sockaddr *)&peer, &slen));
	printf("client own name len=%d\n", (int)slen);
	struct ucred cr;
	socklen_t clen = sizeof(cr);
	CHK("client SO_PEERCRED", getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &clen));
	FACT(cr.pid == getppid());
	FACT(cr.uid == getuid() && cr.gid == getgid());
	CHK("client sendto with address", sendto(c, "x", 1, 0, (struct sockaddr *)&a, len));
	CHK("client shutdown WR", shutdown(c, SHUT_WR));
	close(c);
	return 7;
}

int main(void)
{
	dt_init();
	signal(SIGPIPE, SIG_IGN);
	umask(022);
	char abs_name[64];
	snprintf(abs_name, sizeof(abs_name), "rvisor-dt-stream-%d", (int)getpid());

	/* socket() arguments. */
	CHK("socket bad protocol", socket(AF_UNIX, SOCK_STREAM, 5));
	CHK("socket bad type", socket(AF_UNIX, 99, 0));
	CHK("socket bad flags", socket(AF_UNIX, SOCK_STREAM | 0x40000000, 0));
	CHK("socket SOCK_RDM", socket(AF_UNIX, SOCK_RDM, 0));
	CHK("socket bad family", socket(1000, SOCK_STREAM, 0));

	int srv = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	FACT(srv >= 0);
	FACT(fcntl(srv, F_GETFD) == FD_CLOEXEC);
	poll_one("poll unconnected", srv, POLLIN | POLLOUT);
	CHK("listen unbound", listen(srv, 5));
	CHK("accept not listening", accept(srv, NULL, NULL));
	CHK("send unconnected", send(srv, "x", 1, 0));
	char buf[64];
	CHK("recv unconnected", recv(srv, buf, sizeof(buf), MSG_DONTWAIT));
	struct sockaddr_un a, b, got;
	socklen_t len = path_addr(&a, "srv.sock");
	CHK("getpeername unconnected", getpeername(srv, (struct sockaddr *)&got, &(socklen_t){ sizeof(got) }));
	CHK("sendto unconnected with address", sendto(srv, "x", 1, 0, (struct sockaddr *)&a, len));
	CHK("bind short", bind(srv, (struct sockaddr *)&a, 1));
	CHK("bind long", bind(srv, (struct sockaddr *)&a, sizeof(a) + 1));
	a.sun_family = AF_INET;
	CHK("bind wrong family", bind(srv, (struct sockaddr *)&a, len));
	a.sun_family = AF_UNIX;
	CHK("bind missing dir", bind(srv, (struct sockaddr *)&b, path_addr(&b, "nodir/x.sock")));
	CHK("bind path", bind(srv, (struct sockaddr *)&a, len));
	struct stat st;
	CHK("stat socket file", stat("srv.sock", &st));
	FACT(S_ISSOCK(st.st_mode));
	printf("mode=%o\n", st.st_mode & 07777);
	CHK("open socket file", open("srv.sock", O_RDWR));
	CHK("bind again", bind(srv, (struct sockaddr *)&b, path_addr(&b, "other.sock")));
	CHK("second name removed", access("other.sock", F_OK));
	int s2 = socket(AF_UNIX, SOCK_STREAM, 0);
	CHK("bind taken path", bind(s2, (struct sockaddr *)&a, len));
	CHK("bind existing file", bind(s2, (struct sockaddr *)&b, path_addr(&b, ".")));
	socklen_t glen = sizeof(got);
	memset(&got, 0, sizeof(got));
	CHK("getsockname", getsockname(srv, (struct sockaddr *)&got, &glen));
	printf("name len=%d family=%d path=%s\n", (int)glen, got.sun_family, got.sun_path);
	glen = 4;
	memset(&got, 0, sizeof(got));
	CHK("getsockname short buffer", getsockname(srv, (struct sockaddr *)&got, &glen));
	printf("len=%d path[0..2]=%c%c\n", (int)glen, got.sun_path[0], got.sun_path[1] ? got.sun_path[1] : '0');

	int v = -1;
	socklen_t vlen = sizeof(v);
	CHK("SO_ACCEPTCONN before", getsockopt(srv, SOL_SOCKET, SO_ACCEPTCONN, &v, &vlen));
	printf("acceptconn=%d\n", v);
	CHK("listen", listen(srv, 4));
	CHK("listen again", listen(srv, 8));
	CHK("SO_ACCEPTCONN after", getsockopt(srv, SOL_SOCKET, SO_ACCEPTCONN, &v, &vlen));
	printf("acceptconn=%d\n", v);
	poll_one("poll idle listener", srv, POLLIN | POLLOUT);
	CHK("send on listener", send(srv, "x", 1, 0));
	fcntl(srv, F_SETFL, O_NONBLOCK);
	CHK("accept nonblocking empty", accept(srv, NULL, NULL));
	fcntl(srv, F_SETFL, 0);
	CHK("accept4 bad flags", accept4(srv, NULL, NULL, 0x1234));

	/* Connection errors. */
	int c = socket(AF_UNIX, SOCK_STREAM, 0);
	CHK("connect missing path", connect(c, (struct sockaddr *)&b, path_addr(&b, "nothere.sock")));
	int f = open("plain", O_CREAT | O_WRONLY, 0644);
	close(f);
	CHK("connect regular file", connect(c, (struct sockaddr *)&b, path_addr(&b, "plain")));
	CHK("connect family only", connect(c, (struct sockaddr *)&b, SUN_OFF));
	CHK("bind s2 path", bind(s2, (struct sockaddr *)&b, path_addr(&b, "idle.sock")));
	CHK("connect not listening", connect(c, (struct sockaddr *)&b, path_addr(&b, "idle.sock")));
	close(s2);
	CHK("connect closed socket", connect(c, (struct sockaddr *)&b, path_addr(&b, "idle.sock")));
	int d = socket(AF_UNIX, SOCK_DGRAM, 0);
	CHK("connect dgram to stream", connect(d, (struct sockaddr *)&a, len));
	CHK("listen dgram", listen(d, 1));
	CHK("accept dgram", accept(d, NULL, NULL));
	close(d);
	close(c);

	/* A forked client. */
	pid_t pid = fork();
	if (pid == 0)
		_exit(client("srv.sock"));
	/* The parent stays silent until the child is done. */
	struct pollfd p = { .fd = srv, .events = POLLIN };
	int pn = poll(&p, 1, 5000);
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN }, out;
	epoll_ctl(ep, EPOLL_CTL_ADD, srv, &ev);
	int en = epoll_wait(ep, &out, 1, 0);
	struct sockaddr_un peer;
	socklen_t plen = sizeof(peer);
	int conn = accept4(srv, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC | SOCK_NONBLOCK);
	int conn_ok = conn >= 0;
	int fdflags = fcntl(conn, F_GETFD), flflags = fcntl(conn, F_GETFL);
	struct ucred cr;
	socklen_t clen = sizeof(cr);
	int cr_rc = getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cr, &clen);
	struct sockaddr_un cname;
	socklen_t cnlen = sizeof(cname);
	memset(&cname, 0, sizeof(cname));
	getsockname(conn, (struct sockaddr *)&cname, &cnlen);
	struct pollfd cp = { .fd = conn, .events = POLLIN };
	poll(&cp, 1, 5000);
	char msg[16] = { 0 };
	ssize_t rn = read(conn, msg, sizeof(msg));
	ssize_t wn = write(conn, "pong", 4);
	int status;
	waitpid(pid, &status, 0);
	printf("parent: poll n=%d revents=%#x epoll n=%d events=%#x\n", pn, p.revents, en,
	       en > 0 ? out.events : 0);
	FACT(conn_ok);
	printf("accepted peer len=%d\n", (int)plen);
	FACT(fdflags == FD_CLOEXEC);
	FACT((flflags & O_NONBLOCK) != 0);
	FACT(cr_rc == 0 && cr.pid == pid && cr.uid == getuid() && cr.gid == getgid());
	printf("accepted name len=%d path=%s\n", (int)cnlen, cname.sun_path);
	printf("read %zd: %s, wrote %zd\n", rn, msg, wn);
	printf("child exit=%d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	CHK("read EOF after client close", read(conn, msg, sizeof(msg)));
	CHK("write to closed client", write(conn, "x", 1));
	close(conn);
	close(ep);

	/* An abstract name, and the backlog. */
	int as = socket(AF_UNIX, SOCK_STREAM, 0);
	socklen_t alen = abstract_addr(&a, abs_name);
	CHK("bind abstract", bind(as, (struct sockaddr *)&a, alen));
	int as2 = socket(AF_UNIX, SOCK_STREAM, 0);
	CHK("bind abstract taken", bind(as2, (struct sockaddr *)&a, alen));
	glen = sizeof(got);
	memset(&got, 0, sizeof(got));
	CHK("getsockname abstract", getsockname(as, (struct sockaddr *)&got, &glen));
	FACT(glen == alen && got.sun_path[0] == 0 && memcmp(got.sun_path + 1, abs_name, strlen(abs_name)) == 0);
	CHK("connect abstract not listening", connect(as2, (struct sockaddr *)&a, alen));
	CHK("listen backlog 0", listen(as, 0));
	int c1 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int c2 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int c3 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	CHK("connect c1", connect(c1, (struct sockaddr *)&a, alen));
	CHK("connect c2 backlog full", connect(c2, (struct sockaddr *)&a, alen));
	CHK("connect c1 again", connect(c1, (struct sockaddr *)&a, alen));
	poll_one("poll listener pending", as, POLLIN | POLLOUT);
	CHK("send before accept", send(c1, "early", 5, 0));
	int a1 = accept(as, NULL, NULL);
	FACT(a1 >= 0);
	poll_one("poll listener drained", as, POLLIN);
	memset(buf, 0, sizeof(buf));
	CHK("recv early data", recv(a1, buf, sizeof(buf), 0));
	printf("buf=%s\n", buf);
	CHK("send back", send(a1, "reply", 5, 0));
	memset(buf, 0, sizeof(buf));
	CHK("recv reply", recv(c1, buf, sizeof(buf), 0));
	printf("buf=%s\n", buf);
	plen = sizeof(peer);
	memset(&peer, 0, sizeof(peer));
	CHK("getpeername abstract", getpeername(c1, (struct sockaddr *)&peer, &plen));
	FACT(plen == alen && memcmp(&peer, &a, alen) == 0);
	CHK("connect c2 after accept", connect(c2, (struct sockaddr *)&a, alen));
	CHK("connect c3 full again", connect(c3, (struct sockaddr *)&a, alen));
	close(as);
	CHK("recv after listener closed unaccepted", recv(c2, buf, sizeof(buf), 0));
	CHK("recv again", recv(c2, buf, sizeof(buf), 0));
	CHK("connect closed abstract", connect(c3, (struct sockaddr *)&a, alen));
	CHK("abstract name free again", bind(as2, (struct sockaddr *)&a, alen));
	close(as2);
	close(a1);
	close(c1);
	close(c2);
	close(c3);

	/* Autobind. */
	int ab = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un fam = { .sun_family = AF_UNIX };
	CHK("autobind", bind(ab, (struct sockaddr *)&fam, SUN_OFF));
	glen = sizeof(got);
	CHK("getsockname autobound", getsockname(ab, (struct sockaddr *)&got, &glen));
	FACT(glen == SUN_OFF + 6 && got.sun_path[0] == 0);
	CHK("autobind again", bind(ab, (struct sockaddr *)&fam, SUN_OFF));
	CHK("listen autobound", listen(ab, 1));
	close(ab);

	close(srv);
	CHK("socket file stays", access("srv.sock", F_OK));
	CHK("connect after close", connect(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&a, path_addr(&a, "srv.sock")));
	unlink("srv.sock");
	unlink("idle.sock");
	unlink("plain");
	return 0;
}
