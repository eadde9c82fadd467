// Sandbox-only probe (not run natively: sethostname would change the host).
// Uses the raw `syscall` instruction to call getpid, sethostname and uname.
// Inside the sandbox the program must be pid 1 and its hostname change must
// stay inside the sandbox. Output: "pid=N", "sethostname=R",
// "nodename=NAME".
//
// Then, where the sandbox patched syscall sites (its trampolines are in
// /proc/self/maps), it finds the platform's fast syscall entry through a
// trampoline and jumps there itself: sethostname must again stay inside
// ("fast_sethostname=R", "fast_nodename=NAME"), and a jump with a gs base
// of its own choosing may only hurt itself ("fast_bad_gs=signal N" from a
// child, or "fast_bad_gs=untested" where the CPU lacks wrgsbase).
// Without trampolines it prints "fast=absent".
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

static long raw3(long nr, long a, long b, long c)
{
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return ret;
}

/* The fast entry a patched site's trampoline jumps to, or 0. */
static unsigned long fast_entry(void)
{
	for (int i = 0; i < 3; i++)
		getppid();
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int found = 0;
	while (f && fgets(line, sizeof(line), f))
		found |= strstr(line, "[syscall-trampolines]") != NULL;
	if (f)
		fclose(f);
	if (!found)
		return 0;
	/* Table entry 0 -> trampoline 0: mov eax; movabs rcx; movabs r11. */
	unsigned long tramp = *(volatile unsigned long *)0x05060000UL, target;
	memcpy(&target, (char *)tramp + 17, 8);
	return target;
}

static long via_fast(unsigned long entry, long nr, long a, long b)
{
	long ret;
	__asm__ volatile("lea 1f(%%rip), %%rcx\n\t"
			 "jmp *%[e]\n"
			 "1:"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), [e] "r"(entry)
			 : "rcx", "r11", "memory");
	return ret;
}

static void fast_probe(void)
{
	unsigned long entry = fast_entry();
	if (!entry) {
		printf("fast=absent\n");
		return;
	}
	printf("fast_sethostname=%ld\n", via_fast(entry, 170, (long)"sbx-fast", 8));
	struct utsname u;
	memset(&u, 0, sizeof(u));
	via_fast(entry, 63, (long)&u, 0);
	printf("fast_nodename=%s\n", u.nodename);
	fflush(stdout);
	if (!(getauxval(AT_HWCAP2) & 2)) {
		printf("fast_bad_gs=untested\n");
		return;
	}
	pid_t c = fork();
	if (c == 0) {
		__asm__ volatile("wrgsbase %0" : : "r"(0x1000UL));
		via_fast(entry, 170, (long)"sbx-badgs", 9);
		_exit(0);
	}
	int st = 0;
	waitpid(c, &st, 0);
	if (WIFSIGNALED(st))
		printf("fast_bad_gs=signal %d\n", WTERMSIG(st));
	else
		printf("fast_bad_gs=exit %d\n", WEXITSTATUS(st));
}

int main(void)
{
	struct utsname u;
	memset(&u, 0, sizeof(u));
	printf("pid=%ld\n", raw3(39 /* getpid */, 0, 0, 0));
	printf("sethostname=%ld\n", raw3(170 /* sethostname */, (long)"sbx-probe", 9, 0));
	long r = raw3(63 /* uname */, (long)&u, 0, 0);
	printf("uname=%ld\n", r);
	printf("nodename=%s\n", u.nodename);
	fast_probe();
	return 0;
}
