// Path edge cases: removing the root is EBUSY; a rename onto "." is
// EEXIST under RENAME_NOREPLACE (EBUSY without); utimensat with both
// times UTIME_OMIT succeeds without looking at the path or flags;
// futimesat/utimensat with AT_FDCWD and a NULL path is EFAULT.
#include "dt.h"
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	CHK("rmdir /", rmdir("/"));
	CHK("rmdir //", rmdir("//"));
	CHK("unlinkat / AT_REMOVEDIR", unlinkat(AT_FDCWD, "/", AT_REMOVEDIR));
	int root = open("/", O_RDONLY | O_DIRECTORY);
	CHK("unlinkat(rootfd, /, AT_REMOVEDIR)", unlinkat(root, "/", AT_REMOVEDIR));
	close(root);

	char d1[] = "/tmp/pee1.XXXXXX", d2[] = "/tmp/pee2.XXXXXX";
	mkdtemp(d1);
	mkdtemp(d2);
	char dot[64], dotdot[64];
	snprintf(dot, sizeof(dot), "%s/.", d2);
	snprintf(dotdot, sizeof(dotdot), "%s/..", d2);
	CHK("rename onto dir/. NOREPLACE", syscall(SYS_renameat2, AT_FDCWD, d1, AT_FDCWD, dot, RENAME_NOREPLACE));
	CHK("rename onto dir/.. NOREPLACE", syscall(SYS_renameat2, AT_FDCWD, d1, AT_FDCWD, dotdot, RENAME_NOREPLACE));
	CHK("rename onto dir/.", syscall(SYS_renameat2, AT_FDCWD, d1, AT_FDCWD, dot, 0));
	CHK("rename from dir/. NOREPLACE", syscall(SYS_renameat2, AT_FDCWD, dot, AT_FDCWD, d1, RENAME_NOREPLACE));

	char f[80], g[80];
	snprintf(f, sizeof(f), "%s/f", d1);
	snprintf(g, sizeof(g), "%s/g", d1);
	close(open(f, O_CREAT | O_WRONLY, 0600));
	CHK("link", link(f, g));
	CHK("rename onto a hard link of itself", rename(f, g));
	CHK("first name still there", access(f, F_OK));
	CHK("rename onto itself", rename(g, g));
	/* RENAME_NOREPLACE: a target that exists is EEXIST, itself too. */
	CHK("NOREPLACE onto a hard link of itself", syscall(SYS_renameat2, AT_FDCWD, f, AT_FDCWD, g, RENAME_NOREPLACE));
	CHK("NOREPLACE onto itself", syscall(SYS_renameat2, AT_FDCWD, g, AT_FDCWD, g, RENAME_NOREPLACE));
	unlink(f);
	unlink(g);

	struct timespec omit[2] = { { 0, UTIME_OMIT }, { 0, UTIME_OMIT } };
	CHK("utimensat omit both, missing path", utimensat(AT_FDCWD, "/tmp/pee-missing/x", omit, 0));
	CHK("utimensat omit both, bad fd", utimensat(-5, "rel", omit, 0));
	CHK("utimensat omit both, bad flags", utimensat(AT_FDCWD, d1, omit, 0x4000));
	struct timespec one[2] = { { 0, UTIME_OMIT }, { 1, 0 } };
	CHK("utimensat one time, missing path", utimensat(AT_FDCWD, "/tmp/pee-missing/x", one, 0));
	struct timeval tv[2] = { { 1, 0 }, { 2, 0 } };
	CHK("futimesat(AT_FDCWD, NULL)", syscall(SYS_futimesat, AT_FDCWD, NULL, tv));
	CHK("utimensat(AT_FDCWD, NULL)", syscall(SYS_utimensat, AT_FDCWD, NULL, one, 0));
	rmdir(d1);
	rmdir(d2);
	return 0;
}
