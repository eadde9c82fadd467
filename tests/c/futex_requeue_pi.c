// Requeue-PI, as a condition variable over a PI mutex uses it:
// FUTEX_WAIT_REQUEUE_PI on the condition word, FUTEX_CMP_REQUEUE_PI moving
// the waiter to the PI mutex (taking it for the waiter when free, queueing
// it as a PI waiter when held, ownership handed over by FUTEX_UNLOCK_PI),
// FUTEX_LOCK_PI2 with a CLOCK_MONOTONIC deadline, and the error paths
// (EAGAIN on a changed word, EINVAL for nr_wake != 1 or the same word,
// ETIMEDOUT, plain wakes passing a requeue-PI waiter by).
#include "dt.h"
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef FUTEX_LOCK_PI2
#define FUTEX_LOCK_PI2 13
#endif

static uint32_t cond, mutex;
static volatile int waiter_owned = -1;

static long fx(uint32_t *a, int op, uint32_t val, long val2, uint32_t *a2, uint32_t val3)
{
	return syscall(SYS_futex, a, op, val, val2, a2, val3);
}

static void *waiter(void *arg)
{
	(void)arg;
	long r = fx(&cond, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 0, 0, &mutex, 0);
	pid_t me = syscall(SYS_gettid);
	waiter_owned = r == 0 && (mutex & FUTEX_TID_MASK) == (uint32_t)me;
	fx(&mutex, FUTEX_UNLOCK_PI_PRIVATE, 0, 0, NULL, 0);
	return NULL;
}

/* Requeues until the waiter is found (it may not be asleep yet). */
static long requeue(int nr_requeue)
{
	long r;
	for (int i = 0; i < 2000; i++) {
		r = fx(&cond, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, nr_requeue, &mutex, cond);
		if (r != 0)
			return r;
		usleep(1000);
	}
	return r;
}

int main(void)
{
	dt_init();
	struct timespec now = dt_deadline(CLOCK_MONOTONIC, 20);
	CHK("WAIT_REQUEUE_PI changed word", fx(&cond, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 1, 0, &mutex, 0));
	CHK("WAIT_REQUEUE_PI same word", fx(&cond, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 0, 0, &cond, 0));
	CHK("WAIT_REQUEUE_PI timeout", fx(&cond, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 0, (long)&now, &mutex, 0));
	CHK("CMP_REQUEUE_PI nr_wake 2", fx(&cond, FUTEX_CMP_REQUEUE_PI_PRIVATE, 2, 1, &mutex, 0));
	CHK("CMP_REQUEUE_PI changed word", fx(&cond, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, 1, &mutex, 5));
	CHK("CMP_REQUEUE_PI nobody", fx(&cond, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, 1, &mutex, 0));

	/* The mutex is free: the waiter is woken owning it. */
	pthread_t t;
	pthread_create(&t, NULL, waiter, NULL);
	CHK("CMP_REQUEUE_PI (lock free)", requeue(1));
	pthread_join(t, NULL);
	printf("waiter owned the mutex: %d, mutex now %u\n", waiter_owned, mutex);

	/* The mutex is held: the waiter queues on it and gets it on unlock. */
	CHK("LOCK_PI", fx(&mutex, FUTEX_LOCK_PI_PRIVATE, 0, 0, NULL, 0));
	waiter_owned = -1;
	pthread_create(&t, NULL, waiter, NULL);
	CHK("CMP_REQUEUE_PI (lock held)", requeue(1));
	CHK("plain WAKE passes no one", fx(&cond, FUTEX_WAKE_PRIVATE, 1, 0, NULL, 0));
	printf("waiters bit set: %d\n", (mutex & FUTEX_WAITERS) != 0);
	CHK("UNLOCK_PI", fx(&mutex, FUTEX_UNLOCK_PI_PRIVATE, 0, 0, NULL, 0));
	pthread_join(t, NULL);
	printf("waiter owned the mutex: %d, mutex now %u\n", waiter_owned, mutex);

	/* LOCK_PI2: a held lock times out at a CLOCK_MONOTONIC deadline. */
	CHK("LOCK_PI2 free", fx(&mutex, FUTEX_LOCK_PI2 | FUTEX_PRIVATE_FLAG, 0, 0, NULL, 0));
	printf("owner is us: %d\n", (mutex & FUTEX_TID_MASK) == (uint32_t)syscall(SYS_gettid));
	CHK("LOCK_PI2 again", fx(&mutex, FUTEX_LOCK_PI2 | FUTEX_PRIVATE_FLAG, 0, 0, NULL, 0));
	CHK("UNLOCK_PI", fx(&mutex, FUTEX_UNLOCK_PI_PRIVATE, 0, 0, NULL, 0));
	return 0;
}
