// Device files every program relies on: /dev/null (writes vanish, reads
// EOF), /dev/zero (reads zeros, mmap-able), /dev/full (ENOSPC on write),
// /dev/urandom; O_CREAT on an existing device; stdio fds 0/1/2 are open.
#include "dt.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	for (int fd = 0; fd < 3; fd++)
		printf("fd %d open: %d\n", fd, fcntl(fd, F_GETFD) >= 0);
	int n = open("/dev/null", O_RDWR);
	CHK("write /dev/null", write(n, "gone", 4));
	char buf[64];
	CHK("read /dev/null", read(n, buf, sizeof(buf)));
	CHK("lseek /dev/null", lseek(n, 100, SEEK_SET));
	int z = open("/dev/zero", O_RDONLY);
	memset(buf, 'x', sizeof(buf));
	CHK("read /dev/zero", read(z, buf, sizeof(buf)));
	int nz = 0;
	for (size_t i = 0; i < sizeof(buf); i++)
		nz += buf[i] != 0;
	printf("nonzero=%d\n", nz);
	char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, z, 0);
	FACT(m != MAP_FAILED);
	printf("mmap /dev/zero: %d %d\n", m[0], m[8191]);
	int f = open("/dev/full", O_WRONLY);
	CHK("write /dev/full", write(f, "x", 1));
	int rf = open("/dev/full", O_RDONLY);
	CHK("read /dev/full", read(rf, buf, 8));
	int u = open("/dev/urandom", O_RDONLY);
	CHK("read /dev/urandom", read(u, buf, 16));
	FACT(open("/dev/null", O_CREAT | O_WRONLY, 0600) >= 0);
	struct stat st;
	CHK("stat /dev/zero", stat("/dev/zero", &st));
	printf("chr=%d\n", S_ISCHR(st.st_mode));
	CHK("open /dev/nonexistent-device", open("/dev/nonexistent-device", O_RDONLY));
	return 0;
}
