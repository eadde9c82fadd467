// access/faccessat/faccessat2: F_OK/R_OK/W_OK/X_OK as root (root needs at
// least one execute bit for X_OK), AT_EACCESS, AT_SYMLINK_NOFOLLOW, and
// EACCES/ENOENT/ENOTDIR/EINVAL/EFAULT/EBADF errors.
#include "dt.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_faccessat2
#define SYS_faccessat2 439
#endif

static long fa2(int dirfd, const char *p, int mode, int flags)
{
	return syscall(SYS_faccessat2, dirfd, p, mode, flags);
}

int main(void)
{
	dt_init();
	umask(0);
	close(open("noexec", O_CREAT | O_WRONLY, 0644));
	close(open("exec", O_CREAT | O_WRONLY, 0700));
	close(open("none", O_CREAT | O_WRONLY, 0000));
	CHK("uid is root (tests run as root)", getuid());
	CHK("access noexec F_OK", access("noexec", F_OK));
	CHK("access noexec R_OK|W_OK", access("noexec", R_OK | W_OK));
	CHK("access noexec X_OK", access("noexec", X_OK));
	CHK("access exec X_OK", access("exec", X_OK));
	CHK("access none R_OK|W_OK (root)", access("none", R_OK | W_OK));
	CHK("access none X_OK", access("none", X_OK));
	CHK("access dir X_OK", access(".", X_OK));
	CHK("access missing", access("missing", F_OK));
	CHK("access noexec/x", access("noexec/x", F_OK));
	CHK("access bad mode", access("noexec", 8));
	CHK("access BADPTR", access(BADPTR, F_OK));
	CHK("faccessat2 R_OK", fa2(AT_FDCWD, "noexec", R_OK, 0));
	CHK("faccessat2 X_OK", fa2(AT_FDCWD, "noexec", X_OK, 0));
	CHK("faccessat2 AT_EACCESS", fa2(AT_FDCWD, "exec", X_OK, AT_EACCESS));
	CHK("symlink dangling", symlink("missing", "dangling"));
	CHK("faccessat2 dangling", fa2(AT_FDCWD, "dangling", F_OK, 0));
	CHK("faccessat2 dangling NOFOLLOW", fa2(AT_FDCWD, "dangling", F_OK, AT_SYMLINK_NOFOLLOW));
	int fd = open("exec", O_RDONLY);
	CHK("faccessat2 AT_EMPTY_PATH", fa2(fd, "", X_OK, AT_EMPTY_PATH));
	CHK("faccessat2 bad flags", fa2(AT_FDCWD, "exec", F_OK, 0x1));
	CHK("faccessat2 bad mode", fa2(AT_FDCWD, "exec", 0x10, 0));
	CHK("faccessat2 bad dirfd", fa2(99, "exec", F_OK, 0));
	CHK("faccessat (no flags syscall)", syscall(SYS_faccessat, AT_FDCWD, "exec", W_OK));
	CHK("access /bin/sh X_OK", access("/bin/sh", X_OK));
	close(fd);
	unlink("noexec");
	unlink("exec");
	unlink("none");
	unlink("dangling");
	return 0;
}
