// utimensat/futimens/utimes: set exact atime/mtime (with nanoseconds),
// UTIME_OMIT/UTIME_NOW, AT_SYMLINK_NOFOLLOW; EINVAL/ENOENT/EBADF/EFAULT.
#include "dt.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static void show(const char *p, int flags)
{
	struct stat st;
	fstatat(AT_FDCWD, p, &st, flags);
	printf("%s: atime=%lld.%09ld mtime=%lld.%09ld\n", p, (long long)st.st_atim.tv_sec,
	       st.st_atim.tv_nsec, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

int main(void)
{
	dt_init();
	int fd = open("t", O_CREAT | O_RDWR, 0644);
	struct timespec ts[2] = { { 1000000000, 123456789 }, { 1234567890, 987654321 } };
	CHK("utimensat exact", utimensat(AT_FDCWD, "t", ts, 0));
	show("t", 0);
	struct timespec omit[2] = { { 0, UTIME_OMIT }, { 1500000000, 5 } };
	CHK("utimensat atime OMIT", utimensat(AT_FDCWD, "t", omit, 0));
	show("t", 0);
	struct timespec fts[2] = { { 42, 0 }, { 43, 1 } };
	CHK("futimens", futimens(fd, fts));
	show("t", 0);
	struct timeval tv[2] = { { 100, 250000 }, { 200, 500000 } };
	CHK("utimes (microseconds)", utimes("t", tv));
	show("t", 0);
	struct timespec before;
	clock_gettime(CLOCK_REALTIME, &before);
	struct timespec now[2] = { { 0, UTIME_NOW }, { 0, UTIME_NOW } };
	CHK("utimensat UTIME_NOW", utimensat(AT_FDCWD, "t", now, 0));
	struct stat st;
	stat("t", &st);
	FACT(st.st_mtim.tv_sec >= before.tv_sec - 1 && st.st_mtim.tv_sec <= before.tv_sec + 5);
	CHK("utimensat NULL times", utimensat(AT_FDCWD, "t", NULL, 0));
	stat("t", &st);
	FACT(st.st_atim.tv_sec >= before.tv_sec - 1);
	/* A write updates mtime to "now". */
	CHK("futimens old", futimens(fd, fts));
	CHK("write", write(fd, "x", 1));
	stat("t", &st);
	FACT(st.st_mtim.tv_sec >= before.tv_sec - 1);
	CHK("symlink", symlink("t", "l"));
	CHK("utimensat NOFOLLOW", utimensat(AT_FDCWD, "l", ts, AT_SYMLINK_NOFOLLOW));
	show("l", AT_SYMLINK_NOFOLLOW);
	struct timespec bad[2] = { { 0, 1000000000 }, { 0, 0 } };
	CHK("utimensat bad nsec", utimensat(AT_FDCWD, "t", bad, 0));
	struct timespec neg[2] = { { 0, -5 }, { 0, 0 } };
	CHK("utimensat negative nsec", utimensat(AT_FDCWD, "t", neg, 0));
	CHK("utimensat bad flags", utimensat(AT_FDCWD, "t", ts, 0x1));
	CHK("utimensat missing", utimensat(AT_FDCWD, "missing", ts, 0));
	CHK("utimensat BADPTR times", utimensat(AT_FDCWD, "t", BADPTR, 0));
	CHK("futimens bad fd", futimens(77, ts));
	close(fd);
	unlink("l");
	CHK("unlink", unlink("t"));
	return 0;
}
