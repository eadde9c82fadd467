// getdents64: list a directory this test created (sorted, with d_type),
// small-buffer iteration, and the errors ENOTDIR, EBADF, EINVAL, EFAULT.
#include "dt.h"
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

struct ent { char name[256]; int type; };

static int cmp(const void *a, const void *b)
{
	return strcmp(((const struct ent *)a)->name, ((const struct ent *)b)->name);
}

static int list(int fd, size_t bufsz, struct ent *out, int *calls)
{
	char buf[4096];
	int n = 0;
	long r;
	*calls = 0;
	while ((r = syscall(SYS_getdents64, fd, buf, bufsz)) > 0) {
		(*calls)++;
		for (long off = 0; off < r;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);
			snprintf(out[n].name, sizeof(out[n].name), "%s", d->d_name);
			out[n++].type = d->d_type;
			off += d->d_reclen;
		}
	}
	return r < 0 ? -1 : n;
}

int main(void)
{
	dt_init();
	CHK("mkdir", mkdir("dir", 0755));
	const char *files[] = { "zeta", "alpha", "mid.txt", "a-very-long-file-name-for-record-length" };
	for (int i = 0; i < 4; i++) {
		char p[128];
		snprintf(p, sizeof(p), "dir/%s", files[i]);
		close(open(p, O_CREAT | O_WRONLY, 0644));
	}
	CHK("mkdir sub", mkdir("dir/subdir", 0755));
	CHK("symlink", symlink("zeta", "dir/link"));
	int fd = open("dir", O_RDONLY | O_DIRECTORY);
	struct ent e[32];
	int calls;
	int n = list(fd, sizeof(e), e, &calls);
	n = list(fd, 4096, e, &calls);
	printf("second listing at EOF: n=%d\n", n);
	CHK("lseek 0", lseek(fd, 0, SEEK_SET));
	n = list(fd, 4096, e, &calls);
	printf("entries=%d\n", n);
	qsort(e, n, sizeof(e[0]), cmp);
	for (int i = 0; i < n; i++)
		printf("  %s type=%s\n", e[i].name,
		       e[i].type == DT_DIR ? "dir" : e[i].type == DT_REG ? "reg"
		       : e[i].type == DT_LNK ? "lnk" : "other");
	/* An 80-byte buffer holds one or two entries: needs several calls. */
	CHK("lseek 0", lseek(fd, 0, SEEK_SET));
	int n2 = list(fd, 80, e, &calls);
	printf("small buffer: entries=%d calls>1=%d\n", n2, calls > 1);
	CHK("lseek 0", lseek(fd, 0, SEEK_SET));
	char buf[4096];
	CHK("getdents64 tiny buffer", syscall(SYS_getdents64, fd, buf, 8));
	CHK("getdents64 BADPTR", syscall(SYS_getdents64, fd, BADPTR, 4096));
	int f = open("dir/zeta", O_RDONLY);
	CHK("getdents64 on file", syscall(SYS_getdents64, f, buf, sizeof(buf)));
	CHK("getdents64 bad fd", syscall(SYS_getdents64, 99, buf, sizeof(buf)));
	for (int i = 0; i < 4; i++) {
		char p[128];
		snprintf(p, sizeof(p), "dir/%s", files[i]);
		unlink(p);
	}
	unlink("dir/link");
	rmdir("dir/subdir");
	CHK("lseek 0", lseek(fd, 0, SEEK_SET));
	n = list(fd, 4096, e, &calls);
	printf("entries after cleanup=%d\n", n);
	CHK("rmdir", rmdir("dir"));
	return 0;
}
