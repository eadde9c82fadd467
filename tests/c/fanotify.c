// fanotify, notification class: inode marks (and a directory's with
// FAN_EVENT_ON_CHILD / FAN_ONDIR), the events of open, read, write and
// close with a descriptor for the object and the process's pid; event
// descriptors raise no events; FIONREAD, poll, removal, flush; errors of
// fanotify_init and fanotify_mark.
#include "dt.h"
#include <fcntl.h>
#include <poll.h>
#include <sys/fanotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

static void show_mask(unsigned long long m)
{
	static const struct {
		unsigned long long bit;
		const char *name;
	} names[] = {
		{ FAN_ACCESS, "ACCESS" },	  { FAN_MODIFY, "MODIFY" },
		{ FAN_CLOSE_WRITE, "CLOSE_WRITE" }, { FAN_CLOSE_NOWRITE, "CLOSE_NOWRITE" },
		{ FAN_OPEN, "OPEN" },		  { FAN_ONDIR, "ONDIR" },
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (m & names[i].bit)
			printf(" %s", names[i].name);
}

/* Reads and prints what is queued; checks each descriptor is the object
 * `ino` and the pid ours. */
static void drain(int fan, const char *what, ino_t ino)
{
	char buf[4096] __attribute__((aligned(8)));
	printf("%s:", what);
	ssize_t n = read(fan, buf, sizeof buf);
	if (n < 0) {
		printf(" read %s\n", dt_errname(errno));
		return;
	}
	struct fanotify_event_metadata *m = (void *)buf;
	while (FAN_EVENT_OK(m, n)) {
		struct stat st;
		fstat(m->fd, &st);
		printf(" [");
		show_mask(m->mask);
		printf(" ] vers=%d len=%d same_file=%d pid_ok=%d", m->vers, m->event_len,
		       st.st_ino == ino, m->pid == getpid());
		close(m->fd);
		m = FAN_EVENT_NEXT(m, n);
	}
	printf("\n");
}

int main(void)
{
	dt_init();
	CHK("init bad flags", fanotify_init(~0U, O_RDONLY));
	CHK("init two classes", fanotify_init(FAN_CLASS_CONTENT | FAN_CLASS_PRE_CONTENT, O_RDONLY));
	CHK("init bad event_f_flags", fanotify_init(0, O_ACCMODE));
	CHK("init event_f_flags O_PATH", fanotify_init(0, O_PATH));
	int fan = fanotify_init(FAN_CLASS_NOTIF | FAN_NONBLOCK | FAN_CLOEXEC, O_RDONLY | O_LARGEFILE);
	printf("init: %s\n", fan >= 0 ? "ok" : dt_errname(errno));
	printf("cloexec: %d\n", (fcntl(fan, F_GETFD) & FD_CLOEXEC) != 0);

	int p[2];
	pipe(p);
	CHK("mark bad flags", fanotify_mark(fan, ~0U, FAN_OPEN, AT_FDCWD, "."));
	CHK("mark add+remove", fanotify_mark(fan, FAN_MARK_ADD | FAN_MARK_REMOVE, FAN_OPEN, AT_FDCWD, "."));
	CHK("mark empty mask", fanotify_mark(fan, FAN_MARK_ADD, 0, AT_FDCWD, "."));
	CHK("mark bad fd", fanotify_mark(9999, FAN_MARK_ADD, FAN_OPEN, AT_FDCWD, "."));
	CHK("mark not fanotify", fanotify_mark(p[0], FAN_MARK_ADD, FAN_OPEN, AT_FDCWD, "."));
	CHK("mark perm event, notif group", fanotify_mark(fan, FAN_MARK_ADD, FAN_OPEN_PERM, AT_FDCWD, "."));
	CHK("mark create without fid", fanotify_mark(fan, FAN_MARK_ADD, FAN_CREATE, AT_FDCWD, "."));
	CHK("mark missing path", fanotify_mark(fan, FAN_MARK_ADD, FAN_OPEN, AT_FDCWD, "nonexistent"));
	CHK("remove absent mark", fanotify_mark(fan, FAN_MARK_REMOVE, FAN_OPEN, AT_FDCWD, "."));

	int fd = open("watched", O_CREAT | O_RDWR, 0644);
	close(fd);
	struct stat st;
	stat("watched", &st);
	CHK("mark onlydir on a file", fanotify_mark(fan, FAN_MARK_ADD | FAN_MARK_ONLYDIR, FAN_OPEN, AT_FDCWD, "watched"));
	CHK("mark file", fanotify_mark(fan, FAN_MARK_ADD,
				       FAN_OPEN | FAN_ACCESS | FAN_MODIFY | FAN_CLOSE, AT_FDCWD, "watched"));
	drain(fan, "nothing yet", st.st_ino);

	fd = open("watched", O_RDWR);
	int n = 0;
	CHK("FIONREAD", ioctl(fan, FIONREAD, &n));
	printf("FIONREAD bytes: %d\n", n);
	struct pollfd pf = { .fd = fan, .events = POLLIN };
	int pr = poll(&pf, 1, 0);
	printf("poll: %d revents=%d\n", pr, pf.revents);
	drain(fan, "open", st.st_ino);
	write(fd, "abc", 3);
	drain(fan, "write", st.st_ino);
	char b[8];
	pread(fd, b, sizeof b, 0);
	drain(fan, "read", st.st_ino);
	close(fd);
	drain(fan, "close after write", st.st_ino);
	fd = open("watched", O_RDONLY);
	close(fd);
	drain(fan, "open+close read-only (merged)", st.st_ino);

	/* A small buffer. */
	fd = open("watched", O_RDONLY);
	char small[8];
	CHK("read into 8 bytes", read(fan, small, sizeof small));
	close(fd);
	drain(fan, "after small read", st.st_ino);

	/* The directory: children with FAN_EVENT_ON_CHILD, itself with ONDIR. */
	struct stat dst;
	stat(".", &dst);
	CHK("mark dir on child", fanotify_mark(fan, FAN_MARK_ADD, FAN_OPEN | FAN_EVENT_ON_CHILD, AT_FDCWD, "."));
	fd = open("other", O_CREAT | O_RDWR, 0644);
	struct stat ost;
	fstat(fd, &ost);
	close(fd);
	drain(fan, "child opened", ost.st_ino);
	fd = open(".", O_RDONLY | O_DIRECTORY);
	close(fd);
	drain(fan, "dir opened without ONDIR", dst.st_ino);
	CHK("mark dir ONDIR", fanotify_mark(fan, FAN_MARK_ADD, FAN_OPEN | FAN_ONDIR, AT_FDCWD, "."));
	fd = open(".", O_RDONLY | O_DIRECTORY);
	close(fd);
	drain(fan, "dir opened with ONDIR", dst.st_ino);

	/* Removal and flush. */
	CHK("remove file mark", fanotify_mark(fan, FAN_MARK_REMOVE,
					      FAN_OPEN | FAN_ACCESS | FAN_MODIFY | FAN_CLOSE, AT_FDCWD, "watched"));
	fd = open("watched", O_RDONLY);
	close(fd);
	drain(fan, "after removal (child of marked dir)", st.st_ino);
	CHK("flush", fanotify_mark(fan, FAN_MARK_FLUSH, 0, 0, NULL));
	fd = open("other", O_RDONLY);
	close(fd);
	drain(fan, "after flush", ost.st_ino);

	close(fan);
	unlink("watched");
	unlink("other");
	return 0;
}
