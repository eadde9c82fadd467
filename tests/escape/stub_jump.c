// Jumps into the platform's stub code (the trap stub's fast path and
// handler, the ptrace stub's page) at every `syscall` instruction it has,
// with registers set for openat of the marker's host path, each in a
// child of its own. Where the stub is found from inside depends on the
// platform: its fixed addresses, or any mapping /proc/self/maps shows
// that the program did not make.
#include "escape.h"
#include <sys/uio.h>

static int readable(unsigned long addr, unsigned char *buf, size_t n)
{
	struct iovec l = { buf, n }, r = { (void *)addr, n };
	return syscall(SYS_process_vm_readv, getpid(), &l, 1, &r, 1, 0) == (long)n;
}

static void jump(unsigned long site)
{
	pid_t p = fork();
	if (p == 0) {
		long ret;
		register long r10 __asm__("r10") = 0;
		__asm__ volatile("call *%%rbx"
				 : "=a"(ret)
				 : "a"((long)SYS_openat), "D"((long)AT_FDCWD), "S"(E.marker), "d"((long)O_RDONLY),
				   "r"(r10), "b"(site)
				 : "rcx", "r11", "memory");
		_exit(ret >= 0 ? 42 : 0);
	}
	int st;
	waitpid(p, &st, 0);
	char name[64];
	snprintf(name, sizeof(name), "jump to syscall at %#lx", site);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 42)
		printf("ATTEMPT %s: reached (opened the marker)\n", name);
	else
		printf("ATTEMPT %s: blocked (%s)\n", name, WIFSIGNALED(st) ? "killed" : "no host file");
}

int main(int argc, char **argv)
{
	esc_init(argc, argv);
	unsigned long bases[16] = { 0x7fe000000000UL, 0x7fe000001000UL, 0x7ff000000000UL };
	int nb = 3;
	FILE *m = fopen("/proc/self/maps", "r");
	char line[512];
	while (m && fgets(line, sizeof(line), m) && nb < 16) {
		unsigned long lo, hi;
		char perms[8];
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 && perms[2] == 'x' &&
		    (strstr(line, "trampolines") || strstr(line, "stub") || strstr(line, "vdso")))
			bases[nb++] = lo;
	}
	int sites = 0;
	for (int i = 0; i < nb; i++) {
		unsigned char page[4096];
		if (!readable(bases[i], page, sizeof(page)))
			continue;
		for (int j = 0; j + 1 < 4096 && sites < 24; j++)
			if (page[j] == 0x0f && page[j + 1] == 0x05) {
				jump(bases[i] + j);
				sites++;
			}
	}
	printf("ATTEMPT stub jumps made: %s\n", sites ? "blocked (all above)" : "blocked (no stub code visible)");
	esc_control("a child of ours runs and is reaped", 1);
	return 0;
}
