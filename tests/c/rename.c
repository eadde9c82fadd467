// renameat2: plain rename (replacing a target), RENAME_NOREPLACE (EEXIST),
// RENAME_EXCHANGE (contents swap), and EINVAL/ENOENT/EISDIR/ENOTDIR/
// ENOTEMPTY errors.
#include "dt.h"
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static void put(const char *p, const char *s)
{
	int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (write(fd, s, strlen(s)) < 0)
		printf("write failed\n");
	close(fd);
}

static void show(const char *p)
{
	char buf[32] = {0};
	int fd = open(p, O_RDONLY);
	if (fd < 0) {
		printf("%s: %s\n", p, dt_errname(errno));
		return;
	}
	if (read(fd, buf, sizeof(buf) - 1) < 0)
		printf("read failed\n");
	close(fd);
	printf("%s: %s\n", p, buf);
}

int main(void)
{
	dt_init();
	put("a", "AAA");
	put("b", "BBB");
	CHK("rename a c", renameat2(AT_FDCWD, "a", AT_FDCWD, "c", 0));
	show("a");
	show("c");
	CHK("rename c b (replace)", rename("c", "b"));
	show("b");
	show("c");
	put("a", "new-a");
	CHK("NOREPLACE onto existing", renameat2(AT_FDCWD, "a", AT_FDCWD, "b", RENAME_NOREPLACE));
	CHK("NOREPLACE onto new", renameat2(AT_FDCWD, "a", AT_FDCWD, "d", RENAME_NOREPLACE));
	show("d");
	CHK("EXCHANGE b d", renameat2(AT_FDCWD, "b", AT_FDCWD, "d", RENAME_EXCHANGE));
	show("b");
	show("d");
	CHK("EXCHANGE with missing", renameat2(AT_FDCWD, "b", AT_FDCWD, "zz", RENAME_EXCHANGE));
	CHK("NOREPLACE|EXCHANGE", renameat2(AT_FDCWD, "b", AT_FDCWD, "d", RENAME_NOREPLACE | RENAME_EXCHANGE));
	CHK("bad flags", renameat2(AT_FDCWD, "b", AT_FDCWD, "d", 0x100));
	CHK("rename missing", rename("missing", "x"));
	CHK("mkdir dir", mkdir("dir", 0755));
	CHK("mkdir dir/sub", mkdir("dir/sub", 0755));
	CHK("rename dir into own subdir", rename("dir", "dir/sub/dir"));
	CHK("rename file over dir", rename("b", "dir"));
	CHK("rename dir over file", rename("dir", "b"));
	CHK("mkdir empty", mkdir("empty", 0755));
	CHK("rename empty dir over nonempty", rename("empty", "dir"));
	CHK("rename nonempty dir over empty dir", rename("dir", "empty"));
	CHK("stat moved sub", access("empty/sub", F_OK));
	CHK("rename to same name", rename("b", "b"));
	CHK("rename into missing dir", rename("b", "nodir/b"));
	CHK("rename across dirfds", renameat2(AT_FDCWD, "b", open("empty", O_RDONLY), "b2", 0));
	show("empty/b2");
	CHK("EXCHANGE dir and file", renameat2(AT_FDCWD, "empty", AT_FDCWD, "d", RENAME_EXCHANGE));
	struct stat st;
	stat("d", &st);
	printf("d is dir: %d\n", S_ISDIR(st.st_mode));
	CHK("rename BADPTR", rename(BADPTR, "x"));
	CHK("unlink d/b2", unlink("d/b2"));
	CHK("rmdir d/sub", rmdir("d/sub"));
	CHK("rmdir d", rmdir("d"));
	CHK("unlink empty (file now)", unlink("empty"));
	return 0;
}
