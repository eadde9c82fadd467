// The legacy getdents(2) (struct linux_dirent: d_name at offset 18, d_type
// in the record's last byte) lists what getdents64 lists. Both: a size over
// INT_MAX is EINVAL; a buffer too small for the first entry is EINVAL; a
// buffer that turns bad after a few entries returns the entries before the
// bad page (and the rest on the next call); a wholly bad one is EFAULT.
// readv of a regular file into iovecs whose second buffer is unmapped
// returns what the first took.
#include "dt.h"
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

struct linux_dirent {
	unsigned long d_ino;
	unsigned long d_off;
	unsigned short d_reclen;
	char d_name[];
};

static long count_entries(long nr, int fd, char *buf, size_t len, int *files)
{
	long total = 0;
	for (;;) {
		long n = syscall(nr, fd, buf, len);
		if (n <= 0)
			return n < 0 ? n : total;
		for (long at = 0; at < n;) {
			unsigned short reclen;
			memcpy(&reclen, buf + at + 16, 2);
			const char *name = nr == SYS_getdents ? buf + at + 18 : buf + at + 19;
			char type = nr == SYS_getdents ? buf[at + reclen - 1] : buf[at + 18];
			if (name[0] == 'e' && type == DT_REG)
				(*files)++;
			total++;
			at += reclen;
		}
	}
}

int main(void)
{
	dt_init();
	char dir[] = "/tmp/dt_gdl_XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	char path[80];
	for (int i = 0; i < 40; i++) {
		snprintf(path, sizeof(path), "%s/entry_with_a_long_name_%02d", dir, i);
		close(open(path, O_CREAT | O_WRONLY, 0644));
	}
	static char big[65536];
	for (int legacy = 0; legacy < 2; legacy++) {
		long nr = legacy ? SYS_getdents : SYS_getdents64;
		printf("-- %s\n", legacy ? "getdents" : "getdents64");
		int fd = open(dir, O_RDONLY | O_DIRECTORY);
		int files = 0;
		long n = count_entries(nr, fd, big, sizeof(big), &files);
		printf("entries=%ld regular files=%d\n", n, files);
		CHK("lseek 0", lseek(fd, 0, SEEK_SET));
		CHK("size over INT_MAX", syscall(nr, fd, big, (unsigned)-1));
		CHK("size 10", syscall(nr, fd, big, 10));
		char *m = mmap(0, 8192, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHK("mprotect", mprotect(m + 4096, 4096, PROT_NONE));
		CHK("wholly bad buffer", syscall(nr, fd, m + 4096, 4096));
		files = 0;
		n = count_entries(nr, fd, m + 4096 - 200, 4096, &files);
		printf("through 200 good bytes: entries=%ld regular files=%d\n", n, files);
		munmap(m, 8192);
		close(fd);
	}
	int fd = open("/etc/passwd", O_RDONLY);
	CHK("getdents on a file", syscall(SYS_getdents, fd, big, sizeof(big)));
	char *m = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHK("munmap", munmap(m + 4096, 4096));
	struct iovec iov[2] = {{m + 4096 - 8, 8}, {m + 4096, 8}};
	CHK("readv first iovec good, second bad", readv(fd, iov, 2));
	CHK("position", lseek(fd, 0, SEEK_CUR));
	struct iovec bad = {m + 4096, 8};
	CHK("readv bad", readv(fd, &bad, 1));
	CHK("preadv first iovec good, second bad", preadv(fd, iov, 2, 0));

	for (int i = 0; i < 40; i++) {
		snprintf(path, sizeof(path), "%s/entry_with_a_long_name_%02d", dir, i);
		unlink(path);
	}
	rmdir(dir);
	return 0;
}
