// Signal-driven I/O: O_ASYNC (F_SETFL and FIOASYNC) with F_SETOWN on
// pipes, unix sockets, a pty master and inotify descriptors; SIGIO
// without F_SETSIG, F_SETSIG's signal with POLL_IN/POLL_OUT, si_band and
// si_fd; no signal without an owner or once O_ASYNC is cleared.
#include "dt.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile int count, last_sig, last_code, last_fd;
static volatile long last_band;

static void on_sig(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	count++;
	last_sig = sig;
	last_code = si->si_code;
	last_band = si->si_band;
	last_fd = si->si_fd;
}

static void reset(void)
{
	count = 0;
	last_sig = last_code = last_fd = 0;
	last_band = 0;
}

/* What the last step raised (fd printed as a relation). */
static void report(const char *what, int fd)
{
	if (!count) {
		printf("%s: no signal\n", what);
		return;
	}
	if (last_sig == SIGIO)
		printf("%s: SIGIO code=%d\n", what, last_code);
	else
		printf("%s: SIGRTMIN+%d code=%d band=0x%lx fd_matches=%d\n", what,
		       last_sig - SIGRTMIN, last_code, last_band, last_fd == fd);
	reset();
}

static void async_on(int fd, int sig)
{
	CHK("F_SETOWN", fcntl(fd, F_SETOWN, getpid()));
	CHK("F_SETSIG", fcntl(fd, F_SETSIG, sig));
	CHK("F_SETFL O_ASYNC", fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_ASYNC | O_NONBLOCK));
}

int main(void)
{
	dt_init();
	struct sigaction sa = { 0 };
	sa.sa_sigaction = on_sig;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigaction(SIGIO, &sa, NULL);
	sigaction(SIGRTMIN, &sa, NULL);
	char buf[64];

	int p[2];
	pipe(p);
	/* No owner: nothing. */
	CHK("F_SETFL O_ASYNC, no owner", fcntl(p[0], F_SETFL, O_ASYNC | O_NONBLOCK));
	write(p[1], "a", 1);
	report("pipe write, no owner", p[0]);
	read(p[0], buf, sizeof buf);
	reset();

	async_on(p[0], 0);
	write(p[1], "a", 1);
	report("pipe write, plain SIGIO", p[0]);
	read(p[0], buf, sizeof buf);
	reset();

	CHK("F_SETSIG SIGRTMIN", fcntl(p[0], F_SETSIG, SIGRTMIN));
	CHK("F_GETSIG", fcntl(p[0], F_GETSIG) == SIGRTMIN);
	write(p[1], "ab", 2);
	report("pipe write, F_SETSIG", p[0]);
	read(p[0], buf, sizeof buf);
	report("pipe read (reader has O_ASYNC)", p[0]);

	/* The write end with O_ASYNC hears of room after a read. */
	async_on(p[1], SIGRTMIN);
	write(p[1], "x", 1);
	report("pipe write (writer has O_ASYNC too)", p[0]);
	read(p[0], buf, sizeof buf);
	report("pipe read, writer told", p[1]);

	/* Cleared: nothing. */
	CHK("F_SETFL clear", fcntl(p[1], F_SETFL, O_NONBLOCK));
	int off = 0;
	CHK("FIOASYNC off", ioctl(p[0], FIOASYNC, &off));
	write(p[1], "a", 1);
	report("pipe write after clearing", p[0]);
	int on = 1;
	CHK("FIOASYNC on", ioctl(p[0], FIOASYNC, &on));
	close(p[1]);
	report("last writer closed", p[0]);
	close(p[0]);

	/* Unix stream socket. */
	int sp[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sp);
	async_on(sp[0], SIGRTMIN);
	write(sp[1], "hello", 5);
	report("socket data", sp[0]);
	read(sp[0], buf, sizeof buf);
	reset();
	close(sp[0]);
	close(sp[1]);

	/* A pty master hears of what the slave writes. */
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	grantpt(m);
	unlockpt(m);
	int s = open(ptsname(m), O_RDWR | O_NOCTTY);
	async_on(m, SIGRTMIN);
	write(s, "z", 1);
	usleep(10000);
	report("pty master input", m);
	close(s);
	close(m);
	reset();

	/* inotify: an event queued. */
	int in = inotify_init1(IN_NONBLOCK);
	inotify_add_watch(in, ".", IN_CREATE);
	async_on(in, SIGRTMIN);
	close(open("sigio_file", O_CREAT | O_WRONLY, 0644));
	report("inotify event", in);
	unlink("sigio_file");
	close(in);
	return 0;
}
