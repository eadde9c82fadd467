// Scheduling policies and parameters are kept per task: sched_setscheduler
// / sched_setparam / sched_setattr round trips through sched_getscheduler /
// sched_getparam / sched_getattr, SCHED_RESET_ON_FORK, inheritance by
// fork, posix_spawn with POSIX_SPAWN_SETSCHEDULER and SETSCHEDPARAM,
// sched_rr_get_interval of SCHED_FIFO/RR, the priority ranges, and the
// errors: EINVAL (bad policy, priority, pid, size, flags), E2BIG (sched_attr
// size), ESRCH, EFAULT, EPERM for an unprivileged user.
#include "dt.h"
#include <sched.h>
#include <spawn.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

struct attr {
	uint32_t size, policy;
	uint64_t flags;
	int32_t nice;
	uint32_t priority;
	uint64_t runtime, deadline, period;
	uint32_t util_min, util_max;
};

static void show(const char *what)
{
	struct sched_param sp = { -1 };
	int pol = sched_getscheduler(0);
	sched_getparam(0, &sp);
	struct attr a;
	memset(&a, 0xff, sizeof(a));
	long r = syscall(SYS_sched_getattr, 0, &a, sizeof(a), 0);
	printf("%s: policy=%#x priority=%d getattr=%ld size=%u policy=%u flags=%lu nice=%d prio=%u\n",
	       what, pol, sp.sched_priority, r, a.size, a.policy, (unsigned long)a.flags, a.nice,
	       a.priority);
}

