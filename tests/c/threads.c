// Threads (clone via pthread_create): each thread has its own tid but shares
// the pid; set_tid_address returns the caller's tid; a futex-backed mutex
// works; pthread_join (CLONE_CHILD_CLEARTID + futex wake) returns; TLS
// (per-thread %fs) is per thread.
#include "dt.h"
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NTHREADS 4
#define ITERS 100000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;
static __thread int tls_value = 7;
static pid_t main_tid;

struct res { pid_t pid, tid; int tls; };

static void *worker(void *arg)
{
	struct res *r = arg;
	r->pid = getpid();
	r->tid = syscall(SYS_gettid);
	tls_value += 1;
	r->tls = tls_value;
	for (int i = 0; i < ITERS; i++) {
		pthread_mutex_lock(&lock);
		counter++;
		pthread_mutex_unlock(&lock);
	}
	return (void *)(long)(r->tid != main_tid);
}

int main(void)
{
	dt_init();
	main_tid = syscall(SYS_gettid);
	/* Only the main thread may change its clear_child_tid address: glibc's
	 * pthread_join relies on the one set up for other threads. */
	static int dummy;
	FACT(syscall(SYS_set_tid_address, &dummy) == main_tid);
	pthread_t th[NTHREADS];
	struct res res[NTHREADS];
	for (int i = 0; i < NTHREADS; i++)
		CHKRC("pthread_create", pthread_create(&th[i], NULL, worker, &res[i]));
	for (int i = 0; i < NTHREADS; i++) {
		void *ret;
		CHKRC("pthread_join", pthread_join(th[i], &ret));
		printf("thread %d: returned %ld\n", i, (long)ret);
	}
	printf("counter=%ld (expected %d)\n", counter, NTHREADS * ITERS);
	int distinct = 1;
	for (int i = 0; i < NTHREADS; i++) {
		FACT(res[i].pid == getpid());
		FACT(res[i].tid != res[i].pid);
		printf("thread %d: tls=%d\n", i, res[i].tls);
		for (int j = 0; j < i; j++)
			distinct &= res[i].tid != res[j].tid;
	}
	printf("distinct tids: %d\n", distinct);
	printf("main tls_value=%d\n", tls_value);
	CHKRC("pthread_join invalid (self)", pthread_join(pthread_self(), NULL));
	return 0;
}
