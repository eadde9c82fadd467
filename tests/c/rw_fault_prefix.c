// read/write/readv/writev sizes and faults: a write to a regular file from
// a buffer that faults part-way keeps what came before the fault (a
// PROT_NONE page, a file page past the end of its file); an iovec outside
// the user address range is EFAULT even when empty; transfers larger than
// one internal step (regular files, /dev/zero) complete in one call.
#include "dt.h"
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#define BIG (16 << 20)

int main(void)
{
	dt_init();
	long pg = sysconf(_SC_PAGESIZE);
	int fd = open("out", O_CREAT | O_RDWR | O_TRUNC, 0600);

	/* Two readable pages, the second then made PROT_NONE. */
	char *a = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(a, 'a', 2 * pg);
	CHK("mprotect second page none", mprotect(a + pg, pg, PROT_NONE));
	struct iovec two[2] = { { a, pg }, { a, 2 * pg } };
	CHK("pwritev across PROT_NONE (2 pages)", pwritev(fd, two, 2, 0));
	CHK("pwrite across PROT_NONE (1 page)", pwrite(fd, a, 2 * pg, 0));
	CHK("write from PROT_NONE only", write(fd, a + pg, pg));
	struct iovec bad_first[2] = { { a + pg, pg }, { a, pg } };
	CHK("writev first iovec bad", writev(fd, bad_first, 2));
	int p[2];
	CHK("pipe", pipe(p));
	CHK("write to pipe across PROT_NONE", write(p[1], a + pg - 16, 32));
	CHK("size", lseek(fd, 0, SEEK_END));

	/* A file mapping past the end of its one-page file (SIGBUS there). */
	int mf = open("map", O_CREAT | O_RDWR | O_TRUNC, 0600);
	CHK("ftruncate map 1 page", ftruncate(mf, pg));
	char *m = mmap(NULL, 2 * pg, PROT_READ, MAP_PRIVATE, mf, 0);
	FACT(m != MAP_FAILED);
	struct iovec past[2] = { { m, pg }, { m, 2 * pg } };
	CHK("pwritev across end of mapped file (2 pages)", pwritev(fd, past, 2, 0));
	CHK("pwrite across end of mapped file (1 page)", pwrite(fd, m, 2 * pg, 0));

	/* An iovec outside the address range, empty or not. */
	char buf[64];
	struct iovec out[2] = { { (void *)~(uintptr_t)0, 0 }, { buf, sizeof(buf) } };
	CHK("readv empty iovec at ~0", readv(fd, out, 2));
	CHK("writev empty iovec at ~0", writev(fd, out, 2));
	CHK("preadv empty iovec at ~0", preadv(fd, out, 2, 0));
	struct iovec high[1] = { { (void *)(1UL << 47), 0 } };
	CHK("readv empty iovec at 1<<47", readv(fd, high, 1));
	struct iovec null0[2] = { { NULL, 0 }, { buf, sizeof(buf) } };
	CHK("preadv NULL empty iovec then buffer", preadv(fd, null0, 2, 0));
	struct iovec neg[2] = { { (void *)~(uintptr_t)0, 1 }, { buf, (size_t)-1 } };
	CHK("readv negative length after bad base (EINVAL first)", readv(fd, neg, 2));

	/* Large transfers in one call. */
	char *big = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(big, 'b', BIG);
	struct iovec w3[3] = { { big, BIG / 4 }, { big + BIG / 4, BIG / 2 }, { big + 3 * (BIG / 4), BIG / 4 } };
	CHK("pwritev 16 MiB", pwritev(fd, w3, 3, 0));
	CHK("write 16 MiB", write(fd, big, BIG));
	memset(big, 0, BIG);
	CHK("preadv 16 MiB", preadv(fd, w3, 3, 0));
	FACT(big[BIG - 1] == 'b' && big[BIG / 2] == 'b');
	CHK("lseek 0", lseek(fd, 0, SEEK_SET));
	memset(big, 0, BIG);
	CHK("readv 16 MiB", readv(fd, w3, 3));
	FACT(big[BIG - 1] == 'b');
	int z = open("/dev/zero", O_RDONLY);
	memset(big, 1, BIG);
	CHK("readv /dev/zero 16 MiB", readv(z, w3, 3));
	FACT(big[BIG - 1] == 0 && big[0] == 0);
	memset(big, 1, BIG);
	CHK("read /dev/zero 16 MiB", read(z, big, BIG));
	FACT(big[BIG - 1] == 0);
	CHK("read /dev/zero across PROT_NONE", read(z, a, 2 * pg));
	int u = open("/dev/urandom", O_RDONLY);
	CHK("read /dev/urandom 16 MiB", read(u, big, BIG));

	unlink("out");
	unlink("map");
	return 0;
}
