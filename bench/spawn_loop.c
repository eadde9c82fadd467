/* End-to-end: runs CMD [ARGS...] ITERATIONS times, one after the other
 * (fork + execvp + waitpid), and prints the wall time per invocation. Used
 * on the host to time `/bin/true`, `rvisor do -- /bin/true` and
 * `runsc do /bin/true`. Fails if any invocation exits non-zero. */
#include "bench.h"
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

static char **cmd;

static void run(long n) {
	for (long i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0)
			BENCH_DIE("fork");
		if (pid == 0) {
			/* The sandboxes inherit stdout; keep it a pipe-free sink. */
			int null = open("/dev/null", O_WRONLY);
			if (null >= 0) {
				dup2(null, 1);
				close(null);
			}
			execvp(cmd[0], cmd);
			perror("execvp");
			_exit(127);
		}
		bench_reap(pid, cmd[0]);
	}
}

int main(int argc, char **argv) {
	if (argc < 3) {
		fprintf(stderr, "usage: %s ITERATIONS CMD [ARGS...]\n", argv[0]);
		return 2;
	}
	long n = bench_iters(argc, argv);
	cmd = argv + 2;
	run(1);
	double t0 = bench_now_ns();
	run(n);
	bench_report(bench_now_ns() - t0, (double)n);
	return 0;
}
