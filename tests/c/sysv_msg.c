/* System V message queues: msgget/msgsnd/msgrcv/msgctl, selection by
 * type (0, >0, <0, MSG_EXCEPT, MSG_COPY), truncation, byte limits,
 * blocking senders and receivers, signals, removal and permissions. */
#include "dt.h"
#include <linux/capability.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/wait.h>
#include <unistd.h>

struct m {
	long type;
	char text[64];
};

static int snd(int id, long type, const char *s, int flags)
{
	struct m b = {type, {0}};
	strcpy(b.text, s);
	return msgsnd(id, &b, strlen(s), flags);
}

/* Receives and prints what came. */
static void rcv(const char *name, int id, size_t size, long type, int flags)
{
	struct m b = {0, {0}};
	errno = 0;
	long n = msgrcv(id, &b, size, type, flags);
	if (n < 0)
		printf("%s: ret=-1 errno=%s\n", name, dt_errname(errno));
	else
		printf("%s: ret=%ld type=%ld text=%.*s\n", name, n, b.type, (int)n, b.text);
}

static void on_alarm(int s) { (void)s; }

static int child_status(pid_t c)
{
	int st;
	waitpid(c, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

static long qnum(int id)
{
	struct msqid_ds ds;
	return msgctl(id, IPC_STAT, &ds) < 0 ? -errno : (long)ds.msg_qnum;
}

int main(void)
{
	dt_init();
	key_t key = 0x5c000000 | (getpid() & 0xffffff);
	CHK("get missing", msgget(key, 0600));
	int id = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
	FACT(id >= 0);
	CHK("get excl", msgget(key, IPC_CREAT | IPC_EXCL | 0600));
	FACT(msgget(key, 0) == id);

	struct m b = {0, "x"};
	CHK("snd type 0", msgsnd(id, &b, 1, 0));
	b.type = -1;
	CHK("snd type -1", msgsnd(id, &b, 1, 0));
	b.type = 1;
	CHK("snd too big", msgsnd(id, &b, 8193, 0));
	CHK("snd neg size", msgsnd(id, &b, (size_t)-1, 0));
	CHK("snd neg id", msgsnd(-1, &b, 1, 0));
	CHK("snd stale id", msgsnd(id + 32768, &b, 1, 0));
	CHK("snd efault", msgsnd(id, (void *)8, 1, 0));

	CHK("snd 1", snd(id, 1, "a", 0));
	CHK("snd 2", snd(id, 2, "bb", 0));
	CHK("snd 3", snd(id, 3, "ccc", 0));
	CHK("snd 1", snd(id, 1, "d", 0));
	CHK("snd 5", snd(id, 5, "eeeee", 0));
	CHK("snd empty", snd(id, 6, "", 0));
	struct msqid_ds ds;
	CHK("stat", msgctl(id, IPC_STAT, &ds));
	printf("qnum=%lu cbytes=%lu qbytes=%lu\n", ds.msg_qnum, ds.__msg_cbytes, ds.msg_qbytes);
	FACT(ds.msg_lspid == getpid() && ds.msg_lrpid == 0);
	FACT(ds.msg_stime > 0 && ds.msg_rtime == 0);

	rcv("rcv any", id, 64, 0, 0);
	rcv("rcv type 2", id, 64, 2, 0);
	rcv("rcv type <= 3", id, 64, -3, 0);
	rcv("rcv except 3", id, 64, 3, MSG_EXCEPT);
	rcv("rcv type 6", id, 64, 6, 0);
	rcv("rcv e2big", id, 2, 0, 0);
	rcv("rcv copy 0", id, 64, 0, MSG_COPY | IPC_NOWAIT);
	rcv("rcv copy 1", id, 64, 1, MSG_COPY | IPC_NOWAIT);
	rcv("rcv copy wait", id, 64, 0, MSG_COPY);
	rcv("rcv copy except", id, 64, 0, MSG_COPY | MSG_EXCEPT | IPC_NOWAIT);
	rcv("rcv copy e2big", id, 2, 0, MSG_COPY | IPC_NOWAIT);
	rcv("rcv copy noerror short", id, 2, 0, MSG_COPY | IPC_NOWAIT | MSG_NOERROR);
	rcv("rcv noerror", id, 2, 0, MSG_NOERROR);
	rcv("rcv empty nowait", id, 64, 0, IPC_NOWAIT);
	rcv("rcv type 9 nowait", id, 64, 9, IPC_NOWAIT);
	rcv("rcv neg size", id, (size_t)-1, 0, IPC_NOWAIT);
	rcv("rcv neg id", -1, 64, 0, IPC_NOWAIT);
	snd(id, 4, "lost", 0);
	CHK("rcv efault", msgrcv(id, (void *)8, 64, 0, 0));
	FACT(qnum(id) == 0);
	CHK("stat", msgctl(id, IPC_STAT, &ds));
	FACT(ds.msg_lrpid == getpid() && ds.__msg_cbytes == 0);

	/* Byte limit: IPC_NOWAIT fails, a blocked sender waits for room. */
	ds.msg_qbytes = 10;
	CHK("set qbytes", msgctl(id, IPC_SET, &ds));
	CHK("snd 8", snd(id, 1, "12345678", 0));
	CHK("snd full", snd(id, 1, "12345678", IPC_NOWAIT));
	pid_t c = fork();
	if (c == 0) {
		CHK("child blocked snd", snd(id, 2, "abcdefgh", 0));
		_exit(0);
	}
	usleep(50000);
	FACT(qnum(id) == 1);
	struct m got;
	long n = msgrcv(id, &got, 64, 1, 0);
	FACT(child_status(c) == 0);
	printf("rcv frees room: ret=%ld text=%.*s\n", n, (int)n, got.text);
	rcv("rcv child's", id, 64, 0, 0);
	/* A blocked receiver gets the message of its type. */
	c = fork();
	if (c == 0) {
		rcv("child blocked rcv", id, 64, 7, 0);
		_exit(0);
	}
	usleep(50000);
	int rc = snd(id, 7, "seven", 0);
	FACT(child_status(c) == 0);
	CHK("snd 7", rc);
	/* A handler interrupts: EINTR even with SA_RESTART. */
	c = fork();
	if (c == 0) {
		struct sigaction sa = {0};
		sa.sa_handler = on_alarm;
		sa.sa_flags = SA_RESTART;
		sigaction(SIGALRM, &sa, NULL);
		alarm(1);
		rcv("child interrupted rcv", id, 64, 0, 0);
		_exit(0);
	}
	FACT(child_status(c) == 0);

	ds.msg_qbytes = 16384;
	CHK("set qbytes back", msgctl(id, IPC_SET, &ds));
	/* Past msgmnb needs CAP_SYS_RESOURCE. */
	c = fork();
	if (c == 0) {
		struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
		struct __user_cap_data_struct d[2];
		syscall(SYS_capget, &h, d);
		d[0].effective &= ~(1u << CAP_SYS_RESOURCE);
		if (syscall(SYS_capset, &h, d))
			_exit(1);
		ds.msg_qbytes = 20000;
		CHK("set qbytes over msgmnb", msgctl(id, IPC_SET, &ds));
		_exit(0);
	}
	FACT(child_status(c) == 0);
	CHK("stat", msgctl(id, IPC_STAT, &ds));
	FACT(ds.msg_qbytes == 16384);
	CHK("set efault", msgctl(id, IPC_SET, (struct msqid_ds *)8));
	CHK("stat efault", msgctl(id, IPC_STAT, (struct msqid_ds *)8));
	CHK("bad cmd", msgctl(id, 99, &ds));

	/* Another user. */
	ds.msg_perm.mode = 0604;
	msgctl(id, IPC_SET, &ds);
	c = fork();
	if (c == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(1);
		CHK("other snd", snd(id, 1, "x", IPC_NOWAIT));
		rcv("other rcv", id, 64, 0, IPC_NOWAIT);
		CHK("other stat", msgctl(id, IPC_STAT, &ds));
		ds.msg_qbytes = 100;
		CHK("other set", msgctl(id, IPC_SET, &ds));
		CHK("other rmid", msgctl(id, IPC_RMID, NULL));
		_exit(0);
	}
	FACT(child_status(c) == 0);

	/* IPC_INFO, MSG_INFO, MSG_STAT */
	struct msginfo mi;
	FACT(msgctl(0, IPC_INFO, (struct msqid_ds *)&mi) >= id % 32768);
	printf("max=%d mnb=%d mni=%d ssz=%d seg=%d\n", mi.msgmax, mi.msgmnb, mi.msgmni,
	       mi.msgssz, mi.msgseg);
	snd(id, 1, "abc", 0);
	FACT(msgctl(0, MSG_INFO, (struct msqid_ds *)&mi) >= id % 32768);
	FACT(mi.msgpool >= 1 && mi.msgmap >= 1 && mi.msgtql >= 3);
	FACT(msgctl(id % 32768, MSG_STAT, &ds) == id);
	FACT(msgctl(id % 32768, MSG_STAT_ANY, &ds) == id);
	FACT(ds.msg_qnum == 1);

	/* IPC_RMID wakes receivers with EIDRM. */
	c = fork();
	if (c == 0) {
		rcv("child removed rcv", id, 64, 99, 0);
		_exit(0);
	}
	/* Time for the child to block (nothing shows a waiting receiver). */
	usleep(300000);
	rc = msgctl(id, IPC_RMID, NULL);
	FACT(child_status(c) == 0);
	CHK("rmid", rc);
	CHK("rmid again", msgctl(id, IPC_RMID, NULL));
	CHK("snd removed", snd(id, 1, "x", 0));
	return 0;
}
