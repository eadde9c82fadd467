// ftruncate/truncate: grow (zero fill), shrink, offset independence, and
// EINVAL (negative length, fd not writable), EISDIR, ENOENT, EBADF errors;
// truncate by path needs write permission on the file (EACCES without
// CAP_DAC_OVERRIDE, also after unshare(CLONE_NEWUSER) gives capabilities
// that do not reach the file).
#include "dt.h"
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static long long size_of(const char *p)
{
	struct stat st;
	return stat(p, &st) ? -1 : (long long)st.st_size;
}

/* In a child without CAP_DAC_OVERRIDE: truncate a 0555 and a 0777 file,
 * then the 0555 one again from a new user namespace. */
static void no_dac_override(void)
{
	int ro = open("tr-ro", O_CREAT | O_WRONLY | O_TRUNC, 0555);
	write(ro, "abc", 3);
	close(ro);
	int rw = open("tr-rw", O_CREAT | O_WRONLY | O_TRUNC, 0777);
	close(rw);
	chmod("tr-rw", 0777);
	pid_t c = fork();
	if (c == 0) {
		struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
		struct __user_cap_data_struct d[2];
		syscall(SYS_capget, &h, d);
		d[0].effective &= ~(1u << CAP_DAC_OVERRIDE);
		if (syscall(SYS_capset, &h, d))
			_exit(1);
		CHK("truncate 0555 without CAP_DAC_OVERRIDE", truncate("tr-ro", 0));
		CHK("truncate 0777 without CAP_DAC_OVERRIDE", truncate("tr-rw", 0));
		CHK("truncate missing", truncate("tr-missing", 0));
		CHK("unshare(CLONE_NEWUSER)", unshare(CLONE_NEWUSER));
		CHK("truncate 0555 in the new user namespace", truncate("tr-ro", 0));
		_exit(0);
	}
	int st;
	waitpid(c, &st, 0);
	printf("child status %d\n", st);
	printf("size=%lld\n", size_of("tr-ro"));
	unlink("tr-ro");
	unlink("tr-rw");
}


int main(void)
{
	dt_init();
	int fd = open("tr", O_CREAT | O_RDWR | O_TRUNC, 0600);
	CHK("write", write(fd, "0123456789", 10));
	CHK("ftruncate 4", ftruncate(fd, 4));
	printf("size=%lld\n", size_of("tr"));
	CHK("offset unchanged", lseek(fd, 0, SEEK_CUR));
	CHK("ftruncate 100000", ftruncate(fd, 100000));
	printf("size=%lld\n", size_of("tr"));
	static char buf[100000];
	memset(buf, 'x', sizeof(buf));
	CHK("pread all", pread(fd, buf, sizeof(buf), 0));
	int nz = 0;
	for (size_t i = 4; i < sizeof(buf); i++)
		nz += buf[i] != 0;
	printf("head=%.4s nonzero-after-head=%d\n", buf, nz);
	CHK("truncate path 2", truncate("tr", 2));
	printf("size=%lld\n", size_of("tr"));
	CHK("write at offset 10 after shrink", write(fd, "Z", 1));
	printf("size=%lld\n", size_of("tr"));
	CHK("ftruncate negative", ftruncate(fd, -1));
	CHK("truncate negative", truncate("tr", -1));
	int ro = open("tr", O_RDONLY);
	CHK("ftruncate O_RDONLY fd", ftruncate(ro, 0));
	CHK("mkdir", mkdir("d", 0755));
	CHK("truncate dir", truncate("d", 0));
	int dfd = open("d", O_RDONLY | O_DIRECTORY);
	CHK("ftruncate dir fd", ftruncate(dfd, 0));
	CHK("truncate missing", truncate("missing", 0));
	CHK("ftruncate bad fd", ftruncate(99, 0));
	int p[2];
	CHK("pipe", pipe(p));
	CHK("ftruncate pipe", ftruncate(p[1], 0));
	CHK("truncate BADPTR", truncate(BADPTR, 0));
	CHK("open O_TRUNC", open("tr", O_WRONLY | O_TRUNC));
	printf("size=%lld\n", size_of("tr"));
	close(fd);
	rmdir("d");
	CHK("unlink", unlink("tr"));
	no_dac_override();
	return 0;
}
