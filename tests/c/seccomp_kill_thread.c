// SECCOMP_RET_KILL_THREAD ends only the calling thread while others live:
// a CLONE_VFORK thread killed by it releases its creator, and the process
// goes on; the last thread killed takes the process down with SIGSYS.
#define _GNU_SOURCE
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define FILTERED SYS_getppid

static void filter(void) {
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, FILTERED, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_THREAD),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof f / sizeof f[0], f};
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

static int victim(void *arg) {
    (void)arg;
    syscall(FILTERED);
    _exit(1);  // unreachable: the filter ends the thread
}

static void show(const char *what, int st) {
    if (WIFSIGNALED(st))
        printf("%s: killed by %s\n", what, WTERMSIG(st) == SIGSYS ? "SIGSYS" : "another signal");
    else
        printf("%s: exit %d\n", what, WEXITSTATUS(st));
}

int main(void) {
    alarm(10);  // a regression would otherwise hang the test
    char *stack = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    pid_t c = fork();
    if (c == 0) {
        filter();
        clone(victim, stack + (1 << 16),
              CLONE_FILES | CLONE_FS | CLONE_SIGHAND | CLONE_THREAD | CLONE_VM | CLONE_VFORK, NULL);
        _exit(7);
    }
    int st = 0;
    waitpid(c, &st, 0);
    show("killed vfork thread, creator exits 7", st);

    c = fork();
    if (c == 0) {
        filter();
        syscall(FILTERED);
        _exit(1);
    }
    waitpid(c, &st, 0);
    show("killed only thread", st);
    return 0;
}
