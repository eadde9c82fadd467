// An unaligned access with EFLAGS.AC set raises #AC: the program gets
// SIGBUS with si_code BUS_ADRALN (the default action kills it with
// SIGBUS), not the SIGSEGV of a page fault.
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void set_ac(void) {
    asm volatile(
        "subq $128, %%rsp\n"
        "pushf\n"
        "pop %%rax\n"
        "or $0x40000, %%rax\n"
        "push %%rax\n"
        "popf\n"
        "addq $128, %%rsp\n" ::: "ax", "cc", "memory");
}

static void unaligned_stores(void) {
    char array[16];
    for (int i = 0; i < 8; i++) {
        uint64_t *ptr = (uint64_t *)&array[i];
        asm volatile("mov %0, 0(%0)\n" : : "r"(ptr) : "memory");
    }
}

static void on_bus(int sig, siginfo_t *si, void *ctx) {
    (void)ctx;
    // Exit status: the signal and its code. EFLAGS.AC is still set here,
    // so only aligned accesses: the raw exit system call.
    long code = sig == SIGBUS && si->si_code == BUS_ADRALN ? 42 : 43;
    asm volatile("syscall" : : "a"(231L), "D"(code) : "rcx", "r11", "memory");
}

int main(void) {
    pid_t c = fork();
    if (c == 0) {
        set_ac();
        unaligned_stores();
        _exit(0);
    }
    int st = 0;
    waitpid(c, &st, 0);
    printf("default action: signaled=%d sig=%s\n", WIFSIGNALED(st),
           WIFSIGNALED(st) ? strsignal(WTERMSIG(st)) : "-");

    c = fork();
    if (c == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_bus;
        sa.sa_flags = SA_SIGINFO;
        sigaction(SIGBUS, &sa, NULL);
        set_ac();
        unaligned_stores();
        _exit(0);
    }
    waitpid(c, &st, 0);
    printf("handler: exit %d (42: SIGBUS with BUS_ADRALN)\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    return 0;
}
