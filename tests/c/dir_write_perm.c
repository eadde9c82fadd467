// Changing a directory's entries needs write and search permission on it:
// unlink, rmdir, rename, link, symlink, mkdir, mknod and O_CREAT give
// EACCES without it (EEXIST still wins for an existing name); in a sticky
// directory only the owner of the entry or of the directory (or
// CAP_FOWNER) may remove or rename it (EPERM). Root passes.
#include "dt.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char ro[64], sticky[64], buf[4][128];

static const char *in(int slot, const char *dir, const char *name)
{
	snprintf(buf[slot], sizeof buf[slot], "%s/%s", dir, name);
	return buf[slot];
}

static void probe(void)
{
	CHK("unlink in read-only dir", unlink(in(0, ro, "f")));
	CHK("rmdir in read-only dir", rmdir(in(0, ro, "sub")));
	CHK("rename within read-only dir", rename(in(0, ro, "f"), in(1, ro, "g")));
	CHK("rename out of read-only dir", rename(in(0, ro, "f"), in(1, sticky, "moved")));
	CHK("link into read-only dir", link(in(0, ro, "f"), in(1, ro, "h")));
	CHK("symlink into read-only dir", symlink("x", in(0, ro, "s")));
	CHK("mkdir existing name", mkdir(in(0, ro, "sub"), 0755));
	CHK("mkdir new name", mkdir(in(0, ro, "new"), 0755));
	CHK("mkfifo", mkfifo(in(0, ro, "fifo"), 0644));
	CHK("open O_CREAT", open(in(0, ro, "n"), O_CREAT | O_WRONLY, 0644));
	CHK("unlink root's file in sticky dir", unlink(in(0, sticky, "r")));
	CHK("rename root's file in sticky dir", rename(in(0, sticky, "r"), in(1, sticky, "r2")));
	CHK("rename onto root's file in sticky dir", rename(in(0, sticky, "mine"), in(1, sticky, "r")));
	int fd = open(in(0, sticky, "new"), O_CREAT | O_WRONLY, 0644);
	printf("create in sticky dir: %s\n", fd >= 0 ? "ok" : dt_errname(errno));
	close(fd);
	CHK("unlink own new file in sticky dir", unlink(in(0, sticky, "new")));
	CHK("unlink own file in sticky dir", unlink(in(0, sticky, "mine")));
}

int main(void)
{
	dt_init();
	int pid = getpid();
	snprintf(ro, sizeof ro, "/tmp/dt-dirperm-%d-ro", pid);
	snprintf(sticky, sizeof sticky, "/tmp/dt-dirperm-%d-sticky", pid);
	FACT(mkdir(ro, 0755) == 0);
	FACT(mkdir(sticky, 0777) == 0 && chmod(sticky, 01777) == 0);
	FACT(mkdir(in(0, ro, "sub"), 0777) == 0);
	close(open(in(0, ro, "f"), O_CREAT | O_WRONLY, 0666));
	close(open(in(0, sticky, "r"), O_CREAT | O_WRONLY, 0666));
	close(open(in(0, sticky, "mine"), O_CREAT | O_WRONLY, 0666));
	FACT(chown(in(0, sticky, "mine"), 1000, 1000) == 0);
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		if (setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000))
			_exit(90);
		probe();
		_exit(0);
	}
	int st;
	waitpid(c, &st, 0);
	printf("child status %d\n", WEXITSTATUS(st));
	/* Root: everything the user was refused. */
	CHK("root: unlink root's file in sticky dir", unlink(in(0, sticky, "r")));
	CHK("root: rename in read-only dir", rename(in(0, ro, "f"), in(1, ro, "g")));
	CHK("root: unlink", unlink(in(0, ro, "g")));
	CHK("root: rmdir", rmdir(in(0, ro, "sub")));
	CHK("root: rmdir ro", rmdir(ro));
	CHK("root: rmdir sticky", rmdir(sticky));
	return 0;
}
