/* An unprivileged user (quota 200 keys) can start many more processes
 * that each make a process keyring: those go with their process and may
 * overrun the quota. (Linux frees them later, so the quota after the loop
 * is not compared.) */
#include "include/dt.h"

#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	if (setgid(65534) != 0 || setuid(65534) != 0) {
		printf("setuid failed\n");
		return 0;
	}
	int failed = 0;
	for (int i = 0; i < 300; i++) {
		pid_t p = fork();
		if (p == 0)
			_exit(syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -2 /* process */, 1) > 0 ? 0 : 1);
		int st;
		waitpid(p, &st, 0);
		failed += !WIFEXITED(st) || WEXITSTATUS(st) != 0;
	}
	printf("processes without a keyring: %d\n", failed);
	return 0;
}
