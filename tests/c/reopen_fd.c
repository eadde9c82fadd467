// Opening /proc/self/fd/N and /dev/fd/N reopens the object as Linux does:
// pipes in any access mode, memfds and (deleted) files with their own
// offset and access mode; sockets and anonymous files fail with ENXIO;
// stat through the link shows the object; /dev/stdin reads stdin.
// difftest: stdin line one\nline two\n
#define _GNU_SOURCE
#include "dt.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

static int reopen(const char *dir, int fd, int flags)
{
	char p[64];
	snprintf(p, sizeof(p), "%s/%d", dir, fd);
	return open(p, flags);
}

static void try(const char *what, int fd, int flags)
{
	int r = reopen("/proc/self/fd", fd, flags);
	printf("%s: %s\n", what, r >= 0 ? "ok" : dt_errname(errno));
	if (r >= 0)
		close(r);
	r = reopen("/dev/fd", fd, flags);
	printf("%s via /dev/fd: %s\n", what, r >= 0 ? "ok" : dt_errname(errno));
	if (r >= 0)
		close(r);
}

int main(void)
{
	dt_init();
	char b[64] = {0};
	int in = open("/dev/stdin", O_RDONLY);
	CHK("read /dev/stdin", read(in, b, sizeof(b) - 1));
	printf("stdin: %s", b);

	int p[2];
	pipe(p);
	try("pipe read end O_RDONLY", p[0], O_RDONLY);
	try("pipe write end O_RDONLY", p[1], O_RDONLY);
	try("pipe read end O_RDWR", p[0], O_RDWR);
	int w = reopen("/proc/self/fd", p[1], O_WRONLY);
	CHK("write via reopened", write(w, "via reopen", 10));
	close(w);
	int r = reopen("/dev/fd", p[1], O_RDONLY);
	memset(b, 0, sizeof(b));
	CHK("read via reopened write end", read(r, b, sizeof(b)));
	printf("got %s\n", b);
	close(r);
	struct stat st, fst;
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", p[0]);
	CHK("stat through link", stat(path, &st));
	fstat(p[0], &fst);
	FACT(S_ISFIFO(st.st_mode));
	FACT(st.st_ino == fst.st_ino && st.st_dev == fst.st_dev);
	/* A reopened end keeps the pipe open: closing the originals does not
	 * end it. */
	int keep = reopen("/proc/self/fd", p[1], O_WRONLY);
	close(p[1]);
	write(keep, "k", 1);
	CHK("read after original writer closed", read(p[0], b, 1));
	close(keep);
	CHK("end of file", read(p[0], b, 1));

	int m = memfd_create("re", 0);
	write(m, "memfd data", 10);
	int m2 = reopen("/proc/self/fd", m, O_RDONLY);
	CHK("memfd reopened read", read(m2, b, 4));
	printf("memfd offsets: %ld %ld\n", (long)lseek(m, 0, SEEK_CUR), (long)lseek(m2, 0, SEEK_CUR));
	CHK("write to O_RDONLY reopen", write(m2, "x", 1));
	close(m2);

	int f = open("gone", O_CREAT | O_RDWR | O_TRUNC, 0600);
	write(f, "deleted", 7);
	unlink("gone");
	int f2 = reopen("/dev/fd", f, O_RDONLY);
	memset(b, 0, sizeof(b));
	CHK("deleted file reopened", read(f2, b, sizeof(b)));
	printf("got %s\n", b);

	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	try("socket", sv[0], O_RDWR);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", sv[0]);
	CHK("stat socket through link", stat(path, &st));
	FACT(S_ISSOCK(st.st_mode));
	try("eventfd", eventfd(0, 0), O_RDWR);
	try("epoll", epoll_create1(0), O_RDONLY);
	try("timerfd", timerfd_create(CLOCK_MONOTONIC, 0), O_RDONLY);
	sigset_t ss;
	sigemptyset(&ss);
	try("signalfd", signalfd(-1, &ss, 0), O_RDONLY);
	try("closed descriptor", 900, O_RDONLY);
	return 0;
}
