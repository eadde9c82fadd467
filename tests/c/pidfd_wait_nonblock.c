// waitid(P_PIDFD) on a non-blocking pidfd does not block: with nothing to
// report it fails with EAGAIN, or returns 0 with WNOHANG; once the child
// has exited it reports the exit, and a blocking pidfd waits as usual.
#include "dt.h"
#include <fcntl.h>
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
	pid_t c = fork();
	if (c == 0) {
		pause();
		_exit(0);
	}
	int fd = syscall(SYS_pidfd_open, c, 0);
	FACT(fd >= 0);
	int fl = fcntl(fd, F_GETFL);
	CHK("F_SETFL O_NONBLOCK", fcntl(fd, F_SETFL, fl | O_NONBLOCK));
	siginfo_t si = {0};
	CHK("waitid nonblocking pidfd", waitid(P_PIDFD, fd, &si, WEXITED));
	si.si_pid = 1;
	CHK("waitid nonblocking pidfd WNOHANG", waitid(P_PIDFD, fd, &si, WEXITED | WNOHANG));
	printf("WNOHANG cleared si_pid: %d\n", si.si_pid == 0);
	CHK("kill", kill(c, SIGKILL));
	/* Still non-blocking: poll until the exit shows (bounded). */
	int r = -1, e = 0;
	for (int i = 0; i < 500; i++) {
		r = waitid(P_PIDFD, fd, &si, WEXITED | WNOWAIT);
		e = errno;
		if (r == 0)
			break;
		usleep(10000);
	}
	printf("exit seen: ret=%d errno=%s\n", r, r ? dt_errname(e) : "0");
	CHK("F_SETFL blocking", fcntl(fd, F_SETFL, fl));
	CHK("waitid blocking pidfd", waitid(P_PIDFD, fd, &si, WEXITED));
	printf("code=%d status=%d pid matches=%d\n", si.si_code, si.si_status, si.si_pid == c);
	CHK("waitid after reap", waitid(P_PIDFD, fd, &si, WEXITED | WNOHANG));
	close(fd);
	return 0;
}
