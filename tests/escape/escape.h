/* Shared by the escape suite (every .c file here; harness:
 * crates/rvisor/tests/escape/mod.rs). Each program makes attempts to
 * reach things outside the sandbox and prints one line per attempt:
 *     ATTEMPT NAME: reached ...        (it got through: a hole)
 *     ATTEMPT NAME: blocked (WHY)
 * and, to show the technique itself works where it is allowed,
 *     CONTROL NAME: ok | failed
 * The harness runs it with --root at a directory that does not hold the
 * marker file, and (for "// escape: native" programs) also natively, with
 * its working directory at that root, where it must get through.
 *
 * argv: 1 marker's host path, 2 the host directory holding it, 3 pid of a
 * host process (a `sleep`), 4 a host FIFO, 5 a listening host unix socket.
 */
#ifndef ESCAPE_H
#define ESCAPE_H
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static struct {
	const char *marker, *base, *fifo, *sock;
	int helper;
} E;

static inline const char *esc_err(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : "E?";
}

static inline void esc_init(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc < 6) {
		fprintf(stderr, "usage: %s MARKER BASE HELPER_PID FIFO SOCK\n", argv[0]);
		exit(2);
	}
	E.marker = argv[1];
	E.base = argv[2];
	E.helper = atoi(argv[3]);
	E.fifo = argv[4];
	E.sock = argv[5];
}

/* Reads what `fd` gives: reached if it is the marker (printed, so the
 * harness sees its secret too). */
static inline void esc_fd(const char *name, int fd)
{
	if (fd < 0) {
		printf("ATTEMPT %s: blocked (%s)\n", name, esc_err(errno));
		return;
	}
	char buf[128] = { 0 };
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	int e = errno;
	close(fd);
	buf[strcspn(buf, "\n")] = 0;
	if (n > 0 && strstr(buf, "HOST-MARKER"))
		printf("ATTEMPT %s: reached: %s\n", name, buf);
	else if (n < 0)
		printf("ATTEMPT %s: blocked (read: %s)\n", name, esc_err(e));
	else
		printf("ATTEMPT %s: blocked (not the marker: %zd bytes)\n", name, n);
}

static inline void esc_open(const char *name, const char *path)
{
	esc_fd(name, open(path, O_RDONLY));
}

/* An attempt judged by its result alone: success is getting through. */
static inline void esc_call(const char *name, long r)
{
	if (r < 0)
		printf("ATTEMPT %s: blocked (%s)\n", name, esc_err(errno));
	else
		printf("ATTEMPT %s: reached (returned %ld)\n", name, r);
}

static inline void esc_control(const char *name, int ok)
{
	printf("CONTROL %s: %s\n", name, ok ? "ok" : "failed");
}

/* A file of our own (inside the sandbox: in its memory). */
static inline void esc_decoy(const char *path)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "DECOY\n", 6) != 6)
		perror(path);
	close(fd);
}

static inline int esc_is_decoy(int fd)
{
	char buf[16] = { 0 };
	int ok = fd >= 0 && read(fd, buf, sizeof(buf) - 1) > 0 && !strcmp(buf, "DECOY\n");
	if (fd >= 0)
		close(fd);
	return ok;
}

/* The marker's path without its leading slash (to append to a directory). */
static inline const char *esc_rel(const char *p)
{
	while (*p == '/')
		p++;
	return p;
}

/* A path made of parts. */
static inline const char *esc_join(char *buf, size_t n, const char *a, const char *b)
{
	snprintf(buf, n, "%s/%s", a, esc_rel(b));
	return buf;
}
/* A raw `syscall` instruction, not libc's (errno set as libc would). */
static inline long raw(long nr, long a, long b, long c, long d, long e, long f)
{
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	if (ret < 0 && ret > -4096) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
}

/* Opens and reads a device: reached if it gave anything. */
static inline void try_dev(const char *name, const char *path)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK);
	char b[512];
	if (fd >= 0 && read(fd, b, sizeof(b)) > 0)
		printf("ATTEMPT %s: reached (read the device)\n", name);
	else
		printf("ATTEMPT %s: blocked (%s)\n", name, esc_err(errno));
	if (fd >= 0)
		close(fd);
}

#endif
