// remap_file_pages: deprecated in Linux and emulated there by an mmap of
// the same object over the range: pages of a shared mapping (anonymous or
// of a file) show other object pages afterwards, with the mapping's
// protection. prot must be 0; a private mapping, a hole, an empty range or
// a range running past the mapping are EINVAL (the sandbox said ENOSYS).
#define _GNU_SOURCE
#include "dt.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#define PG 4096
#define N 8

static void show(const char *what, char *p, int n)
{
	printf("%s:", what);
	for (int i = 0; i < n; i++)
		printf(" %c", p[i * PG]);
	printf("\n");
}

int main(void)
{
	dt_init();
	/* Shared anonymous: reverse the pages one by one. */
	char *p = mmap(NULL, N * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 1;
	for (int i = 0; i < N; i++)
		p[i * PG] = 'a' + i;
	for (int i = 0; i < N; i++)
		CHK("remap reverse", remap_file_pages(p + i * PG, PG, 0, N - 1 - i, 0));
	show("reversed", p, N);
	/* Writes go to the object page now mapped there. */
	p[0] = 'Z';
	CHK("remap back", remap_file_pages(p, N * PG, 0, 0, MAP_NONBLOCK));
	show("back", p, N);
	/* Unaligned start and size are rounded down. */
	CHK("remap unaligned", remap_file_pages(p + PG + 5, PG + 7, 0, 3, 0));
	show("unaligned", p, N);

	CHK("prot", remap_file_pages(p, PG, PROT_READ, 0, 0));
	CHK("size 0", remap_file_pages(p, 0, 0, 0, 0));
	CHK("size < page", remap_file_pages(p, 100, 0, 0, 0));
	CHK("past end", remap_file_pages(p + (N - 1) * PG, 2 * PG, 0, 0, 0));
	CHK("pgoff wraps", remap_file_pages(p, 2 * PG, 0, ~0UL, 0));
	CHK("wraps", remap_file_pages(p, ~0UL & ~(PG - 1UL), 0, 0, 0));
	char *hole = mmap(NULL, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(hole, PG);
	CHK("unmapped", remap_file_pages(hole, PG, 0, 0, 0));

	/* Private anonymous and private file mappings are refused. */
	char *q = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHK("private anon", remap_file_pages(q, PG, 0, 1, 0));
	munmap(q, 2 * PG);

	/* A file, mapped read-only and shared, in two adjacent mappings of
	 * the same file: a range across both is one remap. */
	int fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
	for (int i = 0; i < N; i++) {
		char b[PG];
		memset(b, '0' + i, PG);
		if (write(fd, b, PG) != PG)
			return 1;
	}
	char *f = mmap(NULL, (N + 2) * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mmap(f, N * PG, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0);
	char *f2 = mmap(f + N * PG, 2 * PG, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0);
	FACT(f2 == f + N * PG);
	CHK("file", remap_file_pages(f + (N - 1) * PG, 2 * PG, 0, 2, 0));
	show("file", f, N + 2);
	CHK("file private", remap_file_pages(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 0), PG, 0, 1, 0));
	/* Adjacent but with another protection: not one run. */
	char *g = mmap(NULL, 2 * PG, PROT_READ, MAP_SHARED, fd, 0);
	mprotect(g + PG, PG, PROT_NONE);
	CHK("prot differs", remap_file_pages(g, 2 * PG, 0, 4, 0));
	/* The remapped page keeps the mapping's protection. */
	CHK("one page", remap_file_pages(g, PG, 0, 4, 0));
	printf("g0=%c\n", g[0]);
	unsigned char vec[2];
	CHK("mincore", mincore(g, PG, vec));
	close(fd);
	unlink("f");
	return 0;
}
