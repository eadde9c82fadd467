// escape: native
// Hard links to the marker (by its host path and by `..`), and linkat of
// an O_PATH descriptor through /proc/self/fd.
#include "escape.h"

int main(int argc, char **argv)
{
	esc_init(argc, argv);
	if (link(E.marker, "hl1") == 0)
		esc_open("link(marker path)", "hl1");
	else
		esc_call("link(marker path)", -1);
	if (link("../marker", "hl2") == 0)
		esc_open("link(../marker)", "hl2");
	else
		esc_call("link(../marker)", -1);
	int fd = open("../marker", O_PATH);
	if (fd >= 0 && linkat(fd, "", AT_FDCWD, "hl3", AT_EMPTY_PATH) == 0)
		esc_open("linkat(O_PATH of ../marker)", "hl3");
	else
		esc_call("linkat(O_PATH of ../marker)", -1);
	esc_decoy("decoy");
	esc_control("link of our own file", link("decoy", "hl4") == 0 && esc_is_decoy(open("hl4", O_RDONLY)));
	unlink("hl1");
	unlink("hl2");
	unlink("hl3");
	unlink("hl4");
	unlink("decoy");
	return 0;
}
