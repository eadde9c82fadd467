// FUTEX_WAKE with a count of 0 (or negative) wakes one waiter, as Linux
// does (it stops once the count is reached, after the first wake).
#include "dt.h"
#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

static int word;

static void *waiter(void *a)
{
	(void)a;
	while (__atomic_load_n(&word, __ATOMIC_ACQUIRE) == 0)
		syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	return NULL;
}

static int wake_after_waiting(int nr)
{
	pthread_t th;
	word = 0;
	pthread_create(&th, NULL, waiter, NULL);
	long woken = 0;
	// Retry until the thread is asleep on the word and gets woken.
	for (int i = 0; i < 500 && woken == 0; i++) {
		usleep(2000);
		woken = syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, nr, NULL, NULL, 0);
	}
	__atomic_store_n(&word, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	pthread_join(th, NULL);
	return (int)woken;
}

int main(void)
{
	dt_init();
	alarm(20);
	printf("FUTEX_WAKE nr=0 woke %d\n", wake_after_waiting(0));
	printf("FUTEX_WAKE nr=-1 woke %d\n", wake_after_waiting(-1));
	CHK("FUTEX_WAKE nr=0 nobody waiting", syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 0, NULL, NULL, 0));
	return 0;
}
