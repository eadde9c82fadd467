// fork/wait in a statically linked binary: exit status, signal death and
// stdout shared between parent and child.
// difftest: static
#include "dt.h"
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	pid_t c = fork();
	if (c == 0) {
		printf("child writes first\n");
		_exit(5);
	}
	int st;
	FACT(waitpid(c, &st, 0) == c);
	printf("child exited=%d status=%d\n", WIFEXITED(st), WEXITSTATUS(st));
	c = fork();
	if (c == 0) {
		raise(SIGTERM);
		_exit(0);
	}
	FACT(waitpid(c, &st, 0) == c);
	printf("child signaled=%d sig=%d\n", WIFSIGNALED(st), WTERMSIG(st));
	c = fork();
	if (c == 0) {
		pid_t g = fork();
		if (g == 0)
			_exit(9);
		int gs;
		waitpid(g, &gs, 0);
		_exit(WEXITSTATUS(gs) + 1);
	}
	FACT(waitpid(c, &st, 0) == c);
	printf("grandchild chain status=%d\n", WEXITSTATUS(st));
	CHK("wait no children", wait(NULL));
	return 0;
}
