// RLIMIT_FSIZE: writes to a regular file stop at the limit. A write,
// pwrite, writev, pwritev, splice, sendfile or copy_file_range crossing it
// is cut short there; one starting at or past it fails with EFBIG and
// raises SIGXFSZ (SI_USER from the process itself); growing the file past
// it with truncate, ftruncate or fallocate is EFBIG and SIGXFSZ too, but
// shrinking, growing to exactly the limit and zero-length writes are not.
// Pipes and /dev/null have no such limit. With SIGXFSZ at its default
// action the process dies of it. (The sandbox let the file grow.)
#define _GNU_SOURCE
#include "dt.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define LIM 10000

static volatile int xfsz, code, same_pid;

static void on_xfsz(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	xfsz++;
	code = si->si_code;
	same_pid = si->si_pid == getpid();
}

static void sigs(const char *what)
{
	printf("  %s: SIGXFSZ x%d", what, xfsz);
	if (xfsz)
		printf(" SI_USER=%d own pid=%d", code == SI_USER, same_pid);
	printf("\n");
	xfsz = 0;
}

int main(void)
{
	dt_init();
	struct sigaction sa = {.sa_sigaction = on_xfsz, .sa_flags = SA_SIGINFO};
	sigaction(SIGXFSZ, &sa, NULL);
	struct rlimit rl = {LIM, RLIM_INFINITY};
	CHK("setrlimit", setrlimit(RLIMIT_FSIZE, &rl));
	static char buf[3 * LIM];
	memset(buf, 'x', sizeof buf);

	int fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHK("write below", write(fd, buf, LIM - 100));
	CHK("write across", write(fd, buf, 1000));
	sigs("across");
	printf("size %ld\n", dt_size(fd));
	CHK("write at", write(fd, buf, 1));
	sigs("at");
	CHK("write 0 at", write(fd, buf, 0));
	sigs("0 at");
	CHK("pwrite past", pwrite(fd, buf, 10, LIM + 5));
	sigs("pwrite past");
	CHK("pwrite across", pwrite(fd, buf, 100, LIM - 40));
	CHK("pwrite below", pwrite(fd, buf, 100, 0));
	sigs("pwrite");
	struct iovec iov[2] = {{buf, 30}, {buf, 30}};
	lseek(fd, LIM - 50, SEEK_SET);
	CHK("writev across", writev(fd, iov, 2));
	CHK("writev at", writev(fd, iov, 2));
	sigs("writev");
	CHK("pwritev across", pwritev(fd, iov, 2, LIM - 10));
	CHK("pwritev past", pwritev(fd, iov, 2, LIM));
	sigs("pwritev");
	/* A big write crossing the limit in one call. */
	CHK("ftruncate 0", ftruncate(fd, 0));
	lseek(fd, 0, SEEK_SET);
	CHK("write big", write(fd, buf, sizeof buf));
	sigs("big");

	/* O_APPEND writes at the end, which is the limit now. */
	int ap = open("f", O_WRONLY | O_APPEND);
	CHK("append at limit", write(ap, buf, 1));
	sigs("append");
	close(ap);

	/* Sizes. */
	CHK("ftruncate shrink", ftruncate(fd, 100));
	CHK("ftruncate to limit", ftruncate(fd, LIM));
	CHK("ftruncate past", ftruncate(fd, LIM + 1));
	sigs("ftruncate");
	CHK("truncate past", truncate("f", LIM * 2));
	CHK("truncate below", truncate("f", 10));
	sigs("truncate");
	CHK("fallocate to limit", fallocate(fd, 0, 0, LIM));
	CHK("fallocate past", fallocate(fd, 0, LIM - 1, 2));
	CHK("fallocate inside", fallocate(fd, 0, 100, 100));
	sigs("fallocate");
	printf("size %ld\n", dt_size(fd));

	/* splice from a pipe, sendfile and copy_file_range into the file. */
	int p[2];
	if (pipe2(p, O_NONBLOCK))
		return 1;
	CHK("pipe write", write(p[1], buf, 200));
	loff_t off = LIM - 50;
	CHK("splice across", splice(p[0], NULL, fd, &off, 200, 0));
	printf("  off %lld\n", (long long)off);
	CHK("splice past", splice(p[0], NULL, fd, &off, 100, 0));
	sigs("splice");
	int src = open("src", O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHK("src write", write(src, buf, 500));
	off_t so = 0;
	lseek(fd, LIM - 100, SEEK_SET);
	CHK("sendfile across", sendfile(fd, src, &so, 500));
	CHK("sendfile past", sendfile(fd, src, &so, 100));
	sigs("sendfile");
	loff_t in = 0, out = LIM - 20;
	CHK("copy_file_range across", copy_file_range(src, &in, fd, &out, 100, 0));
	CHK("copy_file_range past", copy_file_range(src, &in, fd, &out, 100, 0));
	sigs("copy_file_range");
	printf("size %ld\n", dt_size(fd));

	/* Not regular files: no limit. */
	int big = 2 * LIM;
	int dn = open("/dev/null", O_WRONLY);
	lseek(dn, LIM * 4, SEEK_SET);
	CHK("dev null", write(dn, buf, big));
	int q[2];
	if (pipe(q))
		return 1;
	fcntl(q[1], F_SETPIPE_SZ, 1 << 16);
	CHK("pipe", write(q[1], buf, big));
	sigs("others");

	/* The default action: the child dies of SIGXFSZ (core dump bit aside). */
	pid_t c = fork();
	if (c == 0) {
		signal(SIGXFSZ, SIG_DFL);
		pwrite(fd, buf, 1, LIM);
		_exit(0);
	}
	int st;
	waitpid(c, &st, 0);
	printf("child signaled=%d sig=%d\n", WIFSIGNALED(st), WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	/* Ignored: just EFBIG. */
	signal(SIGXFSZ, SIG_IGN);
	CHK("ignored", pwrite(fd, buf, 1, LIM));
	close(fd);
	close(src);
	unlink("f");
	unlink("src");
	return 0;
}
