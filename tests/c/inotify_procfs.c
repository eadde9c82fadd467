// inotify on procfs's top-level files: a watch on /proc/filesystems (and
// the others made once per procfs instance) sees the open, the read and
// the close of a later open of the same path, and a second look-up finds
// the same inode.
#include "dt.h"
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

static void show(int in)
{
	char buf[4096] __attribute__((aligned(8)));
	ssize_t n = read(in, buf, sizeof(buf));
	if (n < 0) {
		printf("  no events: %s\n", dt_errname(errno));
		return;
	}
	for (char *p = buf; p < buf + n;) {
		struct inotify_event *e = (struct inotify_event *)p;
		printf("  event mask=%#x len=%u\n", e->mask, e->len);
		p += sizeof(*e) + e->len;
	}
}

int main(void)
{
	dt_init();
	const char *files[] = { "/proc/filesystems", "/proc/meminfo", "/proc/version", "/proc/stat" };
	for (unsigned i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		const char *f = files[i];
		int in = inotify_init1(IN_NONBLOCK);
		int wd = inotify_add_watch(in, f, IN_ALL_EVENTS);
		printf("%s: watch %s\n", f, wd > 0 ? "ok" : dt_errname(errno));
		struct stat a, b;
		stat(f, &a);
		stat(f, &b);
		FACT(a.st_ino == b.st_ino);
		int fd = open(f, O_RDONLY);
		char c;
		CHK("read 1", read(fd, &c, 1));
		close(fd);
		show(in);
		CHK("rm watch", inotify_rm_watch(in, wd));
		show(in);
		close(in);
	}
	return 0;
}
