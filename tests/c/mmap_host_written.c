/* A host file of 1 MiB (made before the run, so the sandbox finds it on
 * the host, in a volume: written through) mapped private and shared while
 * it is written, truncated and grown through its descriptor: every page
 * shows what Linux shows. A write into a part of the file no mapping
 * touched yet keeps the bytes around it; pages wholly past a truncation
 * fault with SIGBUS (the sandbox's host mappings of the file's page cache
 * used to stay: they read the old bytes); grown again the cut part reads
 * zero; a private mapping's own write reaches neither the file nor the
 * other mappings. Pages are first touched far apart, then all. */
// difftest: volume
// difftest: setup make
#include "dt.h"
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SIZE (1 << 20)
#define NAME "mmap_host_written.dat"

static unsigned char pat(long at) { return (unsigned char)(at * 7 % 253); }

static sigjmp_buf env;

static void on_bus(int sig) {
	(void)sig;
	siglongjmp(env, 1);
}

/* Reads one byte, reporting SIGBUS as -1. */
static int peek(volatile unsigned char *p) {
	if (sigsetjmp(env, 1))
		return -1;
	return *p;
}

/* How many of [from, to) differ from the pattern (or from `fill` when
 * it is not -1). */
static long bad(const unsigned char *m, long from, long to, int fill) {
	long n = 0;
	for (long i = from; i < to; i++)
		if (m[i] != (fill < 0 ? pat(i) : (unsigned char)fill))
			n++;
	return n;
}

int main(int argc, char **argv) {
	dt_init();
	if (argc > 1 && strcmp(argv[1], "make") == 0) {
		unsigned char *buf = malloc(SIZE);
		for (long i = 0; i < SIZE; i++)
			buf[i] = pat(i);
		int fd = open(NAME, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || write(fd, buf, SIZE) != SIZE)
			return 1;
		close(fd);
		free(buf);
		return 0;
	}
	signal(SIGBUS, on_bus);
	int fd = open(NAME, O_RDWR);
	CHK("open", fd >= 0 ? 0 : -1);
	unsigned char *m = mmap(NULL, SIZE, PROT_READ, MAP_PRIVATE, fd, 0);
	unsigned char *s = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	unsigned char *p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	FACT(m != MAP_FAILED && s != MAP_FAILED && p != MAP_FAILED);

	/* Scattered first touches: holes stay between them. */
	printf("m[5000]=%d m[900000]=%d\n", m[5000] == pat(5000), m[900000] == pat(900000));
	printf("p[400000]=%d\n", p[400000] == pat(400000));

	/* Written through the descriptor where nothing was touched yet. */
	CHK("pwrite 300000", pwrite(fd, "WW", 2, 300000));
	printf("m sees write: %d %d, around intact: %ld\n", m[300000] == 'W',
	       s[300001] == 'W', bad(m, 262144, 300000, -1) + bad(m, 300002, 393216, -1));

	/* Written through the shared mapping, read back through the file. */
	s[700000] = 'S';
	unsigned char c[3] = {0};
	CHK("pread 699999", pread(fd, c, 3, 699999));
	printf("shared write: pread %d%d%d m %d\n", c[0] == pat(699999), c[1] == 'S',
	       c[2] == pat(700001), m[700000] == 'S');

	/* The private mapping's own page. */
	p[500000] = 'P';
	CHK("pread 500000", pread(fd, c, 1, 500000));
	printf("private write: own %d file %d m %d\n", p[500000] == 'P', c[0] == pat(500000),
	       m[500000] == pat(500000));

	/* Whole mapping: the pattern everywhere but the written bytes. */
	long diff = bad(m, 0, SIZE, -1);
	printf("m differs at %ld bytes\n", diff);
	diff = bad(p, 0, SIZE, -1);
	printf("p differs at %ld bytes\n", diff);

	/* Truncated mid-file: the page holding the end reads, zero after the
	 * end; pages wholly past it fault. */
	long end = 600000 + 100;
	CHK("ftruncate small", ftruncate(fd, end));
	printf("at end-1: %d, past end in page: %d, next page: %d, far: %d\n",
	       peek(m + end - 1) == pat(end - 1), peek(m + end + 10),
	       peek(m + (end | 4095) + 1), peek(m + 1000000));
	printf("private own page below end: %d\n", peek(p + 500000) == 'P');

	/* Grown again: the cut part reads zero in every mapping and the file. */
	CHK("ftruncate big", ftruncate(fd, SIZE));
	printf("after growing: m zero %d s zero %d\n", bad(m, end, SIZE, 0) == 0,
	       bad(s, end, SIZE, 0) == 0);
	CHK("pread 800000", pread(fd, c, 1, 800000));
	printf("file at 800000: %d; below end intact: %ld\n", c[0],
	       bad(m, 0, 300000, -1) + bad(m, 300002, 500000, -1));

	CHK("munmap", munmap(m, SIZE) + munmap(s, SIZE) + munmap(p, SIZE));
	close(fd);
	CHK("unlink", unlink(NAME));
	return 0;
}
