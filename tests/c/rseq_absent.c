// The sandbox has no rseq (ENOSYS): glibc must run as on Linux with
// glibc.pthread.rseq=0, which this test sets natively by re-executing
// itself: __rseq_size is 0, threads start, sched_getcpu answers (through
// getcpu) with a CPU the affinity allows, in the main thread and others.
#include "dt.h"
#include <pthread.h>
#include <sched.h>
#include <sys/rseq.h>
#include <unistd.h>

static void *thread_fn(void *arg)
{
	cpu_set_t set;
	sched_getaffinity(0, sizeof(set), &set);
	int cpu = sched_getcpu();
	*(int *)arg = cpu >= 0 && CPU_ISSET(cpu, &set);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		setenv("GLIBC_TUNABLES", "glibc.pthread.rseq=0", 1);
		execl("/proc/self/exe", argv[0], "again", (char *)NULL);
		return 127;
	}
	dt_init();
	printf("__rseq_size=%u\n", __rseq_size);
	cpu_set_t set;
	sched_getaffinity(0, sizeof(set), &set);
	int cpu = sched_getcpu();
	printf("main: sched_getcpu allowed=%d\n", cpu >= 0 && CPU_ISSET(cpu, &set));
	pthread_t th[4];
	int allowed[4] = { 0 };
	for (int i = 0; i < 4; i++)
		CHKRC("pthread_create", pthread_create(&th[i], NULL, thread_fn, &allowed[i]));
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		printf("thread %d: sched_getcpu allowed=%d\n", i, allowed[i]);
	}
	return 0;
}
