// Code that makes system calls behaves the same however the sandbox
// serves them (it may rewrite hot `mov $nr, %eax; syscall` sites): the
// same site called many times (both `mov $nr, %eax; syscall` and
// `syscall; cmp $-4095, %rax`, as in syscall(3)), generated code that is run, rewritten
// after mprotect and rewritten through /proc/self/mem, a jump straight
// to a `syscall` instruction, `mov $nr, %eax; lea ..., %rsi; syscall`
// sites (glibc's rt_sigprocmask calls) and a jump straight to their
// `lea`, a blocking call restarted after a signal
// handler (SA_RESTART), a fork child running the parent's code, a
// program with its own gs base, and a program mapping low fixed
// addresses.
#include "dt.h"
#include <asm/prctl.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

/* long call_with_eax(int nr, void *target): jumps to target with eax = nr;
 * target ends in `ret`, back to our caller. */
long call_with_eax(int nr, void *target);
__asm__(".text\n"
	".globl call_with_eax\n"
	"call_with_eax:\n"
	"	mov %edi, %eax\n"
	"	jmp *%rsi\n");

/* write(fd, 8 bytes, 8) through `mov $1, %eax; lea ..., %rsi; syscall`:
 * with a %rip-relative lea, and with %rbx + disp32 (rbx = msg - 0x100).
 * jump_to_lea(fd, target) enters at a `lea` with eax and rdx loaded. */
long write_lea_rip(int fd);
long write_lea_rbx(int fd, const char *msg_minus_0x100);
long jump_to_lea(int fd, void *target);
extern char write_lea_rip_lea[];
__asm__(".section .rodata\n"
	"lea_msg: .ascii \"lea-rip!\"\n"
	".text\n"
	".globl write_lea_rip\n"
	"write_lea_rip:\n"
	"	mov $8, %edx\n"
	"	mov $1, %eax\n"
	".globl write_lea_rip_lea\n"
	"write_lea_rip_lea:\n"
	"	lea lea_msg(%rip), %rsi\n"
	"	syscall\n"
	"	ret\n"
	".globl write_lea_rbx\n"
	"write_lea_rbx:\n"
	"	push %rbx\n"
	"	mov %rsi, %rbx\n"
	"	mov $8, %edx\n"
	"	mov $1, %eax\n"
	"	lea 0x100(%rbx), %rsi\n"
	"	syscall\n"
	"	pop %rbx\n"
	"	ret\n"
	".globl jump_to_lea\n"
	"jump_to_lea:\n"
	"	mov $8, %edx\n"
	"	mov $1, %eax\n"
	"	jmp *%rsi\n");

/* Whether 100 writes through `f` all put `want` into the pipe. */
static int lea_writes(int p[2], long (*f)(int, const char *), const char *arg, const char *want)
{
	int same = 1;
	for (int i = 0; i < 100; i++) {
		char got[8] = {0};
		same &= f(p[1], arg) == 8 && read(p[0], got, 8) == 8 && !memcmp(got, want, 8);
	}
	return same;
}

static long via_rip(int fd, const char *unused)
{
	(void)unused;
	return write_lea_rip(fd);
}

static long via_jump(int fd, const char *unused)
{
	(void)unused;
	return jump_to_lea(fd, write_lea_rip_lea);
}

static unsigned char *jit;

/* mov eax, nr; syscall; ret */
static void emit(int nr)
{
	jit[0] = 0xb8;
	memcpy(jit + 1, &nr, 4);
	jit[5] = 0x0f;
	jit[6] = 0x05;
	jit[7] = 0xc3;
}

static int is_code_for(int nr)
{
	return jit[0] == 0xb8 && !memcmp(jit + 1, &nr, 4) && jit[5] == 0x0f && jit[6] == 0x05;
}

static long run_jit(void)
{
	return ((long (*)(void))jit)();
}

/* Whether 100 runs of the generated code (often enough for the sandbox
 * to patch it) all return `want`. */
static int jit_returns(long want)
{
	int same = 1;
	for (int i = 0; i < 100; i++)
		same &= run_jit() == want;
	return same;
}

static volatile int alarms;
static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

