// Signals interrupting and resuming: a handler interrupts a blocking pipe
// read (EINTR without SA_RESTART, resumed with it); nanosleep interrupted
// reports the remaining time; a SIGSEGV handler repairs the fault with
// mprotect and returns so the access is retried; a handler runs on the
// sigaltstack; vfork + exec.
#include "dt.h"
#include <signal.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile int hits;
static void on_alrm(int s)
{
	(void)s;
	hits++;
}

static char *page;
static void on_segv(int s, siginfo_t *si, void *u)
{
	(void)s;
	(void)u;
	if ((char *)si->si_addr == page)
		mprotect(page, 4096, PROT_READ | PROT_WRITE);
}

static char altstack[65536];
static volatile int on_alt;
static void on_usr1(int s)
{
	(void)s;
	char here;
	on_alt = &here >= altstack && &here < altstack + sizeof(altstack);
}

static void arm(int ms)
{
	struct itimerval it = {{0, 0}, {0, ms * 1000}};
	setitimer(ITIMER_REAL, &it, 0);
}

static void handler(int restart)
{
	struct sigaction sa = {0};
	sa.sa_handler = on_alrm;
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigaction(SIGALRM, &sa, 0);
}

int main(void)
{
	dt_init();
	int p[2];
	char b;
	// 1. read interrupted, no SA_RESTART.
	CHKOK("pipe", pipe(p));
	handler(0);
	arm(20);
	CHK("read without SA_RESTART", read(p[0], &b, 1));
	printf("hits=%d\n", hits);
	// 2. read resumed with SA_RESTART: the data arrives later from a child.
	handler(1);
	pid_t c = fork();
	if (c == 0) {
		usleep(150000);
		write(p[1], "z", 1);
		_exit(0);
	}
	arm(20);
	CHK("read with SA_RESTART", read(p[0], &b, 1));
	printf("hits=%d byte=%c\n", hits, b);
	waitpid(c, 0, 0);
	// 3. nanosleep interrupted: remaining time reported.
	handler(0);
	arm(30);
	struct timespec req = {0, 300000000}, rem = {0, 0};
	CHK("nanosleep interrupted", nanosleep(&req, &rem));
	FACT(rem.tv_sec == 0 && rem.tv_nsec > 100000000 && rem.tv_nsec < 300000000);
	// 4. SIGSEGV fixed by the handler; the access is retried.
	page = mmap(0, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct sigaction sa = {0};
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, 0);
	page[0] = 42;
	printf("after repaired fault: %d\n", page[0]);
	// 5. sigaltstack.
	stack_t ss = {altstack, 0, sizeof(altstack)};
	CHK("sigaltstack", sigaltstack(&ss, 0));
	struct sigaction su = {0};
	su.sa_handler = on_usr1;
	su.sa_flags = SA_ONSTACK;
	sigaction(SIGUSR1, &su, 0);
	raise(SIGUSR1);
	printf("handler ran on the alternate stack: %d\n", on_alt);
	// 6. vfork + exec.
	pid_t v = vfork();
	if (v == 0) {
		execl("/bin/echo", "echo", "from vfork child", (char *)0);
		_exit(127);
	}
	int st;
	FACT(waitpid(v, &st, 0) == v);
	printf("vfork child exit=%d\n", WEXITSTATUS(st));
	return 0;
}
