// execve from a non-main thread of a multithreaded process: the other
// threads disappear, the new image runs with the process's pid as its tid
// and as a single thread.
// difftest: args first
#include "dt.h"
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

static char self_path[4096];

static void *sleeper(void *a)
{
	(void)a;
	for (;;)
		pause();
	return 0;
}

static void *execer(void *a)
{
	(void)a;
	char *argv[] = {self_path, "second", 0};
	execv(self_path, argv);
	printf("execv failed: %s\n", dt_errname(errno));
	_exit(1);
}

int main(int argc, char **argv)
{
	dt_init();
	if (argc > 1 && strcmp(argv[1], "second") == 0) {
		printf("second image: tid==pid %d\n", (long)syscall(SYS_gettid) == (long)getpid());
		FILE *f = fopen("/proc/self/status", "r");
		char line[256];
		while (f && fgets(line, sizeof(line), f))
			if (strncmp(line, "Threads:", 8) == 0)
				printf("%s", line);
		return 0;
	}
	ssize_t n = readlink("/proc/self/exe", self_path, sizeof(self_path) - 1);
	if (n <= 0)
		return 2;
	self_path[n] = 0;
	pthread_t a, b;
	pthread_create(&a, 0, sleeper, 0);
	pthread_create(&b, 0, sleeper, 0);
	pthread_t e;
	pthread_create(&e, 0, execer, 0);
	pthread_join(e, 0);
	return 3;
}
