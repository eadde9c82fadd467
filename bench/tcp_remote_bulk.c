/* TCP bulk transfer from the bulk port of bench/veth_peer.c at
 * $BENCH_PEER_IP:$BENCH_PEER_BULK (the @veth rows of scripts/bench.sh),
 * read in 64 KiB reads; ns_per_op is per 64 KiB received
 * (MB/s = 65536e3 / ns_per_op). */
#include "net.h"

#define CHUNK 65536

int main(int argc, char **argv) {
	long n = bench_iters(argc, argv);
	long w = bench_warmup(n);
	int c = bench_remote("BENCH_PEER_BULK");
	bench_report(bench_bulk_read(c, w, n, CHUNK), (double)n);
	return 0;
}
