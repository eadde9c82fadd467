// timerfd_create/settime/gettime: clocks, one-shot and periodic timers,
// TFD_TIMER_ABSTIME (future and past), CANCEL_ON_SET accepted, the old
// value, reads (count, EAGAIN, short buffer, EINTR), poll and epoll
// readiness, TFD_IOC_SET_TICKS, and the errors.
#define _GNU_SOURCE
#include "dt.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, uint64_t)
#endif

static long ms_since(struct timespec *a)
{
	struct timespec b;
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

static void arm(int fd, int flags, long val_ms, long iv_ms)
{
	struct itimerspec its = {
		{iv_ms / 1000, (iv_ms % 1000) * 1000000},
		{val_ms / 1000, (val_ms % 1000) * 1000000},
	};
	if (timerfd_settime(fd, flags, &its, NULL))
		printf("settime failed: %s\n", dt_errname(errno));
}

static void on_alarm(int s)
{
	(void)s;
}

int main(void)
{
	dt_init();
	int clocks[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_REALTIME_ALARM,
			CLOCK_BOOTTIME_ALARM, CLOCK_PROCESS_CPUTIME_ID, CLOCK_MONOTONIC_RAW, CLOCK_TAI, -1, 100};
	for (unsigned i = 0; i < sizeof(clocks) / sizeof(clocks[0]); i++) {
		char name[32];
		snprintf(name, sizeof(name), "create clock %d", clocks[i]);
		int fd = timerfd_create(clocks[i], 0);
		printf("%s: %s\n", name, fd >= 0 ? "ok" : dt_errname(errno));
		if (fd >= 0)
			close(fd);
	}
	CHK("create bad flags", timerfd_create(CLOCK_MONOTONIC, 1));

	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	char link[64] = {0}, path[32];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	readlink(path, link, sizeof(link) - 1);
	printf("link=%s\n", link);
	CHK("F_GETFL nonblock", fcntl(fd, F_GETFL) & O_NONBLOCK);
	struct itimerspec cur;
	CHK("gettime disarmed", timerfd_gettime(fd, &cur));
	printf("disarmed: %ld.%09ld / %ld.%09ld\n", (long)cur.it_value.tv_sec, cur.it_value.tv_nsec,
	       (long)cur.it_interval.tv_sec, cur.it_interval.tv_nsec);
	uint64_t n = 0;
	CHK("read disarmed", read(fd, &n, 8));

	/* One-shot, relative. */
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	arm(fd, 0, 50, 0);
	CHK("read before expiry", read(fd, &n, 8));
	timerfd_gettime(fd, &cur);
	FACT(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 50000000);
	struct pollfd p = {fd, POLLIN | POLLOUT, 0};
	CHK("poll before", poll(&p, 1, 0));
	CHK("poll waits", poll(&p, 1, 2000));
	printf("revents=%#x\n", p.revents);
	FACT(ms_since(&t0) >= 45);
	CHK("read short buffer", read(fd, &n, 4));
	CHK("read", read(fd, &n, 8));
	printf("expirations=%llu\n", (unsigned long long)n);
	CHK("read again", read(fd, &n, 8));
	timerfd_gettime(fd, &cur);
	FACT(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0);
	CHK("write", write(fd, &n, 8));

	/* Periodic: missed expirations are counted. */
	arm(fd, 0, 10, 10);
	usleep(55000);
	CHK("read periodic", read(fd, &n, 8));
	FACT(n >= 4 && n <= 20);
	timerfd_gettime(fd, &cur);
	FACT(cur.it_interval.tv_nsec == 10000000 && cur.it_value.tv_nsec <= 10000000);

	/* Re-arming clears the count; the old value comes back. */
	usleep(25000);
	struct itimerspec its = {{0, 0}, {10, 0}}, old;
	CHK("settime with old", timerfd_settime(fd, 0, &its, &old));
	printf("old interval=%ld.%09ld\n", (long)old.it_interval.tv_sec, old.it_interval.tv_nsec);
	FACT(old.it_value.tv_sec == 0 && old.it_value.tv_nsec <= 10000000);
	CHK("read after re-arm", read(fd, &n, 8));
	CHK("disarm with old", timerfd_settime(fd, 0, &(struct itimerspec){{0, 0}, {0, 0}}, &old));
	FACT(old.it_value.tv_sec == 9 || (old.it_value.tv_sec == 10 && old.it_value.tv_nsec == 0));

	/* TFD_IOC_SET_TICKS. */
	uint64_t ticks = 5;
	CHK("set ticks", ioctl(fd, TFD_IOC_SET_TICKS, &ticks));
	CHK("read ticks", read(fd, &n, 8));
	printf("expirations=%llu\n", (unsigned long long)n);
	ticks = 0;
	CHK("set zero ticks", ioctl(fd, TFD_IOC_SET_TICKS, &ticks));
	CHK("set ticks bad pointer", ioctl(fd, TFD_IOC_SET_TICKS, (void *)8));
	close(fd);

	/* Absolute times on the realtime clock, blocking reads. */
	int rt = timerfd_create(CLOCK_REALTIME, 0);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	its = (struct itimerspec){{0, 0}, {now.tv_sec - 1, 0}};
	CHK("abstime past", timerfd_settime(rt, TFD_TIMER_ABSTIME, &its, NULL));
	CHK("read past", read(rt, &n, 8));
	printf("expirations=%llu\n", (unsigned long long)n);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	clock_gettime(CLOCK_REALTIME, &now);
	its.it_value = now;
	its.it_value.tv_nsec += 30000000;
	if (its.it_value.tv_nsec >= 1000000000) {
		its.it_value.tv_sec++;
		its.it_value.tv_nsec -= 1000000000;
	}
	CHK("abstime cancel-on-set", timerfd_settime(rt, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL));
	CHK("blocking read", read(rt, &n, 8));
	printf("expirations=%llu\n", (unsigned long long)n);
	FACT(ms_since(&t0) >= 25);

	/* epoll. */
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 7};
	CHK("epoll add", epoll_ctl(ep, EPOLL_CTL_ADD, rt, &ev));
	arm(rt, 0, 20, 0);
	CHK("epoll_wait none yet", epoll_wait(ep, &ev, 1, 0));
	CHK("epoll_wait", epoll_wait(ep, &ev, 1, 2000));
	printf("events=%#x data=%u\n", ev.events, ev.data.u32);
	CHK("read", read(rt, &n, 8));
	CHK("epoll_wait after read", epoll_wait(ep, &ev, 1, 0));

	/* A blocking read of a disarmed timer ends with the signal. */
	struct sigaction sa = {.sa_handler = on_alarm};
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval iv = {{0, 0}, {0, 30000}};
	setitimer(ITIMER_REAL, &iv, NULL);
	arm(rt, 0, 0, 0);
	CHK("read interrupted", read(rt, &n, 8));

	/* Errors. */
	its = (struct itimerspec){{0, 0}, {1, 0}};
	CHK("settime bad flags", timerfd_settime(rt, 4, &its, NULL));
	its.it_value.tv_nsec = 1000000000;
	CHK("settime bad nsec", timerfd_settime(rt, 0, &its, NULL));
	its = (struct itimerspec){{0, -1}, {1, 0}};
	CHK("settime bad interval", timerfd_settime(rt, 0, &its, NULL));
	its = (struct itimerspec){{0, 0}, {-1, 0}};
	CHK("settime negative", timerfd_settime(rt, 0, &its, NULL));
	its = (struct itimerspec){{0, 0}, {1, 0}};
	CHK("settime null", timerfd_settime(rt, 0, NULL, NULL));
	CHK("settime bad old", timerfd_settime(rt, 0, &its, (void *)8));
	CHK("settime bad fd", timerfd_settime(999, 0, &its, NULL));
	int pp[2];
	pipe(pp);
	CHK("settime pipe", timerfd_settime(pp[0], 0, &its, NULL));
	CHK("gettime pipe", timerfd_gettime(pp[0], &cur));
	CHK("gettime bad fd", timerfd_gettime(999, &cur));
	CHK("gettime bad pointer", timerfd_gettime(rt, (void *)8));
	CHK("ioctl other", ioctl(rt, FIONREAD, &n));
	return 0;
}
