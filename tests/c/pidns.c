// Pid namespaces: unshare(CLONE_NEWPID) and clone(CLONE_NEWPID), nested
// numbering (getpid/getppid/gettid, wait results, si_pid, SO_PEERCRED),
// init's signal rules, orphans, the namespace's end when init dies,
// ns_last_pid, setns to a pid namespace, reboot(2) inside, error paths.
#include "dt.h"
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/netlink.h>

static int pidfd_open(pid_t pid)
{
	return syscall(SYS_pidfd_open, pid, 0);
}

/* Runs `fn` in a fresh process (so namespace changes stay there) and
 * waits for it. */
static void scenario(const char *name, void (*fn)(void))
{
	printf("== %s\n", name);
	pid_t p = fork();
	if (p == 0) {
		fn();
		_exit(0);
	}
	int st;
	waitpid(p, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		printf("scenario status: 0x%x\n", st);
}

static void show_status(const char *what, int st)
{
	if (WIFEXITED(st))
		printf("%s: exited %d\n", what, WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		printf("%s: killed by %s\n", what, sigabbrev_np(WTERMSIG(st)));
	else
		printf("%s: other 0x%x\n", what, st);
}

static void numbering(void)
{
	pid_t outer = getpid();
	CHK("unshare NEWPID", unshare(CLONE_NEWPID));
	CHK("unshare NEWPID again", unshare(CLONE_NEWPID));
	printf("pid unchanged: %d\n", getpid() == outer);
	char a[64] = "", b[64] = "";
	readlink("/proc/self/ns/pid", a, sizeof a - 1);
	readlink("/proc/self/ns/pid_for_children", b, sizeof b - 1);
	printf("pid_for_children differs: %d\n", strcmp(a, b) != 0);
	int sp[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sp);
	int pipefd[2];
	pipe(pipefd);
	pid_t init = fork();
	if (init == 0) {
		close(pipefd[0]);
		printf("init: getpid=%d getppid=%d gettid=%ld\n", getpid(), getppid(),
		       (long)syscall(SYS_gettid));
		struct ucred cr;
		socklen_t l = sizeof cr;
		getsockopt(sp[0], SOL_SOCKET, SO_PEERCRED, &cr, &l);
		printf("init: peer outside shows pid %d\n", cr.pid);
		/* A netlink socket's own port is the pid as its namespace says. */
		int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
		struct sockaddr_nl na = { .nl_family = AF_NETLINK };
		CHK("init: netlink bind", bind(nl, (struct sockaddr *)&na, sizeof na));
		socklen_t nl_len = sizeof na;
		getsockname(nl, (struct sockaddr *)&na, &nl_len);
		printf("init: netlink port %u\n", na.nl_pid);
		close(nl);
		pid_t c = fork();
		if (c == 0) {
			printf("child: getpid=%d getppid=%d\n", getpid(), getppid());
			_exit(3);
		}
		siginfo_t si = { 0 };
		CHK("init: waitid", waitid(P_PID, c, &si, WEXITED | WNOWAIT));
		printf("init: fork returned %d\n", c);
		printf("init: waitid si_pid=%d status=%d\n", si.si_pid, si.si_status);
		int st;
		printf("init: waitpid=%d\n", waitpid(c, &st, 0));
		/* An orphan goes to init. */
		int q[2];
		pipe(q);
		pid_t mid = fork();
		if (mid == 0) {
			if (fork() == 0) {
				close(q[0]);
				while (getppid() != 1)
					usleep(1000);
				printf("orphan: getppid=%d\n", getppid());
				write(q[1], "x", 1);
				_exit(0);
			}
			_exit(0);
		}
		close(q[1]);
		waitpid(mid, NULL, 0);
		char x;
		read(q[0], &x, 1);
		while (wait(NULL) > 0)
			;
		/* Numbers not in this namespace are not found. */
		CHK("init: kill unknown pid", kill(99999, 0));
		CHK("init: getpgid(0) is 0", getpgid(0));
		_exit(0);
	}
	close(pipefd[1]);
	int st;
	/* Printed after init ends: both write to the same stdout. */
	int matches = waitpid(init, &st, 0) == init;
	printf("parent: fork returned outer number: %d\n", init != 1 && init > 0);
	printf("parent: waitpid matches: %d\n", matches);
	show_status("parent: init", st);
	/* The namespace is dead now: nobody may enter. */
	CHK("fork into dead namespace", fork());
}

static void init_signals(void)
{
	unshare(CLONE_NEWPID);
	int go[2], ready[2];
	pipe(go);
	pipe(ready);
	pid_t init = fork();
	if (init == 0) {
		close(go[1]);
		close(ready[0]);
		CHK("init: kill self SIGTERM (ignored)", kill(getpid(), SIGTERM));
		CHK("init: kill(1, SIGKILL) (ignored)", kill(1, SIGKILL));
		CHK("init: tkill self SIGKILL (ignored)", syscall(SYS_tkill, 1, SIGKILL));
		pid_t c = fork();
		if (c == 0) {
			CHK("child: kill(1, SIGKILL)", kill(1, SIGKILL));
			CHK("child: kill(1, SIGUSR1)", kill(1, SIGUSR1));
			_exit(0);
		}
		waitpid(c, NULL, 0);
		printf("init: alive after signals\n");
		write(ready[1], "r", 1);
		char x;
		read(go[0], &x, 1);
		printf("init: alive after parent's SIGTERM\n");
		write(ready[1], "r", 1);
		pause();
		_exit(9);
	}
	close(go[0]);
	close(ready[1]);
	char x;
	read(ready[0], &x, 1);
	CHK("parent: SIGTERM to init (no handler: ignored)", kill(init, SIGTERM));
	usleep(20000);
	write(go[1], "g", 1);
	read(ready[0], &x, 1);
	CHK("parent: SIGKILL to init", kill(init, SIGKILL));
	int st;
	waitpid(init, &st, 0);
	show_status("parent: init", st);
}

static volatile int got_pid = -1;
static void on_usr1(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	got_pid = si->si_pid;
}

static void siginfo_pids(void)
{
	unshare(CLONE_NEWPID);
	pid_t init = fork();
	if (init == 0) {
		struct sigaction sa = { 0 };
		sa.sa_sigaction = on_usr1;
		sa.sa_flags = SA_SIGINFO;
		sigaction(SIGUSR1, &sa, NULL);
		sigset_t m;
		sigemptyset(&m);
		sigaddset(&m, SIGCHLD);
		sigprocmask(SIG_BLOCK, &m, NULL);
		pid_t c = fork();
		if (c == 0) {
			kill(1, SIGUSR1);
			_exit(0);
		}
		siginfo_t si;
		while (sigwaitinfo(&m, &si) != SIGCHLD)
			;
		printf("init: SIGCHLD si_pid=%d\n", si.si_pid);
		while (got_pid < 0)
			usleep(1000);
		printf("init: SIGUSR1 from child, si_pid=%d\n", got_pid);
		waitpid(c, NULL, 0);
		_exit(0);
	}
	int st;
	waitpid(init, &st, 0);
	show_status("init", st);
}

/* In a new pid namespace, init forks a process that holds a pipe's
 * write end and exits; returns what a non-blocking read of the pipe gives
 * once init's parent has reaped it (its status in *st). Every process of
 * the namespace died before init's parent heard, so: end of file. */
static int ns_ends_with_init(int *st)
{
	unshare(CLONE_NEWPID);
	int p[2];
	pipe(p);
	pid_t init = fork();
	if (init == 0) {
		close(p[0]);
		if (fork() == 0) {
			/* Holds the pipe's write end until killed. */
			pause();
			_exit(0);
		}
		close(p[1]);
		_exit(4);
	}
	close(p[1]);
	waitpid(init, st, 0);
	char x;
	int fl = fcntl(p[0], F_GETFL);
	fcntl(p[0], F_SETFL, fl | O_NONBLOCK);
	return read(p[0], &x, 1);
}

static void ends_with_init(void)
{
	int st;
	errno = 0;
	int r = ns_ends_with_init(&st);
	int e = errno;
	show_status("init", st);
	printf("pipe at EOF: ret=%d errno=%s\n", r, r < 0 ? dt_errname(e) : "0");
}

/* The parent of a namespace's init must never reap it, or see it dead,
 * before the namespace is empty: a race one run rarely hits, so it is
 * repeated. */
static void ends_with_init_repeated(void)
{
	int late = 0;
	for (int i = 0; i < 200; i++) {
		pid_t s = fork();
		if (s == 0) {
			int st;
			_exit(ns_ends_with_init(&st) == 0 ? 0 : 1);
		}
		int st;
		waitpid(s, &st, 0);
		late += !WIFEXITED(st) || WEXITSTATUS(st) != 0;
	}
	printf("inits reaped before their namespace emptied: %d\n", late);
}

static void last_pid_and_setns(void)
{
	int outer_ns = open("/proc/self/ns/pid", O_RDONLY);
	CHK("setns pid ns with CLONE_NEWNET", setns(outer_ns, CLONE_NEWNET));
	CHK("setns own pid ns", setns(outer_ns, CLONE_NEWPID));
	unshare(CLONE_NEWPID);
	int go[2], ready[2];
	pipe(go);
	pipe(ready);
	pid_t init = fork();
	if (init == 0) {
		close(go[1]);
		close(ready[0]);
		int fd = open("/proc/sys/kernel/ns_last_pid", O_RDWR);
		char buf[16] = "";
		pread(fd, buf, sizeof buf - 1, 0);
		printf("init: ns_last_pid=%s", buf);
		CHK("init: write ns_last_pid", pwrite(fd, "100", 3, 0));
		CHK("init: write bad ns_last_pid", pwrite(fd, "-5", 2, 0));
		pid_t c = fork();
		if (c == 0)
			_exit(0);
		printf("init: next child is %d\n", c);
		waitpid(c, NULL, 0);
		/* The outer namespace is an ancestor: not enterable. */
		CHK("init: setns to ancestor", setns(outer_ns, CLONE_NEWPID));
		write(ready[1], "r", 1);
		char x;
		read(go[0], &x, 1);
		while (wait(NULL) > 0)
			;
		_exit(0);
	}
	close(go[0]);
	close(ready[1]);
	char x;
	read(ready[0], &x, 1);
	/* Enter the child's namespace by pidfd for the next child. */
	int pfd = pidfd_open(init);
	CHK("setns by pidfd CLONE_NEWPID", setns(pfd, CLONE_NEWPID));
	pid_t c = fork();
	if (c == 0) {
		printf("entered: getpid=%d getppid=%d\n", getpid(), getppid());
		CHK("entered: kill(1, 0)", kill(1, 0));
		_exit(0);
	}
	waitpid(c, NULL, 0);
	write(go[1], "g", 1);
	int st;
	waitpid(init, &st, 0);
	show_status("init", st);
}

static void clone_flags(void)
{
	/* clone with CLONE_NEWPID: the child is pid 1. */
	pid_t c = syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, 0, 0, 0);
	if (c == 0) {
		printf("clone child: getpid=%d getppid=%d\n", getpid(), getppid());
		CHK("clone child: CLONE_PARENT from init", syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0));
		_exit(0);
	}
	int st;
	waitpid(c, &st, 0);
	show_status("clone child", st);
	CHK("clone NEWPID|THREAD", syscall(SYS_clone, CLONE_NEWPID | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM, 0, 0, 0, 0));
}

