// Creating or removing a name in a directory first looks the name up, which
// needs search (x) permission on the directory: without it mkdir, mknod,
// open(O_CREAT), symlink, link and unlink give EACCES even when the name
// exists, and with search but no write permission an existing name gives
// EEXIST (mkdir's errno for each mode of the parent, as Linux). Root
// passes.
#include "dt.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64], sub[96], file[96];

int main(void)
{
	dt_init();
	snprintf(dir, sizeof dir, "/tmp/dt-dirsearch-%d", getpid());
	snprintf(sub, sizeof sub, "%s/sub", dir);
	snprintf(file, sizeof file, "%s/f", dir);
	FACT(mkdir(dir, 0777) == 0);
	FACT(mkdir(sub, 0777) == 0);
	close(open(file, O_CREAT | O_WRONLY, 0666));
	FACT(chown(dir, 1000, 1000) == 0);
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		if (setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000))
			_exit(90);
		for (int m = 0; m < 8; m++) {
			chmod(dir, m << 6);
			printf("mode 0%o00: ", m);
			CHK("mkdir existing", mkdir(sub, 0777));
		}
		CHK("chmod 0600", chmod(dir, 0600));
		CHK("open O_CREAT existing", open(file, O_CREAT | O_RDONLY, 0644));
		CHK("mknod existing", mknod(file, S_IFREG | 0644, 0));
		CHK("symlink onto existing", symlink("x", file));
		CHK("unlink", unlink(file));
		CHK("mkdir new", mkdir("/nonexistent-dir-search/x", 0777));
		CHK("chmod 0700", chmod(dir, 0700));
		_exit(0);
	}
	int st;
	waitpid(c, &st, 0);
	printf("child status %d\n", WEXITSTATUS(st));
	CHK("root: chmod 0", chmod(dir, 0));
	CHK("root: mkdir existing", mkdir(sub, 0777));
	CHK("root: unlink", unlink(file));
	CHK("root: rmdir sub", rmdir(sub));
	CHK("root: rmdir", rmdir(dir));
	return 0;
}
