// escape: native
// /proc/self/cwd and /proc/self/fd/N symlinks followed by `..`.
#include "escape.h"

int main(int argc, char **argv)
{
	esc_init(argc, argv);
	esc_open("/proc/self/cwd/../marker", "/proc/self/cwd/../marker");
	esc_open("/proc/thread-self/cwd/../marker", "/proc/thread-self/cwd/../marker");
	esc_decoy("decoy");
	esc_control("/proc/self/cwd/decoy", esc_is_decoy(open("/proc/self/cwd/decoy", O_RDONLY)));
	unlink("decoy");
	return 0;
}
