// name_to_handle_at / open_by_handle_at. A handle of /dev/zero (tmpfs's
// 12-byte FILEID_INO32_GEN) opens the same file again through a
// descriptor on its filesystem; the mount ID is the one mountinfo lists
// for the file's mount. A short buffer is EOVERFLOW with the size needed
// (and FILEID_INVALID); a buffer over MAX_HANDLE_SZ or unknown flags
// EINVAL; a handle of a removed file ESTALE, a garbled one ESTALE;
// opening needs CAP_DAC_READ_SEARCH (EPERM); a bad mount descriptor
// EBADF; /proc has no handles (EOPNOTSUPP) unless AT_HANDLE_FID. The
// sandbox said EOPNOTSUPP for everything.
#define _GNU_SOURCE
#include "dt.h"
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef AT_HANDLE_FID
#define AT_HANDLE_FID 0x200
#endif

static union {
	struct file_handle h;
	char buf[sizeof(struct file_handle) + MAX_HANDLE_SZ];
} u;

/* The ID mountinfo gives the mount `path` is on (longest prefix). */
static int mountinfo_id(const char *path)
{
	char rp[PATH_MAX], line[1024], mp[512];
	if (!realpath(path, rp))
		return -1;
	FILE *f = fopen("/proc/self/mountinfo", "r");
	int best = -1;
	size_t best_len = 0;
	while (f && fgets(line, sizeof line, f)) {
		int id;
		if (sscanf(line, "%d %*d %*s %*s %511s", &id, mp) != 2)
			continue;
		size_t n = strlen(mp);
		int prefix = !strcmp(mp, "/") || (!strncmp(rp, mp, n) && (rp[n] == '/' || !rp[n]));
		if (prefix && n >= best_len) {
			best = id;
			best_len = n;
		}
	}
	if (f)
		fclose(f);
	return best;
}

