// escape: native
// A raw `syscall` instruction (no libc) for openat of the marker's host
// path and of ../marker.
#include "escape.h"

int main(int argc, char **argv)
{
	esc_init(argc, argv);
	esc_fd("raw openat(marker path)", (int)raw(SYS_openat, AT_FDCWD, (long)E.marker, O_RDONLY, 0, 0, 0));
	esc_fd("raw open(../marker)", (int)raw(SYS_open, (long)"../marker", O_RDONLY, 0, 0, 0, 0));
	esc_control("raw getpid answers", raw(SYS_getpid, 0, 0, 0, 0, 0, 0) == getpid());
	return 0;
}
