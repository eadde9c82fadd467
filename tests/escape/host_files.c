// The marker by its host path: write, truncate, rename, unlink, chmod;
// the harness checks it is untouched. Not run natively.
#include "escape.h"

int main(int argc, char **argv)
{
	esc_init(argc, argv);
	int fd = open(E.marker, O_WRONLY);
	esc_call("open the marker for writing", fd);
	esc_call("truncate the marker", truncate(E.marker, 0));
	char p[4096];
	snprintf(p, sizeof(p), "%s/renamed", E.base);
	esc_call("rename the marker", rename(E.marker, p));
	esc_call("unlink the marker", unlink(E.marker));
	esc_call("chmod the marker", chmod(E.marker, 0777));
	esc_decoy("decoy");
	esc_control("truncate our own file", truncate("decoy", 0) == 0);
	unlink("decoy");
	return 0;
}
