// escape: volumes
// Symlinks in a volume that point out of it: made by the host (absolute
// to the marker, `../` and `../../` out of the volume) and made inside.
// The sentry resolves them in the sandbox's view, where the marker's
// host path names nothing; the gofer never follows one.
#include "escape.h"

int main(int argc, char **argv)
{
	esc_init(argc, argv);
	char buf[4096];
	esc_open("volume: host-made absolute symlink to the marker", "/vol/abs");
	esc_open("volume: host-made ../ symlink out of the volume", "/vol/rel");
	esc_open("volume: host-made ../../ symlink from a subdirectory", "/vol/sub/rel2");
	int d = open("/vol", O_RDONLY | O_DIRECTORY);
	esc_fd("volume: openat(volume, abs)", openat(d, "abs", O_RDONLY));
	esc_fd("volume: openat(volume, rel)", openat(d, "rel", O_RDONLY));
	snprintf(buf, sizeof(buf), "/proc/self/fd/%d/rel", d);
	esc_open("volume: /proc/self/fd/N/rel of the volume", buf);
	if (symlink(E.marker, "/vol/mine") < 0)
		perror("symlink /vol/mine");
	esc_open("volume: absolute symlink made inside", "/vol/mine");
	unlink("/vol/mine");
	if (symlink("../../../../../../../../..", "/vol/up") < 0)
		perror("symlink /vol/up");
	esc_open("volume: ../.. symlink made inside, then the marker's path",
		 esc_join(buf, sizeof(buf), "/vol/up", E.marker));
	unlink("/vol/up");
	/* The links are there as the host made them, and work inside. */
	ssize_t n = readlink("/vol/abs", buf, sizeof(buf) - 1);
	esc_control("readlink shows the host's target",
		    n > 0 && (size_t)n == strlen(E.marker) && !memcmp(buf, E.marker, (size_t)n));
	esc_control("a volume file reads", esc_is_decoy(open("/vol/file", O_RDONLY)));
	int ok = symlink("file", "/vol/inner") == 0;
	esc_control("a symlink inside the volume works",
		    ok && esc_is_decoy(openat(d, "inner", O_RDONLY)));
	unlink("/vol/inner");
	close(d);
	return 0;
}
