// The siginfo of hardware faults. A general-protection fault (privileged
// instruction, over-long instruction, `int n` through a kernel-only gate,
// non-canonical address, misaligned non-temporal store) is SIGSEGV with
// si_code SI_KERNEL and si_addr 0 (the sandbox treated it as a page fault
// at 0 and reported SEGV_MAPERR); page faults carry the faulting address,
// and SIGILL/SIGTRAP the address of or after the instruction.
#include "dt.h"
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>

static sigjmp_buf env;
static siginfo_t got;

static void handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	got = *si;
	siglongjmp(env, 1);
}

static void too_long(void)
{
	int a = 1, b = 2;
	__asm__ __volatile__(".rept 20\n\t.byte 0xf2\n\t.endr\n\tmul %1"
			     : "=r"(a) : "r"(b), "r"(a));
}
static void int88(void) { __asm__ __volatile__("int $88"); }
static void rdmsr(void)
{
	uint32_t a, d;
	__asm__ __volatile__("rdmsr" : "=a"(a), "=d"(d) : "c"(0x10));
}
static void hlt(void) { __asm__ __volatile__("hlt"); }
static void noncanonical(void)
{
	__asm__ __volatile__("movq (%0), %%rax" ::"r"(0x8000000000000000ull) : "rax");
}
static void misaligned_nt(void)
{
	char buf[48] __attribute__((aligned(16)));
	__asm__ __volatile__("pxor %%xmm0, %%xmm0\n\tmovntdq %%xmm0, (%0)"
			     ::"r"(buf + 1) : "xmm0", "memory");
}
static void ud2(void) { __asm__ __volatile__("ud2"); }
static void int3(void) { __asm__ __volatile__("int3"); }
static char *ro;
static void write_ro(void) { *(volatile char *)(ro + 8) = 1; }
static void null_read(void) { (void)*(volatile int *)16; }

struct test {
	const char *name;
	void (*fn)(void);
};

int main(void)
{
	dt_init();
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = handler;
	sa.sa_flags = SA_SIGINFO;
	int sigs[] = { SIGSEGV, SIGILL, SIGBUS, SIGTRAP };
	for (unsigned i = 0; i < sizeof sigs / sizeof *sigs; i++)
		sigaction(sigs[i], &sa, NULL);
	ro = mmap(NULL, 4096, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ro == MAP_FAILED)
		return 1;
	struct test tests[] = {
		{ "too_long", too_long }, { "int88", int88 },
		{ "rdmsr", rdmsr },	  { "hlt", hlt },
		{ "noncanonical", noncanonical },
		{ "misaligned_nt", misaligned_nt },
		{ "ud2", ud2 },		  { "int3", int3 },
		{ "write_ro", write_ro }, { "null_read", null_read },
	};
	for (unsigned i = 0; i < sizeof tests / sizeof *tests; i++) {
		/* Twice: the second fault comes after a handler ran. */
		for (int rep = 0; rep < 2; rep++) {
			memset(&got, 0, sizeof got);
			if (sigsetjmp(env, 1) == 0) {
				tests[i].fn();
				printf("%s: no signal\n", tests[i].name);
				continue;
			}
			uintptr_t a = (uintptr_t)got.si_addr;
			uintptr_t f = (uintptr_t)tests[i].fn;
			if (a >= f && a < f + 64)
				printf("%s: signo=%d code=%d addr=in function\n",
				       tests[i].name, got.si_signo, got.si_code);
			else if (a >= (uintptr_t)ro && a < (uintptr_t)ro + 4096)
				printf("%s: signo=%d code=%d addr=page+%lu\n",
				       tests[i].name, got.si_signo, got.si_code,
				       (unsigned long)(a - (uintptr_t)ro));
			else
				printf("%s: signo=%d code=%d addr=%#lx\n",
				       tests[i].name, got.si_signo, got.si_code,
				       (unsigned long)a);
		}
	}
	return 0;
}
