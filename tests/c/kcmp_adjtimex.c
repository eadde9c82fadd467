// kcmp: which kernel objects two tasks share (files, descriptor tables,
// fs contexts, address spaces, signal handlers) after fork, threads and
// dup, KCMP_EPOLL_TFD, and the errors (EBADF, ESRCH, EINVAL, ENOENT,
// EPERM). adjtimex/clock_adjtime read the clock state (mode 0 and
// ADJ_OFFSET_SS_READ); setting modes are EPERM without CAP_SYS_TIME; bad
// modes, clocks and pointers.
#include "dt.h"
#include <signal.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { KCMP_FILE, KCMP_VM, KCMP_FILES, KCMP_FS, KCMP_SIGHAND, KCMP_IO, KCMP_SYSVSEM, KCMP_EPOLL_TFD };

static long kcmp(pid_t a, pid_t b, int type, unsigned long i1, unsigned long i2)
{
	return syscall(SYS_kcmp, a, b, type, i1, i2);
}

/* Equal (0) or not (1 or 2: the order is arbitrary). */
static const char *rel(long r)
{
	return r == 0 ? "same" : (r == 1 || r == 2) ? "different" : "error";
}

static pid_t self, thread_tid;
static int fds[2];

static void *thread_fn(void *arg)
{
	(void)arg;
	thread_tid = gettid();
	printf("thread VM %s FILES %s FS %s SIGHAND %s\n", rel(kcmp(self, thread_tid, KCMP_VM, 0, 0)),
	       rel(kcmp(self, thread_tid, KCMP_FILES, 0, 0)), rel(kcmp(self, thread_tid, KCMP_FS, 0, 0)),
	       rel(kcmp(self, thread_tid, KCMP_SIGHAND, 0, 0)));
	printf("thread FILE same fd %s\n", rel(kcmp(self, thread_tid, KCMP_FILE, fds[0], fds[0])));
	return NULL;
}

