// A process killed by a signal: raise(SIGABRT) must terminate the program
// with status 128+6 = 134 (reported by the harness/sandbox), after output
// written before the signal has been delivered.
#include "dt.h"
#include <signal.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	printf("about to abort\n");
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGABRT);
	/* abort() unblocks SIGABRT itself; a blocked raise would stay pending. */
	CHK("sigprocmask(SIG_UNBLOCK, SIGABRT)", sigprocmask(SIG_UNBLOCK, &set, NULL));
	raise(SIGABRT);
	printf("not reached\n");
	return 0;
}
