// Two names of one host file (a hard link made before the sandbox
// started): unlinking one in the sandbox leaves the other with one link.
// difftest: setup make
// difftest: pending each host name gets an inode of its own in the sandbox, so the other name's st_nlink stays 2
#include "dt.h"
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "make"))
		return close(open("a", O_CREAT | O_WRONLY, 0644)) || link("a", "b");
	dt_init();
	struct stat sa, sb;
	CHK("lstat a", lstat("a", &sa));
	CHK("lstat b", lstat("b", &sb));
	FACT(sa.st_ino == sb.st_ino);
	printf("nlink=%lu\n", (unsigned long)sa.st_nlink);
	CHK("unlink b", unlink("b"));
	CHK("lstat a", lstat("a", &sa));
	printf("nlink after unlink=%lu\n", (unsigned long)sa.st_nlink);
	return 0;
}
