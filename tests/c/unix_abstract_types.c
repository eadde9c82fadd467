// An abstract unix name belongs to one socket type: sockets of other types
// may bind it too, and a connect or send of another type finds nothing
// (ECONNREFUSED), where a path bound by another type is EPROTOTYPE.
#include "dt.h"
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static socklen_t abstract(struct sockaddr_un *a, const char *name)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	size_t n = strlen(name);
	memcpy(a->sun_path + 1, name, n);
	return offsetof(struct sockaddr_un, sun_path) + 1 + n;
}

int main(void)
{
	dt_init();
	char name[64];
	snprintf(name, sizeof(name), "dt-abstract-types-%d", getpid());
	struct sockaddr_un a;
	socklen_t len = abstract(&a, name);
	struct sockaddr *sa = (struct sockaddr *)&a;

	int st = socket(AF_UNIX, SOCK_STREAM, 0);
	CHK("bind stream", bind(st, sa, len));
	CHK("listen stream", listen(st, 4));

	int sq = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	CHK("connect seqpacket to stream's name", connect(sq, sa, len));
	int dg = socket(AF_UNIX, SOCK_DGRAM, 0);
	CHK("sendto dgram to stream's name", sendto(dg, "x", 1, 0, sa, len));
	CHK("connect dgram to stream's name", connect(dg, sa, len));

	int st2 = socket(AF_UNIX, SOCK_STREAM, 0);
	CHK("bind second stream", bind(st2, sa, len));
	int sq2 = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	CHK("bind seqpacket to same name", bind(sq2, sa, len));
	CHK("listen seqpacket", listen(sq2, 4));
	CHK("connect seqpacket now", connect(sq, sa, len));
	int dg2 = socket(AF_UNIX, SOCK_DGRAM, 0);
	CHK("bind dgram to same name", bind(dg2, sa, len));
	CHK("sendto dgram now", sendto(dg, "x", 1, 0, sa, len));
	char c;
	CHK("recv dgram", recv(dg2, &c, 1, MSG_DONTWAIT));

	int c1 = socket(AF_UNIX, SOCK_STREAM, 0);
	CHK("connect stream", connect(c1, sa, len));
	int acc = accept(st, NULL, NULL);
	FACT(acc >= 0);
	int acc2 = accept(sq2, NULL, NULL);
	FACT(acc2 >= 0);

	/* Closing the stream socket frees its name for streams only. */
	close(st);
	int c2 = socket(AF_UNIX, SOCK_STREAM, 0);
	CHK("connect stream after close", connect(c2, sa, len));
	int st3 = socket(AF_UNIX, SOCK_STREAM, 0);
	CHK("bind stream after close", bind(st3, sa, len));
	int sq3 = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	CHK("bind seqpacket still taken", bind(sq3, sa, len));

	/* A path bound by another type: EPROTOTYPE. */
	struct sockaddr_un p = {.sun_family = AF_UNIX};
	strcpy(p.sun_path, "sock");
	int ps = socket(AF_UNIX, SOCK_STREAM, 0);
	CHK("bind path stream", bind(ps, (struct sockaddr *)&p, sizeof(p)));
	CHK("listen path", listen(ps, 1));
	int pq = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	CHK("connect seqpacket to path", connect(pq, (struct sockaddr *)&p, sizeof(p)));
	CHK("sendto dgram to path", sendto(dg, "x", 1, 0, (struct sockaddr *)&p, sizeof(p)));
	unlink("sock");
	return 0;
}
