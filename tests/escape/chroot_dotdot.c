// escape: native
// The classic chroot escape: chroot into a subdirectory while the working
// directory stays outside it, climb with `..`, chroot("."), open.
#include "escape.h"

int main(int argc, char **argv)
{
	esc_init(argc, argv);
	mkdir("jail", 0755);
	esc_decoy("decoy");
	pid_t p = fork();
	if (p == 0) {
		int keep = open(".", O_RDONLY | O_DIRECTORY);
		if (chroot("jail") < 0) {
			esc_call("chroot(jail)", -1);
			_exit(0);
		}
		/* Still outside the new root: our own file is there. */
		esc_control("cwd outside the chroot sees our file", esc_is_decoy(open("decoy", O_RDONLY)));
		if (fchdir(keep) < 0)
			_exit(1);
		for (int i = 0; i < 64; i++)
			if (chdir("..") < 0)
				break;
		esc_open("after climbing: ../marker", "../marker");
		esc_open("after climbing: marker path relative", esc_rel(E.marker));
		if (chroot(".") == 0)
			esc_open("after chroot(.): marker path", E.marker);
		_exit(0);
	}
	waitpid(p, NULL, 0);
	unlink("decoy");
	rmdir("jail");
	return 0;
}
