// Statically linked hello world: startup without a dynamic loader, argv
// and environment passing, the auxiliary vector the loader must provide,
// and a plain exit status.
// difftest: static
// difftest: args alpha beta gamma
#include "dt.h"
#include <sys/auxv.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	dt_init();
	printf("hello from a static binary\n");
	printf("argc=%d\n", argc);
	for (int i = 1; i < argc; i++)
		printf("argv[%d]=%s\n", i, argv[i]);
	FACT(argv[argc] == NULL);
	CHK("write", write(1, "direct write\n", 13));
	/* The environment follows argv's NULL terminator on the initial stack. */
	FACT(environ == argv + argc + 1);
	const char *v = getenv("DIFFTEST");
	printf("DIFFTEST=%s\n", v ? v : "(unset)");
	printf("AT_PAGESZ=%lu\n", getauxval(AT_PAGESZ));
	printf("AT_SECURE=%lu\n", getauxval(AT_SECURE));
	FACT(getauxval(AT_RANDOM) != 0);
	FACT(getauxval(AT_ENTRY) != 0);
	FACT(getauxval(AT_PHDR) != 0 && getauxval(AT_PHNUM) > 0);
	printf("AT_UID=%lu AT_EUID=%lu\n", getauxval(AT_UID), getauxval(AT_EUID));
	const char *fn = (const char *)getauxval(AT_EXECFN);
	FACT(fn && strcmp(fn, argv[0]) == 0);
	return 0;
}
