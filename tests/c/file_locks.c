// Advisory locks: fcntl record locks (conflicts seen by another process
// with F_GETLK, F_SETLK EAGAIN, released when the owner closes any fd of
// the file), OFD locks, and flock (per open file description; LOCK_NB).
#include "dt.h"
#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

static struct flock rng(short type, off_t start, off_t len)
{
	struct flock f = {0};
	f.l_type = type;
	f.l_whence = SEEK_SET;
	f.l_start = start;
	f.l_len = len;
	return f;
}

int main(void)
{
	dt_init();
	int fd = open("lk", O_CREAT | O_RDWR, 0644);
	FACT(fd >= 0);
	struct flock f = rng(F_WRLCK, 10, 20);
	CHK("F_SETLK write 10..30", fcntl(fd, F_SETLK, &f));
	pid_t parent = getpid();
	pid_t c = fork();
	if (c == 0) {
		int cfd = open("lk", O_RDWR);
		struct flock q = rng(F_RDLCK, 0, 100);
		CHK("child F_GETLK", fcntl(cfd, F_GETLK, &q));
		printf("child sees type=%s start=%ld len=%ld pid_is_parent=%d\n", q.l_type == F_WRLCK ? "W" : "other",
		       (long)q.l_start, (long)q.l_len, q.l_pid == parent);
		q = rng(F_WRLCK, 15, 1);
		CHK("child F_SETLK conflicting", fcntl(cfd, F_SETLK, &q));
		q = rng(F_WRLCK, 30, 5);
		CHK("child F_SETLK adjacent", fcntl(cfd, F_SETLK, &q));
		_exit(0);
	}
	waitpid(c, 0, 0);
	f = rng(F_UNLCK, 0, 0);
	CHK("unlock all", fcntl(fd, F_SETLK, &f));
	f = rng(7, 0, 0);
	CHK("bad type", fcntl(fd, F_SETLK, &f));
	f = rng(F_WRLCK, 0, 0);
	f.l_pid = 5;
	CHK("OFD with l_pid", fcntl(fd, F_OFD_SETLK, &f));
	f.l_pid = 0;
	CHK("OFD lock", fcntl(fd, F_OFD_SETLK, &f));
	int fd2 = open("lk", O_RDWR);
	struct flock g = rng(F_WRLCK, 0, 1);
	CHK("OFD conflict from another description", fcntl(fd2, F_OFD_SETLK, &g));

	int a = open("lk", O_RDONLY), b = open("lk", O_RDONLY);
	CHK("flock EX a", flock(a, LOCK_EX));
	CHK("flock EX b NB", flock(b, LOCK_EX | LOCK_NB));
	CHK("flock SH b NB", flock(b, LOCK_SH | LOCK_NB));
	close(a);
	CHK("flock EX b after close", flock(b, LOCK_EX | LOCK_NB));
	CHK("flock bad op", flock(b, 0));
	CHK("flock bad fd", flock(999, LOCK_SH));
	unlink("lk");
	return 0;
}
