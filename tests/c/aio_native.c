// Linux native AIO through the raw system calls: io_setup/io_destroy,
// io_submit of PWRITE, PREAD, PWRITEV, PREADV, FSYNC, FDSYNC and POLL,
// io_getevents/io_pgetevents (min_nr, timeouts), completion through an
// eventfd (IOCB_FLAG_RESFD), io_cancel of a waiting poll, and the error
// paths (EINVAL, EBADF, EFAULT, EAGAIN-free limits), the file-size limit
// in an event's result, and a fork child that cannot use the parent's
// context. (The sandbox said ENOSYS.)
#define _GNU_SOURCE
#include "dt.h"
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long io_setup(unsigned n, aio_context_t *c) { return syscall(SYS_io_setup, n, c); }
static long io_destroy(aio_context_t c) { return syscall(SYS_io_destroy, c); }
static long io_submit(aio_context_t c, long n, struct iocb **p) { return syscall(SYS_io_submit, c, n, p); }
static long io_getevents(aio_context_t c, long min, long n, struct io_event *e, struct timespec *ts)
{
	return syscall(SYS_io_getevents, c, min, n, e, ts);
}
static long io_cancel(aio_context_t c, struct iocb *cb, struct io_event *e)
{
	return syscall(SYS_io_cancel, c, cb, e);
}

static struct iocb cb[8];
static struct iocb *cbp[8];
static struct io_event ev[8];

static void prep(int i, int op, int fd, void *buf, size_t n, long long off, unsigned long long data)
{
	memset(&cb[i], 0, sizeof cb[i]);
	cb[i].aio_lio_opcode = op;
	cb[i].aio_fildes = fd;
	cb[i].aio_buf = (unsigned long)buf;
	cb[i].aio_nbytes = n;
	cb[i].aio_offset = off;
	cb[i].aio_data = data;
	cbp[i] = &cb[i];
}

/* Prints events in aio_data order (Linux finishes syncs on a worker). */
static void show(const char *what, long n)
{
	for (long i = 1; i < n; i++)
		for (long j = i; j > 0 && ev[j - 1].data > ev[j].data; j--) {
			struct io_event x = ev[j];
			ev[j] = ev[j - 1];
			ev[j - 1] = x;
		}
	printf("%s: %ld events", what, n);
	for (long i = 0; i < n; i++)
		printf(" [data %llu obj %ld res %lld]", (unsigned long long)ev[i].data,
		       (long)((struct iocb *)(unsigned long)ev[i].obj - cb), (long long)ev[i].res);
	printf("\n");
}

