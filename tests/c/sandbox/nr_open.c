/* Sandbox only (natively /proc/sys/fs/nr_open is the host's setting):
 * nr_open is writable by root within Linux's bounds (64 .. 2147483584,
 * EINVAL outside; decimal, 0x hex), and it is the ceiling of
 * RLIMIT_NOFILE's hard limit (EPERM above it) that dup3 then reaches.
 * Prints "FAIL ..." for each mismatch, "ok" at the end. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static int fails;

static long get(void)
{
	char b[64] = { 0 };
	int fd = open("/proc/sys/fs/nr_open", O_RDONLY);
	if (fd < 0 || read(fd, b, sizeof(b) - 1) < 0)
		return -1;
	close(fd);
	return atol(b);
}

/* Writes v; expects success (err 0) or failure with err. */
static void put(const char *v, int err)
{
	int fd = open("/proc/sys/fs/nr_open", O_WRONLY);
	if (fd < 0) {
		printf("FAIL open for writing: %s\n", strerror(errno));
		fails++;
		return;
	}
	long r = write(fd, v, strlen(v));
	if (err ? (r != -1 || errno != err) : r != (long)strlen(v)) {
		printf("FAIL write %s: %ld %s\n", v, r, strerror(errno));
		fails++;
	}
	close(fd);
}

static void expect(const char *what, long r, int err)
{
	if (err ? (r != -1 || errno != err) : r < 0) {
		printf("FAIL %s: %ld %s\n", what, r, strerror(errno));
		fails++;
	}
}

int main(void)
{
	if (get() != 1048576) {
		printf("FAIL initial %ld\n", get());
		fails++;
	}
	put("4194304\n", 0);
	put("63", EINVAL);
	put("2147483648", EINVAL);
	put("abc", EINVAL);
	put("-1", EINVAL);
	if (get() != 4194304) {
		printf("FAIL after writes %ld\n", get());
		fails++;
	}
	struct rlimit rl = { 4194305, 4194305 };
	expect("setrlimit above nr_open", setrlimit(RLIMIT_NOFILE, &rl), EPERM);
	rl.rlim_cur = rl.rlim_max = 4194304;
	expect("setrlimit at nr_open", setrlimit(RLIMIT_NOFILE, &rl), 0);
	expect("dup3 to the limit", dup3(1, 4194304, 0), EBADF);
	expect("dup3 below the limit", dup3(1, 4194303, 0), 0);
	expect("close it", close(4194303), 0);
	/* Lowered below the hard limit: raising to it again is refused. */
	put("0x10000", 0);
	if (get() != 65536) {
		printf("FAIL hex write %ld\n", get());
		fails++;
	}
	rl.rlim_cur = rl.rlim_max = 65537;
	expect("setrlimit above lowered nr_open", setrlimit(RLIMIT_NOFILE, &rl), EPERM);
	rl.rlim_cur = rl.rlim_max = 65536;
	expect("setrlimit at lowered nr_open", setrlimit(RLIMIT_NOFILE, &rl), 0);
	if (!fails)
		printf("ok\n");
	return fails != 0;
}
