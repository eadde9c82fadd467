// membarrier: QUERY (the rseq commands aside, which need rseq), the
// registration rules (PRIVATE_EXPEDITED and its SYNC_CORE variant are
// EPERM until registered; GET_REGISTRATIONS; registrations survive fork
// and not exec), GLOBAL and GLOBAL_EXPEDITED, barriers while other threads
// spin in user code, and EINVAL for unknown commands and flags.
#include "dt.h"
#include <linux/membarrier.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define RSEQ_BITS ((1 << 7) | (1 << 8))

static long mb(int cmd, unsigned flags)
{
	return syscall(SYS_membarrier, cmd, flags, 0);
}

static atomic_int stop, spinning;
static volatile unsigned long counter;

static void *spin(void *arg)
{
	(void)arg;
	atomic_fetch_add(&spinning, 1);
	while (!atomic_load_explicit(&stop, memory_order_relaxed))
		counter++;
	return NULL;
}

int main(int argc, char **argv)
{
	dt_init();
	if (argc > 1) {
		CHK("after exec GET_REGISTRATIONS", mb(512, 0));
		CHK("after exec PRIVATE_EXPEDITED", mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0));
		return 0;
	}
	long q = mb(MEMBARRIER_CMD_QUERY, 0);
	printf("query without rseq bits=%ld\n", q & ~RSEQ_BITS);
	CHK("QUERY with flags", mb(MEMBARRIER_CMD_QUERY, 1));
	CHK("GET_REGISTRATIONS", mb(512, 0));
	CHK("PRIVATE_EXPEDITED unregistered", mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0));
	CHK("SYNC_CORE unregistered", mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE, 0));
	CHK("GLOBAL", mb(MEMBARRIER_CMD_GLOBAL, 0));
	CHK("GLOBAL_EXPEDITED", mb(MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0));
	CHK("REGISTER_PRIVATE_EXPEDITED", mb(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0));
	CHK("GET_REGISTRATIONS", mb(512, 0));
	CHK("PRIVATE_EXPEDITED", mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0));
	CHK("SYNC_CORE still unregistered", mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE, 0));
	CHK("REGISTER_SYNC_CORE", mb(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE, 0));
	CHK("SYNC_CORE", mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE, 0));
	CHK("REGISTER_GLOBAL_EXPEDITED", mb(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0));
	CHK("GET_REGISTRATIONS", mb(512, 0));
	CHK("PRIVATE_EXPEDITED with flags", mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 1));
	CHK("command 3", mb(3, 0));
	CHK("command 1024", mb(1024, 0));
	CHK("command -1", mb(-1, 0));

	pthread_t th[3];
	for (int i = 0; i < 3; i++)
		pthread_create(&th[i], NULL, spin, NULL);
	while (atomic_load(&spinning) < 3)
		;
	int ok = 0;
	for (int i = 0; i < 200; i++)
		ok += mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0) == 0;
	for (int i = 0; i < 50; i++)
		ok += mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE, 0) == 0;
	for (int i = 0; i < 20; i++)
		ok += mb(MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0) == 0;
	atomic_store(&stop, 1);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	printf("barriers with spinning threads: %d of 270\n", ok);

	pid_t pid = fork();
	if (pid == 0) {
		CHK("child GET_REGISTRATIONS", mb(512, 0));
		CHK("child PRIVATE_EXPEDITED", mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0));
		execl("/proc/self/exe", argv[0], "exec", (char *)NULL);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	printf("child status=%d\n", WEXITSTATUS(st));
	return 0;
}
