// Listing and looking up host directories the sandbox finds already made
// (the setup run makes them natively before each run): a directory of
// 3,000 files is listed in small getdents batches, then every entry is
// looked up; d_ino must equal st_ino and d_type the lstat type, telldir /
// seekdir / rewinddir must hold across batches, hard links and symlinks
// keep their relations, and changes made in the sandbox (unlink, create,
// chmod, truncate) show in stat and in the next listing. A second
// directory is looked up name by name before it is ever listed.
// difftest: setup make
#include "dt.h"
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NBIG 3000
#define NMANY 300

static int make(void)
{
	char p[64];
	if (mkdir("big", 0755) || mkdir("big/sub", 0755) || mkdir("many", 0755))
		return 1;
	for (int i = 0; i < NBIG; i++) {
		snprintf(p, sizeof p, "big/f%04d", i);
		int fd = open(p, O_CREAT | O_WRONLY, 0644);
		if (fd < 0 || write(fd, p, i % 7) < 0)
			return 1;
		close(fd);
	}
	for (int i = 0; i < NMANY; i++) {
		snprintf(p, sizeof p, "many/m%03d", i);
		int fd = open(p, O_CREAT | O_WRONLY, 0640);
		if (fd < 0)
			return 1;
		close(fd);
	}
	if (link("big/f0001", "big/h1") || symlink("f0002", "big/s1") ||
	    symlink("/nonexistent", "big/s2"))
		return 1;
	return 0;
}

struct ent {
	char name[32];
	unsigned long ino;
	unsigned char type;
};

/* Every entry of `dir` (without . and ..), read with getdents64 into a
 * buffer of `bufsz` bytes. */
static int list(const char *dir, struct ent *out, int max, size_t bufsz)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return -1;
	char *buf = malloc(bufsz);
	int n = 0;
	long got;
	while ((got = syscall(SYS_getdents64, fd, buf, bufsz)) > 0) {
		for (long off = 0; off < got;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);
			off += d->d_reclen;
			if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
				continue;
			if (n < max) {
				snprintf(out[n].name, sizeof out[n].name, "%s", d->d_name);
				out[n].ino = d->d_ino;
				out[n].type = d->d_type;
			}
			n++;
		}
	}
	free(buf);
	close(fd);
	return n;
}

static unsigned char type_of(mode_t m)
{
	return S_ISDIR(m) ? DT_DIR : S_ISLNK(m) ? DT_LNK : S_ISREG(m) ? DT_REG : DT_UNKNOWN;
}

/* Looks every listed entry up: how many disagree with the listing. */
static void check(const char *dir, struct ent *e, int n, const char *tag)
{
	int bad_ino = 0, bad_type = 0, missing = 0;
	char p[96];
	struct stat st;
	for (int i = 0; i < n; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, e[i].name);
		if (lstat(p, &st)) {
			missing++;
			continue;
		}
		bad_ino += st.st_ino != e[i].ino;
		bad_type += type_of(st.st_mode) != e[i].type;
	}
	printf("%s: entries=%d d_ino!=st_ino=%d d_type!=type=%d missing=%d\n", tag, n,
	       bad_ino, bad_type, missing);
}

static int find(struct ent *e, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(e[i].name, name))
			return i;
	return -1;
}

static struct ent ents[NBIG + 16];

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "make"))
		return make();
	dt_init();
	struct stat st, st2;

	/* Name by name before any listing: hits and misses. */
	int hits = 0, misses = 0;
	char p[96];
	for (int i = 0; i < 40; i++) {
		snprintf(p, sizeof p, "many/m%03d", i * 7);
		hits += stat(p, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0640;
		snprintf(p, sizeof p, "many/x%03d", i);
		misses += stat(p, &st) < 0 && errno == ENOENT;
	}
	printf("many before listing: hits=%d misses=%d\n", hits, misses);
	int n = list("many", ents, NBIG + 16, 4096);
	check("many", ents, n, "many");

	/* A large directory in small batches, no lookup in between. */
	n = list("big", ents, NBIG + 16, 1024);
	int n2 = list("big", ents, NBIG + 16, 32768);
	FACT(n == n2);
	check("big", ents, n, "big");
	check("big", ents, n, "big again");

	/* Hard link and symlinks. */
	CHK("lstat f0001", lstat("big/f0001", &st));
	CHK("lstat h1", lstat("big/h1", &st2));
	FACT(st.st_ino == st2.st_ino);
	printf("nlink=%lu\n", (unsigned long)st.st_nlink);
	char t[64] = {0};
	CHK("readlink s1", readlink("big/s1", t, sizeof t - 1));
	printf("target=%s\n", t);
	CHK("stat s1", stat("big/s1", &st));
	CHK("lstat f0002", lstat("big/f0002", &st2));
	FACT(st.st_ino == st2.st_ino);
	CHK("stat s2", stat("big/s2", &st));
	CHK("stat missing", stat("big/missing", &st));
	CHK("stat sub/missing", stat("big/sub/missing", &st));

	/* telldir / seekdir / rewinddir across batches. */
	DIR *d = opendir("big");
	long pos = -1;
	char at[32] = "", next[32] = "";
	int count = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (++count == 1500)
			pos = telldir(d);
		if (count == 1501)
			snprintf(at, sizeof at, "%s", de->d_name);
	}
	seekdir(d, pos);
	de = readdir(d);
	snprintf(next, sizeof next, "%s", de ? de->d_name : "");
	FACT(strcmp(at, next) == 0);
	rewinddir(d);
	int again = 0;
	while (readdir(d))
		again++;
	FACT(again == count);
	printf("readdir count=%d\n", count);

	/* Entries added and removed during a listing: no name twice, and the
	 * rest of the listing is still there. */
	rewinddir(d);
	int seen = 0, dup = 0;
	static char names[NBIG + 16][32];
	while ((de = readdir(d))) {
		if (seen == 100) {
			close(open("big/added", O_CREAT | O_WRONLY, 0644));
			unlink("big/f2999");
			unlink("big/f0000");
		}
		for (int i = 0; i < seen && i < NBIG + 16; i++)
			if (!strcmp(names[i], de->d_name))
				dup++;
		if (seen < NBIG + 16)
			snprintf(names[seen], 32, "%s", de->d_name);
		seen++;
	}
	closedir(d);
	printf("during listing: dup=%d count within one=%d\n", dup,
	       seen >= count - 1 && seen <= count + 1);

	/* Changes made here: unlink, create, chmod, truncate. */
	CHK("stat f2999", stat("big/f2999", &st));
	CHK("stat added", stat("big/added", &st));
	CHK("chmod f0004", chmod("big/f0004", 0600));
	CHK("truncate f0005", truncate("big/f0005", 123));
	CHK("stat f0004", stat("big/f0004", &st));
	printf("mode=%o\n", st.st_mode & 07777);
	CHK("stat f0005", stat("big/f0005", &st));
	printf("size=%ld\n", (long)st.st_size);
	CHK("recreate f0000", close(open("big/f0000", O_CREAT | O_WRONLY, 0600)));
	n = list("big", ents, NBIG + 16, 2048);
	printf("after changes: f2999 listed=%d f0000 listed=%d added listed=%d\n",
	       find(ents, n, "f2999") >= 0, find(ents, n, "f0000") >= 0,
	       find(ents, n, "added") >= 0);
	check("big", ents, n, "big after changes");
	CHK("rmdir big (not empty)", rmdir("big"));
	return 0;
}
