// FS_IOC_FIEMAP on regular files: an empty file has no extents, written
// data has extents covering it (the last flagged FIEMAP_EXTENT_LAST), a
// sparse file one extent per written region, fm_extent_count 0 only
// counts, a smaller count stops early, fm_start skips earlier extents.
// Errors: zero length EINVAL, start past the largest offset EFBIG, an
// unknown flag EBADR with it given back in fm_flags, too many extents
// EINVAL, a bad pointer EFAULT, a pipe EOPNOTSUPP. (The sandbox said
// ENOTTY.) Extent sizes differ between file systems: only relations are
// printed.
#include "dt.h"
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define MB (1024 * 1024)

static struct {
	struct fiemap h;
	struct fiemap_extent e[16];
} m;

static int fiemap(int fd, uint64_t start, uint64_t len, uint32_t flags, uint32_t count)
{
	memset(&m, 0, sizeof m);
	m.h.fm_start = start;
	m.h.fm_length = len;
	m.h.fm_flags = flags;
	m.h.fm_extent_count = count;
	m.h.fm_mapped_extents = 99;
	return ioctl(fd, FS_IOC_FIEMAP, &m);
}

int main(void)
{
	dt_init();
	int fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHK("empty", fiemap(fd, 0, FIEMAP_MAX_OFFSET, FIEMAP_FLAG_SYNC, 16));
	printf("  mapped %u\n", m.h.fm_mapped_extents);

	char buf[4096];
	memset(buf, 'a', sizeof buf);
	CHK("write", pwrite(fd, buf, sizeof buf, 0));
	CHK("one", fiemap(fd, 0, FIEMAP_MAX_OFFSET, FIEMAP_FLAG_SYNC, 16));
	printf("  mapped %u first at 0 %d covers %d last %d\n", m.h.fm_mapped_extents,
	       m.e[0].fe_logical == 0, m.e[0].fe_length >= sizeof buf,
	       !!(m.e[m.h.fm_mapped_extents - 1].fe_flags & FIEMAP_EXTENT_LAST));

	/* Data at 0 and at 8 MiB, a hole between. */
	CHK("write far", pwrite(fd, buf, sizeof buf, 8 * MB));
	CHK("count only", fiemap(fd, 0, FIEMAP_MAX_OFFSET, FIEMAP_FLAG_SYNC, 0));
	printf("  mapped %u\n", m.h.fm_mapped_extents);
	CHK("two", fiemap(fd, 0, FIEMAP_MAX_OFFSET, FIEMAP_FLAG_SYNC, 16));
	printf("  mapped %u first at 0 %d second at 8M %d ends before %d last %d/%d\n",
	       m.h.fm_mapped_extents, m.e[0].fe_logical == 0, m.e[1].fe_logical == 8 * MB,
	       m.e[0].fe_logical + m.e[0].fe_length < 8 * MB,
	       !!(m.e[0].fe_flags & FIEMAP_EXTENT_LAST), !!(m.e[1].fe_flags & FIEMAP_EXTENT_LAST));
	CHK("count 1", fiemap(fd, 0, FIEMAP_MAX_OFFSET, FIEMAP_FLAG_SYNC, 1));
	printf("  mapped %u at 0 %d last %d untouched %d\n", m.h.fm_mapped_extents,
	       m.e[0].fe_logical == 0, !!(m.e[0].fe_flags & FIEMAP_EXTENT_LAST), m.e[1].fe_length == 0);
	CHK("from 4M", fiemap(fd, 4 * MB, FIEMAP_MAX_OFFSET, FIEMAP_FLAG_SYNC, 16));
	printf("  mapped %u at 8M %d\n", m.h.fm_mapped_extents, m.e[0].fe_logical == 8 * MB);
	CHK("first 1M", fiemap(fd, 0, MB, FIEMAP_FLAG_SYNC, 16));
	printf("  mapped %u at 0 %d last %d\n", m.h.fm_mapped_extents, m.e[0].fe_logical == 0,
	       !!(m.e[0].fe_flags & FIEMAP_EXTENT_LAST));
	CHK("in the hole", fiemap(fd, 2 * MB, MB, FIEMAP_FLAG_SYNC, 16));
	printf("  mapped %u\n", m.h.fm_mapped_extents);
	CHK("past the end", fiemap(fd, 64 * MB, MB, FIEMAP_FLAG_SYNC, 16));
	printf("  mapped %u\n", m.h.fm_mapped_extents);

	/* Read-only descriptors may ask too. */
	int ro = open("f", O_RDONLY);
	CHK("read-only", fiemap(ro, 0, FIEMAP_MAX_OFFSET, FIEMAP_FLAG_SYNC, 0));
	printf("  mapped %u\n", m.h.fm_mapped_extents);
	close(ro);

	CHK("length 0", fiemap(fd, 0, 0, 0, 16));
	CHK("start too far", fiemap(fd, INT64_MAX, 10, 0, 16));
	CHK("unknown flag", fiemap(fd, 0, FIEMAP_MAX_OFFSET, FIEMAP_FLAG_SYNC | 0x10, 16));
	printf("  fm_flags %#x mapped %u\n", m.h.fm_flags, m.h.fm_mapped_extents);
	CHK("too many", fiemap(fd, 0, FIEMAP_MAX_OFFSET, 0, UINT32_MAX));
	CHK("efault", ioctl(fd, FS_IOC_FIEMAP, BADPTR));
	int p[2];
	if (pipe(p))
		return 1;
	CHK("pipe", fiemap(p[0], 0, FIEMAP_MAX_OFFSET, 0, 16));
	close(fd);
	unlink("f");
	return 0;
}
