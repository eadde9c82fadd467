/* Sandbox only (it changes the IPC limits, which natively would be the
 * host's): a limit written to /proc/sys applies to the calls after it.
 * Prints "FAIL ..." for each limit that did not apply, "ok" at the end. */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

static int fails;

static void set(const char *p, const char *v)
{
	int fd = open(p, O_WRONLY);
	if (fd < 0 || write(fd, v, strlen(v)) != (long)strlen(v)) {
		printf("FAIL write %s\n", p);
		fails++;
	}
	if (fd >= 0)
		close(fd);
}

static void expect(const char *what, long r, int err)
{
	if (r != -1 || errno != err) {
		printf("FAIL %s: ret=%ld errno=%d, want errno %d\n", what, r, errno, err);
		fails++;
	}
}

int main(void)
{
	set("/proc/sys/kernel/shmmax", "4096");
	expect("shmget over shmmax", shmget(IPC_PRIVATE, 8192, 0600), EINVAL);
	set("/proc/sys/kernel/shmmni", "0");
	expect("shmget over shmmni", shmget(IPC_PRIVATE, 4096, 0600), ENOSPC);
	set("/proc/sys/kernel/msgmax", "100");
	int q = msgget(IPC_PRIVATE, 0600);
	struct {
		long type;
		char text[200];
	} m = {1, {0}};
	expect("msgsnd over msgmax", msgsnd(q, &m, 200, 0), EINVAL);
	set("/proc/sys/kernel/msgmnb", "50");
	int q2 = msgget(IPC_PRIVATE, 0600);
	msgsnd(q2, &m, 50, 0);
	expect("msgsnd over msgmnb", msgsnd(q2, &m, 1, IPC_NOWAIT), EAGAIN);
	set("/proc/sys/kernel/msgmni", "0");
	expect("msgget over msgmni", msgget(IPC_PRIVATE, 0600), ENOSPC);
	set("/proc/sys/kernel/sem", "2 32000 2 128");
	expect("semget over semmsl", semget(IPC_PRIVATE, 3, 0600), EINVAL);
	int s = semget(IPC_PRIVATE, 2, 0600);
	struct sembuf ops[3] = {{0, 1, 0}, {1, 1, 0}, {0, 1, 0}};
	expect("semop over semopm", semop(s, ops, 3), E2BIG);
	set("/proc/sys/fs/mqueue/msg_default", "3");
	mqd_t d = mq_open("/limits", O_RDWR | O_CREAT, 0600, NULL);
	struct mq_attr a;
	if (mq_getattr(d, &a) || a.mq_maxmsg != 3) {
		printf("FAIL msg_default\n");
		fails++;
	}
	set("/proc/sys/fs/mqueue/queues_max", "1");
	/* Root has CAP_SYS_RESOURCE here, which lifts queues_max. */
	if (mq_open("/limits2", O_RDWR | O_CREAT, 0600, NULL) < 0) {
		printf("FAIL queues_max with CAP_SYS_RESOURCE\n");
		fails++;
	}
	if (!fails)
		printf("ok\n");
	return fails != 0;
}
