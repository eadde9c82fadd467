// stdin, argv and environment passing: the harness feeds a fixed text on
// stdin, passes fixed arguments and sets DIFFTEST=1 in the environment.
// difftest: args one two three
// difftest: stdin first line\nsecond line\nno newline at end
#include "dt.h"
#include <unistd.h>

int main(int argc, char **argv)
{
	dt_init();
	for (int i = 1; i < argc; i++)
		printf("arg %d: [%s]\n", i, argv[i]);
	const char *v = getenv("DIFFTEST");
	printf("DIFFTEST=%s\n", v ? v : "(unset)");
	printf("PATH set: %s\n", getenv("PATH") ? "yes" : "no");

	char buf[256];
	size_t total = 0;
	ssize_t n;
	while ((n = read(0, buf + total, sizeof(buf) - 1 - total)) > 0)
		total += n;
	printf("final read: ret=%zd\n", n);
	buf[total] = 0;
	printf("stdin bytes=%zu\n", total);
	int line = 1;
	for (char *s = buf, *nl; *s; s = nl + 1, line++) {
		nl = strchr(s, '\n');
		if (!nl) {
			printf("line %d (unterminated): %s\n", line, s);
			break;
		}
		printf("line %d: %.*s\n", line, (int)(nl - s), s);
	}
	return 0;
}
