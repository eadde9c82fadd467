// escape: native
// A host process by its pid (the harness's `sleep`): its /proc entries,
// process_vm_readv, ptrace attach. Its pid means nothing inside.
#include "escape.h"
#include <sys/ptrace.h>
#include <sys/uio.h>

int main(int argc, char **argv)
{
	esc_init(argc, argv);
	int h = E.helper;
	char p[4096];
	snprintf(p, sizeof(p), "/proc/%d/root/%s", h, esc_rel(E.marker));
	esc_open("/proc/<host pid>/root + marker path", p);
	snprintf(p, sizeof(p), "/proc/%d/cmdline", h);
	esc_call("open /proc/<host pid>/cmdline", open(p, O_RDONLY));
	char buf[8];
	struct iovec l = { buf, sizeof(buf) }, r = { (void *)0x1000, sizeof(buf) };
	long n = process_vm_readv(h, &l, 1, &r, 1, 0);
	esc_call("process_vm_readv(host pid)", n < 0 && errno == EFAULT ? 0 : n);
	long a = ptrace(PTRACE_ATTACH, h, 0, 0);
	esc_call("ptrace(ATTACH, host pid)", a);
	if (a == 0) {
		waitpid(h, NULL, __WALL);
		ptrace(PTRACE_DETACH, h, 0, 0);
	}
	esc_control("/proc/self/cmdline opens", open("/proc/self/cmdline", O_RDONLY) >= 0);
	return 0;
}
