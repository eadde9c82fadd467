// An O_PATH descriptor names a file without opening it: F_GETFL shows
// O_PATH alone (no O_LARGEFILE, no access mode, no O_TRUNC), and every call
// that acts on the file itself (Linux's fdget) is EBADF on it, while the
// ones that only need the name (fstat, fchdir, openat's dirfd) work.
// Opening a directory with O_TRUNC is EISDIR, even read-only.
#include "dt.h"
#include <fcntl.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	char dir[] = "/tmp/dt_opath_XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	char path[64];
	snprintf(path, sizeof(path), "%s/f", dir);
	int w = open(path, O_CREAT | O_WRONLY, 0644);
	CHK("write", write(w, "hello", 5));
	close(w);

	int fd = open(path, O_PATH | O_RDWR | O_TRUNC | O_CLOEXEC);
	FACT(fd >= 0);
	printf("F_GETFL: %#x\n", fcntl(fd, F_GETFL));
	CHK("F_GETFD", fcntl(fd, F_GETFD));
	CHK("F_SETFD", fcntl(fd, F_SETFD, FD_CLOEXEC));
	CHK("F_SETFL", fcntl(fd, F_SETFL, O_NONBLOCK));
	CHK("F_GETOWN", fcntl(fd, F_GETOWN));
	CHK("F_SETOWN", fcntl(fd, F_SETOWN, 0));
	CHK("F_GETPIPE_SZ", fcntl(fd, F_GETPIPE_SZ));
	CHK("F_GETLK", fcntl(fd, F_GETLK, NULL));
	CHK("F_GET_SEALS", fcntl(fd, F_GET_SEALS));
	int d2 = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	FACT(d2 > fd);
	close(d2);
	struct stat st;
	CHK("fstat", fstat(fd, &st));
	printf("size kept: %lld\n", (long long)st.st_size);
	CHK("fchown", fchown(fd, -1, -1));
	CHK("fchmod", fchmod(fd, 0600));
	CHK("syncfs", syncfs(fd));
	CHK("fsync", fsync(fd));
	CHK("fdatasync", fdatasync(fd));
	CHKRC("posix_fadvise", posix_fadvise(fd, 0, 0, POSIX_FADV_NORMAL));
	CHK("flock", flock(fd, LOCK_EX | LOCK_NB));
	int n = 0;
	CHK("ioctl FIONREAD", ioctl(fd, FIONREAD, &n));
	CHK("ioctl FIOCLEX", ioctl(fd, FIOCLEX));
	CHK("sync_file_range", sync_file_range(fd, 0, 0, 0));
	void *m = mmap(0, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	CHK("mmap", m == MAP_FAILED ? -1 : 0);
	struct timeval tv[2] = {{1, 0}, {2, 0}};
	CHK("futimesat NULL path", futimesat(fd, NULL, tv));
	struct timespec ts[2] = {{1, 0}, {2, 0}};
	CHK("utimensat NULL path", syscall(SYS_utimensat, fd, NULL, ts, 0));
	CHK("utimensat empty path", utimensat(fd, "", ts, AT_EMPTY_PATH));
	char c;
	CHK("read", read(fd, &c, 1));
	close(fd);

	int dfd = open(dir, O_PATH | O_DIRECTORY);
	printf("dir F_GETFL: %#x\n", fcntl(dfd, F_GETFL));
	CHK("fchdir", fchdir(dfd));
	CHK("openat via O_PATH dir", close(openat(dfd, "f", O_RDONLY)));
	close(dfd);

	CHK("dir O_RDONLY|O_TRUNC", open(dir, O_RDONLY | O_TRUNC));
	CHK("dir O_RDONLY|O_DIRECTORY|O_TRUNC",
	    open(dir, O_RDONLY | O_DIRECTORY | O_TRUNC));
	CHK("dir O_WRONLY", open(dir, O_WRONLY));

	CHK("chdir /", chdir("/"));
	unlink(path);
	rmdir(dir);
	return 0;
}
