// clone(CLONE_THREAD | CLONE_VFORK) whose new thread execs: the creating
// thread sleeps until the exec, which ends it with every other thread, so
// clone never returns to it and the process becomes the new program. A
// thread that exits instead releases its creator, whose clone returns.
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define FLAGS (CLONE_FILES | CLONE_FS | CLONE_SIGHAND | CLONE_THREAD | CLONE_VM | CLONE_VFORK)

static char *const true_argv[] = {"/bin/sh", "-c", "exit 7", NULL};
static volatile int thread_ran;

static int execer(void *arg) {
    (void)arg;
    // Give the creator time to go to sleep in clone.
    usleep(100 * 1000);
    execve(true_argv[0], true_argv, NULL);
    return errno;
}

static int leaver(void *arg) {
    (void)arg;
    usleep(100 * 1000);
    thread_ran = 1;
    syscall(SYS_exit, 0);
    return 0;
}

static void *stack(void) {
    char *s = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return s + (1 << 16);
}

int main(void) {
    alarm(10);  // a regression would otherwise hang the test
    pid_t c = fork();
    if (c == 0) {
        clone(execer, stack(), FLAGS, NULL);
        // Never reached when the exec ends this thread first.
        _exit(100);
    }
    int st = 0;
    waitpid(c, &st, 0);
    printf("exec from a vfork thread: exited=%d code=%d\n", WIFEXITED(st), WEXITSTATUS(st));

    int r = clone(leaver, stack(), FLAGS, NULL);
    printf("exit from a vfork thread: clone %s, thread ran first: %d\n", r > 0 ? "returned a tid" : "failed",
           thread_ran);
    return 0;
}
