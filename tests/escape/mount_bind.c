// escape: native
// Mounts from inside (pass whether mount works or is refused): a bind
// mount of the marker's host directory, of `..`, of /proc/1/root, and a
// fresh procfs whose pid 1 root is then walked.
#include "escape.h"
#include <sched.h>
#include <sys/mount.h>

int main(int argc, char **argv)
{
	esc_init(argc, argv);
	/* Natively this must not touch the host's mounts. */
	if (unshare(CLONE_NEWNS) == 0)
		mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	mkdir("mnt", 0755);
	mkdir("mnt2", 0755);
	mkdir("mnt3", 0755);
	long r = mount(E.base, "mnt", NULL, MS_BIND, NULL);
	esc_call("bind-mount the marker's host directory", r);
	if (r == 0) {
		esc_open("  then mnt/marker", "mnt/marker");
		umount2("mnt", MNT_DETACH);
	}
	r = mount("..", "mnt2", NULL, MS_BIND, NULL);
	if (r == 0) {
		esc_open("bind-mount of .. then mnt2/marker", "mnt2/marker");
		umount2("mnt2", MNT_DETACH);
	} else
		esc_call("bind-mount of ..", r);
	r = mount("proc", "mnt3", "proc", 0, NULL);
	if (r == 0) {
		char p[4096];
		esc_open("new procfs: mnt3/1/root + marker path", esc_join(p, sizeof(p), "mnt3/1/root", E.marker));
		umount2("mnt3", MNT_DETACH);
	} else
		esc_call("mount a new procfs", r);
	rmdir("mnt");
	rmdir("mnt2");
	rmdir("mnt3");
	return 0;
}
