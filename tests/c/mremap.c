// mremap: growing with MREMAP_MAYMOVE preserves contents, shrinking in
// place, MREMAP_FIXED, and EINVAL/ENOMEM/EFAULT errors.
#include "dt.h"
#include <sys/mman.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	long pg = sysconf(_SC_PAGESIZE);
	/* 5 pages; the last one becomes a separate read-only mapping that
	 * blocks growing the first 4 in place. */
	char *p = mmap(NULL, 5 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (long i = 0; i < 4 * pg; i++)
		p[i] = (char)(i % 251);
	CHK("mprotect blocker", mprotect(p + 4 * pg, pg, PROT_READ));
	void *r = mremap(p, 4 * pg, 64 * pg, 0);
	printf("grow without MAYMOVE: %s errno=%s\n", r == MAP_FAILED ? "failed" : "ok", dt_errname(errno));
	char *q = mremap(p, 4 * pg, 64 * pg, MREMAP_MAYMOVE);
	FACT(q != MAP_FAILED);
	FACT(q != p);
	int same = 1;
	for (long i = 0; i < 4 * pg; i++)
		same &= q[i] == (char)(i % 251);
	printf("contents preserved: %d\n", same);
	int zero = 1;
	for (long i = 4 * pg; i < 64 * pg; i++)
		zero &= q[i] == 0;
	printf("new part zeroed: %d\n", zero);
	q[64 * pg - 1] = 'e';
	char *s = mremap(q, 64 * pg, 2 * pg, 0);
	FACT(s == q);
	printf("after shrink: %d %d\n", s[0], s[pg + 3]);
	char *t = mmap(NULL, 8 * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *f = mremap(s, 2 * pg, 2 * pg, MREMAP_MAYMOVE | MREMAP_FIXED, t + 4 * pg);
	FACT(f == t + 4 * pg);
	printf("moved to fixed: %d %d\n", f[0], f[pg + 3]);
	r = mremap(f, 2 * pg, 4 * pg, MREMAP_FIXED, t);
	printf("FIXED without MAYMOVE: %s errno=%s\n", r == MAP_FAILED ? "failed" : "ok", dt_errname(errno));
	r = mremap(f + 1, pg, 2 * pg, MREMAP_MAYMOVE);
	printf("unaligned old address: %s errno=%s\n", r == MAP_FAILED ? "failed" : "ok", dt_errname(errno));
	r = mremap(f, 2 * pg, 0, MREMAP_MAYMOVE);
	printf("new size 0: %s errno=%s\n", r == MAP_FAILED ? "failed" : "ok", dt_errname(errno));
	r = mremap(f, 2 * pg, 4 * pg, 0x80);
	printf("bad flags: %s errno=%s\n", r == MAP_FAILED ? "failed" : "ok", dt_errname(errno));
	r = mremap(s, 2 * pg, 4 * pg, MREMAP_MAYMOVE);
	printf("old range unmapped: %s errno=%s\n", r == MAP_FAILED ? "failed" : "ok", dt_errname(errno));
	CHK("munmap", munmap(t, 8 * pg));
	return 0;
}
