// ptrace between processes: PTRACE_TRACEME and the SIGTRAP after exec,
// signal-delivery stops (suppressing, replacing, GETSIGINFO), PEEK/POKE
// (including a write to read-only text), GETREGS/SETREGS and PEEKUSER,
// syscall stops (TRACESYSGOOD, changing a result, skipping a call,
// GET_SYSCALL_INFO), fork events with auto-attached children, the exec
// and exit events, ATTACH/SEIZE/INTERRUPT/DETACH, single-step and int3,
// PTRACE_KILL, process_vm_readv, /proc/pid/status TracerPid, a write
// watchpoint through the debug registers, and the
// error paths (ESRCH, EPERM, EIO, EINVAL, EFAULT).
#include "dt.h"
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

static long pt(long req, pid_t pid, void *addr, void *data)
{
	return syscall(SYS_ptrace, req, pid, addr, data);
}

static volatile long marker = 0x1111;
static const char rodata[16] = "read-only text";
static volatile sig_atomic_t handled;
static void on_usr1(int s)
{
	handled = s;
}

/* Waits for `pid` and prints its state in a pid-free form. */
static int wait_show(const char *what, pid_t pid)
{
	int st = 0;
	pid_t r = waitpid(pid, &st, __WALL);
	if (r != pid) {
		printf("%s: waitpid ret=%d errno=%s\n", what, r, dt_errname(errno));
		return -1;
	}
	if (WIFSTOPPED(st))
		printf("%s: stopped sig=%d event=%d\n", what, WSTOPSIG(st) & 0x7f,
		       (st >> 16) & 0xff);
	else if (WIFEXITED(st))
		printf("%s: exited %d\n", what, WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		printf("%s: killed by %d\n", what, WTERMSIG(st));
	return st;
}

static void traceme_basics(void)
{
	pid_t c = fork();
	if (c == 0) {
		signal(SIGUSR1, on_usr1);
		if (pt(PTRACE_TRACEME, 0, 0, 0) != 0)
			_exit(90);
		printf("child: second TRACEME errno=%s\n",
		       pt(PTRACE_TRACEME, 0, 0, 0) < 0 ? dt_errname(errno) : "0");
		raise(SIGSTOP);
		/* The tracer changed marker while we were stopped. */
		printf("child: marker=%#lx rodata=%s\n", marker, rodata);
		raise(SIGUSR1); /* suppressed by the tracer */
		printf("child: after suppressed USR1 handled=%d\n", (int)handled);
		raise(SIGUSR2); /* replaced by USR1 */
		printf("child: after replaced USR2 handled=%d\n", (int)handled);
		_exit(7);
	}
	wait_show("stop 1", c);
	siginfo_t si;
	CHK("GETSIGINFO", pt(PTRACE_GETSIGINFO, c, 0, &si));
	printf("siginfo: signo=%d code=%d pid_is_child=%d\n", si.si_signo, si.si_code,
	       si.si_pid == c);
	long word = 0;
	CHK("PEEKDATA", pt(PTRACE_PEEKDATA, c, (void *)&marker, &word));
	printf("peeked marker=%#lx\n", word);
	CHK("POKEDATA", pt(PTRACE_POKEDATA, c, (void *)&marker, (void *)0x2222));
	long ro;
	memcpy(&ro, "RW-POKED", 8);
	CHK("POKEDATA read-only", pt(PTRACE_POKEDATA, c, (void *)rodata, (void *)ro));
	CHK("PEEKDATA unmapped", pt(PTRACE_PEEKDATA, c, (void *)8, &word));
	CHK("PEEKDATA to bad pointer", pt(PTRACE_PEEKDATA, c, (void *)&marker, BADPTR));
	struct user_regs_struct regs;
	CHK("GETREGS", pt(PTRACE_GETREGS, c, 0, &regs));
	long rip = 0;
	CHK("PEEKUSER rip", pt(PTRACE_PEEKUSER, c, (void *)offsetof(struct user_regs_struct, rip), &rip));
	FACT(rip == (long)regs.rip);
	CHK("PEEKUSER unaligned", pt(PTRACE_PEEKUSER, c, (void *)3, &rip));
	CHK("PEEKUSER past end", pt(PTRACE_PEEKUSER, c, (void *)4096, &rip));
	CHK("SETREGS unchanged", pt(PTRACE_SETREGS, c, 0, &regs));
	CHK("GETREGS bad pointer", pt(PTRACE_GETREGS, c, 0, BADPTR));
	struct user_fpregs_struct fp;
	CHK("GETFPREGS", pt(PTRACE_GETFPREGS, c, 0, &fp));
	printf("fp: mxcsr_ok=%d\n", (fp.mxcsr & 0x1f80) == 0x1f80);
	static uint8_t xs[16384] __attribute__((aligned(64)));
	struct iovec iov = {xs, sizeof(xs)};
	CHK("GETREGSET xstate", pt(PTRACE_GETREGSET, c, (void *)0x202, &iov));
	uint64_t xcr0;
	memcpy(&xcr0, xs + 464, 8);
	printf("xstate: size>=832 %d, x87|sse|avx enabled %d, mxcsr same %d\n", iov.iov_len >= 832,
	       (xcr0 & 7) == 7, !memcmp(xs + 24, &fp.mxcsr, 4));
	iov.iov_len = 16;
	CHK("GETREGSET short", pt(PTRACE_GETREGSET, c, (void *)0x202, &iov));
	printf("short iov_len=%zu\n", iov.iov_len);
	CHK("GETREGSET unknown", pt(PTRACE_GETREGSET, c, (void *)0x999, &iov));
	CHK("SETOPTIONS bad", pt(PTRACE_SETOPTIONS, c, 0, (void *)0x80000000L));
	CHK("unknown request", pt(0x1234, c, 0, 0));
	CHK("CONT bad signal", pt(PTRACE_CONT, c, 0, (void *)100L));
	/* The child prints once resumed: results are printed after it stops. */
	long rc = pt(PTRACE_CONT, c, 0, 0);
	wait_show("stop 2 (USR1)", c);
	printf("CONT: ret=%ld\n", rc);
	rc = pt(PTRACE_CONT, c, 0, 0);
	wait_show("stop 3 (USR2)", c);
	printf("CONT suppress: ret=%ld\n", rc);
	rc = pt(PTRACE_CONT, c, 0, (void *)(long)SIGUSR1);
	wait_show("end", c);
	printf("CONT as USR1: ret=%ld\n", rc);
	CHK("GETREGS after exit", pt(PTRACE_GETREGS, c, 0, &regs));
}

static void syscall_stops(void)
{
	pid_t c = fork();
	if (c == 0) {
		pt(PTRACE_TRACEME, 0, 0, 0);
		raise(SIGSTOP);
		long a = syscall(SYS_getppid);
		long b = syscall(SYS_getuid);
		long d = syscall(SYS_getpid);
		printf("child: getppid=%ld getuid=%ld getpid_ok=%d\n", a, b, d == getpid());
		_exit(0);
	}
	wait_show("sys stop", c);
	CHK("SETOPTIONS SYSGOOD", pt(PTRACE_SETOPTIONS, c, 0, (void *)PTRACE_O_TRACESYSGOOD));
	int seen = 0;
	for (int i = 0; i < 40; i++) {
		pt(PTRACE_SYSCALL, c, 0, 0);
		int st;
		if (waitpid(c, &st, __WALL) != c || !WIFSTOPPED(st))
			break;
		if (WSTOPSIG(st) != (SIGTRAP | 0x80))
			continue;
		struct user_regs_struct r;
		pt(PTRACE_GETREGS, c, 0, &r);
		struct __ptrace_syscall_info info;
		long n = pt(PTRACE_GET_SYSCALL_INFO, c, (void *)sizeof(info), &info);
		int entry = info.op == PTRACE_SYSCALL_INFO_ENTRY;
		if (r.orig_rax == SYS_getppid && !entry) {
			printf("getppid exit: rax_is_parent=%d info_rval_ok=%d size=%ld\n",
			       (pid_t)r.rax == getpid(), info.exit.rval == (long)r.rax, n);
			r.rax = 4242;
			pt(PTRACE_SETREGS, c, 0, &r);
			seen++;
		} else if (r.orig_rax == SYS_getppid && entry) {
			printf("getppid entry: rax=%lld nr=%llu arch=%#x size=%ld\n",
			       (long long)r.rax, (unsigned long long)info.entry.nr, info.arch, n);
		} else if (r.orig_rax == SYS_getuid && entry) {
			/* Skip the call: the tracer's rax is the result. */
			r.orig_rax = -1;
			r.rax = 777;
			pt(PTRACE_SETREGS, c, 0, &r);
			seen++;
		} else if (r.orig_rax == SYS_exit_group) {
			break;
		}
	}
	printf("syscall stops seen=%d\n", seen);
	pt(PTRACE_CONT, c, 0, 0);
	wait_show("sys end", c);
}

static void fork_and_exec_events(void)
{
	pid_t c = fork();
	if (c == 0) {
		pt(PTRACE_TRACEME, 0, 0, 0);
		raise(SIGSTOP);
		pid_t g = fork();
		if (g == 0)
			_exit(3);
		int st;
		waitpid(g, &st, 0);
		printf("child: grandchild exit=%d\n", WEXITSTATUS(st));
		execl("/bin/true", "true", (char *)0);
		_exit(99);
	}
	wait_show("ev stop", c);
	long opts = PTRACE_O_TRACEFORK | PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT;
	CHK("SETOPTIONS events", pt(PTRACE_SETOPTIONS, c, 0, (void *)opts));
	pt(PTRACE_CONT, c, 0, 0);
	wait_show("fork event", c);
	unsigned long msg = 0;
	CHK("GETEVENTMSG", pt(PTRACE_GETEVENTMSG, c, 0, &msg));
	pid_t g = (pid_t)msg;
	FACT(g > 0 && g != c);
	wait_show("grandchild first stop", g);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", g);
	FILE *f = fopen(path, "r");
	char line[128];
	int tracer_ok = 0;
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "TracerPid:", 10))
			tracer_ok = atoi(line + 10) == getpid();
	if (f)
		fclose(f);
	printf("grandchild TracerPid is us: %d\n", tracer_ok);
	pt(PTRACE_CONT, g, 0, 0);
	wait_show("grandchild exit event", g);
	CHK("GETEVENTMSG exit", pt(PTRACE_GETEVENTMSG, g, 0, &msg));
	printf("exit event msg=%#lx\n", msg);
	pt(PTRACE_CONT, g, 0, 0);
	wait_show("grandchild end (reported to tracer)", g);
	/* The grandchild's SIGCHLD comes first (a signal-delivery stop). */
	pt(PTRACE_CONT, c, 0, 0);
	wait_show("SIGCHLD stop", c);
	pt(PTRACE_CONT, c, 0, (void *)(long)SIGCHLD);
	wait_show("exec event", c);
	CHK("GETEVENTMSG exec", pt(PTRACE_GETEVENTMSG, c, 0, &msg));
	FACT((pid_t)msg == c);
	pt(PTRACE_CONT, c, 0, 0);
	wait_show("exit event", c);
	pt(PTRACE_CONT, c, 0, 0);
	wait_show("ev end", c);
}

