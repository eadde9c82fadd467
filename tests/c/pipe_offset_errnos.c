// Positioned I/O on a pipe is ESPIPE even on the end that cannot do the
// I/O (Linux checks FMODE_PREAD/PWRITE before the access mode); a pipe
// size past 2^31 (fcntl's argument is an unsigned int) is EINVAL.
#include "dt.h"
#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	int p[2];
	char buf[4] = "abc";
	struct iovec iov = { buf, sizeof(buf) };
	CHK("pipe", pipe(p));
	CHK("pread read end", pread(p[0], buf, sizeof(buf), 0));
	CHK("pread write end", pread(p[1], buf, sizeof(buf), 0));
	CHK("pwrite read end", pwrite(p[0], buf, sizeof(buf), 0));
	CHK("pwrite write end", pwrite(p[1], buf, sizeof(buf), 0));
	CHK("preadv write end", preadv(p[1], &iov, 1, 0));
	CHK("pwritev read end", pwritev(p[0], &iov, 1, 0));
	CHK("preadv2 write end", preadv2(p[1], &iov, 1, 0, 0));
	CHK("pwritev2 read end", pwritev2(p[0], &iov, 1, 0, 0));
	CHK("preadv2 write end, no offset", preadv2(p[1], &iov, 1, -1, 0));
	CHK("read write end", read(p[1], buf, sizeof(buf)));
	CHK("write read end", write(p[0], buf, sizeof(buf)));
	CHK("F_SETPIPE_SZ 2^63-1 read end", fcntl(p[0], F_SETPIPE_SZ, 0x7fffffffffffffffL));
	CHK("F_SETPIPE_SZ 2^63-1 write end", fcntl(p[1], F_SETPIPE_SZ, 0x7fffffffffffffffL));
	CHK("F_SETPIPE_SZ 2^32+4096", fcntl(p[1], F_SETPIPE_SZ, 0x100001000L));
	CHK("F_GETPIPE_SZ", fcntl(p[1], F_GETPIPE_SZ));
	/* An O_PATH descriptor is no file for I/O at all: EBADF, not ESPIPE. */
	int o = open("/etc/passwd", O_PATH);
	CHK("pread O_PATH", pread(o, buf, sizeof(buf), 0));
	CHK("pwrite O_PATH", pwrite(o, buf, sizeof(buf), 0));
	CHK("preadv O_PATH", preadv(o, &iov, 1, 0));
	CHK("pwritev2 O_PATH", pwritev2(o, &iov, 1, 0, 0));
	close(o);
	close(p[0]);
	close(p[1]);
	return 0;
}
