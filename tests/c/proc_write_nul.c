// Numbers written to /proc/self files are read as C strings: a write of
// "7\0" (two bytes) sets oom_score_adj to 7 and coredump_filter to 0x7,
// and reports both bytes written; garbage is still EINVAL.
#include "dt.h"
#include <fcntl.h>
#include <unistd.h>

static void show(const char *path)
{
	char b[64] = {0};
	int fd = open(path, O_RDONLY);
	ssize_t n = read(fd, b, sizeof(b) - 1);
	close(fd);
	printf("%s: %s", path, n > 0 ? b : "(nothing)\n");
}

int main(void)
{
	dt_init();
	int fd = open("/proc/self/oom_score_adj", O_WRONLY);
	CHK("write \"7\\0\"", write(fd, "7", 2));
	CHK("write \"x\"", write(fd, "x", 1));
	close(fd);
	show("/proc/self/oom_score_adj");
	fd = open("/proc/self/coredump_filter", O_WRONLY);
	CHK("write \"7\\0\"", write(fd, "7", 2));
	close(fd);
	show("/proc/self/coredump_filter");
	return 0;
}
