// A child that traces itself (PTRACE_TRACEME) and exits stays its parent's
// tracee as a zombie: wait4 with __WCLONE finds and reaps it although it
// signals its end with SIGCHLD, as Linux's do_wait scans the ptrace list.
// An untraced fork child is still invisible to __WCLONE.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t child(int traced, int code) {
    int fds[2];
    if (pipe(fds) != 0) return -1;
    pid_t c = fork();
    if (c == 0) {
        close(fds[0]);
        if (traced && ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0) _exit(99);
        close(fds[1]);
        _exit(code);
    }
    close(fds[1]);
    char ch;
    // EOF once the child has become a tracee (or exited).
    while (read(fds[0], &ch, 1) > 0) {
    }
    close(fds[0]);
    // Let it become a zombie without reaping it.
    siginfo_t si;
    memset(&si, 0, sizeof si);
    waitid(P_PID, c, &si, WEXITED | WNOWAIT);
    return c;
}

static void report(const char *what, pid_t want, pid_t pid, int options) {
    int st = 0;
    pid_t got = wait4(pid, &st, options, NULL);
    if (got < 0)
        printf("%s: -1 %s\n", what, strerror(errno));
    else
        printf("%s: %s exited=%d code=%d\n", what, got == want ? "the child" : "another",
               WIFEXITED(st), WEXITSTATUS(st));
}

int main(void) {
    alarm(10);  // a regression would otherwise hang the test
    pid_t c = child(1, 3);
    report("traced zombie, __WCLONE", c, c, __WCLONE);
    int st;
    pid_t r = wait4(-1, &st, WNOHANG, NULL);
    printf("left over after reaping it: %s\n", r < 0 && errno == ECHILD ? "none" : "a child");

    c = child(1, 4);
    report("traced zombie, any child __WCLONE", c, -1, __WCLONE);

    c = child(0, 5);
    report("untraced zombie, __WCLONE", c, c, __WCLONE | WNOHANG);
    report("untraced zombie, plain", c, c, 0);
    return 0;
}
