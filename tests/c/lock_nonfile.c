// flock() and fcntl record locks work on sockets and pipes too (each has
// an inode on Linux): a second description of the same socket is the
// same lock holder only for what it inherited.
#include "dt.h"
#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void setlk(const char *name, int fd, short type)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10 };
	CHK(name, fcntl(fd, F_SETLK, &fl));
}

static void getlk(const char *name, int fd, short type)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10 };
	errno = 0;
	int r = fcntl(fd, F_GETLK, &fl);
	printf("%s: ret=%d errno=%s type=%d start=%ld len=%ld\n", name, r,
	       r < 0 ? dt_errname(errno) : "0", fl.l_type, (long)fl.l_start, (long)fl.l_len);
}

int main(void)
{
	dt_init();
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	CHK("flock socket EX", flock(s, LOCK_EX | LOCK_NB));
	CHK("flock socket SH", flock(s, LOCK_SH | LOCK_NB));
	CHK("flock socket UN", flock(s, LOCK_UN));
	setlk("setlk socket RD", s, F_RDLCK);
	setlk("setlk socket WR", s, F_WRLCK);
	getlk("getlk socket WR", s, F_WRLCK);

	int sv[2];
	CHK("socketpair", socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	CHK("flock sv0 EX", flock(sv[0], LOCK_EX | LOCK_NB));
	CHK("flock sv1 EX (another inode)", flock(sv[1], LOCK_EX | LOCK_NB));

	int p[2];
	CHK("pipe", pipe(p));
	setlk("setlk pipe read end RD", p[0], F_RDLCK);
	setlk("setlk pipe read end WR", p[0], F_WRLCK);
	setlk("setlk pipe write end WR", p[1], F_WRLCK);
	setlk("setlk pipe write end RD", p[1], F_RDLCK);
	pid_t c = fork();
	if (c == 0) {
		// The parent's write lock on the pipe conflicts here.
		getlk("child getlk pipe", p[0], F_RDLCK);
		setlk("child setlk pipe write end WR", p[1], F_WRLCK);
		int s2 = socket(AF_UNIX, SOCK_STREAM, 0);
		setlk("child setlk own socket", s2, F_WRLCK);
		_exit(0);
	}
	int st;
	waitpid(c, &st, 0);
	FACT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	setlk("unlock pipe", p[1], F_UNLCK);
	close(p[0]);
	close(p[1]);
	close(s);
	close(sv[0]);
	close(sv[1]);
	return 0;
}
