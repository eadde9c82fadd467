// clock_nanosleep on CPU-time clocks: the caller's own thread clock is
// EINVAL (by name or by id), a process clock (its own by name or id) and
// another thread's clock sleep until that much CPU time has been used, an
// absolute time already passed returns at once, a bad request is EINVAL,
// and a signal interrupts with the CPU time left written back.
#include "dt.h"
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/time.h>
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

static long long ns_of(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void on_alarm(int s)
{
	(void)s;
}

int main(void)
{
	dt_init();
	struct timespec d = { 0, 50 * 1000 * 1000 }, rem;
	CHKRC("thread clock", clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &d, NULL));
	clockid_t self;
	pthread_getcpuclockid(pthread_self(), &self);
	CHKRC("own thread clock by id", clock_nanosleep(self, 0, &d, NULL));
	CHKRC("bad clock kind", clock_nanosleep((~0 << 3) | 3, 0, &d, NULL));
	struct timespec bad = { 0, -1 };
	CHKRC("negative nsec", clock_nanosleep(CLOCK_PROCESS_CPUTIME_ID, 0, &bad, NULL));
	struct timespec past = { 0, 1 };
	CHKRC("absolute time passed", clock_nanosleep(CLOCK_PROCESS_CPUTIME_ID, TIMER_ABSTIME, &past, NULL));

	pthread_t th;
	pthread_create(&th, NULL, spin, NULL);
	long long before = ns_of(CLOCK_PROCESS_CPUTIME_ID);
	CHKRC("process clock 50ms", clock_nanosleep(CLOCK_PROCESS_CPUTIME_ID, 0, &d, &rem));
	FACT(ns_of(CLOCK_PROCESS_CPUTIME_ID) - before >= 50 * 1000 * 1000);

	clockid_t pc;
	clock_getcpuclockid(getpid(), &pc);
	before = ns_of(pc);
	CHKRC("own process clock by id", clock_nanosleep(pc, 0, &d, NULL));
	FACT(ns_of(pc) - before >= 50 * 1000 * 1000);

	clockid_t tc;
	pthread_getcpuclockid(th, &tc);
	before = ns_of(tc);
	CHKRC("other thread's clock", clock_nanosleep(tc, 0, &d, NULL));
	FACT(ns_of(tc) - before >= 50 * 1000 * 1000);

	struct timespec abs;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &abs);
	abs.tv_nsec += 50 * 1000 * 1000;
	if (abs.tv_nsec >= 1000000000) {
		abs.tv_sec++;
		abs.tv_nsec -= 1000000000;
	}
	CHKRC("absolute", clock_nanosleep(CLOCK_PROCESS_CPUTIME_ID, TIMER_ABSTIME, &abs, NULL));
	FACT(ns_of(CLOCK_PROCESS_CPUTIME_ID) >= abs.tv_sec * 1000000000LL + abs.tv_nsec);

	/* Interrupted by a handled signal after 50 ms of wall time. */
	struct sigaction sa = { .sa_handler = on_alarm };
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { { 0, 0 }, { 0, 50 * 1000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	struct timespec longer = { 30, 0 };
	CHKRC("interrupted", clock_nanosleep(CLOCK_PROCESS_CPUTIME_ID, 0, &longer, &rem));
	FACT(rem.tv_sec < 30 && (rem.tv_sec > 0 || rem.tv_nsec > 0));
	atomic_store(&stop, 1);
	pthread_join(th, NULL);
	return 0;
}
