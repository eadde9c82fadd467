// statfs/fstatfs: succeed on a directory and a file (only host-independent
// facts are printed), ENOENT/ENOTDIR/EFAULT/EBADF errors.
#include "dt.h"
#include <fcntl.h>
#include <sys/statfs.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	struct statfs sf;
	CHK("statfs .", statfs(".", &sf));
	FACT(sf.f_bsize > 0);
	FACT(sf.f_namelen >= 255);
	CHK("statfs /", statfs("/", &sf));
	int fd = open("f", O_CREAT | O_RDWR, 0600);
	CHK("fstatfs file", fstatfs(fd, &sf));
	FACT(sf.f_bsize > 0);
	CHK("statfs missing", statfs("missing/dir", &sf));
	CHK("statfs f/x", statfs("f/x", &sf));
	CHK("statfs BADPTR buf", statfs(".", BADPTR));
	CHK("statfs BADPTR path", statfs(BADPTR, &sf));
	CHK("fstatfs bad fd", fstatfs(123, &sf));
	close(fd);
	CHK("unlink", unlink("f"));
	return 0;
}
