// mprotect and SIGSEGV delivery: touching a PROT_NONE page or writing a
// read-only page gives SEGV_ACCERR, touching an unmapped page SEGV_MAPERR,
// with si_addr equal to the faulting address; siglongjmp out of the
// handler. mprotect errors: EINVAL (unaligned, bad prot), ENOMEM (unmapped).
#include "dt.h"
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

static sigjmp_buf env;
static volatile void *fault_addr;
static volatile int fault_code, fault_signo;

static void handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	fault_signo = sig;
	fault_code = si->si_code;
	fault_addr = si->si_addr;
	siglongjmp(env, 1);
}

static void try_touch(const char *what, volatile char *addr, int write)
{
	fault_signo = 0;
	if (sigsetjmp(env, 1) == 0) {
		if (write)
			*addr = 'w';
		else
			(void)*addr;
		printf("%s: no fault\n", what);
	} else {
		printf("%s: signo=%s code=%s addr_match=%d\n", what,
		       fault_signo == SIGSEGV ? "SIGSEGV" : "other",
		       fault_code == SEGV_ACCERR ? "SEGV_ACCERR" : fault_code == SEGV_MAPERR ? "SEGV_MAPERR" : "other",
		       fault_addr == addr);
	}
}

int main(void)
{
	dt_init();
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = handler;
	sa.sa_flags = SA_SIGINFO;
	CHK("sigaction SIGSEGV", sigaction(SIGSEGV, &sa, NULL));
	long pg = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	p[pg + 5] = 'x';
	try_touch("read RW page", p + pg + 5, 0);
	CHK("mprotect PROT_NONE", mprotect(p + pg, pg, PROT_NONE));
	try_touch("read PROT_NONE", p + pg + 5, 0);
	try_touch("write PROT_NONE", p + pg + 7, 1);
	try_touch("neighbour page still RW", p + 2 * pg, 1);
	CHK("mprotect PROT_READ", mprotect(p + pg, pg, PROT_READ));
	try_touch("read PROT_READ", p + pg + 5, 0);
	printf("value kept: %c\n", p[pg + 5]);
	try_touch("write PROT_READ", p + pg + 9, 1);
	CHK("mprotect RW again", mprotect(p + pg, pg, PROT_READ | PROT_WRITE));
	try_touch("write RW again", p + pg + 9, 1);
	CHK("munmap last page", munmap(p + 2 * pg, pg));
	try_touch("read unmapped", p + 2 * pg + 16, 0);
	try_touch("read NULL+64", (volatile char *)64, 0);
	CHK("mprotect unaligned", mprotect(p + 1, pg, PROT_READ));
	CHK("mprotect bad prot", mprotect(p, pg, 0x100));
	CHK("mprotect unmapped", mprotect(p + 2 * pg, pg, PROT_READ));
	CHK("mprotect partly unmapped", mprotect(p + pg, 2 * pg, PROT_READ));
	CHK("mprotect len 0", mprotect(p, 0, PROT_READ));
	/* The handler ran with SIGSEGV blocked; siglongjmp restored the mask. */
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	printf("SIGSEGV blocked after longjmp: %d\n", sigismember(&cur, SIGSEGV));
	return 0;
}