int main(void)
{
	dt_init();
	aio_context_t ctx = 0, bad = 0;
	struct timespec zero = {0, 0};
	CHK("setup 0", io_setup(0, &ctx));
	CHK("setup efault", io_setup(8, BADPTR));
	bad = 1;
	CHK("setup ctx set", io_setup(8, &bad));
	CHK("setup huge", io_setup(1u << 30, &ctx));
	CHK("setup", io_setup(16, &ctx));
	FACT(ctx != 0);

	int fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
	char a[100], b[100], r1[100], r2[100];
	memset(a, 'a', sizeof a);
	memset(b, 'b', sizeof b);
	prep(0, IOCB_CMD_PWRITE, fd, a, 100, 0, 10);
	prep(1, IOCB_CMD_PWRITE, fd, b, 100, 100, 11);
	CHK("submit writes", io_submit(ctx, 2, cbp));
	printf("  aio_key %u\n", cb[0].aio_key);
	show("  events", io_getevents(ctx, 2, 8, ev, NULL));
	show("  none left", io_getevents(ctx, 0, 8, ev, &zero));
	prep(0, IOCB_CMD_PREAD, fd, r1, 100, 100, 20);
	struct iovec iov[2] = {{r2, 50}, {r2 + 50, 50}};
	prep(1, IOCB_CMD_PREADV, fd, iov, 2, 0, 21);
	prep(2, IOCB_CMD_FSYNC, fd, NULL, 0, 0, 22);
	prep(3, IOCB_CMD_FDSYNC, fd, NULL, 0, 0, 23);
	CHK("submit reads", io_submit(ctx, 4, cbp));
	/* Linux finishes syncs on a worker: wait for all four. */
	show("  events", io_getevents(ctx, 4, 8, ev, NULL));
	printf("  data ok %d %d\n", !memcmp(r1, b, 100), !memcmp(r2, a, 100));
	struct iovec wv[2] = {{b, 10}, {a, 10}};
	prep(0, IOCB_CMD_PWRITEV, fd, wv, 2, 195, 30);
	prep(1, IOCB_CMD_PREAD, fd, r1, 100, 150, 31);
	CHK("submit writev+read", io_submit(ctx, 2, cbp));
	show("  events", io_getevents(ctx, 2, 2, ev, NULL));
	printf("  read back %.5s|%.10s|%.10s\n", r1 + 40, r1 + 45, r1 + 55);

	/* POLL: a pipe with nothing, then data; a regular file is ready. */
	int p[2];
	if (pipe(p))
		return 1;
	prep(0, IOCB_CMD_POLL, p[0], (void *)POLLIN, 0, 0, 40);
	prep(1, IOCB_CMD_POLL, fd, (void *)POLLIN, 0, 0, 41);
	CHK("submit polls", io_submit(ctx, 2, cbp));
	show("  at once", io_getevents(ctx, 0, 8, ev, &zero));
	struct timespec ms20 = {0, 20000000}, t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	show("  timeout", io_getevents(ctx, 1, 8, ev, &ms20));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	FACT((t1.tv_sec - t0.tv_sec) * 1000000000L + t1.tv_nsec - t0.tv_nsec >= 20000000L);
	CHK("pipe write", write(p[1], "x", 1));
	show("  ready", io_getevents(ctx, 1, 8, ev, NULL));
	char c;
	CHK("pipe read", read(p[0], &c, 1));
	prep(0, IOCB_CMD_POLL, p[0], (void *)POLLIN, 0, 0, 42);
	CHK("submit poll", io_submit(ctx, 1, cbp));
	CHK("cancel", io_cancel(ctx, &cb[0], ev));
	show("  cancelled", io_getevents(ctx, 1, 8, ev, NULL));
	CHK("cancel again", io_cancel(ctx, &cb[0], ev));
	cb[0].aio_key = 5;
	CHK("cancel bad key", io_cancel(ctx, &cb[0], ev));
	prep(0, IOCB_CMD_POLL, fd, (void *)POLLIN, 1, 0, 43);
	CHK("poll with nbytes", io_submit(ctx, 1, cbp));
	prep(0, IOCB_CMD_POLL, fd, (void *)0x10000, 0, 0, 43);
	CHK("poll wide events", io_submit(ctx, 1, cbp));

	/* Completion counted on an eventfd. */
	int efd = eventfd(0, EFD_NONBLOCK);
	prep(0, IOCB_CMD_PREAD, fd, r1, 10, 0, 50);
	prep(1, IOCB_CMD_PREAD, fd, r2, 10, 0, 51);
	cb[0].aio_flags = cb[1].aio_flags = IOCB_FLAG_RESFD;
	cb[0].aio_resfd = cb[1].aio_resfd = efd;
	CHK("submit resfd", io_submit(ctx, 2, cbp));
	unsigned long long cnt = 0;
	CHK("eventfd read", read(efd, &cnt, 8));
	printf("  count %llu\n", cnt);
	show("  events", io_getevents(ctx, 2, 8, ev, NULL));
	cb[0].aio_resfd = fd;
	CHK("resfd not eventfd", io_submit(ctx, 1, cbp));
	cb[0].aio_resfd = 999;
	CHK("resfd bad", io_submit(ctx, 1, cbp));

	/* Errors at submission. */
	CHK("submit -1", io_submit(ctx, -1, cbp));
	CHK("submit 0", io_submit(ctx, 0, cbp));
	CHK("submit bad ctx", io_submit(ctx + 4096, 1, cbp));
	CHK("submit efault list", io_submit(ctx, 1, BADPTR));
	struct iocb *badp[1] = {BADPTR};
	CHK("submit efault iocb", io_submit(ctx, 1, badp));
	prep(0, 99, fd, r1, 10, 0, 60);
	CHK("bad opcode", io_submit(ctx, 1, cbp));
	prep(0, 99, 999, r1, 10, 0, 60);
	CHK("bad opcode bad fd", io_submit(ctx, 1, cbp));
	prep(0, IOCB_CMD_PREAD, 999, r1, 10, 0, 60);
	CHK("bad fd", io_submit(ctx, 1, cbp));
	prep(0, IOCB_CMD_PREAD, fd, r1, 10, 0, 60);
	cb[0].aio_reserved2 = 1;
	CHK("reserved2", io_submit(ctx, 1, cbp));
	int wo = open("f", O_WRONLY);
	prep(0, IOCB_CMD_PREAD, wo, r1, 10, 0, 60);
	CHK("read write-only", io_submit(ctx, 1, cbp));
	prep(0, IOCB_CMD_PREAD, fd, r1, 10, -1, 60);
	CHK("negative offset", io_submit(ctx, 1, cbp));
	prep(0, IOCB_CMD_FSYNC, fd, r1, 10, 0, 60);
	CHK("fsync with buffer", io_submit(ctx, 1, cbp));
	prep(0, IOCB_CMD_FSYNC, p[0], NULL, 0, 0, 60);
	CHK("fsync pipe", io_submit(ctx, 1, cbp));
	prep(0, IOCB_CMD_PREAD, fd, r1, 10, 0, 61);
	prep(1, 99, fd, r1, 10, 0, 62);
	CHK("second fails", io_submit(ctx, 2, cbp));
	show("  events", io_getevents(ctx, 1, 8, ev, NULL));
	/* A bad buffer is the event's result. */
	prep(0, IOCB_CMD_PREAD, fd, BADPTR, 10, 0, 63);
	CHK("read to bad buffer", io_submit(ctx, 1, cbp));
	show("  events", io_getevents(ctx, 1, 8, ev, NULL));
	/* The file-size limit (printed once lifted: stdout may be a file). */
	struct rlimit rl = {150, RLIM_INFINITY};
	signal(SIGXFSZ, SIG_IGN);
	setrlimit(RLIMIT_FSIZE, &rl);
	prep(0, IOCB_CMD_PWRITE, fd, a, 100, 100, 64);
	prep(1, IOCB_CMD_PWRITE, fd, a, 100, 200, 65);
	long sub = io_submit(ctx, 2, cbp);
	long got = io_getevents(ctx, 2, 8, ev, NULL);
	rl.rlim_cur = RLIM_INFINITY;
	setrlimit(RLIMIT_FSIZE, &rl);
	printf("writes past the limit: %ld\n", sub);
	show("  events", got);

	CHK("getevents min > nr", io_getevents(ctx, 2, 1, ev, &zero));
	CHK("getevents min < 0", io_getevents(ctx, -1, 1, ev, &zero));
	CHK("getevents bad ctx", io_getevents(ctx + 4096, 0, 1, ev, &zero));
	CHK("getevents efault timeout", io_getevents(ctx, 0, 1, ev, BADPTR));
	struct {
		sigset_t *m;
		size_t n;
	} ps = {NULL, 4};
	sigset_t m;
	sigemptyset(&m);
	ps.m = &m;
	CHK("pgetevents bad size", syscall(SYS_io_pgetevents, ctx, 0, 1, ev, &zero, &ps));
	ps.n = 8;
	CHK("pgetevents", syscall(SYS_io_pgetevents, ctx, 0, 1, ev, &zero, &ps));

	pid_t kid = fork();
	if (kid == 0) {
		prep(0, IOCB_CMD_PREAD, fd, r1, 10, 0, 70);
		CHK("child submit", io_submit(ctx, 1, cbp));
		_exit(0);
	}
	waitpid(kid, NULL, 0);

	CHK("destroy", io_destroy(ctx));
	CHK("destroy again", io_destroy(ctx));
	CHK("destroy 0", io_destroy(0));
	CHK("getevents after destroy", io_getevents(ctx, 0, 1, ev, &zero));
	close(fd);
	close(wo);
	unlink("f");
	return 0;
}
