// setitimer/getitimer/alarm: ITIMER_REAL delivers SIGALRM after at least
// the requested time, periodic timers fire repeatedly, pause() returns
// EINTR, alarm() returns the remaining seconds; EINVAL/EFAULT errors.
#include "dt.h"
#include <signal.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile int alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static long long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

int main(void)
{
	dt_init();
	signal(SIGALRM, on_alarm);
	struct itimerval it = { { 0, 0 }, { 0, 30000 } }, cur;
	long long t0 = now_ms();
	CHK("setitimer 30ms one-shot", setitimer(ITIMER_REAL, &it, NULL));
	CHK("getitimer", getitimer(ITIMER_REAL, &cur));
	FACT(cur.it_value.tv_sec == 0 && cur.it_value.tv_usec > 0 && cur.it_value.tv_usec <= 30000);
	CHK("pause", pause());
	long long el = now_ms() - t0;
	printf("alarms=%d\n", alarms);
	FACT(el >= 29);
	CHK("getitimer after expiry", getitimer(ITIMER_REAL, &cur));
	printf("disarmed=%d\n", cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0);

	struct itimerval per = { { 0, 10000 }, { 0, 10000 } };
	alarms = 0;
	CHK("setitimer 10ms periodic", setitimer(ITIMER_REAL, &per, NULL));
	while (alarms < 3)
		pause();
	struct itimerval zero = { { 0, 0 }, { 0, 0 } }, old;
	CHK("disarm", setitimer(ITIMER_REAL, &zero, &old));
	printf("alarms>=3: %d, old interval=%ld us\n", alarms >= 3, (long)old.it_interval.tv_usec);

	CHK("alarm(100)", alarm(100));
	unsigned left = alarm(0);
	printf("alarm(0) returned remaining in [99,100]: %d\n", left >= 99 && left <= 100);
	CHK("alarm(0) when disarmed", alarm(0));

	struct itimerval bad = { { 0, 0 }, { 0, 1000000 } };
	CHK("setitimer bad usec", setitimer(ITIMER_REAL, &bad, NULL));
	CHK("setitimer bad which", setitimer(99, &it, NULL));
	CHK("getitimer bad which", getitimer(99, &cur));
	CHK("getitimer BADPTR", syscall(SYS_getitimer, ITIMER_REAL, BADPTR));
	CHK("getitimer ITIMER_VIRTUAL", getitimer(ITIMER_VIRTUAL, &cur));
	printf("virtual disarmed=%d\n", cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0);
	return 0;
}
