// memfd file seals: F_GET_SEALS/F_ADD_SEALS with and without
// MFD_ALLOW_SEALING, what SHRINK, GROW, WRITE and FUTURE_WRITE forbid
// (write, ftruncate, fallocate, shared writable mmap, mprotect), EBUSY while
// a shared writable mapping exists, SEAL_SEAL, and the errors.
#define _GNU_SOURCE
#include "dt.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

int main(void)
{
	dt_init();
	long ps = sysconf(_SC_PAGESIZE);

	int plain = memfd_create("plain", 0);
	CHK("get seals without ALLOW_SEALING", fcntl(plain, F_GET_SEALS));
	CHK("add seals without ALLOW_SEALING", fcntl(plain, F_ADD_SEALS, F_SEAL_WRITE));

	int m = memfd_create("sealed", MFD_ALLOW_SEALING);
	CHK("get seals", fcntl(m, F_GET_SEALS));
	CHK("ftruncate", ftruncate(m, 2 * ps));
	CHK("unknown seal", fcntl(m, F_ADD_SEALS, 0x100));
	CHK("add SHRINK", fcntl(m, F_ADD_SEALS, F_SEAL_SHRINK));
	CHK("shrink", ftruncate(m, ps));
	CHK("grow", ftruncate(m, 3 * ps));
	CHK("same size", ftruncate(m, 3 * ps));
	CHK("add GROW", fcntl(m, F_ADD_SEALS, F_SEAL_GROW));
	CHK("get seals", fcntl(m, F_GET_SEALS));
	CHK("grow sealed", ftruncate(m, 4 * ps));
	CHK("write inside", pwrite(m, "abc", 3, 3 * ps - 3));
	CHK("write past end", pwrite(m, "abc", 3, 3 * ps - 2));
	CHK("fallocate inside", fallocate(m, 0, 0, ps));
	CHK("fallocate past end", fallocate(m, 0, 0, 4 * ps));
	CHK("fallocate keep size past end", fallocate(m, FALLOC_FL_KEEP_SIZE, 0, 4 * ps));
	CHK("punch", fallocate(m, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, ps));

	char *w = mmap(0, ps, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
	FACT(w != MAP_FAILED);
	CHK("add WRITE while mapped writable", fcntl(m, F_ADD_SEALS, F_SEAL_WRITE));
	munmap(w, ps);
	char *r = mmap(0, ps, PROT_READ, MAP_SHARED, m, 0);
	CHK("add WRITE", fcntl(m, F_ADD_SEALS, F_SEAL_WRITE));
	CHK("mprotect read-only shared to write", mprotect(r, ps, PROT_READ | PROT_WRITE));
	CHK("write sealed", write(m, "x", 1));
	CHK("pwrite sealed", pwrite(m, "x", 1, 0));
	CHK("punch sealed", fallocate(m, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, ps));
	errno = 0;
	void *x = mmap(0, ps, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
	printf("mmap shared writable: %s errno=%s\n", x == MAP_FAILED ? "failed" : "ok", dt_errname(errno));
	char *pr = mmap(0, ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, m, 0);
	FACT(pr != MAP_FAILED);
	pr[0] = 'p';
	char *ro = mmap(0, ps, PROT_READ, MAP_SHARED, m, 0);
	FACT(ro != MAP_FAILED);
	FACT(ro[0] == 0);
	CHK("add SEAL", fcntl(m, F_ADD_SEALS, F_SEAL_SEAL));
	CHK("add after SEAL", fcntl(m, F_ADD_SEALS, F_SEAL_EXEC));
	CHK("add nothing after SEAL", fcntl(m, F_ADD_SEALS, 0));
	CHK("get seals", fcntl(m, F_GET_SEALS));

	/* FUTURE_WRITE: mappings made before keep writing. */
	int f = memfd_create("future", MFD_ALLOW_SEALING);
	ftruncate(f, ps);
	char *fw = mmap(0, ps, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0);
	CHK("add FUTURE_WRITE while mapped", fcntl(f, F_ADD_SEALS, F_SEAL_FUTURE_WRITE));
	fw[0] = 'k';
	char c = 0;
	pread(f, &c, 1, 0);
	printf("old mapping wrote: %c\n", c);
	CHK("write after FUTURE_WRITE", write(f, "x", 1));
	errno = 0;
	x = mmap(0, ps, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0);
	printf("mmap shared writable: %s errno=%s\n", x == MAP_FAILED ? "failed" : "ok", dt_errname(errno));
	CHK("add WRITE too", fcntl(f, F_ADD_SEALS, F_SEAL_WRITE));
	CHK("shrink", ftruncate(f, 0));
	CHK("get seals", fcntl(f, F_GET_SEALS));

	/* Errors. */
	int p[2];
	pipe(p);
	CHK("get seals pipe", fcntl(p[0], F_GET_SEALS));
	CHK("add seals pipe", fcntl(p[1], F_ADD_SEALS, F_SEAL_WRITE));
	CHK("get seals bad fd", fcntl(999, F_GET_SEALS));
	CHK("get seals /dev/null", fcntl(open("/dev/null", O_RDONLY), F_GET_SEALS));
	return 0;
}
