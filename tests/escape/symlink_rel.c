// escape: native
// Relative symlinks climbing out: to ../marker and a chain of `..` links.
#include "escape.h"

int main(int argc, char **argv)
{
	esc_init(argc, argv);
	char p[4096];
	if (symlink("../marker", "rel-link") == 0)
		esc_open("../marker link", "rel-link");
	if (symlink("../../../../../../../..", "up") == 0)
		esc_open("up link + marker path", esc_join(p, sizeof(p), "up", E.marker));
	mkdir("d", 0755);
	if (symlink("../../../../../../../../..", "d/up2") == 0)
		esc_open("nested up link + marker path", esc_join(p, sizeof(p), "d/up2", E.marker));
	/* The same links lead to a decoy where one is reachable. */
	esc_decoy("decoy");
	if (symlink("/decoy", "d/dl") == 0)
		esc_control("absolute link to our own file", esc_is_decoy(open("d/dl", O_RDONLY)));
	unlink("rel-link");
	unlink("up");
	unlink("d/up2");
	unlink("d/dl");
	unlink("decoy");
	rmdir("d");
	return 0;
}
