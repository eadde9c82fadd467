// Priority-inheritance mutexes (FUTEX_LOCK_PI/UNLOCK_PI/TRYLOCK_PI under
// contention): 4 threads increment a counter under a PTHREAD_PRIO_INHERIT
// mutex; trylock on a held lock gives EBUSY; a timed lock times out;
// relocking an owned lock gives EDEADLK (error-checking type).
#include "dt.h"
#include <pthread.h>
#include <time.h>

static pthread_mutex_t m;
static long counter;

static void *work(void *a)
{
	(void)a;
	for (int i = 0; i < 20000; i++) {
		pthread_mutex_lock(&m);
		counter++;
		pthread_mutex_unlock(&m);
	}
	return 0;
}

static void *try_it(void *a)
{
	(void)a;
	printf("trylock held elsewhere: %s\n", dt_errname(pthread_mutex_trylock(&m)));
	struct timespec ts = dt_deadline(CLOCK_REALTIME, 20);
	printf("timedlock held elsewhere: %s\n", dt_errname(pthread_mutex_timedlock(&m, &ts)));
	return 0;
}

int main(void)
{
	dt_init();
	pthread_mutexattr_t at;
	pthread_mutexattr_init(&at);
	CHKRC("setprotocol PI", pthread_mutexattr_setprotocol(&at, PTHREAD_PRIO_INHERIT));
	pthread_mutexattr_settype(&at, PTHREAD_MUTEX_ERRORCHECK);
	CHKRC("init", pthread_mutex_init(&m, &at));
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], 0, work, 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], 0);
	printf("counter=%ld\n", counter);
	CHKRC("lock", pthread_mutex_lock(&m));
	CHKRC("relock (EDEADLK)", pthread_mutex_lock(&m));
	pthread_t o;
	pthread_create(&o, 0, try_it, 0);
	pthread_join(o, 0);
	CHKRC("unlock", pthread_mutex_unlock(&m));
	CHKRC("unlock not owned", pthread_mutex_unlock(&m));
	return 0;
}
