/* POSIX message queues: mq_open/mq_unlink/mq_timedsend/mq_timedreceive/
 * mq_notify/mq_getsetattr, priorities, limits, timeouts, blocking and
 * signals, notification, polling and permissions. */
#include "dt.h"
#include <fcntl.h>
#include <mqueue.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char name[64];

static void rcv(const char *what, mqd_t q, size_t len, const struct timespec *to)
{
	char buf[64] = {0};
	unsigned prio = 99;
	errno = 0;
	long n = to ? mq_timedreceive(q, buf, len, &prio, to) : mq_receive(q, buf, len, &prio);
	if (n < 0)
		printf("%s: ret=-1 errno=%s\n", what, dt_errname(errno));
	else
		printf("%s: ret=%ld prio=%u text=%.*s\n", what, n, prio, (int)n, buf);
}

static void attr(const char *what, mqd_t q)
{
	struct mq_attr a;
	if (mq_getattr(q, &a) < 0) {
		printf("%s: errno=%s\n", what, dt_errname(errno));
		return;
	}
	printf("%s: flags=%#lx maxmsg=%ld msgsize=%ld curmsgs=%ld\n", what, a.mq_flags,
	       a.mq_maxmsg, a.mq_msgsize, a.mq_curmsgs);
}

static struct timespec in_ms(long ms)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_nsec += ms * 1000000;
	t.tv_sec += t.tv_nsec / 1000000000;
	t.tv_nsec %= 1000000000;
	return t;
}

