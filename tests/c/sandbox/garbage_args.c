// Sandbox-only: calls (almost) every syscall number with garbage arguments
// (bad pointers, huge lengths, bad descriptors and flags). The sentry must
// answer each with an error or a harmless result: no panic, no hang, no
// crash of the sandbox. Calls that would end or reshape this process
// (exit, execve, fork, signal return, TLS changes, closing stdout, killing
// itself, sleeping forever) are skipped. A call may block as Linux's would
// (msgrcv on a queue an earlier garbage msgget created waits for a message
// whatever its buffer pointer): each call runs under a 100 ms timer whose
// handler does not restart it, so such a wait must end in EINTR. Prints
// "survived N calls".
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/time.h>

static void on_alarm(int sig)
{
	(void)sig;
}

static void arm(long usec)
{
	struct itimerval it;
	memset(&it, 0, sizeof(it));
	it.it_value.tv_usec = usec;
	setitimer(ITIMER_REAL, &it, NULL);
}

static int skip(long nr)
{
	switch (nr) {
	case SYS_exit: case SYS_exit_group: case SYS_execve: case SYS_execveat:
	case SYS_fork: case SYS_vfork: case SYS_clone: case SYS_clone3:
	case SYS_rt_sigreturn: case SYS_arch_prctl: case SYS_pause:
	case SYS_rt_sigsuspend: case SYS_close: case SYS_close_range:
	case SYS_dup2: case SYS_dup3: case SYS_kill: case SYS_tkill:
	case SYS_tgkill: case SYS_rt_sigqueueinfo: case SYS_rt_tgsigqueueinfo:
	case SYS_munmap: case SYS_mremap: case SYS_mprotect: case SYS_madvise:
	case SYS_brk: case SYS_rt_sigprocmask: case SYS_rt_sigaction:
	case SYS_sigaltstack: case SYS_setitimer: case SYS_alarm:
	case SYS_timer_create: case SYS_prctl: case SYS_seccomp:
	case SYS_set_robust_list: case SYS_rseq: case SYS_wait4:
	case SYS_waitid: case SYS_futex: case SYS_read: case SYS_readv:
	case SYS_setrlimit: case SYS_prlimit64: case SYS_mmap:
		return 1;
	}
	return 0;
}

int main(void)
{
	static const long patterns[][6] = {
		{-1, -1, -1, -1, -1, -1},
		{1, 1, 1, 1, 1, 1},
		{0xdeadbeef000, 0x7fffffffffff, -4096, 0x10, 1 << 30, -2},
		{3, 0x1000, 0x7fffffff, 0xffffffff, 0x8000000000000000, 7},
	};
	long calls = 0;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	for (long nr = 0; nr < 463; nr++) {
		if (skip(nr))
			continue;
		for (unsigned p = 0; p < sizeof(patterns) / sizeof(patterns[0]); p++) {
			const long *a = patterns[p];
			arm(100000);
			syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
			arm(0);
			calls++;
		}
	}
	printf("survived %ld calls\n", calls);
	return 0;
}
