/* Helpers for the pseudo-terminal tests: terminal input is processed
 * asynchronously by Linux, so reads wait for what they expect. */
#ifndef DT_PTY_H
#define DT_PTY_H

#include <poll.h>
#include <stdio.h>
#include <unistd.h>

/* Reads until `want` bytes arrived or 2 s passed without any; the result
 * is NUL-terminated (buf holds want + 1 bytes). */
static inline int dt_read_n(int fd, char *buf, int want)
{
	int got = 0;
	while (got < want) {
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, 2000) <= 0)
			break;
		int n = read(fd, buf + got, want - got);
		if (n <= 0)
			break;
		got += n;
	}
	buf[got] = 0;
	return got;
}

/* Prints `n` bytes quoted, control characters escaped. */
static inline void dt_show(const char *what, const char *b, int n)
{
	printf("%s: \"", what);
	for (int i = 0; i < n; i++) {
		unsigned char c = b[i];
		if (c == '\n')
			printf("\\n");
		else if (c == '\r')
			printf("\\r");
		else if (c < 32 || c >= 127)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	printf("\"\n");
}

#endif
