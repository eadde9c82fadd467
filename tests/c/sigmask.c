// rt_sigprocmask/rt_sigpending/rt_sigsuspend/sigaltstack: a blocked signal
// stays pending until unblocked, then its handler runs exactly once;
// standard signals do not queue, real-time ones do; handlers can run on an
// alternate stack; SIGKILL cannot be blocked; EINVAL/EFAULT errors.
#include "dt.h"
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile int usr1, rt, on_alt;
static char altstack[65536];

static void h_usr1(int sig)
{
	(void)sig;
	usr1++;
	char here;
	on_alt = &here >= altstack && &here < altstack + sizeof(altstack);
}

static void h_rt(int sig)
{
	(void)sig;
	rt++;
}

int main(void)
{
	dt_init();
	signal(SIGUSR1, h_usr1);
	signal(SIGRTMIN, h_rt);
	sigset_t set, old, pend;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGRTMIN);
	CHK("block USR1+RTMIN", sigprocmask(SIG_BLOCK, &set, &old));
	printf("USR1 blocked before: %d\n", sigismember(&old, SIGUSR1));
	for (int i = 0; i < 3; i++) {
		kill(getpid(), SIGUSR1);
		kill(getpid(), SIGRTMIN);
	}
	printf("handlers ran while blocked: usr1=%d rt=%d\n", usr1, rt);
	CHK("sigpending", sigpending(&pend));
	printf("pending USR1=%d RTMIN=%d USR2=%d\n", sigismember(&pend, SIGUSR1), sigismember(&pend, SIGRTMIN), sigismember(&pend, SIGUSR2));
	CHK("unblock", sigprocmask(SIG_UNBLOCK, &set, NULL));
	printf("after unblock: usr1=%d rt=%d\n", usr1, rt);
	CHK("sigpending", sigpending(&pend));
	printf("pending USR1=%d\n", sigismember(&pend, SIGUSR1));

	sigset_t all;
	sigfillset(&all);
	CHK("SIG_SETMASK all", sigprocmask(SIG_SETMASK, &all, NULL));
	CHK("query", sigprocmask(SIG_SETMASK, NULL, &old));
	printf("KILL blocked=%d STOP blocked=%d USR2 blocked=%d\n", sigismember(&old, SIGKILL), sigismember(&old, SIGSTOP), sigismember(&old, SIGUSR2));
	CHK("bad how", sigprocmask(99, &set, NULL));
	CHK("rt_sigprocmask bad size", syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, NULL, 4));
	CHK("rt_sigprocmask BADPTR", syscall(SYS_rt_sigprocmask, SIG_BLOCK, BADPTR, NULL, 8));

	/* sigsuspend atomically unblocks and waits. */
	kill(getpid(), SIGUSR1);
	sigset_t wait_mask;
	sigfillset(&wait_mask);
	sigdelset(&wait_mask, SIGUSR1);
	CHK("sigsuspend", sigsuspend(&wait_mask));
	printf("usr1=%d\n", usr1);
	CHK("query after sigsuspend", sigprocmask(SIG_SETMASK, NULL, &old));
	printf("mask restored (USR1 blocked)=%d\n", sigismember(&old, SIGUSR1));
	sigemptyset(&set);
	CHK("unblock all", sigprocmask(SIG_SETMASK, &set, NULL));

	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack), .ss_flags = 0 }, oss;
	CHK("sigaltstack", sigaltstack(&ss, &oss));
	printf("old disabled=%d\n", !!(oss.ss_flags & SS_DISABLE));
	struct sigaction sa = { .sa_handler = h_usr1, .sa_flags = SA_ONSTACK };
	CHK("sigaction SA_ONSTACK", sigaction(SIGUSR1, &sa, NULL));
	kill(getpid(), SIGUSR1);
	printf("handler on alt stack=%d\n", on_alt);
	sa.sa_flags = 0;
	sigaction(SIGUSR1, &sa, NULL);
	kill(getpid(), SIGUSR1);
	printf("handler on alt stack without SA_ONSTACK=%d\n", on_alt);
	stack_t small = { .ss_sp = altstack, .ss_size = 512, .ss_flags = 0 };
	CHK("sigaltstack too small", sigaltstack(&small, NULL));
	stack_t badf = { .ss_sp = altstack, .ss_size = sizeof(altstack), .ss_flags = 0x1234 };
	CHK("sigaltstack bad flags", sigaltstack(&badf, NULL));
	return 0;
}
