// __WNOTHREAD limits a wait to the children the calling thread created: a
// sibling thread's child is ECHILD to it, its creator reaps it; once the
// creating thread has ended, its zombie child passes to a remaining thread.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t child;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int ready, stop;

static void show(const char *what, pid_t r) {
    if (r < 0)
        printf("%s: -1 %s\n", what, strerror(errno));
    else
        printf("%s: %s\n", what, r == child ? "the child" : "another");
}

static pid_t zombie(void) {
    pid_t c = fork();
    if (c == 0) _exit(0);
    siginfo_t si;
    waitid(P_PID, c, &si, WEXITED | WNOWAIT);
    return c;
}

static void *creator(void *arg) {
    int reap_itself = *(int *)arg;
    pthread_mutex_lock(&mu);
    child = zombie();
    ready = 1;
    pthread_cond_broadcast(&cv);
    while (!stop) pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    if (reap_itself) show("creator, __WNOTHREAD", waitpid(child, NULL, __WNOTHREAD));
    return NULL;
}

static void run(int reap_itself) {
    pthread_t t;
    ready = stop = 0;
    pthread_create(&t, NULL, creator, &reap_itself);
    pthread_mutex_lock(&mu);
    while (!ready) pthread_cond_wait(&cv, &mu);
    show("sibling, __WNOTHREAD", waitpid(child, NULL, __WNOTHREAD | WNOHANG));
    siginfo_t si;
    memset(&si, 0, sizeof si);
    int r = waitid(P_PID, child, &si, WEXITED | WNOHANG | WNOWAIT | __WNOTHREAD);
    printf("sibling, waitid __WNOTHREAD: %d %s\n", r, r < 0 ? strerror(errno) : "");
    stop = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    pthread_join(t, NULL);
}

int main(void) {
    alarm(10);  // a regression would otherwise hang the test
    run(1);
    // The creator ends without reaping: its zombie becomes the main
    // thread's to wait for.
    run(0);
    show("after the creator ended, __WNOTHREAD", waitpid(child, NULL, __WNOTHREAD));
    child = zombie();
    show("own child, __WNOTHREAD", waitpid(child, NULL, __WNOTHREAD));
    return 0;
}
