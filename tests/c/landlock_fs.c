// Landlock enforcement on file operations: open modes, directory reads,
// each make/remove right, truncation (path, O_TRUNC, ftruncate with the
// right fixed at open), link/rename with and without REFER, rights
// inherited beneath a directory and across a mount point, file rules.
#define _GNU_SOURCE
#include "dt.h"
#include "ll.h"
#include <dirent.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>

static void mk(const char *p, const char *data)
{
	int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (fd < 0 || write(fd, data, strlen(data)) < 0) {
		perror(p);
		exit(2);
	}
	close(fd);
}

static void setup(void)
{
	const char *dirs[] = { "r", "r/d", "w", "w/d", "w/rmme", "x", "t", "m1", "m1/dd", "m2", "m3" };
	for (unsigned i = 0; i < sizeof(dirs) / sizeof(*dirs); i++)
		mkdir(dirs[i], 0755);
	const char *files[] = { "r/f", "r/f2", "r/d/g", "w/f", "w/g", "w/h", "w/f3", "w/x", "x/f", "t/f",
				"m1/a", "m1/c", "m1/e", "m2/b", "m2/d", "m2/e", "m3/old" };
	for (unsigned i = 0; i < sizeof(files) / sizeof(*files); i++)
		mk(files[i], "hello");
}

static long opendir_fd(const char *p)
{
	return open(p, O_RDONLY | O_DIRECTORY);
}

static long bind_at(const char *p)
{
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	strcpy(a.sun_path, p);
	long r = bind(s, (struct sockaddr *)&a, sizeof(a));
	int e = errno;
	close(s);
	errno = e;
	return r;
}

