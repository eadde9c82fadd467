// Signal permission: a process whose uids no longer match cannot signal
// (EPERM from kill, tkill, tgkill, rt_sigqueueinfo; SIGCONT within the
// session is allowed). kill() with a non-leader thread's id signals its
// process. setpgid() into a group that does not exist is EPERM.
// getpriority() and setpriority() find a zombie, by pid and by its user;
// setpriority checks permission on it and changes its nice value.
#include "dt.h"
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile pid_t thread_tid;
static volatile int stop_thread;

static void *spin(void *arg)
{
	(void)arg;
	thread_tid = gettid();
	while (!stop_thread)
		usleep(1000);
	return NULL;
}

int main(void)
{
	dt_init();
	pid_t parent = getpid();

	pthread_t th;
	pthread_create(&th, NULL, spin, NULL);
	while (!thread_tid)
		usleep(1000);
	CHK("kill(thread tid, 0)", kill(thread_tid, 0));
	CHK("kill(-thread tid, 0)", kill(-thread_tid, 0));
	stop_thread = 1;
	pthread_join(th, NULL);

	int ready[2];
	pipe(ready);
	pid_t c = fork();
	if (c == 0) {
		if (setresuid(12345, 12345, 12345) != 0)
			_exit(1);
		CHK("child kill parent", kill(parent, SIGKILL));
		CHK("child kill parent sig 0", kill(parent, 0));
		CHK("child tkill parent", syscall(SYS_tkill, parent, SIGKILL));
		CHK("child tgkill parent", syscall(SYS_tgkill, parent, parent, SIGKILL));
		siginfo_t si = { .si_code = -1 };
		CHK("child rt_sigqueueinfo parent", syscall(SYS_rt_sigqueueinfo, parent, SIGKILL, &si));
		CHK("child kill parent SIGCONT (same session)", kill(parent, SIGCONT));
		CHK("child kill own group", kill(0, 0));
		CHK("child kill self", kill(getpid(), 0));
		write(ready[1], "r", 1);
		_exit(0);
	}
	char r;
	read(ready[0], &r, 1);
	/* A zombie (waited for without reaping) keeps its nice value, which
	 * getpriority reads by pid and by its user; setpriority changes it. */
	siginfo_t zi;
	CHK("waitid WNOWAIT", waitid(P_PID, c, &zi, WEXITED | WNOWAIT));
	CHK("getpriority zombie", getpriority(PRIO_PROCESS, c));
	CHK("setpriority zombie as root", setpriority(PRIO_PROCESS, c, 7));
	CHK("getpriority zombie after", getpriority(PRIO_PROCESS, c));
	CHK("getpriority zombie's user", getpriority(PRIO_USER, 12345));
	CHK("setpriority zombie's user", setpriority(PRIO_USER, 12345, 9));
	CHK("getpriority zombie after PRIO_USER", getpriority(PRIO_PROCESS, c));
	int st;
	CHK("wait", waitpid(c, &st, 0) == c ? 0 : -1);
	FACT(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	pid_t a = fork();
	if (a == 0) {
		pause();
		_exit(0);
	}
	pid_t b = fork();
	if (b == 0) {
		pause();
		_exit(0);
	}
	CHK("kill(-a) before it leads a group", kill(-a, 0));
	CHK("setpgid(a, a)", setpgid(a, a));
	CHK("setpgid(a, b): no such group", setpgid(a, b));
	CHK("setpgid(b, a): join", setpgid(b, a));
	CHK("kill(-a, SIGKILL)", kill(-a, SIGKILL));
	waitpid(a, &st, 0);
	waitpid(b, &st, 0);
	close(ready[0]);
	close(ready[1]);
	return 0;
}
