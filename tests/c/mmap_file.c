// File-backed mmap: MAP_SHARED writes reach the file (read() sees them) and
// file writes show through the mapping; MAP_PRIVATE writes stay private;
// msync; offsets; EACCES for protections the fd does not allow; ENODEV.
#include "dt.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	long pg = sysconf(_SC_PAGESIZE);
	int fd = open("m", O_CREAT | O_RDWR | O_TRUNC, 0600);
	CHK("ftruncate 2 pages", ftruncate(fd, 2 * pg));
	CHK("pwrite page 0", pwrite(fd, "file-page-0", 11, 0));
	CHK("pwrite page 1", pwrite(fd, "file-page-1", 11, pg));

	char *sh = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	FACT(sh != MAP_FAILED);
	printf("shared sees: %.11s / %.11s\n", sh, sh + pg);
	memcpy(sh, "SHARED-0", 8);
	char buf[16] = {0};
	CHK("pread after shared write", pread(fd, buf, 11, 0));
	printf("file=%s\n", buf);
	CHK("pwrite through file", pwrite(fd, "FILE", 4, pg));
	printf("mapping sees file write: %.11s\n", sh + pg);
	CHK("msync MS_SYNC", msync(sh, 2 * pg, MS_SYNC));
	CHK("msync MS_ASYNC", msync(sh, pg, MS_ASYNC));
	CHK("msync MS_SYNC|MS_ASYNC", msync(sh, pg, MS_SYNC | MS_ASYNC));
	CHK("msync unaligned", msync(sh + 1, pg, MS_SYNC));

	char *pr = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	FACT(pr != MAP_FAILED);
	memcpy(pr, "PRIVATE", 7);
	memset(buf, 0, sizeof(buf));
	CHK("pread after private write", pread(fd, buf, 11, 0));
	printf("file=%s private=%.11s shared=%.11s\n", buf, pr, sh);

	char *off = mmap(NULL, pg, PROT_READ, MAP_SHARED, fd, pg);
	FACT(off != MAP_FAILED);
	printf("offset mapping: %.11s\n", off);
	char *bad = mmap(NULL, pg, PROT_READ, MAP_SHARED, fd, 1);
	printf("unaligned offset: %s errno=%s\n", bad == MAP_FAILED ? "failed" : "mapped", dt_errname(errno));

	int ro = open("m", O_RDONLY);
	bad = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0);
	printf("shared write map of O_RDONLY fd: %s errno=%s\n", bad == MAP_FAILED ? "failed" : "mapped", dt_errname(errno));
	char *ok = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0);
	printf("private write map of O_RDONLY fd: %s\n", ok == MAP_FAILED ? "failed" : "mapped");
	int wo = open("m", O_WRONLY);
	bad = mmap(NULL, pg, PROT_READ, MAP_SHARED, wo, 0);
	printf("map of O_WRONLY fd: %s errno=%s\n", bad == MAP_FAILED ? "failed" : "mapped", dt_errname(errno));
	int p[2];
	CHK("pipe", pipe(p));
	bad = mmap(NULL, pg, PROT_READ, MAP_SHARED, p[0], 0);
	printf("map of pipe: %s errno=%s\n", bad == MAP_FAILED ? "failed" : "mapped", dt_errname(errno));

	/* Mappings outlive the fd. */
	close(fd);
	memcpy(sh + 100, "after-close", 11);
	memset(buf, 0, sizeof(buf));
	CHK("pread via other fd", pread(ro, buf, 11, 100));
	printf("file@100=%s\n", buf);
	CHK("munmap shared", munmap(sh, 2 * pg));
	CHK("munmap private", munmap(pr, 2 * pg));
	CHK("unlink", unlink("m"));
	return 0;
}
