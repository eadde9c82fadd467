// escape: volumes
// `..` out of a volume: the volume's host directory sits next to the
// marker, but the volume's parent inside is the sandbox's directory it
// is mounted on.
#include "escape.h"
#include <linux/openat2.h>

static int o2(int dir, const char *path, unsigned long long resolve)
{
	struct open_how how = { .flags = O_RDONLY, .resolve = resolve };
	return (int)syscall(SYS_openat2, dir, path, &how, sizeof(how));
}

int main(int argc, char **argv)
{
	esc_init(argc, argv);
	int d = open("/vol", O_RDONLY | O_DIRECTORY);
	esc_open("volume: /vol/../marker", "/vol/../marker");
	esc_open("volume: /rovol/../marker", "/rovol/../marker");
	esc_fd("volume: openat(volume, ../marker)", openat(d, "../marker", O_RDONLY));
	esc_fd("volume: openat(volume, sub/../../marker)",
	       openat(d, "sub/../../marker", O_RDONLY));
	esc_fd("volume: openat(volume, ../../../../../marker)",
	       openat(d, "../../../../../marker", O_RDONLY));
	esc_fd("volume: openat2(volume, ../marker, RESOLVE_BENEATH)",
	       o2(d, "../marker", RESOLVE_BENEATH));
	esc_fd("volume: openat2(volume, ../marker, RESOLVE_IN_ROOT)",
	       o2(d, "../marker", RESOLVE_IN_ROOT));
	if (chdir("/vol/sub") == 0) {
		esc_open("volume: cwd in the volume, ../../marker", "../../marker");
		chdir("/");
	}
	if (fchdir(d) == 0) {
		for (int i = 0; i < 8; i++)
			chdir("..");
		esc_open("volume: fchdir(volume) then ..s, marker", "marker");
		chdir("/");
	}
	esc_control("openat(volume, sub/../file)",
		    esc_is_decoy(openat(d, "sub/../file", O_RDONLY)));
	esc_control("openat2(volume, file, RESOLVE_BENEATH)",
		    esc_is_decoy(o2(d, "file", RESOLVE_BENEATH)));
	close(d);
	return 0;
}
