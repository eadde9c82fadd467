// reboot(2)'s checks, in Linux's order: CAP_SYS_BOOT first (EPERM even
// with bad magic numbers), then the two magic numbers (EINVAL), then the
// command (EINVAL for an unknown one). Only calls that cannot act are made:
// the native run is on the host. What a valid command does in the sandbox
// is tested by sandbox::reboot.
#include "dt.h"
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAGIC1 0xfee1deadu
#define MAGIC2 0x28121969u
#define POWER_OFF 0x4321fedcu
#define RESTART 0x01234567u

static long rb(unsigned m1, unsigned m2, unsigned cmd)
{
	return syscall(SYS_reboot, m1, m2, cmd, NULL);
}

int main(void)
{
	dt_init();
	CHK("bad magic1", rb(0, MAGIC2, RESTART));
	CHK("bad magic2", rb(MAGIC1, 0, RESTART));
	CHK("both zero", rb(0, 0, RESTART));
	CHK("bad magic2 ffffffff", rb(MAGIC1, 0xffffffffu, POWER_OFF));
	CHK("unknown command", rb(MAGIC1, MAGIC2, 0x12345678u));
	CHK("unknown command magic2a", rb(MAGIC1, 0x05121996u, 0x12345678u));
	CHK("unknown command magic2b", rb(MAGIC1, 0x16041998u, 0x12345678u));
	CHK("unknown command magic2c", rb(MAGIC1, 0x20112000u, 0x12345678u));
	pid_t p = fork();
	if (p == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(1);
		CHK("nobody bad magic", rb(0, 0, RESTART));
		CHK("nobody power off", rb(MAGIC1, MAGIC2, POWER_OFF));
		CHK("nobody unknown", rb(MAGIC1, MAGIC2, 0x12345678u));
		_exit(0);
	}
	int st;
	waitpid(p, &st, 0);
	printf("child exit %d\n", WEXITSTATUS(st));
	return 0;
}
