// Pseudo-terminals: /dev/ptmx gives a locked master; TIOCGPTN, grantpt,
// unlockpt, ptsname, TIOCGPTPEER; the slave /dev/pts/N (listed, char
// device 136:N); data both ways with echo and \n -> \r\n; /dev/tty without
// a controlling terminal; hang-up when the master closes, EIO on the
// master once every slave closed. Error paths: ENOTTY, EFAULT, EIO.
#include "dt.h"
#include "dt_pty.h"
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static int listed(int n)
{
	DIR *d = opendir("/dev/pts");
	struct dirent *e;
	int found = 0;
	char name[16];
	snprintf(name, sizeof(name), "%d", n);
	while (d && (e = readdir(d)))
		if (!strcmp(e->d_name, name))
			found = 1;
	if (d)
		closedir(d);
	return found;
}

int main(void)
{
	dt_init();
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	FACT(m >= 0);
	struct stat st;
	fstat(m, &st);
	FACT(S_ISCHR(st.st_mode) && major(st.st_rdev) == 5 && minor(st.st_rdev) == 2);
	unsigned n = 9999;
	CHK("TIOCGPTN", ioctl(m, TIOCGPTN, &n));
	FACT(n < 4096);
	CHK("TIOCGPTN bad pointer", ioctl(m, TIOCGPTN, (void *)8));
	CHK("grantpt", grantpt(m));
	char want[32];
	snprintf(want, sizeof(want), "/dev/pts/%u", n);
	FACT(ptsname(m) && !strcmp(ptsname(m), want));
	int lck = -1;
	CHK("TIOCGPTLCK", ioctl(m, TIOCGPTLCK, &lck));
	printf("locked=%d\n", lck);
	CHK("open locked slave", open(want, O_RDWR | O_NOCTTY));
	CHK("TIOCGPTPEER locked", ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY));
	CHK("unlockpt", unlockpt(m));
	ioctl(m, TIOCGPTLCK, &lck);
	printf("locked=%d\n", lck);
	FACT(listed(n));
	int s = open(want, O_RDWR | O_NOCTTY);
	FACT(s >= 0);
	fstat(s, &st);
	FACT(S_ISCHR(st.st_mode) && major(st.st_rdev) == 136 && minor(st.st_rdev) == n);
	FACT(isatty(s) && isatty(m));
	FACT(ttyname(s) && !strcmp(ttyname(s), want));
	CHK("TIOCGPTN on slave", ioctl(s, TIOCGPTN, &n));
	CHK("TIOCSPTLCK on slave", ioctl(s, TIOCSPTLCK, &lck));
	int peer = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	FACT(peer >= 0);
	struct stat pst;
	fstat(peer, &pst);
	FACT(pst.st_rdev == st.st_rdev && pst.st_ino == st.st_ino);
	FACT(fcntl(peer, F_GETFD) == FD_CLOEXEC);
	CHK("TIOCGPTPEER on slave", ioctl(s, TIOCGPTPEER, O_RDWR));
	int p[2];
	pipe(p);
	CHK("TIOCGPTPEER on pipe", ioctl(p[0], TIOCGPTPEER, O_RDWR));
	CHK("grantpt on pipe", grantpt(p[0]));
	CHK("TIOCGPTN on pipe", ioctl(p[0], TIOCGPTN, &n));
	FACT(stat("/dev/pts/ptmx", &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(5, 2));
	FACT(stat("/dev/ptmx", &st) == 0 && st.st_rdev == makedev(5, 2));

	char buf[256];
	/* Readiness through epoll on both ends. */
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 1}, got;
	epoll_ctl(ep, EPOLL_CTL_ADD, m, &ev);
	ev.data.u32 = 2;
	epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
	CHK("epoll nothing ready", epoll_wait(ep, &got, 1, 0));
	write(s, "x\n", 2);
	CHK("epoll master readable", epoll_wait(ep, &got, 1, 2000));
	printf("ready: %u events=%#x\n", got.data.u32, got.events);
	dt_read_n(m, buf, 3);
	write(m, "y\n", 2);
	epoll_ctl(ep, EPOLL_CTL_DEL, m, NULL);
	CHK("epoll slave readable", epoll_wait(ep, &got, 1, 2000));
	printf("ready: %u events=%#x\n", got.data.u32, got.events);
	dt_read_n(s, buf, 2);
	dt_read_n(m, buf, 3);
	close(ep);
	CHK("write master", write(m, "hi there\n", 9));
	dt_read_n(s, buf, 9);
	dt_show("slave read", buf, strlen(buf));
	dt_read_n(m, buf, 10);
	dt_show("master echo", buf, strlen(buf));
	CHK("write slave", write(s, "out\nmore", 8));
	dt_read_n(m, buf, 9);
	dt_show("master read", buf, strlen(buf));

	/* No controlling terminal in a new session. */
	pid_t c = fork();
	if (c == 0) {
		setsid();
		errno = 0;
		int r = open("/dev/tty", O_RDWR);
		printf("open /dev/tty without ctty: ret=%d errno=%s\n", r, dt_errname(errno));
		_exit(0);
	}
	waitpid(c, NULL, 0);

	/* Every slave closed: the master reads what is left, then EIO. */
	close(peer);
	CHK("write slave", write(s, "bye", 3));
	close(s);
	struct pollfd pf = {m, POLLIN, 0};
	poll(&pf, 1, 2000);
	printf("master poll: IN=%d HUP=%d\n", !!(pf.revents & POLLIN), !!(pf.revents & POLLHUP));
	dt_read_n(m, buf, 3);
	dt_show("master read rest", buf, strlen(buf));
	CHK("master read after slaves closed", read(m, buf, sizeof(buf)));
	/* Reopened: the master works again. */
	s = open(want, O_RDWR | O_NOCTTY);
	FACT(s >= 0);
	write(s, "again", 5);
	dt_read_n(m, buf, 5);
	dt_show("master read again", buf, strlen(buf));

	/* The master closes: the slave is hung up and its node is gone. */
	close(m);
	CHK("slave read after hangup", read(s, buf, sizeof(buf)));
	CHK("slave write after hangup", write(s, "x", 1));
	CHK("TCGETS after hangup", ioctl(s, TCGETS, buf));
	CHK("TIOCSPGRP after hangup", ioctl(s, TIOCSPGRP, &n));
	pf.fd = s;
	pf.events = POLLIN | POLLOUT;
	poll(&pf, 1, 0);
	printf("slave poll after hangup: %#x\n", pf.revents);
	FACT(!listed(n));
	CHK("open gone slave", open(want, O_RDWR | O_NOCTTY));
	close(s);
	return 0;
}
