// prctl(PR_SET_SYSCALL_USER_DISPATCH): argument checks; with the selector
// at BLOCK a syscall from outside the allowed range does not run and
// raises SIGSYS (si_code SYS_USER_DISPATCH, the syscall number and
// architecture, the address after the syscall instruction, rax = the
// number); ALLOW and the allowed range let it run; fork does not inherit
// it; a site hot enough to be patched on the trap platform is judged by
// its own address; a selector byte other than ALLOW/BLOCK kills with SIGSYS, an
// unreadable one with SIGSEGV; OFF ends it.
#include "dt.h"
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#define SET_DISPATCH 59
#define OFF 0
#define ON 1
/* The range must hold the address after the syscall instruction. */
#define RANGE_LEN ((unsigned long)(raw_end - raw_start) + 1)

static volatile char sel;
static volatile int got_sig, got_code, got_nr, got_rax, call_ok;
static volatile unsigned got_arch;

/* getppid through a syscall instruction between two known labels. */
long raw_getppid(void);
extern char raw_start[], raw_end[];
__asm__(".text\n.globl raw_getppid\nraw_getppid:\n"
	".globl raw_start\nraw_start:\n"
	"\tmov $110, %eax\n\tsyscall\n"
	".globl raw_end\nraw_end:\n\tret\n");

static void handler(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	sel = 0;
	got_sig = sig;
	got_code = si->si_code;
	got_nr = si->si_syscall;
	got_arch = si->si_arch;
	got_rax = (int)uc->uc_mcontext.gregs[REG_RAX];
	const unsigned char *p = si->si_call_addr;
	call_ok = p[-2] == 0x0f && p[-1] == 0x05 &&
		  (uintptr_t)p == (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	/* The "result" the interrupted call returns. */
	uc->uc_mcontext.gregs[REG_RAX] = 4242;
}

static void blocked_call(const char *label)
{
	got_sig = got_code = got_nr = got_rax = call_ok = 0;
	sel = 1;
	long r = raw_getppid();
	sel = 0;
	printf("%s: r=%ld sig=%d code=%d nr=%d arch=%#x rax=%d call_addr_ok=%d\n", label,
	       r == getppid() ? -99 : r, got_sig, got_code, got_nr, got_arch, got_rax,
	       call_ok);
}

static int child_status(void (*fn)(void))
{
	pid_t p = fork();
	if (p == 0) {
		fn();
		_exit(0);
	}
	int st;
	waitpid(p, &st, 0);
	return st;
}

static void bad_selector_value(void)
{
	prctl(SET_DISPATCH, ON, 0, 0, &sel);
	sel = 7;
	raw_getppid();
}

static void unreadable_selector(void)
{
	char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	prctl(SET_DISPATCH, ON, 0, 0, m);
	munmap(m, 4096);
	raw_getppid();
}

static void fork_child(void)
{
	sel = 1;
	long r = raw_getppid();
	sel = 0;
	printf("child: ran=%d\n", r > 0 && r != 4242);
}

/* prctl(OFF) through the allowed range's syscall instruction. */
static long off_through_range(void)
{
	register long rdi __asm__("rdi") = SET_DISPATCH;
	register long rsi __asm__("rsi") = OFF;
	register long rdx __asm__("rdx") = 0;
	register long r10 __asm__("r10") = 0;
	register long r8 __asm__("r8") = 0;
	long ret;
	__asm__ volatile("mov $157, %%eax\n\tcall raw_start_plus5\n"
			 : "=a"(ret)
			 : "r"(rdi), "r"(rsi), "r"(rdx), "r"(r10), "r"(r8)
			 : "rcx", "r11", "memory");
	return ret;
}

/* Without a selector every call outside the range is dispatched, the
 * handler's own rt_sigreturn included: that second SIGSYS comes while
 * SIGSYS is blocked in the handler and kills the process. */
static void no_selector(void)
{
	prctl(SET_DISPATCH, ON, (unsigned long)raw_start, RANGE_LEN, 0);
	long r = raw_getppid();
	long off = off_through_range();
	printf("no selector: in range ran=%d, off=%ld\n", r == getppid(), off);
	prctl(SET_DISPATCH, ON, (unsigned long)raw_start, RANGE_LEN, 0);
	syscall(SYS_getpid);
	_exit(5);
}

static void show_status(const char *label, int st)
{
	if (WIFSIGNALED(st))
		printf("%s: killed by %d\n", label, WTERMSIG(st));
	else
		printf("%s: exit %d\n", label, WEXITSTATUS(st));
}

int main(void)
{
	dt_init();
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = handler;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSYS, &sa, NULL);

	/* Run the raw site often enough for the trap platform to patch it
	 * (a patched site enters the sentry from a trampoline elsewhere: the
	 * allowed range below must still see the site's own address). */
	for (int i = 0; i < 50; i++)
		raw_getppid();
	CHK("off with offset", prctl(SET_DISPATCH, OFF, 1, 0, 0));
	CHK("off with len", prctl(SET_DISPATCH, OFF, 0, 1, 0));
	CHK("off with selector", prctl(SET_DISPATCH, OFF, 0, 0, &sel));
	CHK("off", prctl(SET_DISPATCH, OFF, 0, 0, 0));
	CHK("bad mode", prctl(SET_DISPATCH, 99, 0, 0, &sel));
	CHK("overflowing range", prctl(SET_DISPATCH, ON, ~0ul - 10, 100, &sel));
	CHK("empty range at 1", prctl(SET_DISPATCH, ON, 1, 0, &sel));
	CHK("kernel selector", prctl(SET_DISPATCH, ON, 0, 0, (void *)0xffff800000000000ul));

	CHK("on", prctl(SET_DISPATCH, ON, 0, 0, &sel));
	blocked_call("block");
	blocked_call("block again");
	sel = 0;
	long r = raw_getppid();
	FACT(r == getppid());
	show_status("fork child", child_status(fork_child));

	/* The allowed range: the raw syscall runs even at BLOCK. */
	CHK("on with range", prctl(SET_DISPATCH, ON, (unsigned long)raw_start, RANGE_LEN, &sel));
	sel = 1;
	r = raw_getppid();
	sel = 0;
	FACT(r == getppid());
	/* Outside it (getpid from libc) is dispatched. */
	got_sig = 0;
	sel = 1;
	r = syscall(SYS_getpid);
	sel = 0;
	printf("libc getpid: r=%ld sig=%d\n", r, got_sig);
	/* Just outside: the range ends before the address after the call. */
	CHK("range short by one", prctl(SET_DISPATCH, ON, (unsigned long)raw_start,
					RANGE_LEN - 1, &sel));
	blocked_call("short range");
	CHK("off", prctl(SET_DISPATCH, OFF, 0, 0, 0));
	sel = 1;
	r = raw_getppid();
	sel = 0;
	FACT(r == getppid());
	CHK("on", prctl(SET_DISPATCH, ON, 0, 0, &sel));
	show_status("no selector", child_status(no_selector));

	show_status("bad selector value", child_status(bad_selector_value));
	show_status("unreadable selector", child_status(unreadable_selector));
	return 0;
}

/* raw_start + 5: the syscall instruction after "mov $110, %eax". */
__asm__(".text\n.globl raw_start_plus5\n.set raw_start_plus5, raw_start + 5\n");
