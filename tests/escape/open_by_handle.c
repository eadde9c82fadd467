// escape: native
// open_by_handle_at: a handle for the marker (asked for natively), and
// the "shocker" guess of the host filesystem's root (inode 2).
#include "escape.h"

struct h {
	struct file_handle fh;
	unsigned char bytes[128];
};

int main(int argc, char **argv)
{
	esc_init(argc, argv);
	struct h h = { .fh.handle_bytes = 128 };
	int mnt;
	long r = name_to_handle_at(AT_FDCWD, "../marker", &h.fh, &mnt, 0);
	esc_call("name_to_handle_at(../marker)", r);
	if (r == 0)
		esc_fd("open_by_handle_at(its handle)", open_by_handle_at(AT_FDCWD, &h.fh, O_RDONLY));
	/* Inode 2, generation 0: the root directory of an ext2/3/4 host disk. */
	struct h g = { .fh.handle_bytes = 8, .fh.handle_type = 1 };
	unsigned ino = 2;
	memcpy(g.fh.f_handle, &ino, 4);
	int dfd = open_by_handle_at(open("/", O_RDONLY), &g.fh, O_RDONLY | O_DIRECTORY);
	esc_call("open_by_handle_at(inode 2)", dfd >= 0 ? 0 : -1);
	if (dfd >= 0)
		esc_fd("  + marker path", openat(dfd, esc_rel(E.marker), O_RDONLY));
	return 0;
}
