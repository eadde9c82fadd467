// brk: querying the break, growing it (new memory is zeroed and usable),
// shrinking it, and a request below the start being refused (the break
// stays put). Also sbrk and malloc of a large block.
#include "dt.h"
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	unsigned long start = syscall(SYS_brk, 0);
	FACT(start != 0);
	unsigned long again = syscall(SYS_brk, 0);
	FACT(again == start);
	unsigned long grown = syscall(SYS_brk, start + 100000);
	FACT(grown == start + 100000);
	char *mem = (char *)start;
	int nz = 0;
	for (int i = 0; i < 100000; i++)
		nz += mem[i] != 0;
	printf("nonzero in new brk memory: %d\n", nz);
	memset(mem, 0xab, 100000);
	printf("written: %x\n", (unsigned char)mem[99999]);
	unsigned long shrunk = syscall(SYS_brk, start + 4096);
	FACT(shrunk == start + 4096);
	printf("kept: %x\n", (unsigned char)mem[100]);
	/* Regrow: the previously released range comes back zeroed. */
	grown = syscall(SYS_brk, start + 100000);
	FACT(grown == start + 100000);
	printf("regrown page zeroed: %d\n", mem[50000] == 0);
	unsigned long low = syscall(SYS_brk, start - 1000000);
	FACT(low == start + 100000);
	unsigned long huge = syscall(SYS_brk, start + (1UL << 46));
	FACT(huge == start + 100000);
	FACT((unsigned long)syscall(SYS_brk, start) == start);
	void *s0 = sbrk(0);
	void *s1 = sbrk(8192);
	FACT(s0 == s1);
	FACT((char *)sbrk(0) == (char *)s0 + 8192);
	FACT(sbrk(-8192) == (char *)s0 + 8192);
	FACT(sbrk(0) == s0);
	char *big = malloc(64 << 20);
	FACT(big != NULL);
	memset(big, 1, 64 << 20);
	long sum = 0;
	for (long i = 0; i < (64 << 20); i += 4096)
		sum += big[i];
	printf("sum=%ld\n", sum);
	free(big);
	return 0;
}
