/* inotify_init1/add_watch/rm_watch: flags, error paths, watch sharing,
 * one-shot, unlinked files, merging, overflow, blocking and readiness. */
#include "dt.h"
#include "dt_inotify.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char buf[1 << 16] __attribute__((aligned(8)));


static void on_alarm(int s) { (void)s; }

int main(void)
{
	dt_init();
	int fl;
	CHK("init1 bad flag", inotify_init1(1));
	CHK("init1 bad flag 2", inotify_init1(IN_NONBLOCK | 4));
	int a = inotify_init();
	FACT(a >= 0);
	fl = fcntl(a, F_GETFL);
	FACT((fl & O_ACCMODE) == O_RDONLY);
	FACT(!(fl & O_NONBLOCK));
	FACT(fcntl(a, F_GETFD) == 0);
	int b = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	FACT(fcntl(b, F_GETFL) & O_NONBLOCK);
	FACT(fcntl(b, F_GETFD) == FD_CLOEXEC);
	CHK("read empty nonblock", read(b, buf, sizeof(buf)));
	CHK("write", write(b, "x", 1));
	int q = 7;
	CHK("fionread", ioctl(b, FIONREAD, &q));
	printf("fionread=%d\n", q);
	CHK("fionread efault", ioctl(b, FIONREAD, (int *)8));

	CHK("mkdir", mkdir("d", 0755));
	close(open("d/f", O_CREAT | O_WRONLY, 0644));
	CHK("symlink", symlink("f", "d/l"));
	int p[2];
	pipe(p);

	/* Error paths: the mask is checked before the descriptor. */
	CHK("add bad fd", inotify_add_watch(-1, "d", IN_OPEN));
	CHK("add bad fd bad mask", inotify_add_watch(-1, "d", 0));
	CHK("add closed fd", inotify_add_watch(999, "d", IN_OPEN));
	CHK("add not inotify", inotify_add_watch(p[0], "d", IN_OPEN));
	CHK("add mask 0", inotify_add_watch(b, "d", 0));
	CHK("add add|create", inotify_add_watch(b, "d", IN_OPEN | IN_MASK_ADD | IN_MASK_CREATE));
	CHK("add enoent", inotify_add_watch(b, "d/none", IN_OPEN));
	CHK("add empty path", inotify_add_watch(b, "", IN_OPEN));
	CHK("add efault", inotify_add_watch(b, (char *)8, IN_OPEN));
	CHK("add onlydir file", inotify_add_watch(b, "d/f", IN_OPEN | IN_ONLYDIR));
	CHK("add onlydir dir", inotify_add_watch(b, "d", IN_OPEN | IN_ONLYDIR));
	CHK("add enotdir component", inotify_add_watch(b, "d/f/x", IN_OPEN));

	/* One watch per inode per instance: same wd by another path. */
	CHK("add f", inotify_add_watch(b, "d/f", IN_OPEN));
	CHK("add f via link", inotify_add_watch(b, "d/l", IN_OPEN));
	CHK("add f via ..", inotify_add_watch(b, "d/../d/f", IN_CLOSE));
	CHK("add link itself", inotify_add_watch(b, "d/l", IN_OPEN | IN_DONT_FOLLOW));
	CHK("add mask create", inotify_add_watch(b, "d/f", IN_OPEN | IN_MASK_CREATE));
	/* The last call replaced the mask with IN_CLOSE: open shows nothing. */
	close(open("d/f", O_RDONLY));
	show(b, "replaced mask");
	CHK("mask add", inotify_add_watch(b, "d/f", IN_OPEN | IN_MASK_ADD));
	close(open("d/f", O_RDONLY));
	show(b, "added mask");
	CHK("other instance same file", inotify_add_watch(a, "d/f", IN_OPEN));

	/* rm_watch: IN_IGNORED, then the wd is gone; wds are not reused. */
	CHK("rm bad wd", inotify_rm_watch(b, 99));
	CHK("rm bad fd", inotify_rm_watch(-1, 1));
	CHK("rm not inotify", inotify_rm_watch(p[0], 1));
	CHK("rm f", inotify_rm_watch(b, 1));
	CHK("rm f again", inotify_rm_watch(b, 1));
	show(b, "ignored");
	close(open("d/f", O_RDONLY));
	show(b, "after rm");
	CHK("add f again", inotify_add_watch(b, "d/f", IN_OPEN));
	CHK("rm link watch", inotify_rm_watch(b, 2));
	CHK("rm f3", inotify_rm_watch(b, 3));
	show(b, "ignored two");

	/* One-shot: the first event, then IN_IGNORED. */
	CHK("oneshot", inotify_add_watch(b, "d/f", IN_OPEN | IN_ONESHOT));
	close(open("d/f", O_RDONLY));
	close(open("d/f", O_RDONLY));
	show(b, "oneshot");

	/* Identical consecutive events merge while unread. */
	CHK("modify watch", inotify_add_watch(b, "d/f", IN_MODIFY));
	int w = open("d/f", O_WRONLY);
	for (int i = 0; i < 3; i++)
		write(w, "x", 1);
	show(b, "merged");
	write(w, "x", 1);
	show(b, "after read");

	/* IN_EXCL_UNLINK: nothing about the unlinked file's I/O. */
	int c = inotify_init1(IN_NONBLOCK);
	CHK("dir excl", inotify_add_watch(c, "d", IN_MODIFY | IN_EXCL_UNLINK));
	CHK("dir plain", inotify_add_watch(b, "d", IN_MODIFY));
	CHK("unlink", unlink("d/f"));
	CHK("write unlinked", write(w, "y", 1));
	show(b, "plain sees");
	show(c, "excl sees");
	close(w);
	show(b, "after close");

	/* Small buffers: EINVAL while an event is queued. */
	close(open("d/g", O_CREAT | O_WRONLY, 0644));
	CHK("watch g", inotify_add_watch(b, "d/g", IN_ATTRIB));
	chmod("d/g", 0600);
	CHK("read 15", read(b, buf, 15));
	CHK("read 16", read(b, buf, 16));
	chmod("d/g", 0644);
	chmod("d", 0755);
	CHK("watch d attrib", inotify_add_watch(b, "d", IN_ATTRIB));
	chmod("d/g", 0600);
	CHK("read 16 of two", read(b, buf, 16));
	CHK("read 31 named", read(b, buf, 31));
	show(b, "rest");

	/* Overflow: one IN_Q_OVERFLOW past the queue limit. */
	int lim = 0;
	FILE *fp = fopen("/proc/sys/fs/inotify/max_queued_events", "r");
	if (fp) {
		fscanf(fp, "%d", &lim);
		fclose(fp);
	}
	FACT(lim > 0);
	int o = inotify_init1(IN_NONBLOCK);
	inotify_add_watch(o, "d/g", IN_ACCESS | IN_MODIFY);
	int g = open("d/g", O_RDWR);
	for (int i = 0; i < lim / 2 + 4; i++) {
		pwrite(g, "z", 1, 0);
		pread(g, buf, 1, 0);
	}
	int total = 0, overflow = 0, last_wd = 0;
	unsigned last_mask = 0;
	ssize_t n;
	while ((n = read(o, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n;) {
			struct inotify_event *e = (struct inotify_event *)(buf + off);
			total++;
			overflow += e->mask == IN_Q_OVERFLOW;
			last_wd = e->wd;
			last_mask = e->mask;
			off += sizeof(*e) + e->len;
		}
	}
	FACT(total == lim + 1);
	FACT(overflow == 1);
	printf("last wd=%d mask=%#x\n", last_wd, last_mask);
	pwrite(g, "z", 1, 0);
	show(o, "after overflow");
	close(g);
	close(o);

	/* Readiness and blocking reads. */
	struct pollfd pf = {.fd = b, .events = POLLIN};
	CHK("poll empty", poll(&pf, 1, 0));
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN};
	CHK("epoll add", epoll_ctl(ep, EPOLL_CTL_ADD, b, &ev));
	CHK("epoll empty", epoll_wait(ep, &ev, 1, 0));
	CHK("watch d create", inotify_add_watch(a, "d", IN_CREATE));
	pid_t kid = fork();
	if (kid == 0) {
		usleep(50000);
		close(open("d/late", O_CREAT | O_WRONLY, 0644));
		chmod("d/g", 0640);
		_exit(0);
	}
	show(a, "blocking read woke");
	CHK("epoll ready", epoll_wait(ep, &ev, 1, 5000));
	CHK("poll ready", poll(&pf, 1, 0));
	printf("revents=%#x\n", pf.revents);
	waitpid(kid, NULL, 0);
	show(b, "drained");

	struct sigaction sa = {.sa_handler = on_alarm};
	sigaction(SIGALRM, &sa, NULL);
	alarm(1);
	CHK("blocking read interrupted", read(a, buf, sizeof(buf)));

	unlink("d/late");
	unlink("d/g");
	unlink("d/l");
	show(a, "end a");
	close(a);
	close(b);
	close(c);
	CHK("rmdir", rmdir("d"));
	return 0;
}
