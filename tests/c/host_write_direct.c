// Writes to a host file (the working directory is a volume, so the bytes
// go through to the host file): the sentry writes straight from the
// application's pages. Large writes read back, a buffer whose second page
// is unreadable (the first page is written and counted), O_APPEND with
// write and pwrite, the file-size limit cutting a write short and then
// refusing it, a buffer that is a shared mapping of the file written, a
// private mapping of another file as the source, and a mapping made
// after the writes seeing them.
// difftest: volume
#include "dt.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define PG 4096

static unsigned char pat(long i)
{
	return (unsigned char)(i * 13 + i / 509 + 1);
}

static int same(const unsigned char *buf, long off, long n)
{
	for (long i = 0; i < n; i++)
		if (buf[i] != pat(off + i))
			return 0;
	return 1;
}

static long size_of(int fd)
{
	struct stat st;
	return fstat(fd, &st) ? -1 : (long)st.st_size;
}

int main(void)
{
	dt_init();
	long n = 3 << 20;
	unsigned char *src = mmap(NULL, n, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (long i = 0; i < n; i++)
		src[i] = pat(i);
	unsigned char *back = mmap(NULL, n + 65536, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	int fd = open("out", O_CREAT | O_RDWR | O_TRUNC, 0644);
	CHKOK("open out", fd);
	CHK("write 3 MiB", write(fd, src, n));
	CHK("pos", lseek(fd, 0, SEEK_CUR));
	CHK("pwrite unaligned", pwrite(fd, src + 5, 10000, n + 5));
	printf("size=%ld\n", size_of(fd));
	CHK("pread back", pread(fd, back, n + 20000, 0));
	FACT(same(back, 0, n));
	FACT(back[n] == 0 && back[n + 4] == 0);
	FACT(same(back + n + 5, 5, 10000));

	/* Second page unreadable: the first is written. */
	unsigned char *two = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memcpy(two, src, PG);
	CHK("mprotect second page", mprotect(two + PG, PG, PROT_NONE));
	int g = open("partial", O_CREAT | O_RDWR | O_TRUNC, 0644);
	CHK("write partly unreadable", write(g, two, 2 * PG));
	CHK("pos after", lseek(g, 0, SEEK_CUR));
	printf("partial size=%ld\n", size_of(g));
	CHK("write unreadable", write(g, two + PG, 10));
	CHK("pwrite unreadable", pwrite(g, BADPTR, 10, 0));
	printf("partial size=%ld\n", size_of(g));
	CHK("pread partial", pread(g, back, 2 * PG, 0));
	FACT(same(back, 0, PG));

	/* O_APPEND: write and pwrite both append. */
	int a = open("partial", O_WRONLY | O_APPEND);
	CHK("append write", write(a, src + PG, 100));
	CHK("append pwrite", pwrite(a, src + PG + 100, 50, 0));
	CHK("append pos", lseek(a, 0, SEEK_CUR));
	printf("partial size=%ld\n", size_of(g));
	CHK("pread appended", pread(g, back, 2 * PG, 0));
	FACT(same(back, 0, PG + 150));
	close(a);

	/* The file-size limit: a write crossing it is cut, one at it fails. */
	signal(SIGXFSZ, SIG_IGN);
	struct rlimit rl = {PG + 1000, RLIM_INFINITY};
	CHK("setrlimit FSIZE", setrlimit(RLIMIT_FSIZE, &rl));
	CHK("lseek PG", lseek(g, PG, SEEK_SET));
	CHK("write crossing limit", write(g, src, 3000));
	CHK("write at limit", write(g, src, 10));
	CHK("pwrite past limit", pwrite(g, src, 10, PG + 2000));
	rl.rlim_cur = RLIM_INFINITY;
	CHK("setrlimit back", setrlimit(RLIMIT_FSIZE, &rl));
	close(g);
	unlink("partial");

	/* The source is a shared mapping of the file being written. */
	unsigned char *map = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE,
				  MAP_SHARED, fd, 0);
	FACT(map != MAP_FAILED);
	CHK("pwrite from own mapping", pwrite(fd, map, 2 * PG, 8 * PG));
	FACT(same(map + 0, 0, 2 * PG));
	CHK("pread moved bytes", pread(fd, back, 2 * PG, 8 * PG));
	FACT(same(back, 0, 2 * PG));
	CHK("pwrite into mapped range", pwrite(fd, src + 100, 300, 10));
	FACT(same(map + 10, 100, 300));
	map[0] = 0xee;
	CHK("pread sees mapping's store", pread(fd, back, 1, 0));
	FACT(back[0] == 0xee);
	munmap(map, 4 * PG);

	/* A private mapping of another file as the source. */
	int h = open("src", O_CREAT | O_RDWR | O_TRUNC, 0644);
	CHK("write src", write(h, src + 7, 3 * PG));
	unsigned char *pm = mmap(NULL, 3 * PG, PROT_READ, MAP_PRIVATE, h, 0);
	FACT(pm != MAP_FAILED);
	int k = open("copy", O_CREAT | O_RDWR | O_TRUNC, 0644);
	CHK("write from file mapping", write(k, pm + 1, 3 * PG - 1));
	CHK("pread copy", pread(k, back, 3 * PG, 0));
	FACT(same(back, 8, 3 * PG - 1));
	munmap(pm, 3 * PG);

	/* A mapping made after writes sees them; writes after it show in it. */
	unsigned char *late = mmap(NULL, 2 * PG, PROT_READ, MAP_SHARED, k, 0);
	FACT(late != MAP_FAILED && same(late, 8, 2 * PG));
	CHK("pwrite after mapping", pwrite(k, src, 100, 50));
	FACT(same(late + 50, 0, 100));
	munmap(late, 2 * PG);
	close(k);
	close(h);
	unlink("copy");
	unlink("src");
	CHK("close", close(fd));
	CHK("unlink", unlink("out"));
	return 0;
}
