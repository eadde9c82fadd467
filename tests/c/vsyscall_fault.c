// Legacy vsyscalls (calls into the fixed [vsyscall] page, emulated by the
// kernel): a good pointer works as the syscall does; a bad one is not
// EFAULT but a SIGSEGV, as Linux's emulate_vsyscall sends. Each call runs
// in a child, so a host without the page (SIGSEGV for both) prints the
// same natively and in the sandbox.
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef long (*time_fn)(long *);
typedef long (*gtod_fn)(struct timeval *, struct timezone *);
#define VSYS_GETTIMEOFDAY ((gtod_fn)0xffffffffff600000)
#define VSYS_TIME ((time_fn)0xffffffffff600400)

static void run(const char *what, int which) {
    pid_t c = fork();
    if (c == 0) {
        long r = -1;
        long t = 0;
        struct timeval tv = {0, 0};
        switch (which) {
        case 0:
            r = VSYS_TIME(&t);
            _exit(r == t && t > 0 ? 0 : 1);
        case 1:
            r = VSYS_TIME((long *)1);
            _exit(r == -14 ? 2 : 3);
        case 2:
            r = VSYS_GETTIMEOFDAY(&tv, NULL);
            _exit(r == 0 && tv.tv_sec > 0 ? 0 : 1);
        case 3:
            r = VSYS_GETTIMEOFDAY((struct timeval *)1, (struct timezone *)1);
            _exit(r == -14 ? 2 : 3);
        }
        _exit(4);
    }
    int st = 0;
    waitpid(c, &st, 0);
    if (WIFSIGNALED(st))
        printf("%s: killed by signal %d\n", what, WTERMSIG(st));
    else
        printf("%s: exit %d (0 ok, 2 EFAULT)\n", what, WEXITSTATUS(st));
}

int main(void) {
    run("time(&t)", 0);
    run("time(1)", 1);
    run("gettimeofday(&tv, NULL)", 2);
    run("gettimeofday(1, 1)", 3);
    return 0;
}
