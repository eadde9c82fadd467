// escape: native
// O_PATH descriptors and openat/openat2 relative to them.
#include "escape.h"
#include <linux/openat2.h>

int main(int argc, char **argv)
{
	esc_init(argc, argv);
	int here = open(".", O_PATH);
	int root = open("/", O_PATH);
	esc_fd("openat(O_PATH ., ../marker)", openat(here, "../marker", O_RDONLY));
	char p[4096];
	esc_fd("openat(O_PATH /, ../../ + marker path)",
	       openat(root, esc_join(p, sizeof(p), "../../../..", E.marker), O_RDONLY));
	struct open_how how = { .flags = O_RDONLY };
	esc_fd("openat2(O_PATH ., ../marker)", syscall(SYS_openat2, here, "../marker", &how, sizeof(how)));
	int up = openat(here, "..", O_PATH);
	esc_fd("openat(openat(., ..), marker)", openat(up, "marker", O_RDONLY));
	esc_decoy("decoy");
	esc_control("openat(O_PATH ., decoy)", esc_is_decoy(openat(here, "decoy", O_RDONLY)));
	unlink("decoy");
	return 0;
}
