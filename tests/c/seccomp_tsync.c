// seccomp(2) beyond the prctl form: SECCOMP_FILTER_FLAG_TSYNC puts the
// caller's filters on every thread (and its no_new_privs), fails with the
// tid of a thread whose filters are not an ancestor of the caller's (or
// ESRCH with TSYNC_ESRCH); flag, operation and pointer errors; EACCES
// without no_new_privs or CAP_SYS_ADMIN; GET_NOTIF_SIZES.
#include "dt.h"
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SECCOMP_FILTER_FLAG_TSYNC_ESRCH
#define SECCOMP_FILTER_FLAG_TSYNC_ESRCH (1UL << 4)
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

#define LD_NR BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
#define ON(nr, action) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1), BPF_STMT(BPF_RET | BPF_K, action)
#define ALLOW BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

static struct sock_filter f_ppid[] = {LD_NR, ON(SYS_getppid, SECCOMP_RET_ERRNO | 11), ALLOW};
static struct sock_filter f_pgrp[] = {LD_NR, ON(SYS_getpgrp, SECCOMP_RET_ERRNO | 12), ALLOW};
static struct sock_filter f_sid[] = {LD_NR, ON(SYS_getsid, SECCOMP_RET_ERRNO | 13), ALLOW};
#define PROG(f) {sizeof(f) / sizeof(f[0]), f}

static long sc(unsigned op, unsigned long flags, void *p)
{
	return syscall(SYS_seccomp, op, flags, p);
}

static pthread_barrier_t bar;
static volatile pid_t worker_tid;

static void *worker(void *arg)
{
	(void)arg;
	worker_tid = syscall(SYS_gettid);
	printf("worker nnp before: %d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	pthread_barrier_wait(&bar); // 0
	pthread_barrier_wait(&bar); // 1: main synchronises filters
	pthread_barrier_wait(&bar); // 2
	printf("worker nnp after tsync: %d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	CHK("worker getppid (synced filter)", syscall(SYS_getppid));
	struct sock_fprog p = PROG(f_pgrp);
	CHK("worker own filter", sc(SECCOMP_SET_MODE_FILTER, 0, &p));
	CHK("worker getpgrp (own filter)", syscall(SYS_getpgrp));
	pthread_barrier_wait(&bar); // 3: main tries TSYNC and fails
	pthread_barrier_wait(&bar); // 4
	return 0;
}

static void *child_thread(void *arg)
{
	(void)arg;
	CHK("new thread getppid", syscall(SYS_getppid));
	CHK("new thread getsid", syscall(SYS_getsid, 0));
	return 0;
}

int main(void)
{
	dt_init();
	struct sock_fprog p = PROG(f_ppid);

	// Errors before anything is installed.
	CHK("bad op", sc(99, 0, &p));
	CHK("strict with flags", sc(SECCOMP_SET_MODE_STRICT, 1, 0));
	CHK("strict with args", sc(SECCOMP_SET_MODE_STRICT, 0, &p));
	CHK("unknown flag", sc(SECCOMP_SET_MODE_FILTER, 1UL << 10, &p));
	CHK("tsync|listener", sc(SECCOMP_SET_MODE_FILTER,
				 SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_NEW_LISTENER, &p));
	CHK("killable without listener",
	    sc(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, &p));
	unsigned act = SECCOMP_RET_KILL_PROCESS;
	CHK("action avail flags", sc(SECCOMP_GET_ACTION_AVAIL, 1, &act));
	CHK("action avail bad ptr", sc(SECCOMP_GET_ACTION_AVAIL, 0, BADPTR));
	act = SECCOMP_RET_TRAP;
	CHK("action avail TRAP", sc(SECCOMP_GET_ACTION_AVAIL, 0, &act));
	struct seccomp_notif_sizes sz = {0};
	CHK("notif sizes flags", sc(SECCOMP_GET_NOTIF_SIZES, 1, &sz));
	CHK("notif sizes bad ptr", sc(SECCOMP_GET_NOTIF_SIZES, 0, BADPTR));
	CHK("notif sizes", sc(SECCOMP_GET_NOTIF_SIZES, 0, &sz));
	printf("sizes: notif=%u resp=%u data=%u\n", sz.seccomp_notif, sz.seccomp_notif_resp, sz.seccomp_data);

	// Without no_new_privs and CAP_SYS_ADMIN: EACCES (but a bad pointer
	// or length is reported first).
	pid_t c = fork();
	if (c == 0) {
		if (geteuid() == 0 && setresuid(65534, 65534, 65534) != 0)
			_exit(9);
		CHK("unprivileged bad ptr", sc(SECCOMP_SET_MODE_FILTER, 0, BADPTR));
		struct sock_fprog z = {0, f_ppid};
		CHK("unprivileged len 0", sc(SECCOMP_SET_MODE_FILTER, 0, &z));
		CHK("unprivileged", sc(SECCOMP_SET_MODE_FILTER, 0, &p));
		CHK("unprivileged prctl", prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &p));
		_exit(0);
	}
	int st;
	waitpid(c, &st, 0);
	printf("unprivileged child exit=%d\n", WEXITSTATUS(st));

	// A thread that exists before no_new_privs is set.
	pthread_barrier_init(&bar, 0, 2);
	pthread_t th;
	pthread_create(&th, 0, worker, 0);
	pthread_barrier_wait(&bar); // 0
	CHK("nnp", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
	struct sock_fprog bad = {1, BADPTR};
	CHK("insns bad ptr", sc(SECCOMP_SET_MODE_FILTER, 0, &bad));
	pthread_barrier_wait(&bar); // 1
	CHK("tsync install", sc(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &p));
	CHK("main getppid", syscall(SYS_getppid));
	pthread_barrier_wait(&bar); // 2
	pthread_barrier_wait(&bar); // 3: the worker now has a filter of its own
	struct sock_fprog ps = PROG(f_sid);
	long r = sc(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &ps);
	printf("tsync vs diverged thread: returns worker tid=%d\n", r == worker_tid);
	CHK("tsync esrch", sc(SECCOMP_SET_MODE_FILTER,
			      SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_TSYNC_ESRCH, &ps));
	CHK("main getsid (not installed)", syscall(SYS_getsid, 0) < 0 ? -1 : 0);
	CHK("main getpgrp (worker's filter only)", syscall(SYS_getpgrp) < 0 ? -1 : 0);
	pthread_barrier_wait(&bar); // 4
	pthread_join(th, 0);

	// Alone again: TSYNC succeeds, flags LOG and SPEC_ALLOW are accepted.
	CHK("tsync alone", sc(SECCOMP_SET_MODE_FILTER,
			      SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW,
			      &ps));
	CHK("main getsid", syscall(SYS_getsid, 0));
	pthread_create(&th, 0, child_thread, 0);
	pthread_join(th, 0);
	CHK("PR_GET_SECCOMP", prctl(PR_GET_SECCOMP));
	return 0;
}
