// dnotify: fcntl(F_NOTIFY) on a directory signals changes of its entries:
// F_SETSIG's signal with si_code POLL_MSG, si_fd and si_band, or SIGIO
// without it. DN_MULTISHOT keeps the request, without it the first event
// ends it; requests on one file add up; 0 removes them, and so does
// closing a descriptor of the file. A rename within the directory is a
// DN_RENAME, a DN_DELETE and a DN_CREATE; across directories only the
// DN_DELETE and DN_CREATE (Linux reports FS_RENAME to dnotify only when
// both directories are one). F_NOTIFY makes the caller
// the file's owner. Errors: ENOTDIR for a file, EBADF for O_PATH, EINVAL
// for F_SETSIG beyond the last signal. (The sandbox said EINVAL.)
#define _GNU_SOURCE
#include "dt.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

static sigset_t set;
static int sig;

/* Takes every pending notification signal: how many, and the last one's
 * siginfo checks. */
static void drain(const char *what, int fd)
{
	struct timespec zero = {0, 0};
	siginfo_t si;
	int n = 0, good = 1, s;
	while ((s = sigtimedwait(&set, &si, &zero)) > 0) {
		n++;
		if (s == SIGIO)
			good &= si.si_code == SI_KERNEL;
		else
			good &= s == sig && si.si_code == POLL_MSG && si.si_fd == fd &&
				si.si_band == (POLLIN | POLLRDNORM | POLLMSG);
	}
	printf("%-28s signals %d siginfo ok %d\n", what, n, good);
}

int main(void)
{
	dt_init();
	char buf[16] = {0};
	int k = open("/proc/sys/fs/dir-notify-enable", O_RDONLY);
	printf("dir-notify-enable: %s", read(k, buf, sizeof buf - 1) > 0 ? buf : "?\n");
	close(k);

	sig = SIGRTMIN + 2;
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigaddset(&set, SIGIO);
	sigprocmask(SIG_BLOCK, &set, NULL);
	mkdir("d", 0755);
	int fd = open("d", O_RDONLY | O_DIRECTORY);
	CHK("setsig", fcntl(fd, F_SETSIG, sig));
	CHK("getsig", fcntl(fd, F_GETSIG));
	CHK("notify create", fcntl(fd, F_NOTIFY, DN_CREATE | DN_MULTISHOT));
	printf("owner is me: %d\n", fcntl(fd, F_GETOWN) == getpid());
	int f = open("d/a", O_RDWR | O_CREAT, 0644);
	drain("create", fd);
	CHK("write", write(f, "x", 1));
	drain("write (not asked)", fd);
	CHK("notify modify", fcntl(fd, F_NOTIFY, DN_MODIFY | DN_ACCESS | DN_MULTISHOT));
	CHK("write", write(f, "x", 1));
	drain("write", fd);
	CHK("pread", pread(f, buf, 1, 0));
	drain("read", fd);
	close(f);
	mkdir("d/sub", 0755);
	drain("mkdir", fd);
	int g = open("d/sub/deep", O_RDWR | O_CREAT, 0644);
	CHK("write deep", write(g, "x", 1));
	close(g);
	drain("in a subdirectory", fd);

	CHK("notify rename", fcntl(fd, F_NOTIFY, DN_RENAME | DN_DELETE | DN_ATTRIB | DN_MULTISHOT));
	CHK("rename", rename("d/a", "d/b"));
	drain("rename inside", fd);
	CHK("rename out", rename("d/b", "b2"));
	drain("rename out", fd);
	CHK("rename in", rename("b2", "d/b"));
	drain("rename in", fd);
	CHK("chmod", chmod("d/b", 0600));
	drain("chmod", fd);
	CHK("unlink", unlink("d/b"));
	drain("unlink", fd);
	unlink("d/sub/deep");
	CHK("rmdir", rmdir("d/sub"));
	drain("rmdir", fd);

	/* 0 removes every request of this file. */
	CHK("notify 0", fcntl(fd, F_NOTIFY, 0));
	close(open("d/c", O_RDWR | O_CREAT, 0644));
	drain("after removal", fd);

	/* One shot. */
	CHK("notify once", fcntl(fd, F_NOTIFY, DN_CREATE));
	close(open("d/e", O_RDWR | O_CREAT, 0644));
	close(open("d/f", O_RDWR | O_CREAT, 0644));
	drain("one shot, two creates", fd);

	/* Closing a duplicate descriptor ends the request too. */
	CHK("notify multishot", fcntl(fd, F_NOTIFY, DN_DELETE | DN_MULTISHOT));
	int dup = fcntl(fd, F_DUPFD, 10);
	close(dup);
	unlink("d/c");
	drain("after closing a dup", fd);

	/* Without F_SETSIG: SIGIO. */
	CHK("setsig 0", fcntl(fd, F_SETSIG, 0));
	CHK("notify delete", fcntl(fd, F_NOTIFY, DN_DELETE | DN_MULTISHOT));
	unlink("d/e");
	drain("sigio", fd);

	/* Errors. */
	int reg = open("d/f", O_RDONLY);
	CHK("notify file", fcntl(reg, F_NOTIFY, DN_CREATE));
	CHK("notify 0 on file", fcntl(reg, F_NOTIFY, 0));
	CHK("notify multishot only on file", fcntl(reg, F_NOTIFY, DN_MULTISHOT));
	close(reg);
	int p = open("d", O_PATH);
	CHK("notify O_PATH", fcntl(p, F_NOTIFY, DN_CREATE));
	close(p);
	CHK("setsig 65", fcntl(fd, F_SETSIG, 65));
	CHK("setsig 64", fcntl(fd, F_SETSIG, 64));
	CHK("setown bogus", fcntl(fd, F_SETOWN, 999999));
	CHK("setown me", fcntl(fd, F_SETOWN, getpid()));
	struct f_owner_ex ox;
	CHK("getown_ex", fcntl(fd, F_GETOWN_EX, &ox));
	printf("  type pid %d me %d\n", ox.type == F_OWNER_PID, ox.pid == getpid());
	ox.type = F_OWNER_PGRP;
	ox.pid = getpgrp();
	CHK("setown_ex pgrp", fcntl(fd, F_SETOWN_EX, &ox));
	printf("  getown is -pgrp %d\n", fcntl(fd, F_GETOWN) == -getpgrp());
	ox.type = 5;
	CHK("setown_ex bad type", fcntl(fd, F_SETOWN_EX, &ox));
	CHK("setown_ex efault", fcntl(fd, F_SETOWN_EX, BADPTR));
	close(fd);
	unlink("d/f");
	rmdir("d");
	return 0;
}
