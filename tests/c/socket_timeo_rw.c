// SO_RCVTIMEO and SO_SNDTIMEO bound read(2)/readv(2) and write(2) on
// sockets as they bound recv/send: EAGAIN once the time is up (unix
// stream, datagram and seqpacket pairs, UDP, TCP); a negative time gives
// up at once. recvmsg(MSG_ERRQUEUE) on an inet socket with nothing queued
// is EAGAIN at once, without MSG_DONTWAIT.
#include "dt.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void set_timeo(int fd, int opt, long sec, long usec)
{
	struct timeval tv = {.tv_sec = sec, .tv_usec = usec};
	if (setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv)))
		perror("setsockopt");
}

static void reads(const char *what, int fd)
{
	char buf[16];
	printf("-- %s\n", what);
	set_timeo(fd, SO_RCVTIMEO, 0, 20000);
	double t0 = now();
	CHK("read", read(fd, buf, sizeof(buf)));
	FACT(now() - t0 >= 0.019);
	struct iovec iov = {buf, sizeof(buf)};
	CHK("readv", readv(fd, &iov, 1));
	set_timeo(fd, SO_RCVTIMEO, -1, 0);
	t0 = now();
	CHK("read, negative timeout", read(fd, buf, sizeof(buf)));
	FACT(now() - t0 < 1.0);
}

static void pair(int type, const char *name)
{
	int sv[2];
	socketpair(AF_UNIX, type, 0, sv);
	reads(name, sv[0]);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	dt_init();
	pair(SOCK_STREAM, "unix stream");
	pair(SOCK_DGRAM, "unix dgram");
	pair(SOCK_SEQPACKET, "unix seqpacket");

	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	bind(u, (struct sockaddr *)&a, sizeof(a));
	reads("udp", u);

	int l = socket(AF_INET, SOCK_STREAM, 0);
	bind(l, (struct sockaddr *)&a, sizeof(a));
	listen(l, 1);
	getsockname(l, (struct sockaddr *)&a, &al);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	CHK("connect", connect(c, (struct sockaddr *)&a, sizeof(a)));
	int s = accept(l, NULL, NULL);
	reads("tcp", c);

	printf("-- error queue\n");
	char buf[16];
	struct iovec iov = {buf, sizeof(buf)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	CHK("udp recvmsg MSG_ERRQUEUE", recvmsg(u, &mh, MSG_ERRQUEUE));
	CHK("tcp recvmsg MSG_ERRQUEUE", recvmsg(c, &mh, MSG_ERRQUEUE));

	/* A full unix stream: write waits SO_SNDTIMEO, then EAGAIN. */
	printf("-- write\n");
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	int one = 4096;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &one, sizeof(one));
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	static char big[65536];
	long total = 0, n;
	while ((n = write(sv[0], big, sizeof(big))) > 0)
		total += n;
	FACT(total > 0);
	fcntl(sv[0], F_SETFL, 0);
	set_timeo(sv[0], SO_SNDTIMEO, 0, 20000);
	double t0 = now();
	CHK("write full", write(sv[0], big, sizeof(big)));
	FACT(now() - t0 >= 0.019);
	struct iovec wv = {big, sizeof(big)};
	CHK("writev full", writev(sv[0], &wv, 1));
	close(sv[0]);
	close(sv[1]);
	close(s);
	close(c);
	close(l);
	close(u);
	return 0;
}
