/* fork() of a process holding 64 MiB of written private memory; the
 * child writes one byte per MiB and _exit(0)s; the parent waitpid()s and
 * then writes one byte per MiB too (so copy-on-write costs are counted on
 * both sides). */
#include "bench.h"
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define SIZE (64L << 20)

static char *mem;

static void touch(void) {
	for (long off = 0; off < SIZE; off += 1L << 20)
		mem[off]++;
}

static void run(long n) {
	for (long i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0)
			BENCH_DIE("fork");
		if (pid == 0) {
			touch();
			_exit(0);
		}
		bench_reap(pid, "fork_big");
		touch();
	}
}

int main(int argc, char **argv) {
	long n = bench_iters(argc, argv);
	mem = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		BENCH_DIE("mmap");
	memset(mem, 1, SIZE);
	run(bench_warmup(n));
	double t0 = bench_now_ns();
	run(n);
	bench_report(bench_now_ns() - t0, (double)n);
	return 0;
}
