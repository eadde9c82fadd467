/* The far end of the @veth benchmark rows (not a benchmark itself): run
 * natively on the host's side of a veth pair by scripts/bench.sh.
 *   veth_peer IP ECHO_PORT BULK_PORT
 * A connection to ECHO_PORT gets every byte it sends back; one to
 * BULK_PORT gets 64 KiB writes until it closes. One process per
 * connection. */
#include "bench.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>

static int listener(const char *ip, int port) {
	int s = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	if (s < 0 || inet_pton(AF_INET, ip, &a.sin_addr) != 1 || bind(s, (void *)&a, sizeof a) != 0 ||
	    listen(s, 16) != 0)
		BENCH_DIE("listen");
	return s;
}

static void serve(int c, int bulk) {
	int one = 1;
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	static char buf[65536];
	for (;;) {
		ssize_t r = bulk ? write(c, buf, sizeof buf) : read(c, buf, sizeof buf);
		if (r <= 0)
			_exit(0);
		if (!bulk && write(c, buf, r) != r)
			_exit(0);
	}
}

int main(int argc, char **argv) {
	if (argc != 4) {
		fprintf(stderr, "usage: %s IP ECHO_PORT BULK_PORT\n", argv[0]);
		return 2;
	}
	/* Ends with bench.sh even when the script is killed before its
	 * EXIT trap runs (it would otherwise keep the script's inherited
	 * descriptors, and any lock on them, forever). */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		return 1;
	signal(SIGCHLD, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	struct pollfd p[2] = {
		{ .fd = listener(argv[1], atoi(argv[2])), .events = POLLIN },
		{ .fd = listener(argv[1], atoi(argv[3])), .events = POLLIN },
	};
	for (;;) {
		if (poll(p, 2, -1) < 0)
			continue;
		for (int i = 0; i < 2; i++) {
			if (!(p[i].revents & POLLIN))
				continue;
			int c = accept(p[i].fd, NULL, NULL);
			if (c < 0)
				continue;
			if (bench_fork() == 0)
				serve(c, i == 1);
			close(c);
		}
	}
}
