/* Pipe ping-pong between two processes with 1-byte messages; ns_per_op is
 * one round trip (parent writes, child reads and answers, parent reads). */
#include "bench.h"
#include <sys/wait.h>
#include <unistd.h>

static int to_child[2], to_parent[2];

static void run(long n) {
	char c = 'x';
	for (long i = 0; i < n; i++) {
		bench_write1(to_child[1], c);
		bench_read1(to_parent[0], &c);
	}
}

int main(int argc, char **argv) {
	long n = bench_iters(argc, argv);
	long w = bench_warmup(n);
	if (pipe(to_child) != 0 || pipe(to_parent) != 0)
		BENCH_DIE("pipe");
	pid_t pid = fork();
	if (pid < 0)
		BENCH_DIE("fork");
	if (pid == 0) {
		close(to_child[1]);
		close(to_parent[0]);
		char c;
		for (long i = 0; i < w + n; i++) {
			bench_read1(to_child[0], &c);
			bench_write1(to_parent[1], c);
		}
		_exit(0);
	}
	close(to_child[0]);
	close(to_parent[1]);
	run(w);
	double t0 = bench_now_ns();
	run(n);
	double dt = bench_now_ns() - t0;
	int status;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fprintf(stderr, "pipe_pingpong: child failed\n");
		return 1;
	}
	bench_report(dt, (double)n);
	return 0;
}
