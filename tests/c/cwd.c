// getcwd/chdir/fchdir: relative lookups follow the cwd, getcwd reports the
// new directory, ERANGE for a small buffer, ENOENT/ENOTDIR/EBADF/EFAULT.
#include "dt.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

int main(void)
{
	dt_init();
	char start[4096], cur[4096];
	CHKOK("getcwd", getcwd(start, sizeof(start)) ? 0 : -1);
	FACT(start[0] == '/');
	FACT(syscall(SYS_getcwd, cur, sizeof(cur)) == (long)strlen(start) + 1);
	CHK("mkdir a", mkdir("a", 0755));
	CHK("mkdir a/b", mkdir("a/b", 0755));
	CHK("chdir a/b", chdir("a/b"));
	CHKOK("getcwd", getcwd(cur, sizeof(cur)) ? 0 : -1);
	FACT(ends_with(cur, "/a/b"));
	FACT(strncmp(cur, start, strlen(start)) == 0);
	CHK("create file in cwd", open("here", O_CREAT | O_WRONLY, 0600));
	close(3);
	CHK("chdir ..", chdir(".."));
	CHK("access b/here", access("b/here", F_OK));
	CHK("chdir missing", chdir("missing"));
	CHK("chdir b/here (file)", chdir("b/here"));
	CHK("chdir BADPTR", chdir(BADPTR));
	CHKOK("getcwd after failures", getcwd(cur, sizeof(cur)) ? 0 : -1);
	FACT(ends_with(cur, "/a"));
	int top = open(start, O_RDONLY | O_DIRECTORY);
	CHK("fchdir top", fchdir(top));
	CHKOK("getcwd", getcwd(cur, sizeof(cur)) ? 0 : -1);
	FACT(strcmp(cur, start) == 0);
	int f = open("a/b/here", O_RDONLY);
	CHK("fchdir file", fchdir(f));
	CHK("fchdir bad fd", fchdir(99));
	CHK("getcwd size 1", getcwd(cur, 1) ? 0 : -1);
	CHK("raw getcwd size 1", syscall(SYS_getcwd, cur, 1));
	CHK("raw getcwd size 0", syscall(SYS_getcwd, cur, 0));
	CHK("raw getcwd BADPTR", syscall(SYS_getcwd, BADPTR, 4096));
	CHK("chdir /", chdir("/"));
	CHKOK("getcwd", getcwd(cur, sizeof(cur)) ? 0 : -1);
	printf("cwd=%s\n", cur);
	CHK("chdir back", fchdir(top));
	/* Removing the cwd makes getcwd fail with ENOENT. */
	CHK("chdir a/b", chdir("a/b"));
	CHK("unlink here", unlink("here"));
	CHK("rmdir cwd", rmdir("../b"));
	CHK("getcwd of removed dir", getcwd(cur, sizeof(cur)) ? 0 : -1);
	CHK("fchdir top", fchdir(top));
	CHK("rmdir a", rmdir("a"));
	return 0;
}
