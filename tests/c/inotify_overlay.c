/* inotify on host-backed files (the sandbox copies them up when opened
 * for writing: the watch must still report), and permission checks. The
 * watched host directory is one nothing else on the host opens, so the
 * native run sees only its own events. */
#include "dt.h"
#include "dt_inotify.h"
#include <fcntl.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char buf[4096] __attribute__((aligned(8)));

int main(void)
{
	dt_init();
	/* Natively, the harness may run this program twice at once (one per
	 * platform): each would see the other's events on the host file. */
	int lk = open("/tmp/dt-inotify-overlay.lock", O_CREAT | O_RDWR | O_CLOEXEC, 0644);
	flock(lk, LOCK_EX);
	int in = inotify_init1(IN_NONBLOCK);
	CHK("watch licenses dir", inotify_add_watch(in, "/usr/share/common-licenses", IN_OPEN | IN_CLOSE_WRITE | IN_ONLYDIR));
	CHK("watch GPL-3", inotify_add_watch(in, "/usr/share/common-licenses/GPL-3", IN_ALL_EVENTS));
	int f = open("/usr/share/common-licenses/GPL-3", O_RDONLY);
	CHK("read", read(f, buf, 1));
	close(f);
	show(in, "host file read");
	/* Opening for writing copies the file up in the sandbox; writing
	 * nothing leaves the host's file as it was when run natively. */
	f = open("/usr/share/common-licenses/GPL-3", O_WRONLY | O_APPEND);
	CHK("write nothing", write(f, buf, 0));
	close(f);
	show(in, "host file opened for writing");
	f = open("/usr/share/common-licenses/GPL-3", O_RDONLY);
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
