/* TCP ping-pong with 1-byte messages (TCP_NODELAY) against the echo port
 * of bench/veth_peer.c at $BENCH_PEER_IP:$BENCH_PEER_ECHO (the @veth rows
 * of scripts/bench.sh); ns_per_op is one round trip. */
#include "net.h"

int main(int argc, char **argv) {
	long n = bench_iters(argc, argv);
	long w = bench_warmup(n);
	int c = bench_remote("BENCH_PEER_ECHO");
	bench_report(bench_pingpong(c, w, n), (double)n);
	return 0;
}
