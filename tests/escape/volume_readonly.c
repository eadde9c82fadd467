// escape: volumes
// Changing a read-only volume's host directory: every way to write is
// EROFS (the harness checks the host directory is as it was).
#define _GNU_SOURCE
#include "escape.h"
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/xattr.h>

int main(int argc, char **argv)
{
	esc_init(argc, argv);
	esc_call("ro volume: open for writing", open("/rovol/file", O_WRONLY));
	esc_call("ro volume: open O_RDWR|O_TRUNC", open("/rovol/file", O_RDWR | O_TRUNC));
	esc_call("ro volume: creat", open("/rovol/new", O_CREAT | O_WRONLY, 0644));
	esc_call("ro volume: mkdir", mkdir("/rovol/dir", 0755));
	esc_call("ro volume: mkfifo", mkfifo("/rovol/fifo", 0644));
	esc_call("ro volume: symlink", symlink("file", "/rovol/sl"));
	esc_call("ro volume: link", link("/rovol/file", "/rovol/hl"));
	esc_call("ro volume: rename", rename("/rovol/file", "/rovol/moved"));
	esc_call("ro volume: unlink", unlink("/rovol/file"));
	esc_call("ro volume: chmod", chmod("/rovol/file", 0777));
	esc_call("ro volume: chown", chown("/rovol/file", 1, 1));
	esc_call("ro volume: truncate", truncate("/rovol/file", 1));
	esc_call("ro volume: utimes", utimes("/rovol/file", NULL));
	esc_call("ro volume: setxattr",
		 setxattr("/rovol/file", "user.x", "1", 1, 0));
	int fd = open("/rovol/file", O_RDONLY);
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	esc_call("ro volume: shared writable mapping", p == MAP_FAILED ? -1 : 0);
	if (p != MAP_FAILED)
		munmap(p, 4096);
	close(fd);
	esc_control("ro volume reads", esc_is_decoy(open("/rovol/file", O_RDONLY)));
	fd = open("/vol/made", O_CREAT | O_WRONLY, 0644);
	esc_control("rw volume takes a write", fd >= 0 && write(fd, "x", 1) == 1);
	close(fd);
	unlink("/vol/made");
	return 0;
}
