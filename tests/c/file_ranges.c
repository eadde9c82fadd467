// sendfile and copy_file_range beyond one 4 MiB step, with offsets and
// positions; readahead and sync_file_range checks and errors.
#define _GNU_SOURCE
#include "dt.h"
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define BIG (9 << 20)

static int same(int a, int b, long n)
{
	static char x[65536], y[65536];
	for (long o = 0; o < n; o += sizeof(x)) {
		long k = n - o < (long)sizeof(x) ? n - o : (long)sizeof(x);
		if (pread(a, x, k, o) != k || pread(b, y, k, o) != k || memcmp(x, y, k))
			return 0;
	}
	return 1;
}

int main(void)
{
	dt_init();
	int f = open("src", O_CREAT | O_RDWR | O_TRUNC, 0644);
	char *buf = malloc(BIG);
	for (long i = 0; i < BIG; i++)
		buf[i] = (char)(i * 7 + i / 4096);
	CHK("fill", write(f, buf, BIG));

	int g = open("dst", O_CREAT | O_RDWR | O_TRUNC, 0644);
	off_t off = 0;
	CHK("sendfile 9 MiB at offset", sendfile(g, f, &off, BIG + 100));
	printf("off=%ld pos=%ld\n", (long)off, (long)lseek(f, 0, SEEK_CUR));
	FACT(same(f, g, BIG));
	lseek(f, 1000, SEEK_SET);
	lseek(g, 0, SEEK_SET);
	CHK("sendfile at position", sendfile(g, f, NULL, 5 << 20));
	printf("pos in=%ld out=%ld\n", (long)lseek(f, 0, SEEK_CUR), (long)lseek(g, 0, SEEK_CUR));
	CHK("sendfile at end", sendfile(g, f, &(off_t){BIG}, 10));
	int p[2];
	pipe(p);
	CHK("sendfile to pipe", sendfile(p[1], f, &(off_t){0}, 100000));
	CHK("sendfile bad fd", sendfile(999, f, NULL, 1));
	CHK("sendfile read-only out", sendfile(open("src", O_RDONLY), f, NULL, 1));
	CHK("sendfile negative offset", sendfile(g, f, &(off_t){-1}, 1));
	CHK("sendfile bad offset pointer", sendfile(g, f, (void *)8, 1));

	ftruncate(g, 0);
	loff_t in = 0, out = 0;
	CHK("copy_file_range 9 MiB", copy_file_range(f, &in, g, &out, BIG, 0));
	printf("in=%ld out=%ld\n", (long)in, (long)out);
	FACT(same(f, g, BIG));
	lseek(f, BIG - 10, SEEK_SET);
	lseek(g, 0, SEEK_SET);
	CHK("copy_file_range at positions", copy_file_range(f, NULL, g, NULL, 100, 0));
	printf("pos in=%ld out=%ld\n", (long)lseek(f, 0, SEEK_CUR), (long)lseek(g, 0, SEEK_CUR));
	CHK("copy_file_range past end", copy_file_range(f, &(loff_t){BIG + 5}, g, NULL, 100, 0));
	CHK("copy_file_range pipe", copy_file_range(p[0], NULL, g, NULL, 100, 0));
	CHK("copy_file_range flags", copy_file_range(f, NULL, g, NULL, 100, 1));
	CHK("copy_file_range overlap", copy_file_range(f, &(loff_t){0}, f, &(loff_t){10}, 100, 0));
	CHK("copy_file_range bad fd", copy_file_range(999, NULL, g, NULL, 100, 0));

	/* readahead */
	CHK("readahead", readahead(f, 0, 4096));
	CHK("readahead huge count", readahead(f, 0, -1));
	CHK("readahead negative offset", readahead(f, -4096, 4096));
	CHK("readahead pipe", readahead(p[0], 0, 1));
	int wo = open("src", O_WRONLY);
	CHK("readahead write-only", readahead(wo, 0, 1));
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	CHK("readahead socket", readahead(sv[0], 0, 1));
	CHK("readahead bad fd", readahead(999, 0, 1));
	int d = open(".", O_RDONLY | O_DIRECTORY);
	CHK("readahead directory", readahead(d, 0, 1));

	/* sync_file_range */
	CHK("sync_file_range", sync_file_range(f, 0, 4096, SYNC_FILE_RANGE_WRITE));
	CHK("sync_file_range all flags", sync_file_range(f, 0, 0, 7));
	CHK("sync_file_range bad flags", sync_file_range(f, 0, 0, 8));
	CHK("sync_file_range negative offset", sync_file_range(f, -1, 0, 0));
	CHK("sync_file_range negative count", sync_file_range(f, 10, -5, 0));
	CHK("sync_file_range overflow", sync_file_range(f, 0x7fffffffffffff00L, 0x1000, 0));
	CHK("sync_file_range pipe", sync_file_range(p[0], 0, 0, 0));
	CHK("sync_file_range socket", sync_file_range(sv[0], 0, 0, 0));
	CHK("sync_file_range directory", sync_file_range(d, 0, 0, 0));
	CHK("sync_file_range read-only", sync_file_range(open("src", O_RDONLY), 0, 0, 0));
	CHK("sync_file_range bad fd", sync_file_range(999, 0, 0, 0));
	unlink("src");
	unlink("dst");
	return 0;
}
