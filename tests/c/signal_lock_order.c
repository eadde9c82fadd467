// A process flooded with SIGCONT (taken with the process's lock, then each
// thread's queue) while it keeps taking its pending signals (its thread's
// queue, then the process's): the sandbox took those two locks in opposite
// orders and deadlocked (stress-ng --wait). Also SIGSTOP/SIGCONT rounds
// observed with waitpid(WUNTRACED|WCONTINUED).
#include "dt.h"
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_usr1(int sig)
{
	(void)sig;
}

int main(void)
{
	dt_init();
	alarm(25);
	signal(SIGUSR1, on_usr1);
	pid_t c = fork();
	if (c == 0) {
		sigset_t none;
		sigemptyset(&none);
		// Each mask change sends the run loop through signal delivery.
		for (;;)
			sigprocmask(SIG_SETMASK, &none, NULL);
	}
	int bad = 0;
	for (int i = 0; i < 100000; i++) {
		if (kill(c, SIGCONT) != 0)
			bad++;
		if (i % 1000 == 0 && kill(c, SIGUSR1) != 0)
			bad++;
	}
	printf("SIGCONT flood failures=%d\n", bad);
	int stops = 0, conts = 0, st;
	for (int i = 0; i < 50; i++) {
		kill(c, SIGSTOP);
		if (waitpid(c, &st, WUNTRACED) == c && WIFSTOPPED(st))
			stops++;
		kill(c, SIGCONT);
		if (waitpid(c, &st, WCONTINUED) == c && WIFCONTINUED(st))
			conts++;
	}
	printf("stopped=%d continued=%d\n", stops, conts);
	kill(c, SIGKILL);
	CHKOK("waitpid", waitpid(c, &st, 0));
	printf("killed by %d\n", WIFSIGNALED(st) ? WTERMSIG(st) : -1);
	return 0;
}
