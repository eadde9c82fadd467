// signalfd reads the signals of the thread that reads it (Linux's
// `current`), not of the thread that created it: a thread blocked in read()
// on its process's signalfd wakes for a tgkill() aimed at it, and the
// creator does not see that thread-directed signal. A fd inherited over
// fork() reads the child's signals.
#include "dt.h"
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int sfd;
static volatile pid_t reader_tid;

static void *reader(void *arg)
{
	(void)arg;
	reader_tid = (pid_t)syscall(SYS_gettid);
	struct signalfd_siginfo si;
	ssize_t n = read(sfd, &si, sizeof(si));
	printf("thread read: %zd bytes, signo=%u code_is_tkill=%d\n", n,
	       si.ssi_signo, si.ssi_code == SI_TKILL);
	return 0;
}

int main(void)
{
	dt_init();
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	sigaddset(&m, SIGUSR2);
	CHKOK("block", sigprocmask(SIG_BLOCK, &m, 0));
	sfd = signalfd(-1, &m, 0);
	FACT(sfd >= 0);
	pthread_t t;
	CHKRC("pthread_create", pthread_create(&t, 0, reader, 0));
	while (!reader_tid)
		usleep(1000);
	usleep(50000); /* let it block in read() */
	CHKOK("tgkill", syscall(SYS_tgkill, getpid(), reader_tid, SIGUSR1));
	CHKRC("pthread_join", pthread_join(t, 0));

	/* A signal directed at another thread is not the creator's to read. */
	CHKOK("nonblock", fcntl(sfd, F_SETFL, O_NONBLOCK));
	struct signalfd_siginfo si;
	CHK("creator read empty", read(sfd, &si, sizeof(si)));

	pid_t c = fork();
	if (c == 0) {
		/* The parent's pending signal stays with the parent. */
		CHKOK("child raise", raise(SIGUSR2));
		ssize_t n = read(sfd, &si, sizeof(si));
		printf("child read: %zd bytes, signo=%u\n", n, si.ssi_signo);
		_exit(0);
	}
	int st;
	CHKOK("wait", waitpid(c, &st, 0));
	FACT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHK("parent read empty", read(sfd, &si, sizeof(si)));
	return 0;
}
