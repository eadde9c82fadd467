// escape: native
// A second thread swaps a symlink between a directory of ours and the
// marker's host directory in a tight loop while the first walks through
// it for 1.5 s: no walk may end outside.
#include "escape.h"
#include <pthread.h>
#include <time.h>

static volatile int stop;
static char host_dir[4096];

static void *swapper(void *arg)
{
	(void)arg;
	while (!stop) {
		symlink("inside", "sw.tmp");
		rename("sw.tmp", "sw");
		symlink(host_dir, "sw.tmp");
		rename("sw.tmp", "sw");
	}
	return NULL;
}

int main(int argc, char **argv)
{
	esc_init(argc, argv);
	snprintf(host_dir, sizeof(host_dir), "%s", E.base);
	mkdir("inside", 0755);
	esc_decoy("inside/marker");
	symlink("inside", "sw");
	pthread_t th;
	pthread_create(&th, NULL, swapper, NULL);
	int decoys = 0, leaks = 0, other = 0;
	char first_leak[128] = { 0 };
	/* Up to 1.5 s of walks; natively they stop at the first leak. */
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 200000 && !leaks; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 > 1500)
			break;
		int fd = open("sw/marker", O_RDONLY);
		if (fd < 0) {
			other++;
			continue;
		}
		char buf[128] = { 0 };
		if (read(fd, buf, sizeof(buf) - 1) > 0) {
			if (strstr(buf, "HOST-MARKER")) {
				if (!leaks++)
					memcpy(first_leak, buf, sizeof(buf));
			} else if (!strcmp(buf, "DECOY\n"))
				decoys++;
		}
		close(fd);
	}
	stop = 1;
	pthread_join(th, NULL);
	esc_control("walks that reached our own marker", decoys > 0);
	if (leaks)
		printf("ATTEMPT racing walks: reached: %s\n", first_leak);
	else
		printf("ATTEMPT racing walks: blocked (%d walks failed, none outside)\n", other > 0 ? 1 : 0);
	unlink("sw");
	unlink("sw.tmp");
	unlink("inside/marker");
	rmdir("inside");
	return 0;
}
