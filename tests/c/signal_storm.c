// Signals arriving at any instruction of a tight syscall loop: a child
// queues 3000 real-time signals (with values) at its parent while the
// parent keeps calling getppid() and getpid() in a loop. Every signal is
// handled exactly once, in order of its value, and every syscall in the
// loop returns the right answer, however the sandbox serves those calls.
#include "dt.h"
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define N 3000

static volatile int handled, in_order = 1;

static void on_rt(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (si->si_value.sival_int != handled)
		in_order = 0;
	handled++;
}

int main(void)
{
	dt_init();
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_rt;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigaction(SIGRTMIN, &sa, NULL);
	pid_t me = getpid(), parent = getppid();
	int go[2];
	if (pipe(go) != 0)
		return 1;
	pid_t c = fork();
	if (c == 0) {
		char b;
		/* Start once the parent is about to loop. */
		if (read(go[0], &b, 1) != 1)
			_exit(2);
		for (int i = 0; i < N; i++) {
			union sigval v = {.sival_int = i};
			while (sigqueue(me, SIGRTMIN, v) < 0)
				usleep(100); /* queue full: let the parent catch up */
		}
		_exit(0);
	}
	int right = 1;
	time_t end = time(NULL) + 20;
	if (write(go[1], "g", 1) != 1)
		return 1;
	while (handled < N && time(NULL) < end)
		right &= getppid() == parent && getpid() == me;
	int st;
	waitpid(c, &st, 0);
	printf("child exited 0: %d\n", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	printf("handled all: %d, in order: %d\n", handled == N, in_order);
	printf("syscalls right: %d\n", right);
	return 0;
}
