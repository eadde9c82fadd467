/* inotify events from file operations, in Linux's order and form. */
#include "dt.h"
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *mname(unsigned m)
{
	static char buf[256];
	static const struct { unsigned bit; const char *n; } t[] = {
		{IN_ACCESS, "ACCESS"}, {IN_MODIFY, "MODIFY"}, {IN_ATTRIB, "ATTRIB"},
		{IN_CLOSE_WRITE, "CLOSE_WRITE"}, {IN_CLOSE_NOWRITE, "CLOSE_NOWRITE"},
		{IN_OPEN, "OPEN"}, {IN_MOVED_FROM, "MOVED_FROM"}, {IN_MOVED_TO, "MOVED_TO"},
		{IN_CREATE, "CREATE"}, {IN_DELETE, "DELETE"}, {IN_DELETE_SELF, "DELETE_SELF"},
		{IN_MOVE_SELF, "MOVE_SELF"}, {IN_UNMOUNT, "UNMOUNT"}, {IN_Q_OVERFLOW, "Q_OVERFLOW"},
		{IN_IGNORED, "IGNORED"}, {IN_ISDIR, "ISDIR"},
	};
	buf[0] = 0;
	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (m & t[i].bit) {
			if (buf[0])
				strcat(buf, "|");
			strcat(buf, t[i].n);
			m &= ~t[i].bit;
		}
	if (m)
		sprintf(buf + strlen(buf), "|0x%x", m);
	return buf;
}

static unsigned last_cookie;

/* Prints every queued event; cookies as relations to the previous one. */
static void drain(int fd, const char *step)
{
	char buf[4096] __attribute__((aligned(8)));
	int q = -1;
	ioctl(fd, FIONREAD, &q);
	ssize_t n = read(fd, buf, sizeof(buf));
	printf("%s: fionread=%d read=%zd\n", step, q, n);
	for (ssize_t off = 0; off < n;) {
		struct inotify_event *e = (struct inotify_event *)(buf + off);
		const char *c = "0";
		if (e->cookie) {
			c = e->cookie == last_cookie ? "same" : "new";
			last_cookie = e->cookie;
		}
		printf("  wd=%d %s len=%u name=%s cookie=%s\n", e->wd, mname(e->mask),
		       e->len, e->len ? e->name : "-", c);
		off += sizeof(*e) + e->len;
	}
}

int main(void)
{
	dt_init();
	char b[64] = "hello";
	CHK("mkdir", mkdir("d", 0755));
	int in = inotify_init1(IN_NONBLOCK);
	FACT(in >= 0);
	CHK("watch d", inotify_add_watch(in, "d", IN_ALL_EVENTS));
	drain(in, "empty");

	int f = open("d/f", O_CREAT | O_WRONLY, 0644);
	drain(in, "create");
	CHK("watch f", inotify_add_watch(in, "d/f", IN_ALL_EVENTS));
	CHK("write", write(f, b, 5));
	drain(in, "write");
	CHK("close", close(f));
	drain(in, "close write");

	f = open("d/f", O_RDONLY);
	CHK("read", read(f, b, sizeof(b)));
	CHK("read at end", read(f, b, sizeof(b)));
	close(f);
	drain(in, "read");

	CHK("chmod", chmod("d/f", 0600));
	CHK("chown -1 -1", chown("d/f", -1, -1));
	CHK("chown", chown("d/f", 0, -1));
	drain(in, "attrib");
	struct timespec ts[2] = {{1, 0}, {0, UTIME_OMIT}};
	CHK("utimensat atime", utimensat(AT_FDCWD, "d/f", ts, 0));
	ts[0].tv_nsec = UTIME_OMIT; ts[1].tv_sec = 2; ts[1].tv_nsec = 0;
	CHK("utimensat mtime", utimensat(AT_FDCWD, "d/f", ts, 0));
	CHK("utimensat both", utimensat(AT_FDCWD, "d/f", NULL, 0));
	drain(in, "times");
	CHK("truncate", truncate("d/f", 2));
	f = open("d/f", O_WRONLY | O_TRUNC);
	CHK("ftruncate", ftruncate(f, 1));
	close(f);
	drain(in, "truncate");

	CHK("rename", rename("d/f", "d/g"));
	drain(in, "rename");
	CHK("link", link("d/g", "d/h"));
	drain(in, "link");
	CHK("unlink h", unlink("d/h"));
	drain(in, "unlink link");
	CHK("creat other", close(open("d/o", O_CREAT | O_WRONLY, 0644)));
	drain(in, "other");
	CHK("rename over", rename("d/o", "d/g"));
	drain(in, "rename over");
	CHK("watch g", inotify_add_watch(in, "d/g", IN_ALL_EVENTS));
	f = open("d/g", O_RDONLY);
	CHK("unlink open", unlink("d/g"));
	drain(in, "unlink open");
	close(f);
	drain(in, "close unlinked");

	CHK("mkdir sub", mkdir("d/sub", 0755));
	CHK("watch sub", inotify_add_watch(in, "d/sub", IN_ALL_EVENTS));
	int dfd = open("d/sub", O_RDONLY | O_DIRECTORY);
	close(dfd);
	CHK("rename sub", rename("d/sub", "d/sub2"));
	drain(in, "dir");
	CHK("rmdir", rmdir("d/sub2"));
	drain(in, "rmdir");
	CHK("symlink", symlink("x", "d/l"));
	CHK("mknod fifo", mknod("d/p", S_IFIFO | 0600, 0));
	CHK("unlink l", unlink("d/l"));
	CHK("unlink p", unlink("d/p"));
	drain(in, "other kinds");

	/* Record lengths: names padded to 16 bytes with at least one NUL. */
	const char *names[] = {"a", "abcdefghijklmno", "abcdefghijklmnop", "abcdefghijklmnopqrstuvwxyz01234"};
	for (int i = 0; i < 4; i++) {
		char p[64];
		snprintf(p, sizeof(p), "d/%s", names[i]);
		CHK("mkdir name", mkdir(p, 0700));
	}
	drain(in, "padding");
	for (int i = 0; i < 4; i++) {
		char p[64];
		snprintf(p, sizeof(p), "d/%s", names[i]);
		rmdir(p);
	}
	drain(in, "padding gone");

	CHK("rmdir d", rmdir("d"));
	drain(in, "self");
	CHK("read empty", read(in, b, sizeof(b)));
	close(in);
	return 0;
}
