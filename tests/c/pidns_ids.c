// Ids a nested pid namespace sees through terminals and System V IPC:
// TIOCGPGRP/TIOCGSID give the caller's numbers, TIOCSPGRP takes them (and
// ESRCH for a group outside), and shm_cpid/shm_lpid, GETPID and
// msg_lspid/msg_lrpid are the numbers of the namespace asking.
#include "dt.h"
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static void inside(int outer_shm)
{
	printf("pid=%d\n", getpid());
	CHK("setsid", setsid());
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	grantpt(m);
	unlockpt(m);
	int s = open(ptsname(m), O_RDWR);
	CHK("TIOCSCTTY", ioctl(s, TIOCSCTTY, 0));
	pid_t g = -1;
	CHK("TIOCGPGRP", ioctl(s, TIOCGPGRP, &g));
	printf("pgrp=%d\n", g);
	pid_t sid = -1;
	CHK("TIOCGSID", ioctl(s, TIOCGSID, &sid));
	printf("sid=%d\n", sid);
	pid_t c = fork();
	if (c == 0) {
		setpgid(0, 0);
		pause();
		_exit(0);
	}
	setpgid(c, c);
	pid_t far = 99999;
	CHK("TIOCSPGRP unknown", ioctl(s, TIOCSPGRP, &far));
	CHK("TIOCSPGRP child", ioctl(s, TIOCSPGRP, &c));
	CHK("TIOCGPGRP", ioctl(s, TIOCGPGRP, &g));
	printf("pgrp is child: %d\n", g == c);
	/* Now in the background of an orphaned group: refused. */
	pid_t me = getpgrp();
	CHK("TIOCSPGRP from background", ioctl(s, TIOCSPGRP, &me));
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);

	struct shmid_ds ds;
	int shm = shmget(IPC_PRIVATE, 4096, 0600);
	shmat(shm, NULL, 0);
	CHK("IPC_STAT", shmctl(shm, IPC_STAT, &ds));
	printf("shm cpid=%d lpid=%d\n", ds.shm_cpid, ds.shm_lpid);
	CHK("IPC_STAT outer", shmctl(outer_shm, IPC_STAT, &ds));
	printf("outer shm cpid=%d\n", ds.shm_cpid);
	shmctl(shm, IPC_RMID, NULL);

	int sem = semget(IPC_PRIVATE, 1, 0600);
	struct sembuf op = {0, 1, 0};
	semop(sem, &op, 1);
	printf("sem GETPID=%d\n", semctl(sem, 0, GETPID));
	semctl(sem, 0, IPC_RMID);

	int q = msgget(IPC_PRIVATE, 0600);
	struct {
		long t;
		char b[4];
	} msg = {1, "hi"};
	msgsnd(q, &msg, sizeof msg.b, 0);
	msgrcv(q, &msg, sizeof msg.b, 0, 0);
	struct msqid_ds qd;
	msgctl(q, IPC_STAT, &qd);
	printf("msg lspid=%d lrpid=%d\n", qd.msg_lspid, qd.msg_lrpid);
	msgctl(q, IPC_RMID, NULL);
}

int main(void)
{
	dt_init();
	int outer_shm = shmget(IPC_PRIVATE, 4096, 0600);
	if (unshare(CLONE_NEWPID) != 0) {
		printf("unshare: %s\n", dt_errname(errno));
		return 1;
	}
	pid_t p = fork();
	if (p == 0) {
		inside(outer_shm);
		_exit(0);
	}
	int st;
	waitpid(p, &st, 0);
	printf("child exit %d\n", WEXITSTATUS(st));
	shmctl(outer_shm, IPC_RMID, NULL);
	return 0;
}
