// fork + wait4/waitpid: exit statuses, a child killed by SIGKILL
// (WIFSIGNALED/WTERMSIG), WNOHANG returning 0 while the child runs, ECHILD,
// copy-on-write memory, getppid in the child, and the child's CPU time in
// wait4's and waitid's rusage and in getrusage(RUSAGE_CHILDREN).
#include "dt.h"
#include <signal.h>
#include <sys/resource.h>
#include <time.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Uses 60 ms of CPU time, then exits. */
static void burn_cpu_and_exit(void)
{
	struct timespec a, b;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
	do {
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
	} while ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) < 60000000L);
	_exit(0);
}

int main(void)
{
	dt_init();
	pid_t parent = getpid();
	int value = 1;
	pid_t c = fork();
	if (c == 0) {
		value = 2;
		printf("child: ppid==parent %d, pid!=parent %d, value=%d\n", getppid() == parent, getpid() != parent, value);
		_exit(7);
	}
	int st = -1;
	struct rusage ru;
	pid_t w = wait4(c, &st, 0, &ru);
	FACT(c > 0 && c != parent);
	FACT(w == c);
	printf("WIFEXITED=%d WEXITSTATUS=%d value in parent=%d\n", WIFEXITED(st), WEXITSTATUS(st), value);

	/* A child that burns CPU: its parent's rusage shows it. */
	c = fork();
	if (c == 0)
		burn_cpu_and_exit();
	wait4(c, &st, 0, &ru);
	long used_us = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000L + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
	FACT(used_us >= 50000 && used_us < 2000000);
	struct rusage all;
	CHK("getrusage children", getrusage(RUSAGE_CHILDREN, &all));
	long all_us = (all.ru_utime.tv_sec + all.ru_stime.tv_sec) * 1000000L + all.ru_utime.tv_usec + all.ru_stime.tv_usec;
	FACT(all_us >= used_us);
	c = fork();
	if (c == 0)
		burn_cpu_and_exit();
	siginfo_t si;
	memset(&ru, 0, sizeof(ru));
	CHK("waitid with rusage", syscall(SYS_waitid, P_PID, c, &si, WEXITED, &ru));
	used_us = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000L + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
	FACT(used_us >= 50000 && used_us < 2000000);

	/* A child blocked in read(): WNOHANG sees nothing, then SIGKILL. */
	int p[2];
	CHK("pipe", pipe(p));
	c = fork();
	if (c == 0) {
		char b;
		close(p[1]);
		ssize_t n = read(p[0], &b, 1);
		_exit(n == 1 ? 3 : 4);
	}
	close(p[0]);
	CHK("wait4 WNOHANG while running", wait4(c, &st, WNOHANG, NULL));
	CHK("kill SIGKILL", kill(c, SIGKILL));
	w = waitpid(c, &st, 0);
	FACT(w == c);
	printf("WIFSIGNALED=%d WTERMSIG=%d WIFEXITED=%d\n", WIFSIGNALED(st), WTERMSIG(st), WIFEXITED(st));

	/* A child released via the pipe exits normally. */
	int q[2];
	CHK("pipe", pipe(q));
	c = fork();
	if (c == 0) {
		char b;
		close(q[1]);
		_exit(read(q[0], &b, 1) == 1 ? 3 : 4);
	}
	close(q[0]);
	CHK("write to release child", write(q[1], "x", 1));
	w = waitpid(-1, &st, 0);
	FACT(w == c);
	printf("WEXITSTATUS=%d\n", WEXITSTATUS(st));

	/* Several children, reaped in any order. */
	int sum = 0;
	for (int i = 1; i <= 5; i++)
		if (fork() == 0)
			_exit(i * 10);
	for (int i = 0; i < 5; i++) {
		if (wait(&st) > 0)
			sum += WEXITSTATUS(st);
	}
	printf("sum of statuses=%d\n", sum);
	CHK("wait with no children", wait(&st));
	CHK("waitpid(999999)", waitpid(999999, &st, 0));
	CHK("wait4 bad options", wait4(-1, &st, 0x1000, NULL));
	CHK("waitid no children", waitid(P_ALL, 0, NULL, WEXITED));
	return 0;
}
