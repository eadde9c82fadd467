// fork with large private memory (shared copy-on-write by the sandbox):
// parent, child and grandchild each see only their own writes, before and
// after the others exit; a thread waiting on a futex in that memory is
// still woken after a fork; a vfork child's exec leaves the parent intact.
#include "dt.h"
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define BIG (8u << 20)

static unsigned char *buf;

static unsigned sum_at(const unsigned char *b)
{
	unsigned s = 0;
	for (size_t i = 0; i < BIG; i += 4096)
		s += b[i];
	return s;
}

static int wait_status(pid_t c)
{
	int st = -1;
	waitpid(c, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

static uint32_t *word;

static void *waiter(void *arg)
{
	(void)arg;
	while (__atomic_load_n(word, __ATOMIC_ACQUIRE) == 0)
		syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	return NULL;
}

int main(void)
{
	dt_init();
	buf = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (size_t i = 0; i < BIG; i++)
		buf[i] = (unsigned char)(i * 7);
	unsigned base = sum_at(buf);

	pid_t c = fork();
	if (c == 0) {
		buf[0] = 1;
		buf[BIG - 1] = 2;
		memset(buf + (3u << 20), 0xaa, 1u << 20);
		pid_t g = fork();
		if (g == 0) {
			int ok = buf[0] == 1 && buf[(3u << 20) + 5] == 0xaa;
			buf[0] = 3;
			memset(buf + (3u << 20), 0xbb, 4096);
			_exit(ok && buf[0] == 3 ? 0 : 1);
		}
		int gs = wait_status(g);
		int ok = buf[0] == 1 && buf[BIG - 1] == 2 && buf[(3u << 20)] == 0xaa;
		/* The grandchild is gone: this copy is written in place now. */
		buf[1] = 9;
		_exit(gs == 0 && ok && buf[1] == 9 ? 0 : 1);
	}
	printf("child and grandchild saw their own writes: %d\n", wait_status(c) == 0);
	printf("parent unchanged: %d\n", sum_at(buf) == base && buf[0] == 0 && buf[1] == 7);
	buf[5] = 42;
	printf("parent writes after the child exits: %d\n", buf[5] == 42);

	/* The parent writes while the child still reads the old contents. */
	int p[2];
	pipe(p);
	c = fork();
	if (c == 0) {
		char b;
		close(p[1]);
		read(p[0], &b, 1);
		_exit(buf[100] == 100 * 7 % 256 && buf[5] == 42 ? 0 : 1);
	}
	close(p[0]);
	memset(buf, 0x11, BIG);
	write(p[1], "x", 1);
	close(p[1]);
	printf("child keeps the fork-time contents: %d\n", wait_status(c) == 0);

	/* A thread sleeping on a futex in the shared memory is woken after a
	 * fork (the futex is keyed by address, not by the page's copy). */
	word = (uint32_t *)(buf + (1u << 20));
	*word = 0;
	pthread_t t;
	pthread_create(&t, NULL, waiter, NULL);
	usleep(20000);
	c = fork();
	if (c == 0)
		_exit(0);
	wait_status(c);
	__atomic_store_n(word, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	pthread_join(t, NULL);
	puts("futex waiter woken after fork: 1");

	/* vfork + exec from a process with large memory. */
	buf[7] = 77;
	c = vfork();
	if (c == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	printf("vfork child: %d, parent memory intact: %d\n", wait_status(c), buf[7] == 77 && buf[8] == 0x11);
	return 0;
}
