// Mount namespaces and mount(2)/umount2(2)/pivot_root(2): tmpfs, bind,
// remount read-only, propagation flags, noexec, busy and error paths;
// user namespaces with uid_map/gid_map/setgroups for an unprivileged
// process. Everything runs after unshare(CLONE_NEWNS) with / made
// private, so nothing reaches the outer namespace.
#include "dt.h"
#include <fcntl.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int pivot(const char *n, const char *o)
{
	return syscall(SYS_pivot_root, n, o);
}

/* The mountinfo line whose mount point is CWD/rel, or "" */
static void info_line(const char *rel, char *out, size_t n)
{
	char cwd[4096], want[4200], line[8192];
	out[0] = 0;
	if (!getcwd(cwd, sizeof cwd))
		return;
	snprintf(want, sizeof want, "%s/%s", cwd, rel);
	FILE *f = fopen("/proc/self/mountinfo", "r");
	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		char mp[4200];
		if (sscanf(line, "%*s %*s %*s %*s %4199s", mp) == 1 && !strcmp(mp, want))
			snprintf(out, n, "%s", line);
	}
	fclose(f);
}

static int writefile(const char *p, const char *s)
{
	int fd = open(p, O_WRONLY);
	if (fd < 0)
		return -1;
	int r = write(fd, s, strlen(s));
	int e = errno;
	close(fd);
	errno = e;
	return r;
}

static void readfile(const char *p, char *buf, size_t n)
{
	buf[0] = 0;
	int fd = open(p, O_RDONLY);
	if (fd < 0)
		return;
	int r = read(fd, buf, n - 1);
	buf[r > 0 ? r : 0] = 0;
	close(fd);
}

static void mounts(void)
{
	struct stat a, b;
	char line[8192];
	CHK("mkdir m", mkdir("m", 0755));
	CHK("mount tmpfs", mount("x", "m", "tmpfs", 0, "mode=700"));
	CHK("stat m", stat("m", &a));
	CHK("stat .", stat(".", &b));
	FACT(a.st_dev != b.st_dev);
	FACT((a.st_mode & 07777) == 0700);
	CHK("mount nosuchfs", mount("x", "m", "nosuchfs", 0, NULL));
	CHK("mount no type", mount("x", "m", NULL, 0, NULL));
	CHK("mount no target", mount("x", "nothere", "tmpfs", 0, NULL));
	CHK("umount non-mount", umount2(".", 0));
	CHK("umount bad flags", umount2("m", 0x100));
	CHK("umount expire+detach", umount2("m", MNT_EXPIRE | MNT_DETACH));
	CHK("umount missing", umount2("nothere", 0));
	int fd = open("m/a", O_CREAT | O_RDWR, 0644);
	/* Hard links stay within one mount. */
	CHK("link out of mount", link("m/a", "la"));
	close(open("lsrc", O_CREAT | O_WRONLY, 0644));
	CHK("link into mount", link("lsrc", "m/b"));
	unlink("lsrc");
	CHK("link within mount", link("m/a", "m/b"));
	CHK("unlink m/b", unlink("m/b"));
	CHK("umount busy", umount2("m", 0));
	close(fd);
	CHK("rmdir mountpoint", rmdir("m"));
	info_line("m", line, sizeof line);
	FACT(strstr(line, " - tmpfs x rw") != NULL);
	CHK("umount", umount2("m", 0));
	CHK("gone", access("m/a", F_OK));

	/* Bind mounts and a read-only remount of one. */
	CHK("mkdir src", mkdir("src", 0755));
	CHK("mkdir dst", mkdir("dst", 0755));
	close(open("src/f", O_CREAT | O_WRONLY, 0644));
	CHK("bind", mount("src", "dst", NULL, MS_BIND, NULL));
	CHK("seen", access("dst/f", F_OK));
	close(open("dst/g", O_CREAT | O_WRONLY, 0644));
	CHK("both", access("src/g", F_OK));
	CHK("link across binds", link("src/f", "dst/l"));
	CHK("link within bind", link("dst/f", "dst/l"));
	CHK("unlink l", unlink("src/l"));
	CHK("remount src", mount(NULL, "src", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL));
	CHK("remount ro", mount(NULL, "dst", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL));
	CHK("create ro", open("dst/h", O_CREAT | O_WRONLY, 0644));
	CHK("write ro", open("dst/f", O_WRONLY));
	CHK("read ro", close(open("dst/f", O_RDONLY)));
	CHK("mkdir ro", mkdir("dst/x", 0755));
	CHK("unlink ro", unlink("dst/g"));
	CHK("create rw side", close(open("src/h", O_CREAT | O_WRONLY, 0644)));
	CHK("rename across", rename("src/h", "dst/h2"));
	CHK("rename in ro", rename("dst/h", "dst/h2"));
	info_line("dst", line, sizeof line);
	FACT(strncmp(strchr(strchr(strchr(strchr(strchr(line, ' ') + 1, ' ') + 1, ' ') + 1, ' ') + 1, ' ') + 1, "ro,", 3) == 0);
	FACT(strstr(line, "/src ") != NULL);
	CHK("remount rw", mount(NULL, "dst", NULL, MS_REMOUNT | MS_BIND, NULL));
	CHK("create rw", close(open("dst/h", O_CREAT | O_WRONLY, 0644)));

	/* Propagation types. */
	CHK("shared", mount(NULL, "dst", NULL, MS_SHARED, NULL));
	info_line("dst", line, sizeof line);
	FACT(strstr(line, " shared:") != NULL);
	CHK("two types", mount(NULL, "dst", NULL, MS_SHARED | MS_PRIVATE, NULL));
	CHK("private", mount(NULL, "dst", NULL, MS_PRIVATE, NULL));
	info_line("dst", line, sizeof line);
	FACT(strstr(line, " shared:") == NULL);
	CHK("unbindable", mount(NULL, "dst", NULL, MS_UNBINDABLE, NULL));
	CHK("bind unbindable", mount("dst", "src", NULL, MS_BIND, NULL));
	CHK("umount dst", umount2("dst", 0));
	unlink("src/f");
	unlink("src/g");
	unlink("src/h");
	CHK("rmdir dst", rmdir("dst"));

	/* noexec */
	CHK("mount noexec", mount("x", "src", "tmpfs", MS_NOEXEC, NULL));
	int s = open("src/run", O_CREAT | O_WRONLY, 0755);
	write(s, "#!/bin/sh\nexit 0\n", 17);
	close(s);
	char *argv[] = {"run", NULL};
	CHK("exec noexec", execve("src/run", argv, argv + 1));
	CHK("detach", umount2("src", MNT_DETACH));
	CHK("rmdir src", rmdir("src"));
	CHK("rmdir m", rmdir("m"));
}

