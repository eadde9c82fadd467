// File IO in a statically linked binary: create, write, seek, read back,
// stat, rename, unlink, and ENOENT afterwards.
// difftest: static
#include "dt.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	int fd = open("static-file", O_CREAT | O_RDWR | O_TRUNC, 0640);
	printf("fd=%d\n", fd);
	CHK("write", write(fd, "static binaries do IO too\n", 26));
	CHK("lseek 7", lseek(fd, 7, SEEK_SET));
	char buf[32] = {0};
	CHK("read", read(fd, buf, 8));
	printf("buf=%s\n", buf);
	struct stat st;
	CHK("fstat", fstat(fd, &st));
	printf("size=%lld perm=%o reg=%d\n", (long long)st.st_size, st.st_mode & 0777, S_ISREG(st.st_mode));
	CHK("close", close(fd));
	CHK("rename", rename("static-file", "renamed"));
	FILE *f = fopen("renamed", "r");
	FACT(f != NULL);
	char line[64];
	FACT(fgets(line, sizeof(line), f) != NULL);
	printf("fgets=%s", line);
	fclose(f);
	CHK("unlink", unlink("renamed"));
	CHK("open after unlink", open("renamed", O_RDONLY));
	return 0;
}
