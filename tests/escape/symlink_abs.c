// escape: native
// An absolute symlink to the marker's host path, made inside.
#include "escape.h"

int main(int argc, char **argv)
{
	esc_init(argc, argv);
	if (symlink(E.marker, "abs-link") < 0)
		perror("symlink");
	esc_open("open through it", "abs-link");
	unlink("abs-link");
	return 0;
}
