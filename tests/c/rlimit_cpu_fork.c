// RLIMIT_CPU set by a parent binds a child it forks afterwards: the child
// spins without syscalls and gets SIGKILL at the inherited hard limit
// (1 s). The sandbox only watched the process that set the limit; alarm()
// bounds the child's spin there.
#include "dt.h"
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	pid_t c = fork();
	if (c == 0) {
		// The intermediate process sets the limit, then forks the spinner.
		struct rlimit rl = { 1, 1 };
		CHK("setrlimit", setrlimit(RLIMIT_CPU, &rl));
		pid_t g = fork();
		if (g == 0) {
			alarm(6);
			for (;;)
				;
		}
		int st;
		waitpid(g, &st, 0);
		_exit(WIFSIGNALED(st) ? WTERMSIG(st) : 100);
	}
	int st;
	CHKOK("waitpid", waitpid(c, &st, 0));
	int sig = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	printf("grandchild killed by SIGKILL: %d (SIGALRM: %d)\n", sig == SIGKILL, sig == SIGALRM);
	return 0;
}
