// eventfd counter and semaphore semantics, EAGAIN/EINVAL edges, readiness
// for poll and epoll (a write of zero is still a wake-up for EPOLLET),
// blocking reads and writes woken by another process, and poll() on an
// epoll descriptor that watches an eventfd.
#include "dt.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int revents(int fd)
{
	struct pollfd p = { fd, POLLIN | POLLOUT, 0 };
	poll(&p, 1, 0);
	return p.revents;
}

static void child_writes(int fd, uint64_t v, int delay_ms)
{
	if (fork() == 0) {
		usleep(delay_ms * 1000);
		if (write(fd, &v, 8) != 8)
			_exit(1);
		_exit(0);
	}
}

static void reap(void)
{
	int st;
	wait(&st);
	printf("child exit=%d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

int main(void)
{
	dt_init();
	uint64_t v = 0, big[2] = { 0, 0 };
	int e = eventfd(0, EFD_NONBLOCK);
	FACT(e >= 0);
	CHK("read empty", read(e, &v, 8));
	CHK("read 4 bytes", read(e, &v, 4));
	printf("empty: revents=%#x\n", revents(e));
	v = 5;
	CHK("write 5", write(e, &v, 8));
	CHK("write 7 bytes", write(e, &v, 7));
	v = UINT64_MAX;
	CHK("write UINT64_MAX", write(e, &v, 8));
	v = UINT64_MAX - 1 - 5;
	CHK("write up to the maximum", write(e, &v, 8));
	v = 1;
	CHK("write past the maximum", write(e, &v, 8));
	printf("full: revents=%#x\n", revents(e));
	CHK("read 16 bytes", read(e, big, 16));
	printf("value=%#llx\n", (unsigned long long)big[0]);
	CHK("pread", pread(e, &v, 8, 0));

	int s = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC);
	CHK("F_GETFD", fcntl(s, F_GETFD));
	for (int i = 0; i < 4; i++) {
		v = 0;
		CHK("semaphore read", read(s, &v, 8));
		printf("value=%llu\n", (unsigned long long)v);
	}
	CHK("eventfd bad flags", eventfd(0, 2));
	CHK("eventfd2 raw, initval above 32 bits", syscall(290, 0x100000007ULL, EFD_NONBLOCK) >= 0);
	struct stat st;
	CHK("fstat", fstat(e, &st));
	printf("mode=%o\n", st.st_mode);
	char path[64], link[64] = { 0 };
	snprintf(path, sizeof(path), "/proc/self/fd/%d", e);
	CHK("readlink", readlink(path, link, sizeof(link) - 1));
	printf("link=%s\n", link);

	/* Edge-triggered epoll: each write is a new edge, even of zero. */
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.u64 = 42 }, out[2];
	CHK("epoll_ctl ADD", epoll_ctl(ep, EPOLL_CTL_ADD, e, &ev));
	CHK("epoll_wait (empty)", epoll_wait(ep, out, 2, 0));
	v = 2;
	write(e, &v, 8);
	CHK("epoll_wait after write", epoll_wait(ep, out, 2, 0));
	printf("events=%#x data=%llu\n", out[0].events, (unsigned long long)out[0].data.u64);
	CHK("epoll_wait again", epoll_wait(ep, out, 2, 0));
	v = 0;
	CHK("write 0", write(e, &v, 8));
	CHK("epoll_wait after writing 0", epoll_wait(ep, out, 2, 0));
	read(e, &v, 8);
	CHK("epoll_wait after read", epoll_wait(ep, out, 2, 0));

	/* Blocking read woken by a child's write. */
	int b = eventfd(0, 0);
	child_writes(b, 7, 50);
	v = 0;
	CHK("blocking read", read(b, &v, 8));
	printf("value=%llu\n", (unsigned long long)v);
	reap();

	/* Blocking write that waits for room. */
	v = UINT64_MAX - 1;
	write(b, &v, 8);
	if (fork() == 0) {
		usleep(50000);
		uint64_t x;
		_exit(read(b, &x, 8) == 8 && x == UINT64_MAX - 1 ? 0 : 1);
	}
	v = 9;
	CHK("blocking write", write(b, &v, 8));
	reap();
	CHK("read", read(b, &v, 8));
	printf("value=%llu\n", (unsigned long long)v);

	/* poll() on an epoll fd, woken when the watched eventfd is written. */
	int ep2 = epoll_create1(0);
	struct epoll_event ev2 = { .events = EPOLLIN, .data.u64 = 1 };
	CHK("epoll_ctl ADD", epoll_ctl(ep2, EPOLL_CTL_ADD, b, &ev2));
	struct pollfd pe = { ep2, POLLIN, 0 };
	CHK("poll epoll fd (not ready)", poll(&pe, 1, 0));
	child_writes(b, 1, 50);
	CHK("poll epoll fd (blocking)", poll(&pe, 1, 5000));
	printf("revents=%#x\n", pe.revents);
	reap();
	read(b, &v, 8);

	/* epoll_wait woken by a child. */
	child_writes(b, 3, 50);
	CHK("epoll_wait (blocking)", epoll_wait(ep2, out, 2, 5000));
	printf("events=%#x data=%llu\n", out[0].events, (unsigned long long)out[0].data.u64);
	reap();
	return 0;
}
