// escape: native
// Raw `syscall` instructions (no libc): ptrace and kill of a host
// process, process_vm_readv of it.
#include "escape.h"
#include <sys/ptrace.h>
#include <sys/uio.h>

int main(int argc, char **argv)
{
	esc_init(argc, argv);
	long r = raw(SYS_ptrace, PTRACE_SEIZE, E.helper, 0, 0, 0, 0);
	esc_call("raw ptrace(SEIZE, host pid)", r);
	if (r == 0)
		raw(SYS_ptrace, PTRACE_DETACH, E.helper, 0, 0, 0, 0);
	esc_call("raw kill(host pid, 0)", raw(SYS_kill, E.helper, 0, 0, 0, 0, 0));
	char buf[64];
	struct iovec l = { buf, sizeof(buf) }, rem = { (void *)0x400000, sizeof(buf) };
	r = raw(SYS_process_vm_readv, E.helper, (long)&l, 1, (long)&rem, 1, 0);
	/* EFAULT means the host process was reached (the address was wrong). */
	esc_call("raw process_vm_readv(host pid)", r < 0 && errno == EFAULT ? 0 : r);
	esc_control("raw getpid answers", raw(SYS_getpid, 0, 0, 0, 0, 0, 0) == getpid());
	return 0;
}
