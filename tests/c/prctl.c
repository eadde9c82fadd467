// prctl: PR_SET_NAME/PR_GET_NAME (truncated to 15 chars + NUL, visible as
// the thread's comm), dumpable, no_new_privs, pdeathsig, child subreaper;
// EINVAL for bad options/arguments, EFAULT.
#include "dt.h"
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

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
	return 0;
}