static void exec_sigtrap(void)
{
	pid_t c = fork();
	if (c == 0) {
		pt(PTRACE_TRACEME, 0, 0, 0);
		execl("/bin/true", "true", (char *)0);
		_exit(99);
	}
	wait_show("exec without TRACEEXEC", c);
	pt(PTRACE_CONT, c, 0, 0);
	wait_show("exec end", c);
}

static void attach_seize_interrupt(void)
{
	int p[2];
	pipe(p);
	pid_t c = fork();
	if (c == 0) {
		char b;
		close(p[1]);
		while (read(p[0], &b, 1) == 1)
			marker++;
		_exit(11);
	}
	close(p[0]);
	CHK("ATTACH self", pt(PTRACE_ATTACH, getpid(), 0, 0));
	CHK("ATTACH nonexistent", pt(PTRACE_ATTACH, 999999, 0, 0));
	CHK("GETREGS untraced", pt(PTRACE_GETREGS, c, 0, 0));
	CHK("ATTACH", pt(PTRACE_ATTACH, c, 0, 0));
	CHK("ATTACH again", pt(PTRACE_ATTACH, c, 0, 0));
	wait_show("attached", c);
	CHK("DETACH", pt(PTRACE_DETACH, c, 0, 0));
	CHK("DETACH again", pt(PTRACE_DETACH, c, 0, 0));
	CHK("SEIZE bad flags", pt(PTRACE_SEIZE, c, 0, (void *)0x80000000L));
	CHK("SEIZE", pt(PTRACE_SEIZE, c, 0, (void *)PTRACE_O_TRACESYSGOOD));
	CHK("GETREGS while running", pt(PTRACE_GETREGS, c, 0, 0));
	CHK("INTERRUPT", pt(PTRACE_INTERRUPT, c, 0, 0));
	int st = wait_show("interrupted", c);
	printf("interrupt event is STOP: %d\n", st >> 16 == PTRACE_EVENT_STOP);
	struct iovec local = {0}, remote = {0};
	long val = 0;
	local.iov_base = &val;
	local.iov_len = sizeof(val);
	remote.iov_base = (void *)&marker;
	remote.iov_len = sizeof(val);
	CHK("process_vm_readv", process_vm_readv(c, &local, 1, &remote, 1, 0));
	printf("remote marker=%#lx\n", val);
	CHK("process_vm_readv bad flags", process_vm_readv(c, &local, 1, &remote, 1, 1));
	remote.iov_base = (void *)8;
	CHK("process_vm_readv unmapped", process_vm_readv(c, &local, 1, &remote, 1, 0));
	CHK("KILL", pt(PTRACE_KILL, c, 0, 0));
	wait_show("killed", c);
	close(p[1]);
}

