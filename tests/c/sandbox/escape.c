// Sandbox-only probe, run with --root pointing at a small directory tree:
// tries to leave the sandbox through symlinks (absolute, relative,
// climbing with ".."), /proc/self/mem and ptrace, and prints what each
// attempt got. Output lines: "NAME: ok" or "NAME: errno=NAME".
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *ename(int e)
{
	switch (e) {
	case ENOENT: return "ENOENT";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case ENOSYS: return "ENOSYS";
	case ESRCH: return "ESRCH";
	case EIO: return "EIO";
	case EINVAL: return "EINVAL";
	default: return "other";
	}
}

static void try_open(const char *name, const char *path)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		printf("%s: errno=%s\n", name, ename(errno));
		return;
	}
	char buf[64] = {0};
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	printf("%s: ok %s\n", name, n > 0 && strstr(buf, "HOST-SECRET") ? "LEAKED" : "clean");
	close(fd);
}

int main(void)
{
	try_open("abs", "/abs");
	try_open("rel", "/rel");
	try_open("climb", "/up/secret");
	try_open("dotdot", "/../../../../secret");
	try_open("inner", "/inner/file");
	int fd = open("/proc/self/mem", O_RDONLY);
	printf("proc_self_mem: %s\n", fd < 0 ? ename(errno) : "opened");
	long r = syscall(SYS_ptrace, PTRACE_ATTACH, getppid(), 0, 0);
	printf("ptrace_parent: %s\n", r < 0 ? ename(errno) : "attached");
	r = syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0);
	printf("ptrace_traceme: %s\n", r < 0 ? ename(errno) : "traced");
	return 0;
}
