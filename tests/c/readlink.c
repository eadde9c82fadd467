// readlinkat: full and truncated reads (no NUL terminator, returns bufsiz),
// dirfd-relative lookups, and EINVAL/ENOENT/ENOTDIR/EFAULT/EBADF errors.
#include "dt.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	CHK("symlink", symlink("some/target/path", "lnk"));
	CHK("symlink dangling abs", symlink("/nonexistent/abs", "abs"));
	char buf[64];
	memset(buf, '#', sizeof(buf));
	CHK("readlinkat lnk", readlinkat(AT_FDCWD, "lnk", buf, sizeof(buf)));
	printf("buf=%.20s\n", buf);
	memset(buf, '#', sizeof(buf));
	CHK("readlinkat truncated 4", readlinkat(AT_FDCWD, "lnk", buf, 4));
	printf("buf=%.8s\n", buf);
	CHK("readlink abs", readlink("abs", buf, sizeof(buf)));
	printf("buf=%.16s\n", buf);
	CHK("mkdir", mkdir("d", 0755));
	CHK("symlink in d", symlink("../lnk", "d/up"));
	int dfd = open("d", O_RDONLY | O_DIRECTORY);
	memset(buf, 0, sizeof(buf));
	CHK("readlinkat(dfd, up)", readlinkat(dfd, "up", buf, sizeof(buf)));
	printf("buf=%s\n", buf);
	close(open("reg", O_CREAT | O_WRONLY, 0600));
	CHK("readlink regular file", readlink("reg", buf, sizeof(buf)));
	CHK("readlink directory", readlink("d", buf, sizeof(buf)));
	CHK("readlink missing", readlink("missing", buf, sizeof(buf)));
	CHK("readlink reg/x", readlink("reg/x", buf, sizeof(buf)));
	CHK("readlink bufsiz 0", readlink("lnk", buf, 0));
	CHK("readlink BADPTR buf", readlink("lnk", BADPTR, 10));
	CHK("readlinkat bad dirfd", readlinkat(99, "up", buf, sizeof(buf)));
	/* Intermediate symlinks are followed, the last one is not. */
	CHK("symlink to dir", symlink("d", "dlink"));
	memset(buf, 0, sizeof(buf));
	CHK("readlink dlink/up", readlink("dlink/up", buf, sizeof(buf)));
	printf("buf=%s\n", buf);
	/* Symlink loops. */
	CHK("symlink loop1", symlink("loop2", "loop1"));
	CHK("symlink loop2", symlink("loop1", "loop2"));
	CHK("open loop", open("loop1", O_RDONLY));
	CHK("readlink loop1", readlink("loop1", buf, sizeof(buf)));
	CHK("open lnk O_NOFOLLOW", open("lnk", O_RDONLY | O_NOFOLLOW));
	close(dfd);
	const char *all[] = { "lnk", "abs", "d/up", "reg", "dlink", "loop1", "loop2" };
	for (int i = 0; i < 7; i++)
		unlink(all[i]);
	CHK("rmdir d", rmdir("d"));
	return 0;
}
