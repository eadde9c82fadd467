// sendfile argument checks, in Linux's order: a bad or write-only input
// is EBADF; a negative count, a negative offset or one the count takes
// past the largest offset is EINVAL (before the output is looked at); an
// output opened O_APPEND or a directory input is EINVAL; an offset on a
// pipe input is ESPIPE. Nothing is written when a check fails.
#define _GNU_SOURCE
#include "dt.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	char dir[] = "/tmp/sendfile.XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	char in[64], out[64];
	snprintf(in, sizeof(in), "%s/in", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	int fd = open(in, O_CREAT | O_WRONLY, 0644);
	write(fd, "hello world", 11);
	close(fd);
	int inf = open(in, O_RDONLY);
	int outf = open(out, O_CREAT | O_WRONLY, 0644);
	int mem = memfd_create("sf", 0);
	off_t off;

	CHK("negative count", sendfile(outf, inf, NULL, (size_t)-1));
	CHK("negative count, bad output", sendfile(99, inf, NULL, (size_t)-1));
	CHK("bad input", sendfile(outf, 99, NULL, 1));
	CHK("write-only input", sendfile(outf, outf, NULL, 1));
	off = -1;
	CHK("negative offset", sendfile(outf, inf, &off, 1));
	off = 0x7ffffffffffffffeLL;
	CHK("offset + count overflows", sendfile(mem, inf, &off, 3));
	CHK("offset + count overflows, bad output", sendfile(99, inf, &off, 3));

	int app = open(out, O_WRONLY | O_APPEND);
	CHK("O_APPEND output", sendfile(app, inf, NULL, 5));
	CHK("input offset kept", lseek(inf, 0, SEEK_CUR));
	int d = open(dir, O_RDONLY | O_DIRECTORY);
	CHK("directory input", sendfile(outf, d, NULL, 1));
	int p[2];
	pipe(p);
	off = 0;
	CHK("offset on a pipe input", sendfile(outf, p[0], &off, 1));
	CHK("O_APPEND pipe output", fcntl(p[1], F_SETFL, O_APPEND));
	CHK("into an O_APPEND pipe", sendfile(p[1], inf, NULL, 5));
	CHK("plain", sendfile(outf, inf, NULL, 100));
	struct stat st;
	fstat(outf, &st);
	printf("output size %lld\n", (long long)st.st_size);

	close(p[0]);
	close(p[1]);
	close(d);
	close(app);
	close(mem);
	close(inf);
	close(outf);
	unlink(in);
	unlink(out);
	rmdir(dir);
	return 0;
}