static void reboot_inside(void)
{
	unshare(CLONE_NEWPID);
	pid_t init = fork();
	if (init == 0) {
		pid_t c = fork();
		if (c == 0) {
			CHK("child: reboot CAD_ON", reboot(RB_ENABLE_CAD));
			reboot(RB_AUTOBOOT);
			printf("child: still here\n");
			_exit(1);
		}
		pause();
		_exit(5);
	}
	int st;
	waitpid(init, &st, 0);
	show_status("init after restart", st);
}

/* Halt ends it with SIGINT, the caller being init itself. */
static void power_off_inside(void)
{
	unshare(CLONE_NEWPID);
	pid_t init = fork();
	if (init == 0) {
		reboot(RB_POWER_OFF);
		_exit(1);
	}
	int st;
	waitpid(init, &st, 0);
	show_status("init after power off", st);
}

int main(void)
{
	dt_init();
	scenario("numbering", numbering);
	scenario("init signals", init_signals);
	scenario("siginfo pids", siginfo_pids);
	scenario("ends with init", ends_with_init);
	scenario("ends with init, repeated", ends_with_init_repeated);
	scenario("ns_last_pid and setns", last_pid_and_setns);
	scenario("clone flags", clone_flags);
	scenario("reboot inside", reboot_inside);
	scenario("power off inside", power_off_inside);
	return 0;
}
