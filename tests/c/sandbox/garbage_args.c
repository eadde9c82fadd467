// Sandbox-only: calls (almost) every syscall number with garbage arguments
// (bad pointers, huge lengths, bad descriptors and flags). The sentry must
// answer each with an error or a harmless result: no panic, no hang, no
// crash of the sandbox. Calls that would end or reshape this process
// (exit, execve, fork, signal return, TLS changes, closing stdout, killing
// itself, sleeping forever: msgrcv waits on a queue msgget made from
// garbage flags, as it would on Linux) are skipped. Prints "survived N calls".
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>

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
	case SYS_msgrcv:
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
	for (long nr = 0; nr < 463; nr++) {
		if (skip(nr))
			continue;
		for (unsigned p = 0; p < sizeof(patterns) / sizeof(patterns[0]); p++) {
			const long *a = patterns[p];
			syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
			calls++;
		}
	}
	printf("survived %ld calls\n", calls);
	return 0;
}
