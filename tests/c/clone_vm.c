// CLONE_VM without CLONE_THREAD shares the address space: a vfork child's
// writes are the parent's, a clone(CLONE_VM) child's mmap is visible to
// its parent, posix_spawn works, a vfork child whose exec fails exits
// with its own status and leaves the parent intact.
#define _GNU_SOURCE
#include "dt.h"
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
static volatile int shared_word;
static void *volatile child_map;

static int child_fn(void *arg)
{
	(void)arg;
	shared_word = 42;
	char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p != MAP_FAILED)
		strcpy(p, "made by the child");
	child_map = p;
	return getpid() == getppid() ? 1 : 0;
}

int main(void)
{
	dt_init();
	pid_t c = vfork();
	if (c == 0) {
		shared_word = 7;
		_exit(3);
	}
	int st = -1;
	waitpid(c, &st, 0);
	printf("vfork child wrote the parent's memory: %d (status %d)\n", shared_word == 7, WEXITSTATUS(st));

	char *stack = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	c = clone(child_fn, stack + (1 << 16), CLONE_VM | SIGCHLD, NULL);
	FACT(c > 0);
	waitpid(c, &st, 0);
	printf("clone(CLONE_VM) child: status %d, word %d, its mapping reads \"%s\"\n", WEXITSTATUS(st),
	       shared_word, child_map ? (char *)child_map : "(none)");

	char *argv[] = {"echo", "spawned", NULL};
	pid_t sp;
	/* The child prints concurrently: report only after it is done. */
	int rc = posix_spawn(&sp, "/bin/echo", NULL, NULL, argv, environ);
	waitpid(sp, &st, 0);
	printf("posix_spawn: %d, child status %d\n", rc, WEXITSTATUS(st));
	CHK("posix_spawn missing", posix_spawn(&sp, "/nonexistent", NULL, NULL, argv, environ));

	c = vfork();
	if (c == 0) {
		execl("/nonexistent", "x", (char *)NULL);
		_exit(127);
	}
	waitpid(c, &st, 0);
	shared_word = 5;
	printf("vfork+failed exec: status %d, parent runs on: %d\n", WEXITSTATUS(st), shared_word == 5);
	return 0;
}
