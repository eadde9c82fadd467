/* inotify on host-backed files (the sandbox copies them up when opened
 * for writing: the watch must still report), and permission checks. */
#include "dt.h"
#include "dt_inotify.h"
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char buf[4096] __attribute__((aligned(8)));

int main(void)
{
	dt_init();
	int in = inotify_init1(IN_NONBLOCK);
	CHK("watch /etc", inotify_add_watch(in, "/etc", IN_OPEN | IN_CLOSE_WRITE | IN_ONLYDIR));
	CHK("watch passwd", inotify_add_watch(in, "/etc/passwd", IN_ALL_EVENTS));
	int f = open("/etc/passwd", O_RDONLY);
	CHK("read", read(f, buf, 1));
	close(f);
	show(in, "host file read");
	/* Opening for writing copies the file up in the sandbox; writing
	 * nothing leaves the host's file as it was when run natively. */
	f = open("/etc/passwd", O_WRONLY | O_APPEND);
	CHK("write nothing", write(f, buf, 0));
	close(f);
	show(in, "host file opened for writing");
	f = open("/etc/passwd", O_RDONLY);
	close(f);
	show(in, "after copy-up");

	/* Watching needs read permission. */
	CHK("mkdir", mkdir("inotify_overlay_d", 0755));
	CHK("mkdir closed", mkdir("inotify_overlay_d/closed", 0700));
	close(open("inotify_overlay_d/secret", O_CREAT | O_WRONLY, 0600));
	close(open("inotify_overlay_d/open", O_CREAT | O_WRONLY, 0644));
	pid_t k = fork();
	if (k == 0) {
		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(1);
		CHK("nobody secret", inotify_add_watch(in, "inotify_overlay_d/secret", IN_OPEN));
		CHK("nobody open", inotify_add_watch(in, "inotify_overlay_d/open", IN_OPEN));
		CHK("nobody closed dir", inotify_add_watch(in, "inotify_overlay_d/closed", IN_OPEN));
		CHK("nobody below closed dir", inotify_add_watch(in, "inotify_overlay_d/closed/x", IN_OPEN));
		_exit(0);
	}
	int st;
	waitpid(k, &st, 0);
	FACT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	unlink("inotify_overlay_d/secret");
	unlink("inotify_overlay_d/open");
	rmdir("inotify_overlay_d/closed");
	CHK("rmdir", rmdir("inotify_overlay_d"));
	close(in);
	return 0;
}
