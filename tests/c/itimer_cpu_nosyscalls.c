// ITIMER_VIRTUAL and ITIMER_PROF fire for a thread that spins without any
// syscall (the sandbox charged CPU time only when the task trapped, so the
// timer never fired and the spin never ended: alarm() bounds it), and
// only after the CPU time asked for (the spin counts CPU time itself).
#include "dt.h"
#include <signal.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t fired;

static void on_sig(int sig)
{
	fired = sig;
}

static void spin_until_timer(int which, int sig, const char *name)
{
	struct timespec a, b;
	fired = 0;
	signal(sig, on_sig);
	struct itimerval it = { { 0, 0 }, { 0, 50000 } };
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
	CHK(name, setitimer(which, &it, NULL));
	while (!fired)
		;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
	long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	printf("%s: fired=%d after >= 45ms of CPU: %d\n", name, fired == sig, ms >= 45);
}

int main(void)
{
	dt_init();
	alarm(10);
	spin_until_timer(ITIMER_VIRTUAL, SIGVTALRM, "ITIMER_VIRTUAL 50ms");
	spin_until_timer(ITIMER_PROF, SIGPROF, "ITIMER_PROF 50ms");
	return 0;
}
