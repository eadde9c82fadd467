// splice between a file and a pipe: the file side's position and count
// are checked as read/write's (a negative count, or an offset the count
// takes past the largest offset, is EINVAL); a splice into a pipe needs a
// free page buffer: into a one-page pipe that holds anything it waits
// (EAGAIN with SPLICE_F_NONBLOCK, EINTR when a signal comes) where a
// write of the same size still fits; with buffers free it moves what
// they hold.
#define _GNU_SOURCE
#include "dt.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <unistd.h>

static void on_alarm(int s)
{
	(void)s;
}

int main(void)
{
	dt_init();
	char path[] = "/tmp/splice_limits.XXXXXX";
	int f = mkstemp(path);
	static char page[4096];
	memset(page, 'x', sizeof(page));
	write(f, page, sizeof(page));
	int mem = memfd_create("sl", 0);
	int p[2];
	pipe(p);
	write(p[1], "abc", 3);
	loff_t off = 0x7ffffffffffffffeLL;
	CHK("pipe to file, offset + count overflows", splice(p[0], NULL, mem, &off, 3, 0));
	off = 0x7ffffffffffffffeLL;
	CHK("file to pipe, offset + count overflows", splice(f, &off, p[1], NULL, 3, 0));
	CHK("pipe to file, negative count", splice(p[0], NULL, mem, NULL, (size_t)-1, 0));
	CHK("file to pipe, negative count", splice(f, NULL, p[1], NULL, (size_t)-1, 0));
	CHK("pipe to file", splice(p[0], NULL, mem, NULL, 3, 0));

	/* A one-page pipe holding 4096 - 128 bytes. */
	CHK("F_SETPIPE_SZ", fcntl(p[1], F_SETPIPE_SZ, 4096));
	CHK("fill", write(p[1], page, 4096 - 128));
	off = 0;
	CHK("splice NONBLOCK into a full-buffered pipe", splice(f, &off, p[1], NULL, 4096, SPLICE_F_NONBLOCK));
	struct sigaction sa = { .sa_handler = on_alarm };
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { { 0, 0 }, { 0, 100 * 1000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	CHK("splice into it waits, interrupted", splice(f, &off, p[1], NULL, 4096, 0));
	CHK("a write still fits", write(p[1], page, 128));
	CHK("drain", read(p[0], page, 4096));

	/* Sixteen pages, one holding 100 bytes: fifteen free. */
	CHK("F_SETPIPE_SZ 64k", fcntl(p[1], F_SETPIPE_SZ, 65536));
	CHK("100 bytes", write(p[1], page, 100));
	static char big[65536];
	memset(big, 'y', sizeof(big));
	int g = memfd_create("big", 0);
	write(g, big, sizeof(big));
	off = 0;
	CHK("splice 64k into 15 free buffers", splice(g, &off, p[1], NULL, 65536, SPLICE_F_NONBLOCK));
	unlink(path);
	return 0;
}
