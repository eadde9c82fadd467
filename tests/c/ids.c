// getpid/getppid/gettid (relations only), getuid/geteuid/getgid/getegid,
// getresuid/getresgid, getgroups (EINVAL for a too-small list, EFAULT),
// getpgid/getsid (ESRCH for a non-existent pid). The tests run as root.
#include "dt.h"
#include <grp.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	pid_t pid = getpid();
	FACT(pid > 0);
	FACT(getppid() != pid);
	FACT(getppid() >= 0);
	FACT(syscall(SYS_gettid) == pid);
	FACT(syscall(SYS_getpid) == pid);
	CHK("getuid", getuid());
	CHK("geteuid", geteuid());
	CHK("getgid", getgid());
	CHK("getegid", getegid());
	uid_t r, e, s;
	CHK("getresuid", getresuid(&r, &e, &s));
	printf("resuid=%u,%u,%u\n", (unsigned)r, (unsigned)e, (unsigned)s);
	gid_t gr, ge, gs;
	CHK("getresgid", getresgid(&gr, &ge, &gs));
	printf("resgid=%u,%u,%u\n", (unsigned)gr, (unsigned)ge, (unsigned)gs);
	CHK("getresuid BADPTR", syscall(SYS_getresuid, BADPTR, &e, &s));

	/* Set a known supplementary group list, then read it back. */
	gid_t set[3] = { 10, 20, 30 };
	CHK("setgroups 3", setgroups(3, set));
	int n = getgroups(0, NULL);
	printf("getgroups(0) = %d\n", n);
	gid_t list[8] = { 0 };
	CHK("getgroups(8)", getgroups(8, list));
	printf("groups=%u,%u,%u\n", (unsigned)list[0], (unsigned)list[1], (unsigned)list[2]);
	CHK("getgroups too small", getgroups(2, list));
	volatile int neg = -1;
	CHK("getgroups negative", getgroups(neg, list));
	CHK("getgroups BADPTR", getgroups(3, BADPTR));
	CHK("setgroups 0", setgroups(0, NULL));
	CHK("getgroups after clear", getgroups(0, NULL));

	/* Process groups and sessions: only relations, since the caller's
	 * session may be the kernel's session 0 natively. A child that starts
	 * its own session has known ids. */
	FACT(getpgid(0) == getpgrp());
	FACT(getsid(0) >= 0);
	pid_t child = fork();
	if (child == 0) {
		pid_t me = getpid();
		int ok = setsid() == me && getsid(0) == me && getpgrp() == me &&
			 getsid(getppid()) != me;
		int again = setsid() == -1 && errno == EPERM;
		_exit(ok && again ? 0 : 1);
	}
	int st = -1;
	waitpid(child, &st, 0);
	printf("child's own session: status=%d\n", st);
	CHK("getpgid(999999)", getpgid(999999));
	CHK("getsid(999999)", getsid(999999));
	CHK("setpgid bad pgid", setpgid(0, -1));
	CHK("setuid(0) as root", setuid(0));
	return 0;
}
