// futex_waitv: waits on several futex words and reports which one was
// woken; EAGAIN when a value already differs; ETIMEDOUT with an absolute
// timeout; EINVAL for bad flags, counts and clocks.
#include "dt.h"
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif

struct waitv {
	uint64_t val;
	uint64_t uaddr;
	uint32_t flags;
	uint32_t reserved;
};

static uint32_t words[3];

static void *waker(void *a)
{
	(void)a;
	usleep(30000);
	__atomic_store_n(&words[2], 1, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, &words[2], FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
	return 0;
}

static long waitv(struct waitv *w, int n, unsigned flags, struct timespec *ts, int clock)
{
	return syscall(SYS_futex_waitv, w, n, flags, ts, clock);
}

int main(void)
{
	dt_init();
	struct waitv w[3];
	for (int i = 0; i < 3; i++) {
		w[i].val = 0;
		w[i].uaddr = (uintptr_t)&words[i];
		w[i].flags = 2 | 128; /* FUTEX2_SIZE_U32 | FUTEX2_PRIVATE */
		w[i].reserved = 0;
	}
	pthread_t t;
	pthread_create(&t, 0, waker, 0);
	CHK("woken index", waitv(w, 3, 0, 0, 0));
	pthread_join(t, 0);
	CHK("value differs", waitv(w, 3, 0, 0, 0));
	w[2].val = 1;
	struct timespec ts = dt_deadline(CLOCK_MONOTONIC, 20);
	CHK("timeout", waitv(w, 3, 0, &ts, CLOCK_MONOTONIC));
	CHK("bad flags arg", waitv(w, 3, 1, 0, 0));
	CHK("zero count", waitv(w, 0, 0, 0, 0));
	CHK("too many", waitv(w, 200, 0, 0, 0));
	w[0].flags = 3;
	CHK("bad size flag", waitv(w, 3, 0, 0, 0));
	w[0].flags = 2 | 128;
	CHK("bad clock", waitv(w, 3, 0, &ts, 77));
	return 0;
}
