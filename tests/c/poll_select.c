// poll/ppoll/select/epoll on pipes: readiness before and after writes,
// POLLHUP after the writer closes, timeouts of 0 and 20ms, and
// EBADF/EINVAL/EFAULT errors.
#include "dt.h"
#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

int main(void)
{
	dt_init();
	int p[2];
	CHK("pipe", pipe(p));
	struct pollfd fds[2] = { { p[0], POLLIN, 0 }, { p[1], POLLOUT, 0 } };
	CHK("poll timeout 0", poll(fds, 2, 0));
	printf("revents: read=%#x write=%#x\n", fds[0].revents, fds[1].revents);
	long long t0 = now_ms();
	CHK("poll read end, 20ms", poll(fds, 1, 20));
	FACT(now_ms() - t0 >= 19);
	CHK("write", write(p[1], "x", 1));
	CHK("poll", poll(fds, 2, 1000));
	printf("revents: read=%#x write=%#x\n", fds[0].revents, fds[1].revents);
	struct timespec ts = { 0, 0 };
	CHK("ppoll", ppoll(fds, 1, &ts, NULL));
	close(p[1]);
	CHK("poll after writer closed", poll(fds, 1, 0));
	printf("revents: read=%#x (POLLIN|POLLHUP=%#x)\n", fds[0].revents, POLLIN | POLLHUP);
	struct pollfd bad = { 99, POLLIN, 0 };
	CHK("poll closed fd", poll(&bad, 1, 0));
	printf("revents=%#x (POLLNVAL=%#x)\n", bad.revents, POLLNVAL);
	CHK("poll BADPTR", poll(BADPTR, 1, 0));
	volatile nfds_t too_many = 1u << 30; /* more than RLIMIT_NOFILE */
	CHK("poll too many fds", poll(fds, too_many, 0));

	int q[2];
	CHK("pipe", pipe(q));
	fd_set rd, wr;
	FD_ZERO(&rd);
	FD_ZERO(&wr);
	FD_SET(q[0], &rd);
	FD_SET(q[1], &wr);
	struct timeval tv = { 0, 0 };
	CHK("select", select(q[1] + 1, &rd, &wr, NULL, &tv));
	printf("readable=%d writable=%d\n", FD_ISSET(q[0], &rd), FD_ISSET(q[1], &wr));
	FD_ZERO(&rd);
	FD_SET(50, &rd);
	CHK("select closed fd", select(51, &rd, NULL, NULL, &tv));
	CHK("select negative nfds", select(-1, NULL, NULL, NULL, &tv));
	struct timeval badtv = { 0, -1 };
	CHK("select bad timeout", select(1, NULL, NULL, NULL, &badtv));

	int ep = epoll_create1(EPOLL_CLOEXEC);
	FACT(ep >= 0);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0xfeed };
	CHK("epoll_ctl ADD", epoll_ctl(ep, EPOLL_CTL_ADD, q[0], &ev));
	CHK("epoll_ctl ADD again", epoll_ctl(ep, EPOLL_CTL_ADD, q[0], &ev));
	struct epoll_event out[4];
	CHK("epoll_wait empty", epoll_wait(ep, out, 4, 0));
	CHK("write", write(q[1], "yz", 2));
	CHK("epoll_wait", epoll_wait(ep, out, 4, 1000));
	printf("events=%#x data=%#llx\n", out[0].events, (unsigned long long)out[0].data.u64);
	CHK("epoll_ctl DEL", epoll_ctl(ep, EPOLL_CTL_DEL, q[0], NULL));
	CHK("epoll_ctl DEL again", epoll_ctl(ep, EPOLL_CTL_DEL, q[0], NULL));
	CHK("epoll_ctl bad fd", epoll_ctl(ep, EPOLL_CTL_ADD, 99, &ev));
	CHK("epoll_ctl on itself", epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev));
	CHK("epoll_wait maxevents 0", epoll_wait(ep, out, 0, 0));
	CHK("epoll_wait not epoll fd", epoll_wait(q[0], out, 4, 0));
	CHK("epoll_create1 bad flags", epoll_create1(0x1));
	return 0;
}
