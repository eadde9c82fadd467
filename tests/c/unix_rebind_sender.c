// A connected unix socket that binds after sending: the receiver reports
// the sender's address as it is when read, for what was sent before the
// bind too (stream and seqpacket; path and abstract names).
#include "dt.h"
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static socklen_t name(struct sockaddr_un *a, int abstract, const char *n)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (abstract) {
		memcpy(a->sun_path + 1, n, strlen(n));
		return offsetof(struct sockaddr_un, sun_path) + 1 + strlen(n);
	}
	strcpy(a->sun_path, n);
	return offsetof(struct sockaddr_un, sun_path) + strlen(n) + 1;
}

static void run(int type, int abstract)
{
	const char *tn = type == SOCK_STREAM ? "stream" : "seqpacket";
	printf("-- %s %s\n", tn, abstract ? "abstract" : "path");
	char ln[64], cn[64];
	snprintf(ln, sizeof(ln), "dt-rebind-l-%d-%d", type, getpid());
	snprintf(cn, sizeof(cn), "dt-rebind-c-%d-%d", type, getpid());
	struct sockaddr_un la, ca;
	socklen_t llen = name(&la, abstract, ln), clen = name(&ca, abstract, cn);
	int l = socket(AF_UNIX, type, 0), c = socket(AF_UNIX, type, 0);
	CHK("bind listener", bind(l, (struct sockaddr *)&la, llen));
	CHK("listen", listen(l, 1));
	CHK("connect", connect(c, (struct sockaddr *)&la, llen));
	int s = accept(l, NULL, NULL);
	FACT(s >= 0);
	int i = 1;
	CHK("send unbound", send(c, &i, sizeof(i), 0));

	struct sockaddr_un got;
	socklen_t glen = sizeof(got);
	char peek[4];
	CHK("peek unbound", recvfrom(s, peek, sizeof(peek), MSG_PEEK, (struct sockaddr *)&got, &glen));
	printf("addr len before bind: %d\n", (int)glen);

	CHK("bind sender", bind(c, (struct sockaddr *)&ca, clen));
	i = 2;
	CHK("send bound", send(c, &i, sizeof(i), 0));

	int r[2] = {0, 0};
	glen = sizeof(got);
	memset(&got, 0xff, sizeof(got));
	/* A stream reads both sends at once; seqpacket one message. */
	CHK("recvfrom", recvfrom(s, r, sizeof(r), 0, (struct sockaddr *)&got, &glen));
	FACT(glen == clen);
	FACT(memcmp(&got, &ca, glen < clen ? glen : clen) == 0);
	if (type == SOCK_SEQPACKET) {
		glen = sizeof(got);
		CHK("recvfrom second", recvfrom(s, r, sizeof(r), 0, (struct sockaddr *)&got, &glen));
		FACT(glen == clen);
	}
	close(s);
	close(c);
	close(l);
	if (!abstract) {
		unlink(ln);
		unlink(cn);
	}
}

int main(void)
{
	dt_init();
	run(SOCK_STREAM, 0);
	run(SOCK_STREAM, 1);
	run(SOCK_SEQPACKET, 0);
	run(SOCK_SEQPACKET, 1);
	return 0;
}
