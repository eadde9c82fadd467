/* /proc/PID/stat and status show a process running in user code as R,
 * one blocked in a wait as S, a stopped one as T, and the reader itself
 * as R; a spinning process's user time grows. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char state_of(pid_t pid, long *utime) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return '?';
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p) return '?';
    char st;
    long ut = 0;
    /* state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime */
    if (sscanf(p + 2, "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld", &st, &ut) != 2)
        return '?';
    if (utime) *utime = ut;
    return st;
}

static char status_state(pid_t pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return '?';
    char st = '?';
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "State:\t", 7) == 0) st = line[7];
    fclose(f);
    return st;
}

static void settle(void) {
    struct timespec ts = {0, 300 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

int main(void) {
    printf("self: %c %c\n", state_of(getpid(), NULL), status_state(getpid()));

    pid_t spin = fork();
    if (spin == 0) {
        volatile unsigned long x = 0;
        for (;;) x++;
    }
    settle();
    long ut1 = 0, ut2 = 0;
    char s1 = state_of(spin, &ut1);
    settle();
    char s2 = state_of(spin, &ut2);
    printf("spinning: %c %c %c, user time grows: %d\n", s1, s2, status_state(spin),
           ut2 > ut1 && ut1 > 0);

    kill(spin, SIGSTOP);
    int st;
    waitpid(spin, &st, WUNTRACED);
    printf("stopped: %c %c\n", state_of(spin, NULL), status_state(spin));
    kill(spin, SIGKILL);
    waitpid(spin, &st, 0);

    pid_t sleeper = fork();
    if (sleeper == 0) {
        pause();
        _exit(0);
    }
    settle();
    printf("paused: %c %c\n", state_of(sleeper, NULL), status_state(sleeper));
    kill(sleeper, SIGKILL);
    waitpid(sleeper, &st, 0);
    return 0;
}
