// escape: native
// /proc/self/fd/N of a directory descriptor, then `..` past the root.
#include "escape.h"

int main(int argc, char **argv)
{
	esc_init(argc, argv);
	int dir = open(".", O_RDONLY | O_DIRECTORY);
	int root = open("/", O_PATH);
	char p[4096];
	snprintf(p, sizeof(p), "/proc/self/fd/%d/../marker", dir);
	esc_open("fd of . + ../marker", p);
	snprintf(p, sizeof(p), "/proc/self/fd/%d/../../../../../%s", root, esc_rel(E.marker));
	esc_open("fd of / + ../../ + marker path", p);
	snprintf(p, sizeof(p), "/proc/self/fd/%d/%s", root, esc_rel(E.marker));
	esc_open("fd of / + marker path", p);
	esc_decoy("decoy");
	snprintf(p, sizeof(p), "/proc/self/fd/%d/decoy", dir);
	esc_control("fd of . reaches our own file", esc_is_decoy(open(p, O_RDONLY)));
	unlink("decoy");
	return 0;
}
