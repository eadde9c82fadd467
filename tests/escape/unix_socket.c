// escape: native
// Unix sockets: connect to a listening host socket by its path, and bind
// a new socket at a host path (the harness checks nothing appeared).
#include "escape.h"
#include <sys/socket.h>
#include <sys/un.h>

int main(int argc, char **argv)
{
	esc_init(argc, argv);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", E.sock);
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) == 0)
		esc_fd("connect to the host socket", s);
	else
		esc_call("connect to the host socket", -1);
	int b = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/made-inside.sock", E.base);
	long r = bind(b, (struct sockaddr *)&a, sizeof(a));
	printf("ATTEMPT bind at a host path: %s\n", r == 0 ? "returned (the harness checks the host)" : "blocked");
	if (r == 0)
		unlink(a.sun_path);
	/* A socket of our own works. */
	int l = socket(AF_UNIX, SOCK_STREAM, 0), c = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un o = { .sun_family = AF_UNIX };
	strcpy(o.sun_path, "own.sock");
	esc_control("our own socket", bind(l, (struct sockaddr *)&o, sizeof(o)) == 0 && listen(l, 1) == 0 &&
					       connect(c, (struct sockaddr *)&o, sizeof(o)) == 0);
	unlink("own.sock");
	return 0;
}
