// CPU-time clocks named by id: clock_getcpuclockid (own process, another
// process, a missing one), pthread_getcpuclockid (own thread, another
// thread of the process: EINVAL in the sandbox before), hand-made ids of
// the PROF/VIRT/SCHED kinds and invalid ones, and their resolutions. A
// spinning thread's clock advances as the caller reads it from outside.
#include "dt.h"
#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static atomic_int stop;

static void *spin(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop))
		;
	return NULL;
}

static long ns_of(clockid_t c)
{
	struct timespec ts;
	if (clock_gettime(c, &ts))
		return -errno;
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

#define MAKE_PROCESS(pid, which) ((~(clockid_t)(pid) << 3) | (which))
#define MAKE_THREAD(tid, which) ((~(clockid_t)(tid) << 3) | 4 | (which))

static void show_res(const char *name, clockid_t c)
{
	struct timespec r;
	errno = 0;
	int rc = clock_getres(c, &r);
	if (rc)
		printf("getres %s: %s\n", name, dt_errname(errno));
	else
		printf("getres %s: %ld ns\n", name, r.tv_nsec);
}

int main(void)
{
	dt_init();
	clockid_t self;
	CHKRC("clock_getcpuclockid(0)", clock_getcpuclockid(0, &self));
	FACT(ns_of(self) > 0);
	clockid_t mine;
	CHKRC("clock_getcpuclockid(getpid())", clock_getcpuclockid(getpid(), &mine));
	FACT(ns_of(mine) > 0);

	pthread_t th;
	pthread_create(&th, NULL, spin, NULL);
	clockid_t tc;
	CHKRC("pthread_getcpuclockid(other)", pthread_getcpuclockid(th, &tc));
	long a = ns_of(tc);
	struct timespec d = { 0, 100 * 1000 * 1000 };
	nanosleep(&d, NULL);
	long b = ns_of(tc);
	FACT(a >= 0 && b > a);
	FACT(b - a >= 10 * 1000 * 1000);
	clockid_t me;
	CHKRC("pthread_getcpuclockid(self)", pthread_getcpuclockid(pthread_self(), &me));
	FACT(ns_of(me) > 0);
	/* The process clock counts both threads. */
	FACT(ns_of(CLOCK_PROCESS_CPUTIME_ID) >= b);
	atomic_store(&stop, 1);
	pthread_join(th, NULL);

	pid_t p = fork();
	if (p == 0) {
		long x = 0;
		for (long i = 0; i < 300000000L; i++)
			x += i;
		_exit(x == 1);
	}
	clockid_t pc;
	CHKRC("clock_getcpuclockid(child)", clock_getcpuclockid(p, &pc));
	nanosleep(&d, NULL);
	FACT(ns_of(pc) > 0);
	/* A thread clock must be of a thread of this process. */
	printf("thread clock of another process: %s\n",
	       ns_of(MAKE_THREAD(p, 2)) < 0 ? dt_errname(-(int)ns_of(MAKE_THREAD(p, 2))) : "ok");
	waitpid(p, NULL, 0);
	/* Reaped: no such process any more. */
	printf("reaped child's clock: %s\n", dt_errname(-(int)ns_of(pc)));

	printf("own process, PROF: %s\n", ns_of(MAKE_PROCESS(0, 0)) > 0 ? "ok" : "fail");
	printf("own process, VIRT: %s\n", ns_of(MAKE_PROCESS(0, 1)) > 0 ? "ok" : "fail");
	printf("own thread, SCHED: %s\n", ns_of(MAKE_THREAD(0, 2)) > 0 ? "ok" : "fail");
	printf("kind 3: %s\n", dt_errname(-(int)ns_of(MAKE_PROCESS(0, 3))));
	printf("missing pid: %s\n", dt_errname(-(int)ns_of(MAKE_PROCESS(4000000, 2))));
	show_res("process SCHED", MAKE_PROCESS(0, 2));
	show_res("process PROF", MAKE_PROCESS(0, 0));
	show_res("thread VIRT", MAKE_THREAD(0, 1));
	show_res("kind 3", MAKE_PROCESS(0, 3));
	show_res("CLOCK_PROCESS_CPUTIME_ID", CLOCK_PROCESS_CPUTIME_ID);
	return 0;
}
