// Death by signal: a child that calls abort() is reported killed by
// SIGABRT; then this process dies of a fault (SIGSEGV), so its own exit
// status is 128+11 = 139. (The program may run as the sandbox's pid 1,
// which, like any PID-namespace init, ignores default-action signals sent
// to itself; faults still kill it.)
#include "dt.h"
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	pid_t c = fork();
	if (c == 0) {
		printf("child about to abort\n");
		abort();
	}
	int st = 0;
	FACT(waitpid(c, &st, 0) == c);
	printf("child signaled=%d sig=%d\n", WIFSIGNALED(st), WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	printf("about to fault\n");
	*(volatile int *)8 = 1;
	printf("not reached\n");
	return 0;
}
