// Syscall sites shared by several threads behave as on Linux however the
// sandbox serves them (it may rewrite a hot site while other threads of
// the process are stopped in it): a thread blocked in a `syscall; cmp`
// site that another thread then calls many times gets its own result and
// goes on correctly, and so does one blocked in a `mov $nr, %eax;
// syscall` site; four threads calling one site at once all get their
// own answers; a thread created after the rewrite uses the site too.
#include "dt.h"
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* long cmp_site(long nr, long a, long b, long c): `syscall; cmp
 * $-4095, %rax` as glibc's wrappers end, returning rax. */
long cmp_site(long nr, long a, long b, long c);
__asm__(".text\n"
	".globl cmp_site\n"
	"cmp_site:\n"
	"	mov %rdi, %rax\n"
	"	mov %rsi, %rdi\n"
	"	mov %rdx, %rsi\n"
	"	mov %rcx, %rdx\n"
	"	syscall\n"
	"	cmp $-4095, %rax\n"
	"	jae 1f\n"
	"	ret\n"
	"1:	ret\n");

/* long read_site(int fd, void *buf, long n): `mov $0, %eax; syscall`. */
long read_site(long fd, void *buf, long n);
__asm__(".text\n"
	".globl read_site\n"
	"read_site:\n"
	"	mov $0, %eax\n"
	"	syscall\n"
	"	ret\n");

/* long getppid_site(void): `mov $110, %eax; syscall`. */
long getppid_site(void);
__asm__(".text\n"
	".globl getppid_site\n"
	"getppid_site:\n"
	"	mov $110, %eax\n"
	"	syscall\n"
	"	ret\n");

static int cmp_pipe[2], mov_pipe[2], spare_pipe[2];
static volatile int blocked;

static void *blocked_in_cmp_site(void *arg)
{
	(void)arg;
	char buf[16] = {0};
	blocked = 1;
	long n = cmp_site(SYS_read, cmp_pipe[0], (long)buf, sizeof(buf));
	printf("blocked cmp-site read: ret=%ld data=%s\n", n, buf);
	return 0;
}

static void *blocked_in_mov_site(void *arg)
{
	(void)arg;
	char buf[16] = {0};
	blocked = 1;
	long n = read_site(mov_pipe[0], buf, sizeof(buf));
	printf("blocked mov-site read: ret=%ld data=%s\n", n, buf);
	return 0;
}

static long ppid;
static int hammer_wrong[4];

static void *hammer(void *arg)
{
	long i = (long)arg;
	for (int k = 0; k < 20000; k++) {
		if (getppid_site() != ppid)
			hammer_wrong[i]++;
		if (cmp_site(SYS_getppid, 0, 0, 0) != ppid)
			hammer_wrong[i]++;
	}
	return 0;
}

static volatile int stop_looping;
static long looping_wrong, looping_calls;

static void *loop_on_site(void *arg)
{
	(void)arg;
	while (!stop_looping) {
		if (getppid_site() != ppid)
			looping_wrong++;
		looping_calls++;
	}
	return 0;
}

static void wait_blocked(void)
{
	while (!blocked)
		usleep(1000);
	/* Long enough for the thread to be inside the read. */
	usleep(50000);
	blocked = 0;
}

int main(void)
{
	dt_init();
	ppid = getppid();
	CHK("pipe", pipe(cmp_pipe));
	CHK("pipe", pipe(mov_pipe));
	CHK("pipe", pipe(spare_pipe));

	/* A thread blocked after a `syscall` whose next instruction the
	 * other thread's calls may turn into part of a jump. */
	pthread_t t;
	CHKRC("pthread_create", pthread_create(&t, 0, blocked_in_cmp_site, 0));
	wait_blocked();
	long wrong = 0;
	for (int k = 0; k < 200; k++) {
		char c;
		if (write(spare_pipe[1], "x", 1) != 1 ||
		    cmp_site(SYS_read, spare_pipe[0], (long)&c, 1) != 1 || c != 'x')
			wrong++;
	}
	printf("cmp-site calls with a thread blocked in it: wrong=%ld\n", wrong);
	long w = write(cmp_pipe[1], "cmp", 3);
	CHKRC("pthread_join", pthread_join(t, 0));
	printf("write: ret=%ld\n", w);

	/* The same with a `mov $nr, %eax; syscall` site. */
	CHKRC("pthread_create", pthread_create(&t, 0, blocked_in_mov_site, 0));
	wait_blocked();
	wrong = 0;
	for (int k = 0; k < 200; k++) {
		char c;
		if (write(spare_pipe[1], "y", 1) != 1 || read_site(spare_pipe[0], &c, 1) != 1 ||
		    c != 'y')
			wrong++;
	}
	printf("mov-site calls with a thread blocked in it: wrong=%ld\n", wrong);
	w = write(mov_pipe[1], "mov", 3);
	CHKRC("pthread_join", pthread_join(t, 0));
	printf("write: ret=%ld\n", w);

	/* Four threads on the same sites at once. */
	pthread_t ts[4];
	for (long i = 0; i < 4; i++)
		CHKRC("pthread_create", pthread_create(&ts[i], 0, hammer, (void *)i));
	for (int i = 0; i < 4; i++)
		CHKRC("pthread_join", pthread_join(ts[i], 0));
	for (int i = 0; i < 4; i++)
		printf("hammer thread %d: wrong=%d\n", i, hammer_wrong[i]);

	/* The code changes protection (its patched sites are put back)
	 * while another thread runs it. */
	stop_looping = 0;
	CHKRC("pthread_create", pthread_create(&t, 0, loop_on_site, 0));
	uintptr_t page = (uintptr_t)getppid_site & ~(uintptr_t)4095;
	int failed = 0;
	for (int k = 0; k < 50; k++) {
		usleep(2000);
		if (mprotect((void *)page, 4096, PROT_READ | PROT_EXEC) != 0)
			failed++;
	}
	stop_looping = 1;
	CHKRC("pthread_join", pthread_join(t, 0));
	printf("mprotect under a running thread: failures=%d wrong=%ld ran=%d\n", failed,
	       looping_wrong, looping_calls > 0);

	/* A new thread after all that still reads through both sites. */
	CHK("write", write(cmp_pipe[1], "late", 4));
	int rc = pthread_create(&t, 0, blocked_in_cmp_site, 0);
	CHKRC("pthread_join", pthread_join(t, 0));
	printf("pthread_create: ret=%d\n", rc);
	FACT(getppid_site() == ppid);
	return 0;
}
