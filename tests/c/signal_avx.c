// A signal interrupting code whose AVX registers are live: the handler
// clobbers ymm0 and the interrupted code finds it intact after
// rt_sigreturn; the frame's FPU state is in XSAVE layout (FP_XSTATE_MAGIC1
// in the software-reserved bytes, MAGIC2 after the area, the AVX bit in
// xstate_bv) and holds the interrupted code's ymm0, both halves; a handler
// that changes ymm0's upper half in the frame changes what the code sees.
#include "dt.h"
#include <signal.h>
#include <stdint.h>
#include <sys/time.h>
#include <ucontext.h>
#include <unistd.h>

#define MAGIC1 0x46505853u
#define MAGIC2 0x46505845u

static volatile int got;
static volatile int patch;
static int frame_magic1, frame_magic2, frame_avx, frame_ymm_ok;

static const uint32_t pattern[8] = {1, 2, 3, 4, 0x11111111, 0x22222222, 0x33333333, 0x44444444};

static void on_alarm(int s, siginfo_t *si, void *uv)
{
	(void)s;
	(void)si;
	ucontext_t *uc = uv;
	uint8_t *fp = (uint8_t *)uc->uc_mcontext.fpregs;
	uint32_t m1, xsize, m2 = 0;
	uint64_t bv = 0;
	memcpy(&m1, fp + 464, 4);
	memcpy(&xsize, fp + 480, 4);
	frame_magic1 = m1 == MAGIC1;
	if (frame_magic1) {
		memcpy(&m2, fp + xsize, 4);
		memcpy(&bv, fp + 512, 8);
	}
	frame_magic2 = m2 == MAGIC2;
	frame_avx = (bv & 4) != 0;
	/* ymm0 = xmm0 (legacy area, offset 160) + upper half (offset 576). */
	frame_ymm_ok = !memcmp(fp + 160, pattern, 16) && !memcmp(fp + 576, pattern + 4, 16);
	if (patch && frame_magic1) {
		uint32_t up[4] = {9, 9, 9, 9};
		memcpy(fp + 576, up, 16);
	}
	/* Clobber every ymm register, as AVX code in a handler would. */
	__asm__ volatile("vpcmpeqd %%ymm0, %%ymm0, %%ymm0\n\tvpcmpeqd %%ymm1, %%ymm1, %%ymm1" ::: "xmm0", "xmm1");
	got = 1;
}

static void run(uint32_t out[8])
{
	got = 0;
	struct itimerval it = {{0, 0}, {0, 2000}};
	setitimer(ITIMER_REAL, &it, 0);
	__asm__ volatile("vmovdqu (%1), %%ymm0\n"
			 "1:\n\t"
			 "cmpl $0, (%2)\n\t"
			 "je 1b\n\t"
			 "vmovdqu %%ymm0, (%0)\n\t"
			 "vzeroupper\n"
			 :
			 : "r"(out), "r"(pattern), "r"(&got)
			 : "memory", "xmm0");
}

int main(void)
{
	dt_init();
	__builtin_cpu_init();
	if (!__builtin_cpu_supports("avx")) {
		puts("no AVX on this CPU");
		return 0;
	}
	struct sigaction sa = {0};
	sa.sa_sigaction = on_alarm;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGALRM, &sa, 0);
	uint32_t out[8] = {0};
	run(out);
	printf("ymm0 survives the handler: %d\n", !memcmp(out, pattern, sizeof(out)));
	printf("frame: magic1=%d magic2=%d avx_bit=%d ymm0_saved=%d\n", frame_magic1, frame_magic2,
	       frame_avx, frame_ymm_ok);
	patch = 1;
	run(out);
	printf("patched upper half: %u %u %u %u, lower kept: %d\n", out[4], out[5], out[6], out[7],
	       !memcmp(out, pattern, 16));
	return 0;
}