static void pivots(void)
{
	pid_t p = fork();
	if (p == 0) {
		char buf[256];
		CHK("child unshare", unshare(CLONE_NEWNS));
		CHK("child private", mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL));
		CHK("pivot non-mount", pivot(".", "."));
		CHK("pivot root busy", pivot("/", "/"));
		mkdir("p", 0755);
		CHK("mount p", mount("x", "p", "tmpfs", 0, NULL));
		CHK("mkdir old", mkdir("p/old", 0755));
		CHK("pivot old outside", pivot("p", "."));
		CHK("chdir p", chdir("p"));
		CHK("pivot", pivot(".", "old"));
		CHK("old root seen", access("/old/proc", F_OK));
		CHK("detach old", umount2("/old", MNT_DETACH));
		CHK("old gone", access("/old/proc", F_OK));
		FACT(getcwd(buf, sizeof buf) && !strcmp(buf, "/"));
		_exit(0);
	}
	waitpid(p, NULL, 0);
	p = fork();
	if (p == 0) {
		char buf[256];
		unshare(CLONE_NEWNS);
		mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL);
		mkdir("q", 0755);
		mount("x", "q", "tmpfs", 0, NULL);
		close(open("q/mark", O_CREAT | O_WRONLY, 0644));
		chdir("q");
		CHK("pivot dot dot", pivot(".", "."));
		CHK("detach dot", umount2(".", MNT_DETACH));
		CHK("mark at root", access("/mark", F_OK));
		FACT(getcwd(buf, sizeof buf) && !strcmp(buf, "/"));
		_exit(0);
	}
	waitpid(p, NULL, 0);
	rmdir("p");
	rmdir("q");
}

static void userns(void)
{
	pid_t p = fork();
	if (p == 0) {
		char buf[256];
		CHK("setresgid", setresgid(1000, 1000, 1000));
		CHK("setresuid", setresuid(1000, 1000, 1000));
		/* Changing ids made it undumpable: its /proc files are root's. */
		prctl(PR_SET_DUMPABLE, 1);
		CHK("unpriv mount", mount("x", "/tmp", "tmpfs", 0, NULL));
		CHK("unpriv umount", umount2("/proc", MNT_DETACH));
		CHK("unpriv pivot", pivot("/tmp", "/tmp"));
		CHK("unpriv newns", unshare(CLONE_NEWNS));
		CHK("newuser", unshare(CLONE_NEWUSER));
		FACT(getuid() == 65534);
		readfile("/proc/self/uid_map", buf, sizeof buf);
		FACT(buf[0] == 0);
		CHK("gid_map before deny", writefile("/proc/self/gid_map", "0 1000 1"));
		CHK("uid_map other id", writefile("/proc/self/uid_map", "0 0 1"));
		CHK("uid_map bad", writefile("/proc/self/uid_map", "0 1000"));
		CHK("uid_map", writefile("/proc/self/uid_map", "0 1000 1"));
		CHK("uid_map again", writefile("/proc/self/uid_map", "0 1000 1"));
		readfile("/proc/self/uid_map", buf, sizeof buf);
		printf("uid_map: %s", buf);
		CHK("setgroups bad", writefile("/proc/self/setgroups", "maybe"));
		CHK("setgroups deny", writefile("/proc/self/setgroups", "deny"));
		CHK("gid_map", writefile("/proc/self/gid_map", "0 1000 1"));
		CHK("setgroups after", writefile("/proc/self/setgroups", "allow"));
		readfile("/proc/self/setgroups", buf, sizeof buf);
		printf("setgroups: %s", buf);
		FACT(getuid() == 0 && geteuid() == 0 && getgid() == 0);
		gid_t g = 0;
		CHK("setgroups call", setgroups(1, &g));
		CHK("newns in userns", unshare(CLONE_NEWNS));
		CHK("mount in userns", mount("x", "/tmp", "tmpfs", 0, NULL));
		CHK("create in userns", close(open("/tmp/a", O_CREAT | O_WRONLY, 0644)));
		CHK("umount in userns", umount2("/tmp", MNT_DETACH));
		_exit(0);
	}
	waitpid(p, NULL, 0);
}

int main(void)
{
	dt_init();
	CHK("unshare bad", unshare(0x1));
	CHK("unshare", unshare(CLONE_NEWNS));
	CHK("private", mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL));
	mounts();
	pivots();
	userns();
	CHK("unshare fs files sysvsem", unshare(CLONE_FS | CLONE_FILES | CLONE_SYSVSEM));
	return 0;
}
