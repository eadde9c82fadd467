// escape: volumes
// A component of a path in a volume swapped in a tight loop by a second
// thread between a real directory, an absolute symlink to the marker's
// host directory and a `..` symlink out of the volume, while the first
// opens PATH/marker.
#include "escape.h"
#include <pthread.h>

static volatile int stop;

static void *flip(void *arg)
{
	(void)arg;
	while (!stop) {
		rename("/vol/racedir", "/vol/race");
		rename("/vol/race", "/vol/racedir");
		symlink(E.base, "/vol/race");
		unlink("/vol/race");
		symlink("..", "/vol/race");
		unlink("/vol/race");
	}
	return NULL;
}

int main(int argc, char **argv)
{
	esc_init(argc, argv);
	mkdir("/vol/racedir", 0755);
	esc_decoy("/vol/racedir/marker");
	pthread_t t;
	pthread_create(&t, NULL, flip, NULL);
	int reached = 0, decoys = 0;
	for (int i = 0; i < 3000 && !reached; i++) {
		int fd = open("/vol/race/marker", O_RDONLY);
		if (fd < 0)
			continue;
		char buf[128] = { 0 };
		if (read(fd, buf, sizeof(buf) - 1) > 0) {
			if (strstr(buf, "HOST-MARKER"))
				reached = 1;
			else if (!strcmp(buf, "DECOY\n"))
				decoys++;
		}
		close(fd);
	}
	stop = 1;
	pthread_join(t, NULL);
	printf("ATTEMPT volume: open during symlink swaps: %s\n",
	       reached ? "reached" : "blocked (never the marker)");
	unlink("/vol/race");
	rename("/vol/race", "/vol/racedir");
	unlink("/vol/racedir/marker");
	rmdir("/vol/racedir");
	esc_control("the swapped path is the decoy directory at times", decoys > 0);
	return 0;
}
