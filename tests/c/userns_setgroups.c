// A new user namespace: /proc/self/setgroups "deny" is final ("allow"
// after it is EPERM; "deny" again is fine; anything else is EINVAL), and
// entering the namespace clears the PR_SET_KEEPCAPS flag.
#include "dt.h"
#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static long write_setgroups(const char *text)
{
	int fd = open("/proc/self/setgroups", O_WRONLY);
	if (fd < 0)
		return -1;
	long r = write(fd, text, strlen(text));
	int e = errno;
	close(fd);
	errno = e;
	return r;
}

static void show_setgroups(void)
{
	char buf[16] = "";
	int fd = open("/proc/self/setgroups", O_RDONLY);
	read(fd, buf, sizeof(buf) - 1);
	close(fd);
	printf("setgroups: %s", buf);
}

int main(void)
{
	dt_init();
	pid_t c = fork();
	if (c == 0) {
		CHK("PR_SET_KEEPCAPS 1", prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0));
		CHK("PR_GET_KEEPCAPS", prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0));
		CHK("unshare(CLONE_NEWUSER)", unshare(CLONE_NEWUSER));
		CHK("PR_GET_KEEPCAPS in the new namespace", prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0));
		show_setgroups();
		CHK("write maybe", write_setgroups("maybe"));
		CHK("write allow (already)", write_setgroups("allow"));
		CHK("write deny", write_setgroups("deny"));
		show_setgroups();
		CHK("write allow after deny", write_setgroups("allow"));
		CHK("write deny again", write_setgroups("deny"));
		CHK("unshare(CLONE_NEWUSER) again, no uid map", unshare(CLONE_NEWUSER));
		show_setgroups();
		CHK("write allow, still denied", write_setgroups("allow"));
		_exit(0);
	}
	int st;
	waitpid(c, &st, 0);
	printf("child status %d\n", st);
	return 0;
}
