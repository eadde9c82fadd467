// swapon/swapoff: flag check, then CAP_SYS_ADMIN, then the file (ENOENT,
// EISDIR from the read-write open), then the header: a file without the
// SWAPSPACE2 signature, of another version, with bad pages, shorter than
// its header says or with no page after the header is EINVAL. A valid
// file is enabled once (EBUSY the second time), listed in /proc/swaps and
// disabled again; swapoff of anything else is EINVAL. The working
// directory must be on a file system Linux can swap to (ext4 here).
#include "dt.h"
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/wait.h>
#include <unistd.h>

static char page[4096];

static void make(const char *name, int pages, uint32_t version, uint32_t last, uint32_t bad,
		 int signature)
{
	int fd = open(name, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	memset(page, 0, sizeof page);
	memcpy(page + 1024, &version, 4);
	memcpy(page + 1028, &last, 4);
	memcpy(page + 1032, &bad, 4);
	if (signature)
		memcpy(page + 4096 - 10, "SWAPSPACE2", 10);
	for (int i = 0; i < pages; i++) {
		if (write(fd, page, sizeof page) != sizeof page)
			printf("short write\n");
		memset(page, 0, sizeof page);
	}
	close(fd);
}

/* The /proc/swaps line of `name` (an absolute path): size and type. */
static void show(const char *name)
{
	FILE *f = fopen("/proc/swaps", "r");
	char line[512], path[400], type[32];
	long size, used;
	int prio, found = 0;
	while (f && fgets(line, sizeof line, f)) {
		if (sscanf(line, "%399s %31s %ld %ld %d", path, type, &size, &used, &prio) == 5 &&
		    !strcmp(path, name)) {
			printf("/proc/swaps: type=%s size=%ld used=%ld\n", type, size, used);
			found = 1;
		}
	}
	if (f)
		fclose(f);
	if (!found)
		printf("/proc/swaps: not listed\n");
}

int main(void)
{
	dt_init();
	char cwd[300], abs[400];
	if (!getcwd(cwd, sizeof cwd))
		return 1;
	snprintf(abs, sizeof abs, "%s/good", cwd);

	make("zeros", 32, 0, 0, 0, 0);
	make("version2", 32, 2, 31, 0, 1);
	make("badpages", 32, 1, 31, 1, 1);
	make("short", 16, 1, 31, 0, 1);
	make("onepage", 1, 1, 0, 0, 1);
	make("good", 32, 1, 31, 0, 1);
	mkdir("dir", 0755);

	CHK("swapon bad flags", swapon("good", 0x80000));
	CHK("swapon missing", swapon("missing", 0));
	CHK("swapon empty path", swapon("", 0));
	CHK("swapon NULL", swapon(NULL, 0));
	CHK("swapon dir", swapon("dir", 0));
	CHK("swapon zeros", swapon("zeros", 0));
	CHK("swapon version2", swapon("version2", 0));
	CHK("swapon badpages", swapon("badpages", 0));
	CHK("swapon short", swapon("short", 0));
	CHK("swapon onepage", swapon("onepage", 0));
	CHK("swapoff missing", swapoff("missing"));
	CHK("swapoff NULL", swapoff(NULL));
	CHK("swapoff zeros", swapoff("zeros"));
	CHK("swapoff dir", swapoff("dir"));
	show(abs);

	CHK("swapon good", swapon("good", 0));
	show(abs);
	CHK("swapon good again", swapon("good", 0));
	CHK("swapoff zeros (another file)", swapoff("zeros"));
	CHK("swapoff good", swapoff(abs));
	show(abs);
	CHK("swapoff good again", swapoff("good"));
	CHK("swapon prefer 5", swapon("good", SWAP_FLAG_PREFER | 5));
	CHK("swapoff", swapoff("good"));

	pid_t p = fork();
	if (p == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(1);
		CHK("nobody swapon bad flags", swapon("good", 0x80000));
		CHK("nobody swapon", swapon("good", 0));
		CHK("nobody swapon missing", swapon("missing", 0));
		CHK("nobody swapoff", swapoff("good"));
		CHK("nobody swapoff NULL", swapoff(NULL));
		_exit(0);
	}
	int st;
	waitpid(p, &st, 0);
	printf("child exit %d\n", WEXITSTATUS(st));
	const char *files[] = { "zeros", "version2", "badpages", "short", "onepage", "good" };
	for (unsigned i = 0; i < 6; i++)
		unlink(files[i]);
	rmdir("dir");
	return 0;
}
