// dup/dup2/dup3: lowest-free-fd allocation, shared offsets, O_CLOEXEC on
// dup3, and the errors EBADF and EINVAL.
#include "dt.h"
#include <fcntl.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	int fd = open("d", O_CREAT | O_RDWR | O_TRUNC, 0600);
	printf("fd=%d\n", fd);
	CHK("dup", dup(fd));
	CHK("dup again", dup(fd));
	CHK("close 4", close(4));
	CHK("dup fills lowest hole", dup(fd));
	CHK("dup bad fd", dup(100));
	CHK("dup2 to 10", dup2(fd, 10));
	CHK("dup2 same fd", dup2(fd, fd));
	CHK("dup2 bad same fd", dup2(50, 50));
	CHK("dup2 bad oldfd", dup2(50, 11));
	CHK("dup2 newfd out of range", dup2(fd, 1 << 30));
	CHK("dup2 negative newfd", dup2(fd, -1));
	CHK("dup3 O_CLOEXEC to 12", dup3(fd, 12, O_CLOEXEC));
	CHK("F_GETFD 12", fcntl(12, F_GETFD));
	CHK("F_GETFD 10 (dup2 clears cloexec)", fcntl(10, F_GETFD));
	CHK("dup3 same fd", dup3(fd, fd, 0));
	CHK("dup3 bad flags", dup3(fd, 13, O_NONBLOCK));
	CHK("dup3 bad oldfd", dup3(60, 13, 0));

	/* dup2 over an open fd closes it silently; offsets are shared. */
	int other = open("e", O_CREAT | O_RDWR | O_TRUNC, 0600);
	printf("other=%d\n", other);
	CHK("write other", write(other, "other", 5));
	CHK("dup2 fd over other", dup2(fd, other));
	CHK("write via dup", write(other, "shared", 6));
	CHK("offset on original", lseek(fd, 0, SEEK_CUR));
	CHK("lseek via 10", lseek(10, 2, SEEK_SET));
	CHK("offset on 12", lseek(12, 0, SEEK_CUR));
	char buf[8] = {0};
	CHK("read via 3", read(fd, buf, 4));
	printf("buf=%s\n", buf);
	/* Closing one duplicate leaves the others usable. */
	CHK("close original", close(fd));
	CHK("write via 10 after close", write(10, "!", 1));
	CHK("write via closed", write(fd, "!", 1));
	struct { char b[16]; } all = { { 0 } };
	int rd = open("d", O_RDONLY);
	CHK("read file", read(rd, all.b, sizeof(all.b) - 1));
	printf("file=%s\n", all.b);
	CHK("unlink d", unlink("d"));
	CHK("unlink e", unlink("e"));
	return 0;
}
