/* Sandbox only (natively it would act on the host): reboot(2) with valid
 * magic numbers acts as in a container's pid namespace. `cad`: the
 * Ctrl-Alt-Del switches, suspend and kexec are EINVAL, printed, exit 0.
 * `restart` / `poweroff`: a child process asks; the whole sandbox ends as
 * if init was killed by SIGHUP / SIGINT (rvisor exits 129 / 130), and
 * nothing after the call runs. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAGIC1 0xfee1deadu
#define MAGIC2 0x28121969u

static void show(const char *name, unsigned cmd)
{
	errno = 0;
	long r = syscall(SYS_reboot, MAGIC1, MAGIC2, cmd, NULL);
	printf("%s: ret=%ld errno=%d\n", name, r, r < 0 ? errno : 0);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc > 1 && !strcmp(argv[1], "cad")) {
		show("cad_on", 0x89abcdefu);
		show("cad_off", 0);
		show("sw_suspend", 0xd000fce2u);
		show("kexec", 0x45584543u);
		return 0;
	}
	unsigned cmd = argc > 1 && !strcmp(argv[1], "restart") ? 0x01234567u : 0x4321fedcu;
	pid_t p = fork();
	if (p == 0) {
		syscall(SYS_reboot, MAGIC1, MAGIC2, cmd, NULL);
		printf("child survived\n");
		_exit(0);
	}
	int st;
	waitpid(p, &st, 0);
	printf("init survived\n");
	return 3;
}