/* A few instructions to single-step, a syscall among them:
 * nop (1), mov $39,%eax (5), syscall (2), nop (1), int3, ret. */
extern void step_target(void);
__asm__(".text\n.globl step_target\nstep_target:\n nop\n mov $39, %eax\n syscall\n nop\n int3\n ret\n");

static void single_step(void)
{
	pid_t c = fork();
	if (c == 0) {
		pt(PTRACE_TRACEME, 0, 0, 0);
		raise(SIGSTOP);
		step_target();
		puts("child: returned from step_target");
		_exit(0);
	}
	wait_show("step stop", c);
	struct user_regs_struct r, saved;
	pt(PTRACE_GETREGS, c, 0, &r);
	saved = r;
	r.rip = (unsigned long long)step_target;
	pt(PTRACE_SETREGS, c, 0, &r);
	for (int i = 0; i < 4; i++) {
		CHK("SINGLESTEP", pt(PTRACE_SINGLESTEP, c, 0, 0));
		wait_show("stepped", c);
		pt(PTRACE_GETREGS, c, 0, &r);
		printf("rip - target = %lld tf=%d\n",
		       (long long)(r.rip - (unsigned long long)step_target),
		       (int)((r.eflags >> 8) & 1));
	}
	pt(PTRACE_CONT, c, 0, 0);
	wait_show("breakpoint", c);
	siginfo_t si;
	pt(PTRACE_GETSIGINFO, c, 0, &si);
	pt(PTRACE_GETREGS, c, 0, &r);
	printf("int3: code=%#x rip - target = %lld\n", si.si_code,
	       (long long)(r.rip - (unsigned long long)step_target));
	/* Resume where the child was stopped; it then calls step_target
	 * itself, hitting the int3 once more. */
	pt(PTRACE_SETREGS, c, 0, &saved);
	pt(PTRACE_CONT, c, 0, 0);
	wait_show("breakpoint again", c);
	pt(PTRACE_CONT, c, 0, 0);
	wait_show("step end", c);
}

