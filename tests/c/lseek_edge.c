// lseek edge cases, as Linux: an offset that overflows is EINVAL (not
// EOVERFLOW); /proc files (seq_files) refuse SEEK_END with EINVAL while
// /proc directories take it; a directory's SEEK_END either fails with
// EINVAL (tmpfs) or gives the largest offset (ext4), never a small size.
#include "dt.h"
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	char path[] = "/tmp/dt_lseek_XXXXXX";
	int fd = mkstemp(path);
	CHK("write", write(fd, "hello world\n", 12));
	CHK("SEEK_END overflow", lseek(fd, INT64_MAX, SEEK_END));
	CHK("SEEK_SET 5", lseek(fd, 5, SEEK_SET));
	CHK("SEEK_CUR overflow", lseek(fd, INT64_MAX, SEEK_CUR));
	CHK("SEEK_END -13", lseek(fd, -13, SEEK_END));
	CHK("SEEK_END -12", lseek(fd, -12, SEEK_END));
	close(fd);
	unlink(path);

	int m = open("/proc/meminfo", O_RDONLY);
	CHK("proc file SEEK_CUR", lseek(m, 0, SEEK_CUR));
	CHK("proc file SEEK_END", lseek(m, 0, SEEK_END));
	CHK("proc file SEEK_SET 1000", lseek(m, 1000, SEEK_SET));
	close(m);
	int p = open("/proc/self", O_RDONLY | O_DIRECTORY);
	CHK("proc dir SEEK_END", lseek(p, 0, SEEK_END));
	close(p);

	char dir[] = "/tmp/dt_lseekd_XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	int d = open(dir, O_RDONLY | O_DIRECTORY);
	errno = 0;
	off_t r = lseek(d, 0, SEEK_END);
	FACT(r == INT64_MAX || (r == -1 && errno == EINVAL));
	close(d);
	rmdir(dir);
	return 0;
}