static long ms_since(struct timespec *a)
{
	struct timespec b;
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

static volatile sig_atomic_t got_sig, got_code, got_val, got_pid;
static void on_usr1(int s, siginfo_t *si, void *u)
{
	(void)u;
	got_sig = s;
	got_code = si->si_code;
	got_val = si->si_value.sival_int;
	got_pid = si->si_pid;
}
static void on_alarm(int s) { (void)s; }

static int child_status(pid_t c)
{
	int st;
	waitpid(c, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

static void show_fd_text(const char *what, mqd_t q)
{
	char b[128] = {0};
	lseek(q, 0, SEEK_SET);
	long n = read(q, b, sizeof(b) - 1);
	/* The pid is shown as whose it is. */
	char *pid = strstr(b, "NOTIFY_PID:");
	long v = pid ? atol(pid + 11) : -1;
	if (pid)
		pid[11] = 0;
	printf("%s: %ld %s %s\n", what, n, b,
	       v == getpid() ? "self" : v == 0 ? "0" : "other");
}

int main(void)
{
	dt_init();
	snprintf(name, sizeof(name), "/dt-mq-%d", getpid());
	umask(022);

	/* The kernel's own name rules (glibc strips the leading slash). */
	CHK("raw slash inside", syscall(SYS_mq_open, "a/b", O_RDONLY, 0, NULL));
	CHK("raw empty", syscall(SYS_mq_open, "", O_RDONLY, 0, NULL));
	CHK("raw efault", syscall(SYS_mq_open, (char *)8, O_RDONLY, 0, NULL));
	CHK("open missing", mq_open(name, O_RDONLY));
	struct mq_attr a = {0, 4, 16, 0, {0}};
	struct mq_attr bad = {0, 0, 16, 0, {0}};
	CHK("open bad attr", mq_open(name, O_RDWR | O_CREAT, 0600, &bad));
	bad.mq_maxmsg = 70000;
	CHK("open huge attr", mq_open(name, O_RDWR | O_CREAT, 0600, &bad));
	bad.mq_maxmsg = 4;
	bad.mq_msgsize = -1;
	CHK("open neg size", mq_open(name, O_RDWR | O_CREAT, 0600, &bad));
	/* Access mode 3 is refused only for an existing queue. */
	char aname[80];
	snprintf(aname, sizeof(aname), "%s-acc", name);
	mqd_t acc = mq_open(aname, O_ACCMODE | O_CREAT, 0600, &a);
	FACT(acc >= 0);
	CHK("acc3 send", mq_send(acc, "x", 1, 0));
	CHK("open accmode 3 existing", mq_open(aname, O_ACCMODE | O_CREAT, 0600, &a));
	mq_close(acc);
	CHK("unlink acc", mq_unlink(aname));
	CHK("open attr efault", mq_open(name, O_RDWR | O_CREAT, 0600, (struct mq_attr *)8));
	mqd_t q = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0666, &a);
	FACT(q >= 0);
	CHK("open excl", mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &a));
	mqd_t r = mq_open(name, O_RDONLY | O_CREAT, 0600, NULL);
	mqd_t w = mq_open(name, O_WRONLY);
	FACT(r >= 0 && w >= 0);
	attr("attr", q);
	struct stat st;
	CHK("fstat", fstat(q, &st));
	FACT(S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0644);

	/* Defaults without attributes. */
	char dname[80];
	snprintf(dname, sizeof(dname), "%s-default", name);
	mqd_t d = mq_open(dname, O_RDWR | O_CREAT, 0600, NULL);
	attr("default attr", d);
	mq_close(d);
	CHK("unlink default", mq_unlink(dname));

	/* Sending. */
	CHK("send prio too big", mq_send(q, "x", 1, 32768));
	CHK("send too long", mq_send(q, "01234567890123456", 17, 0));
	CHK("send on rdonly", mq_send(r, "x", 1, 0));
	CHK("send on pipe", ({ int p[2]; pipe(p); mq_send(p[1], "x", 1, 0); }));
	CHK("send bad fd", mq_send(99, "x", 1, 0));
	CHK("send efault", mq_send(q, (char *)8, 1, 0));
	show_fd_text("empty", q);
	struct pollfd pf = {q, POLLIN | POLLOUT, 0};
	CHK("poll empty", poll(&pf, 1, 0));
	printf("revents %#x\n", pf.revents);
	CHK("send a/1", mq_send(w, "a", 1, 1));
	CHK("send b/5", mq_send(q, "bb", 2, 5));
	CHK("send c/1", mq_send(q, "c", 1, 1));
	CHK("send d/3", mq_send(q, "dddd", 4, 3));
	attr("full", q);
	show_fd_text("full", q);
	pf.revents = 0;
	CHK("poll full", poll(&pf, 1, 0));
	printf("revents %#x\n", pf.revents);
	struct timespec past = {1, 0}, t0;
	CHK("timed send past", mq_timedsend(q, "e", 1, 0, &past));
	struct timespec soon = in_ms(50);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHK("timed send", mq_timedsend(q, "e", 1, 0, &soon));
	FACT(ms_since(&t0) >= 45);
	struct timespec inval = {0, 1000000000};
	CHK("timed send einval", mq_timedsend(q, "e", 1, 0, &inval));
	CHK("timed send efault", mq_timedsend(q, "e", 1, 0, (struct timespec *)8));
	struct mq_attr nb = {O_NONBLOCK, 0, 0, 0, {0}}, old;
	CHK("setattr nonblock", mq_setattr(q, &nb, &old));
	printf("old flags %#lx\n", old.mq_flags);
	CHK("send nonblock full", mq_send(q, "e", 1, 0));
	attr("nonblock", q);
	attr("other description", r);
	nb.mq_flags = O_APPEND;
	CHK("setattr bad flags", mq_setattr(q, &nb, NULL));

	/* Receiving: highest priority first, FIFO within one. */
	rcv("recv short buffer", q, 15, NULL);
	rcv("recv on wronly", w, 64, NULL);
	rcv("recv 1", q, 64, NULL);
	rcv("recv 2", r, 64, NULL);
	rcv("recv 3", q, 64, NULL);
	rcv("recv 4", q, 64, NULL);
	rcv("recv empty nonblock", q, 64, NULL);
	soon = in_ms(50);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rcv("recv timed", r, 64, &soon);
	FACT(ms_since(&t0) >= 45);
	rcv("recv timed past", r, 64, &past);
	mq_send(w, "lost", 4, 0);
	CHK("recv efault", mq_receive(r, (char *)8, 64, NULL));
	attr("after efault", r);

	/* A blocked receiver is woken by a sender. */
	pid_t c = fork();
	if (c == 0) {
		rcv("child blocked recv", r, 64, NULL);
		_exit(0);
	}
	usleep(50000);
	int rc = mq_send(w, "hello", 5, 7);
	FACT(child_status(c) == 0);
	CHK("send to waiter", rc);
	/* Interrupted by a handler: EINTR without SA_RESTART ... */
	struct sigaction sa = {0};
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	alarm(1);
	rcv("recv interrupted", r, 64, NULL);
	/* ... restarted with it. */
	c = fork();
	if (c == 0) {
		usleep(300000);
		mq_send(w, "late", 4, 2);
		_exit(0);
	}
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	ualarm(100000, 0);
	rcv("recv restarted", r, 64, NULL);
	FACT(child_status(c) == 0);

	/* Notification: a signal when a message reaches an empty queue. */
	sa.sa_sigaction = on_usr1;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGUSR1, &sa, NULL);
	struct sigevent ev = {0};
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = SIGUSR1;
	ev.sigev_value.sival_int = 42;
	CHK("notify", mq_notify(q, &ev));
	show_fd_text("registered", q);
	c = fork();
	if (c == 0) {
		CHK("child notify busy", mq_notify(q, &ev));
		CHK("child unregister others", mq_notify(q, NULL));
		mq_send(w, "n", 1, 0);
		_exit(0);
	}
	FACT(child_status(c) == 0);
	FACT(got_sig == SIGUSR1 && got_code == SI_MESGQ && got_val == 42);
	FACT(got_pid == c);
	show_fd_text("after notification", q);
	got_sig = 0;
	mq_send(w, "m", 1, 0);
	FACT(got_sig == 0);
	rcv("drain", r, 64, NULL);
	rcv("drain", r, 64, NULL);
	CHK("notify again", mq_notify(q, &ev));
	CHK("unregister", mq_notify(q, NULL));
	mq_send(w, "m", 1, 0);
	FACT(got_sig == 0);
	rcv("drain", r, 64, NULL);
	ev.sigev_notify = SIGEV_NONE;
	CHK("notify none", mq_notify(q, &ev));
	show_fd_text("none registered", q);
	mq_send(w, "m", 1, 0);
	FACT(got_sig == 0);
	rcv("drain", r, 64, NULL);
	ev.sigev_notify = 99;
	CHK("notify bad type", mq_notify(q, &ev));
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = 65;
	CHK("notify bad signal", mq_notify(q, &ev));
	CHK("notify efault", syscall(SYS_mq_notify, q, (void *)8));
	CHK("notify bad fd", mq_notify(99, NULL));

	/* Permissions and unlinking. */
	char pname[80];
	snprintf(pname, sizeof(pname), "%s-private", name);
	mqd_t p = mq_open(pname, O_RDWR | O_CREAT, 0600, &a);
	c = fork();
	if (c == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(1);
		CHK("other open private", mq_open(pname, O_RDONLY));
		mqd_t o = mq_open(name, O_RDONLY);
		CHK("other open readable", o >= 0);
		CHK("other open writable", mq_open(name, O_WRONLY));
		_exit(0);
	}
	FACT(child_status(c) == 0);
	mq_close(p);
	CHK("unlink private", mq_unlink(pname));

	/* Queues are charged to their creator's RLIMIT_MSGQUEUE: 10 messages
	 * of 8192 bytes cost 82880 bytes. */
	c = fork();
	if (c == 0) {
		struct rlimit rl = {200000, 200000};
		uid_t u = 50000 + getpid() % 10000;
		if (setrlimit(RLIMIT_MSGQUEUE, &rl) || setgid(u) || setuid(u))
			_exit(1);
		struct mq_attr big = {0, 10, 8192, 0, {0}};
		char qn[80];
		int n = 0;
		mqd_t last = -1;
		for (; n < 10; n++) {
			snprintf(qn, sizeof(qn), "%s-rl%d", name, n);
			last = mq_open(qn, O_RDWR | O_CREAT, 0600, &big);
			if (last < 0)
				break;
			mq_close(last);
		}
		printf("queues within the limit: %d, then %s\n", n, dt_errname(errno));
		for (int i = 0; i < n; i++) {
			snprintf(qn, sizeof(qn), "%s-rl%d", name, i);
			mq_unlink(qn);
		}
		/* Unlinked and closed: charged no more. */
		snprintf(qn, sizeof(qn), "%s-rl%d", name, 0);
		last = mq_open(qn, O_RDWR | O_CREAT, 0600, &big);
		CHK("open after release", last >= 0);
		mq_unlink(qn);
		_exit(0);
	}
	FACT(child_status(c) == 0);
	CHK("unlink", mq_unlink(name));
	CHK("unlink again", mq_unlink(name));
	CHK("raw unlink slash", syscall(SYS_mq_unlink, "a/b"));
	CHK("open unlinked", mq_open(name, O_RDONLY));
	CHK("send after unlink", mq_send(w, "z", 1, 0));
	rcv("recv after unlink", r, 64, NULL);
	CHK("close", mq_close(q));
	return 0;
}
