// The line discipline: the default termios of a new pty; canonical input
// with ERASE/WERASE/KILL/EOF/EOL and their echoes (ECHOE, ECHOK, ECHOKE,
// ECHOCTL, ECHONL); ICRNL/INLCR/IGNCR; OPOST/ONLCR/OCRNL; raw mode with
// VMIN/VTIME; FIONREAD, TIOCOUTQ, TCFLSH, TCXONC, TCSETSF, window size.
// Error paths: EINVAL, EFAULT, ENOTTY.
#include "dt.h"
#include "dt_pty.h"
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static int m, s;

/* Nothing more arrives on fd within a short while. */
static void drain(int fd)
{
	char b[512];
	struct pollfd p = {fd, POLLIN, 0};
	while (poll(&p, 1, 50) > 0 && read(fd, b, sizeof(b)) > 0)
		;
}

/* Feeds `in` to the master; shows one slave read (waiting for it) and
 * `echo_len` bytes of echo. */
static void feed(const char *label, const char *in, int echo_len)
{
	char b[512];
	printf("[%s]\n", label);
	write(m, in, strlen(in));
	struct pollfd p = {s, POLLIN, 0};
	if (poll(&p, 1, 2000) > 0) {
		int n = read(s, b, sizeof(b));
		dt_show("read", b, n < 0 ? 0 : n);
	} else
		printf("read: nothing\n");
	int e = dt_read_n(m, b, echo_len);
	dt_show("echo", b, e);
	drain(m);
}

static void set(tcflag_t iset, tcflag_t iclr, tcflag_t oset, tcflag_t oclr, tcflag_t lset,
		tcflag_t lclr)
{
	struct termios t;
	tcgetattr(s, &t);
	t.c_iflag = (t.c_iflag | iset) & ~iclr;
	t.c_oflag = (t.c_oflag | oset) & ~oclr;
	t.c_lflag = (t.c_lflag | lset) & ~lclr;
	tcsetattr(s, TCSANOW, &t);
}

