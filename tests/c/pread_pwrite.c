// pread64/pwrite64: positional IO leaves the file offset untouched; errors
// ESPIPE (pipe), EINVAL (negative offset), EBADF, EFAULT.
#include "dt.h"
#include <fcntl.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	int fd = open("p", O_CREAT | O_RDWR | O_TRUNC, 0600);
	CHK("write", write(fd, "0123456789", 10));
	CHK("pwrite at 2", pwrite(fd, "AB", 2, 2));
	CHK("offset unchanged", lseek(fd, 0, SEEK_CUR));
	CHK("pwrite past EOF at 20", pwrite(fd, "Z", 1, 20));
	char buf[32];
	memset(buf, 0, sizeof(buf));
	CHK("pread 4 at 1", pread(fd, buf, 4, 1));
	printf("buf=%s\n", buf);
	CHK("pread at 100 (EOF)", pread(fd, buf, 4, 100));
	memset(buf, 'x', sizeof(buf));
	CHK("pread hole", pread(fd, buf, 11, 10));
	int zeros = 0;
	for (int i = 0; i < 10; i++)
		zeros += buf[i] == 0;
	printf("hole zeros=%d last=%c\n", zeros, buf[10]);
	CHK("offset still", lseek(fd, 0, SEEK_CUR));
	CHK("pread negative offset", pread(fd, buf, 1, -1));
	CHK("pwrite negative offset", pwrite(fd, buf, 1, -5));
	CHK("pread BADPTR", pread(fd, BADPTR, 4, 0));
	CHK("pwrite BADPTR", pwrite(fd, BADPTR, 4, 0));
	CHK("pread bad fd", pread(77, buf, 1, 0));

	int p[2];
	CHK("pipe", pipe(p));
	CHK("pwrite pipe", pwrite(p[1], "x", 1, 0));
	CHK("pread pipe", pread(p[0], buf, 1, 0));

	int wo = open("p", O_WRONLY);
	CHK("pread on O_WRONLY", pread(wo, buf, 1, 0));
	int ap = open("p", O_WRONLY | O_APPEND);
	/* On Linux, pwrite with O_APPEND appends regardless of offset. */
	CHK("pwrite O_APPEND", pwrite(ap, "END", 3, 0));
	struct { char b[32]; } all;
	memset(&all, 0, sizeof(all));
	CHK("pread all", pread(fd, all.b, sizeof(all.b), 0));
	printf("head=%.4s tail=%.4s\n", all.b, all.b + 20);
	close(fd);
	close(wo);
	close(ap);
	CHK("unlink", unlink("p"));
	return 0;
}
