// A POSIX timer has one signal in flight: while it is pending (blocked),
// later expiries are counted in si_overrun instead of queued again, for a
// real-time signal as for a standard one, per-thread (SIGEV_THREAD_ID) or
// per-process.
#include "dt.h"
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

static void run(const char *what, int sig, int notify)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_BLOCK, &set, NULL);
	struct sigevent sev = {0};
	sev.sigev_notify = notify;
	sev.sigev_signo = sig;
	sev.sigev_value.sival_int = 42;
	sev.sigev_notify_thread_id = syscall(SYS_gettid);
	timer_t tm;
	CHK("timer_create", timer_create(CLOCK_MONOTONIC, &sev, &tm));
	struct itimerspec its = {{0, 20000000}, {0, 20000000}};
	CHK("timer_settime", timer_settime(tm, 0, &its, NULL));
	usleep(200000);
	/* Taken while the timer still runs: on Linux, disarming drops a
	 * pending timer signal. */
	struct timespec zero = {0, 0};
	siginfo_t si;
	int r = sigtimedwait(&set, &si, &zero);
	printf("%s: got=%d code_is_timer=%d value=%d overruns>=5: %d\n", what, r == sig,
	       si.si_code == SI_TIMER, si.si_value.sival_int, si.si_overrun >= 5);
	CHK("timer_delete", timer_delete(tm));
	while (sigtimedwait(&set, &si, &zero) == sig)
		;
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

int main(void)
{
	dt_init();
	run("rt thread", SIGRTMIN + 1, SIGEV_THREAD_ID);
	run("rt process", SIGRTMIN + 2, SIGEV_SIGNAL);
	run("usr1 thread", SIGUSR1, SIGEV_THREAD_ID);
	return 0;
}
