// lseek SEEK_DATA/SEEK_HOLE on a fully written file (no holes): data starts
// at the offset, the only hole is at EOF, and ENXIO past EOF.
#include "dt.h"
#include <fcntl.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	int fd = open("sd", O_CREAT | O_RDWR | O_TRUNC, 0600);
	static char buf[8192];
	memset(buf, 'd', sizeof(buf));
	CHK("write", write(fd, buf, sizeof(buf)));
	CHK("SEEK_DATA 0", lseek(fd, 0, SEEK_DATA));
	CHK("SEEK_DATA 100", lseek(fd, 100, SEEK_DATA));
	CHK("SEEK_HOLE 0", lseek(fd, 0, SEEK_HOLE));
	CHK("SEEK_HOLE 5000", lseek(fd, 5000, SEEK_HOLE));
	CHK("SEEK_DATA at EOF", lseek(fd, 8192, SEEK_DATA));
	CHK("SEEK_HOLE past EOF", lseek(fd, 9000, SEEK_HOLE));
	CHK("SEEK_DATA negative", lseek(fd, -1, SEEK_DATA));
	int empty = open("empty", O_CREAT | O_RDWR | O_TRUNC, 0600);
	CHK("SEEK_DATA empty file", lseek(empty, 0, SEEK_DATA));
	CHK("SEEK_HOLE empty file", lseek(empty, 0, SEEK_HOLE));
	close(fd);
	close(empty);
	CHK("unlink sd", unlink("sd"));
	CHK("unlink empty", unlink("empty"));
	return 0;
}
