// Files in a volume (the working directory is the host's, served by a
// gofer of its own: `// difftest: volume`): create, write, read back,
// rename, hard and symbolic links, directories, removal, their errors,
// and one st_dev for everything on the volume.
// difftest: volume
#include "dt.h"
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static void list(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char names[16][64];
	int n = 0;
	while (d && (e = readdir(d)) && n < 16)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			snprintf(names[n++], 64, "%s", e->d_name);
	if (d)
		closedir(d);
	qsort(names, n, 64, (int (*)(const void *, const void *))strcmp);
	printf("%s:", dir);
	for (int i = 0; i < n; i++)
		printf(" %s", names[i]);
	printf("\n");
}

int main(void)
{
	dt_init();
	int fd = open("f", O_CREAT | O_EXCL | O_RDWR, 0640);
	FACT(fd >= 0);
	CHK("write", write(fd, "hello volume\n", 13));
	CHK("pwrite", pwrite(fd, "HELLO", 5, 0));
	char buf[64] = { 0 };
	CHK("pread", pread(fd, buf, sizeof(buf) - 1, 0));
	printf("read: %s", buf);
	CHK("ftruncate", ftruncate(fd, 5));
	struct stat st, dot;
	CHK("fstat", fstat(fd, &st));
	printf("size=%lld mode=%o nlink=%lu\n", (long long)st.st_size, st.st_mode & 07777,
	       (unsigned long)st.st_nlink);
	close(fd);
	CHK("create again O_EXCL", open("f", O_CREAT | O_EXCL | O_RDWR, 0640));
	CHK("link", link("f", "hard"));
	CHK("symlink", symlink("f", "soft"));
	CHK("stat via symlink", stat("soft", &st));
	printf("nlink after link=%lu\n", (unsigned long)st.st_nlink);
	CHK("mkdir", mkdir("d", 0750));
	CHK("mkdir again", mkdir("d", 0750));
	CHK("rename into dir", rename("hard", "d/moved"));
	CHK("rename missing", rename("nothing", "x"));
	CHK("rmdir non-empty", rmdir("d"));
	list(".");
	list("d");
	CHK("stat .", stat(".", &dot));
	struct stat f2;
	CHK("stat d/moved", stat("d/moved", &f2));
	FACT(dot.st_dev == f2.st_dev);
	FACT(st.st_ino == f2.st_ino);
	CHK("chmod", chmod("f", 0600));
	CHK("stat f", stat("f", &st));
	printf("mode=%o\n", st.st_mode & 07777);
	CHK("unlink moved", unlink("d/moved"));
	CHK("rmdir", rmdir("d"));
	CHK("unlink soft", unlink("soft"));
	CHK("unlink f", unlink("f"));
	CHK("unlink missing", unlink("f"));
	list(".");
	return 0;
}
