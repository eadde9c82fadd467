// pidfd_send_signal on an open /proc/PID directory (Linux accepts it as a
// pidfd; /proc/PID/task/TID, other directories and files are EBADF; a
// reaped process is ESRCH), siginfo checks (si_signo must match the
// signal, foreign si_code >= 0 is EPERM), and pidfd_open on a thread that is
// not its process's leader (ENOENT since Linux 6.x).
#include "dt.h"
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static long send(int fd, int sig, siginfo_t *info, unsigned flags)
{
	return syscall(SYS_pidfd_send_signal, fd, sig, info, flags);
}

static volatile int got;
static void on_usr1(int s)
{
	got = s;
}

static pthread_barrier_t bar;
static volatile pid_t thread_tid;
static void *thr(void *a)
{
	(void)a;
	thread_tid = syscall(SYS_gettid);
	pthread_barrier_wait(&bar);
	pthread_barrier_wait(&bar);
	return 0;
}

int main(void)
{
	dt_init();
	signal(SIGUSR1, on_usr1);
	char path[64];

	// Our own /proc/PID directory.
	snprintf(path, sizeof path, "/proc/%d", getpid());
	int self = open(path, O_RDONLY | O_DIRECTORY);
	CHK("signal 0 to self dir", send(self, 0, 0, 0));
	CHK("SIGUSR1 to self dir", send(self, SIGUSR1, 0, 0));
	printf("handler ran: %d\n", got == SIGUSR1);
	CHK("bad flags", send(self, SIGUSR1, 0, 8));
	CHK("bad signal", send(self, 99, 0, 0));
	siginfo_t si;
	memset(&si, 0, sizeof si);
	si.si_signo = SIGUSR2;
	si.si_code = SI_QUEUE;
	CHK("si_signo mismatch", send(self, SIGUSR1, &si, 0));
	CHK("siginfo bad ptr", send(self, SIGUSR1, BADPTR, 0));
	si.si_signo = SIGUSR1;
	got = 0;
	CHK("own siginfo to self", send(self, SIGUSR1, &si, 0));
	printf("handler ran: %d\n", got == SIGUSR1);

	// Things that are not process directories.
	int procroot = open("/proc", O_RDONLY | O_DIRECTORY);
	CHK("/proc itself", send(procroot, 0, 0, 0));
	int tmp = open("/tmp", O_RDONLY | O_DIRECTORY);
	CHK("/tmp", send(tmp, 0, 0, 0));
	snprintf(path, sizeof path, "/proc/%d/status", getpid());
	int status = open(path, O_RDONLY);
	CHK("/proc/PID/status", send(status, 0, 0, 0));
	snprintf(path, sizeof path, "/proc/%d/task/%d", getpid(), getpid());
	int taskdir = open(path, O_RDONLY | O_DIRECTORY);
	CHK("/proc/PID/task/PID", send(taskdir, 0, 0, 0));
	CHK("bad fd", send(-1, 0, 0, 0));

	// A child: signalled through its directory, foreign siginfo refused,
	// ESRCH once reaped.
	pid_t c = fork();
	if (c == 0) {
		pause();
		_exit(0);
	}
	snprintf(path, sizeof path, "/proc/%d", c);
	int cd = open(path, O_RDONLY | O_DIRECTORY);
	si.si_code = SI_USER;
	CHK("foreign siginfo", send(cd, SIGTERM, (si.si_signo = SIGTERM, &si), 0));
	CHK("pidfd_getfd on dir", syscall(SYS_pidfd_getfd, cd, 0, 0));
	CHK("SIGTERM to child dir", send(cd, SIGTERM, 0, 0));
	int st;
	waitpid(c, &st, 0);
	printf("child: signaled=%d sig=%d\n", WIFSIGNALED(st), WTERMSIG(st));
	CHK("reaped child dir", send(cd, 0, 0, 0));

	// pidfd_open of a thread that is not the leader.
	pthread_barrier_init(&bar, 0, 2);
	pthread_t th;
	pthread_create(&th, 0, thr, 0);
	pthread_barrier_wait(&bar);
	CHK("pidfd_open non-leader", syscall(SYS_pidfd_open, thread_tid, 0));
	CHK("pidfd_open bad flag", syscall(SYS_pidfd_open, getpid(), 1));
	CHK("pidfd_open pid 0", syscall(SYS_pidfd_open, 0, 0));
	pthread_barrier_wait(&bar);
	pthread_join(th, 0);
	return 0;
}
