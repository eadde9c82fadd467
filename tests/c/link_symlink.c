// linkat/symlinkat: hard link counts, AT_SYMLINK_FOLLOW, dangling and
// relative symlinks, and EEXIST/EPERM/ENOENT/ELOOP/EFAULT errors.
#include "dt.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static void nlink(const char *p)
{
	struct stat st;
	if (lstat(p, &st))
		printf("%s: %s\n", p, dt_errname(errno));
	else
		printf("%s: nlink=%lu type=%s\n", p, (unsigned long)st.st_nlink,
		       S_ISLNK(st.st_mode) ? "lnk" : S_ISREG(st.st_mode) ? "reg" : "other");
}

int main(void)
{
	dt_init();
	int fd = open("orig", O_CREAT | O_WRONLY, 0644);
	CHK("write", write(fd, "payload", 7));
	close(fd);
	CHK("linkat orig h1", linkat(AT_FDCWD, "orig", AT_FDCWD, "h1", 0));
	nlink("orig");
	CHK("linkat existing", linkat(AT_FDCWD, "orig", AT_FDCWD, "h1", 0));
	CHK("linkat missing", linkat(AT_FDCWD, "missing", AT_FDCWD, "h2", 0));
	CHK("mkdir", mkdir("dir", 0755));
	CHK("link directory", link("dir", "dirlink"));
	CHK("symlinkat", symlinkat("orig", AT_FDCWD, "sym"));
	CHK("symlinkat existing", symlinkat("orig", AT_FDCWD, "sym"));
	CHK("symlink empty target", symlink("", "empty"));
	CHK("linkat sym (no follow)", linkat(AT_FDCWD, "sym", AT_FDCWD, "h-sym", 0));
	nlink("h-sym");
	CHK("linkat sym AT_SYMLINK_FOLLOW", linkat(AT_FDCWD, "sym", AT_FDCWD, "h-follow", AT_SYMLINK_FOLLOW));
	nlink("h-follow");
	nlink("orig");
	CHK("linkat bad flags", linkat(AT_FDCWD, "orig", AT_FDCWD, "h3", 0x1));
	int dfd = open("dir", O_RDONLY | O_DIRECTORY);
	CHK("symlinkat relative in dir", symlinkat("../orig", dfd, "up"));
	char buf[16] = {0};
	int r = open("dir/up", O_RDONLY);
	CHK("read through relative symlink", read(r, buf, sizeof(buf) - 1));
	printf("buf=%s\n", buf);
	close(r);
	CHK("symlink dangling", symlink("nothing-here", "dangling"));
	CHK("open dangling", open("dangling", O_RDONLY));
	CHK("open dangling O_CREAT creates target", open("dangling", O_CREAT | O_WRONLY, 0600));
	CHK("access nothing-here", access("nothing-here", F_OK));
	CHK("open sym O_NOFOLLOW", open("sym", O_RDONLY | O_NOFOLLOW));
	CHK("symlink BADPTR", symlink(BADPTR, "x"));
	CHK("symlinkat bad dirfd", symlinkat("t", 99, "x"));
	CHK("unlink orig", unlink("orig"));
	nlink("h1");
	CHK("open sym after target removed", open("sym", O_RDONLY));
	const char *names[] = { "h1", "sym", "h-sym", "h-follow", "dir/up", "dangling", "nothing-here" };
	for (int i = 0; i < 7; i++)
		if (unlink(names[i]))
			printf("unlink %s: %s\n", names[i], dt_errname(errno));
	CHK("rmdir", rmdir("dir"));
	return 0;
}
