// rt_sigtimedwait/sigwaitinfo take blocked signals with their info;
// real-time signals queue in order with their sigqueue payloads while
// standard signals coalesce; timeouts give EAGAIN; bad args EINVAL/EPERM.
#include "dt.h"
#include <signal.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGRTMIN);
	sigaddset(&set, SIGRTMIN + 1);
	CHKOK("block", sigprocmask(SIG_BLOCK, &set, 0));
	union sigval v;
	for (int i = 0; i < 3; i++) {
		v.sival_int = 100 + i;
		CHKOK("sigqueue RTMIN+1", sigqueue(getpid(), SIGRTMIN + 1, v));
		v.sival_int = 200 + i;
		CHKOK("sigqueue RTMIN", sigqueue(getpid(), SIGRTMIN, v));
	}
	CHKOK("kill USR1", kill(getpid(), SIGUSR1));
	CHKOK("kill USR1 again", kill(getpid(), SIGUSR1));
	siginfo_t si;
	struct timespec zero = {0, 0};
	for (int i = 0; i < 8; i++) {
		memset(&si, 0, sizeof(si));
		int s = sigtimedwait(&set, &si, &zero);
		if (s < 0) {
			printf("take %d: errno=%s\n", i, dt_errname(errno));
			continue;
		}
		printf("take %d: sig=%s code=%d value=%d\n", i,
		       s == SIGUSR1 ? "USR1" : s == SIGRTMIN ? "RTMIN" : "RTMIN+1", si.si_code,
		       s == SIGUSR1 ? 0 : si.si_value.sival_int);
	}
	struct timespec t10 = {0, 10000000};
	CHK("sigtimedwait timeout", sigtimedwait(&set, &si, &t10));
	struct timespec bad = {0, 2000000000};
	CHK("sigtimedwait bad timeout", sigtimedwait(&set, &si, &bad));
	CHK("sigqueue bad signal", sigqueue(getpid(), 99, v));
	CHK("sigqueue no such pid", sigqueue(999999, SIGUSR1, v));
	return 0;
}
