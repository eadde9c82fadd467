// escape: native
// `..` past the root in absolute paths, and the marker's host path as is.
#include "escape.h"

int main(int argc, char **argv)
{
	esc_init(argc, argv);
	char p[4096];
	esc_open("/../../.. + marker path", esc_join(p, sizeof(p), "/../../..", E.marker));
	esc_open("marker path as is", E.marker);
	esc_decoy("/tmp/decoy");
	esc_control("/../../tmp/decoy is our own file", esc_is_decoy(open("/../../tmp/decoy", O_RDONLY)) ||
							       esc_is_decoy(open("/tmp/decoy", O_RDONLY)));
	unlink("/tmp/decoy");
	return 0;
}
