// difftest: static
// Landlock domains: per thread, inherited by fork and kept across execve,
// stacked layers each checked, EXECUTE and READ_FILE needed to exec.
#include "dt.h"
#include "ll.h"
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>

static int wait_child(pid_t p)
{
	int st;
	waitpid(p, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void *thread_restricts(void *arg)
{
	(void)arg;
	int rs = ll_ruleset(LL_READ_FILE);
	CHK("thread: restrict", ll_restrict(rs, 0));
	CHK("thread: open secret", open("secret", O_RDONLY));
	return NULL;
}

static void threads(void)
{
	pthread_t th;
	pthread_create(&th, NULL, thread_restricts, NULL);
	pthread_join(th, NULL);
	CHKOK("main thread: open secret", open("secret", O_RDONLY));
}

static void forks_and_execs(const char *self)
{
	int rs = ll_ruleset(LL_READ_FILE | LL_EXECUTE);
	CHK("rule self", ll_allow(rs, self, LL_READ_FILE | LL_EXECUTE));
	CHK("rule ok dir", ll_allow(rs, "ok", LL_READ_FILE));
	CHK("restrict", ll_restrict(rs, 0));
	pid_t p = fork();
	if (p == 0) {
		CHK("fork child: open secret", open("secret", O_RDONLY));
		_exit(0);
	}
	wait_child(p);
	p = fork();
	if (p == 0) {
		CHK("exec self", execl(self, self, "probe", (char *)NULL));
		_exit(99);
	}
	printf("exec'd probe exit=%d\n", wait_child(p));
	p = fork();
	if (p == 0) {
		CHK("exec ok/copy (READ_FILE, no EXECUTE)", execl("ok/copy", "copy", "probe", (char *)NULL));
		CHK("exec secret-copy (neither)", execl("secret-copy", "copy", "probe", (char *)NULL));
		_exit(0);
	}
	wait_child(p);
}

static void layers(void)
{
	int l1 = ll_ruleset(LL_READ_FILE);
	CHK("layer 1: rule ok", ll_allow(l1, "ok", LL_READ_FILE));
	CHK("layer 1: rule secret", ll_allow(l1, "secret", LL_READ_FILE));
	CHK("layer 1: restrict", ll_restrict(l1, 0));
	CHKOK("1 layer: open secret", open("secret", O_RDONLY));
	int l2 = ll_ruleset(LL_READ_FILE | LL_WRITE_FILE);
	CHK("layer 2: rule ok", ll_allow(l2, "ok", LL_READ_FILE | LL_WRITE_FILE));
	CHK("layer 2: restrict", ll_restrict(l2, 0));
	CHK("2 layers: open secret", open("secret", O_RDONLY));
	CHKOK("2 layers: open ok/f", open("ok/f", O_RDONLY));
	CHKOK("2 layers: open ok/f write (layer 1 leaves writes)", open("ok/f", O_WRONLY));
	/* A layer that handles only WRITE_FILE leaves reads to the others. */
	int l3 = ll_ruleset(LL_WRITE_FILE);
	CHK("layer 3: rule ok", ll_allow(l3, "ok", LL_WRITE_FILE));
	CHK("layer 3: restrict", ll_restrict(l3, 0));
	CHKOK("3 layers: open ok/f rdwr", open("ok/f", O_RDWR));
	/* A later ruleset change does not reach an enforced domain. */
	CHK("add to enforced ruleset", ll_allow(l2, "secret", LL_READ_FILE));
	CHK("after: open secret", open("secret", O_RDONLY));
}

static long attach_detach(pid_t p)
{
	long r = ptrace(PTRACE_ATTACH, p, 0, 0);
	if (r == 0) {
		waitpid(p, NULL, __WALL);
		ptrace(PTRACE_DETACH, p, 0, 0);
	}
	return r;
}

/* ptrace reaches only tasks in the tracer's domain or one below it. */
static void ptrace_scope(void)
{
	pid_t parent = getppid();
	/* Handles only EXECUTE: files stay readable and writable. */
	int rs = ll_ruleset(LL_EXECUTE);
	CHK("ptrace case: restrict", ll_restrict(rs, 0));
	pid_t same = fork();
	if (same == 0) {
		pause();
		_exit(0);
	}
	pid_t deeper = fork();
	if (deeper == 0) {
		ll_restrict(ll_ruleset(LL_EXECUTE), 0);
		pause();
		_exit(0);
	}
	usleep(100000);
	CHK("attach a child in the same domain", attach_detach(same));
	CHK("attach a child in a nested domain", attach_detach(deeper));
	CHK("attach the unrestricted parent", ptrace(PTRACE_ATTACH, parent, 0, 0));
	char mem[64];
	snprintf(mem, sizeof(mem), "/proc/%d/mem", (int)parent);
	CHK("open the parent's /proc/PID/mem", open(mem, O_RDWR));
	snprintf(mem, sizeof(mem), "/proc/%d/mem", (int)same);
	CHKOK("open a same-domain child's /proc/PID/mem", open(mem, O_RDWR));
	kill(same, SIGKILL);
	kill(deeper, SIGKILL);
	wait_child(same);
	wait_child(deeper);
	pid_t me = fork();
	if (me == 0) {
		ll_restrict(ll_ruleset(LL_EXECUTE), 0);
		CHK("traceme under a nested domain", ptrace(PTRACE_TRACEME, 0, 0, 0));
		_exit(0);
	}
	wait_child(me);
}

static void copy(const char *from, const char *to)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "cp %s %s", from, to);
	if (system(cmd) != 0)
		exit(2);
}

int main(int argc, char **argv)
{
	dt_init();
	if (argc > 1) {
		/* The exec'd image: still restricted. */
		CHK("probe: open secret", open("secret", O_RDONLY));
		CHKOK("probe: open ok/f", open("ok/f", O_RDONLY));
		return 7;
	}
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return 2;
	self[n] = 0;
	mkdir("ok", 0755);
	close(open("ok/f", O_CREAT | O_WRONLY, 0644));
	close(open("secret", O_CREAT | O_WRONLY, 0644));
	copy(self, "ok/copy");
	copy(self, "secret-copy");
	CHK("no_new_privs", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
	void (*cases[])(void) = { threads, layers, ptrace_scope };
	for (unsigned i = 0; i < 3; i++) {
		pid_t p = fork();
		if (p == 0) {
			cases[i]();
			_exit(0);
		}
		printf("case %u exit=%d\n", i, wait_child(p));
	}
	pid_t p = fork();
	if (p == 0) {
		forks_and_execs(self);
		_exit(0);
	}
	printf("exec case exit=%d\n", wait_child(p));
	return system("rm -rf ok secret secret-copy") != 0;
}
