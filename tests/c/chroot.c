// chroot: the new root bounds absolute paths, `..` and absolute symlinks;
// the working directory stays outside until a chdir (getcwd reports it
// "(unreachable)", and `..` from there climbs freely: the classic escape
// through fchdir); forks inherit the root; /proc/PID/root and cwd read as
// paths from the reader's root. Errors: ENOENT, ENOTDIR, EFAULT, EACCES
// without search permission, EPERM without CAP_SYS_CHROOT.
// chroot only changes the calling process, so all of it runs in a child.
#include "dt.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static char top[4096];

static void show_link(int dirfd, const char *name)
{
	char buf[4096];
	ssize_t n = readlinkat(dirfd, name, buf, sizeof(buf) - 1);
	if (n < 0) {
		printf("readlink %s: errno=%s\n", name, dt_errname(errno));
		return;
	}
	buf[n] = 0;
	printf("readlink %s: %s\n", name, buf);
}

static void show_cwd(const char *what)
{
	char buf[4096];
	long n = syscall(SYS_getcwd, buf, sizeof(buf));
	if (n < 0) {
		printf("getcwd %s: errno=%s\n", what, dt_errname(errno));
		return;
	}
	if (!strncmp(buf, "(unreachable)", 13))
		printf("getcwd %s: unreachable, is top: %d\n", what, !strcmp(buf + 13, top));
	else
		printf("getcwd %s: %s\n", what, buf);
}

static void read_marker(const char *path)
{
	char buf[64] = {0};
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		printf("open %s: errno=%s\n", path, dt_errname(errno));
		return;
	}
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	printf("open %s: %.*s\n", path, (int)(n > 0 ? n : 0), buf);
	close(fd);
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (fd >= 0) {
		if (write(fd, text, strlen(text)) < 0)
			perror("write");
		close(fd);
	}
}

static int child(int ready, int go)
{
	int self = open("/proc/self", O_RDONLY | O_DIRECTORY);
	CHK("chroot file", chroot("jail/marker"));
	CHK("chroot missing", chroot("jail/missing"));
	CHK("chroot empty", chroot(""));
	CHK("chroot BADPTR", chroot(BADPTR));
	int outside = open(".", O_RDONLY | O_DIRECTORY);
	CHK("chroot jail", chroot("jail"));
	show_cwd("after chroot");
	show_link(self, "root");
	char buf[4096];
	ssize_t n = readlinkat(self, "cwd", buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	FACT(!strcmp(buf, top));
	read_marker("/marker");
	read_marker("/../../marker");
	CHK("access /outside", access("/outside", F_OK));
	CHK("access /abs/deep (absolute symlink)", access("/abs/deep", F_OK));
	CHK("access /sub/up/marker (symlink ../../..)", access("/sub/up/marker", F_OK));
	CHK("chdir /sub/deep", chdir("/sub/deep"));
	show_cwd("in jail");
	show_link(self, "cwd");
	read_marker("../../../../marker");
	/* The parent looks at our root from outside. */
	if (write(ready, "x", 1) != 1 || read(go, buf, 1) != 1)
		return 1;
	pid_t g = fork();
	if (g == 0) {
		/* Inherited by fork. */
		read_marker("/marker");
		CHK("child access /outside", access("/outside", F_OK));
		_exit(0);
	}
	int st;
	waitpid(g, &st, 0);
	/* Without the capability: EPERM; without search permission: EACCES. */
	g = fork();
	if (g == 0) {
		CHK("drop caps", dt_drop_effective_caps());
		CHK("chroot without CAP_SYS_CHROOT", chroot("/sub"));
		CHK("chroot unsearchable", chroot("/locked"));
		_exit(0);
	}
	waitpid(g, &st, 0);
	/* A directory opened before the chroot leads out of it. */
	CHK("fchdir outside", fchdir(outside));
	show_cwd("after fchdir");
	CHK("access jail/marker", access("jail/marker", F_OK));
	char up[4200];
	snprintf(up, sizeof(up), "..%s/outside", strrchr(top, '/'));
	CHK("access ../TOP/outside (.. from outside the root)", access(up, F_OK));
	CHK("chroot .", chroot("."));
	show_link(self, "root");
	read_marker("/jail/marker");
	read_marker("/outside");
	CHK("chdir /jail/sub", chdir("/jail/sub"));
	show_cwd("new root");
	return 0;
}

int main(void)
{
	dt_init();
	if (!getcwd(top, sizeof(top)))
		return 1;
	mkdir("jail", 0755);
	mkdir("jail/sub", 0755);
	mkdir("jail/sub/deep", 0755);
	mkdir("jail/locked", 0);
	write_file("jail/marker", "inside");
	write_file("outside", "outside");
	CHK("symlink abs", symlink("/sub", "jail/abs"));
	CHK("symlink up", symlink("../../..", "jail/sub/up"));
	int ready[2], go[2];
	if (pipe(ready) || pipe(go))
		return 1;
	pid_t pid = fork();
	if (pid == 0)
		_exit(child(ready[1], go[0]));
	char c, path[64], buf[4096];
	if (read(ready[0], &c, 1) == 1) {
		snprintf(path, sizeof(path), "/proc/%d/root", pid);
		ssize_t n = readlink(path, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = 0;
		char want[4200];
		snprintf(want, sizeof(want), "%s/jail", top);
		FACT(!strcmp(buf, want));
		snprintf(path, sizeof(path), "/proc/%d/cwd", pid);
		n = readlink(path, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = 0;
		snprintf(want, sizeof(want), "%s/jail/sub/deep", top);
		FACT(!strcmp(buf, want));
	}
	if (write(go[1], "x", 1) != 1)
		return 1;
	int st;
	waitpid(pid, &st, 0);
	printf("child exited=%d status=%d\n", WIFEXITED(st), WEXITSTATUS(st));
	/* Our own root is untouched. */
	show_link(AT_FDCWD, "/proc/self/root");
	read_marker("outside");
	unlink("jail/sub/up");
	unlink("jail/abs");
	unlink("jail/marker");
	unlink("outside");
	rmdir("jail/locked");
	rmdir("jail/sub/deep");
	rmdir("jail/sub");
	rmdir("jail");
	return 0;
}
