// Sandbox-only probe (not run natively: sethostname would change the host).
// Uses the raw `syscall` instruction to call getpid, sethostname and uname.
// Inside the sandbox the program must be pid 1 and its hostname change must
// stay inside the sandbox. Output: "pid=N", "sethostname=R",
// "nodename=NAME".
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

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
	struct utsname u;
	memset(&u, 0, sizeof(u));
	printf("pid=%ld\n", raw3(39 /* getpid */, 0, 0, 0));
	printf("sethostname=%ld\n", raw3(170 /* sethostname */, (long)"sbx-probe", 9, 0));
	long r = raw3(63 /* uname */, (long)&u, 0, 0);
	printf("uname=%ld\n", r);
	printf("nodename=%s\n", u.nodename);
	return 0;
}
