/* Shared helpers for the rvisor microbenchmarks.
 *
 * Every benchmark takes one argument, the iteration count N, runs a warm-up
 * of about N/10 iterations (at least one), then times N iterations with
 * CLOCK_MONOTONIC and prints a single line "ns_per_op <value>". */
#ifndef RVISOR_BENCH_H
#define RVISOR_BENCH_H

#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double bench_now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static inline long bench_iters(int argc, char **argv) {
	if (argc < 2) {
		fprintf(stderr, "usage: %s ITERATIONS\n", argv[0]);
		exit(2);
	}
	long n = strtol(argv[1], NULL, 10);
	if (n < 1) {
		fprintf(stderr, "%s: bad iteration count %s\n", argv[0], argv[1]);
		exit(2);
	}
	return n;
}

static inline long bench_warmup(long n) {
	long w = n / 10;
	return w < 1 ? 1 : w;
}

static inline void bench_report(double ns, double ops) {
	printf("ns_per_op %.1f\n", ns / ops);
	fflush(stdout);
}

#define BENCH_DIE(msg) do { perror(msg); exit(1); } while (0)

#include <unistd.h>

/* fork(), or the benchmark dies. */
static inline pid_t bench_fork(void) {
	pid_t pid = fork();
	if (pid < 0)
		BENCH_DIE("fork");
	return pid;
}

/* One byte each way, for the ping-pong benchmarks. */
static inline void bench_read1(int fd, char *c) {
	if (read(fd, c, 1) != 1)
		BENCH_DIE("read");
}

static inline void bench_write1(int fd, char c) {
	if (write(fd, &c, 1) != 1)
		BENCH_DIE("write");
}

/* Waits for child `pid`; exits the benchmark unless it exited with 0. */
#include <sys/wait.h>
static inline void bench_reap(pid_t pid, const char *what) {
	int status;
	if (waitpid(pid, &status, 0) != pid)
		BENCH_DIE("waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "%s: child status %#x\n", what, status);
		exit(1);
	}
}

#endif
