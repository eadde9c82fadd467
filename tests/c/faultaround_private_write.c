/* Two private mappings of a file whose pages are cached (the second
 * mapped along with the first's fault: fault-around): each shows later
 * writes to the file on every page it has not written itself, and keeps
 * its own copy of the page it wrote, as Linux's MAP_PRIVATE does (a
 * copy-on-write copying more than the page written hid the file's
 * changes on the pages around it). */
#include "dt.h"
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void) {
	dt_init();
	long pg = sysconf(_SC_PAGESIZE);
	int fd = open("faultaround_w", O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHK("open", fd >= 0 ? 0 : -1);
	char buf[3 * 4096];
	memset(buf, 'a', sizeof(buf));
	CHK("write", write(fd, buf, 3 * pg));
	/* Read once so the pages are cached, then map them twice. */
	char c;
	CHK("pread", pread(fd, &c, 1, 0));
	char *m = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	char *r = mmap(NULL, 3 * pg, PROT_READ, MAP_PRIVATE, fd, 0);
	FACT(m != MAP_FAILED && r != MAP_FAILED);
	printf("before: %c %c %c\n", m[0], m[pg], r[2 * pg]);
	/* Our own copy of page 1 only. */
	m[pg] = 'm';
	CHK("pwrite page 0", pwrite(fd, "X", 1, 0));
	CHK("pwrite page 1", pwrite(fd, "Y", 1, pg));
	CHK("pwrite page 2", pwrite(fd, "Z", 1, 2 * pg));
	printf("private rw: %c %c %c\n", m[0], m[pg], m[2 * pg]);
	printf("private ro: %c %c %c\n", r[0], r[pg], r[2 * pg]);
	CHK("pread page 1", pread(fd, &c, 1, pg));
	printf("file page 1: %c\n", c);
	munmap(m, 3 * pg);
	munmap(r, 3 * pg);
	close(fd);
	unlink("faultaround_w");
	return 0;
}
