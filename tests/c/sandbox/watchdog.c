// The watchdog's subject: one getppid, which the test-only hook
// RVISOR_TEST_STUCK_SYSCALL=getppid:SECS keeps in the sentry.
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	printf("before\n");
	fflush(stdout);
	long r = syscall(SYS_getppid);
	printf("after: %d\n", r >= 0);
	return 0;
}
