// System calls issued with the raw `syscall` instruction (inline asm, no
// libc wrapper): the sandbox must intercept them exactly like libc's.
// getpid's value differs natively, so only facts about it are printed.
#include "dt.h"

static long raw3(long nr, long a, long b, long c)
{
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return ret;
}

int main(void)
{
	dt_init();
	long pid = raw3(39 /* getpid */, 0, 0, 0);
	FACT(pid > 0);
	long tid = raw3(186 /* gettid */, 0, 0, 0);
	FACT(tid == pid);
	static const char msg[] = "raw write\n";
	long n = raw3(1 /* write */, 1, (long)msg, sizeof(msg) - 1);
	printf("write ret=%ld\n", n);
	printf("write bad fd ret=%ld\n", raw3(1, 99, (long)msg, 1));
	printf("write EFAULT ret=%ld\n", raw3(1, 1, 1, 1));
	printf("unknown syscall 1000 ret=%ld\n", raw3(1000, 0, 0, 0));
	printf("negative syscall nr ret=%ld\n", raw3(-1, 0, 0, 0));
	/* rcx and r11 are clobbered by syscall; other registers survive. */
	long r12 = 0x1234567890abcdefL, out;
	__asm__ volatile("mov %1, %%r12\n\tmov $39, %%eax\n\tsyscall\n\tmov %%r12, %0"
			 : "=r"(out)
			 : "r"(r12)
			 : "rax", "rcx", "r11", "r12", "memory");
	printf("r12 preserved=%d\n", out == r12);
	return 0;
}
