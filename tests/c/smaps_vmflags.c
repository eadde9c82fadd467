// smaps' VmFlags of file mappings: a shared mapping of a file opened
// read-only loses VM_SHARED and VM_MAYWRITE ("sh", "mw") but keeps
// VM_MAYSHARE ("ms"), as Linux's do_mmap clears them, and cannot be made
// writable; one of a file opened read-write keeps all three; a private
// mapping may always be made writable.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static char buf[1 << 20];

static void flags_of(const char *what, void *addr) {
    int fd = open("/proc/self/smaps", O_RDONLY);
    size_t n = 0;
    ssize_t r;
    while ((r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0) n += r;
    buf[n] = 0;
    close(fd);
    char head[32];
    snprintf(head, sizeof head, "%lx-", (unsigned long)addr);
    char *at = NULL;
    for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, head, strlen(head)) == 0) {
            at = line;
            break;
        }
    }
    char *vf = at ? strstr(at, "VmFlags:") : NULL;
    if (!vf) {
        printf("%s: no VmFlags\n", what);
        return;
    }
    char *end = strchr(vf, '\n');
    if (end) *end = 0;
    const char *codes[] = {"rd", "wr", "sh", "mr", "mw", "ms"};
    printf("%s:", what);
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        char pat[8];
        snprintf(pat, sizeof pat, " %s", codes[i]);
        char *p = strstr(vf, pat);
        if (p && (p[3] == ' ' || p[3] == 0)) printf(" %s", codes[i]);
    }
    printf("\n");
}

int main(void) {
    char path[] = "/tmp/smaps_vmflags_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || ftruncate(fd, 8192) != 0) return 1;
    int ro = open(path, O_RDONLY);
    unlink(path);

    void *a = mmap(NULL, 8192, PROT_READ, MAP_SHARED, ro, 0);
    flags_of("shared, file read-only", a);
    int r = mprotect(a, 8192, PROT_READ | PROT_WRITE);
    printf("  mprotect(+WRITE): %d %s\n", r, r < 0 ? strerror(errno) : "");

    void *b = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0);
    flags_of("shared, file read-write", b);
    r = mprotect(b, 8192, PROT_READ | PROT_WRITE);
    printf("  mprotect(+WRITE): %d %s\n", r, r < 0 ? strerror(errno) : "");
    flags_of("  after it", b);

    void *c = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, ro, 0);
    flags_of("private, file read-only", c);
    r = mprotect(c, 8192, PROT_READ | PROT_WRITE);
    printf("  mprotect(+WRITE): %d %s\n", r, r < 0 ? strerror(errno) : "");

    void *d = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    flags_of("shared anonymous", d);
    return 0;
}
