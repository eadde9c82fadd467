// fchmodat/fchmod/fchownat/fchown/lchown: set a mode/owner, stat it back;
// -1 leaves an id unchanged; ENOENT/EBADF/EINVAL/EFAULT errors. Runs as root.
#include "dt.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static void show(const char *p)
{
	struct stat st;
	if (lstat(p, &st))
		printf("%s: %s\n", p, dt_errname(errno));
	else
		printf("%s: mode=%o uid=%u gid=%u\n", p, st.st_mode & 07777,
		       (unsigned)st.st_uid, (unsigned)st.st_gid);
}

int main(void)
{
	dt_init();
	umask(0);
	int fd = open("f", O_CREAT | O_RDWR, 0600);
	show("f");
	CHK("fchmodat 0640", fchmodat(AT_FDCWD, "f", 0640, 0));
	show("f");
	CHK("fchmod 04751 (setuid)", fchmod(fd, 04751));
	show("f");
	CHK("chmod 0", chmod("f", 0));
	show("f");
	CHK("chmod keeps only 07777", chmod("f", 0170644));
	show("f");
	CHK("fchownat 1234:5678", fchownat(AT_FDCWD, "f", 1234, 5678, 0));
	show("f");
	CHK("fchown -1:42", fchown(fd, (uid_t)-1, 42));
	show("f");
	CHK("fchmod 06755", fchmod(fd, 06755));
	CHK("chown clears setuid/setgid", fchown(fd, 7, 7));
	show("f");
	CHK("mkdir", mkdir("d", 0700));
	CHK("chmod dir 01777", chmod("d", 01777));
	show("d");
	CHK("symlink", symlink("f", "l"));
	CHK("lchown link", lchown("l", 99, 98));
	show("l");
	show("f");
	CHK("fchownat NOFOLLOW", fchownat(AT_FDCWD, "l", 11, 12, AT_SYMLINK_NOFOLLOW));
	show("l");
	CHK("chmod missing", chmod("missing", 0644));
	CHK("chown missing", chown("missing", 1, 1));
	CHK("fchmod bad fd", fchmod(99, 0644));
	CHK("fchown bad fd", fchown(99, 1, 1));
	CHK("fchownat bad flags", fchownat(AT_FDCWD, "f", 1, 1, 0x1));
	CHK("chmod BADPTR", chmod(BADPTR, 0644));
	int dfd = open("d", O_RDONLY | O_DIRECTORY);
	CHK("create in d", openat(dfd, "g", O_CREAT | O_WRONLY, 0666));
	CHK("fchmodat relative to dirfd", fchmodat(dfd, "g", 0444, 0));
	show("d/g");
	/* Root may still write to a 0444 file. */
	CHK("open 0444 O_WRONLY as root", open("d/g", O_WRONLY));
	close(fd);
	unlink("d/g");
	rmdir("d");
	unlink("l");
	CHK("unlink f", unlink("f"));
	return 0;
}
