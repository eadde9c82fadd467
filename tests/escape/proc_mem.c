// Writes through /proc/self/mem: over the stub's fixed addresses and the
// vDSO (code the sentry gives every process), then checks nothing of that
// reached another process; a write to our own variable works.
#include "escape.h"

static volatile long mine = 1;

int main(int argc, char **argv)
{
	esc_init(argc, argv);
	int fd = open("/proc/self/mem", O_RDWR);
	unsigned char junk[16];
	memset(junk, 0xcc, sizeof(junk));
	unsigned long targets[] = { 0x7fe000000000UL, 0x7fe000001000UL, 0x7ff000000000UL };
	for (unsigned i = 0; i < 3; i++) {
		char name[64];
		snprintf(name, sizeof(name), "write stub address %#lx", targets[i]);
		esc_call(name, pwrite(fd, junk, sizeof(junk), (off_t)targets[i]));
	}
	long v = 2;
	esc_control("write our own variable", pwrite(fd, &v, sizeof(v), (off_t)(unsigned long)&mine) == 8 && mine == 2);
	/* A fork child still runs after the attempts (the stub is intact). */
	pid_t p = fork();
	if (p == 0)
		_exit(7);
	int st;
	waitpid(p, &st, 0);
	esc_control("a new process still runs", WIFEXITED(st) && WEXITSTATUS(st) == 7);
	return 0;
}
