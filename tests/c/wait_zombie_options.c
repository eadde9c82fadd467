// waitid/wait4 edge cases around a zombie child: without WEXITED a zombie
// can report nothing, so the caller gets ECHILD instead of blocking forever.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void zombie(void) {
    pid_t c = fork();
    if (c == 0) _exit(3);
    // Let it become a zombie without reaping it.
    siginfo_t si;
    memset(&si, 0, sizeof si);
    waitid(P_PID, c, &si, WEXITED | WNOWAIT);
}

int main(void) {
    alarm(10);  // a regression would otherwise hang the test
    zombie();
    siginfo_t si;
    int r = waitid(P_ALL, 0, &si, WSTOPPED);
    printf("waitid(P_ALL, WSTOPPED) on zombie: %d %s\n", r, r < 0 ? strerror(errno) : "");
    r = waitid(P_ALL, 0, &si, WCONTINUED);
    printf("waitid(P_ALL, WCONTINUED) on zombie: %d %s\n", r, r < 0 ? strerror(errno) : "");
    r = waitid(P_ALL, 0, &si, WSTOPPED | WCONTINUED | WNOHANG);
    printf("waitid(WSTOPPED|WCONTINUED|WNOHANG) on zombie: %d %s\n", r, r < 0 ? strerror(errno) : "");
    memset(&si, 0, sizeof si);
    r = waitid(P_ALL, 0, &si, WEXITED);
    printf("waitid(P_ALL, WEXITED): %d code=%d status=%d\n", r, si.si_code == CLD_EXITED, si.si_status);
    r = waitid(P_ALL, 0, &si, WEXITED);
    printf("again: %d %s\n", r, r < 0 ? strerror(errno) : "");

    // A live child stays a candidate for WSTOPPED: WNOHANG reports nothing.
    int p[2];
    if (pipe(p)) return 1;
    pid_t c = fork();
    if (c == 0) {
        char b;
        close(p[1]);
        read(p[0], &b, 1);
        _exit(0);
    }
    close(p[0]);
    memset(&si, 0, sizeof si);
    r = waitid(P_PID, c, &si, WSTOPPED | WNOHANG);
    printf("live child WSTOPPED|WNOHANG: %d pid=%d\n", r, si.si_pid);
    close(p[1]);
    int st;
    printf("reaped: %d\n", waitpid(c, &st, 0) == c && WIFEXITED(st));
    return 0;
}
