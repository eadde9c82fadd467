/* Text of a cached file (this program's own, mapped twice more: fault-around
 * maps one mapping along with another) mapped private and executable, made writable with
 * mprotect, written, and made read-only again: the write stays in this
 * mapping (and survives the mprotect back), the file and another mapping
 * of it do not see it. */
#include "dt.h"
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv) {
	(void)argc;
	dt_init();
	long pg = sysconf(_SC_PAGESIZE);
	int fd = open("/proc/self/exe", O_RDONLY);
	CHK("open exe", fd >= 0 ? 0 : -1);
	(void)argv;
	unsigned char orig[16];
	CHK("pread", pread(fd, orig, 16, 0));
	unsigned char *a = mmap(NULL, pg, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
	unsigned char *b = mmap(NULL, pg, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
	FACT(a != MAP_FAILED && b != MAP_FAILED);
	FACT(memcmp(a, orig, 16) == 0);
	CHK("mprotect rw", mprotect(a, pg, PROT_READ | PROT_WRITE));
	a[1] ^= 0xff;
	CHK("mprotect back", mprotect(a, pg, PROT_READ | PROT_EXEC));
	FACT(a[1] == (unsigned char)(orig[1] ^ 0xff));
	FACT(b[1] == orig[1]);
	unsigned char now[16];
	CHK("pread again", pread(fd, now, 16, 0));
	FACT(memcmp(now, orig, 16) == 0);
	/* A fresh mapping after all this sees the file, not the copy. */
	unsigned char *c = mmap(NULL, pg, PROT_READ, MAP_PRIVATE, fd, 0);
	FACT(c != MAP_FAILED && memcmp(c, orig, 16) == 0);
	return 0;
}