int main(void)
{
	dt_init();
	/* A process that never made a thread nor used SEM_UNDO has no undo
	 * list, nor has its fork child: equal (stress-ng's kcmp check). */
	pid_t fresh = fork();
	if (fresh == 0) {
		pid_t kid = fork();
		if (kid == 0) {
			pause();
			_exit(0);
		}
		printf("fresh fork SYSVSEM %s\n", rel(kcmp(getpid(), kid, KCMP_SYSVSEM, 0, 0)));
		kill(kid, SIGKILL);
		waitpid(kid, NULL, 0);
		_exit(0);
	}
	waitpid(fresh, NULL, 0);
	self = getpid();
	if (pipe(fds) != 0)
		return 1;
	int d = dup(fds[0]);
	printf("FILE dup %s, other end %s\n", rel(kcmp(self, self, KCMP_FILE, fds[0], d)),
	       rel(kcmp(self, self, KCMP_FILE, fds[0], fds[1])));
	printf("self VM %s\n", rel(kcmp(self, self, KCMP_VM, 0, 0)));
	pthread_t th;
	pthread_create(&th, NULL, thread_fn, NULL);
	pthread_join(th, NULL);

	int up[2], down[2];
	if (pipe(up) != 0 || pipe(down) != 0)
		return 1;
	pid_t child = fork();
	if (child == 0) {
		char c;
		write(up[1], "x", 1);
		read(down[0], &c, 1);
		_exit(0);
	}
	char c;
	read(up[0], &c, 1);
	printf("fork VM %s FILES %s FS %s SIGHAND %s FILE inherited %s\n",
	       rel(kcmp(self, child, KCMP_VM, 0, 0)), rel(kcmp(self, child, KCMP_FILES, 0, 0)),
	       rel(kcmp(self, child, KCMP_FS, 0, 0)), rel(kcmp(self, child, KCMP_SIGHAND, 0, 0)),
	       rel(kcmp(self, child, KCMP_FILE, fds[0], fds[0])));
	/* Neither has an undo list yet: equal. After a SEM_UNDO operation
	 * the parent has one of its own. */
	printf("fork SYSVSEM before SEM_UNDO %s\n", rel(kcmp(self, child, KCMP_SYSVSEM, 0, 0)));
	int sem = semget(IPC_PRIVATE, 1, 0600);
	struct sembuf op = {0, 1, SEM_UNDO};
	semop(sem, &op, 1);
	printf("fork SYSVSEM after SEM_UNDO %s\n", rel(kcmp(self, child, KCMP_SYSVSEM, 0, 0)));
	printf("self SYSVSEM %s\n", rel(kcmp(self, self, KCMP_SYSVSEM, 0, 0)));
	semctl(sem, 0, IPC_RMID);
	long a = kcmp(self, child, KCMP_VM, 0, 0), b = kcmp(child, self, KCMP_VM, 0, 0);
	FACT(a + b == 3);

	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN };
	epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &ev);
	struct { unsigned efd, tfd, toff; } slot = { ep, fds[0], 0 };
	printf("EPOLL_TFD registered %s\n", rel(kcmp(self, self, KCMP_EPOLL_TFD, fds[0], (unsigned long)&slot)));
	printf("EPOLL_TFD other file %s\n", rel(kcmp(self, self, KCMP_EPOLL_TFD, fds[1], (unsigned long)&slot)));
	slot.toff = 1;
	CHK("EPOLL_TFD missing toff", kcmp(self, self, KCMP_EPOLL_TFD, fds[0], (unsigned long)&slot));
	slot.toff = 0;
	slot.tfd = fds[1];
	CHK("EPOLL_TFD unregistered fd", kcmp(self, self, KCMP_EPOLL_TFD, fds[0], (unsigned long)&slot));
	slot.efd = fds[0];
	CHK("EPOLL_TFD not an epoll", kcmp(self, self, KCMP_EPOLL_TFD, fds[0], (unsigned long)&slot));
	slot.efd = 999;
	CHK("EPOLL_TFD bad efd", kcmp(self, self, KCMP_EPOLL_TFD, fds[0], (unsigned long)&slot));
	CHK("EPOLL_TFD EFAULT", kcmp(self, self, KCMP_EPOLL_TFD, fds[0], (unsigned long)BADPTR));

	CHK("FILE bad fd", kcmp(self, self, KCMP_FILE, 999, fds[0]));
	CHK("ESRCH", kcmp(self, 999999, KCMP_VM, 0, 0));
	CHK("pid 0", kcmp(0, self, KCMP_VM, 0, 0));
	CHK("bad type", kcmp(self, self, 8, 0, 0));
	pid_t p2 = fork();
	if (p2 == 0) {
		if (setresuid(1000, 1000, 1000) != 0)
			_exit(1);
		CHK("unprivileged kcmp of root's", kcmp(self, getpid(), KCMP_VM, 0, 0));
		_exit(0);
	}
	waitpid(p2, NULL, 0);
	write(down[1], "x", 1);
	waitpid(child, NULL, 0);

	struct timex tx;
	memset(&tx, 0, sizeof(tx));
	long r = adjtimex(&tx);
	FACT(r >= TIME_OK && r <= TIME_ERROR);
	FACT(tx.tick > 0 && tx.maxerror >= 0 && tx.esterror >= 0);
	memset(&tx, 0, sizeof(tx));
	FACT(syscall(SYS_clock_adjtime, CLOCK_REALTIME, &tx) == r);
	tx.modes = ADJ_OFFSET_SS_READ;
	FACT(adjtimex(&tx) == r);
	tx.modes = 0x8000; /* ADJ_ADJTIME */
	CHK("adjtimex ADJ_ADJTIME alone", adjtimex(&tx));
	CHK("adjtimex EFAULT", syscall(SYS_adjtimex, BADPTR));
	CHK("clock_adjtime MONOTONIC", syscall(SYS_clock_adjtime, CLOCK_MONOTONIC, &tx));
	CHK("clock_adjtime BOOTTIME", syscall(SYS_clock_adjtime, CLOCK_BOOTTIME, &tx));
	CHK("clock_adjtime 99", syscall(SYS_clock_adjtime, 99, &tx));
	CHK("clock_adjtime CPU clock", syscall(SYS_clock_adjtime, -2, &tx));
	p2 = fork();
	if (p2 == 0) {
		if (setresuid(1000, 1000, 1000) != 0)
			_exit(1);
		memset(&tx, 0, sizeof(tx));
		tx.modes = ADJ_FREQUENCY;
		CHK("unprivileged adjtimex ADJ_FREQUENCY", adjtimex(&tx));
		tx.modes = ADJ_OFFSET_SINGLESHOT;
		CHK("unprivileged adjtime", adjtimex(&tx));
		tx.modes = 0;
		FACT(adjtimex(&tx) >= 0);
		_exit(0);
	}
	waitpid(p2, NULL, 0);
	return 0;
}
