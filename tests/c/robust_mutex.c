// Robust futexes: a thread that dies holding a PTHREAD_MUTEX_ROBUST lock
// makes the next locker get EOWNERDEAD; pthread_mutex_consistent then
// repairs it. Also across processes with a process-shared robust mutex in
// shared memory.
#include "dt.h"
#include <pthread.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t m;

static void *die_holding(void *a)
{
	(void)a;
	pthread_mutex_lock(&m);
	return 0; // exits with the lock held
}

int main(void)
{
	dt_init();
	pthread_mutexattr_t at;
	pthread_mutexattr_init(&at);
	pthread_mutexattr_setrobust(&at, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&m, &at);
	pthread_t t;
	pthread_create(&t, 0, die_holding, 0);
	pthread_join(t, 0);
	CHKRC("lock after owner thread died", pthread_mutex_lock(&m));
	CHKRC("consistent", pthread_mutex_consistent(&m));
	CHKRC("unlock", pthread_mutex_unlock(&m));
	CHKRC("lock again", pthread_mutex_lock(&m));
	CHKRC("unlock again", pthread_mutex_unlock(&m));

	pthread_mutex_t *sm = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pthread_mutexattr_setpshared(&at, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(sm, &at);
	pid_t c = fork();
	if (c == 0) {
		pthread_mutex_lock(sm);
		_exit(0); // dies holding it
	}
	waitpid(c, 0, 0);
	CHKRC("shared lock after owner process died", pthread_mutex_lock(sm));
	CHKRC("consistent", pthread_mutex_consistent(sm));
	CHKRC("unlock", pthread_mutex_unlock(sm));
	return 0;
}
