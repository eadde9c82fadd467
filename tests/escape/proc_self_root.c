// escape: native
// /proc/self/root, and `..` from it.
#include "escape.h"

int main(int argc, char **argv)
{
	esc_init(argc, argv);
	char p[4096];
	esc_open("/proc/self/root + marker path", esc_join(p, sizeof(p), "/proc/self/root", E.marker));
	esc_open("/proc/self/root/../../.. + marker path", esc_join(p, sizeof(p), "/proc/self/root/../../..", E.marker));
	esc_decoy("decoy");
	char cwd[1024], d[2048];
	if (getcwd(cwd, sizeof(cwd))) {
		snprintf(d, sizeof(d), "/proc/self/root%s/decoy", strcmp(cwd, "/") ? cwd : "");
		esc_control("/proc/self/root reaches our own file", esc_is_decoy(open(d, O_RDONLY)));
	}
	unlink("decoy");
	return 0;
}
