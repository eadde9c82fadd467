// Abstract unix names belong to a network namespace: that of the socket
// (where it was made), not of the caller. A socket made in another
// namespace neither reaches the name (ECONNREFUSED) nor collides with it.
#include "dt.h"
#include <fcntl.h>
#include <sched.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	int home = open("/proc/self/ns/net", O_RDONLY);
	CHK("unshare", unshare(CLONE_NEWNET));
	int a = socket(AF_UNIX, SOCK_STREAM, 0);
	int b = socket(AF_UNIX, SOCK_STREAM, 0);
	CHK("unshare again", unshare(CLONE_NEWNET));

	/* a was made in the first new namespace: its name lives there. */
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	CHK("autobind a", bind(a, (struct sockaddr *)&addr, sizeof(sa_family_t)));
	socklen_t len = sizeof(addr);
	getsockname(a, (struct sockaddr *)&addr, &len);
	FACT(len == offsetof(struct sockaddr_un, sun_path) + 6);
	CHK("listen a", listen(a, 1));
	CHK("connect b (made beside a)", connect(b, (struct sockaddr *)&addr, len));

	int c = socket(AF_UNIX, SOCK_STREAM, 0);
	CHK("connect c (made here)", connect(c, (struct sockaddr *)&addr, len));
	int d = socket(AF_UNIX, SOCK_STREAM, 0);
	CHK("bind d to a's name", bind(d, (struct sockaddr *)&addr, len));
	CHK("listen d", listen(d, 1));
	CHK("connect c now", connect(c, (struct sockaddr *)&addr, len));

	CHK("setns back", setns(home, CLONE_NEWNET));
	int e = socket(AF_UNIX, SOCK_STREAM, 0);
	CHK("connect e (first namespace)", connect(e, (struct sockaddr *)&addr, len));
	return 0;
}
