// escape: volumes
// A single host file bound on a file (`/single`, `/rosingle` read-only)
// sits next to the marker on the host: nothing reached through it (`..`,
// its /proc/self/fd link, its descriptor as a directory, a hard link or
// rename out of its mount, writes to the read-only one) leads to its
// host directory.
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
	char buf[256];
	int fd = open("/single", O_RDONLY);
	int pfd = open("/single", O_PATH);
	esc_open("single file: /single/../marker", "/single/../marker");
	esc_open("single file: /single/./../marker", "/single/./../marker");
	esc_fd("single file: openat(file, ../marker)", openat(fd, "../marker", O_RDONLY));
	esc_fd("single file: openat(O_PATH file, ../marker)",
	       openat(pfd, "../marker", O_RDONLY));
	esc_fd("single file: openat(O_PATH file, ..)", openat(pfd, "..", O_RDONLY));
	esc_fd("single file: openat2(file, ../marker, RESOLVE_IN_ROOT)",
	       o2(pfd, "../marker", RESOLVE_IN_ROOT));
	snprintf(buf, sizeof(buf), "/proc/self/fd/%d/../marker", fd);
	esc_open("single file: /proc/self/fd/N/../marker", buf);
	snprintf(buf, sizeof(buf), "/proc/self/fd/%d/..", pfd);
	esc_fd("single file: /proc/self/fd/N/.. as a directory",
	       open(buf, O_RDONLY | O_DIRECTORY));
	esc_call("single file: fchdir(file)", fchdir(pfd));
	esc_call("single file: getdents of the file",
		 syscall(SYS_getdents64, fd, buf, sizeof(buf)));
	/* Its link names the sandbox's path, nothing of the host. */
	char target[256] = { 0 };
	snprintf(buf, sizeof(buf), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(buf, target, sizeof(target) - 1);
	esc_control("single file: /proc/self/fd/N names /single",
		    n > 0 && !strcmp(target, "/single"));
	esc_open("single file: the marker beside the host path",
		 esc_join(buf, sizeof(buf), E.base, "marker"));
	/* Out of its mount: EXDEV / EBUSY, nothing made on the host. */
	esc_call("single file: link into the root", link("/single", "/tmp/hard"));
	snprintf(buf, sizeof(buf), "/proc/self/fd/%d", pfd);
	esc_call("single file: linkat of its descriptor",
		 linkat(AT_FDCWD, buf, AT_FDCWD, "/tmp/hard2", AT_SYMLINK_FOLLOW));
	esc_call("single file: rename it away", rename("/single", "/tmp/moved"));
	esc_call("single file: rename over it", rename("/tmp", "/single"));
	esc_call("single file: unlink it", unlink("/single"));
	esc_call("single file: create beside it in its gofer's directory",
		 open("/single/../new", O_CREAT | O_WRONLY, 0644));
	esc_call("ro single file: open for writing", open("/rosingle", O_WRONLY));
	esc_call("ro single file: truncate", truncate("/rosingle", 0));
	esc_call("ro single file: chmod", chmod("/rosingle", 0777));
	esc_control("single file: reads its decoy", esc_is_decoy(open("/single", O_RDONLY)));
	snprintf(buf, sizeof(buf), "/proc/self/fd/%d", pfd);
	esc_control("single file: /proc/self/fd/N reopens it",
		    esc_is_decoy(open(buf, O_RDONLY)));
	esc_control("ro single file: reads its decoy",
		    esc_is_decoy(open("/rosingle", O_RDONLY)));
	close(fd);
	close(pfd);
	return 0;
}
