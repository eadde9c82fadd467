// fstat/stat/lstat/newfstatat: file type bits, permission bits, size and
// link counts of files this test creates; ENOENT/ENOTDIR/EFAULT/EBADF/EINVAL.
#include "dt.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *type(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFREG: return "reg";
	case S_IFDIR: return "dir";
	case S_IFLNK: return "lnk";
	case S_IFIFO: return "fifo";
	case S_IFCHR: return "chr";
	default: return "other";
	}
}

static void show(const char *what, int ret, struct stat *st)
{
	if (ret)
		printf("%s: ret=%d errno=%s\n", what, ret, dt_errname(errno));
	else if (S_ISDIR(st->st_mode)) /* directory sizes are fs-specific */
		printf("%s: type=dir perm=%o nlink=%lu\n", what, st->st_mode & 07777,
		       (unsigned long)st->st_nlink);
	else
		printf("%s: type=%s perm=%o size=%lld nlink=%lu\n", what, type(st->st_mode),
		       st->st_mode & 07777, (long long)st->st_size, (unsigned long)st->st_nlink);
}

int main(void)
{
	dt_init();
	umask(022);
	struct stat st;
	int fd = open("file", O_CREAT | O_RDWR | O_TRUNC, 0640);
	CHK("write", write(fd, "0123456789abcdef", 16));
	show("fstat file", fstat(fd, &st), &st);
	show("stat file", stat("file", &st), &st);
	CHK("mkdir", mkdir("dir", 0750));
	show("stat dir (empty)", stat("dir", &st), &st);
	CHK("mkdir dir/sub", mkdir("dir/sub", 0700));
	show("stat dir (one subdir)", stat("dir", &st), &st);
	CHK("symlink", symlink("file", "link"));
	show("lstat link", lstat("link", &st), &st);
	show("stat link (follows)", stat("link", &st), &st);
	CHK("link", link("file", "hard"));
	show("stat file after link", stat("file", &st), &st);
	CHK("mkfifo", mkfifo("fifo", 0600));
	show("stat fifo", stat("fifo", &st), &st);
	show("stat /dev/null", stat("/dev/null", &st), &st);
	int dfd = open("dir", O_RDONLY | O_DIRECTORY);
	show("fstatat(dfd, sub)", fstatat(dfd, "sub", &st, 0), &st);
	show("fstatat(dfd, \"\", AT_EMPTY_PATH)", fstatat(dfd, "", &st, AT_EMPTY_PATH), &st);
	show("fstatat(AT_FDCWD, link, NOFOLLOW)", fstatat(AT_FDCWD, "link", &st, AT_SYMLINK_NOFOLLOW), &st);
	show("stat missing", stat("missing", &st), &st);
	show("stat file/x", stat("file/x", &st), &st);
	show("stat \"\"", stat("", &st), &st);
	show("stat BADPTR path", stat(BADPTR, &st), &st);
	show("stat BADPTR buf", stat("file", BADPTR), &st);
	show("fstat bad fd", fstat(55, &st), &st);
	show("fstatat bad flags", fstatat(AT_FDCWD, "file", &st, 0x40000000), &st);
	show("fstatat(file fd, x)", fstatat(fd, "x", &st, 0), &st);
	/* st_blksize and st_blocks: only relations. */
	CHK("fstat", fstat(fd, &st));
	FACT(st.st_blksize > 0);
	FACT(st.st_uid == getuid() && st.st_gid == getgid());
	close(fd);
	close(dfd);
	CHK("unlink file", unlink("file"));
	CHK("unlink hard", unlink("hard"));
	CHK("unlink link", unlink("link"));
	CHK("unlink fifo", unlink("fifo"));
	CHK("rmdir dir/sub", rmdir("dir/sub"));
	CHK("rmdir dir", rmdir("dir"));
	return 0;
}
