// statx STATX_MNT_ID: files of one mount share a non-zero id, a bind mount
// has its own, the id is /proc/self/mountinfo's first field for that mount,
// AT_EMPTY_PATH on a descriptor gives its mount's id, and after umount the
// path is back on the outer mount. Runs after unshare(CLONE_NEWNS) with /
// made private, so nothing reaches the outer namespace.
#include "dt.h"
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static unsigned long long mnt(int dirfd, const char *p, int flags)
{
	struct statx sx;
	memset(&sx, 0, sizeof(sx));
	if (statx(dirfd, p, flags, STATX_MNT_ID, &sx) < 0) {
		printf("statx %s: %s\n", p, dt_errname(errno));
		return 0;
	}
	if (!(sx.stx_mask & STATX_MNT_ID))
		printf("statx %s: no STATX_MNT_ID in mask\n", p);
	return sx.stx_mnt_id;
}

/* The id mountinfo gives the mount at absolute path `mp` (0 if none). */
static unsigned long long info_id(const char *mp)
{
	char line[8192], m[4200];
	unsigned long long id, found = 0;
	FILE *f = fopen("/proc/self/mountinfo", "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%llu %*s %*s %*s %4199s", &id, m) == 2 && !strcmp(m, mp))
			found = id;
	if (f)
		fclose(f);
	return found;
}

int main(void)
{
	dt_init();
	CHK("unshare(CLONE_NEWNS)", unshare(CLONE_NEWNS));
	CHK("make / private", mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	mkdir("d1", 0755);
	mkdir("d2", 0755);
	close(open("d1/f", O_CREAT | O_WRONLY, 0644));
	unsigned long long a = mnt(AT_FDCWD, "d1", 0), f = mnt(AT_FDCWD, "d1/f", 0);
	FACT(a != 0);
	FACT(a == f);
	FACT(a == mnt(AT_FDCWD, "d2", 0));

	CHK("bind d1 on d2", mount("d1", "d2", NULL, MS_BIND, NULL));
	unsigned long long b = mnt(AT_FDCWD, "d2", 0);
	FACT(b != 0);
	FACT(b != a);
	FACT(b == mnt(AT_FDCWD, "d2/f", 0));
	char cwd[4096], mp[4200];
	if (!getcwd(cwd, sizeof(cwd)))
		return 1;
	snprintf(mp, sizeof(mp), "%s/d2", cwd);
	FACT(b == info_id(mp));
	int fd = open("d2/f", O_RDONLY);
	FACT(mnt(fd, "", AT_EMPTY_PATH) == b);
	int dfd = open("d2", O_PATH | O_DIRECTORY);
	FACT(mnt(dfd, "f", 0) == b);
	FACT(mnt(AT_FDCWD, "/proc/self", 0) == info_id("/proc"));
	FACT(mnt(AT_FDCWD, "/proc/self", 0) != a);
	close(fd);
	close(dfd);
	CHK("umount d2", umount("d2"));
	FACT(mnt(AT_FDCWD, "d2", 0) == a);
	unlink("d1/f");
	rmdir("d1");
	rmdir("d2");
	return 0;
}
