// sched_setaffinity is kept: sched_getaffinity returns the new mask, which
// fork children and threads inherit and /proc/self/status shows; a mask
// without an online CPU is EINVAL; a short mask is zero-extended; the size
// rules of sched_getaffinity (EINVAL below the kernel's mask or unaligned,
// returns the bytes copied); ESRCH for pid -1 and a missing pid; EFAULT
// before ESRCH in sched_setaffinity.
#include "dt.h"
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static unsigned first_byte(void)
{
	unsigned char m[1024] = { 0 };
	long r = syscall(SYS_sched_getaffinity, 0, sizeof(m), m);
	return r > 0 ? m[0] : 0xfff;
}

static void *thread_fn(void *arg)
{
	(void)arg;
	printf("thread mask=%x\n", first_byte());
	return NULL;
}

static void show_allowed_list(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[512];
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "Cpus_allowed_list:", 18))
			printf("status %s", line);
	if (f)
		fclose(f);
}

int main(void)
{
	dt_init();
	unsigned char m[1024] = { 0 };
	long size = syscall(SYS_sched_getaffinity, 0, sizeof(m), m);
	FACT(size >= 8 && size % 8 == 0 && size <= 1024);
	CHK("getaffinity size 8 copies 8", syscall(SYS_sched_getaffinity, 0, 8, m));
	CHK("getaffinity size 4", syscall(SYS_sched_getaffinity, 0, 4, m));
	CHK("getaffinity size 0", syscall(SYS_sched_getaffinity, 0, 0, m));
	CHK("getaffinity size 12", syscall(SYS_sched_getaffinity, 0, 12, m));
	CHK("getaffinity pid -1", syscall(SYS_sched_getaffinity, -1, 8, m));
	CHK("getaffinity missing pid", syscall(SYS_sched_getaffinity, 999999, 8, m));
	CHK("getaffinity EFAULT", syscall(SYS_sched_getaffinity, 0, 8, BADPTR));
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		printf("fewer than 2 CPUs: skipped\n");
		return 0;
	}

	unsigned char cpu1[8] = { 2 };
	CHK("setaffinity {1}", syscall(SYS_sched_setaffinity, 0, 8, cpu1));
	printf("mask=%x\n", first_byte());
	printf("sched_getcpu=%d\n", sched_getcpu());
	unsigned cpu = 99, node = 99;
	CHK("getcpu", syscall(SYS_getcpu, &cpu, &node, NULL));
	printf("cpu=%u node=%u\n", cpu, node);
	show_allowed_list();
	pid_t pid = fork();
	if (pid == 0) {
		printf("child mask=%x\n", first_byte());
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	pthread_t th;
	pthread_create(&th, NULL, thread_fn, NULL);
	pthread_join(th, NULL);

	unsigned char short4[4] = { 1 };
	CHK("setaffinity short mask {0}", syscall(SYS_sched_setaffinity, 0, 4, short4));
	printf("mask=%x\n", first_byte());
	unsigned char one[1] = { 3 };
	CHK("setaffinity 1-byte mask {0,1}", syscall(SYS_sched_setaffinity, 0, 1, one));
	printf("mask=%x\n", first_byte());

	/* CPU 63 is not online here (fewer than 64 CPUs): nothing usable. */
	if (sysconf(_SC_NPROCESSORS_ONLN) < 64) {
		unsigned char off[8] = { 0, 0, 0, 0, 0, 0, 0, 0x80 };
		CHK("setaffinity offline-only", syscall(SYS_sched_setaffinity, 0, 8, off));
		/* Offline CPUs next to an online one are dropped. */
		unsigned char mixed[8] = { 1, 0, 0, 0, 0, 0, 0, 0x80 };
		CHK("setaffinity {0,63}", syscall(SYS_sched_setaffinity, 0, 8, mixed));
		printf("mask=%x\n", first_byte());
	}
	unsigned char big[1024] = { 2 };
	big[1023] = 0x80;
	CHK("setaffinity 1024-byte mask", syscall(SYS_sched_setaffinity, 0, sizeof(big), big));
	printf("mask=%x\n", first_byte());
	unsigned char none[8] = { 0 };
	CHK("setaffinity empty", syscall(SYS_sched_setaffinity, 0, 8, none));
	CHK("setaffinity size 0", syscall(SYS_sched_setaffinity, 0, 0, none));
	CHK("setaffinity pid -1", syscall(SYS_sched_setaffinity, -1, 8, cpu1));
	CHK("setaffinity missing pid", syscall(SYS_sched_setaffinity, 999999, 8, cpu1));
	CHK("setaffinity EFAULT before ESRCH", syscall(SYS_sched_setaffinity, 999999, 8, BADPTR));
	printf("mask=%x\n", first_byte());

	/* Another user's process: EPERM without CAP_SYS_NICE. */
	pid = fork();
	if (pid == 0) {
		pid_t parent = getppid();
		if (setresuid(1000, 1000, 1000) != 0)
			_exit(1);
		CHK("unprivileged setaffinity of root's", syscall(SYS_sched_setaffinity, parent, 8, cpu1));
		CHK("unprivileged getaffinity of root's", syscall(SYS_sched_getaffinity, parent, 8, m));
		CHK("unprivileged setaffinity own", syscall(SYS_sched_setaffinity, 0, 8, cpu1));
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	printf("child status=%d\n", WEXITSTATUS(st));
	return 0;
}
