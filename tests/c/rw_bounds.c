// Transfers at an explicit offset check the range first (Linux's
// rw_verify_area): an offset plus count past the largest file offset is
// EINVAL for pread/pwrite/preadv/pwritev, as is a negative offset. A read
// into a buffer whose tail is unmapped returns the bytes that fit (file
// and pipe), leaving the rest unread; a wholly bad buffer is EFAULT.
#include "dt.h"
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	char path[] = "/tmp/dt_rwb_XXXXXX";
	int fd = mkstemp(path);
	char data[8192];
	for (int i = 0; i < (int)sizeof(data); i++)
		data[i] = (char)i;
	CHK("write", write(fd, data, sizeof(data)));
	char b[16];
	CHK("pread max offset", pread(fd, b, 1, INT64_MAX));
	CHK("pread max offset, 0 bytes", pread(fd, b, 0, INT64_MAX));
	CHK("pread offset+count overflows", pread(fd, b, 16, INT64_MAX - 8));
	CHK("pwrite offset+count overflows", pwrite(fd, b, 16, INT64_MAX - 8));
	CHK("pread negative", pread(fd, b, 1, -1));
	struct iovec iov = {b, 16};
	CHK("preadv overflows", preadv(fd, &iov, 1, INT64_MAX - 8));
	CHK("pwritev overflows", pwritev(fd, &iov, 1, INT64_MAX - 8));
	CHK("pread near end of range", pread(fd, b, 8, INT64_MAX - 8));

	char *m = mmap(0, 8192, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHK("munmap tail", munmap(m + 4096, 4096));
	CHK("lseek", lseek(fd, 0, SEEK_SET));
	CHK("read into partly bad buffer", read(fd, m + 4000, 1000));
	FACT(memcmp(m + 4000, data, 96) == 0);
	CHK("file position after", lseek(fd, 0, SEEK_CUR));
	CHK("pread into partly bad buffer", pread(fd, m + 4090, 100, 10));
	CHK("read into bad buffer", read(fd, m + 4096, 10));

	int p[2];
	CHK("pipe", pipe(p));
	CHK("write pipe", write(p[1], data, 200));
	CHK("read pipe into partly bad buffer", read(p[0], m + 4000, 200));
	CHK("rest still in pipe", read(p[0], b, 16));
	FACT(b[0] == data[96]);
	close(p[0]);
	close(p[1]);
	unlink(path);
	return 0;
}
