// Access times under relatime (Linux's default and the sandbox's): a read
// of a file, a listing of a directory, a readlink and a path walk through
// a symlink move atime when it is not newer than mtime or ctime; once it
// is newer, further accesses within a day leave it; O_NOATIME keeps it;
// a write does not move it; a noatime tmpfs keeps it, unless strictatime
// is asked for too (it wins).
#include "dt.h"
#include <sched.h>
#include <sys/mount.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long long atime_of(const char *p)
{
	struct stat st;
	if (lstat(p, &st))
		return -1;
	return st.st_atim.tv_sec * 1000000000LL + st.st_atim.tv_nsec;
}

/* atime and mtime far in the past; ctime becomes now. */
static void age(const char *p)
{
	struct timespec old[2] = { { 1000, 0 }, { 1000, 0 } };
	utimensat(AT_FDCWD, p, old, AT_SYMLINK_NOFOLLOW);
	/* Past the coarse clock's tick, so an access stamps a later time
	 * than the ctime just set. */
	struct timespec d = { 0, 30 * 1000 * 1000 };
	nanosleep(&d, NULL);
}

int main(void)
{
	dt_init();
	char dir[] = "/tmp/atime.XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	char f[64], l[64];
	snprintf(f, sizeof(f), "%s/f", dir);
	snprintf(l, sizeof(l), "%s/l", dir);
	int fd = open(f, O_CREAT | O_RDWR, 0644);
	char buf[8];
	CHK("write", write(fd, "abc", 3));
	close(fd);

	age(f);
	long long a0 = atime_of(f);
	fd = open(f, O_RDONLY);
	CHK("read", read(fd, buf, sizeof(buf)));
	long long a1 = atime_of(f);
	FACT(a1 > a0);
	FACT(a1 > 1000 * 1000000000LL);
	CHK("read again at the end", read(fd, buf, sizeof(buf)));
	CHK("pread", pread(fd, buf, sizeof(buf), 0));
	FACT(atime_of(f) == a1);
	close(fd);

	age(f);
	a0 = atime_of(f);
	fd = open(f, O_RDONLY);
	CHK("empty read", pread(fd, buf, 0, 0));
	FACT(atime_of(f) == a0);
	CHK("read at the end", pread(fd, buf, sizeof(buf), 3));
	FACT(atime_of(f) > a0);
	close(fd);

	age(f);
	a0 = atime_of(f);
	fd = open(f, O_RDONLY | O_NOATIME);
	CHK("read O_NOATIME", read(fd, buf, sizeof(buf)));
	FACT(atime_of(f) == a0);
	close(fd);
	fd = open(f, O_WRONLY);
	CHK("write", write(fd, "x", 1));
	FACT(atime_of(f) == a0);
	close(fd);

	/* A directory listing. */
	age(dir);
	a0 = atime_of(dir);
	DIR *d = opendir(dir);
	int n = 0;
	while (readdir(d))
		n++;
	closedir(d);
	printf("entries %d\n", n);
	FACT(atime_of(dir) > a0);
	a1 = atime_of(dir);
	d = opendir(dir);
	while (readdir(d))
		;
	closedir(d);
	FACT(atime_of(dir) == a1);

	/* A symlink: lstat keeps it, following or reading it moves it. */
	CHK("symlink", symlink(f, l));
	age(l);
	a0 = atime_of(l);
	struct stat st;
	CHK("lstat", lstat(l, &st));
	FACT(atime_of(l) == a0);
	fd = open(l, O_RDONLY | O_NOATIME);
	FACT(fd >= 0);
	close(fd);
	a1 = atime_of(l);
	FACT(a1 > a0);
	age(l);
	a0 = atime_of(l);
	CHK("readlink", readlink(l, buf, sizeof(buf)));
	FACT(atime_of(l) > a0);

	unlink(l);
	unlink(f);

	/* Mounts, in a mount namespace of this process's own. */
	CHK("unshare", unshare(CLONE_NEWNS));
	mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	unsigned long modes[2] = { MS_NOATIME, MS_NOATIME | MS_STRICTATIME };
	for (int i = 0; i < 2; i++) {
		printf("mode %d\n", i);
		CHK("mount tmpfs", mount("none", dir, "tmpfs", modes[i], NULL));
		fd = open(f, O_CREAT | O_RDWR, 0644);
		CHK("write", write(fd, "abc", 3));
		close(fd);
		age(f);
		a0 = atime_of(f);
		fd = open(f, O_RDONLY);
		CHK("read", read(fd, buf, sizeof(buf)));
		close(fd);
		FACT(atime_of(f) > a0);
		CHK("umount", umount(dir));
	}
	rmdir(dir);
	return 0;
}
