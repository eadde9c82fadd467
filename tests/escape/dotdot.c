// escape: native
// `..` past the root, relative to the working directory.
#include "escape.h"

int main(int argc, char **argv)
{
	esc_init(argc, argv);
	char p[4096];
	esc_open("../marker", "../marker");
	esc_open("../../../../../../../marker-path", esc_join(p, sizeof(p), "../../../../../../..", E.marker));
	return 0;
}
