// statx: basic stats for a file, a directory and a symlink, AT_EMPTY_PATH on
// an fd, and the errors EINVAL (bad flags / reserved mask), ENOENT, EFAULT.
#include "dt.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static void show(const char *what, int ret, struct statx *sx)
{
	if (ret) {
		printf("%s: ret=%d errno=%s\n", what, ret, dt_errname(errno));
		return;
	}
	const char *t = S_ISREG(sx->stx_mode) ? "reg" : S_ISDIR(sx->stx_mode) ? "dir"
		      : S_ISLNK(sx->stx_mode) ? "lnk" : "other";
	printf("%s: type=%s perm=%o nlink=%u", what, t, sx->stx_mode & 07777, sx->stx_nlink);
	if (!S_ISDIR(sx->stx_mode)) /* directory sizes are fs-specific */
		printf(" size=%llu", (unsigned long long)sx->stx_size);
	printf("\n");
}

int main(void)
{
	dt_init();
	umask(022);
	struct statx sx;
	int fd = open("sx", O_CREAT | O_RDWR | O_TRUNC, 0604);
	CHK("write", write(fd, "statx!", 6));
	show("statx file", statx(AT_FDCWD, "sx", 0, STATX_BASIC_STATS, &sx), &sx);
	FACT((sx.stx_mask & STATX_BASIC_STATS) == STATX_BASIC_STATS);
	FACT(sx.stx_blksize > 0);
	FACT(sx.stx_uid == getuid());
	show("statx fd AT_EMPTY_PATH", statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx), &sx);
	show("statx mask=STATX_SIZE", statx(fd, "", AT_EMPTY_PATH, STATX_SIZE, &sx), &sx);
	FACT(sx.stx_mask & STATX_SIZE);
	CHK("mkdir", mkdir("d", 0711));
	show("statx dir", statx(AT_FDCWD, "d", 0, STATX_BASIC_STATS, &sx), &sx);
	CHK("symlink", symlink("sx", "l"));
	show("statx link NOFOLLOW", statx(AT_FDCWD, "l", AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx), &sx);
	show("statx link follow", statx(AT_FDCWD, "l", 0, STATX_BASIC_STATS, &sx), &sx);
	show("statx missing", statx(AT_FDCWD, "nope", 0, STATX_BASIC_STATS, &sx), &sx);
	show("statx bad flags", statx(AT_FDCWD, "sx", 0x7fff0000, STATX_BASIC_STATS, &sx), &sx);
	show("statx reserved mask", statx(AT_FDCWD, "sx", 0, 0x80000000U, &sx), &sx);
	show("statx sync force|dont", statx(AT_FDCWD, "sx", AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC, STATX_BASIC_STATS, &sx), &sx);
	show("statx BADPTR buf", statx(AT_FDCWD, "sx", 0, STATX_BASIC_STATS, BADPTR), &sx);
	show("statx bad dirfd", statx(99, "sx", 0, STATX_BASIC_STATS, &sx), &sx);
	close(fd);
	CHK("unlink l", unlink("l"));
	CHK("unlink sx", unlink("sx"));
	CHK("rmdir d", rmdir("d"));
	return 0;
}