/* Offsets of debug registers 0, 6 and 7 in struct user (PEEK/POKEUSER). */
#define DR_OFF(n) ((void *)offsetof(struct user, u_debugreg[n]))
#define dr0 DR_OFF(0)
#define dr6 DR_OFF(6)
#define dr7 DR_OFF(7)

/* A write watchpoint through the debug registers: DR0 = address, DR7 =
 * enable L0, write-only, 8 bytes. The tracee's write stops it with
 * SIGTRAP/TRAP_HWBKPT and DR6 bit 0; a misaligned one is refused. */
static volatile long watched_word;

static void watchpoint(void)
{
	pid_t c = fork();
	if (c == 0) {
		pt(PTRACE_TRACEME, 0, 0, 0);
		raise(SIGSTOP);
		watched_word = 5;
		watched_word = 6;
		printf("child: watched_word=%ld\n", watched_word);
		_exit(0);
	}
	wait_show("watch stop", c);
	long enable = 1 | (1L << 16) | (2L << 18);
	CHK("POKEUSER DR0 misaligned", pt(PTRACE_POKEUSER, c, dr0, (void *)((long)&watched_word + 4)));
	CHK("POKEUSER DR7 misaligned", pt(PTRACE_POKEUSER, c, dr7, (void *)enable));
	CHK("POKEUSER DR0", pt(PTRACE_POKEUSER, c, dr0, (void *)&watched_word));
	CHK("POKEUSER DR7", pt(PTRACE_POKEUSER, c, dr7, (void *)enable));
	long v = 0;
	CHK("PEEKUSER DR7", pt(PTRACE_PEEKUSER, c, dr7, &v));
	printf("DR7 reads back: %d\n", v == enable);
	pt(PTRACE_CONT, c, 0, 0);
	wait_show("watch hit", c);
	siginfo_t si;
	pt(PTRACE_GETSIGINFO, c, 0, &si);
	pt(PTRACE_PEEKUSER, c, dr6, &v);
	long word = 0;
	pt(PTRACE_PEEKDATA, c, (void *)&watched_word, &word);
	printf("hit: code=%d dr6_b0=%ld value=%ld\n", si.si_code, v & 1, word);
	pt(PTRACE_POKEUSER, c, dr6, 0);
	pt(PTRACE_CONT, c, 0, 0);
	wait_show("watch hit 2", c);
	pt(PTRACE_PEEKDATA, c, (void *)&watched_word, &word);
	printf("value=%ld\n", word);
	CHK("POKEUSER DR7 off", pt(PTRACE_POKEUSER, c, dr7, 0));
	pt(PTRACE_CONT, c, 0, 0);
	wait_show("watch end", c);
}

