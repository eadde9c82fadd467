/* Names of one host file (hard links made on the host before the run, on
 * a volume: written through) as natively: link() inside raises every
 * name's link count, unlink() of one lowers the others' and keeps the
 * data reachable through them (also written and read after), rename() of
 * one name over another of the same file does nothing, and a rename of a
 * different file over one name leaves the other name its data. The
 * sandbox used to keep one inode per name: counts and data disagreed. */
// difftest: volume
// difftest: setup make
#include "dt.h"
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define A "link_host_names.a"
#define B "link_host_names.b"
#define C "link_host_names.c"
#define D "link_host_names.d"
#define O "link_host_names.o"

static long nlink(const char *p) {
	struct stat st;
	return stat(p, &st) == 0 ? (long)st.st_nlink : -1;
}

static void show(const char *p) {
	char buf[64] = {0};
	int fd = open(p, O_RDONLY);
	if (fd < 0) {
		printf("%s: %s\n", p + 16, dt_errname(errno));
		return;
	}
	long n = read(fd, buf, sizeof buf - 1);
	close(fd);
	printf("%s: %ld %s nlink %ld\n", p + 16, n, buf, nlink(p));
}

int main(int argc, char **argv) {
	dt_init();
	if (argc > 1 && strcmp(argv[1], "make") == 0) {
		const char *all[] = {A, B, C, D, O};
		for (int i = 0; i < 5; i++)
			unlink(all[i]);
		int fd = open(A, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || write(fd, "shared", 6) != 6 || link(A, B) != 0)
			return 1;
		close(fd);
		fd = open(O, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || write(fd, "other", 5) != 5)
			return 1;
		close(fd);
		return 0;
	}
	printf("start: a %ld b %ld\n", nlink(A), nlink(B));
	CHK("link a c", link(A, C));
	printf("after link: a %ld b %ld c %ld\n", nlink(A), nlink(B), nlink(C));
	CHK("link a b", link(A, B));

	/* Same file under both names: nothing happens. */
	CHK("rename a b", rename(A, B));
	show(A);
	show(B);

	/* The name the sandbox first found the file by goes. */
	CHK("unlink a", unlink(A));
	printf("after unlink: b %ld c %ld\n", nlink(B), nlink(C));
	show(B);
	int fd = open(C, O_WRONLY | O_APPEND);
	CHK("append c", write(fd, "+more", 5));
	close(fd);
	show(B);

	/* Another file over one name: the other keeps the data. */
	CHK("rename o b", rename(O, B));
	show(B);
	show(C);
	CHK("link c d", link(C, D));
	CHK("truncate d", truncate(D, 3));
	show(C);

	CHK("unlink b", unlink(B));
	CHK("unlink c", unlink(C));
	CHK("unlink d", unlink(D));
	show(C);
	return 0;
}
