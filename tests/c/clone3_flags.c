// clone3 argument checks (unknown flags, a signal in the flags,
// CLONE_CLEAR_SIGHAND with CLONE_SIGHAND, an exit signal for a thread or
// a sibling), CLONE_CLEAR_SIGHAND (handlers reset, ignored signals stay
// ignored, the parent's untouched), and children that end with a signal
// other than SIGCHLD: the parent gets that signal, and wait finds them only
// with __WCLONE or __WALL (a fork child only without __WCLONE).
#include "dt.h"
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_CLEAR_SIGHAND
#define CLONE_CLEAR_SIGHAND 0x100000000ULL
#endif

static long clone3_(struct clone_args *ca)
{
	return syscall(SYS_clone3, ca, sizeof(*ca));
}

static void handler(int s)
{
	(void)s;
}

static volatile sig_atomic_t got_usr2;
static void on_usr2(int s)
{
	(void)s;
	got_usr2++;
}

static void checks(void)
{
	struct clone_args ca = {0};
	ca.flags = 1ULL << 63;
	ca.exit_signal = SIGCHLD;
	CHK("unknown flag", clone3_(&ca));
	ca.flags = SIGCHLD;
	ca.exit_signal = 0;
	CHK("signal in flags", clone3_(&ca));
	ca.flags = CLONE_DETACHED;
	ca.exit_signal = SIGCHLD;
	CHK("CLONE_DETACHED", clone3_(&ca));
	ca.flags = CLONE_CLEAR_SIGHAND | CLONE_SIGHAND | CLONE_VM;
	CHK("CLEAR_SIGHAND with SIGHAND", clone3_(&ca));
	ca.flags = CLONE_PARENT;
	CHK("CLONE_PARENT with exit signal", clone3_(&ca));
	ca.flags = CLONE_THREAD | CLONE_SIGHAND | CLONE_VM;
	CHK("CLONE_THREAD with exit signal", clone3_(&ca));
	ca.flags = 0;
	ca.exit_signal = 65;
	CHK("exit signal 65", clone3_(&ca));
}

static void clear_sighand(void)
{
	signal(SIGUSR1, handler);
	signal(SIGUSR2, SIG_IGN);
	struct clone_args ca = {0};
	ca.flags = CLONE_CLEAR_SIGHAND;
	ca.exit_signal = SIGCHLD;
	long pid = clone3_(&ca);
	if (pid == 0) {
		struct sigaction a1, a2;
		sigaction(SIGUSR1, NULL, &a1);
		sigaction(SIGUSR2, NULL, &a2);
		_exit((a1.sa_handler == SIG_DFL) | (a2.sa_handler == SIG_IGN) << 1);
	}
	int st = 0;
	FACT(waitpid(pid, &st, 0) == pid);
	printf("child: usr1 default=%d usr2 ignored=%d\n", WEXITSTATUS(st) & 1,
	       (WEXITSTATUS(st) >> 1) & 1);
	struct sigaction a1, a2;
	sigaction(SIGUSR1, NULL, &a1);
	sigaction(SIGUSR2, NULL, &a2);
	printf("parent: usr1 handler kept=%d usr2 ignored=%d\n", a1.sa_handler == handler,
	       a2.sa_handler == SIG_IGN);
	signal(SIGUSR1, SIG_DFL);
	signal(SIGUSR2, SIG_DFL);
}

static void clone_children(void)
{
	signal(SIGUSR2, on_usr2);
	/* A child that signals its end with SIGUSR2. */
	struct clone_args ca = {0};
	ca.exit_signal = SIGUSR2;
	long c = clone3_(&ca);
	if (c == 0)
		_exit(5);
	pid_t f = fork();
	if (f == 0)
		_exit(6);
	siginfo_t si;
	int st;
	/* Let both exit. */
	for (int i = 0; i < 500; i++) {
		si.si_pid = 0;
		if (waitid(P_PID, c, &si, WEXITED | WNOHANG | WNOWAIT | __WCLONE) == 0 &&
		    si.si_pid == c)
			break;
		usleep(10000);
	}
	CHK("waitpid clone child, no flag", waitpid(c, &st, WNOHANG));
	CHK("waitpid fork child with __WCLONE", waitpid(f, &st, WNOHANG | __WCLONE));
	FACT(waitpid(c, &st, __WCLONE) == c);
	printf("clone child exited %d, SIGUSR2 received %d\n", WEXITSTATUS(st), got_usr2);
	FACT(waitpid(f, &st, __WALL) == f);
	printf("fork child exited %d\n", WEXITSTATUS(st));
	/* A child that signals nothing at all. */
	ca.exit_signal = 0;
	got_usr2 = 0;
	c = clone3_(&ca);
	if (c == 0)
		_exit(7);
	CHK("wait4 any, no flag", waitpid(-1, &st, WNOHANG));
	FACT(waitpid(-1, &st, __WALL) == c);
	printf("silent child exited %d, signals %d\n", WEXITSTATUS(st), got_usr2);
	signal(SIGUSR2, SIG_DFL);
}

/* A TLS base past the top of user space is EPERM (as arch_prctl). */
static void bad_tls(void)
{
	uint64_t tlses[] = { 0x800000000000ULL, 0x7ffffffff000ULL, 0x8000000000000000ULL };
	for (unsigned i = 0; i < sizeof(tlses) / sizeof(tlses[0]); i++) {
		errno = 0;
		long r = syscall(SYS_clone, SIGCHLD | CLONE_SETTLS, 0, 0, 0, tlses[i]);
		if (r == 0)
			syscall(SYS_exit, 0); /* no libc: the TLS is bad */
		int e = errno;
		if (r > 0)
			waitpid(r, NULL, 0);
		printf("clone SETTLS %#llx: ret=%s errno=%s\n", (unsigned long long)tlses[i],
		       r > 0 ? "child" : "-1", r > 0 ? "0" : dt_errname(e));
	}
}

int main(void)
{
	dt_init();
	bad_tls();
	checks();
	clear_sighand();
	clone_children();
	return 0;
}
