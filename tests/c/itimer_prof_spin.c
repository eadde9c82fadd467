// ITIMER_PROF with an interval far below a scheduler tick while the
// program spins without syscalls: the timer must not stop it running
// (a sandbox that interrupted the task for each expiry livelocked here,
// with the signal handled or blocked), and a blocked SIGPROF stays pending
// once. alarm() bounds the test if the spin never ends.
#include "dt.h"
#include <signal.h>
#include <sys/time.h>
#include <unistd.h>

static volatile long handled;
static volatile unsigned long sink;

static void on_prof(int sig)
{
	(void)sig;
	handled++;
}

static void spin(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		sink += i;
}

int main(void)
{
	dt_init();
	alarm(20);
	signal(SIGPROF, on_prof);
	struct itimerval fast = { { 0, 1 }, { 0, 1 } }, zero = { { 0, 0 }, { 0, 0 } };

	// Handled: the spin completes and at least one SIGPROF arrives.
	CHK("setitimer PROF 1us", setitimer(ITIMER_PROF, &fast, NULL));
	spin(150000000UL);
	CHK("disarm", setitimer(ITIMER_PROF, &zero, NULL));
	printf("spin done, handled>0: %d\n", handled > 0);

	// Blocked: one SIGPROF pending, delivered once when unblocked.
	sigset_t set, pend;
	sigemptyset(&set);
	sigaddset(&set, SIGPROF);
	CHK("block SIGPROF", sigprocmask(SIG_BLOCK, &set, NULL));
	handled = 0;
	CHK("setitimer PROF 1us", setitimer(ITIMER_PROF, &fast, NULL));
	spin(150000000UL);
	CHK("disarm", setitimer(ITIMER_PROF, &zero, NULL));
	sigpending(&pend);
	printf("blocked spin done, pending=%d\n", sigismember(&pend, SIGPROF));
	CHK("unblock", sigprocmask(SIG_UNBLOCK, &set, NULL));
	printf("handled after unblock=%ld\n", handled);
	return 0;
}
