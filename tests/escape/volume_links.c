// escape: volumes
// Hard links and renames between a volume and the rest of the sandbox,
// and links that would follow a volume's symlink on the host: a link
// into the volume of something the sandbox holds, or out of it.
#include "escape.h"

int main(int argc, char **argv)
{
	esc_init(argc, argv);
	esc_decoy("/tmp/own");
	esc_call("volume: link a sandbox file into the volume", link("/tmp/own", "/vol/own"));
	esc_call("volume: rename a sandbox file into the volume",
		 rename("/tmp/own", "/vol/own"));
	esc_call("volume: link a volume file into the sandbox", link("/vol/file", "/tmp/vf"));
	esc_call("volume: link across volumes", link("/rovol/file", "/vol/rof"));
	esc_call("volume: rename across volumes", rename("/rovol/file", "/vol/rof"));
	/* Following the host-made absolute symlink: in the sandbox's view it
	 * names nothing. */
	esc_call("volume: linkat(AT_SYMLINK_FOLLOW) of the absolute symlink",
		 linkat(AT_FDCWD, "/vol/abs", AT_FDCWD, "/vol/followed", AT_SYMLINK_FOLLOW));
	esc_call("volume: linkat(AT_SYMLINK_FOLLOW) of the ../ symlink",
		 linkat(AT_FDCWD, "/vol/rel", AT_FDCWD, "/vol/followed", AT_SYMLINK_FOLLOW));
	esc_open("volume: open the followed link", "/vol/followed");
	unlink("/vol/followed");
	unlink("/vol/own");
	unlink("/tmp/own");
	int ok = link("/vol/file", "/vol/file2") == 0;
	esc_control("a link within the volume", ok && esc_is_decoy(open("/vol/file2", O_RDONLY)));
	unlink("/vol/file2");
	return 0;
}
