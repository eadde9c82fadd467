// A bad pointer handed to the vDSO's clock functions faults in user space
// (SIGSEGV, SEGV_MAPERR) at the address of the structure's first field,
// as Linux's vDSO stores seconds first: stress-ng's sigsegv stressor
// checks si_addr against the pointer it passed (the sandbox's vDSO stored
// tv_nsec first and reported pointer+8). Clocks the vDSO does not serve
// fail with EFAULT from the system call instead.
#include "dt.h"
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/time.h>
#include <time.h>

static sigjmp_buf env;
static siginfo_t got;

static void handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	got = *si;
	siglongjmp(env, 1);
}

#define BAD ((void *)0x10)

static void run(const char *name, int which)
{
	memset(&got, 0, sizeof got);
	if (sigsetjmp(env, 1) == 0) {
		errno = 0;
		long r = -1;
		switch (which) {
		case 0: r = clock_gettime(CLOCK_REALTIME, BAD); break;
		case 1: r = clock_gettime(CLOCK_MONOTONIC, BAD); break;
		case 2: r = gettimeofday(BAD, NULL); break;
		case 3: r = clock_gettime(CLOCK_MONOTONIC_RAW, BAD); break;
		case 4: r = clock_gettime(CLOCK_BOOTTIME, BAD); break;
		case 5: r = clock_gettime(CLOCK_PROCESS_CPUTIME_ID, BAD); break;
		case 6: r = clock_gettime(CLOCK_THREAD_CPUTIME_ID, BAD); break;
		}
		printf("%s: ret=%ld errno=%s\n", name, r,
		       r < 0 ? dt_errname(errno) : "0");
		return;
	}
	printf("%s: signo=%d code=%d addr=%#lx\n", name, got.si_signo,
	       got.si_code, (unsigned long)(uintptr_t)got.si_addr);
}

int main(void)
{
	dt_init();
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = handler;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	const char *names[] = { "realtime", "monotonic", "gettimeofday",
				"monotonic_raw", "boottime", "process_cputime",
				"thread_cputime" };
	for (int i = 0; i < 7; i++)
		for (int rep = 0; rep < 2; rep++)
			run(names[i], i);
	struct timespec ts;
	CHK("good pointer", clock_gettime(CLOCK_MONOTONIC, &ts));
	return 0;
}
