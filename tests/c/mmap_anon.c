// Anonymous mmap/munmap: zero-filled pages, MAP_FIXED replacement,
// MAP_FIXED_NOREPLACE (EEXIST), MAP_GROWSDOWN, and EINVAL/EBADF/ENOMEM.
#include "dt.h"
#include <sys/mman.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

int main(void)
{
	dt_init();
	long pg = sysconf(_SC_PAGESIZE);
	printf("pagesize=%ld\n", pg);
	size_t len = 16 * pg;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	FACT(p != MAP_FAILED);
	FACT(((unsigned long)p & (pg - 1)) == 0);
	int nonzero = 0;
	for (size_t i = 0; i < len; i++)
		nonzero += p[i] != 0;
	printf("nonzero bytes in fresh mapping: %d\n", nonzero);
	for (size_t i = 0; i < len; i++)
		p[i] = (char)i;
	/* Replace the middle 4 pages with a fresh zeroed mapping. */
	char *q = mmap(p + 4 * pg, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	FACT(q == p + 4 * pg);
	printf("byte before=%d replaced=%d after=%d\n", p[4 * pg - 1], q[0], p[8 * pg]);
	char *r = mmap(p, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	printf("MAP_FIXED_NOREPLACE over mapping: %s errno=%s\n", r == MAP_FAILED ? "failed" : "mapped",
	       dt_errname(errno));
	CHK("munmap 2 pages in the middle", munmap(p + 10 * pg, 2 * pg));
	r = mmap(p + 10 * pg, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	FACT(r == p + 10 * pg);
	CHK("munmap unaligned", munmap(p + 1, pg));
	CHK("munmap length 0", munmap(p, 0));
	CHK("munmap whole range incl. holes", munmap(p, len));
	CHK("munmap already unmapped", munmap(p, len));

	errno = 0;
	CHK("mmap length 0", mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED ? -1 : 0);
	CHK("mmap no MAP_PRIVATE/SHARED", mmap(NULL, pg, PROT_READ, MAP_ANONYMOUS, -1, 0) == MAP_FAILED ? -1 : 0);
	CHK("mmap MAP_FIXED unaligned", mmap((void *)(0x10000000 + 1), pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED ? -1 : 0);
	CHK("mmap file bad fd", mmap(NULL, pg, PROT_READ, MAP_PRIVATE, 99, 0) == MAP_FAILED ? -1 : 0);
	CHK("mmap huge", mmap(NULL, 1UL << 62, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED ? -1 : 0);
	CHK("mmap unaligned offset", mmap(NULL, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 1) == MAP_FAILED ? -1 : 0);

	/* MAP_SHARED|MAP_ANONYMOUS and a hint address. */
	char *s = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	FACT(s != MAP_FAILED);
	strcpy(s, "shared anon");
	printf("s=%s\n", s);
	CHK("munmap shared", munmap(s, pg));

	/* MAP_GROWSDOWN: the top page is usable. */
	char *g = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN, -1, 0);
	FACT(g != MAP_FAILED);
	g[4 * pg - 1] = 'G';
	g[0] = 'g';
	printf("growsdown top=%c bottom=%c\n", g[4 * pg - 1], g[0]);
	CHK("munmap growsdown", munmap(g, 4 * pg));
	return 0;
}
