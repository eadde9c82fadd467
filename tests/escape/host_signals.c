// escape: native
// Signals to a host process by its pid (the harness's `sleep`): kill,
// tgkill, pidfd_open, rt_sigqueueinfo. Its pid means nothing inside.
#include "escape.h"

int main(int argc, char **argv)
{
	esc_init(argc, argv);
	int h = E.helper;
	esc_call("kill(host pid, 0)", kill(h, 0));
	esc_call("kill(host pid, SIGCONT)", kill(h, SIGCONT));
	esc_call("tgkill(host pid, host pid, 0)", syscall(SYS_tgkill, h, h, 0));
	esc_call("pidfd_open(host pid)", syscall(SYS_pidfd_open, h, 0));
	siginfo_t si = { .si_code = -1 };
	esc_call("rt_sigqueueinfo(host pid, 0)", syscall(SYS_rt_sigqueueinfo, h, 0, &si));
	esc_control("kill(own pid, 0)", kill(getpid(), 0) == 0);
	return 0;
}
