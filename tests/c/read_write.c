// read/write on regular files: short reads at EOF, file offset sharing,
// O_APPEND, and EBADF/EFAULT/EISDIR errors.
#include "dt.h"
#include <fcntl.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	int fd = open("data", O_CREAT | O_RDWR | O_TRUNC, 0600);
	CHK("write 11", write(fd, "hello world", 11));
	CHK("write 0 bytes", write(fd, "", 0));
	CHK("write BADPTR", write(fd, BADPTR, 4));
	CHK("lseek 0", lseek(fd, 0, SEEK_SET));
	char buf[32] = {0};
	CHK("read 5", read(fd, buf, 5));
	printf("buf=%s\n", buf);
	CHK("read rest", read(fd, buf, sizeof(buf)));
	CHK("read at EOF", read(fd, buf, sizeof(buf)));
	CHK("lseek 0", lseek(fd, 0, SEEK_SET));
	CHK("read BADPTR", read(fd, BADPTR, 4));
	CHK("read -1 fd", read(-1, buf, 1));
	CHK("write 1000 fd", write(1000, buf, 1));

	int ro = open("data", O_RDONLY);
	CHK("write to O_RDONLY", write(ro, "x", 1));
	int wo = open("data", O_WRONLY | O_APPEND);
	CHK("read from O_WRONLY", read(wo, buf, 1));
	CHK("append write", write(wo, "!!", 2));
	CHK("lseek cur after append", lseek(wo, 0, SEEK_CUR));
	memset(buf, 0, sizeof(buf));
	CHK("read all", read(ro, buf, sizeof(buf)));
	printf("buf=%s\n", buf);

	int dup_fd = dup(ro);
	CHK("lseek ro 6", lseek(ro, 6, SEEK_SET));
	memset(buf, 0, sizeof(buf));
	CHK("read dup shares offset", read(dup_fd, buf, 5));
	printf("buf=%s\n", buf);

	int dfd = open(".", O_RDONLY | O_DIRECTORY);
	CHK("read directory", read(dfd, buf, sizeof(buf)));

	/* A large write and read-back. */
	static char big[300000], back[300000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7 + 3);
	CHK("ftruncate 0", ftruncate(fd, 0));
	CHK("lseek 0", lseek(fd, 0, SEEK_SET));
	CHK("write big", write(fd, big, sizeof(big)));
	CHK("lseek 0", lseek(fd, 0, SEEK_SET));
	size_t got = 0;
	ssize_t n;
	while ((n = read(fd, back + got, sizeof(back) - got)) > 0)
		got += n;
	printf("read back %zu bytes, equal=%d\n", got, memcmp(big, back, sizeof(big)) == 0);
	close(fd);
	close(ro);
	close(wo);
	close(dup_fd);
	close(dfd);
	CHK("unlink", unlink("data"));
	return 0;
}
