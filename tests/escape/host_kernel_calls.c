// Host-kernel operations a root program could ask for: kexec, module
// loading, swap, reboot with a bad magic (harmless if it got through),
// raw I/O ports. They must be refused or be the sentry's own.
#include "escape.h"

int main(int argc, char **argv)
{
	esc_init(argc, argv);
	esc_call("kexec_load", syscall(SYS_kexec_load, 0, 0, NULL, 0));
	esc_call("kexec_file_load", syscall(SYS_kexec_file_load, -1, -1, 0, "", 0));
	esc_call("init_module", syscall(SYS_init_module, "", 0, ""));
	esc_call("finit_module", syscall(SYS_finit_module, 0, "", 0));
	esc_call("delete_module", syscall(SYS_delete_module, "loop", 0));
	esc_call("swapon", syscall(SYS_swapon, E.marker, 0));
	esc_call("iopl(3)", syscall(SYS_iopl, 3));
	esc_call("ioperm(0x80)", syscall(SYS_ioperm, 0x80, 1, 1));
	esc_call("bpf(PROG_LOAD)", syscall(SYS_bpf, 5, NULL, 0));
	esc_call("perf_event_open", syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
	esc_control("getpid answers", getpid() > 0);
	return 0;
}
