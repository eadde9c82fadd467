// arch_prctl: ARCH_GET_FS is the (non-zero) TLS base that %fs:0 points to,
// ARCH_SET_FS to the same value works, ARCH_GET_GS, and EINVAL/EFAULT.
#include "dt.h"
#include <asm/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static __thread int tls_var = 1234;

int main(void)
{
	dt_init();
	unsigned long fs = 0, gs = 1;
	CHK("ARCH_GET_FS", syscall(SYS_arch_prctl, ARCH_GET_FS, &fs));
	FACT(fs != 0);
	unsigned long self;
	/* On x86-64 the TCB's first word points to itself. */
	__asm__ volatile("mov %%fs:0, %0" : "=r"(self));
	FACT(self == fs);
	FACT((unsigned long)&tls_var < fs && fs - (unsigned long)&tls_var < 4096);
	CHK("ARCH_SET_FS same", syscall(SYS_arch_prctl, ARCH_SET_FS, fs));
	printf("tls_var=%d\n", tls_var);
	CHK("ARCH_GET_GS", syscall(SYS_arch_prctl, ARCH_GET_GS, &gs));
	printf("gs=%lu\n", gs);
	CHK("ARCH_GET_FS BADPTR", syscall(SYS_arch_prctl, ARCH_GET_FS, BADPTR));
	CHK("bad code", syscall(SYS_arch_prctl, 0x9999, 0));
	CHK("ARCH_SET_FS non-canonical", syscall(SYS_arch_prctl, ARCH_SET_FS, 0x8000000000000000UL));
	CHK("ARCH_SET_FS last page", syscall(SYS_arch_prctl, ARCH_SET_FS, 0x7ffffffff000UL));
	unsigned long fs2 = 0;
	CHK("ARCH_GET_FS again", syscall(SYS_arch_prctl, ARCH_GET_FS, &fs2));
	FACT(fs2 == fs);
	return 0;
}
