// Sandbox-only probe, run with --root pointing at a small directory tree:
// tries to leave the sandbox through symlinks (absolute, relative,
// climbing with ".."), /proc/self/mem and ptrace, and prints what each
// attempt got. Output lines: "NAME: ok" or "NAME: errno=NAME". ptrace and
// /proc/self/mem work, but only on the sandbox's own processes: a child
// attaches to its parent (the sandbox's init) and changes a variable there.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
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

static volatile long marker = 0x5eed;

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	try_open("abs", "/abs");
	try_open("rel", "/rel");
	try_open("climb", "/up/secret");
	try_open("dotdot", "/../../../../secret");
	try_open("inner", "/inner/file");
	int fd = open("/proc/self/mem", O_RDWR);
	if (fd < 0) {
		printf("proc_self_mem: errno=%s\n", ename(errno));
	} else {
		long v = 0, nv = 0x600d;
		ssize_t r1 = pread(fd, &v, sizeof(v), (off_t)(unsigned long)&marker);
		ssize_t w = pwrite(fd, &nv, sizeof(nv), (off_t)(unsigned long)&marker);
		char b;
		ssize_t r2 = pread(fd, &b, 1, 0x7ffffffff000L);
		printf("proc_self_mem: read=%#lx(%zd) write=%zd now=%#lx unmapped=%s\n", v, r1, w,
		       marker, r2 < 0 ? ename(errno) : "readable");
		close(fd);
	}
	pid_t c = fork();
	if (c == 0) {
		pid_t parent = getppid();
		long r = syscall(SYS_ptrace, PTRACE_ATTACH, parent, 0, 0);
		if (r < 0) {
			printf("ptrace_parent: errno=%s\n", ename(errno));
			_exit(1);
		}
		int st;
		waitpid(parent, &st, __WALL);
		long word = 0;
		syscall(SYS_ptrace, PTRACE_PEEKDATA, parent, &marker, &word);
		syscall(SYS_ptrace, PTRACE_POKEDATA, parent, &marker, 0xbad);
		syscall(SYS_ptrace, PTRACE_DETACH, parent, 0, 0);
		printf("ptrace_parent: attached pid=%d marker=%#lx\n", parent, word);
		_exit(0);
	}
	int st;
	waitpid(c, &st, 0);
	printf("parent_marker_after: %#lx\n", marker);
	long r = syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0);
	printf("ptrace_traceme: %s\n", r < 0 ? ename(errno) : "traced");
	return 0;
}