static long ms_since(struct timespec *a)
{
	struct timespec b;
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

int main(void)
{
	char b[512];
	dt_init();
	m = posix_openpt(O_RDWR | O_NOCTTY);
	grantpt(m);
	unlockpt(m);
	s = open(ptsname(m), O_RDWR | O_NOCTTY);
	struct termios t, orig;
	CHK("TCGETS", ioctl(s, TCGETS, &t));
	orig = t;
	printf("iflag=%#o oflag=%#o cflag=%#o lflag=%#o line=%d\n", t.c_iflag, t.c_oflag,
	       t.c_cflag, t.c_lflag, t.c_line);
	printf("cc:");
	for (int i = 0; i < 17; i++)
		printf(" %d", t.c_cc[i]);
	printf("\n");
	struct termios mt;
	CHK("TCGETS master", ioctl(m, TCGETS, &mt));
	FACT(mt.c_lflag == t.c_lflag);
	CHK("TCGETS bad pointer", ioctl(s, TCGETS, (void *)8));
	CHK("TCSETS bad pointer", ioctl(s, TCSETS, (void *)8));
	int nul = open("/dev/null", O_RDWR);
	CHK("TCGETS /dev/null", ioctl(nul, TCGETS, &t));
	CHK("TIOCGWINSZ /dev/null", ioctl(nul, TIOCGWINSZ, &t));

	feed("erase", "ab\x7f" "c\n", 8);
	feed("kill", "xyz\x15q\n", 14);
	feed("werase", "foo bar\x17" "baz\n", 21);
	feed("eof after text", "abc\x04", 3);
	feed("eof alone", "\x04", 0);
	feed("line then eof in one write", "pq\n\x04", 4);
	CHK("read the eof", read(s, b, sizeof(b)));
	feed("control echo", "\x01z\n", 5);
	t = orig;
	t.c_cc[VEOL] = '!';
	tcsetattr(s, TCSANOW, &t);
	feed("eol", "hi!", 3);
	tcsetattr(s, TCSANOW, &orig);
	set(0, 0, 0, 0, ECHONL, ECHO);
	feed("echonl without echo", "ab\n", 2);
	set(0, 0, 0, 0, ECHO, ECHONL | ECHOE);
	feed("erase without echoe", "ab\x7f\n", 6);
	set(0, 0, 0, 0, ECHOE, ECHOKE);
	feed("kill without echoke", "ab\x15" "c\n", 9);
	tcsetattr(s, TCSANOW, &orig);
	set(IGNCR, 0, 0, 0, 0, 0);
	feed("igncr", "a\rb\n", 4);
	set(0, IGNCR | ICRNL, 0, 0, 0, 0);
	feed("no icrnl", "a\rb\n", 6);
	tcsetattr(s, TCSANOW, &orig);
	set(0, 0, 0, 0, 0, ISIG);
	feed("no isig", "\x03\n", 4);
	tcsetattr(s, TCSANOW, &orig);

	/* Output processing. */
	write(s, "a\nb\r", 4);
	dt_show("onlcr", b, dt_read_n(m, b, 5));
	set(0, 0, OCRNL, ONLCR, 0, 0);
	write(s, "a\rb\n", 4);
	dt_show("ocrnl", b, dt_read_n(m, b, 4));
	set(0, 0, 0, OPOST, 0, 0);
	write(s, "a\rb\n", 4);
	dt_show("no opost", b, dt_read_n(m, b, 4));
	tcsetattr(s, TCSANOW, &orig);

	/* FIONREAD counts complete lines in canonical mode. */
	int n = -1;
	write(m, "abc", 3);
	usleep(50000);
	CHK("FIONREAD", ioctl(s, FIONREAD, &n));
	printf("partial line: %d\n", n);
	write(m, "\n", 1);
	struct pollfd p = {s, POLLIN, 0};
	poll(&p, 1, 2000);
	ioctl(s, FIONREAD, &n);
	printf("complete line: %d\n", n);
	CHK("TIOCOUTQ", ioctl(s, TIOCOUTQ, &n));
	printf("outq: %d\n", n);
	CHK("TCFLSH bad", ioctl(s, TCFLSH, 7));
	CHK("TCFLSH in", ioctl(s, TCFLSH, TCIFLUSH));
	ioctl(s, FIONREAD, &n);
	printf("after flush: %d\n", n);
	drain(m);

	/* Raw mode: VMIN and VTIME. */
	cfmakeraw(&t);
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 0;
	CHK("TCSETSW raw", ioctl(s, TCSETSW, &t));
	CHK("read nothing (min 0 time 0)", read(s, b, 10));
	t.c_cc[VMIN] = 3;
	ioctl(s, TCSETS, &t);
	write(m, "\rx", 2);
	p.fd = s;
	printf("poll with 2 of min 3: %d\n", poll(&p, 1, 200));
	write(m, "y", 1);
	printf("poll with 3 of min 3: %d\n", poll(&p, 1, 2000));
	n = read(s, b, 10);
	dt_show("raw read", b, n);
	struct timespec t0;
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 2;
	ioctl(s, TCSETS, &t);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHK("read timeout (min 0 time 2)", read(s, b, 10));
	FACT(ms_since(&t0) >= 150);
	t.c_cc[VMIN] = 5;
	t.c_cc[VTIME] = 1;
	ioctl(s, TCSETS, &t);
	write(m, "ab", 2);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHK("read inter-byte timeout (min 5 time 1)", read(s, b, 10));
	FACT(ms_since(&t0) >= 50);
	/* Back to canonical: what is there becomes a line. */
	write(m, "pq", 2);
	usleep(50000);
	CHK("TCSETSF canonical", ioctl(s, TCSETSF, &orig));
	ioctl(s, FIONREAD, &n);
	printf("after TCSETSF: %d\n", n);
	CHK("TCSBRK drain", tcdrain(s));

	/* Flow control. */
	CHK("TCXONC bad", ioctl(s, TCXONC, 9));
	CHK("TCOOFF", tcflow(s, TCOOFF));
	fcntl(s, F_SETFL, O_NONBLOCK);
	CHK("write stopped", write(s, "x", 1));
	CHK("TCOON", tcflow(s, TCOON));
	CHK("write restarted", write(s, "x", 1));
	drain(m);

	/* Window size, set through the master. */
	struct winsize w = {0};
	CHK("TIOCGWINSZ", ioctl(s, TIOCGWINSZ, &w));
	printf("winsize %dx%d\n", w.ws_row, w.ws_col);
	w.ws_row = 24;
	w.ws_col = 80;
	CHK("TIOCSWINSZ master", ioctl(m, TIOCSWINSZ, &w));
	memset(&w, 0, sizeof(w));
	ioctl(s, TIOCGWINSZ, &w);
	printf("winsize %dx%d\n", w.ws_row, w.ws_col);
	CHK("TIOCSWINSZ bad pointer", ioctl(s, TIOCSWINSZ, (void *)8));
	return 0;
}