/* An execution breakpoint in DR0 (R/W 00, length 1): the tracee stops
 * before the instruction runs (rip at the address, TRAP_HWBKPT, DR6 bit
 * 0), runs it when continued, and stops again on the next call. */
__attribute__((noinline)) static int bp_target(int x)
{
	__asm__ volatile("");
	return x + 1;
}

static void exec_breakpoint(void)
{
	pid_t c = fork();
	if (c == 0) {
		pt(PTRACE_TRACEME, 0, 0, 0);
		raise(SIGSTOP);
		int r = bp_target(1) + bp_target(2);
		printf("child: bp_target sum=%d\n", r);
		_exit(0);
	}
	wait_show("hbreak stop", c);
	CHK("POKEUSER DR0 code", pt(PTRACE_POKEUSER, c, dr0, (void *)bp_target));
	CHK("POKEUSER DR7 exec, length 2", pt(PTRACE_POKEUSER, c, dr7, (void *)(1L | (1L << 18))));
	CHK("POKEUSER DR7 exec", pt(PTRACE_POKEUSER, c, dr7, (void *)1L));
	for (int i = 0; i < 2; i++) {
		pt(PTRACE_CONT, c, 0, 0);
		wait_show("hbreak hit", c);
		siginfo_t si;
		pt(PTRACE_GETSIGINFO, c, 0, &si);
		struct user_regs_struct r;
		pt(PTRACE_GETREGS, c, 0, &r);
		long v = 0;
		pt(PTRACE_PEEKUSER, c, dr6, &v);
		printf("hit: code=%d at target=%d dr6_b0=%ld\n", si.si_code,
		       r.rip == (unsigned long long)bp_target, v & 1);
		pt(PTRACE_POKEUSER, c, dr6, 0);
	}
	pt(PTRACE_POKEUSER, c, dr7, 0);
	pt(PTRACE_CONT, c, 0, 0);
	wait_show("hbreak end", c);
}

