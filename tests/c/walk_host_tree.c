// Tree walks over host directories (the lower layer the gofer serves):
// nftw, in physical and in depth-first order, sees the same files,
// directories and symlinks with the same sizes, modes and link targets as
// natively. The sandbox fetches listings of directories below in batches
// during a walk; a walk after another, and a walk that starts deep in a
// tree and then goes up, must see the same.
#include "dt.h"
#include <ftw.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t files, dirs, links, bytes, hash;

static void mix(const char *s) {
	for (; *s; s++)
		hash = (hash ^ (unsigned char)*s) * 1099511628211ull;
	hash = (hash ^ '\n') * 1099511628211ull;
}

static int visit(const char *path, const struct stat *st, int type, struct FTW *f) {
	(void)f;
	char target[4096];
	// Order-independent: sum the hash of each line.
	uint64_t save = hash;
	hash = 14695981039346656037ull;
	mix(path);
	if (type == FTW_SL) {
		ssize_t n = readlink(path, target, sizeof target - 1);
		target[n < 0 ? 0 : n] = 0;
		mix(target);
		links++;
	} else if (type == FTW_D || type == FTW_DP) {
		dirs++;
	} else if (type == FTW_F) {
		files++;
		bytes += st->st_size;
	}
	hash = hash * 31 + (st->st_mode & 07777);
	hash += save;
	return 0;
}

static void walk(const char *name, const char *root, int flags) {
	files = dirs = links = bytes = hash = 0;
	int r = nftw(root, visit, 16, flags);
	printf("%s: ret=%d files=%llu dirs=%llu links=%llu bytes=%llu hash=%016llx\n", name, r,
	       (unsigned long long)files, (unsigned long long)dirs, (unsigned long long)links,
	       (unsigned long long)bytes, (unsigned long long)hash);
}

int main(void) {
	dt_init();
	// Deep first, then the trees holding it.
	walk("zoneinfo/America", "/usr/share/zoneinfo/America", FTW_PHYS);
	walk("zoneinfo", "/usr/share/zoneinfo", FTW_PHYS | FTW_DEPTH);
	walk("include", "/usr/include", FTW_PHYS);
	walk("include again", "/usr/include", FTW_PHYS | FTW_DEPTH);
	walk("python3", "/usr/lib/python3", FTW_PHYS);
	CHK("walk a file", nftw("/usr/include/stdio.h", visit, 4, FTW_PHYS));
	CHK("walk a missing path", nftw("/usr/include/rvisor-missing", visit, 4, FTW_PHYS));
	return 0;
}
