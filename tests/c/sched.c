// sched_yield, sched_getaffinity/sched_setaffinity (only "at least one CPU"),
// sched_getscheduler/param, priority ranges, getcpu, getpriority; errors
// EINVAL (bad size/policy), ESRCH (no such pid), EFAULT.
#define _GNU_SOURCE
#include "dt.h"
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	CHK("sched_yield", sched_yield());
	cpu_set_t set;
	CPU_ZERO(&set);
	CHK("sched_getaffinity", sched_getaffinity(0, sizeof(set), &set));
	FACT(CPU_COUNT(&set) >= 1);
	long raw = syscall(SYS_sched_getaffinity, 0, sizeof(set), &set);
	FACT(raw > 0 && raw % sizeof(long) == 0);
	CHK("sched_getaffinity size 3 (unaligned)", syscall(SYS_sched_getaffinity, 0, 3, &set));
	CHK("sched_getaffinity BADPTR", syscall(SYS_sched_getaffinity, 0, sizeof(set), BADPTR));
	CHK("sched_getaffinity ESRCH", sched_getaffinity(999999, sizeof(set), &set));
	CHK("sched_setaffinity same set", sched_setaffinity(0, sizeof(set), &set));
	cpu_set_t empty;
	CPU_ZERO(&empty);
	CHK("sched_setaffinity empty", sched_setaffinity(0, sizeof(empty), &empty));

	CHK("sched_getscheduler", sched_getscheduler(0));
	CHK("sched_getscheduler ESRCH", sched_getscheduler(999999));
	struct sched_param sp = { 5 };
	CHK("sched_getparam", sched_getparam(0, &sp));
	printf("priority=%d\n", sp.sched_priority);
	CHK("sched_get_priority_max FIFO", sched_get_priority_max(SCHED_FIFO));
	CHK("sched_get_priority_min FIFO", sched_get_priority_min(SCHED_FIFO));
	CHK("sched_get_priority_max OTHER", sched_get_priority_max(SCHED_OTHER));
	CHK("sched_get_priority_max bad", sched_get_priority_max(77));
	CHK("sched_setscheduler bad policy", sched_setscheduler(0, 77, &sp));
	struct timespec ts;
	CHK("sched_rr_get_interval", sched_rr_get_interval(0, &ts));

	unsigned cpu = 999999, node = 999999;
	CHK("getcpu", syscall(SYS_getcpu, &cpu, &node, NULL));
	FACT(cpu < 4096 && node < 4096);
	CHK("getcpu NULLs", syscall(SYS_getcpu, NULL, NULL, NULL));
	CHK("getcpu BADPTR", syscall(SYS_getcpu, BADPTR, NULL, NULL));

	errno = 0;
	int prio = getpriority(PRIO_PROCESS, 0);
	printf("getpriority: errno=%s\n", dt_errname(errno));
	FACT(prio >= -20 && prio <= 19);
	CHK("setpriority +1", setpriority(PRIO_PROCESS, 0, prio + 1 > 19 ? 19 : prio + 1));
	FACT(getpriority(PRIO_PROCESS, 0) == (prio + 1 > 19 ? 19 : prio + 1));
	CHK("getpriority bad which", getpriority(99, 0));
	CHK("getpriority ESRCH", getpriority(PRIO_PROCESS, 999999));
	return 0;
}
