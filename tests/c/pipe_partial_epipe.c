// A blocking pipe write that has written part of its buffer when the
// last reader closes returns the partial count (with SIGPIPE); the next
// write fails with EPIPE (and SIGPIPE again).
#include "dt.h"
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

static volatile sig_atomic_t sigpipes;
static int p[2];
static int cap;
static long first, second;
static int second_errno;

static void on_pipe(int sig)
{
	(void)sig;
	sigpipes++;
}

static void *writer(void *arg)
{
	(void)arg;
	size_t n = 2 * (size_t)cap;
	char *buf = calloc(1, n);
	first = write(p[1], buf, n);
	errno = 0;
	second = write(p[1], buf, n);
	second_errno = errno;
	free(buf);
	return NULL;
}

int main(void)
{
	dt_init();
	signal(SIGPIPE, on_pipe);
	CHK("pipe", pipe(p));
	cap = fcntl(p[1], F_GETPIPE_SZ);
	pthread_t th;
	pthread_create(&th, NULL, writer, NULL);
	// Let the writer fill the pipe and block.
	for (int i = 0; i < 200; i++) {
		int queued = 0;
		usleep(5000);
		if (ioctl(p[0], FIONREAD, &queued) == 0 && queued == cap)
			break;
	}
	usleep(50000);
	CHK("close read end", close(p[0]));
	pthread_join(th, NULL);
	FACT(first == cap);
	printf("second: ret=%ld errno=%s\n", second, dt_errname(second_errno));
	printf("sigpipes=%d\n", (int)sigpipes);
	close(p[1]);
	return 0;
}
