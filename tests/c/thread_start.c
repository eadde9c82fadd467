// A new thread starts with its creator's state and is reachable from its
// first instruction: the FP control state (rounding mode, MXCSR) is
// inherited, thread-local storage is its own, and a signal sent right
// after pthread_create reaches a thread that spins without making any
// system call (the sandbox may start a thread before the task that
// serves it is ready).
#include "dt.h"
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <xmmintrin.h>

static __thread int tls_value = 7;
static atomic_int stop_spinning;
static atomic_int handled;

static void on_usr1(int sig)
{
	(void)sig;
	atomic_store(&stop_spinning, 1);
	atomic_fetch_add(&handled, 1);
}

static void *spin_until_signalled(void *arg)
{
	(void)arg;
	while (!atomic_load_explicit(&stop_spinning, memory_order_relaxed))
		;
	return 0;
}

static unsigned short x87_control(void)
{
	unsigned short cw;
	__asm__ volatile("fnstcw %0" : "=m"(cw));
	return cw;
}

static void set_x87_control(unsigned short cw)
{
	__asm__ volatile("fldcw %0" : : "m"(cw));
}

/* A bare thread: no system call between its creation and the loop. */
static int bare_thread(void *arg)
{
	(void)arg;
	while (!atomic_load_explicit(&stop_spinning, memory_order_relaxed))
		;
	syscall(SYS_exit, 0);
	return 0;
}

static char bare_stack[64 * 1024] __attribute__((aligned(16)));

static int signal_bare_thread(void)
{
	static _Atomic pid_t ctid;
	atomic_store(&stop_spinning, 0);
	int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
		    CLONE_SYSVSEM | CLONE_CHILD_CLEARTID | CLONE_CHILD_SETTID;
	atomic_store(&ctid, 1);
	int tid = clone(bare_thread, bare_stack + sizeof(bare_stack), flags, 0, 0, 0, &ctid);
	if (tid < 0 || syscall(SYS_tgkill, getpid(), tid, SIGUSR1) != 0)
		return -1;
	pid_t v;
	while ((v = atomic_load(&ctid)) != 0)
		syscall(SYS_futex, &ctid, FUTEX_WAIT, v, 0, 0, 0);
	return 0;
}

struct seen {
	unsigned short x87;
	unsigned mxcsr;
	int tls;
};

static void *report_state(void *arg)
{
	struct seen *s = arg;
	s->x87 = x87_control();
	s->mxcsr = _mm_getcsr() & 0xffc0;
	s->tls = tls_value;
	tls_value = 99;
	return 0;
}

int main(void)
{
	dt_init();
	struct sigaction sa = {.sa_handler = on_usr1};
	CHK("sigaction", sigaction(SIGUSR1, &sa, 0));

	int late = 0;
	for (int i = 0; i < 200; i++) {
		pthread_t t;
		atomic_store(&stop_spinning, 0);
		if (pthread_create(&t, 0, spin_until_signalled, 0) != 0 || pthread_kill(t, SIGUSR1) != 0 ||
		    pthread_join(t, 0) != 0)
			late++;
	}
	printf("signalled new threads: failures=%d handled=%d\n", late, atomic_load(&handled));
	late = 0;
	atomic_store(&handled, 0);
	for (int i = 0; i < 200; i++)
		if (signal_bare_thread() != 0)
			late++;
	printf("signalled bare threads: failures=%d handled=%d\n", late, atomic_load(&handled));

	/* Round up (x87 and SSE), flush to zero. */
	set_x87_control((x87_control() & ~0x0c00) | 0x0800);
	unsigned short parent_x87 = x87_control();
	_mm_setcsr((_mm_getcsr() & ~0x6000) | 0x4000 | 0x8000);
	unsigned parent_mxcsr = _mm_getcsr() & 0xffc0;
	tls_value = 42;
	struct seen s = {0};
	pthread_t t;
	CHKRC("pthread_create", pthread_create(&t, 0, report_state, &s));
	CHKRC("pthread_join", pthread_join(t, 0));
	FACT(s.x87 == parent_x87);
	FACT(s.mxcsr == parent_mxcsr);
	printf("new thread's tls: %d, creator's after: %d\n", s.tls, tls_value);
	return 0;
}
