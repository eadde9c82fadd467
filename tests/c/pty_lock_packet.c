// Terminal lock termios and packet mode on a pty pair.
// TIOCGLCKTRMIOS/TIOCSLCKTRMIOS: a locked bit or control character keeps
// its value across TCSETS (from either end); setting needs CAP_SYS_ADMIN
// or CAP_CHECKPOINT_RESTORE.
// TIOCPKT/TIOCGPKT on the master: reads start with TIOCPKT_DATA, status
// changes (the slave's flushes, TCOOFF/TCOON, XON/XOFF flow changes) read
// as one byte and make the master poll with POLLPRI. The sandbox said
// ENOTTY for all of these.
#include "dt.h"
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static void show_read(const char *what, int m)
{
	unsigned char b[64];
	struct pollfd p = {.fd = m, .events = POLLIN | POLLPRI};
	int pr = poll(&p, 1, 0);
	printf("%s: poll=%d revents in=%d pri=%d\n", what, pr,
	       !!(p.revents & POLLIN), !!(p.revents & POLLPRI));
	errno = 0;
	ssize_t n = read(m, b, sizeof b);
	printf("%s: read=%zd errno=%s", what, n, n < 0 ? dt_errname(errno) : "0");
	for (ssize_t i = 0; i < n; i++)
		printf(" %02x", b[i]);
	printf("\n");
}

int main(void)
{
	dt_init();
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK);
	if (m < 0 || grantpt(m) || unlockpt(m))
		return 1;
	int s = open(ptsname(m), O_RDWR | O_NOCTTY);
	if (s < 0)
		return 1;

	/* Lock termios: all clear at first, on both ends. */
	struct termios l, t;
	memset(&l, 0xaa, sizeof l);
	CHK("getlck slave", ioctl(s, TIOCGLCKTRMIOS, &l));
	printf("locked: iflag=%#x oflag=%#x cflag=%#x lflag=%#x cc0=%d\n",
	       l.c_iflag, l.c_oflag, l.c_cflag, l.c_lflag, l.c_cc[0]);
	CHK("getlck master", ioctl(m, TIOCGLCKTRMIOS, &l));
	CHK("getlck efault", ioctl(s, TIOCGLCKTRMIOS, (void *)8));
	CHK("setlck efault", ioctl(s, TIOCSLCKTRMIOS, (void *)8));

	/* Lock ECHO and VINTR through the master. */
	memset(&l, 0, sizeof l);
	l.c_lflag = ECHO;
	l.c_cc[VINTR] = 1;
	CHK("setlck", ioctl(m, TIOCSLCKTRMIOS, &l));
	memset(&l, 0, sizeof l);
	CHK("getlck", ioctl(s, TIOCGLCKTRMIOS, &l));
	printf("locked: lflag=%#x cc VINTR=%d\n", l.c_lflag, l.c_cc[VINTR]);
	tcgetattr(s, &t);
	printf("before: echo=%d icanon=%d intr=%d\n", !!(t.c_lflag & ECHO),
	       !!(t.c_lflag & ICANON), t.c_cc[VINTR]);
	t.c_lflag &= ~(ECHO | ICANON);
	t.c_cc[VINTR] = 5;
	t.c_cc[VQUIT] = 6;
	CHK("tcsetattr", tcsetattr(s, TCSANOW, &t));
	tcgetattr(s, &t);
	printf("after: echo=%d icanon=%d intr=%d quit=%d\n", !!(t.c_lflag & ECHO),
	       !!(t.c_lflag & ICANON), t.c_cc[VINTR], t.c_cc[VQUIT]);

	/* Without CAP_SYS_ADMIN setting it is EPERM, getting it works. */
	pid_t c = fork();
	if (c == 0) {
		CHK("drop sys_admin", dt_drop_cap(CAP_SYS_ADMIN));
		CHK("setlck checkpoint_restore", ioctl(s, TIOCSLCKTRMIOS, &l));
		CHK("drop checkpoint_restore", dt_drop_cap(40));
		CHK("setlck unprivileged", ioctl(s, TIOCSLCKTRMIOS, &l));
		CHK("getlck unprivileged", ioctl(s, TIOCGLCKTRMIOS, &l));
		_exit(0);
	}
	waitpid(c, NULL, 0);
	memset(&l, 0, sizeof l);
	CHK("unlock", ioctl(m, TIOCSLCKTRMIOS, &l));
	t.c_lflag |= ICANON | ECHO;
	tcsetattr(s, TCSANOW, &t);

	/* Packet mode. */
	int v = 7;
	CHK("getpkt", ioctl(m, TIOCGPKT, &v));
	printf("pkt=%d\n", v);
	CHK("getpkt slave", ioctl(s, TIOCGPKT, &v));
	CHK("pkt slave", ioctl(s, TIOCPKT, &v));
	CHK("pkt efault", ioctl(m, TIOCPKT, (void *)8));
	CHK("getpkt efault", ioctl(m, TIOCGPKT, (void *)8));
	v = 1;
	CHK("pkt on", ioctl(m, TIOCPKT, &v));
	CHK("getpkt", ioctl(m, TIOCGPKT, &v));
	printf("pkt=%d\n", v);
	show_read("empty", m);
	CHK("write", write(s, "hi", 2));
	show_read("data", m);
	CHK("flush in", tcflush(s, TCIFLUSH));
	show_read("flushread", m);
	CHK("flush both", tcflush(s, TCIOFLUSH));
	show_read("flushboth", m);
	CHK("master flush", tcflush(m, TCIOFLUSH));
	show_read("master flush", m);
	CHK("tcooff", tcflow(s, TCOOFF));
	show_read("stop", m);
	CHK("tcoon", tcflow(s, TCOON));
	show_read("start", m);
	tcgetattr(s, &t);
	t.c_iflag &= ~IXON;
	CHK("ixon off", tcsetattr(s, TCSANOW, &t));
	show_read("noflow", m);
	t.c_iflag |= IXON;
	CHK("ixon on", tcsetattr(s, TCSANOW, &t));
	CHK("write", write(s, "x", 1));
	show_read("doflow then data", m);
	show_read("data", m);
	char one;
	CHK("write", write(s, "yz", 2));
	CHK("read 1", read(m, &one, 1));
	printf("byte %02x\n", one);
	v = 0;
	CHK("pkt off", ioctl(m, TIOCPKT, &v));
	show_read("off", m);
	close(s);
	close(m);
	return 0;
}
