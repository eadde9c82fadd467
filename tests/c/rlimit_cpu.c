// RLIMIT_CPU for a process spinning without syscalls: SIGXCPU at the soft
// limit (1 s), SIGKILL at the hard one (2 s). The sandbox never enforced
// it; alarm() bounds the child's spin there.
#include "dt.h"
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static int out;

static void on_xcpu(int sig)
{
	(void)sig;
	write(out, "x", 1);
}

int main(void)
{
	dt_init();
	int p[2];
	pipe(p);
	pid_t c = fork();
	if (c == 0) {
		close(p[0]);
		out = p[1];
		alarm(8);
		signal(SIGXCPU, on_xcpu);
		struct rlimit rl = { 1, 2 };
		setrlimit(RLIMIT_CPU, &rl);
		for (;;)
			;
	}
	close(p[1]);
	int st;
	CHKOK("waitpid", waitpid(c, &st, 0));
	char buf[16];
	long n = read(p[0], buf, sizeof buf);
	printf("killed by %d, SIGXCPU seen: %d\n", WIFSIGNALED(st) ? WTERMSIG(st) : -1, n >= 1);
	struct rlimit cur;
	CHK("getrlimit CPU", getrlimit(RLIMIT_CPU, &cur));
	printf("own limit infinite: %d\n", cur.rlim_cur == RLIM_INFINITY);
	return 0;
}
