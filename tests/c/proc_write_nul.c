// Writing a value with its terminating NUL to /proc/self/{oom_score_adj,
// coredump_filter} sets the value: Linux reads the bytes as a C string.
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void put(const char *path, const char *v, size_t n) {
    int fd = open(path, O_WRONLY);
    if (fd < 0) { printf("%s: open failed\n", path); return; }
    ssize_t r = write(fd, v, n);
    printf("%s write %zu bytes: %zd\n", path, n, r);
    close(fd);
}

static void show(const char *path) {
    char b[64] = {0};
    int fd = open(path, O_RDONLY);
    ssize_t n = read(fd, b, sizeof b - 1);
    close(fd);
    printf("%s = %s", path, n > 0 ? b : "?\n");
}

int main(void) {
    put("/proc/self/oom_score_adj", "7", 2);
    show("/proc/self/oom_score_adj");
    put("/proc/self/oom_score_adj", "12\0junk", 7);
    show("/proc/self/oom_score_adj");
    put("/proc/self/coredump_filter", "7", 2);
    show("/proc/self/coredump_filter");
    put("/proc/self/coredump_filter", "x", 2);
    show("/proc/self/coredump_filter");
    return 0;
}
