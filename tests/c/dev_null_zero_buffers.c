// /dev/null and /dev/zero never read what is written to them (even a bad
// buffer is "written"), and a read of /dev/zero zeroes the buffer up to
// its first unwritable page (EFAULT if that is the first).
#include "dt.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#define PG 4096

int main(void)
{
	dt_init();
	int null = open("/dev/null", O_RDWR);
	int zero = open("/dev/zero", O_RDWR);
	CHK("write null bad buffer", write(null, BADPTR, 100));
	CHK("write zero bad buffer", write(zero, BADPTR, 100));
	CHK("write null 0", write(null, BADPTR, 0));
	CHK("read null", read(null, BADPTR, 100));

	unsigned char *three = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(three, 0xaa, 3 * PG);
	CHK("write null partly bad", (mprotect(three + 2 * PG, PG, PROT_NONE),
				      write(null, three, 3 * PG)));
	CHK("read zero partly bad", read(zero, three + 10, 3 * PG));
	int zeros = 0;
	for (int i = 0; i < 2 * PG; i++)
		zeros += three[i] == 0;
	printf("zeroed=%d first=%d\n", zeros, three[9]);
	CHK("read zero bad", read(zero, three + 2 * PG, 10));
	CHK("read zero read-only", (mprotect(three, PG, PROT_READ),
				    read(zero, three, 10)));
	memset(three + PG, 0x55, 100);
	CHK("read zero 1 byte", read(zero, three + PG, 1));
	printf("after=%d,%d\n", three[PG], three[PG + 1]);
	CHK("lseek zero", lseek(zero, 0, SEEK_CUR));
	CHK("read zero on O_WRONLY", read(open("/dev/zero", O_WRONLY), three + PG, 1));
	CHK("write null on O_RDONLY", write(open("/dev/null", O_RDONLY), three, 1));
	return 0;
}
