// fsync/fdatasync/syncfs/sync on files and their errors (EINVAL on a pipe,
// EBADF), and umask: the previous value is returned and new files and
// directories get masked permissions.
#include "dt.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static unsigned perm(const char *p)
{
	struct stat st;
	stat(p, &st);
	return st.st_mode & 07777;
}

int main(void)
{
	dt_init();
	int fd = open("fs", O_CREAT | O_RDWR, 0600);
	CHK("write", write(fd, "data", 4));
	CHK("fsync", fsync(fd));
	CHK("fdatasync", fdatasync(fd));
	CHK("syncfs", syncfs(fd));
	sync();
	printf("sync returned\n");
	int ro = open("fs", O_RDONLY);
	CHK("fsync read-only fd", fsync(ro));
	int d = open(".", O_RDONLY | O_DIRECTORY);
	CHK("fsync directory", fsync(d));
	int p[2];
	CHK("pipe", pipe(p));
	CHK("fsync pipe", fsync(p[0]));
	CHK("fdatasync pipe", fdatasync(p[1]));
	CHK("fsync bad fd", fsync(99));
	CHK("fdatasync bad fd", fdatasync(-1));
	CHK("syncfs bad fd", syncfs(99));

	umask(022);
	CHK("umask(077) returns old", umask(077));
	CHK("umask(027) returns old", umask(027));
	dt_show_status("Umask:");
	CHK("umask(0777|01000) returns old", umask(0777 | 01000));
	CHK("umask(0) returns masked old", umask(0));
	umask(077);
	close(open("u1", O_CREAT | O_WRONLY, 0666));
	mkdir("u2", 0777);
	printf("umask 077: file=%o dir=%o\n", perm("u1"), perm("u2"));
	umask(0);
	close(open("u3", O_CREAT | O_WRONLY, 0666));
	mkdir("u4", 0777);
	printf("umask 000: file=%o dir=%o\n", perm("u3"), perm("u4"));
	umask(0222);
	CHK("mkdirat 0777", mkdirat(AT_FDCWD, "u5", 0777));
	printf("umask 222: dir=%o\n", perm("u5"));
	unlink("u1");
	unlink("u3");
	rmdir("u2");
	rmdir("u4");
	rmdir("u5");
	CHK("unlink fs", unlink("fs"));
	return 0;
}
