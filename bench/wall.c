/* Macro benchmarks: runs CMD [ARGS...] once (fork + execvp + waitpid), its
 * stdout sent to /dev/null, and prints the wall time of that one run as
 * "ns_per_op <value>", with no warm-up run (the cold rows need the first
 * run). Fails if CMD exits non-zero. */
#include "bench.h"
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
	if (argc < 2) {
		fprintf(stderr, "usage: %s CMD [ARGS...]\n", argv[0]);
		return 2;
	}
	double t0 = bench_now_ns();
	pid_t pid = bench_fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0) {
			dup2(null, 1);
			close(null);
		}
		execvp(argv[1], argv + 1);
		perror("execvp");
		_exit(127);
	}
	bench_reap(pid, argv[1]);
	double t1 = bench_now_ns();
	bench_report(t1 - t0, 1);
	return 0;
}
