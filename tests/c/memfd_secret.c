// memfd_secret: flags (O_CLOEXEC only), the file (regular, mode 0600,
// named "/secretmem (deleted)"), read/write EINVAL, pread/lseek ESPIPE,
// one ftruncate only, MAP_PRIVATE EINVAL; shared mappings share the data,
// a write(2) from it works (its own process's access), but /proc/self/mem
// (EIO) and process_vm_readv/writev (EFAULT) cannot reach it.
#include "dt.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef SYS_memfd_secret
#define SYS_memfd_secret 447
#endif

int main(void)
{
	dt_init();
	CHK("flags 1", syscall(SYS_memfd_secret, 1));
	CHK("flags O_NONBLOCK", syscall(SYS_memfd_secret, O_NONBLOCK));
	CHK("flags O_RDWR", syscall(SYS_memfd_secret, O_RDWR));
	int fd = syscall(SYS_memfd_secret, O_CLOEXEC);
	FACT(fd >= 0);
	CHK("F_GETFD", fcntl(fd, F_GETFD));
	CHK("F_GETFL", fcntl(fd, F_GETFL));
	CHK("F_GET_SEALS", fcntl(fd, F_GET_SEALS));
	struct stat st;
	CHK("fstat", fstat(fd, &st));
	printf("mode %o size %ld\n", st.st_mode, (long)st.st_size);
	char path[64], link[128] = { 0 };
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	CHK("readlink", readlink(path, link, sizeof link - 1));
	printf("link %s\n", link);

	char buf[16] = { 0 };
	CHK("read", read(fd, buf, 8));
	CHK("write", write(fd, buf, 8));
	CHK("pread", pread(fd, buf, 8, 0));
	CHK("pwrite", pwrite(fd, buf, 8, 0));
	CHK("lseek", lseek(fd, 0, SEEK_SET));

	CHK("ftruncate", ftruncate(fd, 8192));
	CHK("ftruncate again", ftruncate(fd, 16384));
	CHK("ftruncate same", ftruncate(fd, 8192));
	CHK("ftruncate 0", ftruncate(fd, 0));
	fstat(fd, &st);
	printf("size %ld\n", (long)st.st_size);

	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	printf("mmap private: %s errno=%s\n", p == MAP_FAILED ? "failed" : "ok",
	       p == MAP_FAILED ? dt_errname(errno) : "0");
	char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	char *m2 = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0);
	FACT(m != MAP_FAILED && m2 != MAP_FAILED);
	if (m == MAP_FAILED || m2 == MAP_FAILED)
		return 1;
	FACT(m2[4096] == 0);
	strcpy(m, "secret");
	m[4096] = 7;
	FACT(m2[4096] == 7 && !strcmp(m2, "secret"));

	int pp[2];
	if (pipe(pp))
		return 1;
	CHK("write(2) from the mapping", write(pp[1], m, 6));
	CHK("read back", read(pp[0], buf, 6));
	FACT(!memcmp(buf, "secret", 6));

	int mf = open("/proc/self/mem", O_RDWR);
	CHK("/proc/self/mem read", pread(mf, buf, 6, (long)m));
	CHK("/proc/self/mem write", pwrite(mf, "x", 1, (long)m));
	CHK("/proc/self/mem read of m2", pread(mf, buf, 6, (long)m2));
	FACT(m[0] == 's');
	struct iovec local = { buf, 6 }, remote = { m, 6 };
	CHK("process_vm_readv", process_vm_readv(getpid(), &local, 1, &remote, 1, 0));
	CHK("process_vm_writev", process_vm_writev(getpid(), &local, 1, &remote, 1, 0));
	/* An ordinary page next to it is still reachable. */
	char *plain = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	strcpy(plain, "plain");
	CHK("/proc/self/mem read of plain", pread(mf, buf, 5, (long)plain));

	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;
	while (f && fgets(line, sizeof line, f))
		if (strstr(line, "/secretmem (deleted)"))
			n++;
	printf("maps lines naming secretmem: %d\n", n);
	close(mf);
	close(fd);
	return 0;
}
