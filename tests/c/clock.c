// clock_gettime/clock_getres/gettimeofday/time: monotonic clocks never go
// backwards, realtime is plausible and agrees with gettimeofday and time;
// EINVAL for bad clock ids, EFAULT for bad pointers (raw syscalls: the vDSO
// would just crash).
#include "dt.h"
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static long long ns(struct timespec t)
{
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(void)
{
	dt_init();
	struct timespec a, b, r;
	clockid_t ids[] = { CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME,
			    CLOCK_MONOTONIC_RAW, CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID };
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		printf("clock %d:\n", ids[i]);
		CHK("  clock_gettime", clock_gettime(ids[i], &a));
		CHK("  raw clock_gettime", syscall(SYS_clock_gettime, ids[i], &b));
		CHK("  clock_getres", clock_getres(ids[i], &r));
		FACT(ns(r) > 0 && ns(r) <= 10000000);
		FACT(a.tv_nsec >= 0 && a.tv_nsec < 1000000000);
	}
	long long prev = 0, backwards = 0;
	for (int i = 0; i < 10000; i++) {
		clock_gettime(CLOCK_MONOTONIC, &a);
		backwards += ns(a) < prev;
		prev = ns(a);
	}
	printf("monotonic went backwards %lld times\n", backwards);
	clock_gettime(CLOCK_REALTIME, &a);
	FACT(a.tv_sec > 1600000000);
	struct timeval tv;
	CHK("gettimeofday", gettimeofday(&tv, NULL));
	FACT(tv.tv_sec >= a.tv_sec && tv.tv_sec - a.tv_sec <= 2);
	FACT(tv.tv_usec >= 0 && tv.tv_usec < 1000000);
	/* time() reads the coarse clock, which may lag a fine reading taken
	 * just before it by up to a tick across a second boundary. */
	time_t t = time(NULL);
	FACT(t >= a.tv_sec - 1 && t - a.tv_sec <= 2);
	/* CPU time advances while spinning. */
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
	volatile unsigned long x = 0;
	for (unsigned long i = 0; i < 50000000UL; i++)
		x += i;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
	FACT(ns(b) > ns(a));
	CHK("clock_gettime bad id", clock_gettime(12345, &a));
	CHK("clock_getres bad id", clock_getres(12345, &r));
	CHK("raw clock_gettime BADPTR", syscall(SYS_clock_gettime, CLOCK_MONOTONIC, BADPTR));
	CHK("raw clock_getres BADPTR", syscall(SYS_clock_getres, CLOCK_MONOTONIC, BADPTR));
	CHK("clock_getres NULL", clock_getres(CLOCK_MONOTONIC, NULL));
	CHK("raw gettimeofday BADPTR", syscall(SYS_gettimeofday, BADPTR, NULL));
	CHK("raw time BADPTR", syscall(SYS_time, BADPTR));
	CHK("clock_settime as root, bad id", clock_settime(12345, &a));
	CHK("clock_settime MONOTONIC", clock_settime(CLOCK_MONOTONIC, &a));
	return 0;
}
