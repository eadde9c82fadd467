// prctl: PR_SET_NAME/PR_GET_NAME (truncated to 15 chars + NUL, visible as
// the thread's comm), dumpable, no_new_privs, pdeathsig, child subreaper;
// EINVAL for bad options/arguments, EFAULT. PR_SET_MM: the map size, bad
// arguments, EPERM without CAP_SYS_RESOURCE, also after unshare(CLONE_NEWUSER)
// (nothing is asked with it: the host's root may lack it).
#include "dt.h"
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void set_mm(void)
{
	unsigned int size = 0;
	CHK("PR_SET_MM_MAP_SIZE", prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE, &size, 0, 0));
	printf("prctl_mm_map size %u\n", size);
	CHK("PR_SET_MM_MAP_SIZE BADPTR", prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE, BADPTR, 0, 0));
	CHK("PR_SET_MM arg5", prctl(PR_SET_MM, PR_SET_MM_START_CODE, 0, 0, 1));
	CHK("PR_SET_MM arg4", prctl(PR_SET_MM, PR_SET_MM_START_CODE, 0, 1, 0));
	pid_t c = fork();
	if (c == 0) {
		struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
		struct __user_cap_data_struct d[2];
		syscall(SYS_capget, &h, d);
		d[0].effective &= ~(1u << CAP_SYS_RESOURCE);
		if (syscall(SYS_capset, &h, d))
			_exit(1);
		CHK("PR_SET_MM without CAP_SYS_RESOURCE", prctl(PR_SET_MM, 0, 0, 0, 0));
		CHK("PR_SET_MM_MAP_SIZE without it", prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE, &size, 0, 0));
		CHK("unshare(CLONE_NEWUSER)", unshare(CLONE_NEWUSER));
		CHK("PR_SET_MM in the new user namespace", prctl(PR_SET_MM, 0, 0, 0, 0));
		_exit(0);
	}
	int st;
	waitpid(c, &st, 0);
	printf("child status %d\n", st);
}

int main(void)
{
	dt_init();
	char name[32];
	CHK("PR_SET_NAME", prctl(PR_SET_NAME, "difftest-name"));
	memset(name, 'x', sizeof(name));
	CHK("PR_GET_NAME", prctl(PR_GET_NAME, name));
	printf("name=%s\n", name);
	CHK("PR_SET_NAME long", prctl(PR_SET_NAME, "abcdefghijklmnopqrstuvwxyz"));
	CHK("PR_GET_NAME", prctl(PR_GET_NAME, name));
	printf("name=%s len=%zu\n", name, strlen(name));
	CHK("PR_SET_NAME BADPTR", prctl(PR_SET_NAME, BADPTR));
	CHK("PR_GET_NAME BADPTR", prctl(PR_GET_NAME, BADPTR));

	CHK("PR_GET_DUMPABLE", prctl(PR_GET_DUMPABLE));
	CHK("PR_SET_DUMPABLE 0", prctl(PR_SET_DUMPABLE, 0));
	CHK("PR_GET_DUMPABLE", prctl(PR_GET_DUMPABLE));
	CHK("PR_SET_DUMPABLE 1", prctl(PR_SET_DUMPABLE, 1));
	CHK("PR_SET_DUMPABLE 5", prctl(PR_SET_DUMPABLE, 5));

	CHK("PR_GET_NO_NEW_PRIVS", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	CHK("PR_SET_NO_NEW_PRIVS", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
	CHK("PR_GET_NO_NEW_PRIVS", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	CHK("PR_SET_NO_NEW_PRIVS 0 (cannot unset)", prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0));
	{
		/* /proc/self/status reports the flag too. */
		FILE *f = fopen("/proc/self/status", "r");
		char line[256];
		while (f && fgets(line, sizeof line, f))
			if (strncmp(line, "NoNewPrivs:", 11) == 0)
				fputs(line, stdout);
		if (f)
			fclose(f);
	}

	int sig = -1;
	CHK("PR_GET_PDEATHSIG", prctl(PR_GET_PDEATHSIG, &sig));
	printf("pdeathsig=%d\n", sig);
	CHK("PR_SET_PDEATHSIG SIGUSR1", prctl(PR_SET_PDEATHSIG, SIGUSR1));
	CHK("PR_GET_PDEATHSIG", prctl(PR_GET_PDEATHSIG, &sig));
	printf("pdeathsig=%d\n", sig);
	CHK("PR_SET_PDEATHSIG bad signal", prctl(PR_SET_PDEATHSIG, 1000));
	CHK("PR_SET_PDEATHSIG 0", prctl(PR_SET_PDEATHSIG, 0));

	int sub = -1;
	CHK("PR_SET_CHILD_SUBREAPER", prctl(PR_SET_CHILD_SUBREAPER, 1));
	CHK("PR_GET_CHILD_SUBREAPER", prctl(PR_GET_CHILD_SUBREAPER, &sub));
	printf("subreaper=%d\n", sub);
	CHK("PR_GET_KEEPCAPS", prctl(PR_GET_KEEPCAPS));
	FACT(prctl(PR_GET_TIMERSLACK) > 0);
	CHK("bad option", prctl(0x7fffffff, 0, 0, 0, 0));
	set_mm();
	return 0;
}
