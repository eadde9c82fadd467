// setns(2) on /proc/PID/ns/* descriptors and on pidfds: joining a child's
// UTS, mount and user namespaces, nstype checks, EBADF/EINVAL/EPERM.
#include "dt.h"
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* A child that makes new namespaces (CLONE_NEW* in `what`), tells the
 * parent through a pipe and waits to be killed. */
static pid_t holder(int what, const char *dir)
{
	int p[2];
	char c;
	if (pipe(p) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		if (unshare(what) < 0)
			_exit(1);
		if (what & CLONE_NEWUTS)
			sethostname("inner-ns", 8);
		if (what & CLONE_NEWNS) {
			mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL);
			mount("x", dir, "tmpfs", 0, NULL);
			char path[4200];
			snprintf(path, sizeof path, "%s/mark", dir);
			close(open(path, O_CREAT | O_WRONLY, 0644));
		}
		write(p[1], "x", 1);
		pause();
		_exit(0);
	}
	close(p[1]);
	read(p[0], &c, 1);
	close(p[0]);
	return pid;
}

static int nsfd(pid_t pid, const char *kind)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/ns/%s", pid, kind);
	return open(path, O_RDONLY);
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

int main(void)
{
	char host[64], cwd[4096], mark[4200];
	dt_init();
	int self_uts = open("/proc/self/ns/uts", O_RDONLY);
	CHK("open ns file", self_uts >= 0 ? 0 : -1);
	CHK("bad fd", setns(-1, 0));
	int dirfd = open("/", O_RDONLY);
	CHK("not a ns file", setns(dirfd, 0));
	close(dirfd);
	CHK("wrong type", setns(self_uts, CLONE_NEWIPC));
	CHK("own uts", setns(self_uts, CLONE_NEWUTS));
	CHK("read ns file", read(self_uts, host, 1));

	pid_t u = holder(CLONE_NEWUTS, NULL);
	int fd = nsfd(u, "uts");
	CHK("join uts", setns(fd, 0));
	gethostname(host, sizeof host);
	FACT(strcmp(host, "inner-ns") == 0);
	CHK("back", setns(self_uts, 0));
	gethostname(host, sizeof host);
	FACT(strcmp(host, "inner-ns") != 0);
	int pfd = syscall(SYS_pidfd_open, u, 0);
	CHK("pidfd no flags", setns(pfd, 0));
	CHK("pidfd bad flags", setns(pfd, 0x1));
	CHK("pidfd uts", setns(pfd, CLONE_NEWUTS));
	gethostname(host, sizeof host);
	FACT(strcmp(host, "inner-ns") == 0);
	setns(self_uts, 0);
	close(pfd);

	pid_t c = fork();
	if (c == 0) {
		setresuid(1000, 1000, 1000);
		CHK("unprivileged", setns(fd, 0));
		_exit(0);
	}
	waitpid(c, NULL, 0);
	close(fd);
	reap(u);

	/* A mount namespace: its root becomes ours, its mounts visible. */
	getcwd(cwd, sizeof cwd);
	mkdir("m", 0755);
	snprintf(mark, sizeof mark, "%s/m/mark", cwd);
	pid_t m = holder(CLONE_NEWNS, "m");
	CHK("mark not here", access(mark, F_OK));
	c = fork();
	if (c == 0) {
		int f = nsfd(m, "mnt");
		CHK("join mnt", setns(f, CLONE_NEWNS));
		CHK("mark there", access(mark, F_OK));
		FACT(getcwd(cwd, sizeof cwd) && strcmp(cwd, "/") == 0);
		_exit(0);
	}
	waitpid(c, NULL, 0);
	reap(m);
	rmdir("m");

	/* A user namespace: no maps yet, so ids show as the overflow id. */
	pid_t un = holder(CLONE_NEWUSER, NULL);
	c = fork();
	if (c == 0) {
		int f = nsfd(un, "user");
		CHK("join user", setns(f, CLONE_NEWUSER));
		FACT(getuid() == 65534);
		int own = open("/proc/self/ns/user", O_RDONLY);
		CHK("own user ns", setns(own, CLONE_NEWUSER));
		_exit(0);
	}
	waitpid(c, NULL, 0);
	reap(un);
	return 0;
}