int main(void)
{
	dt_init();
	struct sched_param sp = { 10 };
	show("start");
	CHK("setscheduler FIFO 10", sched_setscheduler(0, SCHED_FIFO, &sp));
	show("fifo");
	struct timespec ts = { 5, 5 };
	CHK("rr_get_interval FIFO", sched_rr_get_interval(0, &ts));
	printf("interval=%ld.%09ld\n", (long)ts.tv_sec, ts.tv_nsec);
	sp.sched_priority = 20;
	CHK("setparam 20", sched_setparam(0, &sp));
	show("fifo 20");
	CHK("setscheduler RR 5", sched_setscheduler(0, SCHED_RR, &(struct sched_param){ 5 }));
	CHK("rr_get_interval RR", sched_rr_get_interval(0, &ts));
	printf("interval=%ld.%09ld\n", (long)ts.tv_sec, ts.tv_nsec);
	show("rr");
	pid_t pid = fork();
	if (pid == 0) {
		show("rr child");
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	CHK("setscheduler RR|RESET_ON_FORK",
	    sched_setscheduler(0, SCHED_RR | SCHED_RESET_ON_FORK, &(struct sched_param){ 7 }));
	show("rr reset");
	pid = fork();
	if (pid == 0) {
		show("reset child");
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	CHK("setparam keeps RESET_ON_FORK", sched_setparam(0, &(struct sched_param){ 8 }));
	show("rr reset 8");
	CHK("setscheduler OTHER", sched_setscheduler(0, SCHED_OTHER, &(struct sched_param){ 0 }));
	show("other");

	/* Errors. */
	CHK("FIFO priority 0", sched_setscheduler(0, SCHED_FIFO, &(struct sched_param){ 0 }));
	CHK("FIFO priority 100", sched_setscheduler(0, SCHED_FIFO, &(struct sched_param){ 100 }));
	CHK("OTHER priority 1", sched_setscheduler(0, SCHED_OTHER, &(struct sched_param){ 1 }));
	CHK("policy 4", sched_setscheduler(0, 4, &(struct sched_param){ 0 }));
	CHK("policy -1", syscall(SYS_sched_setscheduler, 0, -1, &(struct sched_param){ 0 }));
	CHK("pid -1", sched_setscheduler(-1, SCHED_OTHER, &(struct sched_param){ 0 }));
	CHK("NULL param", syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, NULL));
	CHK("EFAULT param", syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, BADPTR));
	CHK("ESRCH", sched_setscheduler(999999, SCHED_OTHER, &(struct sched_param){ 0 }));
	CHK("getscheduler pid -1", sched_getscheduler(-1));
	CHK("getparam NULL", syscall(SYS_sched_getparam, 0, NULL));
	CHK("getparam ESRCH", sched_getparam(999999, &sp));
	CHK("rr_get_interval pid -1", sched_rr_get_interval(-1, &ts));
	CHK("rr_get_interval ESRCH", sched_rr_get_interval(999999, &ts));
	CHK("rr_get_interval EFAULT", syscall(SYS_sched_rr_get_interval, 0, BADPTR));
	for (int p = 0; p <= 6; p++)
		printf("policy %d: max=%d min=%d\n", p, sched_get_priority_max(p), sched_get_priority_min(p));

	/* sched_setattr / sched_getattr. */
	struct attr a = { .size = sizeof(a), .policy = SCHED_BATCH, .nice = 3 };
	CHK("setattr BATCH nice 3", syscall(SYS_sched_setattr, 0, &a, 0));
	show("batch");
	CHK("getpriority after setattr", getpriority(PRIO_PROCESS, 0));
	a = (struct attr){ .size = 0, .policy = SCHED_IDLE, .nice = 5 };
	CHK("setattr size 0 (VER0)", syscall(SYS_sched_setattr, 0, &a, 0));
	show("idle");
	a = (struct attr){ .size = sizeof(a), .policy = SCHED_OTHER, .nice = 1,
			   .flags = 0x8 /* KEEP_POLICY */ };
	CHK("setattr KEEP_POLICY", syscall(SYS_sched_setattr, 0, &a, 0));
	show("keep policy");
	a = (struct attr){ .size = 20 };
	CHK("setattr size 20", syscall(SYS_sched_setattr, 0, &a, 0));
	printf("size written back=%u\n", a.size);
	unsigned char bigattr[128] = { 0 };
	*(uint32_t *)bigattr = sizeof(bigattr);
	CHK("setattr size 128 zero tail", syscall(SYS_sched_setattr, 0, bigattr, 0));
	bigattr[100] = 1;
	CHK("setattr size 128 nonzero tail", syscall(SYS_sched_setattr, 0, bigattr, 0));
	printf("size written back=%u\n", *(uint32_t *)bigattr);
	a = (struct attr){ .size = sizeof(a), .policy = SCHED_OTHER };
	CHK("setattr flags arg", syscall(SYS_sched_setattr, 0, &a, 1));
	CHK("setattr unknown sched_flags", syscall(SYS_sched_setattr, 0,
		&(struct attr){ .size = sizeof(a), .flags = 0x100 }, 0));
	CHK("setattr bad policy", syscall(SYS_sched_setattr, 0,
		&(struct attr){ .size = sizeof(a), .policy = 9 }, 0));
	CHK("setattr DEADLINE runtime > deadline", syscall(SYS_sched_setattr, 0,
		&(struct attr){ .size = sizeof(a), .policy = 6, .runtime = 2000000,
				.deadline = 1000000, .period = 1000000 }, 0));
	CHK("setattr DEADLINE zero deadline", syscall(SYS_sched_setattr, 0,
		&(struct attr){ .size = sizeof(a), .policy = 6, .runtime = 2000000 }, 0));
	CHK("setattr NULL", syscall(SYS_sched_setattr, 0, NULL, 0));
	CHK("setattr ESRCH", syscall(SYS_sched_setattr, 999999, &a, 0));
	CHK("getattr size 40", syscall(SYS_sched_getattr, 0, &a, 40, 0));
	CHK("getattr size 8192", syscall(SYS_sched_getattr, 0, &a, 8192, 0));
	CHK("getattr flags", syscall(SYS_sched_getattr, 0, &a, sizeof(a), 1));
	CHK("getattr ESRCH", syscall(SYS_sched_getattr, 999999, &a, sizeof(a), 0));
	CHK("getattr EFAULT", syscall(SYS_sched_getattr, 0, BADPTR, sizeof(a), 0));
	memset(&a, 0xee, sizeof(a));
	CHK("getattr size 48", syscall(SYS_sched_getattr, 0, &a, 48, 0));
	printf("size=%u util_min untouched=%d\n", a.size, a.util_min == 0xeeeeeeee);
	CHK("setscheduler OTHER", sched_setscheduler(0, SCHED_OTHER, &(struct sched_param){ 0 }));

	/* posix_spawn with a policy and a parameter. */
	posix_spawnattr_t sa;
	posix_spawnattr_init(&sa);
	posix_spawnattr_setflags(&sa, POSIX_SPAWN_SETSCHEDULER | POSIX_SPAWN_SETSCHEDPARAM);
	posix_spawnattr_setschedpolicy(&sa, SCHED_RR);
	posix_spawnattr_setschedparam(&sa, &(struct sched_param){ 12 });
	char *argv[] = { "/bin/sh", "-c", "exit 0", NULL };
	pid_t child;
	CHKRC("posix_spawn SETSCHEDULER", posix_spawn(&child, "/bin/sh", NULL, &sa, argv, NULL));
	int st;
	waitpid(child, &st, 0);
	printf("spawned status=%d\n", WEXITSTATUS(st));
	posix_spawnattr_setflags(&sa, POSIX_SPAWN_SETSCHEDPARAM);
	posix_spawnattr_setschedparam(&sa, &(struct sched_param){ 0 });
	CHKRC("posix_spawn SETSCHEDPARAM", posix_spawn(&child, "/bin/sh", NULL, &sa, argv, NULL));
	waitpid(child, &st, 0);
	printf("spawned status=%d\n", WEXITSTATUS(st));
	posix_spawnattr_setschedparam(&sa, &(struct sched_param){ 50 });
	CHKRC("posix_spawn SETSCHEDPARAM invalid", posix_spawn(&child, "/bin/sh", NULL, &sa, argv, NULL));
	posix_spawnattr_destroy(&sa);

	/* An unprivileged user: no real-time policy without RLIMIT_RTPRIO,
	 * nothing on another user's task. */
	pid = fork();
	if (pid == 0) {
		pid_t parent = getppid();
		setrlimit(RLIMIT_RTPRIO, &(struct rlimit){ 0, 0 });
		if (setresuid(1000, 1000, 1000) != 0)
			_exit(1);
		CHK("unprivileged FIFO", sched_setscheduler(0, SCHED_FIFO, &(struct sched_param){ 1 }));
		CHK("unprivileged BATCH", sched_setscheduler(0, SCHED_BATCH, &(struct sched_param){ 0 }));
		CHK("unprivileged on root's", sched_setscheduler(parent, SCHED_OTHER, &(struct sched_param){ 0 }));
		CHK("unprivileged getscheduler root's", sched_getscheduler(parent));
		_exit(0);
	}
	waitpid(pid, &st, 0);
	printf("child status=%d\n", WEXITSTATUS(st));
	return 0;
}
