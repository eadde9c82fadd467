// fcntl: F_GETFD/F_SETFD, F_GETFL/F_SETFL (O_APPEND, O_NONBLOCK; access mode
// is immutable), F_DUPFD/F_DUPFD_CLOEXEC, and EBADF/EINVAL errors.
#include "dt.h"
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	int fd = open("fc", O_CREAT | O_RDWR | O_TRUNC, 0600);
	CHK("F_GETFD", fcntl(fd, F_GETFD));
	CHK("F_SETFD FD_CLOEXEC", fcntl(fd, F_SETFD, FD_CLOEXEC));
	CHK("F_GETFD", fcntl(fd, F_GETFD));
	CHK("F_SETFD 0", fcntl(fd, F_SETFD, 0));
	CHK("F_GETFD", fcntl(fd, F_GETFD));

	int fl = fcntl(fd, F_GETFL);
	printf("accmode=%s append=%d nonblock=%d\n",
	       (fl & O_ACCMODE) == O_RDWR ? "O_RDWR" : "other",
	       !!(fl & O_APPEND), !!(fl & O_NONBLOCK));
	CHK("F_SETFL O_APPEND|O_NONBLOCK|O_RDONLY", fcntl(fd, F_SETFL, O_APPEND | O_NONBLOCK | O_RDONLY));
	fl = fcntl(fd, F_GETFL);
	printf("accmode=%s append=%d nonblock=%d\n",
	       (fl & O_ACCMODE) == O_RDWR ? "O_RDWR" : "other",
	       !!(fl & O_APPEND), !!(fl & O_NONBLOCK));
	CHK("write", write(fd, "abc", 3));
	CHK("lseek 0", lseek(fd, 0, SEEK_SET));
	CHK("append write ignores offset", write(fd, "d", 1));
	CHK("offset", lseek(fd, 0, SEEK_CUR));
	CHK("F_SETFL 0", fcntl(fd, F_SETFL, 0));
	fl = fcntl(fd, F_GETFL);
	printf("append=%d nonblock=%d\n", !!(fl & O_APPEND), !!(fl & O_NONBLOCK));

	CHK("F_DUPFD 0", fcntl(fd, F_DUPFD, 0));
	CHK("F_DUPFD 10", fcntl(fd, F_DUPFD, 10));
	CHK("F_DUPFD 10 again", fcntl(fd, F_DUPFD, 10));
	CHK("F_DUPFD_CLOEXEC 20", fcntl(fd, F_DUPFD_CLOEXEC, 20));
	CHK("F_GETFD 20", fcntl(20, F_GETFD));
	CHK("F_GETFD 10", fcntl(10, F_GETFD));
	CHK("F_DUPFD negative", fcntl(fd, F_DUPFD, -1));
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	CHK("F_DUPFD at RLIMIT_NOFILE", fcntl(fd, F_DUPFD, (int)rl.rlim_cur));
	CHK("F_GETFD bad fd", fcntl(99, F_GETFD));
	CHK("F_GETFL bad fd", fcntl(-1, F_GETFL));
	CHK("bad cmd", fcntl(fd, 12345));
	int p[2];
	CHK("pipe", pipe(p));
	CHK("F_GETPIPE_SZ", fcntl(p[0], F_GETPIPE_SZ));
	CHK("F_GETPIPE_SZ on file", fcntl(fd, F_GETPIPE_SZ));
	CHK("unlink", unlink("fc"));
	return 0;
}
