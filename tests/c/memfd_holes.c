// Ranges dropped from a memfd read back as zeroes in the file and in every
// mapping: a punched hole (fallocate PUNCH_HOLE|KEEP_SIZE), MADV_REMOVE, and
// a shrink then grow (ftruncate), which also drops private copy-on-write
// pages past the end, in this process and in a forked one; pages past a
// shrunk end fault with SIGBUS. fallocate's modes and errors on a memfd
// (tmpfs) and other files.
#define _GNU_SOURCE
#include "dt.h"
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef FALLOC_FL_WRITE_ZEROES
#define FALLOC_FL_WRITE_ZEROES 0x80
#endif

static long ps;
static sigjmp_buf jb;

static void on_bus(int s)
{
	siglongjmp(jb, s);
}

/* Whether every byte of [p, p+n) is v. */
static int all(const char *p, long n, char v)
{
	for (long i = 0; i < n; i++)
		if (p[i] != v)
			return 0;
	return 1;
}

static int touch(volatile char *p)
{
	int s = sigsetjmp(jb, 1);
	if (s)
		return s;
	(void)*p;
	return 0;
}

int main(void)
{
	dt_init();
	ps = sysconf(_SC_PAGESIZE);
	signal(SIGBUS, on_bus);
	char *buf = malloc(4 * ps);

	/* The stress-ng --memfd check: private copies past a shrunk end go. */
	int m = memfd_create("holes", 0);
	CHK("ftruncate 2 pages", ftruncate(m, 2 * ps));
	char *p = mmap(0, 2 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, m, 0);
	memset(p, 0x5a, 2 * ps);
	CHK("madvise pageout", madvise(p, 2 * ps, MADV_PAGEOUT));
	CHK("shrink", ftruncate(m, ps));
	printf("past end: signal %d\n", touch(p + ps));
	CHK("grow", ftruncate(m, 2 * ps));
	FACT(all(p, ps, 0x5a));
	FACT(all(p + ps, ps, 0));
	munmap(p, 2 * ps);

	/* The same seen from a forked child's private copy. */
	CHK("ftruncate", ftruncate(m, 2 * ps));
	p = mmap(0, 2 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, m, 0);
	memset(p, 0x33, 2 * ps);
	int go[2], done[2];
	pipe(go);
	pipe(done);
	pid_t c = fork();
	if (c == 0) {
		char x;
		p[ps] = 0x44;
		write(done[1], "r", 1);
		read(go[0], &x, 1);
		_exit(all(p, ps, 0x33) && all(p + ps, ps, 0) ? 0 : 1);
	}
	char x;
	read(done[0], &x, 1);
	ftruncate(m, ps);
	ftruncate(m, 2 * ps);
	write(go[1], "g", 1);
	int st;
	waitpid(c, &st, 0);
	printf("child saw zeroes: %d\n", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	FACT(all(p + ps, ps, 0));
	munmap(p, 2 * ps);

	/* Shared mappings: a shrunk end faults, a punched hole reads zero. */
	CHK("ftruncate 4 pages", ftruncate(m, 4 * ps));
	char *s = mmap(0, 4 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
	memset(s, 0x77, 4 * ps);
	CHK("shrink shared", ftruncate(m, 3 * ps + 10));
	printf("shared past end: signal %d\n", touch(s + 3 * ps + ps - 1));
	FACT(all(s + 3 * ps, 10, 0x77));
	FACT(all(s + 3 * ps + 10, ps - 10, 0));
	CHK("shrink shared more", ftruncate(m, 2 * ps));
	printf("shared page past end: signal %d\n", touch(s + 3 * ps));
	CHK("grow shared", ftruncate(m, 4 * ps));
	printf("shared grown: signal %d\n", touch(s + 3 * ps));
	FACT(all(s + 3 * ps + 10, ps - 10, 0));
	memset(s, 0x77, 4 * ps);
	CHK("punch", fallocate(m, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, ps + 100, ps + 200));
	printf("size=%ld\n", dt_size(m) / ps);
	FACT(all(s, ps + 100, 0x77));
	FACT(all(s + ps + 100, ps + 200, 0));
	FACT(all(s + 2 * ps + 300, 2 * ps - 300, 0x77));
	CHK("pread", pread(m, buf, 4 * ps, 0));
	FACT(all(buf + ps + 100, ps + 200, 0));
	FACT(all(buf + 2 * ps + 300, ps - 300, 0x77));
	CHK("punch past end", fallocate(m, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 3 * ps, 8 * ps));
	printf("size=%ld\n", dt_size(m) / ps);
	FACT(all(s + 3 * ps, ps, 0));

	/* MADV_REMOVE drops the file's pages, not just this mapping's. */
	memset(s, 0x11, 4 * ps);
	CHK("madvise remove", madvise(s + ps, 2 * ps, MADV_REMOVE));
	CHK("pread", pread(m, buf, 4 * ps, 0));
	FACT(all(buf, ps, 0x11));
	FACT(all(buf + ps, 2 * ps, 0));
	FACT(all(buf + 3 * ps, ps, 0x11));
	FACT(all(s + ps, 2 * ps, 0));
	char *q = mmap(0, ps, PROT_READ, MAP_SHARED, m, ps);
	FACT(all(q, ps, 0));
	munmap(q, ps);
	char *anon = mmap(0, ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHK("madvise remove private anon", madvise(anon, ps, MADV_REMOVE));
	char *sanon = mmap(0, 2 * ps, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	memset(sanon, 9, 2 * ps);
	CHK("madvise remove shared anon", madvise(sanon, ps, MADV_REMOVE));
	FACT(all(sanon, ps, 0) && all(sanon + ps, ps, 9));
	char *priv = mmap(0, ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, m, 0);
	CHK("madvise remove private file", madvise(priv, ps, MADV_REMOVE));
	CHK("madvise remove unmapped", madvise(anon + 512 * ps, ps, MADV_REMOVE));

	/* fallocate modes tmpfs takes and refuses. */
	CHK("allocate grows", fallocate(m, 0, 0, 6 * ps));
	printf("size=%ld\n", dt_size(m) / ps);
	CHK("keep size", fallocate(m, FALLOC_FL_KEEP_SIZE, 0, 9 * ps));
	printf("size=%ld\n", dt_size(m) / ps);
	CHK("punch no keep", fallocate(m, FALLOC_FL_PUNCH_HOLE, 0, ps));
	CHK("zero range", fallocate(m, FALLOC_FL_ZERO_RANGE, 0, ps));
	CHK("zero range keep", fallocate(m, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0, ps));
	CHK("punch|zero", fallocate(m, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0, ps));
	CHK("collapse", fallocate(m, FALLOC_FL_COLLAPSE_RANGE, 0, ps));
	CHK("collapse keep", fallocate(m, FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_KEEP_SIZE, 0, ps));
	CHK("insert", fallocate(m, FALLOC_FL_INSERT_RANGE, 0, ps));
	CHK("unshare", fallocate(m, FALLOC_FL_UNSHARE_RANGE, 0, ps));
	CHK("write zeroes", fallocate(m, FALLOC_FL_WRITE_ZEROES, 0, ps));
	CHK("unknown mode", fallocate(m, 0x1000, 0, ps));
	CHK("len 0", fallocate(m, 0, 0, 0));
	CHK("negative offset", fallocate(m, 0, -1, ps));
	CHK("overflow", fallocate(m, 0, 0x7fffffffffff0000L, 0x20000));
	CHK("bad fd", fallocate(999, 0, 0, ps));
	int pp[2];
	pipe(pp);
	CHK("pipe", fallocate(pp[1], 0, 0, ps));
	CHK("pipe read end", fallocate(pp[0], 0, 0, ps));
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	CHK("socket", fallocate(sv[0], 0, 0, ps));
	int d = open(".", O_RDONLY | O_DIRECTORY);
	CHK("directory", fallocate(d, 0, 0, ps));
	int n = open("/dev/null", O_WRONLY);
	CHK("/dev/null", fallocate(n, 0, 0, ps));
	return 0;
}
