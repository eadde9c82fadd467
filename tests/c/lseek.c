// lseek: SEEK_SET/SEEK_CUR/SEEK_END, seeking past EOF, and the errors
// EINVAL (bad whence, negative result), ESPIPE (pipe), EBADF.
#include "dt.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	int fd = open("s", O_CREAT | O_RDWR | O_TRUNC, 0600);
	CHK("write", write(fd, "abcdefghij", 10));
	CHK("SEEK_SET 3", lseek(fd, 3, SEEK_SET));
	CHK("SEEK_CUR +2", lseek(fd, 2, SEEK_CUR));
	CHK("SEEK_CUR -4", lseek(fd, -4, SEEK_CUR));
	char c = 0;
	CHK("read", read(fd, &c, 1));
	printf("char=%c\n", c);
	CHK("SEEK_END 0", lseek(fd, 0, SEEK_END));
	CHK("SEEK_END -3", lseek(fd, -3, SEEK_END));
	CHK("read", read(fd, &c, 1));
	printf("char=%c\n", c);
	CHK("SEEK_END +100", lseek(fd, 100, SEEK_END));
	CHK("write past EOF", write(fd, "Z", 1));
	struct stat st;
	CHK("fstat", fstat(fd, &st));
	printf("size=%lld\n", (long long)st.st_size);
	CHK("SEEK_SET -1", lseek(fd, -1, SEEK_SET));
	CHK("SEEK_CUR to negative", lseek(fd, -1000, SEEK_CUR));
	CHK("bad whence 99", lseek(fd, 0, 99));
	CHK("offset kept", lseek(fd, 0, SEEK_CUR));
	CHK("bad fd", lseek(42, 0, SEEK_SET));
	int p[2];
	CHK("pipe", pipe(p));
	CHK("lseek pipe", lseek(p[0], 0, SEEK_SET));
	CHK("lseek pipe SEEK_CUR", lseek(p[1], 0, SEEK_CUR));
	int d = open(".", O_RDONLY | O_DIRECTORY);
	CHK("lseek dir to 0", lseek(d, 0, SEEK_SET));
	int nul = open("/dev/null", O_RDWR);
	CHK("lseek /dev/null", lseek(nul, 1234, SEEK_SET));
	close(fd);
	CHK("unlink", unlink("s"));
	return 0;
}
