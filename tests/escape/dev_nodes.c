// escape: native
// The host's device nodes by name: /dev/mem, /dev/kmem, disks, kmsg.
#include "escape.h"

int main(int argc, char **argv)
{
	esc_init(argc, argv);
	const char *nodes[] = { "/dev/mem", "/dev/kmem", "/dev/port", "/dev/sda", "/dev/vda", "/dev/nvme0n1",
				"/dev/kmsg", "/dev/kvm" };
	for (unsigned i = 0; i < sizeof(nodes) / sizeof(*nodes); i++)
		try_dev(nodes[i], nodes[i]);
	int z = open("/dev/zero", O_RDONLY);
	char b[4];
	esc_control("/dev/zero of our own reads", z >= 0 && read(z, b, 4) == 4);
	return 0;
}