static void restricted(void)
{
	int before = open("t/f", O_WRONLY);
	int rs = ll_ruleset(LL_ALL_V3);
	CHK("rule r", ll_allow(rs, "r", LL_READ_FILE | LL_READ_DIR));
	CHK("rule r/f2 (file)", ll_allow(rs, "r/f2", LL_WRITE_FILE));
	CHK("rule w", ll_allow(rs, "w", LL_ALL_V3 & ~LL_REFER));
	CHK("rule t", ll_allow(rs, "t", LL_READ_FILE | LL_WRITE_FILE));
	CHK("rule m1", ll_allow(rs, "m1", LL_MAKE_REG | LL_REMOVE_FILE | LL_REFER | LL_READ_FILE |
						  LL_WRITE_FILE | LL_TRUNCATE | LL_MAKE_DIR | LL_REMOVE_DIR));
	CHK("rule m2", ll_allow(rs, "m2", LL_MAKE_REG | LL_REMOVE_FILE | LL_REFER | LL_READ_FILE));
	CHK("rule m3", ll_allow(rs, "m3", LL_MAKE_REG | LL_WRITE_FILE));
	CHK("rule /proc", ll_allow(rs, "/proc", LL_READ_FILE | LL_READ_DIR));
	CHK("no_new_privs", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
	CHK("restrict", ll_restrict(rs, 0));

	/* Opening. */
	CHKOK("open r/f read", open("r/f", O_RDONLY));
	CHK("open r/f write", open("r/f", O_WRONLY));
	CHK("open r/f rdwr", open("r/f", O_RDWR));
	CHKOK("open r/f2 write (file rule)", open("r/f2", O_WRONLY));
	CHKOK("open r/d/g read (beneath)", open("r/d/g", O_RDONLY));
	CHKOK("opendir r", opendir_fd("r"));
	CHKOK("opendir r/d", opendir_fd("r/d"));
	CHK("opendir x", opendir_fd("x"));
	CHK("opendir .", opendir_fd("."));
	CHK("open x/f read", open("x/f", O_RDONLY));
	CHKOK("open x/f O_PATH", open("x/f", O_PATH));
	struct stat st;
	CHK("stat x/f", stat("x/f", &st));
	CHK("access x/f", access("x/f", R_OK));
	CHKOK("open /proc/self/status (mount root rule)", open("/proc/self/status", O_RDONLY));
	CHK("open /etc/hostname", open("/etc/hostname", O_RDONLY));
	CHK("opendir /", opendir_fd("/"));

	/* Making. */
	CHKOK("create w/new", open("w/new", O_CREAT | O_WRONLY, 0644));
	CHK("create r/new", open("r/new", O_CREAT | O_WRONLY, 0644));
	CHKOK("O_CREAT of existing r/f", open("r/f", O_CREAT | O_RDONLY, 0644));
	CHK("mkdir w/nd", mkdir("w/nd", 0755));
	CHK("mkdir r/nd", mkdir("r/nd", 0755));
	CHK("mkdir r/d (exists)", mkdir("r/d", 0755));
	CHK("mkfifo w/fifo", mknod("w/fifo", S_IFIFO | 0644, 0));
	CHK("mkfifo r/fifo", mknod("r/fifo", S_IFIFO | 0644, 0));
	CHK("mknod w/reg", mknod("w/reg", S_IFREG | 0644, 0));
	CHK("mknod r/reg", mknod("r/reg", 0644, 0));
	CHK("mknod w/sock", mknod("w/sock", S_IFSOCK | 0644, 0));
	CHK("mknod r/sock", mknod("r/sock", S_IFSOCK | 0644, 0));
	CHK("mknod r/blk", mknod("r/blk", S_IFBLK | 0600, makedev(7, 0)));
	CHK("mknod r/chr", mknod("r/chr", S_IFCHR | 0600, makedev(1, 3)));
	CHK("symlink w/sl", symlink("f", "w/sl"));
	CHK("symlink r/sl", symlink("f", "r/sl"));
	CHK("bind w/us", bind_at("w/us"));
	CHK("bind r/us", bind_at("r/us"));

	/* Removing. */
	CHK("unlink w/f", unlink("w/f"));
	CHK("unlink r/f", unlink("r/f"));
	CHK("unlink r/d (a directory)", unlink("r/d"));
	CHK("unlink w/d (a directory)", unlink("w/d"));
	CHK("unlink r/missing", unlink("r/missing"));
	CHK("rmdir w/rmme", rmdir("w/rmme"));
	CHK("rmdir r/d", rmdir("r/d"));
	CHK("rmdir r/missing", rmdir("r/missing"));

	/* Truncating. */
	CHK("truncate t/f", truncate("t/f", 1));
	CHK("truncate w/g", truncate("w/g", 1));
	CHK("open t/f O_TRUNC", open("t/f", O_WRONLY | O_TRUNC));
	int tf = open("t/f", O_WRONLY);
	CHKOK("open t/f write", tf);
	CHK("ftruncate t/f", ftruncate(tf, 1));
	CHK("ftruncate t/f opened before restricting", ftruncate(before, 2));
	int wg = open("w/g", O_WRONLY | O_TRUNC);
	CHKOK("open w/g O_TRUNC", wg);
	CHK("ftruncate w/g", ftruncate(wg, 3));
	CHKOK("creat m3/new (fresh: no truncation)", creat("m3/new", 0644));
	CHK("creat m3/new again (truncates)", creat("m3/new", 0644));
	CHK("stat t/f", stat("t/f", &st));
	printf("t/f size=%ld\n", (long)st.st_size);

	/* Linking and renaming. */
	CHK("link w/h w/h2 (same dir)", link("w/h", "w/h2"));
	CHK("link r/f w/l (no REFER)", link("r/f", "w/l"));
	CHK("link m1/a m2/a (fewer rights)", link("m1/a", "m2/a"));
	CHK("link m2/b m1/b (more rights)", link("m2/b", "m1/b"));
	CHK("rename w/f3 w/f4 (same dir)", rename("w/f3", "w/f4"));
	CHK("rename r/f r/f5", rename("r/f", "r/f5"));
	CHK("rename m1/c m2/c", rename("m1/c", "m2/c"));
	CHK("rename m2/d m1/d", rename("m2/d", "m1/d"));
	CHK("rename w/x r/x", rename("w/x", "r/x"));
	CHK("rename m1/dd m2/dd (no MAKE_DIR)", rename("m1/dd", "m2/dd"));
	CHK("exchange m1/e m2/e", renameat2(AT_FDCWD, "m1/e", AT_FDCWD, "m2/e", RENAME_EXCHANGE));
	CHK("rename m1/missing m2/z", rename("m1/missing", "m2/z"));
	CHK("noreplace m1/a m2/a", renameat2(AT_FDCWD, "m1/a", AT_FDCWD, "m2/a", RENAME_NOREPLACE));
}

static void show(const char *p)
{
	struct stat st;
	printf("%s: %s\n", p, lstat(p, &st) == 0 ? "exists" : "missing");
}

int main(void)
{
	dt_init();
	setup();
	pid_t p = fork();
	if (p == 0) {
		restricted();
		_exit(0);
	}
	int st;
	waitpid(p, &st, 0);
	printf("child exited=%d status=%d\n", WIFEXITED(st), WEXITSTATUS(st));
	/* What the restricted child changed. */
	const char *check[] = { "w/new", "r/new", "w/nd", "w/fifo", "w/sock", "w/sl", "w/us", "w/f", "w/rmme",
				"w/h2", "w/l", "m2/a", "m1/b", "w/f4", "m2/c", "m1/d", "m3/new", "r/x" };
	for (unsigned i = 0; i < sizeof(check) / sizeof(*check); i++)
		show(check[i]);
	return system("rm -rf r w x t m1 m2 m3") != 0;
}
