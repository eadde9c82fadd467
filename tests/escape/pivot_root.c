// escape: native
// pivot_root from inside (pass whether it works or is refused): the old
// root, mounted below the new one, must be the sandbox's, not the host's.
#include "escape.h"
#include <sched.h>
#include <sys/mount.h>

int main(int argc, char **argv)
{
	esc_init(argc, argv);
	pid_t p = fork();
	if (p == 0) {
		if (unshare(CLONE_NEWNS) < 0) {
			esc_call("unshare(CLONE_NEWNS)", -1);
			_exit(0);
		}
		mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
		mkdir("new", 0755);
		long r = mount("tmpfs", "new", "tmpfs", 0, NULL);
		if (r < 0) {
			esc_call("mount tmpfs for the new root", r);
			_exit(0);
		}
		mkdir("new/old", 0755);
		r = syscall(SYS_pivot_root, "new", "new/old");
		if (r < 0)
			esc_call("pivot_root(new, new/old)", r);
		if (r == 0) {
			char q[4096];
			if (chdir("/") < 0)
				_exit(1);
			esc_open("old root + marker path", esc_join(q, sizeof(q), "/old", E.marker));
		}
		_exit(0);
	}
	waitpid(p, NULL, 0);
	rmdir("new/old");
	rmdir("new");
	return 0;
}
