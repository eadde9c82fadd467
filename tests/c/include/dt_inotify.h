/* inotify helpers shared by the tests/c/inotify_*.c tests. */
#ifndef DT_INOTIFY_H
#define DT_INOTIFY_H

#include <stdio.h>
#include <sys/inotify.h>
#include <unistd.h>

static char dt_ibuf[1 << 16] __attribute__((aligned(8)));

/* Reads what is queued on `fd` and prints "wd:mask[:name]" per event. */
static inline void show(int fd, const char *step)
{
	ssize_t n = read(fd, dt_ibuf, sizeof(dt_ibuf));
	printf("%s: read=%zd", step, n);
	for (ssize_t off = 0; off < n;) {
		struct inotify_event *e = (struct inotify_event *)(dt_ibuf + off);
		printf(" %d:%#x%s%s", e->wd, e->mask, e->len ? ":" : "", e->len ? e->name : "");
		off += sizeof(*e) + e->len;
	}
	printf("\n");
}

#endif
