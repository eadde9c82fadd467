// sendmmsg/recvmmsg on unix datagram and UDP sockets: counts, msg_len,
// MSG_WAITFORONE, MSG_DONTWAIT with fewer messages than asked, errors.
// difftest: network host
#include "dt.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

static void run(const char *what, int tx, int rx, struct sockaddr *to, socklen_t tolen)
{
	char data[4][16] = { "one", "two!", "three", "four.." };
	struct iovec iov[4];
	struct mmsghdr m[4] = { 0 };
	for (int i = 0; i < 4; i++) {
		iov[i].iov_base = data[i];
		iov[i].iov_len = strlen(data[i]);
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
		m[i].msg_hdr.msg_name = to;
		m[i].msg_hdr.msg_namelen = tolen;
	}
	printf("%s\n", what);
	CHK("sendmmsg 3", sendmmsg(tx, m, 3, 0));
	printf("lens %u %u %u\n", m[0].msg_len, m[1].msg_len, m[2].msg_len);
	usleep(10000);
	char rb[4][16];
	struct iovec riov[4];
	struct mmsghdr r[4] = { 0 };
	for (int i = 0; i < 4; i++) {
		memset(rb[i], 0, 16);
		riov[i].iov_base = rb[i];
		riov[i].iov_len = 16;
		r[i].msg_hdr.msg_iov = &riov[i];
		r[i].msg_hdr.msg_iovlen = 1;
	}
	CHK("recvmmsg dontwait", recvmmsg(rx, r, 4, MSG_DONTWAIT, NULL));
	printf("got %s %s %s len %u\n", rb[0], rb[1], rb[2], r[2].msg_len);
	CHK("sendmmsg 1", sendmmsg(tx, m + 3, 1, 0));
	usleep(10000);
	CHK("recvmmsg waitforone", recvmmsg(rx, r, 4, MSG_WAITFORONE, NULL));
	printf("got %s\n", rb[0]);
	CHK("recvmmsg empty", recvmmsg(rx, r, 4, MSG_DONTWAIT, NULL));
	CHK("sendmmsg 0", sendmmsg(tx, m, 0, 0));
	struct timespec ts = { 0, -1 };
	CHK("recvmmsg bad timeout", recvmmsg(rx, r, 1, 0, &ts));
}

int main(void)
{
	dt_init();
	int p[2];
	socketpair(AF_UNIX, SOCK_DGRAM, 0, p);
	run("unix", p[0], p[1], NULL, 0);
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t n = sizeof a;
	bind(u, (void *)&a, sizeof a);
	getsockname(u, (void *)&a, &n);
	int v = socket(AF_INET, SOCK_DGRAM, 0);
	run("udp", v, u, (void *)&a, sizeof a);
	CHK("sendmmsg EBADF", sendmmsg(999, NULL, 1, 0));
	CHK("recvmmsg ENOTSOCK", recvmmsg(1, NULL, 1, 0, NULL));
	CHK("sendmmsg EFAULT", sendmmsg(v, (void *)8, 1, 0));
	return 0;
}
