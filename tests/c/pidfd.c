// pidfd_open, poll on a pidfd (readable once the process exits),
// pidfd_send_signal, waitid(P_PIDFD), pidfd_getfd and CLONE_PIDFD via
// clone3; error paths: bad flags, no such pid, not a pidfd.
#include "dt.h"
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

int main(void)
{
	dt_init();
	int p[2];
	CHKOK("pipe", pipe(p));
	pid_t c = fork();
	if (c == 0) {
		char b;
		read(p[0], &b, 1);
		_exit(4);
	}
	int pfd = syscall(SYS_pidfd_open, c, 0);
	FACT(pfd >= 0);
	CHK("pidfd_open bad flags", syscall(SYS_pidfd_open, c, 0x1234));
	CHK("pidfd_open no such pid", syscall(SYS_pidfd_open, 999999, 0));
	struct pollfd pl = {pfd, POLLIN, 0};
	CHK("poll while running", poll(&pl, 1, 0));
	int dup = syscall(SYS_pidfd_getfd, pfd, p[1], 0);
	FACT(dup >= 0);
	CHK("pidfd_getfd bad fd", syscall(SYS_pidfd_getfd, pfd, 999, 0));
	CHK("pidfd_send_signal 0", syscall(SYS_pidfd_send_signal, pfd, 0, 0, 0));
	CHK("pidfd_send_signal bad flags", syscall(SYS_pidfd_send_signal, pfd, 0, 0, 1));
	CHK("pidfd_send_signal not a pidfd", syscall(SYS_pidfd_send_signal, p[0], 0, 0, 0));
	CHKOK("write via getfd duplicate", write(dup, "x", 1) == 1 ? 0 : -1);
	CHK("poll after exit", poll(&pl, 1, 5000));
	siginfo_t si = {0};
	CHKOK("waitid P_PIDFD", waitid(P_PIDFD, pfd, &si, WEXITED));
	printf("status=%d code_exited=%d\n", si.si_status, si.si_code == CLD_EXITED);

	int cpfd = -1;
	struct clone_args ca = {0};
	ca.flags = CLONE_PIDFD;
	ca.pidfd = (unsigned long)&cpfd;
	ca.exit_signal = SIGCHLD;
	long r = syscall(SYS_clone3, &ca, sizeof(ca));
	if (r == 0) {
		pause();
		_exit(0);
	}
	FACT(r > 0 && cpfd >= 0);
	CHK("pidfd_send_signal SIGTERM", syscall(SYS_pidfd_send_signal, cpfd, SIGTERM, 0, 0));
	int st;
	FACT(waitpid(r, &st, 0) == r);
	printf("clone3 child signaled=%d sig=%d\n", WIFSIGNALED(st), WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	return 0;
}
