// fanotify event pids across pid namespaces: an event's pid is the
// generating process as the reader's pid namespace sees it (its pid there
// for a process in a child namespace, 0 for one outside the reader's).
#define _GNU_SOURCE
#include "dt.h"
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/fanotify.h>
#include <sys/wait.h>
#include <unistd.h>

/* Unique per run: native runs of the test may overlap. */
static char path[64];

/* Reads one event from `fan`; returns its pid (-1 on none). */
static int event_pid(int fan)
{
	char buf[4096];
	ssize_t n = read(fan, buf, sizeof buf);
	if (n < (ssize_t)sizeof(struct fanotify_event_metadata))
		return -1;
	struct fanotify_event_metadata *m = (void *)buf;
	if (m->fd >= 0)
		close(m->fd);
	return m->pid;
}

static int new_group(void)
{
	int fan = fanotify_init(FAN_CLASS_NOTIF | FAN_NONBLOCK, O_RDONLY);
	if (fan >= 0 && fanotify_mark(fan, FAN_MARK_ADD, FAN_OPEN, AT_FDCWD, path) < 0)
		return -1;
	return fan;
}

int main(void)
{
	dt_init();
	snprintf(path, sizeof path, "/tmp/fanotify_pidns.%d", getpid());
	int f = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	close(f);
	int fan = new_group();
	FACT(fan >= 0);

	/* A child in a new pid namespace opens the file: the listener outside
	 * sees its pid in its own namespace. */
	int ready[2], go[2];
	pipe(ready);
	pipe(go);
	CHK("unshare(CLONE_NEWPID)", unshare(CLONE_NEWPID));
	pid_t child = fork();
	if (child == 0) {
		printf("child: getpid()=%d\n", getpid());
		close(open(path, O_RDONLY));
		/* A listener inside the namespace; the parent (outside) opens
		 * the file next: invisible here, pid 0. */
		int inner = new_group();
		char c = 1;
		write(ready[1], &c, 1);
		read(go[0], &c, 1);
		usleep(20 * 1000);
		printf("child: parent's event pid=%d\n", event_pid(inner));
		close(open(path, O_RDONLY));
		printf("child: own event pid=%d\n", event_pid(inner));
		_exit(0);
	}
	char c;
	read(ready[0], &c, 1);
	int p = event_pid(fan);
	printf("parent: child's event pid is the child's pid here: %d\n", p == child);
	close(open(path, O_RDONLY));
	int q = event_pid(fan);
	printf("parent: own event pid is getpid(): %d\n", q == getpid());
	write(go[1], &c, 1);
	int st;
	waitpid(child, &st, 0);
	printf("child exit=%d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	unlink(path);
	return 0;
}
