// Reads of a host file (made before the sandbox started, so its bytes are
// the host file's) into every kind of application memory: the sentry reads
// straight into the application's pages. Whole and short reads at the end
// of the file, a buffer partly unmapped or running past the end of a
// mapped file (the bytes before the bad page count, the position moves by
// them only), a MAP_SHARED mapping of another file, a buffer crossing
// from a huge-page-advised region into a regular one and from anonymous
// memory into a private file mapping, a buffer scattered over many
// pieces of memory, and a buffer that is a private mapping of the file
// being read.
// difftest: setup make
#include "dt.h"
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#define SIZE (256 * 1024 + 100)
#define PG 4096

static unsigned char pat(long i)
{
	return (unsigned char)(i * 7 + i / 251 + 3);
}

/* Whether buf holds the file's bytes from offset off. */
static int same(const unsigned char *buf, long off, long n)
{
	for (long i = 0; i < n; i++)
		if (buf[i] != pat(off + i))
			return 0;
	return 1;
}

static int make(void)
{
	static unsigned char b[SIZE];
	for (long i = 0; i < SIZE; i++)
		b[i] = pat(i);
	int fd = open("data", O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (fd < 0 || write(fd, b, SIZE) != SIZE || close(fd))
		return 1;
	/* One page: a two-page mapping of it has a page past its end. */
	fd = open("small", O_CREAT | O_WRONLY | O_TRUNC, 0644);
	return fd < 0 || write(fd, b, PG) != PG || close(fd);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "make"))
		return make();
	dt_init();
	int fd = open("data", O_RDONLY);
	CHKOK("open data", fd);

	/* Whole file in one read, larger than the file: short at the end. */
	unsigned char *big = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHK("read whole", read(fd, big, 1 << 20));
	FACT(same(big, 0, SIZE));
	CHK("read at end", read(fd, big, 1 << 20));
	CHK("pos at end", lseek(fd, 0, SEEK_CUR));
	CHK("read at end, bad buffer", read(fd, BADPTR, 10));
	CHK("pread past end", pread(fd, big, 10, SIZE + 5));
	CHK("pread last 60", pread(fd, big, 1000, SIZE - 60));
	FACT(same(big, SIZE - 60, 60));
	CHK("pread bad buffer", pread(fd, BADPTR, 10, 0));
	CHK("pread unaligned", pread(fd, big + 3, 9000, 4093));
	FACT(same(big + 3, 4093, 9000));

	/* A buffer whose third page is unmapped: the first two pages fill. */
	unsigned char *three = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHK("munmap third", munmap(three + 2 * PG, PG));
	CHK("lseek 100", lseek(fd, 100, SEEK_SET));
	CHK("read partly unmapped", read(fd, three, 3 * PG));
	FACT(same(three, 100, 2 * PG));
	CHK("pos moved by what was read", lseek(fd, 0, SEEK_CUR));
	CHK("read all unmapped", read(fd, three + 2 * PG, PG));
	CHK("pos unchanged", lseek(fd, 0, SEEK_CUR));
	CHK("read read-only page", (mprotect(three, PG, PROT_READ),
				    read(fd, three, 10)));
	CHK("pread starting read-only", pread(fd, three, 2 * PG, 0));

	/* Two pages of a one-page file: the second is past its end. */
	int sfd = open("small", O_RDONLY);
	unsigned char *sm = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE, sfd, 0);
	FACT(sm != MAP_FAILED);
	CHK("lseek 0", lseek(fd, 0, SEEK_SET));
	CHK("read into page past end of file", read(fd, sm, 2 * PG));
	FACT(same(sm, 0, PG));
	CHK("pos after", lseek(fd, 0, SEEK_CUR));
	CHK("pread at offset into it", pread(fd, sm + 100, 2 * PG, 8000));
	FACT(same(sm + 100, 8000, PG - 100));
	munmap(sm, 2 * PG);

	/* A MAP_SHARED mapping of another file (made in the sandbox): the
	 * bytes land in that file. */
	int other = open("other", O_CREAT | O_RDWR | O_TRUNC, 0600);
	CHK("ftruncate other", ftruncate(other, 4 * PG));
	unsigned char *sh = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE,
				 MAP_SHARED, other, 0);
	FACT(sh != MAP_FAILED);
	CHK("pread into shared mapping", pread(fd, sh + 10, 3 * PG, 500));
	unsigned char back[3 * PG];
	CHK("pread other back", pread(other, back, 3 * PG, 10));
	FACT(same(back, 500, 3 * PG));
	munmap(sh, 4 * PG);
	close(other);
	unlink("other");

	/* Crossing from a huge-page-advised region into a regular one. */
	unsigned char *area = mmap(NULL, 8 << 20, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *huge = (unsigned char *)(((uintptr_t)area + (2 << 20) - 1) &
						~(uintptr_t)((2 << 20) - 1));
	madvise(huge, 2 << 20, MADV_HUGEPAGE);
	madvise(huge + (2 << 20), 2 << 20, MADV_NOHUGEPAGE);
	huge[0] = 1;
	CHK("pread across huge/regular", pread(fd, huge + (2 << 20) - 5000, 70000, 1));
	FACT(same(huge + (2 << 20) - 5000, 1, 70000));

	/* Crossing from anonymous memory into a private file mapping and out
	 * again. */
	unsigned char *mix = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *fm = mmap(mix + 2 * PG, PG, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_FIXED, sfd, 0);
	FACT(fm == mix + 2 * PG);
	CHK("pread across anon/file", pread(fd, mix + PG, 2 * PG + 50, 7));
	FACT(same(mix + PG, 7, 2 * PG + 50));
	unsigned char sback[64];
	CHK("small file unchanged", pread(sfd, sback, 64, 0));
	FACT(same(sback, 0, 64));
	munmap(mix, 4 * PG);
	close(sfd);

	/* Forty pages of a shared memory object mapped in reverse order: the
	 * buffer is forty pieces of memory. */
	int mfd = memfd_create("pieces", 0);
	CHK("ftruncate memfd", ftruncate(mfd, 40 * PG));
	unsigned char *pieces = mmap(NULL, 40 * PG, PROT_NONE,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int ok = 1;
	for (int i = 0; i < 40; i++)
		ok &= mmap(pieces + i * PG, PG, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_FIXED, mfd, (39 - i) * PG) != MAP_FAILED;
	FACT(ok);
	CHK("pread into 40 pieces", pread(fd, pieces + 1, 40 * PG - 1, 33));
	FACT(same(pieces + 1, 33, 40 * PG - 1));
	CHK("pread memfd's last page", pread(mfd, back, PG, 39 * PG));
	FACT(same(back + 1, 33, PG - 1));
	munmap(pieces, 40 * PG);
	close(mfd);

	/* A private writable mapping of the file being read, read into at
	 * another offset: the mapping changes, the file does not. */
	unsigned char *self = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE, fd, 0);
	FACT(self != MAP_FAILED);
	CHK("pread into own mapping", pread(fd, self, 4 * PG, 2 * PG));
	FACT(same(self, 2 * PG, 4 * PG));
	FACT(same(self + 4 * PG, 4 * PG, 4 * PG));
	CHK("pread file after", pread(fd, back, PG, 0));
	FACT(same(back, 0, PG));
	CHK("pread overlapping own mapping", pread(fd, self + PG, 4 * PG, 5 * PG));
	FACT(same(self + PG, 5 * PG, 4 * PG));
	munmap(self, 8 * PG);

	/* A second descriptor reads the same bytes; a write-only one may not. */
	int fd2 = open("data", O_RDONLY);
	CHK("read second descriptor", read(fd2, big, 3000));
	FACT(same(big, 0, 3000));
	close(fd2);
	CHK("close", close(fd));
	return 0;
}