/* SECCOMP_RET_TRACE: with PTRACE_O_TRACESECCOMP the tracer gets a
 * seccomp event stop (message = the filter's data) and may skip the call;
 * without a tracer the call fails with ENOSYS. */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>

static void seccomp_trace(void)
{
	pid_t c = fork();
	if (c == 0) {
		struct sock_filter f[] = {
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE | 0x42),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		};
		struct sock_fprog prog = {4, f};
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
			_exit(90);
		pt(PTRACE_TRACEME, 0, 0, 0);
		raise(SIGSTOP);
		long r = syscall(SYS_getppid);
		printf("child: getppid under RET_TRACE = %ld\n", r);
		_exit(0);
	}
	wait_show("seccomp stop", c);
	CHK("SETOPTIONS TRACESECCOMP", pt(PTRACE_SETOPTIONS, c, 0, (void *)PTRACE_O_TRACESECCOMP));
	pt(PTRACE_CONT, c, 0, 0);
	wait_show("seccomp event", c);
	unsigned long msg = 0;
	pt(PTRACE_GETEVENTMSG, c, 0, &msg);
	struct __ptrace_syscall_info info;
	long n = pt(PTRACE_GET_SYSCALL_INFO, c, (void *)sizeof(info), &info);
	printf("event msg=%#lx info op=%d nr=%llu ret_data=%#x size=%ld\n", msg, info.op,
	       (unsigned long long)info.seccomp.nr, info.seccomp.ret_data, n);
	struct user_regs_struct r;
	pt(PTRACE_GETREGS, c, 0, &r);
	r.orig_rax = -1;
	r.rax = 555;
	pt(PTRACE_SETREGS, c, 0, &r);
	pt(PTRACE_CONT, c, 0, 0);
	wait_show("seccomp end", c);

	c = fork();
	if (c == 0) {
		struct sock_filter f[] = {
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		};
		struct sock_fprog prog = {4, f};
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
		long r = syscall(SYS_getppid);
		int e = errno;
		_exit(r == -1 && e == ENOSYS ? 0 : 1);
	}
	int st = wait_show("untraced", c);
	printf("untraced RET_TRACE gives ENOSYS: %d\n", WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void tracer_exit_detaches(void)
{
	/* A tracer that exits while its tracee is stopped: the tracee runs on. */
	int p[2];
	pipe(p);
	pid_t mid = fork();
	if (mid == 0) {
		pid_t c = fork();
		if (c == 0) {
			close(p[0]);
			pt(PTRACE_TRACEME, 0, 0, 0);
			raise(SIGSTOP);
			write(p[1], "x", 1);
			_exit(0);
		}
		int st;
		waitpid(c, &st, 0);
		_exit(WIFSTOPPED(st) ? 0 : 1);
	}
	close(p[1]);
	int st;
	waitpid(mid, &st, 0);
	char b = 0;
	ssize_t n = read(p[0], &b, 1);
	printf("tracer exited %d; orphaned tracee ran on: %d\n", WEXITSTATUS(st), n == 1 && b == 'x');
	close(p[0]);
}

int main(void)
{
	dt_init();
	CHK("TRACEME-free GETREGS", pt(PTRACE_GETREGS, getpid(), 0, 0));
	traceme_basics();
	syscall_stops();
	fork_and_exec_events();
	exec_sigtrap();
	attach_seize_interrupt();
	single_step();
	watchpoint();
	exec_breakpoint();
	seccomp_trace();
	tracer_exit_detaches();
	return 0;
}
