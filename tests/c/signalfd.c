// signalfd: blocked signals are read as signalfd_siginfo records with the
// sender's data; poll sees readiness; an empty nonblocking signalfd gives
// EAGAIN; bad sizes and flags give EINVAL; a non-signalfd fd gives EINVAL.
#include "dt.h"
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	sigaddset(&m, SIGRTMIN);
	CHKOK("block", sigprocmask(SIG_BLOCK, &m, 0));
	int fd = signalfd(-1, &m, SFD_NONBLOCK | SFD_CLOEXEC);
	FACT(fd >= 0);
	struct signalfd_siginfo si[4];
	CHK("read empty", read(fd, si, sizeof(si)));
	struct pollfd p = {fd, POLLIN, 0};
	CHK("poll empty", poll(&p, 1, 0));
	union sigval v = {.sival_int = 77};
	CHKOK("sigqueue", sigqueue(getpid(), SIGRTMIN, v));
	CHKOK("raise", raise(SIGUSR1));
	CHK("poll ready", poll(&p, 1, 0));
	printf("revents=%#x\n", p.revents);
	ssize_t n = read(fd, si, sizeof(si));
	printf("read: %zd records\n", n / (ssize_t)sizeof(si[0]));
	for (int i = 0; i < n / (ssize_t)sizeof(si[0]); i++)
		printf("  signo=%s code=%d int=%d pid_ok=%d\n", si[i].ssi_signo == SIGUSR1 ? "USR1" : "RTMIN",
		       si[i].ssi_code, si[i].ssi_signo == SIGUSR1 ? 0 : si[i].ssi_int,
		       si[i].ssi_pid == (unsigned)getpid());
	CHK("read short buffer", read(fd, si, 8));
	CHK("signalfd bad flags", signalfd(-1, &m, 0x7));
	CHK("signalfd on pipe", signalfd(0, &m, 0));
	CHK("update mask", signalfd(fd, &m, 0) == fd ? 0 : -1);
	return 0;
}
