// /proc/self/maps after chroot: a file mapped after the chroot shows the
// path from the new root, not the one from the old root.
#include "dt.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	char cwd[4096];
	if (!getcwd(cwd, sizeof(cwd)))
		return 1;
	mkdir("r", 0755);
	pid_t pid = fork();
	if (pid == 0) {
		int proc = open("/proc", O_RDONLY | O_DIRECTORY);
		CHK("chroot r", chroot("r"));
		int fd = open("/foo", O_CREAT | O_RDWR, 0644);
		CHK("ftruncate", ftruncate(fd, 4096));
		void *m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
		FACT(m != MAP_FAILED);
		int maps = openat(proc, "self/maps", O_RDONLY);
		static char buf[1 << 16];
		ssize_t n = 0, r;
		while ((r = read(maps, buf + n, sizeof(buf) - 1 - n)) > 0)
			n += r;
		buf[n] = 0;
		FACT(strstr(buf, cwd) == NULL);
		for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n")) {
			char *name = strrchr(l, ' ');
			if (name && strstr(name, "foo"))
				printf("mapping of foo named %s\n", name + 1);
		}
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	printf("child exit %d\n", WEXITSTATUS(st));
	unlink("r/foo");
	rmdir("r");
	return 0;
}
