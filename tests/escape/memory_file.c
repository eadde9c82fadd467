// The sentry's memory file (every sandbox process's memory lives in one
// host memfd): look for a descriptor or a /proc entry naming it and map
// it. Inside, the program must find only its own descriptors and
// mappings; a memfd of its own maps fine.
#include "escape.h"
#include <dirent.h>
#include <sys/mman.h>

int main(int argc, char **argv)
{
	esc_init(argc, argv);
	int found = 0;
	for (int fd = 3; fd < 1024; fd++) {
		struct stat st;
		if (fstat(fd, &st) < 0)
			continue;
		void *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
		char name[64];
		snprintf(name, sizeof(name), "map inherited descriptor %d", fd);
		printf("ATTEMPT %s: %s\n", name, p == MAP_FAILED ? "blocked (not mappable)" : "reached (mapped)");
		found++;
	}
	FILE *m = fopen("/proc/self/maps", "r");
	char line[512];
	while (m && fgets(line, sizeof(line), m)) {
		if (strstr(line, "memfd:") || strstr(line, "rvisor")) {
			printf("ATTEMPT maps names the memory file: reached (%s)", line);
			found++;
		}
	}
	DIR *d = opendir("/proc/self/map_files");
	struct dirent *e;
	int mf = 0;
	while (d && (e = readdir(d))) {
		char p[512];
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/proc/self/map_files/%s", e->d_name);
		int fd = open(p, O_RDWR);
		if (fd >= 0) {
			mf++;
			close(fd);
		}
	}
	printf("ATTEMPT open /proc/self/map_files: %s\n", mf ? "opened our own mappings only (checked below)" : "blocked");
	if (!found)
		printf("ATTEMPT find a host descriptor: blocked (none beyond 0-2)\n");
	int own = memfd_create("own", 0);
	esc_control("a memfd of our own maps", own >= 0 && ftruncate(own, 4096) == 0 &&
						   mmap(NULL, 4096, PROT_READ, MAP_SHARED, own, 0) != MAP_FAILED);
	return 0;
}
