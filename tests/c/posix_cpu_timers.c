// POSIX timers on CPU-time clocks (the sandbox had only wall clocks):
// CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID and another thread's
// clock from pthread_getcpuclockid fire for threads that spin without
// system calls; a periodic one fires repeatedly; gettime counts CPU time
// down; TIMER_ABSTIME in the past fires at once; disarm and delete work;
// invalid clock ids fail as on Linux.
#include "dt.h"
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

static atomic_int fired, stop;

static void on_sig(int s) { (void)s; atomic_fetch_add(&fired, 1); }

static long now_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/* Spins (no system calls but the vDSO's clock) until `n` signals came or
 * 5 s of wall time passed. */
static int spin_until(int n)
{
	long end = now_ns(CLOCK_MONOTONIC) + 5000000000L;
	while (atomic_load(&fired) < n && now_ns(CLOCK_MONOTONIC) < end)
		;
	return atomic_load(&fired) >= n;
}

static void *spinner(void *a)
{
	(void)a;
	while (!atomic_load(&stop))
		;
	return NULL;
}

static timer_t make(clockid_t c, int notify)
{
	struct sigevent ev;
	memset(&ev, 0, sizeof ev);
	ev.sigev_notify = notify;
	ev.sigev_signo = SIGUSR1;
	if (notify == SIGEV_THREAD_ID)
		ev._sigev_un._tid = gettid();
	timer_t t = 0;
	CHK("timer_create", timer_create(c, &ev, &t));
	return t;
}

static void arm(timer_t t, long ns, long iv, int flags)
{
	struct itimerspec its = { { iv / 1000000000L, iv % 1000000000L },
				  { ns / 1000000000L, ns % 1000000000L } };
	CHK("timer_settime", timer_settime(t, flags, &its, NULL));
}

int main(void)
{
	dt_init();
	signal(SIGUSR1, on_sig);

	timer_t t = make(CLOCK_PROCESS_CPUTIME_ID, SIGEV_SIGNAL);
	arm(t, 50000000L, 0, 0);
	struct itimerspec cur;
	CHK("timer_gettime", timer_gettime(t, &cur));
	FACT(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 &&
	     cur.it_value.tv_nsec <= 50000000L);
	printf("process clock fired: %d\n", spin_until(1));
	CHK("timer_gettime after", timer_gettime(t, &cur));
	FACT(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0);
	CHK("timer_delete", timer_delete(t));

	atomic_store(&fired, 0);
	t = make(CLOCK_THREAD_CPUTIME_ID, SIGEV_THREAD_ID);
	arm(t, 30000000L, 0, 0);
	printf("thread clock fired: %d\n", spin_until(1));

	/* Periodic, 10 ms of CPU time: several expiries over 100 ms of it. */
	atomic_store(&fired, 0);
	arm(t, 10000000L, 10000000L, 0);
	long start = now_ns(CLOCK_THREAD_CPUTIME_ID);
	while (now_ns(CLOCK_THREAD_CPUTIME_ID) - start < 100000000L)
		;
	FACT(atomic_load(&fired) >= 3);
	arm(t, 0, 0, 0);
	CHK("timer_gettime disarmed", timer_gettime(t, &cur));
	FACT(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0 && cur.it_interval.tv_nsec == 0);

	/* Absolute, already passed: fires at once. */
	atomic_store(&fired, 0);
	arm(t, 1, 0, TIMER_ABSTIME);
	printf("absolute past fired: %d\n", spin_until(1));
	CHK("timer_delete", timer_delete(t));

	/* Another thread's clock, that thread spinning: the signal comes to
	 * the process. */
	atomic_store(&fired, 0);
	pthread_t th;
	pthread_create(&th, NULL, spinner, NULL);
	clockid_t tc;
	pthread_getcpuclockid(th, &tc);
	t = make(tc, SIGEV_SIGNAL);
	arm(t, 40000000L, 0, 0);
	long end = now_ns(CLOCK_MONOTONIC) + 5000000000L;
	while (atomic_load(&fired) < 1 && now_ns(CLOCK_MONOTONIC) < end)
		usleep(1000);
	printf("other thread's clock fired: %d\n", atomic_load(&fired) >= 1);
	atomic_store(&stop, 1);
	pthread_join(th, NULL);
	CHK("timer_delete", timer_delete(t));

	timer_t bad;
	clockid_t kind3 = (~(clockid_t)0 << 3) | 3;
	CHK("timer_create kind 3 (a clock fd's id)", timer_create(kind3, NULL, &bad));
	clockid_t kind3t = (~(clockid_t)0 << 3) | 4 | 3;
	CHK("timer_create thread kind 3", timer_create(kind3t, NULL, &bad));
	return 0;
}
