/* System V semaphores: semget/semop/semtimedop/semctl, error paths,
 * atomic operation arrays, blocking (woken by changes, interrupted by
 * signals, timed out, removed), wait-for-zero, waiter counts and
 * SEM_UNDO applied at exit. */
#include "dt.h"
#include <signal.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
	struct seminfo *__buf;
};

static long ms_since(struct timespec *a)
{
	struct timespec b;
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

/* Waits until `cmd` (GETNCNT/GETZCNT) of semaphore `n` reaches `want`. */
static int wait_count(int id, int n, int cmd, int want)
{
	for (int i = 0; i < 500; i++) {
		if (semctl(id, n, cmd) == want)
			return 1;
		usleep(2000);
	}
	return 0;
}

static void on_alarm(int s) { (void)s; }

static int child_status(pid_t c)
{
	int st;
	waitpid(c, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

int main(void)
{
	dt_init();
	key_t key = 0x5b000000 | (getpid() & 0xffffff);
	union semun arg;

	CHK("get neg nsems", semget(IPC_PRIVATE, -1, 0600));
	CHK("get zero nsems", semget(IPC_PRIVATE, 0, 0600));
	CHK("get too many", semget(IPC_PRIVATE, 32001, 0600));
	CHK("get missing", semget(key, 1, 0600));
	int id = semget(key, 3, IPC_CREAT | IPC_EXCL | 0600);
	FACT(id >= 0);
	CHK("get excl", semget(key, 3, IPC_CREAT | IPC_EXCL | 0600));
	CHK("get more", semget(key, 4, 0600));
	FACT(semget(key, 0, 0) == id);
	FACT(semget(key, 2, IPC_CREAT) == id);

	/* semctl values */
	CHK("getval", semctl(id, 0, GETVAL));
	arg.val = 5;
	CHK("setval", semctl(id, 0, SETVAL, arg));
	CHK("getval", semctl(id, 0, GETVAL));
	FACT(semctl(id, 0, GETPID) == getpid());
	CHK("getpid untouched", semctl(id, 1, GETPID));
	arg.val = -1;
	CHK("setval neg", semctl(id, 0, SETVAL, arg));
	arg.val = 32768;
	CHK("setval big", semctl(id, 0, SETVAL, arg));
	arg.val = 1;
	CHK("setval num 3", semctl(id, 3, SETVAL, arg));
	CHK("getval num 3", semctl(id, 3, GETVAL));
	CHK("getval num -1", semctl(id, -1, GETVAL));
	unsigned short vals[3] = {1, 2, 3}, got[3] = {0};
	arg.array = vals;
	CHK("setall", semctl(id, 0, SETALL, arg));
	arg.array = got;
	CHK("getall", semctl(id, 0, GETALL, arg));
	printf("vals %d %d %d\n", got[0], got[1], got[2]);
	unsigned short bad[3] = {1, 40000, 3};
	arg.array = bad;
	CHK("setall range", semctl(id, 0, SETALL, arg));
	arg.array = (unsigned short *)8;
	CHK("getall efault", semctl(id, 0, GETALL, arg));
	CHK("setall efault", semctl(id, 0, SETALL, arg));
	CHK("ncnt", semctl(id, 0, GETNCNT));
	CHK("zcnt", semctl(id, 0, GETZCNT));
	CHK("bad cmd", semctl(id, 0, 99));
	CHK("neg id", semctl(-1, 0, GETVAL));
	CHK("stale id", semctl(id + 32768, 0, GETVAL));
	struct semid_ds ds;
	arg.buf = &ds;
	CHK("stat", semctl(id, 0, IPC_STAT, arg));
	FACT(ds.sem_nsems == 3 && (ds.sem_perm.mode & 0777) == 0600);
	FACT(ds.sem_perm.__key == key && ds.sem_otime == 0);
	ds.sem_perm.mode = 0660;
	CHK("set", semctl(id, 0, IPC_SET, arg));
	CHK("stat", semctl(id, 0, IPC_STAT, arg));
	FACT((ds.sem_perm.mode & 0777) == 0660);
	arg.buf = (struct semid_ds *)8;
	CHK("stat efault", semctl(id, 0, IPC_STAT, arg));
	CHK("set efault", semctl(id, 0, IPC_SET, arg));

	/* semop errors */
	struct sembuf op[2];
	CHK("op zero", semop(id, op, 0));
	struct sembuf many[501] = {{0}};
	CHK("op too many", semop(id, many, 501));
	op[0] = (struct sembuf){3, 1, 0};
	CHK("op num 3", semop(id, op, 1));
	CHK("op efault", semop(id, (struct sembuf *)8, 1));
	CHK("op neg id", semop(-1, op, 1));
	op[0] = (struct sembuf){0, -2, IPC_NOWAIT};
	CHK("op nowait", semop(id, op, 1));
	op[0] = (struct sembuf){0, 32767, 0};
	CHK("op range", semop(id, op, 1));
	/* All or nothing. */
	op[0] = (struct sembuf){0, -1, 0};
	op[1] = (struct sembuf){1, -5, IPC_NOWAIT};
	CHK("op pair blocks", semop(id, op, 2));
	CHK("sem0 unchanged", semctl(id, 0, GETVAL));
	op[1] = (struct sembuf){1, -2, 0};
	CHK("op pair", semop(id, op, 2));
	arg.array = got;
	semctl(id, 0, GETALL, arg);
	printf("vals %d %d %d\n", got[0], got[1], got[2]);
	op[0] = (struct sembuf){2, 0, IPC_NOWAIT};
	CHK("op zero nowait", semop(id, op, 1));
	op[0] = (struct sembuf){1, 0, IPC_NOWAIT};
	CHK("op zero ok", semop(id, op, 1));
	arg.buf = &ds;
	semctl(id, 0, IPC_STAT, arg);
	FACT(ds.sem_otime > 0);

	/* semtimedop */
	struct timespec to = {0, 50 * 1000000}, t0;
	op[0] = (struct sembuf){0, -1, 0};
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHK("timed", semtimedop(id, op, 1, &to));
	FACT(ms_since(&t0) >= 50);
	to.tv_nsec = 1000000000;
	CHK("timed einval", semtimedop(id, op, 1, &to));
	CHK("timed efault", semtimedop(id, op, 1, (struct timespec *)8));

	/* Blocking decrement, woken by an increment. */
	pid_t c = fork();
	if (c == 0) {
		struct sembuf d = {0, -1, 0};
		CHK("child blocked op", semop(id, &d, 1));
		_exit(0);
	}
	FACT(wait_count(id, 0, GETNCNT, 1));
	op[0] = (struct sembuf){0, 1, 0};
	int rc = semop(id, op, 1);
	FACT(child_status(c) == 0);
	CHK("wake", rc);
	CHK("ncnt after", semctl(id, 0, GETNCNT));

	/* Wait for zero. */
	arg.val = 2;
	semctl(id, 2, SETVAL, arg);
	c = fork();
	if (c == 0) {
		struct sembuf z = {2, 0, 0};
		CHK("child zero op", semop(id, &z, 1));
		_exit(0);
	}
	FACT(wait_count(id, 2, GETZCNT, 1));
	arg.val = 0;
	rc = semctl(id, 2, SETVAL, arg);
	FACT(child_status(c) == 0);
	CHK("setval 0", rc);

	/* A signal handler interrupts: EINTR even with SA_RESTART. */
	c = fork();
	if (c == 0) {
		struct sigaction sa = {0};
		sa.sa_handler = on_alarm;
		sa.sa_flags = SA_RESTART;
		sigaction(SIGALRM, &sa, NULL);
		alarm(1);
		struct sembuf d = {1, -1, 0};
		CHK("child interrupted op", semop(id, &d, 1));
		_exit(0);
	}
	FACT(child_status(c) == 0);

	/* SEM_UNDO: a process's adjustments are undone when it exits. */
	arg.val = 3;
	semctl(id, 1, SETVAL, arg);
	c = fork();
	if (c == 0) {
		struct sembuf u[2] = {{1, -2, SEM_UNDO}, {2, 4, SEM_UNDO}};
		CHK("child undo op", semop(id, u, 2));
		printf("child sees %d %d\n", semctl(id, 1, GETVAL), semctl(id, 2, GETVAL));
		_exit(0);
	}
	FACT(child_status(c) == 0);
	printf("after exit %d %d\n", semctl(id, 1, GETVAL), semctl(id, 2, GETVAL));
	FACT(semctl(id, 1, GETPID) == c);
	/* An adjustment past the limits is ERANGE. */
	c = fork();
	if (c == 0) {
		arg.val = 32767;
		semctl(id, 1, SETVAL, arg);
		struct sembuf u = {1, -32767, SEM_UNDO};
		CHK("child undo max", semop(id, &u, 1));
		struct sembuf up = {1, 1, 0}, down = {1, -1, SEM_UNDO};
		CHK("child plain up", semop(id, &up, 1));
		CHK("child undo over", semop(id, &down, 1));
		CHK("child val kept", semctl(id, 1, GETVAL));
		_exit(0);
	}
	FACT(child_status(c) == 0);
	/* SETVAL clears the adjustments: nothing is undone at exit. */
	c = fork();
	if (c == 0) {
		struct sembuf u = {0, 5, SEM_UNDO};
		semop(id, &u, 1);
		arg.val = 7;
		semctl(id, 0, SETVAL, arg);
		_exit(0);
	}
	FACT(child_status(c) == 0);
	CHK("after setval exit", semctl(id, 0, GETVAL));

	/* Another user. */
	c = fork();
	if (c == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(1);
		struct sembuf d = {0, 1, 0};
		CHK("other op", semop(id, &d, 1));
		CHK("other getval", semctl(id, 0, GETVAL));
		arg.val = 1;
		CHK("other setval", semctl(id, 0, SETVAL, arg));
		CHK("other rmid", semctl(id, 0, IPC_RMID));
		CHK("other get", semget(key, 0, 0600));
		_exit(0);
	}
	FACT(child_status(c) == 0);

	/* IPC_INFO, SEM_INFO, SEM_STAT */
	struct seminfo si;
	arg.__buf = &si;
	FACT(semctl(0, 0, IPC_INFO, arg) >= id % 32768);
	FACT(si.semmsl == 32000 && si.semopm == 500 && si.semvmx == 32767);
	FACT(si.semmni == 32000 && si.semusz == 20);
	FACT(semctl(0, 0, SEM_INFO, arg) >= id % 32768);
	FACT(si.semusz >= 1 && si.semaem >= 3);
	arg.buf = &ds;
	FACT(semctl(id % 32768, 0, SEM_STAT, arg) == id);
	FACT(semctl(id % 32768, 0, SEM_STAT_ANY, arg) == id);

	/* IPC_RMID wakes sleepers with EIDRM. */
	arg.val = 0;
	semctl(id, 1, SETVAL, arg);
	c = fork();
	if (c == 0) {
		struct sembuf d = {1, -100, 0};
		CHK("child removed op", semop(id, &d, 1));
		_exit(0);
	}
	FACT(wait_count(id, 1, GETNCNT, 1));
	rc = semctl(id, 0, IPC_RMID);
	FACT(child_status(c) == 0);
	CHK("rmid", rc);
	CHK("rmid again", semctl(id, 0, IPC_RMID));
	CHK("op removed", semop(id, op, 1));
	return 0;
}