int main(void)
{
	dt_init();
	pid_t ppid = getppid(), pid = getpid();
	int same = 1;
	for (int i = 0; i < 1000; i++)
		same &= getppid() == ppid;
	printf("getppid stable over 1000 calls: %d\n", same);

	jit = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	emit(SYS_getpid);
	CHK("mprotect RX", mprotect(jit, 4096, PROT_READ | PROT_EXEC));
	printf("generated getpid: %d\n", jit_returns(pid));
	CHK("mprotect RW", mprotect(jit, 4096, PROT_READ | PROT_WRITE));
	printf("code as written after mprotect RW: %d\n", is_code_for(SYS_getpid));
	emit(SYS_getppid);
	CHK("mprotect RX again", mprotect(jit, 4096, PROT_READ | PROT_EXEC));
	printf("rewritten to getppid: %d\n", jit_returns(ppid));

	/* Straight to the `syscall` (jit + 5), with another number in eax. */
	same = 1;
	for (int i = 0; i < 10; i++)
		same &= call_with_eax(SYS_gettid, jit + 5) == syscall(SYS_gettid);
	printf("jump to the syscall instruction: %d\n", same);

	/* A debugger-style write through /proc/self/mem. */
	int fd = open("/proc/self/mem", O_RDWR);
	int nr = SYS_getpid;
	printf("write /proc/self/mem: %d\n", pwrite(fd, &nr, 4, (off_t)(jit + 1)) == 4);
	close(fd);
	same = 1;
	for (int i = 0; i < 10; i++)
		same &= run_jit() == pid;
	printf("code from /proc/self/mem runs: %d\n", same);

	/* A blocking wait4 (same call site as a first, quick one) restarted
	 * after SA_RESTART handlers. */
	pid_t c = fork();
	if (c == 0)
		_exit(0);
	printf("first wait: %d\n", waitpid(c, NULL, 0) == c);
	int none = 1;
	for (int i = 0; i < 20; i++)
		none &= waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD;
	printf("then nothing to wait for: %d\n", none);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	c = fork();
	if (c == 0) {
		usleep(300 * 1000);
		_exit(7);
	}
	struct itimerval it = {{0, 40 * 1000}, {0, 40 * 1000}};
	setitimer(ITIMER_REAL, &it, NULL);
	int st = 0;
	pid_t w = waitpid(c, &st, 0);
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &off, NULL);
	printf("restarted wait: right child %d, status 7 %d, interrupted %d\n", w == c,
	       WIFEXITED(st) && WEXITSTATUS(st) == 7, alarms > 0);

	/* The same through syscall(3), whose `syscall` is followed by an
	 * error check instead of preceded by the number. */
	same = 1;
	for (int i = 0; i < 1000; i++)
		same &= syscall(SYS_getppid) == ppid;
	printf("syscall(SYS_getppid) stable: %d\n", same);
	c = fork();
	if (c == 0) {
		usleep(300 * 1000);
		_exit(8);
	}
	alarms = 0;
	setitimer(ITIMER_REAL, &it, NULL);
	w = syscall(SYS_wait4, c, &st, 0, NULL);
	setitimer(ITIMER_REAL, &off, NULL);
	printf("restarted raw wait4: right child %d, status 8 %d, interrupted %d\n", w == c,
	       WIFEXITED(st) && WEXITSTATUS(st) == 8, alarms > 0);
	long r = syscall(SYS_wait4, 999999, NULL, 0, NULL);
	printf("raw wait4 error: %ld errno=%s\n", r, dt_errname(errno));

	/* mov + lea + syscall sites, then a jump straight to the lea. */
	int lp[2];
	CHK("pipe", pipe(lp));
	static const char rbx_msg[] = "lea-rbx!";
	printf("lea %%rip site: %d\n", lea_writes(lp, via_rip, NULL, "lea-rip!"));
	printf("lea %%rbx site: %d\n", lea_writes(lp, write_lea_rbx, (const char *)((uintptr_t)rbx_msg - 0x100), "lea-rbx!"));
	printf("jump to the lea: %d\n", lea_writes(lp, via_jump, NULL, "lea-rip!"));
	c = fork();
	if (c == 0)
		_exit(lea_writes(lp, via_rip, NULL, "lea-rip!") ? 0 : 1);
	waitpid(c, &st, 0);
	printf("lea site in a fork child: %d\n", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(lp[0]);
	close(lp[1]);

	/* A fork child runs the parent's code. */
	c = fork();
	if (c == 0) {
		int ok = 1;
		for (int i = 0; i < 1000; i++)
			ok &= getppid() == pid && run_jit() == getpid();
		_exit(ok ? 0 : 1);
	}
	waitpid(c, &st, 0);
	printf("fork child: %d\n", WIFEXITED(st) && WEXITSTATUS(st) == 0);

	/* Its own gs base. */
	static unsigned long gsword = 0x5a5a;
	CHK("ARCH_SET_GS", syscall(SYS_arch_prctl, ARCH_SET_GS, &gsword));
	same = 1;
	for (int i = 0; i < 100; i++)
		same &= getppid() == ppid && run_jit() == pid;
	unsigned long got = 0, via_gs;
	syscall(SYS_arch_prctl, ARCH_GET_GS, &got);
	__asm__ volatile("mov %%gs:0, %0" : "=r"(via_gs));
	printf("with a gs base: calls %d, base %d, gs:0 %d\n", same, got == (unsigned long)&gsword,
	       via_gs == 0x5a5a);
	CHK("ARCH_SET_GS 0", syscall(SYS_arch_prctl, ARCH_SET_GS, 0));

	/* Low fixed addresses are the program's. */
	void *want = (void *)0x05060000;
	void *p = mmap(want, 1 << 20, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	printf("map at 0x05060000: %d\n", p == want);
	if (p == want)
		memset(p, 1, 1 << 20);
	same = 1;
	for (int i = 0; i < 100; i++)
		same &= getppid() == ppid && run_jit() == pid;
	printf("calls after: %d\n", same);
	return 0;
}
