// openat2: open_how size and field checks (EINVAL, E2BIG), every
// RESOLVE_* flag (NO_XDEV, NO_MAGICLINKS, NO_SYMLINKS, BENEATH, IN_ROOT,
// CACHED's EAGAIN cases) with symlinks, "..", absolute paths and magic
// links, and O_CREAT under a scope.
#define _GNU_SOURCE
#include "dt.h"
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static long o2(int dirfd, const char *p, unsigned long long flags, unsigned long long mode,
	       unsigned long long resolve)
{
	struct open_how h = {.flags = flags, .mode = mode, .resolve = resolve};
	long r = syscall(SYS_openat2, dirfd, p, &h, sizeof(h));
	if (r >= 0)
		close(r);
	return r >= 0 ? 0 : r;
}

#define T(name, ...) CHK(name, o2(__VA_ARGS__))

int main(void)
{
	dt_init();
	mkdir("top", 0755);
	mkdir("top/sub", 0755);
	close(open("top/sub/f", O_CREAT | O_WRONLY, 0644));
	symlink("sub/f", "top/rel");
	symlink("/etc/hostname", "top/abs");
	symlink("../sub/f", "top/sub/up");
	symlink("../../outside", "top/sub/escape");
	close(open("outside", O_CREAT | O_WRONLY, 0644));
	int top = open("top", O_RDONLY | O_DIRECTORY);

	/* Sizes and fields. */
	struct open_how h = {.flags = O_RDONLY};
	CHK("size 0", syscall(SYS_openat2, top, "sub/f", &h, 0));
	CHK("size 23", syscall(SYS_openat2, top, "sub/f", &h, 23));
	char big[4096 + 8] = {0};
	memcpy(big, &h, sizeof(h));
	long r = syscall(SYS_openat2, top, "sub/f", big, 64);
	printf("size 64 zero tail: %s\n", r >= 0 ? "ok" : dt_errname(errno));
	if (r >= 0)
		close(r);
	big[40] = 1;
	CHK("size 64 non-zero tail", syscall(SYS_openat2, top, "sub/f", big, 64));
	CHK("size over a page", syscall(SYS_openat2, top, "sub/f", big, 4097));
	CHK("bad how pointer", syscall(SYS_openat2, top, "sub/f", (void *)8, sizeof(h)));
	CHK("bad path pointer", syscall(SYS_openat2, top, (void *)8, &h, sizeof(h)));
	T("unknown flag", top, "sub/f", 1ULL << 40, 0, 0);
	T("unknown open flag bit", top, "sub/f", 0x4, 0, 0);
	T("mode without O_CREAT", top, "sub/f", O_RDONLY, 0644, 0);
	T("mode bits beyond 07777", top, "newf", O_CREAT | O_WRONLY, 0100644, 0);
	T("unknown resolve", top, "sub/f", O_RDONLY, 0, 0x40);
	T("BENEATH|IN_ROOT", top, "sub/f", O_RDONLY, 0, RESOLVE_BENEATH | RESOLVE_IN_ROOT);
	T("O_PATH with O_RDWR", top, "sub/f", O_PATH | O_RDWR, 0, 0);
	T("O_DIRECTORY|O_CREAT", top, "x", O_DIRECTORY | O_CREAT, 0644, 0);
	T("plain", top, "sub/f", O_RDONLY, 0, 0);
	T("bad dirfd", 999, "sub/f", O_RDONLY, 0, 0);

	/* NO_SYMLINKS / NO_MAGICLINKS. */
	T("NO_SYMLINKS through link", top, "rel", O_RDONLY, 0, RESOLVE_NO_SYMLINKS);
	T("NO_SYMLINKS plain", top, "sub/f", O_RDONLY, 0, RESOLVE_NO_SYMLINKS);
	T("NO_SYMLINKS O_NOFOLLOW|O_PATH on link", top, "rel", O_PATH | O_NOFOLLOW, 0, RESOLVE_NO_SYMLINKS);
	T("NO_SYMLINKS /proc/self", AT_FDCWD, "/proc/self/status", O_RDONLY, 0, RESOLVE_NO_SYMLINKS);
	char fdpath[64];
	int keep = open("top/sub/f", O_RDONLY);
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", keep);
	T("magic link", AT_FDCWD, fdpath, O_RDONLY, 0, 0);
	T("NO_MAGICLINKS magic link", AT_FDCWD, fdpath, O_RDONLY, 0, RESOLVE_NO_MAGICLINKS);
	T("NO_MAGICLINKS plain symlink", top, "rel", O_RDONLY, 0, RESOLVE_NO_MAGICLINKS);
	T("NO_MAGICLINKS /proc/self", AT_FDCWD, "/proc/self/status", O_RDONLY, 0, RESOLVE_NO_MAGICLINKS);
	T("NO_MAGICLINKS O_PATH|O_NOFOLLOW magic", AT_FDCWD, fdpath, O_PATH | O_NOFOLLOW, 0, RESOLVE_NO_MAGICLINKS);

	/* BENEATH. */
	T("BENEATH inside", top, "sub/f", O_RDONLY, 0, RESOLVE_BENEATH);
	T("BENEATH relative symlink", top, "rel", O_RDONLY, 0, RESOLVE_BENEATH);
	T("BENEATH symlink with ..", top, "sub/up", O_RDONLY, 0, RESOLVE_BENEATH);
	T("BENEATH .. inside", top, "sub/../sub/f", O_RDONLY, 0, RESOLVE_BENEATH);
	T("BENEATH ..", top, "../outside", O_RDONLY, 0, RESOLVE_BENEATH);
	T("BENEATH escaping symlink", top, "sub/escape", O_RDONLY, 0, RESOLVE_BENEATH);
	T("BENEATH absolute", top, "/etc/hostname", O_RDONLY, 0, RESOLVE_BENEATH);
	T("BENEATH absolute symlink", top, "abs", O_RDONLY, 0, RESOLVE_BENEATH);
	T("BENEATH magic link", AT_FDCWD, fdpath, O_RDONLY, 0, RESOLVE_BENEATH);
	T("BENEATH create", top, "sub/new", O_CREAT | O_WRONLY, 0600, RESOLVE_BENEATH);
	T("BENEATH create outside", top, "../new", O_CREAT | O_WRONLY, 0600, RESOLVE_BENEATH);

	/* IN_ROOT: the directory is /. */
	T("IN_ROOT absolute", top, "/sub/f", O_RDONLY, 0, RESOLVE_IN_ROOT);
	T("IN_ROOT .. clamps", top, "../../sub/f", O_RDONLY, 0, RESOLVE_IN_ROOT);
	T("IN_ROOT escaping symlink", top, "sub/escape", O_RDONLY, 0, RESOLVE_IN_ROOT);
	T("IN_ROOT absolute symlink", top, "abs", O_RDONLY, 0, RESOLVE_IN_ROOT);
	T("IN_ROOT magic link", AT_FDCWD, fdpath, O_RDONLY, 0, RESOLVE_IN_ROOT);
	T("IN_ROOT create", top, "/sub/new2", O_CREAT | O_WRONLY, 0600, RESOLVE_IN_ROOT);
	struct stat st;
	CHK("created inside", stat("top/sub/new2", &st));

	/* NO_XDEV. */
	int root = open("/", O_RDONLY | O_DIRECTORY);
	T("NO_XDEV into /proc", root, "proc/self/status", O_RDONLY, 0, RESOLVE_NO_XDEV);
	int proc = open("/proc", O_RDONLY | O_DIRECTORY);
	T("NO_XDEV inside /proc", proc, "self/status", O_RDONLY, 0, RESOLVE_NO_XDEV);
	T("NO_XDEV out of /proc by ..", proc, "../etc/hostname", O_RDONLY, 0, RESOLVE_NO_XDEV);
	T("NO_XDEV absolute from /proc", proc, "/etc/hostname", O_RDONLY, 0, RESOLVE_NO_XDEV);
	T("NO_XDEV inside", top, "sub/f", O_RDONLY, 0, RESOLVE_NO_XDEV);

	/* CACHED. */
	T("CACHED O_CREAT", top, "sub/f", O_CREAT | O_RDONLY, 0600, RESOLVE_CACHED);
	T("CACHED O_TRUNC", top, "sub/f", O_TRUNC | O_WRONLY, 0, RESOLVE_CACHED);
	T("CACHED O_TMPFILE", top, "sub", O_TMPFILE | O_WRONLY, 0600, RESOLVE_CACHED);
	T("CACHED recently used", top, "sub/f", O_RDONLY, 0, RESOLVE_CACHED);

	unlink("top/sub/f");
	unlink("top/sub/new");
	unlink("top/sub/new2");
	unlink("top/sub/up");
	unlink("top/sub/escape");
	unlink("top/rel");
	unlink("top/abs");
	rmdir("top/sub");
	rmdir("top");
	unlink("outside");
	return 0;
}
