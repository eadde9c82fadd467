// ptrace and job control: PTRACE_LISTEN keeps a seized tracee in its
// group stop (a new signal stays queued, ptrace requests fail with ESRCH)
// until SIGCONT makes it trap again; PTRACE_ATTACH to a stopped process
// reports a group stop (no siginfo) and a detach leaves it stopped; a
// tracer that is not the parent holds the tracee's exit: the parent's
// wait4 cannot reap it until the tracer has collected it.
#include "dt.h"
#include <poll.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static long pt(long req, pid_t pid, void *addr, void *data)
{
	return syscall(SYS_ptrace, req, pid, addr, data);
}

static void show(const char *what, int st)
{
	if (WIFSTOPPED(st))
		printf("%s: stopped sig=%d event=%d\n", what, WSTOPSIG(st), st >> 16);
	else if (WIFCONTINUED(st))
		printf("%s: continued\n", what);
	else if (WIFEXITED(st))
		printf("%s: exited %d\n", what, WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		printf("%s: killed by %d\n", what, WTERMSIG(st));
}

/* waitpid with a bound: polls with WNOHANG for up to 5 s. */
static pid_t wait_bounded(pid_t pid, int *st, int opts)
{
	for (int i = 0; i < 500; i++) {
		pid_t r = waitpid(pid, st, opts | WNOHANG);
		if (r != 0)
			return r;
		usleep(10000);
	}
	return 0;
}

static void wait_show(const char *what, pid_t pid, int opts)
{
	int st = 0;
	pid_t r = wait_bounded(pid, &st, opts);
	if (r != pid) {
		printf("%s: waitpid ret=%d errno=%s\n", what, r, r < 0 ? dt_errname(errno) : "0");
		return;
	}
	show(what, st);
}

static pid_t sleeper(void)
{
	pid_t c = fork();
	if (c == 0) {
		for (int i = 0; i < 100; i++)
			usleep(100000);
		_exit(1);
	}
	return c;
}

static void listen_stays_stopped(void)
{
	pid_t c = sleeper();
	int st;
	CHK("SEIZE", pt(PTRACE_SEIZE, c, 0, 0));
	CHK("INTERRUPT", pt(PTRACE_INTERRUPT, c, 0, 0));
	wait_show("interrupt", c, 0);
	CHK("kill SIGSTOP", kill(c, SIGSTOP));
	CHK("CONT", pt(PTRACE_CONT, c, 0, 0));
	wait_show("signal stop", c, 0);
	CHK("CONT with SIGSTOP", pt(PTRACE_CONT, c, 0, (void *)SIGSTOP));
	wait_show("group stop", c, 0);
	CHK("LISTEN", pt(PTRACE_LISTEN, c, 0, 0));
	CHK("CONT while listening", pt(PTRACE_CONT, c, 0, 0));
	CHK("waitpid WNOHANG", waitpid(c, &st, WNOHANG));
	CHK("kill SIGTERM", kill(c, SIGTERM));
	usleep(300000);
	CHK("waitpid WNOHANG after SIGTERM", waitpid(c, &st, WNOHANG));
	CHK("kill SIGCONT", kill(c, SIGCONT));
	wait_show("after SIGCONT", c, 0);
	CHK("DETACH", pt(PTRACE_DETACH, c, 0, 0));
	wait_show("end", c, 0);
}

static void attach_to_stopped(void)
{
	pid_t c = sleeper();
	int st;
	siginfo_t si;
	CHK("kill SIGSTOP", kill(c, SIGSTOP));
	wait_show("stopped", c, WUNTRACED);
	CHK("ATTACH", pt(PTRACE_ATTACH, c, 0, 0));
	wait_show("attached", c, 0);
	CHK("SETOPTIONS", pt(PTRACE_SETOPTIONS, c, 0, 0));
	CHK("GETSIGINFO in group stop", pt(PTRACE_GETSIGINFO, c, 0, &si));
	CHK("DETACH", pt(PTRACE_DETACH, c, 0, 0));
	usleep(200000);
	CHK("waitpid WUNTRACED|WNOHANG", waitpid(c, &st, WUNTRACED | WNOHANG));
	CHK("kill SIGCONT", kill(c, SIGCONT));
	wait_show("continued", c, WCONTINUED);
	CHK("kill SIGKILL", kill(c, SIGKILL));
	wait_show("end", c, 0);
}

static int readable(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, ms);
}

static void tracer_holds_exit(void)
{
	int to_child[2], to_gc[2], from_child[2];
	pipe(to_child);
	pipe(to_gc);
	pipe(from_child);
	pid_t c = fork();
	if (c == 0) {
		pid_t g = fork();
		if (g == 0) {
			char b;
			read(to_gc[0], &b, 1);
			_exit(7);
		}
		write(to_child[1], &g, sizeof(g));
		int st = 0;
		pid_t r = waitpid(g, &st, 0);
		int out[2] = {r == g, st};
		write(from_child[1], out, sizeof(out));
		_exit(0);
	}
	pid_t g;
	read(to_child[0], &g, sizeof(g));
	CHK("SEIZE grandchild", pt(PTRACE_SEIZE, g, 0, 0));
	write(to_gc[1], "x", 1);
	siginfo_t si = {0};
	CHK("waitid WNOWAIT", waitid(P_PID, g, &si, WEXITED | WNOWAIT));
	printf("waitid: code=%d status=%d\n", si.si_code, si.si_status);
	printf("parent reaped before the tracer: %d\n", readable(from_child[0], 300));
	int st = 0;
	FACT(waitpid(g, &st, 0) == g);
	show("tracer collected", st);
	printf("parent reaped after the tracer: %d\n", readable(from_child[0], 5000));
	int out[2] = {0, 0};
	read(from_child[0], out, sizeof(out));
	printf("parent's wait4 found it: %d\n", out[0]);
	show("parent saw", out[1]);
	wait_show("child", c, 0);
}

int main(void)
{
	dt_init();
	listen_stays_stopped();
	attach_to_stopped();
	tracer_holds_exit();
	return 0;
}
