// madvise fork advice: MADV_WIPEONFORK gives a fork child zero-filled
// private anonymous memory (the parent keeps its data), MADV_KEEPONFORK
// undoes it, MADV_DONTFORK leaves the mapping out of the child (SIGSEGV
// there), MADV_DOFORK undoes it; WIPEONFORK on shared or file memory is
// EINVAL, unmapped ranges ENOMEM, unaligned EINVAL.
#include "dt.h"
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG 4096

// The child's view of the first byte of each page, or its signal.
static void probe(const char *what, volatile char *p, int pages)
{
	pid_t c = fork();
	if (c == 0) {
		int sum = 0;
		for (int i = 0; i < pages; i++)
			sum = sum * 10 + (p[i * PG] != 0);
		_exit(sum % 256);
	}
	int st;
	waitpid(c, &st, 0);
	if (WIFSIGNALED(st))
		printf("%s: child killed by %s\n", what, strsignal(WTERMSIG(st)));
	else
		printf("%s: child sees %d\n", what, WEXITSTATUS(st));
}

int main(void)
{
	dt_init();
	char *p = mmap(0, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(p, 'x', 3 * PG);
	CHK("wipe middle page", madvise(p + PG, PG, MADV_WIPEONFORK));
	probe("after wipe", p, 3);
	printf("parent still has data: %d\n", p[PG] == 'x');
	// Written after fork as before: the setting stays.
	p[PG] = 'y';
	probe("again", p, 3);
	CHK("keep", madvise(p, 3 * PG, MADV_KEEPONFORK));
	probe("after keep", p, 3);
	CHK("wipe all", madvise(p, 3 * PG, MADV_WIPEONFORK));
	probe("all wiped", p, 3);
	CHK("keep all", madvise(p, 3 * PG, MADV_KEEPONFORK));

	CHK("dontfork last page", madvise(p + 2 * PG, PG, MADV_DONTFORK));
	probe("dontfork, first two pages", p, 2);
	probe("dontfork, third page", p + 2 * PG, 1);
	CHK("dofork", madvise(p + 2 * PG, PG, MADV_DOFORK));
	probe("dofork", p, 3);

	// A large region (copied copy-on-write, not at once) is wiped too.
	size_t big = 256 * PG;
	char *b = mmap(0, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(b, 'z', big);
	CHK("wipe big", madvise(b, big, MADV_WIPEONFORK));
	pid_t c = fork();
	if (c == 0) {
		for (size_t i = 0; i < big; i++)
			if (b[i])
				_exit(1);
		b[0] = 1; // the child can use it
		_exit(b[0] == 1 ? 0 : 2);
	}
	int st;
	waitpid(c, &st, 0);
	printf("big wiped in child: exit=%d\n", WEXITSTATUS(st));
	printf("parent big intact: %d\n", b[big - 1] == 'z' && b[0] == 'z');

	// Errors.
	char *s = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHK("wipe shared", madvise(s, PG, MADV_WIPEONFORK));
	CHK("dontfork shared", madvise(s, PG, MADV_DONTFORK));
	int fd = open("/proc/self/exe", O_RDONLY);
	char *f = mmap(0, PG, PROT_READ, MAP_PRIVATE, fd, 0);
	CHK("wipe file", madvise(f, PG, MADV_WIPEONFORK));
	CHK("keep file", madvise(f, PG, MADV_KEEPONFORK));
	CHK("wipe unaligned", madvise(p + 1, PG, MADV_WIPEONFORK));
	CHK("wipe zero len", madvise(p, 0, MADV_WIPEONFORK));
	munmap(p + PG, PG);
	CHK("wipe over hole", madvise(p, 3 * PG, MADV_WIPEONFORK));
	return 0;
}
