// /proc/1/root: the host's init natively (not run natively: this host's
// init may be out of reach even for root), the program itself inside.
#include "escape.h"

int main(int argc, char **argv)
{
	esc_init(argc, argv);
	char p[4096];
	esc_open("/proc/1/root + marker path", esc_join(p, sizeof(p), "/proc/1/root", E.marker));
	esc_open("/proc/1/cwd/../marker", "/proc/1/cwd/../marker");
	esc_decoy("/tmp/decoy");
	esc_control("/proc/1/root/tmp/decoy is our own file", esc_is_decoy(open("/proc/1/root/tmp/decoy", O_RDONLY)));
	unlink("/tmp/decoy");
	return 0;
}
