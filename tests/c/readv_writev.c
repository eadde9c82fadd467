// readv/writev/preadv/pwritev/preadv2: scatter-gather IO and its errors
// (EINVAL for a bad iovec count or bad RWF flags, EFAULT for bad iovecs).
#include "dt.h"
#include <fcntl.h>
#include <limits.h>
#include <sys/uio.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	int fd = open("v", O_CREAT | O_RDWR | O_TRUNC, 0600);
	struct iovec w[3] = {
		{ "alpha-", 6 }, { "", 0 }, { "beta-gamma", 10 },
	};
	CHK("writev", writev(fd, w, 3));
	CHK("writev 0 iovecs", writev(fd, w, 0));
	volatile int neg = -1, too_many = IOV_MAX + 1; /* hide from -Wstringop */
	CHK("writev -1 iovecs", writev(fd, w, neg));
	CHK("writev IOV_MAX+1", writev(fd, w, too_many));
	CHK("writev BADPTR iov", writev(fd, BADPTR, 1));
	struct iovec bad = { BADPTR, 4 };
	CHK("writev bad base", writev(fd, &bad, 1));

	char a[4], b[5], c[20];
	memset(c, 0, sizeof(c));
	struct iovec r[3] = { { a, 4 }, { b, 5 }, { c, sizeof(c) } };
	CHK("lseek 0", lseek(fd, 0, SEEK_SET));
	CHK("readv", readv(fd, r, 3));
	printf("a=%.4s b=%.5s c=%s\n", a, b, c);
	CHK("readv at EOF", readv(fd, r, 3));
	CHK("readv bad fd", readv(99, r, 1));

	memset(c, 0, sizeof(c));
	struct iovec one = { c, 5 };
	CHK("preadv at 6", preadv(fd, &one, 1, 6));
	printf("c=%s\n", c);
	struct iovec pw = { "XY", 2 };
	CHK("pwritev at 0", pwritev(fd, &pw, 1, 0));
	CHK("offset unchanged", lseek(fd, 0, SEEK_CUR));
	memset(c, 0, sizeof(c));
	one.iov_len = 8;
	CHK("preadv2 flags 0", preadv2(fd, &one, 1, 0, 0));
	printf("c=%s\n", c);
	CHK("preadv2 offset -1 (uses file offset)", preadv2(fd, &one, 1, -1, 0));
	CHK("preadv2 RWF_HIPRI", preadv2(fd, &one, 1, 0, RWF_HIPRI));
	CHK("preadv2 bad flags", preadv2(fd, &one, 1, 0, 0x40000000));
	CHK("pwritev2 RWF_APPEND", pwritev2(fd, &pw, 1, 0, RWF_APPEND));
	CHK("size via SEEK_END", lseek(fd, 0, SEEK_END));

	int p[2];
	CHK("pipe", pipe(p));
	CHK("writev pipe", writev(p[1], w, 3));
	memset(c, 0, sizeof(c));
	one.iov_len = sizeof(c) - 1;
	CHK("readv pipe", readv(p[0], &one, 1));
	printf("c=%s\n", c);
	CHK("preadv pipe", preadv(p[0], &one, 1, 0));
	close(fd);
	CHK("unlink", unlink("v"));
	return 0;
}
