// /proc/self/io counts the read and write families' calls and bytes,
// those of exited threads and of reaped children (as Linux does); calls on
// a bad descriptor are not counted. Printed as differences, which are the
// same natively and in the sandbox.
#include "dt.h"
#include <fcntl.h>
#include <pthread.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

struct io { long rchar, wchar, syscr, syscw; };

static int fd_null, fd_zero;

static struct io get(void)
{
	static char buf[512];
	struct io v = { -1, -1, -1, -1 };
	int fd = open("/proc/self/io", O_RDONLY);
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	sscanf(buf, "rchar: %ld\nwchar: %ld\nsyscr: %ld\nsyscw: %ld", &v.rchar, &v.wchar, &v.syscr, &v.syscw);
	return v;
}

/* Differences from `a` to `b`, minus the one read and one open that
 * reading /proc/self/io itself costs in between. */
static void show(const char *what, struct io a, struct io b)
{
	printf("%s: syscr+%ld syscw+%ld wchar+%ld rchar_at_least=%d\n", what, b.syscr - a.syscr - 1,
	       b.syscw - a.syscw, b.wchar - a.wchar, b.rchar - a.rchar >= 0);
}

static void *thread_fn(void *arg)
{
	(void)arg;
	char b[100] = { 0 };
	write(fd_null, b, 100);
	write(fd_null, b, 50);
	return NULL;
}

int main(void)
{
	dt_init();
	fd_null = open("/dev/null", O_WRONLY);
	fd_zero = open("/dev/zero", O_RDONLY);
	char b[4096] = { 0 };
	struct io a = get();
	FACT(a.rchar >= 0 && a.syscr >= 1);
	struct io x = get();
	write(fd_null, b, 1000);
	pwrite(fd_null, b, 24, 0);
	struct iovec iov[2] = { { b, 10 }, { b, 20 } };
	writev(fd_null, iov, 2);
	read(fd_zero, b, 300);
	readv(fd_zero, iov, 2);
	write(999, b, 10);
	read(999, b, 10);
	struct io y = get();
	show("own calls", x, y);
	FACT(y.rchar - x.rchar >= 330);

	pthread_t th;
	pthread_create(&th, NULL, thread_fn, NULL);
	pthread_join(th, NULL);
	struct io z = get();
	show("after an exited thread", y, z);

	pid_t pid = fork();
	if (pid == 0) {
		write(fd_null, b, 7);
		write(fd_null, b, 7);
		write(fd_null, b, 7);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	struct io w = get();
	show("after a reaped child", z, w);
	return 0;
}
