// Search permission on every directory of a path: a user without execute
// permission on a directory cannot stat, open, create in, chdir into or
// reach through a symlink anything below it (EACCES); execute without read
// allows lookups but not listing. Root (CAP_DAC_OVERRIDE) passes.
#include "dt.h"
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char closed_dir[64], search_only[64], link_path[64], path[128];

static const char *in(const char *dir, const char *name)
{
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return path;
}

static void probe(const char *who)
{
	struct stat st;
	printf("-- %s\n", who);
	CHK("stat below closed dir", stat(in(closed_dir, "f"), &st));
	CHK("open below closed dir", open(in(closed_dir, "f"), O_RDONLY));
	CHK("mkdir in closed dir", mkdir(in(closed_dir, "new"), 0755));
	CHK("stat via symlink into closed dir", stat(link_path, &st));
	CHK("stat below search-only dir", stat(in(search_only, "f"), &st));
	DIR *d = opendir(search_only);
	printf("opendir search-only: %s\n", d ? "ok" : dt_errname(errno));
	if (d)
		closedir(d);
	int fd = open(in(search_only, "f"), O_RDONLY);
	printf("open below search-only dir: %s\n", fd >= 0 ? "ok" : dt_errname(errno));
	if (fd >= 0)
		close(fd);
	CHK("chdir into closed dir", chdir(closed_dir));
	CHK("chdir back", chdir("/"));
}

int main(void)
{
	dt_init();
	int pid = getpid();
	snprintf(closed_dir, sizeof closed_dir, "/tmp/dt-search-%d-closed", pid);
	snprintf(search_only, sizeof search_only, "/tmp/dt-search-%d-x", pid);
	snprintf(link_path, sizeof link_path, "/tmp/dt-search-%d-link", pid);
	FACT(mkdir(closed_dir, 0700) == 0);
	FACT(mkdir(search_only, 0711) == 0);
	close(open(in(closed_dir, "f"), O_CREAT | O_WRONLY, 0644));
	close(open(in(search_only, "f"), O_CREAT | O_WRONLY, 0644));
	FACT(symlink(in(closed_dir, "f"), link_path) == 0);
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		if (setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000))
			_exit(90);
		probe("uid 1000");
		_exit(0);
	}
	int st;
	waitpid(c, &st, 0);
	printf("child status %d\n", WEXITSTATUS(st));
	probe("root");
	unlink(link_path);
	unlink(in(closed_dir, "f"));
	rmdir(in(closed_dir, "new"));
	rmdir(closed_dir);
	unlink(in(search_only, "f"));
	rmdir(search_only);
	return 0;
}