static int same_file(int a, int b)
{
	struct stat x, y;
	return !fstat(a, &x) && !fstat(b, &y) && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

static int get(int dfd, const char *p, unsigned room, int *mnt, int flags)
{
	memset(&u, 0, sizeof u);
	u.h.handle_bytes = room;
	u.h.handle_type = -7;
	return name_to_handle_at(dfd, p, &u.h, mnt, flags);
}

int main(void)
{
	dt_init();
	int mnt = -1;
	CHK("zero", get(AT_FDCWD, "/dev/zero", MAX_HANDLE_SZ, &mnt, 0));
	printf("  bytes %u type %d mount id matches %d\n", u.h.handle_bytes, u.h.handle_type,
	       mnt == mountinfo_id("/dev/zero"));
	struct file_handle *keep = malloc(sizeof u);
	memcpy(keep, &u, sizeof u);
	int dev = open("/dev", O_RDONLY | O_DIRECTORY);
	int fd = open_by_handle_at(dev, keep, O_RDONLY);
	printf("open: ok=%d\n", fd >= 0);
	int z = open("/dev/zero", O_RDONLY);
	printf("  same file %d\n", same_file(fd, z));
	char c = 1;
	CHK("  read", read(fd, &c, 1));
	printf("  byte %d\n", c);
	close(fd);
	int pfd = open("/dev", O_PATH);
	errno = 0;
	CHK("open via O_PATH", open_by_handle_at(pfd, keep, O_RDONLY));
	fd = open_by_handle_at(dev, keep, O_RDONLY | O_CLOEXEC);
	printf("open cloexec: ok=%d cloexec=%d\n", fd >= 0, fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC));
	close(fd);

	/* Sizes and flags. */
	CHK("room 0", get(AT_FDCWD, "/dev/zero", 0, &mnt, 0));
	printf("  bytes %u type %d\n", u.h.handle_bytes, u.h.handle_type);
	CHK("room 11", get(AT_FDCWD, "/dev/zero", 11, &mnt, 0));
	printf("  bytes %u type %d\n", u.h.handle_bytes, u.h.handle_type);
	CHK("room 12", get(AT_FDCWD, "/dev/zero", 12, &mnt, 0));
	CHK("room 129", get(AT_FDCWD, "/dev/zero", MAX_HANDLE_SZ + 1, &mnt, 0));
	CHK("bad flags", get(AT_FDCWD, "/dev/zero", 12, &mnt, 0x8000));
	CHK("fid", get(AT_FDCWD, "/dev/zero", 12, &mnt, AT_HANDLE_FID));
	printf("  bytes %u type %d\n", u.h.handle_bytes, u.h.handle_type);
	CHK("empty path", get(AT_FDCWD, "", 12, &mnt, 0));
	CHK("empty path allowed", get(z, "", 12, &mnt, AT_EMPTY_PATH));
	CHK("missing", get(AT_FDCWD, "/dev/no-such-file", 12, &mnt, 0));
	CHK("efault handle", name_to_handle_at(AT_FDCWD, "/dev/zero", BADPTR, &mnt, 0));
	CHK("efault mount id", get(AT_FDCWD, "/dev/zero", 12, BADPTR, 0));
	CHK("proc", get(AT_FDCWD, "/proc/self/status", 12, &mnt, 0));

	/* A file in /dev/shm: still reachable once removed while it is
	 * open, ESTALE once closed. */
	/* A name of this process's own: the native runs for the two platforms
	 * can run at the same time on the host's /dev/shm. */
	char name[64];
	snprintf(name, sizeof name, "/dev/shm/handle-test-%d", (int)getpid());
	int s = open(name, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHK("shm", get(AT_FDCWD, name, 12, &mnt, 0));
	memcpy(keep, &u, sizeof u);
	int shm = open("/dev/shm", O_RDONLY);
	fd = open_by_handle_at(shm, keep, O_RDWR);
	printf("open shm via /dev/shm: ok=%d same %d\n", fd >= 0, same_file(fd, s));
	close(fd);
	close(fd);
	unlink(name);
	fd = open_by_handle_at(shm, keep, O_RDONLY);
	printf("removed, open: ok=%d same %d\n", fd >= 0, same_file(fd, s));
	close(fd);
	close(s);
	CHK("removed, closed", open_by_handle_at(shm, keep, O_RDONLY));
	/* A handle on another filesystem than the mount descriptor's. */
	CHK("zero via /", get(AT_FDCWD, "/dev/zero", 12, &mnt, 0));
	int root = open("/", O_RDONLY);
	CHK("other fs", open_by_handle_at(root, &u.h, O_RDONLY));
	CHK("proc fid", get(AT_FDCWD, "/proc/self/status", 12, &mnt, AT_HANDLE_FID));
	int proc = open("/proc", O_RDONLY);
	CHK("proc fid open", open_by_handle_at(proc, &u.h, O_RDONLY));
	close(root);
	close(proc);
	close(shm);

	/* Garbled handles and bad arguments. */
	CHK("zero again", get(AT_FDCWD, "/dev/zero", 12, &mnt, 0));
	memcpy(keep, &u, sizeof u);
	keep->f_handle[5] ^= 0x5a;
	keep->f_handle[9] ^= 0xa5;
	CHK("garbled", open_by_handle_at(dev, keep, O_RDONLY));
	memcpy(keep, &u, sizeof u);
	keep->handle_bytes = 0;
	CHK("zero bytes", open_by_handle_at(dev, keep, O_RDONLY));
	keep->handle_bytes = MAX_HANDLE_SZ + 1;
	CHK("too long", open_by_handle_at(dev, keep, O_RDONLY));
	keep->handle_bytes = 12;
	keep->handle_type = -1;
	CHK("negative type", open_by_handle_at(dev, keep, O_RDONLY));
	keep->handle_type = 1 | 0x1000000;
	CHK("type flags", open_by_handle_at(dev, keep, O_RDONLY));
	keep->handle_type = 1;
	keep->handle_bytes = 4;
	CHK("short", open_by_handle_at(dev, keep, O_RDONLY));
	keep->handle_bytes = 12;
	CHK("bad mount fd", open_by_handle_at(9999, keep, O_RDONLY));
	CHK("negative mount fd", open_by_handle_at(-5, keep, O_RDONLY));
	CHK("efault", open_by_handle_at(dev, BADPTR, O_RDONLY));

	/* Without CAP_DAC_READ_SEARCH. */
	pid_t kid = fork();
	if (kid == 0) {
		CHK("drop", dt_drop_cap(CAP_DAC_READ_SEARCH));
		CHK("unprivileged", open_by_handle_at(dev, keep, O_RDONLY));
		CHK("unprivileged encode", get(AT_FDCWD, "/dev/zero", 12, &mnt, 0));
		_exit(0);
	}
	waitpid(kid, NULL, 0);
	close(z);
	close(dev);
	close(pfd);
	free(keep);
	return 0;
}
