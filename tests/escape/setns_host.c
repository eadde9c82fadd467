// escape: native
// setns into pid 1's namespaces (the host's init natively, the program
// itself inside), then open the marker's host path; unshare then the same.
#include "escape.h"
#include <sched.h>

int main(int argc, char **argv)
{
	esc_init(argc, argv);
	const char *ns[] = { "mnt", "pid", "net", "ipc", "uts", "cgroup", "user" };
	pid_t p = fork();
	if (p == 0) {
		for (unsigned i = 0; i < sizeof(ns) / sizeof(*ns); i++) {
			char path[64];
			snprintf(path, sizeof(path), "/proc/1/ns/%s", ns[i]);
			int fd = open(path, O_RDONLY);
			if (fd < 0 || setns(fd, 0) < 0)
				printf("ATTEMPT setns(/proc/1/ns/%s): blocked or refused (%s)\n", ns[i], esc_err(errno));
			else
				printf("ATTEMPT setns(/proc/1/ns/%s): returned (the open below decides)\n", ns[i]);
		}
		esc_open("after setns: marker path", E.marker);
		if (chdir("/") == 0)
			esc_open("after setns + chdir(/): marker path", E.marker);
		_exit(0);
	}
	waitpid(p, NULL, 0);
	esc_control("pid 1 is visible", access("/proc/1/ns", F_OK) == 0 || access("/proc/1", F_OK) == 0);
	return 0;
}
