// Host-wide state a root program could change: the hostname and the
// mount table (the harness compares the host's before and after). Not run
// natively: there they would succeed.
#include "escape.h"
#include <sys/mount.h>

int main(int argc, char **argv)
{
	esc_init(argc, argv);
	printf("ATTEMPT sethostname: %s\n", sethostname("escaped", 7) == 0 ? "returned (checked)" : "blocked");
	printf("ATTEMPT setdomainname: %s\n", setdomainname("escaped", 7) == 0 ? "returned (checked)" : "blocked");
	printf("ATTEMPT mount tmpfs on /tmp: %s\n",
	       mount("tmpfs", "/tmp", "tmpfs", 0, NULL) == 0 ? "returned (checked)" : "blocked");
	char hn[64] = { 0 };
	gethostname(hn, sizeof(hn));
	esc_control("the sandbox's hostname changed inside", !strcmp(hn, "escaped"));
	return 0;
}
