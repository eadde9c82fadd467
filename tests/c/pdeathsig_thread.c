// PR_SET_PDEATHSIG fires when the parent *thread* that created the child
// exits, even while other threads of the parent live on (Linux parents
// children to threads); also when the parent process exits.
#include "dt.h"
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t got;

static void on_usr1(int sig)
{
	(void)sig;
	got = 1;
}

static void *forker(void *a)
{
	(void)a;
	int p[2];
	pipe(p);
	pid_t c = fork();
	if (c == 0) {
		prctl(PR_SET_PDEATHSIG, SIGUSR1);
		write(p[1], "r", 1); // armed: the creating thread may exit
		for (int i = 0; i < 500 && !got; i++)
			usleep(10000);
		_exit(got ? 0 : 1);
	}
	char b;
	read(p[0], &b, 1);
	close(p[0]);
	close(p[1]);
	return (void *)(long)c;
}

int main(void)
{
	dt_init();
	alarm(20);
	signal(SIGUSR1, on_usr1);
	pthread_t th;
	void *r;
	pthread_create(&th, NULL, forker, NULL);
	pthread_join(th, &r);
	int st;
	CHKOK("waitpid", waitpid((pid_t)(long)r, &st, 0));
	printf("child saw SIGUSR1 after its creating thread exited: %d\n",
	       WIFEXITED(st) && WEXITSTATUS(st) == 0);
	int sig = -1;
	CHK("PR_GET_PDEATHSIG", prctl(PR_GET_PDEATHSIG, &sig));
	printf("own pdeathsig=%d\n", sig);
	return 0;
}
