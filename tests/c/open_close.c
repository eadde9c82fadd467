// open/openat/close: creation, O_EXCL, dirfd-relative opens and the error
// paths EEXIST, ENOENT, ENOTDIR, EISDIR, EFAULT, EINVAL, ENAMETOOLONG, EBADF.
#include "dt.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	umask(022);
	int fd = open("f", O_CREAT | O_EXCL | O_WRONLY, 0644);
	printf("open(O_CREAT|O_EXCL) fd=%d\n", fd);
	CHK("write", write(fd, "abc", 3));
	CHK("close", close(fd));
	CHK("close again", close(fd));
	CHK("close(-1)", close(-1));
	CHK("open O_EXCL existing", open("f", O_CREAT | O_EXCL | O_WRONLY, 0644));
	CHK("open missing", open("missing", O_RDONLY));
	CHK("open missing/x", open("missing/x", O_RDONLY));
	CHK("open f/x (ENOTDIR)", open("f/x", O_RDONLY));
	CHK("open f O_DIRECTORY", open("f", O_RDONLY | O_DIRECTORY));
	CHK("open . O_WRONLY (EISDIR)", open(".", O_WRONLY));
	CHK("open . O_RDONLY", open(".", O_RDONLY));
	CHK("close 3", close(3));
	CHK("open BADPTR", open(BADPTR, O_RDONLY));
	CHK("open O_TMPFILE|O_RDONLY (EINVAL)", open(".", O_TMPFILE | O_RDONLY, 0600));
	CHK("open empty path", open("", O_RDONLY));

	char longname[300];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	CHK("open long name", open(longname, O_RDONLY | O_CREAT, 0600));

	CHK("mkdir d", mkdir("d", 0755));
	int dfd = open("d", O_RDONLY | O_DIRECTORY);
	printf("dirfd=%d\n", dfd);
	CHK("openat(dfd, g, O_CREAT)", openat(dfd, "g", O_CREAT | O_RDWR, 0600));
	CHK("write via openat fd", write(4, "0123456789", 10));
	CHK("openat(dfd, ../f)", openat(dfd, "../f", O_RDONLY));
	char buf[8] = {0};
	CHK("read ../f", read(5, buf, sizeof(buf)));
	printf("content=%s\n", buf);
	CHK("openat(AT_FDCWD, d/g)", openat(AT_FDCWD, "d/g", O_RDONLY));
	CHK("openat(99, g)", openat(99, "g", O_RDONLY));
	CHK("openat(99, /abs ignores dirfd)", openat(99, "/", O_RDONLY));
	CHK("openat(file fd, x) ENOTDIR", openat(5, "x", O_RDONLY));
	CHK("open O_TRUNC", open("d/g", O_WRONLY | O_TRUNC));
	struct stat st;
	CHK("stat d/g", stat("d/g", &st));
	printf("size after O_TRUNC=%lld\n", (long long)st.st_size);
	for (int i = 3; i < 10; i++)
		close(i);
	CHK("unlink d/g", unlink("d/g"));
	CHK("rmdir d", rmdir("d"));
	CHK("unlink f", unlink("f"));
	return 0;
}
