// splice/tee/vmsplice: file <-> pipe with and without offsets, pipe ->
// pipe, sockets, SPLICE_F_NONBLOCK, end of file, and the errors (EINVAL
// when neither end is a pipe, ESPIPE for pipe offsets, EBADF, EFAULT,
// EPIPE).
#define _GNU_SOURCE
#include "dt.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

static void drain(const char *what, int fd)
{
	char b[256] = {0};
	int n = read(fd, b, sizeof(b) - 1);
	printf("%s: %d [%s]\n", what, n, n > 0 ? b : "");
}

int main(void)
{
	dt_init();
	signal(SIGPIPE, SIG_IGN);
	int f = open("sp", O_CREAT | O_RDWR | O_TRUNC, 0644);
	write(f, "0123456789abcdefghij", 20);
	int p[2], q[2];
	pipe(p);
	pipe(q);

	loff_t off = 5;
	CHK("file->pipe at offset", splice(f, &off, p[1], NULL, 6, 0));
	printf("off=%ld pos=%ld\n", (long)off, (long)lseek(f, 0, SEEK_CUR));
	drain("pipe", p[0]);
	lseek(f, 2, SEEK_SET);
	CHK("file->pipe at position", splice(f, NULL, p[1], NULL, 3, 0));
	printf("pos=%ld\n", (long)lseek(f, 0, SEEK_CUR));
	drain("pipe", p[0]);
	lseek(f, 18, SEEK_SET);
	CHK("file->pipe near end", splice(f, NULL, p[1], NULL, 100, 0));
	CHK("file->pipe at end", splice(f, NULL, p[1], NULL, 100, 0));
	drain("pipe", p[0]);

	write(p[1], "PIPED", 5);
	off = 30;
	CHK("pipe->file at offset", splice(p[0], NULL, f, &off, 100, 0));
	printf("off=%ld size=%ld\n", (long)off, (long)lseek(f, 0, SEEK_END));
	char b[64] = {0};
	pread(f, b, 5, 30);
	printf("file has [%s]\n", b);
	lseek(f, 0, SEEK_SET);
	write(p[1], "head", 4);
	CHK("pipe->file partial", splice(p[0], NULL, f, NULL, 2, 0));
	printf("pos=%ld\n", (long)lseek(f, 0, SEEK_CUR));
	drain("rest", p[0]);

	write(p[1], "through", 7);
	CHK("pipe->pipe", splice(p[0], NULL, q[1], NULL, 100, 0));
	drain("other pipe", q[0]);
	CHK("pipe->same pipe", splice(p[0], NULL, p[1], NULL, 1, 0));

	/* tee copies without taking. */
	write(p[1], "teed", 4);
	CHK("tee", tee(p[0], q[1], 100, 0));
	drain("tee copy", q[0]);
	drain("tee source", p[0]);
	CHK("tee nonblock empty", tee(p[0], q[1], 100, SPLICE_F_NONBLOCK));
	CHK("tee file", tee(f, q[1], 1, 0));
	CHK("tee same", tee(p[0], p[1], 1, 0));
	CHK("tee bad flags", tee(p[0], q[1], 1, 0x10));
	CHK("tee len 0", tee(p[0], q[1], 0, 0));

	/* Sockets. */
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	write(p[1], "to socket", 9);
	CHK("pipe->socket", splice(p[0], NULL, sv[0], NULL, 100, 0));
	drain("socket", sv[1]);
	write(sv[1], "from socket", 11);
	CHK("socket->pipe", splice(sv[0], NULL, p[1], NULL, 100, 0));
	drain("pipe", p[0]);
	CHK("socket->pipe nonblock", splice(sv[0], NULL, p[1], NULL, 100, SPLICE_F_NONBLOCK));

	/* Non-blocking and end of file. */
	CHK("empty pipe nonblock", splice(p[0], NULL, f, NULL, 10, SPLICE_F_NONBLOCK));
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	CHK("empty O_NONBLOCK pipe", splice(p[0], NULL, f, NULL, 10, 0));
	fcntl(p[0], F_SETFL, 0);
	char big[65536];
	memset(big, 'x', sizeof(big));
	fcntl(q[1], F_SETFL, O_NONBLOCK);
	while (write(q[1], big, sizeof(big)) > 0)
		;
	fcntl(q[1], F_SETFL, 0);
	CHK("into full pipe nonblock", splice(f, &off, q[1], NULL, 10, SPLICE_F_NONBLOCK));
	write(p[1], "zz", 2);
	CHK("pipe->full pipe nonblock", splice(p[0], NULL, q[1], NULL, 10, SPLICE_F_NONBLOCK));
	drain("kept", p[0]);
	close(q[0]);
	write(p[1], "zz", 2);
	CHK("pipe->pipe without readers", splice(p[0], NULL, q[1], NULL, 10, 0));
	int e[2];
	pipe(e);
	write(e[1], "last", 4);
	close(e[1]);
	CHK("until end", splice(e[0], NULL, f, &off, 10, 0));
	CHK("at end", splice(e[0], NULL, f, &off, 10, 0));

	/* vmsplice. */
	char x1[] = "vm", x2[] = "splice";
	struct iovec iov[2] = {{x1, 2}, {x2, 6}};
	CHK("vmsplice to pipe", vmsplice(p[1], iov, 2, 0));
	char r1[3] = {0}, r2[8] = {0};
	struct iovec riov[2] = {{r1, 2}, {r2, 7}};
	CHK("vmsplice from pipe", vmsplice(p[0], riov, 2, 0));
	printf("got [%s][%s]\n", r1, r2);
	CHK("vmsplice empty nonblock", vmsplice(p[0], riov, 2, SPLICE_F_NONBLOCK));
	CHK("vmsplice file", vmsplice(f, iov, 2, 0));
	CHK("vmsplice bad flags", vmsplice(p[1], iov, 2, 0x10));
	CHK("vmsplice bad iovec", vmsplice(p[1], (void *)8, 1, 0));
	CHK("vmsplice bad fd", vmsplice(999, iov, 2, 0));
	CHK("vmsplice nothing", vmsplice(p[1], iov, 0, 0));

	/* Errors. */
	int g = open("sp2", O_CREAT | O_RDWR | O_TRUNC, 0644);
	CHK("file->file", splice(f, NULL, g, NULL, 10, 0));
	off = 0;
	CHK("pipe with in offset", splice(p[0], &off, f, NULL, 10, 0));
	CHK("pipe with out offset", splice(f, NULL, p[1], &off, 10, 0));
	CHK("bad flags", splice(p[0], NULL, f, NULL, 10, 0x10));
	CHK("len 0", splice(999, NULL, 998, NULL, 0, 0));
	CHK("bad in fd", splice(999, NULL, p[1], NULL, 10, 0));
	CHK("bad out fd", splice(p[0], NULL, 999, NULL, 10, 0));
	CHK("write end as input", splice(p[1], NULL, f, NULL, 10, 0));
	CHK("bad offset pointer", splice(f, (void *)8, p[1], NULL, 10, 0));
	off = -1;
	CHK("negative offset", splice(f, &off, p[1], NULL, 10, 0));
	int ap = open("sp2", O_WRONLY | O_APPEND);
	write(p[1], "a", 1);
	CHK("into O_APPEND", splice(p[0], NULL, ap, NULL, 10, 0));
	int ro = open("sp2", O_RDONLY);
	CHK("into read-only", splice(p[0], NULL, ro, NULL, 10, 0));
	int d = open(".", O_RDONLY | O_DIRECTORY);
	CHK("directory->pipe", splice(d, NULL, p[1], NULL, 10, 0));
	unlink("sp");
	unlink("sp2");
	return 0;
}
