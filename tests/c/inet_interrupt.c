// Blocking accept, recv and connect on inet sockets interrupted by a
// signal: EINTR without SA_RESTART; with it, accept and recv go on and
// complete. A connect to a listener whose backlog is full waits; once
// interrupted, a non-blocking connect says EALREADY and a blocking one
// waits again until the listener makes room.
// difftest: network host
#include "dt.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int hits;
static void on_alarm(int s) { (void)s; hits++; }

static void handler(int restart)
{
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = restart ? SA_RESTART : 0 };
	sigaction(SIGALRM, &sa, NULL);
}

static void alarm_ms(int ms)
{
	struct itimerval it = { .it_value = { 0, ms * 1000 } };
	setitimer(ITIMER_REAL, &it, NULL);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
	dt_init();
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t n = sizeof a;
	bind(l, (void *)&a, sizeof a);
	getsockname(l, (void *)&a, &n);
	listen(l, 0);

	handler(0);
	alarm_ms(50);
	CHK("accept interrupted", accept(l, NULL, NULL));

	// With SA_RESTART the accept goes on until a client comes.
	handler(1);
	pid_t kid = fork();
	if (kid == 0) {
		usleep(200000);
		int c = socket(AF_INET, SOCK_STREAM, 0);
		connect(c, (void *)&a, sizeof a);
		write(c, "late", 4);
		usleep(300000);
		write(c, "later", 5);
		usleep(200000);
		_exit(0);
	}
	alarm_ms(50);
	int s = accept(l, NULL, NULL);
	FACT(s >= 0);
	printf("hits %d\n", hits);
	char buf[16];
	CHK("recv", recv(s, buf, sizeof buf, 0));
	handler(0);
	alarm_ms(50);
	CHK("recv interrupted", recv(s, buf, sizeof buf, 0));
	handler(1);
	alarm_ms(50);
	CHK("recv restarted", recv(s, buf, sizeof buf, 0));
	printf("hits %d\n", hits);
	waitpid(kid, NULL, 0);
	close(s);

	// SO_RCVTIMEO: a timed wait interrupted is EINTR even with SA_RESTART.
	int p[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, p);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	connect(c, (void *)&a, sizeof a);
	s = accept(l, NULL, NULL);
	struct timeval tv = { 2, 0 };
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	alarm_ms(50);
	CHK("recv with timeout interrupted", recv(c, buf, sizeof buf, 0));
	tv.tv_sec = 0;
	tv.tv_usec = 100000;
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	double t0 = now();
	CHK("recv timed out", recv(c, buf, sizeof buf, 0));
	FACT(now() - t0 >= 0.09);

	// Fill the backlog (0: one connection), then connect again.
	int c1 = socket(AF_INET, SOCK_STREAM, 0);
	CHK("connect fills backlog", connect(c1, (void *)&a, sizeof a));
	int c2 = socket(AF_INET, SOCK_STREAM, 0);
	handler(0);
	alarm_ms(100);
	CHK("connect interrupted", connect(c2, (void *)&a, sizeof a));
	fcntl(c2, F_SETFL, O_NONBLOCK);
	CHK("nonblocking connect again", connect(c2, (void *)&a, sizeof a));
	fcntl(c2, F_SETFL, 0);
	int s1 = accept(l, NULL, NULL);
	FACT(s1 >= 0);
	CHK("blocking connect again", connect(c2, (void *)&a, sizeof a));
	int s2 = accept(l, NULL, NULL);
	FACT(s2 >= 0);
	CHK("send", send(c2, "ok", 2, 0));
	CHK("recv", recv(s2, buf, sizeof buf, 0));
	return 0;
}
