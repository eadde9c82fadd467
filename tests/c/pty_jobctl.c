// Controlling terminals and job control on a pty: a session leader's open
// acquires it (TIOCGSID/TIOCGPGRP, /dev/tty); ^C ^\ ^Z, TIOCSIG and a
// window-size change signal the foreground group; background reads stop
// with SIGTTIN (EIO when ignored), background writes with TOSTOP and
// termios changes stop with SIGTTOU; tcsetpgrp moves the foreground;
// TIOCNOTTY and the master's close send SIGHUP. Error paths: EPERM,
// ENOTTY, ESRCH, EINVAL, ENXIO.
#include "dt.h"
#include "dt_pty.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static volatile sig_atomic_t got[65];

static void on_sig(int sig)
{
	got[sig]++;
}

/* Waits up to 2 s for `sig` to have been handled. */
static int wait_sig(int sig)
{
	for (int i = 0; i < 200 && !got[sig]; i++)
		usleep(10000);
	int r = got[sig];
	got[sig] = 0;
	return r;
}

static void status(const char *what, int st)
{
	if (WIFSTOPPED(st))
		printf("%s: stopped by %s\n", what, sigabbrev_np(WSTOPSIG(st)));
	else if (WIFSIGNALED(st))
		printf("%s: killed by %s\n", what, sigabbrev_np(WTERMSIG(st)));
	else
		printf("%s: exit %d\n", what, WEXITSTATUS(st));
}

/* Runs `fn` in a new background process group of this session and
 * reports how it ended or stopped. */
static void background(const char *what, int s, void (*fn)(int))
{
	pid_t g = fork();
	if (g == 0) {
		setpgid(0, 0);
		fn(s);
		_exit(0);
	}
	setpgid(g, g);
	int st;
	waitpid(g, &st, WUNTRACED);
	status(what, st);
	if (WIFSTOPPED(st)) {
		kill(g, SIGKILL);
		waitpid(g, &st, 0);
	}
}

static void bg_read(int s)
{
	char b[8];
	CHK("bg read", read(s, b, sizeof(b)));
}

static void bg_read_ignoring(int s)
{
	signal(SIGTTIN, SIG_IGN);
	bg_read(s);
}

static void bg_write(int s)
{
	CHK("bg write", write(s, "w", 1));
}

static void bg_write_ignoring(int s)
{
	signal(SIGTTOU, SIG_IGN);
	bg_write(s);
}

static void bg_tcsetattr(int s)
{
	struct termios t;
	tcgetattr(s, &t);
	CHK("bg tcsetattr", tcsetattr(s, TCSANOW, &t));
}

