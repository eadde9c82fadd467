// mknod of the host disk holding the marker (its device number comes
// from the harness) and of /dev/mem (1:1), then reading them. Not run
// natively: a container host may refuse device nodes even to root.
#include "escape.h"
#include <sys/sysmacros.h>

int main(int argc, char **argv)
{
	esc_init(argc, argv);
	unsigned maj = 8, min = 0;
	if (argc > 6)
		sscanf(argv[6], "%u:%u", &maj, &min);
	if (mknod("disk", S_IFBLK | 0600, makedev(maj, min)) == 0)
		try_dev("mknod the host disk, read it", "disk");
	else
		esc_call("mknod the host disk", -1);
	if (mknod("mem", S_IFCHR | 0600, makedev(1, 1)) == 0)
		try_dev("mknod /dev/mem (1:1), read it", "mem");
	else
		esc_call("mknod /dev/mem (1:1)", -1);
	esc_control("mknod of a FIFO of our own", mknod("fifo", S_IFIFO | 0600, 0) == 0);
	unlink("fifo");
	unlink("disk");
	unlink("mem");
	return 0;
}
