// open() flag edge cases, as Linux: O_CREAT on an existing directory is
// EISDIR; O_DIRECT opens only regular files (EINVAL for a directory, a
// FIFO, /dev/null and /proc files); O_RDONLY|O_TRUNC truncates (the caller
// may write) yet stays read-only; O_PATH|O_DIRECTORY on a file is ENOTDIR;
// O_TRUNC stamps mtime/ctime even when the file was already empty; and
// O_APPEND writes through several open files never overlap.
#include "dt.h"
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char file[64];

static void *appender(void *arg)
{
	(void)arg;
	int fd = open(file, O_WRONLY | O_APPEND);
	for (int i = 0; i < 2000; i++)
		if (write(fd, "x", 1) != 1)
			printf("short append\n");
	close(fd);
	return 0;
}

static int later(struct timespec a, struct timespec b)
{
	return a.tv_sec > b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec > b.tv_nsec);
}

int main(void)
{
	dt_init();
	char dir[] = "/tmp/dt_ofe_XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	char slash[80], fifo[80];
	snprintf(slash, sizeof(slash), "%s/", dir);
	snprintf(file, sizeof(file), "%s/f", dir);
	snprintf(fifo, sizeof(fifo), "%s/p", dir);
	CHK("O_CREAT dir", open(dir, O_RDONLY | O_CREAT, 0644));
	CHK("O_CREAT dir/", open(slash, O_RDONLY | O_CREAT, 0644));

	int fd = open(file, O_CREAT | O_RDWR, 0644);
	CHK("write", write(fd, "hello", 5));
	close(fd);
	CHK("mkfifo", mkfifo(fifo, 0644));
	CHK("O_DIRECT dir", open(dir, O_RDONLY | O_DIRECT));
	CHK("O_DIRECT fifo", open(fifo, O_RDONLY | O_DIRECT | O_NONBLOCK));
	CHK("O_DIRECT /dev/null", open("/dev/null", O_RDONLY | O_DIRECT));
	CHK("O_DIRECT /proc/self/status", open("/proc/self/status", O_RDONLY | O_DIRECT));
	fd = open(file, O_RDONLY | O_DIRECT);
	FACT(fd >= 0);
	close(fd);

	CHK("O_PATH|O_DIRECTORY file", open(file, O_PATH | O_DIRECTORY));
	CHK("O_PATH|O_DIRECTORY dir", close(open(dir, O_PATH | O_DIRECTORY)));

	fd = open(file, O_RDONLY | O_TRUNC);
	struct stat st;
	CHK("fstat", fstat(fd, &st));
	printf("size after O_RDONLY|O_TRUNC: %lld\n", (long long)st.st_size);
	CHK("write read-only", write(fd, "x", 1));
	close(fd);

	struct stat before, after;
	CHK("stat", stat(file, &before));
	struct timespec ms = {0, 20 * 1000 * 1000};
	nanosleep(&ms, 0);
	fd = open(file, O_WRONLY | O_TRUNC);
	CHK("stat after O_TRUNC", stat(file, &after));
	FACT(after.st_size == 0);
	FACT(later(after.st_mtim, before.st_mtim));
	FACT(later(after.st_ctim, before.st_ctim));
	close(fd);

	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], 0, appender, 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], 0);
	CHK("stat after appends", stat(file, &st));
	printf("size after 4x2000 appends: %lld\n", (long long)st.st_size);

	unlink(file);
	unlink(fifo);
	rmdir(dir);
	return 0;
}
