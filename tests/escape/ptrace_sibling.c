// escape: native
// ptrace of another sandbox process: make it run openat of the marker's
// host path by rewriting its registers at a syscall stop, then read the
// result; its file is the sandbox's (nothing) where natively it opens.
#include "escape.h"
#include <sys/ptrace.h>
#include <sys/user.h>

int main(int argc, char **argv)
{
	esc_init(argc, argv);
	char path[4096];
	snprintf(path, sizeof(path), "%s", E.marker);
	pid_t c = fork();
	if (c == 0) {
		raise(SIGSTOP);
		for (;;)
			getppid();
	}
	int st;
	waitpid(c, &st, WUNTRACED);
	long r = ptrace(PTRACE_SEIZE, c, 0, 0);
	esc_control("attach to a sandbox process", r == 0);
	kill(c, SIGCONT);
	ptrace(PTRACE_INTERRUPT, c, 0, 0);
	waitpid(c, &st, 0);
	/* Step to a syscall entry (rax is -ENOSYS there). */
	struct user_regs_struct regs;
	for (int i = 0; i < 20; i++) {
		ptrace(PTRACE_SYSCALL, c, 0, 0);
		waitpid(c, &st, 0);
		ptrace(PTRACE_GETREGS, c, 0, &regs);
		if ((long)regs.rax == -ENOSYS)
			break;
	}
	/* Same address in the child (fork): openat(AT_FDCWD, path, O_RDONLY). */
	regs.orig_rax = SYS_openat;
	regs.rdi = (unsigned long)AT_FDCWD;
	regs.rsi = (unsigned long)path;
	regs.rdx = O_RDONLY;
	ptrace(PTRACE_SETREGS, c, 0, &regs);
	ptrace(PTRACE_SYSCALL, c, 0, 0);
	waitpid(c, &st, 0); /* exit stop */
	ptrace(PTRACE_GETREGS, c, 0, &regs);
	long fd = (long)regs.rax;
	if (fd >= 0) {
		char link[64], target[4096] = { 0 };
		snprintf(link, sizeof(link), "/proc/%d/fd/%ld", c, fd);
		if (readlink(link, target, sizeof(target) - 1) > 0 && !strcmp(target, E.marker))
			printf("ATTEMPT tracee's openat of the marker path: reached (it holds %s)\n", target);
		else
			printf("ATTEMPT tracee's openat of the marker path: blocked (got %s)\n", target);
	} else {
		errno = (int)-fd;
		esc_call("tracee's openat of the marker path", -1);
	}
	kill(c, SIGKILL);
	waitpid(c, &st, 0);
	return 0;
}
