/* Blocked IPC calls across SIGSTOP/SIGCONT without a handler: msgrcv and
 * mq_receive carry on (restarted), semop fails with EINTR, as on Linux. */
#include "dt.h"
#include <signal.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <mqueue.h>
#include <fcntl.h>
#include <unistd.h>
int main(void)
{
	dt_init();
	int q = msgget(IPC_PRIVATE, 0600), s = semget(IPC_PRIVATE, 1, 0600);
	char name[64];
	snprintf(name, sizeof name, "/stopcont-%d", getpid());
	mqd_t m = mq_open(name, O_RDWR | O_CREAT, 0600, NULL);
	for (int kind = 0; kind < 3; kind++) {
		pid_t c = fork();
		if (c == 0) {
			struct { long t; char x[8]; } b;
			struct sembuf op = {0, -1, 0};
			char buf[8192];
			if (kind == 0) CHK("msgrcv", msgrcv(q, &b, 8, 0, 0));
			if (kind == 1) CHK("semop", semop(s, &op, 1));
			if (kind == 2) CHK("mq_receive", mq_receive(m, buf, sizeof buf, NULL));
			_exit(0);
		}
		usleep(100000);
		kill(c, SIGSTOP);
		usleep(100000);
		kill(c, SIGCONT);
		usleep(100000);
		struct { long t; char x[8]; } b = {1, "x"};
		struct sembuf op = {0, 1, 0};
		if (kind == 0) msgsnd(q, &b, 1, 0);
		if (kind == 1) semop(s, &op, 1);
		if (kind == 2) mq_send(m, "x", 1, 0);
		int st;
		waitpid(c, &st, 0);
	}
	msgctl(q, IPC_RMID, NULL);
	semctl(s, 0, IPC_RMID);
	mq_unlink(name);
	return 0;
}
