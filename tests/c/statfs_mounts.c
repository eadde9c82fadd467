// statfs per filesystem: f_type of /proc, /sys, /dev/pts, /dev/shm and
// of a tmpfs mounted here (in a private mount namespace) with size=1m;
// that tmpfs's f_blocks, f_bfree shrinking as a file grows, a write
// past the size failing with ENOSPC after a partial fill, room coming
// back after ftruncate and unlink, and f_flags of a read-only remount.
#include "dt.h"
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

static void type(const char *p)
{
	struct statfs s;
	if (statfs(p, &s) < 0)
		printf("%s: %s\n", p, dt_errname(errno));
	else
		printf("%s: f_type=%#lx\n", p, (unsigned long)s.f_type);
}

static void room(const char *what)
{
	struct statfs s;
	CHK("statfs t", statfs("t", &s));
	printf("%s: f_type=%#lx blocks=%lu bfree=%lu bavail=%lu bsize=%ld\n", what,
	       (unsigned long)s.f_type, (unsigned long)s.f_blocks, (unsigned long)s.f_bfree,
	       (unsigned long)s.f_bavail, (long)s.f_bsize);
}

int main(void)
{
	dt_init();
	type("/proc");
	type("/proc/self/status");
	type("/sys");
	type("/sys/kernel");
	type("/dev/pts");
	type("/dev/shm");
	CHK("unshare", unshare(CLONE_NEWNS));
	CHK("private", mount(NULL, "/", NULL, MS_PRIVATE | MS_REC, NULL));
	CHK("mkdir", mkdir("t", 0755));
	CHK("mount", mount("tmpfs", "t", "tmpfs", 0, "size=1m"));
	room("empty");
	int fd = open("t/f", O_CREAT | O_RDWR, 0644);
	FACT(fd >= 0);
	static char buf[65536];
	memset(buf, 'x', sizeof(buf));
	CHK("write 100000", write(fd, buf, 40000) + write(fd, buf, 60000));
	room("100000 bytes");
	struct statfs fs;
	CHK("fstatfs", fstatfs(fd, &fs));
	printf("fstatfs f_type=%#lx bfree=%lu\n", (unsigned long)fs.f_type,
	       (unsigned long)fs.f_bfree);
	CHK("ftruncate 0", ftruncate(fd, 0));
	CHK("lseek", lseek(fd, 0, SEEK_SET));
	long total = 0, r;
	int writes = 0;
	while ((r = write(fd, buf, sizeof(buf))) > 0 && writes < 100) {
		total += r;
		writes++;
	}
	printf("filled: total=%ld last=%ld errno=%s\n", total, r, dt_errname(errno));
	room("full");
	CHK("write when full", pwrite(fd, "y", 1, total));
	CHK("overwrite when full", pwrite(fd, "y", 1, 0));
	CHK("ftruncate 512k", ftruncate(fd, 512 * 1024));
	room("512k");
	CHK("ftruncate 4m (a hole)", ftruncate(fd, 4 << 20));
	room("hole");
	close(fd);
	CHK("unlink", unlink("t/f"));
	room("removed");
	CHK("remount ro", mount(NULL, "t", NULL, MS_REMOUNT | MS_RDONLY, "size=1m"));
	CHK("statfs ro", statfs("t", &fs));
	printf("ro flags rdonly=%d valid=%d\n", !!(fs.f_flags & 1), !!(fs.f_flags & 0x20));
	CHK("umount", umount("t"));
	CHK("rmdir", rmdir("t"));
	return 0;
}
