// A signal handler starts with a clean FPU: MXCSR at its default 0x1f80
// and xmm0 zero, whatever the interrupted code had (Linux resets the
// state after saving it in the frame); sigreturn restores the interrupted
// values, in the parent and in a child forked inside the handler.
#include "dt.h"
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile uint32_t handler_mxcsr;
static volatile uint64_t handler_xmm0;
static volatile pid_t child;

static void on_usr1(int s)
{
	(void)s;
	uint32_t m;
	uint64_t x;
	__asm__ volatile("stmxcsr %0" : "=m"(m));
	__asm__ volatile("movq %%xmm0, %0" : "=r"(x));
	handler_mxcsr = m;
	handler_xmm0 = x;
	child = fork();
	/* Clobber both before returning: sigreturn must restore them. */
	uint32_t clobber = 0x1f80 | 0x6000;
	__asm__ volatile("ldmxcsr %0" : : "m"(clobber));
	uint64_t v = 0x1234;
	__asm__ volatile("movq %0, %%xmm0" : : "r"(v));
}

int main(void)
{
	dt_init();
	signal(SIGUSR1, on_usr1);
	pid_t me = getpid();
	uint32_t orig, want = 0x1f80 | 0x8000 | 0x0040; /* FTZ | DAZ */
	uint64_t xval = 0xdeadbeeffacefeedULL;
	__asm__ volatile("stmxcsr %0" : "=m"(orig));
	__asm__ volatile("ldmxcsr %0" : : "m"(want));
	__asm__ volatile("movq %0, %%xmm0" : : "r"(xval));
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"((long)SYS_tgkill), "D"((long)me), "S"((long)me), "d"((long)SIGUSR1)
			 : "rcx", "r11", "memory");
	uint32_t got_m;
	uint64_t got_x;
	__asm__ volatile("stmxcsr %0" : "=m"(got_m));
	__asm__ volatile("movq %%xmm0, %0" : "=r"(got_x));
	__asm__ volatile("ldmxcsr %0" : : "m"(orig));
	int restored = got_m == want && got_x == xval;
	if (child == 0)
		_exit(restored ? 0 : 1);
	printf("tgkill ret=%ld\n", ret);
	printf("handler mxcsr=%#x xmm0=%#llx\n", handler_mxcsr,
	       (unsigned long long)handler_xmm0);
	printf("parent restored: %d\n", restored);
	int st = 0;
	FACT(waitpid(child, &st, 0) == child);
	printf("child restored: %d\n", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return 0;
}
