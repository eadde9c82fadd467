/* Shared helpers for the differential C tests in tests/c.
 *
 * Every line a test prints must be a deterministic fact: the same natively
 * and inside the sandbox. Syscall results are printed as
 *     name: ret=R errno=NAME
 * where errno is "0" when the call succeeded.
 */
#ifndef DT_H
#define DT_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline const char *dt_errname(int e)
{
	const char *n = e ? strerrorname_np(e) : "0";
	return n ? n : "E?";
}

/* Unbuffered stdout so output order survives fork() and fatal signals. */
static inline void dt_init(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
}

/* Print the exact return value and errno. */
#define CHK(name, expr)                                                       \
	do {                                                                  \
		errno = 0;                                                    \
		long _r = (long)(expr);                                       \
		int _e = errno;                                               \
		printf("%s: ret=%ld errno=%s\n", (name), _r,                  \
		       _r < 0 ? dt_errname(_e) : "0");                        \
	} while (0)

/* For calls whose successful return value is not deterministic (addresses,
 * pids): print ret=OK on success, ret=-1 and errno on failure. */
#define CHKOK(name, expr)                                                     \
	do {                                                                  \
		errno = 0;                                                    \
		long _r = (long)(expr);                                       \
		int _e = errno;                                               \
		if (_r < 0)                                                   \
			printf("%s: ret=%ld errno=%s\n", (name), _r,          \
			       dt_errname(_e));                               \
		else                                                          \
			printf("%s: ret=OK errno=0\n", (name));               \
	} while (0)

/* For calls that return an error number instead of setting errno
 * (pthread_*, clock_nanosleep, posix_*). */
#define CHKRC(name, expr)                                                     \
	do {                                                                  \
		int _rc = (expr);                                             \
		printf("%s: ret=%d errno=%s\n", (name), _rc,                  \
		       dt_errname(_rc));                                      \
	} while (0)

/* Print a relation/fact that must hold. */
#define FACT(cond) printf("%s: %s\n", #cond, (cond) ? "true" : "false")

/* Prints the line of /proc/self/status that starts with `field` (e.g.
 * "Umask:"), or that it is missing. */
static inline void dt_show_status(const char *field)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	size_t n = strlen(field);
	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, field, n)) {
			printf("status %s", line);
			fclose(f);
			return;
		}
	}
	printf("status %s missing\n", field);
	if (f)
		fclose(f);
}

/* An absolute deadline `ms` milliseconds from now on `clock`. */
#include <time.h>
static inline struct timespec dt_deadline(clockid_t clock, long ms)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	ts.tv_nsec += ms * 1000000L;
	ts.tv_sec += ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	return ts;
}

/* A bad user pointer (EFAULT), hidden from the compiler's static checks. */
static inline void *dt_badptr(void)
{
	void *volatile p = (void *)1;
	return p;
}
#define BADPTR (dt_badptr())

/* The size of the file open as `fd`. */
#include <sys/stat.h>
static inline long dt_size(int fd)
{
	struct stat st;
	fstat(fd, &st);
	return st.st_size;
}

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Drops capability `cap` from the calling thread's effective set (a
 * child's privileges for an EPERM check); returns capset's result. */
static inline int dt_drop_cap(int cap)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d))
		return -1;
	d[cap / 32].effective &= ~(1u << (cap % 32));
	return syscall(SYS_capset, &h, d);
}

/* Clears the effective capability set (root without privileges, for
 * EPERM paths); returns what capset returns. */
static inline int dt_drop_effective_caps(void)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d))
		return -1;
	d[0].effective = d[1].effective = 0;
	return syscall(SYS_capset, &h, d);
}

#endif
