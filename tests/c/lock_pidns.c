// F_GETLK names the holder's pid as the caller's pid namespace sees it:
// a holder outside the caller's namespace shows as 0.
#include "dt.h"
#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	char path[] = "/tmp/lock_pidns.XXXXXX";
	int fd = mkstemp(path);
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
	CHK("setlk", fcntl(fd, F_SETLK, &fl));
	pid_t c = fork();
	if (c == 0) {
		struct flock g = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
		fcntl(fd, F_GETLK, &g);
		printf("child: type=%d holder is parent: %d\n", g.l_type, g.l_pid == getppid());
		if (unshare(CLONE_NEWPID) != 0) {
			printf("unshare: %s\n", dt_errname(errno));
			_exit(1);
		}
		pid_t gc = fork();
		if (gc == 0) {
			struct flock h = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
			CHK("grandchild getlk", fcntl(fd, F_GETLK, &h));
			printf("grandchild: type=%d pid=%d\n", h.l_type, h.l_pid);
			_exit(0);
		}
		int st;
		waitpid(gc, &st, 0);
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 2);
	}
	int st;
	waitpid(c, &st, 0);
	FACT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	unlink(path);
	return 0;
}
