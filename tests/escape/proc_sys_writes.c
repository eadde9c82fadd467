// Writes to the host kernel's knobs through /proc/sys and /sys
// (core_pattern, uevent_helper, sysrq, cgroup membership); the harness
// checks the host's values afterwards. Not run natively.
#include "escape.h"

static void write_file(const char *name, const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	if (fd < 0) {
		printf("ATTEMPT %s: blocked (%s)\n", name, esc_err(errno));
		return;
	}
	ssize_t n = write(fd, text, strlen(text));
	printf("ATTEMPT %s: %s\n", name, n < 0 ? "blocked (write refused)" : "returned (the harness checks the host)");
	close(fd);
}

int main(int argc, char **argv)
{
	esc_init(argc, argv);
	write_file("write /proc/sys/kernel/core_pattern", "/proc/sys/kernel/core_pattern", "escaped-core\n");
	write_file("write /sys/kernel/uevent_helper", "/sys/kernel/uevent_helper", "/escaped\n");
	write_file("write /proc/sysrq-trigger (h: help only)", "/proc/sysrq-trigger", "h");
	write_file("join the host's root cgroup", "/sys/fs/cgroup/cgroup.procs", "1\n");
	write_file("write /proc/sys/vm/drop_caches", "/proc/sys/vm/drop_caches", "1\n");
	int fd = open("/proc/self/status", O_RDONLY);
	esc_control("our own /proc reads", fd >= 0);
	return 0;
}
