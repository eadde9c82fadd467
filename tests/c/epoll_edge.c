// epoll on pipes and sockets: level-triggered round robin with maxevents,
// edge-triggered (each arrival is one edge, a drain and refill between two
// waits is still one), one-shot, entries that outlive a closed descriptor
// through dup and disappear with the file, nested instances, EINTR, and
// the EBADF/EPERM/EINVAL/EEXIST/ENOENT/ELOOP/EFAULT errors.
#include "dt.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int ep;

static void show(const char *name, int max, int timeout)
{
	struct epoll_event out[8];
	errno = 0;
	int n = epoll_wait(ep, out, max, timeout);
	printf("%s: n=%d", name, n);
	if (n < 0)
		printf(" errno=%s", dt_errname(errno));
	for (int i = 0; i < n; i++)
		printf(" [%#x %llu]", out[i].events, (unsigned long long)out[i].data.u64);
	printf("\n");
}

static int add(int fd, unsigned events, unsigned long long data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static int mod(int fd, unsigned events, unsigned long long data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };
	return epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

static void on_usr1(int sig)
{
	(void)sig;
}

int main(void)
{
	dt_init();
	signal(SIGPIPE, SIG_IGN);
	char buf[64];
	int a[2], b[2];
	pipe(a);
	pipe(b);
	ep = epoll_create(1);

	/* Level-triggered: reported while ready, round robin. */
	CHK("ADD a", add(a[0], EPOLLIN, 1));
	CHK("ADD b", add(b[0], EPOLLIN, 2));
	write(a[1], "x", 1);
	show("LT one ready", 8, 0);
	write(b[1], "x", 1);
	show("LT max 1", 1, 0);
	show("LT max 1", 1, 0);
	show("LT max 1", 1, 0);
	show("LT all", 8, 0);
	read(a[0], buf, sizeof(buf));
	read(b[0], buf, sizeof(buf));
	show("LT drained", 8, 0);

	/* Edge-triggered. */
	CHK("MOD a ET", mod(a[0], EPOLLIN | EPOLLET, 3));
	CHK("DEL b", epoll_ctl(ep, EPOLL_CTL_DEL, b[0], NULL));
	show("ET nothing", 8, 0);
	write(a[1], "ab", 2);
	show("ET write", 8, 0);
	show("ET no new edge", 8, 0);
	write(a[1], "c", 1);
	show("ET more data, still unread", 8, 0);
	read(a[0], buf, 1);
	show("ET partial read", 8, 0);
	read(a[0], buf, sizeof(buf));
	write(a[1], "d", 1);
	show("ET drained and refilled", 8, 0);
	CHK("MOD a ET again", mod(a[0], EPOLLIN | EPOLLET, 4));
	show("ET after MOD (ready)", 8, 0);
	read(a[0], buf, sizeof(buf));

	/* One-shot. */
	CHK("MOD a ONESHOT", mod(a[0], EPOLLIN | EPOLLONESHOT, 5));
	write(a[1], "e", 1);
	show("oneshot", 8, 0);
	show("oneshot disarmed", 8, 0);
	write(a[1], "f", 1);
	show("oneshot disarmed, more data", 8, 0);
	CHK("MOD rearm", mod(a[0], EPOLLIN | EPOLLONESHOT, 6));
	show("oneshot rearmed", 8, 0);
	read(a[0], buf, sizeof(buf));

	/* Writer closed: HUP (always reported). */
	CHK("MOD a LT", mod(a[0], EPOLLIN, 7));
	close(a[1]);
	show("HUP", 8, 0);

	/* Entries belong to the open file, keyed by (file, fd). */
	int d = dup(a[0]);
	close(a[0]);
	show("after closing the added fd (dup open)", 8, 0);
	CHK("DEL through the dup", epoll_ctl(ep, EPOLL_CTL_DEL, d, NULL));
	CHK("ADD the dup", add(d, EPOLLIN, 8));
	show("dup added", 8, 0);
	close(d);
	show("after closing the last fd", 8, 0);

	/* Sockets: EPOLLOUT edges when the peer reads, RDHUP on shutdown. */
	int s[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, s);
	CHK("ADD socket", add(s[0], EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, 9));
	show("socket writable", 8, 0);
	show("socket no new edge", 8, 0);
	send(s[1], "k", 1, 0);
	show("socket peer sent", 8, 0);
	send(s[0], "k", 1, 0);
	show("socket own send", 8, 0);
	recv(s[1], buf, sizeof(buf), 0);
	show("socket peer read", 8, 0);
	shutdown(s[1], SHUT_WR);
	show("socket peer shut down", 8, 0);

	/* Nested instances. */
	int inner = epoll_create1(0), c[2];
	pipe(c);
	struct epoll_event iev = { .events = EPOLLIN, .data.u64 = 10 };
	CHK("inner ADD", epoll_ctl(inner, EPOLL_CTL_ADD, c[0], &iev));
	CHK("ADD inner (ET)", add(inner, EPOLLIN | EPOLLET, 11));
	CHK("inner ADD outer (loop)", epoll_ctl(inner, EPOLL_CTL_ADD, ep, &iev));
	CHK("DEL socket", epoll_ctl(ep, EPOLL_CTL_DEL, s[0], NULL));
	show("nested idle", 8, 0);
	write(c[1], "x", 1);
	show("nested ready", 8, 0);
	show("nested no new edge", 8, 0);
	write(c[1], "y", 1);
	show("nested new edge", 8, 0);

	/* Blocking: woken by a child, interrupted by a signal. */
	read(c[0], buf, sizeof(buf));
	show("nested drained", 8, 0);
	if (fork() == 0) {
		usleep(50000);
		write(c[1], "z", 1);
		_exit(0);
	}
	show("blocking wait", 8, 5000);
	wait(NULL);
	read(c[0], buf, sizeof(buf));
	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_RESTART };
	sigaction(SIGUSR1, &sa, NULL);
	if (fork() == 0) {
		usleep(50000);
		kill(getppid(), SIGUSR1);
		_exit(0);
	}
	show("interrupted wait (SA_RESTART)", 8, 5000);
	wait(NULL);
	long long t0;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	t0 = now.tv_sec * 1000LL + now.tv_nsec / 1000000;
	show("timeout 30ms", 8, 30);
	clock_gettime(CLOCK_MONOTONIC, &now);
	FACT(now.tv_sec * 1000LL + now.tv_nsec / 1000000 - t0 >= 29);

	/* Errors. */
	struct epoll_event ev = { .events = EPOLLIN };
	int f = open("/etc/passwd", O_RDONLY);
	int null = open("/dev/null", O_RDONLY);
	int dir = open("/", O_RDONLY | O_DIRECTORY);
	int opath = open("/", O_PATH);
	CHK("ADD again", add(c[0], EPOLLIN, 0) == 0 ? add(c[0], EPOLLIN, 0) : -2);
	CHK("MOD unknown", mod(c[1], EPOLLOUT, 0));
	CHK("DEL unknown", epoll_ctl(ep, EPOLL_CTL_DEL, c[1], NULL));
	CHK("ADD regular file", add(f, EPOLLIN, 0));
	CHK("ADD /dev/null", add(null, EPOLLIN, 0));
	CHK("ADD directory", add(dir, EPOLLIN, 0));
	CHK("ADD O_PATH fd", add(opath, EPOLLIN, 0));
	CHK("ADD closed fd", add(99, EPOLLIN, 0));
	CHK("ADD itself", add(ep, EPOLLIN, 0));
	CHK("bad op", epoll_ctl(ep, 7, c[1], &ev));
	CHK("bad op, bad event pointer", epoll_ctl(ep, 7, c[1], BADPTR));
	CHK("ADD bad event pointer", epoll_ctl(ep, EPOLL_CTL_ADD, c[1], BADPTR));
	CHK("DEL ignores the event pointer", epoll_ctl(ep, EPOLL_CTL_DEL, c[1], BADPTR));
	CHK("not an epoll fd", epoll_ctl(c[0], EPOLL_CTL_ADD, c[1], &ev));
	CHK("not an epoll fd, regular target", epoll_ctl(c[0], EPOLL_CTL_ADD, f, &ev));
	CHK("closed epoll fd", epoll_ctl(99, EPOLL_CTL_ADD, c[1], &ev));
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	CHK("ADD EXCLUSIVE", epoll_ctl(ep, EPOLL_CTL_ADD, c[1], &ev));
	CHK("MOD EXCLUSIVE", epoll_ctl(ep, EPOLL_CTL_MOD, c[1], &ev));
	ev.events = EPOLLIN;
	CHK("MOD an EXCLUSIVE entry", epoll_ctl(ep, EPOLL_CTL_MOD, c[1], &ev));
	ev.events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLRDHUP;
	CHK("ADD EXCLUSIVE|RDHUP", epoll_ctl(ep, EPOLL_CTL_ADD, s[1], &ev));
	struct epoll_event out[2];
	volatile int zero = 0, neg = -1, huge = 178956971; /* INT_MAX / 12 + 1 */
	CHK("wait maxevents 0", epoll_wait(ep, out, zero, 0));
	CHK("wait maxevents -1", epoll_wait(ep, out, neg, 0));
	CHK("wait maxevents too big", epoll_wait(ep, out, huge, 0));
	CHK("wait not epoll", epoll_wait(c[0], out, 2, 0));
	CHK("wait closed fd", epoll_wait(99, out, 2, 0));
	write(c[1], "x", 1);
	CHK("wait bad buffer, events ready", epoll_wait(ep, BADPTR, 2, 0));
	CHK("events kept after EFAULT", epoll_wait(ep, out, 2, 0));
	struct timespec bad = { 0, 1000000000 };
	CHK("pwait2 bad timeout", syscall(SYS_epoll_pwait2, ep, out, 2, &bad, NULL, 0));
	CHK("pwait bad sigset size", syscall(SYS_epoll_pwait, ep, out, 2, 0, &bad, 4));
	CHK("pwait NULL sigset, any size", syscall(SYS_epoll_pwait, ep, out, 2, 0, NULL, 4));
	CHK("epoll_create 0", epoll_create(0));
	CHK("epoll_create1 O_NONBLOCK", epoll_create1(O_NONBLOCK));
	CHK("read epoll fd", read(ep, buf, sizeof(buf)));
	return 0;
}
