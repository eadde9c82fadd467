// kill/rt_sigaction/rt_sigreturn: a handler runs for a signal sent to self,
// SA_SIGINFO reports si_signo and si_code=SI_USER and the sender's pid,
// signal 0 checks existence, ESRCH/EINVAL/EFAULT errors, SA_RESETHAND,
// and that registers survive a handler (rt_sigreturn).
#include "dt.h"
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile int hits, last_signo, last_code, pid_match;

static void plain(int sig)
{
	hits++;
	last_signo = sig;
}

static void info(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	hits++;
	last_signo = si->si_signo;
	last_code = si->si_code;
	pid_match = si->si_pid == getpid() && sig == si->si_signo;
}

int main(void)
{
	dt_init();
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = plain;
	CHK("sigaction SIGUSR1", sigaction(SIGUSR1, &sa, NULL));
	CHK("kill self SIGUSR1", kill(getpid(), SIGUSR1));
	printf("hits=%d signo=%d\n", hits, last_signo);
	CHK("raise SIGUSR1", raise(SIGUSR1));
	printf("hits=%d\n", hits);

	sa.sa_sigaction = info;
	sa.sa_flags = SA_SIGINFO;
	CHK("sigaction SIGUSR2 SA_SIGINFO", sigaction(SIGUSR2, &sa, NULL));
	CHK("kill self SIGUSR2", kill(getpid(), SIGUSR2));
	printf("signo=%d code=%s pid_match=%d\n", last_signo,
	       last_code == SI_USER ? "SI_USER" : last_code == SI_TKILL ? "SI_TKILL" : "other", pid_match);
	CHK("tgkill self SIGUSR2", syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR2));
	printf("code=%s\n", last_code == SI_TKILL ? "SI_TKILL" : last_code == SI_USER ? "SI_USER" : "other");

	CHK("sigaction query", sigaction(SIGUSR2, NULL, &old));
	printf("old handler is info: %d, SA_SIGINFO: %d\n", old.sa_sigaction == info, !!(old.sa_flags & SA_SIGINFO));

	sa.sa_handler = plain;
	sa.sa_flags = SA_RESETHAND;
	CHK("sigaction SA_RESETHAND", sigaction(SIGURG, &sa, NULL));
	CHK("kill SIGURG", kill(getpid(), SIGURG));
	CHK("sigaction query", sigaction(SIGURG, NULL, &old));
	printf("reset to SIG_DFL: %d\n", old.sa_handler == SIG_DFL);

	CHK("kill sig 0 (exists)", kill(getpid(), 0));
	CHK("kill ESRCH", kill(999999, 0));
	CHK("kill bad signal", kill(getpid(), 1000));
	CHK("kill pid -999999", kill(-999999, SIGUSR1));
	CHK("sigaction SIGKILL", sigaction(SIGKILL, &sa, NULL));
	CHK("sigaction SIGSTOP", sigaction(SIGSTOP, &sa, NULL));
	CHK("sigaction bad signal 0", sigaction(0, &sa, NULL));
	CHK("sigaction bad signal 65", sigaction(65, &sa, NULL));
	CHK("rt_sigaction bad sigsetsize", syscall(SYS_rt_sigaction, SIGUSR1, NULL, &old, 4));
	CHK("rt_sigaction BADPTR", syscall(SYS_rt_sigaction, SIGUSR1, BADPTR, NULL, 8));
	CHK("sigaction SIG_IGN", sigaction(SIGUSR1, &(struct sigaction){ .sa_handler = SIG_IGN }, NULL));
	int before = hits;
	CHK("kill ignored SIGUSR1", kill(getpid(), SIGUSR1));
	printf("ignored: hits unchanged=%d\n", hits == before);

	/* Many signals in a loop: state must survive every rt_sigreturn. */
	double acc = 1.0;
	long iacc = 0;
	for (int i = 0; i < 1000; i++) {
		kill(getpid(), SIGUSR2);
		acc *= 1.001;
		iacc += i;
	}
	printf("hits=%d iacc=%ld acc=%.6f\n", hits, iacc, acc);
	return 0;
}
