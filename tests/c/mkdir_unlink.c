// mkdirat/unlinkat/rmdir: creation relative to a dirfd, AT_REMOVEDIR, and
// EEXIST/ENOENT/ENOTDIR/EISDIR/ENOTEMPTY/EINVAL/EBADF/EFAULT errors.
#include "dt.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	umask(022);
	CHK("mkdir top", mkdir("top", 0777));
	struct stat st;
	stat("top", &st);
	printf("perm after umask 022: %o\n", st.st_mode & 07777);
	CHK("mkdir top again", mkdir("top", 0755));
	CHK("mkdir missing/parent", mkdir("missing/x", 0755));
	int dfd = open("top", O_RDONLY | O_DIRECTORY);
	CHK("mkdirat(dfd, sub)", mkdirat(dfd, "sub", 0700));
	CHK("mkdirat(dfd, sub/deeper)", mkdirat(dfd, "sub/deeper", 0700));
	CHK("create top/file", open("top/file", O_CREAT | O_WRONLY, 0644));
	close(4);
	CHK("mkdirat under file", mkdirat(dfd, "file/x", 0700));
	CHK("mkdir over file", mkdir("top/file", 0700));
	CHK("mkdir trailing slash", mkdir("top/slash/", 0700));
	CHK("mkdir BADPTR", mkdir(BADPTR, 0700));
	CHK("mkdirat bad dirfd", mkdirat(99, "x", 0700));
	CHK("mkdir \"\"", mkdir("", 0700));
	CHK("stat dir nlink", stat("top", &st));
	printf("nlink=%lu\n", (unsigned long)st.st_nlink);

	CHK("unlinkat dir without AT_REMOVEDIR", unlinkat(dfd, "sub", 0));
	CHK("unlinkat nonempty AT_REMOVEDIR", unlinkat(dfd, "sub", AT_REMOVEDIR));
	CHK("rmdir nonempty", rmdir("top/sub"));
	CHK("unlinkat file AT_REMOVEDIR", unlinkat(dfd, "file", AT_REMOVEDIR));
	CHK("rmdir file", rmdir("top/file"));
	CHK("unlinkat bad flags", unlinkat(dfd, "file", 0x1));
	CHK("unlinkat missing", unlinkat(dfd, "missing", 0));
	CHK("unlink BADPTR", unlink(BADPTR));
	CHK("rmdir .", rmdir("top/sub/."));
	CHK("rmdir ..", rmdir("top/sub/.."));
	CHK("unlinkat sub/deeper AT_REMOVEDIR", unlinkat(dfd, "sub/deeper", AT_REMOVEDIR));
	CHK("unlinkat sub AT_REMOVEDIR", unlinkat(dfd, "sub", AT_REMOVEDIR));
	CHK("unlinkat file", unlinkat(dfd, "file", 0));
	CHK("unlinkat file again", unlinkat(dfd, "file", 0));
	CHK("rmdir missing", rmdir("top/sub"));

	/* An unlinked but open file stays readable. */
	int f = open("top/tmp", O_CREAT | O_RDWR, 0600);
	CHK("write", write(f, "still here", 10));
	CHK("unlink open file", unlink("top/tmp"));
	CHK("fstat unlinked", fstat(f, &st));
	printf("nlink=%lu size=%lld\n", (unsigned long)st.st_nlink, (long long)st.st_size);
	char buf[16] = {0};
	CHK("pread unlinked", pread(f, buf, sizeof(buf) - 1, 0));
	printf("buf=%s\n", buf);
	CHK("access unlinked", access("top/tmp", F_OK));
	close(f);
	close(dfd);
	CHK("rmdir top/slash/", rmdir("top/slash/"));
	CHK("rmdir top", rmdir("top"));
	return 0;
}
