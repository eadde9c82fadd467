// ppoll/pselect6 (and glibc's select, built on pselect6) write the time
// left back to the caller's timeout; a thread-directed signal whose action
// is "ignore" and that the thread does not block is dropped at once, even
// while the thread waits for it in sigtimedwait.
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(void) {
    alarm(10);
    struct timespec ts = {0, 10 * 1000 * 1000};
    // Raw calls: glibc's wrappers pass a copy of the timeout.
    int r = syscall(SYS_ppoll, NULL, 0, &ts, NULL, 8);
    printf("ppoll null fds: %d left=%ld.%09ld\n", r, (long)ts.tv_sec, ts.tv_nsec);
    ts.tv_sec = 0;
    ts.tv_nsec = 10 * 1000 * 1000;
    r = syscall(SYS_pselect6, 0, NULL, NULL, NULL, &ts, NULL);
    printf("pselect null fds: %d left=%ld.%09ld\n", r, (long)ts.tv_sec, ts.tv_nsec);
    struct timeval tv = {0, 10000};
    r = select(1, NULL, NULL, NULL, &tv);
    printf("select null fds: %d left=%ld.%06ld\n", r, (long)tv.tv_sec, (long)tv.tv_usec);
    // A ready descriptor returns early: the time left stays near the start.
    int p[2];
    if (pipe(p) || write(p[1], "x", 1) != 1) return 1;
    struct pollfd pf = {p[0], POLLIN, 0};
    ts.tv_sec = 5;
    ts.tv_nsec = 0;
    r = syscall(SYS_ppoll, &pf, 1, &ts, NULL, 8);
    printf("ppoll ready: %d left>4s=%d\n", r, ts.tv_sec >= 4);

    // SIGUSR1 ignored and unblocked: tgkill drops it, sigtimedwait times out.
    signal(SIGUSR1, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    syscall(SYS_tgkill, getpid(), gettid(), SIGUSR1);
    struct timespec zero = {0, 0};
    r = sigtimedwait(&set, NULL, &zero);
    printf("ignored unblocked tgkill: %d %s\n", r, r < 0 ? strerror(errno) : "");
    // Blocked, it stays pending even though ignored.
    sigprocmask(SIG_BLOCK, &set, NULL);
    syscall(SYS_tgkill, getpid(), gettid(), SIGUSR1);
    r = sigtimedwait(&set, NULL, &zero);
    printf("ignored blocked tgkill: %d\n", r);
    // rt_tgsigqueueinfo follows the same rule.
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_signo = SIGUSR1;
    si.si_code = SI_QUEUE;
    r = syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid(), SIGUSR1, &si);
    int w = sigtimedwait(&set, NULL, &zero);
    printf("ignored queued: %d %d %s\n", r, w, w < 0 ? strerror(errno) : "");
    return 0;
}
