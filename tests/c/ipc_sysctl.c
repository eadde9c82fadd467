/* The IPC limits in /proc/sys/kernel and /proc/sys/fs/mqueue: readable,
 * writable by root only, with Linux's parsing and ranges. Writes here
 * store the value already there, so the native run changes nothing. */
#include "dt.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *files[] = {
	"/proc/sys/kernel/shmmax", "/proc/sys/kernel/shmall", "/proc/sys/kernel/shmmni",
	"/proc/sys/kernel/sem",    "/proc/sys/kernel/msgmax", "/proc/sys/kernel/msgmnb",
	"/proc/sys/kernel/msgmni", "/proc/sys/fs/mqueue/msg_max",
	"/proc/sys/fs/mqueue/msgsize_max", "/proc/sys/fs/mqueue/msg_default",
	"/proc/sys/fs/mqueue/msgsize_default", "/proc/sys/fs/mqueue/queues_max",
};

static int readf(const char *p, char *b, size_t n)
{
	int fd = open(p, O_RDONLY);
	if (fd < 0)
		return -1;
	long r = read(fd, b, n - 1);
	close(fd);
	b[r < 0 ? 0 : r] = 0;
	return (int)r;
}

static void writef(const char *what, const char *p, const char *v)
{
	int fd = open(p, O_WRONLY);
	if (fd < 0) {
		printf("%s: open errno=%s\n", what, dt_errname(errno));
		return;
	}
	CHK(what, write(fd, v, strlen(v)));
	close(fd);
}

int main(void)
{
	dt_init();
	char b[256], again[256];
	for (unsigned i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		int n = readf(files[i], b, sizeof(b));
		printf("%s: %d %s", files[i], n, n > 0 ? b : "\n");
		struct stat st;
		if (stat(files[i], &st) == 0)
			printf("  mode %o uid %d\n", st.st_mode & 07777, st.st_uid);
		/* The same value back. */
		writef("  rewrite", files[i], b);
		readf(files[i], again, sizeof(again));
		FACT(strcmp(b, again) == 0);
	}
	writef("msgmax garbage", "/proc/sys/kernel/msgmax", "abc\n");
	writef("msgmax negative", "/proc/sys/kernel/msgmax", "-5\n");
	writef("shmmni over", "/proc/sys/kernel/shmmni", "40000\n");
	writef("sem semmni over", "/proc/sys/kernel/sem", "32000 1024000000 500 40000\n");
	writef("msg_max zero", "/proc/sys/fs/mqueue/msg_max", "0\n");
	readf("/proc/sys/kernel/msgmax", b, sizeof(b));
	printf("msgmax now %s", b);
	readf("/proc/sys/kernel/sem", b, sizeof(b));
	printf("sem now %s", b);
	pid_t c = fork();
	if (c == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(1);
		writef("other write", "/proc/sys/kernel/msgmax", "8192\n");
		_exit(0);
	}
	int st;
	waitpid(c, &st, 0);
	FACT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return 0;
}
