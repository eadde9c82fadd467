// A handler that keeps raising its signal on the alternate stack until the
// frames reach its bottom: the next frame is not written below the stack
// (the sandbox did, and livelocked); SIGSEGV is forced instead, which kills
// the process, or runs a SIGSEGV handler that has room on the normal stack.
#include "dt.h"
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile long depth;

static void recurse(int sig)
{
	(void)sig;
	depth++;
	raise(SIGUSR1);
}

static void on_segv(int sig)
{
	(void)sig;
	// Nested tens of frames deep on a 64 KiB stack.
	_exit(depth > 5 && depth < 1000 ? 3 : 4);
}

static pid_t child(int segv_handler)
{
	pid_t c = fork();
	if (c != 0)
		return c;
	// The upper half of a mapping is the alternate stack: frames walking
	// off its bottom would land in the lower half, still mapped.
	size_t sz = 64 * 1024;
	char *mem = mmap(NULL, 2 * sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	stack_t ss = { .ss_sp = mem + sz, .ss_size = sz, .ss_flags = 0 };
	sigaltstack(&ss, NULL);
	struct sigaction sa = { .sa_handler = recurse, .sa_flags = SA_ONSTACK | SA_NODEFER };
	sigaction(SIGUSR1, &sa, NULL);
	if (segv_handler) {
		struct sigaction sv = { .sa_handler = on_segv };
		sigaction(SIGSEGV, &sv, NULL);
	}
	raise(SIGUSR1);
	_exit(0);
}

static void report(const char *what, pid_t c)
{
	int st;
	CHKOK(what, waitpid(c, &st, 0));
	printf("%s: exited=%d code=%d signaled=%d sig=%d\n", what, WIFEXITED(st),
	       WIFEXITED(st) ? WEXITSTATUS(st) : 0, WIFSIGNALED(st),
	       WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

int main(void)
{
	dt_init();
	alarm(20);
	report("no SIGSEGV handler", child(0));
	report("SIGSEGV handler on the normal stack", child(1));
	return 0;
}
