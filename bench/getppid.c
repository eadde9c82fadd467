/* Syscall round trip: syscall(SYS_getppid), bypassing any libc caching. */
#include "bench.h"
#include <sys/syscall.h>
#include <unistd.h>

static void run(long n) {
	for (long i = 0; i < n; i++)
		syscall(SYS_getppid);
}

int main(int argc, char **argv) {
	long n = bench_iters(argc, argv);
	run(bench_warmup(n));
	double t0 = bench_now_ns();
	run(n);
	bench_report(bench_now_ns() - t0, (double)n);
	return 0;
}
