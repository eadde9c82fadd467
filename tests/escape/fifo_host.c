// escape: native
// A FIFO on the host (outside the root) whose host-side writer sends the
// marker's secret once a reader opens it: open it by its host path; a
// FIFO made inside works.
#include "escape.h"
#include <poll.h>

int main(int argc, char **argv)
{
	esc_init(argc, argv);
	int fd = open(E.fifo, O_RDONLY | O_NONBLOCK);
	if (fd >= 0) {
		struct pollfd p = { fd, POLLIN, 0 };
		poll(&p, 1, 5000);
		fcntl(fd, F_SETFL, 0);
	}
	esc_fd("open the host FIFO by its path", fd);
	char p[4096];
	snprintf(p, sizeof(p), "%s/made-inside.fifo", E.base);
	printf("ATTEMPT mkfifo at a host path: %s\n", mkfifo(p, 0644) == 0 ? "returned (the harness checks the host)" : "blocked");
	unlink(p);
	int ok = mkfifo("own.fifo", 0644) == 0;
	int r = open("own.fifo", O_RDONLY | O_NONBLOCK), w = open("own.fifo", O_WRONLY | O_NONBLOCK);
	char c = 0;
	esc_control("a FIFO of our own", ok && r >= 0 && w >= 0 && write(w, "x", 1) == 1 && read(r, &c, 1) == 1);
	unlink("own.fifo");
	return 0;
}
