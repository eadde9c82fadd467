/* A binary run, then replaced on disk (a new file renamed over it, and
 * then rewritten in place), then run again: each exec runs what the file
 * holds at that moment, not pages cached from the earlier run. */
#include "dt.h"
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int copy(const char *from, const char *to) {
	int in = open(from, O_RDONLY);
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	if (in < 0 || out < 0)
		return -1;
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n)
			return -1;
	close(in);
	close(out);
	return n < 0 ? -1 : 0;
}

static int run(const char *path) {
	pid_t pid = fork();
	if (pid == 0) {
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	int st;
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(void) {
	dt_init();
	CHK("copy true", copy("/bin/true", "prog"));
	printf("run 1: %d\n", run("./prog"));
	printf("run 2: %d\n", run("./prog"));
	CHK("copy false", copy("/bin/false", "prog.new"));
	CHK("rename", rename("prog.new", "prog"));
	printf("run after rename: %d\n", run("./prog"));
	CHK("rewrite with true", copy("/bin/true", "prog"));
	printf("run after rewrite: %d\n", run("./prog"));
	unlink("prog");
	return 0;
}
