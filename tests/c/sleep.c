// nanosleep/clock_nanosleep: a 10ms sleep takes at least 10ms on the
// monotonic clock, TIMER_ABSTIME deadlines, and EINVAL (bad tv_nsec,
// negative time, bad clock), EFAULT. clock_nanosleep returns the error.
#include "dt.h"
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(void)
{
	dt_init();
	struct timespec req = { 0, 10 * 1000 * 1000 }, rem = { 99, 99 };
	long long t0 = now_ns();
	CHK("nanosleep 10ms", nanosleep(&req, &rem));
	long long el = now_ns() - t0;
	FACT(el >= 10000000LL);
	FACT(el < 5000000000LL);

	t0 = now_ns();
	CHKRC("clock_nanosleep MONOTONIC 20ms", clock_nanosleep(CLOCK_MONOTONIC, 0, &(struct timespec){ 0, 20000000 }, NULL));
	FACT(now_ns() - t0 >= 20000000LL);

	struct timespec abs;
	clock_gettime(CLOCK_MONOTONIC, &abs);
	long long deadline = abs.tv_sec * 1000000000LL + abs.tv_nsec + 15000000LL;
	abs.tv_sec = deadline / 1000000000LL;
	abs.tv_nsec = deadline % 1000000000LL;
	CHKRC("clock_nanosleep TIMER_ABSTIME +15ms", clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL));
	FACT(now_ns() >= deadline);
	abs.tv_sec = 1;
	abs.tv_nsec = 0;
	t0 = now_ns();
	CHKRC("clock_nanosleep ABSTIME in the past", clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL));
	FACT(now_ns() - t0 < 1000000000LL);
	CHKRC("clock_nanosleep REALTIME 1ms", clock_nanosleep(CLOCK_REALTIME, 0, &(struct timespec){ 0, 1000000 }, NULL));
	CHK("nanosleep zero", nanosleep(&(struct timespec){ 0, 0 }, NULL));

	CHK("nanosleep tv_nsec=1e9", nanosleep(&(struct timespec){ 0, 1000000000 }, NULL));
	CHK("nanosleep tv_nsec=-1", nanosleep(&(struct timespec){ 0, -1 }, NULL));
	CHK("nanosleep tv_sec=-1", nanosleep(&(struct timespec){ -1, 0 }, NULL));
	CHK("raw nanosleep BADPTR", syscall(SYS_nanosleep, BADPTR, NULL));
	CHKRC("clock_nanosleep bad clock", clock_nanosleep(12345, 0, &req, NULL));
	CHKRC("clock_nanosleep bad nsec", clock_nanosleep(CLOCK_MONOTONIC, 0, &(struct timespec){ 0, 1000000000 }, NULL));
	CHKRC("clock_nanosleep THREAD_CPUTIME", clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &req, NULL));
	CHK("raw clock_nanosleep BADPTR", syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, BADPTR, NULL));
	t0 = now_ns();
	CHK("usleep 5000", usleep(5000));
	FACT(now_ns() - t0 >= 5000000LL);
	return 0;
}
