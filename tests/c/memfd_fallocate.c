// memfd_create (read/write/mmap shared, /proc fd name), fallocate (extend,
// KEEP_SIZE, PUNCH_HOLE zeroes), copy_file_range between two files of one
// directory; errors.
#define _GNU_SOURCE
#include "dt.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	int m = memfd_create("probe", MFD_CLOEXEC);
	FACT(m >= 0);
	CHK("memfd bad flags", memfd_create("x", 0x1000));
	CHK("write", write(m, "hello memfd", 11));
	char *p = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
	FACT(p != MAP_FAILED);
	p[0] = 'H';
	char b[32] = {0};
	CHK("pread", pread(m, b, 11, 0));
	printf("via fd: %s\n", b);
	char link[64] = {0};
	char path[32];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", m);
	readlink(path, link, sizeof(link) - 1);
	printf("link=%s\n", link);
	CHK("F_GETFD cloexec", fcntl(m, F_GETFD));

	int f = open("fa", O_CREAT | O_RDWR | O_TRUNC, 0644);
	CHK("fallocate extend", fallocate(f, 0, 0, 10000));
	struct stat st;
	fstat(f, &st);
	printf("size=%ld\n", (long)st.st_size);
	CHK("fallocate keep size", fallocate(f, FALLOC_FL_KEEP_SIZE, 0, 20000));
	fstat(f, &st);
	printf("size=%ld\n", (long)st.st_size);
	CHK("write", pwrite(f, "XXXXXXXX", 8, 100));
	CHK("punch hole", fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 102, 4));
	memset(b, 0, sizeof(b));
	pread(f, b, 8, 100);
	printf("after punch: %c%c[%d%d%d%d]%c%c\n", b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]);
	CHK("punch without keep size", fallocate(f, FALLOC_FL_PUNCH_HOLE, 0, 1));
	CHK("fallocate bad len", fallocate(f, 0, 0, 0));
	int pp[2];
	pipe(pp);
	CHK("fallocate pipe", fallocate(pp[1], 0, 0, 1));

	int g = open("cp", O_CREAT | O_RDWR | O_TRUNC, 0644);
	loff_t in = 98, out = 0;
	CHK("copy_file_range", copy_file_range(f, &in, g, &out, 11, 0));
	printf("offsets in=%ld out=%ld\n", (long)in, (long)out);
	memset(b, 0, sizeof(b));
	pread(g, b, 11, 0);
	for (int i = 0; i < 11; i++)
		b[i] = b[i] ? b[i] : '.';
	printf("copied: %s\n", b);
	CHK("copy_file_range bad flags", copy_file_range(m, &in, g, &out, 1, 1));
	unlink("fa");
	unlink("cp");
	return 0;
}
