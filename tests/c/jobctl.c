// Job control: a child stopped by SIGSTOP is reported by waitpid with
// WUNTRACED (and SIGCHLD with CLD_STOPPED), SIGCONT resumes it and is
// reported with WCONTINUED; SIGTSTP with a handler runs the handler instead
// of stopping; waitid sees the same events.
#include "dt.h"
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t chld_code;
static void on_chld(int s, siginfo_t *si, void *u)
{
	(void)s;
	(void)u;
	chld_code = si->si_code;
}
static volatile sig_atomic_t got_tstp;
static void on_tstp(int s)
{
	(void)s;
	got_tstp = 1;
}

int main(void)
{
	dt_init();
	struct sigaction sa = {0};
	sa.sa_sigaction = on_chld;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigaction(SIGCHLD, &sa, 0);

	int p[2];
	CHKOK("pipe", pipe(p));
	pid_t c = fork();
	if (c == 0) {
		char b;
		raise(SIGSTOP);
		read(p[0], &b, 1);
		_exit(5);
	}
	int st = 0;
	FACT(waitpid(c, &st, WUNTRACED) == c);
	printf("stopped=%d sig=%d\n", WIFSTOPPED(st), WIFSTOPPED(st) ? WSTOPSIG(st) : 0);
	printf("chld_code stopped: %d\n", chld_code == CLD_STOPPED);
	CHK("waitpid WNOHANG while stopped", waitpid(c, &st, WNOHANG | WUNTRACED));
	CHKOK("kill SIGCONT", kill(c, SIGCONT));
	FACT(waitpid(c, &st, WCONTINUED) == c);
	printf("continued=%d\n", WIFCONTINUED(st));
	CHKOK("write", write(p[1], "x", 1) == 1 ? 0 : -1);
	FACT(waitpid(c, &st, 0) == c);
	printf("exited=%d code=%d\n", WIFEXITED(st), WEXITSTATUS(st));

	// waitid sees a stop too.
	c = fork();
	if (c == 0) {
		raise(SIGSTOP);
		_exit(6);
	}
	siginfo_t si = {0};
	CHKOK("waitid WSTOPPED", waitid(P_PID, c, &si, WSTOPPED));
	printf("waitid code stopped=%d status=%d\n", si.si_code == CLD_STOPPED, si.si_status);
	kill(c, SIGCONT);
	memset(&si, 0, sizeof(si));
	CHKOK("waitid WEXITED", waitid(P_PID, c, &si, WEXITED));
	printf("waitid code exited=%d status=%d\n", si.si_code == CLD_EXITED, si.si_status);

	// A handled SIGTSTP does not stop.
	signal(SIGTSTP, on_tstp);
	raise(SIGTSTP);
	printf("tstp handled=%d\n", got_tstp);
	return 0;
}
