// Nice values are kept per task: setpriority/getpriority on a thread, the
// process group and the user (getpriority returns the highest of the
// matches, as 20 - nice from the raw syscall), inheritance by fork and
// threads, nice(3), and the errors: EINVAL (which), ESRCH, EACCES (an
// unprivileged user lowering it beyond RLIMIT_NICE), EPERM (another user's
// process).
#include "dt.h"
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int raw_get(int which, int who)
{
	return syscall(SYS_getpriority, which, who);
}

static void *thread_fn(void *arg)
{
	(void)arg;
	printf("thread inherits: nice=%d\n", getpriority(PRIO_PROCESS, 0));
	CHK("thread setpriority 7", setpriority(PRIO_PROCESS, 0, 7));
	printf("thread: nice=%d\n", getpriority(PRIO_PROCESS, 0));
	return NULL;
}

int main(void)
{
	dt_init();
	/* Its own process group, so PRIO_PGRP sees only this test. */
	setpgid(0, 0);
	CHK("raw getpriority", raw_get(PRIO_PROCESS, 0));
	CHK("setpriority 2", setpriority(PRIO_PROCESS, 0, 2));
	CHK("raw getpriority", raw_get(PRIO_PROCESS, 0));
	pthread_t th;
	pthread_create(&th, NULL, thread_fn, NULL);
	pthread_join(th, NULL);
	printf("main after thread: nice=%d\n", getpriority(PRIO_PROCESS, 0));
	CHK("setpriority 40 (clamped)", setpriority(PRIO_PROCESS, 0, 40));
	printf("nice=%d\n", getpriority(PRIO_PROCESS, 0));
	CHK("setpriority -40 (clamped)", setpriority(PRIO_PROCESS, 0, -40));
	printf("nice=%d\n", getpriority(PRIO_PROCESS, 0));
	CHK("setpriority 0", setpriority(PRIO_PROCESS, 0, 0));
	errno = 0;
	int n = nice(3);
	printf("nice(3)=%d errno=%s\n", n, dt_errname(errno));

	int up[2], down[2];
	if (pipe(up) != 0 || pipe(down) != 0)
		return 1;
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		printf("child inherits: nice=%d\n", getpriority(PRIO_PROCESS, 0));
		setpriority(PRIO_PROCESS, 0, 10);
		write(up[1], "x", 1);
		read(down[0], &c, 1);
		_exit(0);
	}
	char c;
	read(up[0], &c, 1);
	printf("child's nice seen by parent=%d\n", getpriority(PRIO_PROCESS, pid));
	CHK("raw PRIO_PGRP (highest = lowest nice)", raw_get(PRIO_PGRP, 0));
	CHK("raw PRIO_PGRP by id", raw_get(PRIO_PGRP, getpgrp()));
	CHK("setpriority PRIO_PGRP 4", setpriority(PRIO_PGRP, 0, 4));
	printf("self=%d child=%d\n", getpriority(PRIO_PROCESS, 0), getpriority(PRIO_PROCESS, pid));
	CHK("setpriority child 6", setpriority(PRIO_PROCESS, pid, 6));
	printf("child=%d\n", getpriority(PRIO_PROCESS, pid));
	write(down[1], "x", 1);
	waitpid(pid, NULL, 0);

	CHK("getpriority bad which", getpriority(3, 0));
	CHK("setpriority bad which", setpriority(-1, 0, 0));
	CHK("getpriority ESRCH", getpriority(PRIO_PROCESS, 999999));
	CHK("setpriority ESRCH", setpriority(PRIO_PROCESS, 999999, 0));
	CHK("getpriority PGRP ESRCH", getpriority(PRIO_PGRP, 999999));
	CHK("getpriority USER ESRCH", getpriority(PRIO_USER, 54321));

	/* An unprivileged user. */
	setpriority(PRIO_PROCESS, 0, 5);
	pid = fork();
	if (pid == 0) {
		pid_t parent = getppid();
		setrlimit(RLIMIT_NICE, &(struct rlimit){ 0, 0 });
		if (setresuid(1000, 1000, 1000) != 0)
			_exit(1);
		CHK("unprivileged raise to 8", setpriority(PRIO_PROCESS, 0, 8));
		CHK("unprivileged lower to 6", setpriority(PRIO_PROCESS, 0, 6));
		CHK("unprivileged on root's", setpriority(PRIO_PROCESS, parent, 10));
		CHK("unprivileged read root's", raw_get(PRIO_PROCESS, parent));
		printf("nice=%d\n", getpriority(PRIO_PROCESS, 0));
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	printf("child status=%d\n", WEXITSTATUS(st));
	setpriority(PRIO_PROCESS, 0, 0);
	return 0;
}