static void session(int m, const char *name)
{
	CHKOK("setsid", setsid());
	int s = open(name, O_RDWR);
	FACT(s >= 0);
	pid_t v = 0;
	CHK("TIOCGSID", ioctl(s, TIOCGSID, &v));
	FACT(v == getpid());
	CHK("TIOCGPGRP", ioctl(s, TIOCGPGRP, &v));
	FACT(v == getpid());
	FACT(tcgetpgrp(s) == getpid());
	CHK("TIOCGPGRP master", ioctl(m, TIOCGPGRP, &v));
	FACT(v == getpid());
	int t = open("/dev/tty", O_RDWR);
	FACT(t >= 0);
	struct stat st;
	fstat(t, &st);
	FACT(st.st_rdev == makedev(5, 0));
	FACT(ttyname(t) && !strcmp(ttyname(t), "/dev/tty"));
	CHK("TIOCSCTTY own", ioctl(s, TIOCSCTTY, 0));

	int m2 = posix_openpt(O_RDWR | O_NOCTTY);
	unlockpt(m2);
	int s2 = open(ptsname(m2), O_RDWR | O_NOCTTY);
	CHK("TIOCSCTTY second", ioctl(s2, TIOCSCTTY, 0));
	CHK("TIOCGPGRP not ctty", ioctl(s2, TIOCGPGRP, &v));
	CHK("TIOCGSID not ctty", ioctl(s2, TIOCGSID, &v));
	CHK("TIOCSPGRP not ctty", ioctl(s2, TIOCSPGRP, &v));
	CHK("TIOCNOTTY not ctty", ioctl(s2, TIOCNOTTY));
	CHK("TIOCGSID no session", ioctl(m2, TIOCGSID, &v));
	close(s2);
	close(m2);

	int sigs[] = {SIGINT, SIGQUIT, SIGTSTP, SIGWINCH, SIGUSR1, SIGHUP, SIGCONT};
	for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], on_sig);
	/* Each echo is read before the next character is typed: Linux
	 * processes input in batches, and a signal character's flush drops
	 * the batch's pending echoes. */
	char b[64];
	write(m, "ab\x03", 3);
	printf("^C: SIGINT %d\n", wait_sig(SIGINT));
	dt_show("echo", b, dt_read_n(m, b, 2));
	write(m, "\x1c", 1);
	printf("^\\: SIGQUIT %d\n", wait_sig(SIGQUIT));
	dt_show("echo", b, dt_read_n(m, b, 2));
	write(m, "\x1a", 1);
	printf("^Z: SIGTSTP %d\n", wait_sig(SIGTSTP));
	dt_show("echo", b, dt_read_n(m, b, 2));
	CHK("TIOCSIG", ioctl(m, TIOCSIG, SIGINT));
	printf("TIOCSIG: SIGINT %d\n", wait_sig(SIGINT));
	CHK("TIOCSIG not a terminal signal", ioctl(m, TIOCSIG, SIGUSR1));
	CHK("TIOCSIG on slave", ioctl(s, TIOCSIG, SIGINT));
	struct winsize w = {30, 100, 0, 0};
	ioctl(m, TIOCSWINSZ, &w);
	printf("resize: SIGWINCH %d\n", wait_sig(SIGWINCH));
	ioctl(m, TIOCSWINSZ, &w);
	usleep(50000);
	printf("same size: SIGWINCH %d\n", got[SIGWINCH]);

	background("bg read", s, bg_read);
	background("bg read ignoring SIGTTIN", s, bg_read_ignoring);
	background("bg write", s, bg_write);
	background("bg tcsetattr", s, bg_tcsetattr);
	struct termios tio;
	tcgetattr(s, &tio);
	tio.c_lflag |= TOSTOP;
	tcsetattr(s, TCSANOW, &tio);
	background("bg write with TOSTOP", s, bg_write);
	background("bg write with TOSTOP ignoring SIGTTOU", s, bg_write_ignoring);
	dt_show("written", b, dt_read_n(m, b, 2));

	/* tcsetpgrp: another group becomes the foreground and gets ^C. */
	v = -1;
	CHK("TIOCSPGRP negative", ioctl(s, TIOCSPGRP, &v));
	v = 99999999;
	CHK("TIOCSPGRP no such group", ioctl(s, TIOCSPGRP, &v));
	v = getpgid(getppid());
	CHK("TIOCSPGRP other session", ioctl(s, TIOCSPGRP, &v));
	CHK("TIOCSPGRP bad pointer", ioctl(s, TIOCSPGRP, (void *)8));
	int ready[2];
	pipe(ready);
	pid_t g = fork();
	if (g == 0) {
		setpgid(0, 0);
		signal(SIGINT, SIG_DFL);
		write(ready[1], "r", 1);
		for (;;)
			pause();
	}
	setpgid(g, g);
	read(ready[0], b, 1);
	CHK("tcsetpgrp", tcsetpgrp(s, g));
	FACT(tcgetpgrp(s) == g);
	write(m, "\x03", 1);
	int stt;
	waitpid(g, &stt, 0);
	status("foreground child after ^C", stt);
	FACT(got[SIGINT] == 0);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTTOU);
	sigprocmask(SIG_BLOCK, &set, NULL);
	CHK("tcsetpgrp back (SIGTTOU blocked)", tcsetpgrp(s, getpgrp()));
	sigprocmask(SIG_UNBLOCK, &set, NULL);

	/* Giving the terminal up. */
	CHK("TIOCNOTTY", ioctl(s, TIOCNOTTY));
	printf("TIOCNOTTY: SIGHUP %d SIGCONT %d\n", wait_sig(SIGHUP), wait_sig(SIGCONT));
	CHK("TIOCGPGRP after TIOCNOTTY", ioctl(s, TIOCGPGRP, &v));
	CHK("open /dev/tty after TIOCNOTTY", open("/dev/tty", O_RDWR));
	CHK("read old /dev/tty fd", ioctl(t, TIOCGPGRP, &v));
	CHK("TIOCSCTTY again", ioctl(s, TIOCSCTTY, 0));
	CHK("TIOCGSID again", ioctl(s, TIOCGSID, &v));
	FACT(v == getpid());

	/* Hang-up: the master closes. */
	close(m);
	printf("hangup: SIGHUP %d SIGCONT %d\n", wait_sig(SIGHUP), wait_sig(SIGCONT));
	CHK("read after hangup", read(s, b, sizeof(b)));
	CHK("open /dev/tty after hangup", open("/dev/tty", O_RDWR));
}

int main(void)
{
	dt_init();
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	grantpt(m);
	unlockpt(m);
	char name[64];
	snprintf(name, sizeof(name), "%s", ptsname(m));
	pid_t c = fork();
	if (c == 0) {
		session(m, name);
		_exit(0);
	}
	close(m);
	int st;
	waitpid(c, &st, 0);
	status("session leader", st);

	/* A session leader's exit: its foreground group gets SIGHUP. */
	int report[2], ready[2];
	pipe(report);
	pipe(ready);
	m = posix_openpt(O_RDWR | O_NOCTTY);
	grantpt(m);
	unlockpt(m);
	snprintf(name, sizeof(name), "%s", ptsname(m));
	c = fork();
	if (c == 0) {
		setsid();
		open(name, O_RDWR);
		if (fork() == 0) {
			signal(SIGHUP, on_sig);
			write(ready[1], "r", 1);
			for (int i = 0; i < 200 && !got[SIGHUP]; i++)
				usleep(10000);
			write(report[1], got[SIGHUP] ? "H" : "-", 1);
			_exit(0);
		}
		char b;
		read(ready[0], &b, 1);
		_exit(0);
	}
	waitpid(c, &st, 0);
	char r = '?';
	read(report[0], &r, 1);
	printf("foreground member after the leader exited: %s\n", r == 'H' ? "SIGHUP" : "none");
	close(m);
	return 0;
}
