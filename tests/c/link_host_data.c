/* Two names of one host file (a hard link made on the host before the
 * run, on a volume: written through) are one file inside as natively:
 * the same inode number and link count, a write through one name is read
 * and seen in a mapping through the other, and the size, link count and
 * change time the other name shows after the write are the writer's (the
 * sandbox used to make one inode per name, each with its own attributes
 * and page cache). */
// difftest: volume
// difftest: setup make
#include "dt.h"
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define A "link_host_data.a"
#define B "link_host_data.b"

int main(int argc, char **argv) {
	dt_init();
	if (argc > 1 && strcmp(argv[1], "make") == 0) {
		unlink(A);
		unlink(B);
		int fd = open(A, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || write(fd, "0123456789", 10) != 10 || link(A, B) != 0)
			return 1;
		close(fd);
		return 0;
	}
	struct stat sa, sb;
	CHK("stat a", stat(A, &sa));
	CHK("stat b", stat(B, &sb));
	printf("same ino: %d, nlink %ld %ld\n", sa.st_ino == sb.st_ino, (long)sa.st_nlink,
	       (long)sb.st_nlink);

	/* B mapped and read before A is written. */
	int fb = open(B, O_RDWR);
	CHK("open b", fb >= 0 ? 0 : -1);
	char *m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fb, 0);
	FACT(m != MAP_FAILED);
	char buf[32] = {0};
	CHK("pread b", pread(fb, buf, 10, 0));
	printf("b before: %.10s, map %.4s\n", buf, m);

	int fa = open(A, O_WRONLY);
	CHK("open a", fa >= 0 ? 0 : -1);
	CHK("pwrite a", pwrite(fa, "ABCD", 4, 0));
	CHK("pwrite a end", pwrite(fa, "xyz", 3, 10));
	memset(buf, 0, sizeof buf);
	CHK("pread b", pread(fb, buf, sizeof buf - 1, 0));
	printf("b after: %s, map %.4s\n", buf, m);

	/* A name opened only now sees the write as well. */
	int fb2 = open(B, O_RDONLY);
	memset(buf, 0, sizeof buf);
	CHK("read b again", read(fb2, buf, sizeof buf - 1));
	printf("b again: %s\n", buf);

	struct stat fa_st, sb2;
	CHK("fstat a", fstat(fa, &fa_st));
	CHK("stat b", stat(B, &sb2));
	printf("b size %ld, same size %d, same mtime %d, same ctime %d\n", (long)sb2.st_size,
	       sb2.st_size == fa_st.st_size,
	       sb2.st_mtim.tv_sec == fa_st.st_mtim.tv_sec &&
		   sb2.st_mtim.tv_nsec == fa_st.st_mtim.tv_nsec,
	       sb2.st_ctim.tv_sec == fa_st.st_ctim.tv_sec &&
		   sb2.st_ctim.tv_nsec == fa_st.st_ctim.tv_nsec);

	/* Mode changed through B is A's. */
	CHK("chmod b", chmod(B, 0600));
	CHK("stat a", stat(A, &sa));
	printf("a mode %o\n", sa.st_mode & 07777);

	munmap(m, 4096);
	close(fa);
	close(fb);
	close(fb2);
	CHK("unlink a", unlink(A));
	CHK("unlink b", unlink(B));
	return 0;
}
