// madvise (MADV_DONTNEED zeroes private anonymous pages, WILLNEED/NORMAL
// are accepted, EINVAL for bad advice/alignment, ENOMEM for unmapped) and
// mincore (touched pages are resident; EINVAL/ENOMEM/EFAULT).
#include "dt.h"
#include <sys/mman.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	long pg = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(p, 'a', 4 * pg);
	unsigned char vec[4] = { 0xff, 0xff, 0xff, 0xff };
	CHK("mincore", mincore(p, 4 * pg, vec));
	printf("resident: %d %d %d %d\n", vec[0] & 1, vec[1] & 1, vec[2] & 1, vec[3] & 1);
	CHK("MADV_DONTNEED page 1", madvise(p + pg, pg, MADV_DONTNEED));
	printf("after DONTNEED: page0=%c page1=%d page2=%c\n", p[0], p[pg], p[2 * pg]);
	CHK("MADV_WILLNEED", madvise(p, 4 * pg, MADV_WILLNEED));
	CHK("MADV_NORMAL", madvise(p, 4 * pg, MADV_NORMAL));
	CHK("MADV_SEQUENTIAL", madvise(p, pg, MADV_SEQUENTIAL));
	CHK("MADV_RANDOM", madvise(p, pg, MADV_RANDOM));
	CHK("MADV_DONTFORK", madvise(p, pg, MADV_DONTFORK));
	CHK("MADV_DOFORK", madvise(p, pg, MADV_DOFORK));
	CHK("bad advice", madvise(p, pg, 12345));
	CHK("unaligned", madvise(p + 1, pg, MADV_NORMAL));
	CHK("len 0", madvise(p, 0, MADV_NORMAL));
	munmap(p + 3 * pg, pg);
	CHK("range with unmapped page", madvise(p + 2 * pg, 2 * pg, MADV_WILLNEED));
	CHK("mincore unmapped", mincore(p + 3 * pg, pg, vec));
	CHK("mincore unaligned", mincore(p + 1, pg, vec));
	CHK("mincore BADPTR vec", mincore(p, pg, BADPTR));
	/* A shared anonymous page survives MADV_DONTNEED. */
	char *s = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	s[0] = 's';
	CHK("MADV_DONTNEED shared", madvise(s, pg, MADV_DONTNEED));
	printf("shared after DONTNEED: %c\n", s[0]);
	return 0;
}
