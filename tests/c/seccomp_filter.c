// Seccomp filters inside the program: SECCOMP_RET_ERRNO, SECCOMP_RET_TRAP
// (SIGSYS with si_syscall/si_code), SECCOMP_RET_KILL_PROCESS in a child
// (killed by SIGSYS with a core), strict mode in a child, bad programs
// rejected with EINVAL, filters inherited across fork.
#include "dt.h"
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int trapped_nr = -1, trapped_code = -1;
static void on_sys(int s, siginfo_t *si, void *u)
{
	(void)s;
	(void)u;
	trapped_nr = si->si_syscall;
	trapped_code = si->si_code;
}

#define LD_NR BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
#define ON(nr, action) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1), BPF_STMT(BPF_RET | BPF_K, action)

int main(void)
{
	dt_init();
	struct sock_filter f[] = {
		LD_NR,
		ON(SYS_getppid, SECCOMP_RET_ERRNO | 99),
		ON(SYS_getpgrp, SECCOMP_RET_TRAP | 7),
		ON(SYS_setpgid, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {sizeof(f) / sizeof(f[0]), f};
	CHK("PR_GET_SECCOMP before", prctl(PR_GET_SECCOMP));
	dt_show_status("Seccomp:");
	CHK("no_new_privs", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
	struct sock_filter bad[] = {BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 3)};
	struct sock_fprog badp = {1, bad};
	CHK("bad program", syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &badp));
	CHK("bad flags", syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0x4000, &prog));
	CHK("install", syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog));
	CHK("PR_GET_SECCOMP after", prctl(PR_GET_SECCOMP));
	dt_show_status("Seccomp:");
	unsigned act = SECCOMP_RET_LOG;
	CHK("action avail LOG", syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &act));
	act = 0x12340000;
	CHK("action avail bogus", syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &act));

	CHK("getppid filtered", syscall(SYS_getppid));
	struct sigaction sa = {0};
	sa.sa_sigaction = on_sys;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSYS, &sa, 0);
	syscall(SYS_getpgrp);
	printf("trapped nr ok=%d code=%d\n", trapped_nr == SYS_getpgrp, trapped_code);
	FACT(getpid() > 0);

	pid_t c = fork();
	if (c == 0) {
		// Inherited: getppid still filtered in the child.
		if (syscall(SYS_getppid) != -1 || errno != 99)
			_exit(1);
		syscall(SYS_setpgid, 0, 0);
		_exit(2);
	}
	int st;
	waitpid(c, &st, 0);
	printf("child: signaled=%d sig=%d core=%d\n", WIFSIGNALED(st), WIFSIGNALED(st) ? WTERMSIG(st) : 0,
	       WIFSIGNALED(st) ? WCOREDUMP(st) != 0 : 0);

	c = fork();
	if (c == 0) {
		syscall(SYS_seccomp, SECCOMP_SET_MODE_STRICT, 0, 0);
		write(1, "strict: write ok\n", 17);
		syscall(SYS_getuid);
		_exit(3);
	}
	waitpid(c, &st, 0);
	printf("strict child: signaled=%d sig=%d\n", WIFSIGNALED(st), WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	return 0;
}
