// userfaultfd(2), the rest: a blocking read woken by a fault, epoll
// readiness, closing the descriptor while a fault waits (the fault then
// resolves as ordinary memory; poll reports POLLERR for a blocking one), a fork child whose memory is not
// registered (its faults never reach the parent's handler), the features
// THREAD_ID, EXACT_ADDRESS and SIGBUS, and the mapping kinds that cannot
// be registered.
#include "dt.h"
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG 4096UL

static volatile int done;
static volatile pid_t toucher_tid;

static int open_uffd(int flags, __u64 features)
{
	int fd = syscall(SYS_userfaultfd, flags);
	struct uffdio_api api = { .api = UFFD_API, .features = features };
	if (fd < 0 || ioctl(fd, UFFDIO_API, &api) < 0)
		return -1;
	return fd;
}

static int reg(int fd, void *p, size_t len)
{
	struct uffdio_register r = { .range = { (uintptr_t)p, len },
				     .mode = UFFDIO_REGISTER_MODE_MISSING };
	return ioctl(fd, UFFDIO_REGISTER, &r);
}

static char *anon(size_t len)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static void *reader(void *arg)
{
	toucher_tid = gettid();
	char *p = arg;
	int v = p[123];
	done = 1 + v;
	return NULL;
}

static sigjmp_buf jb;
static siginfo_t got;

static void on_bus(int s, siginfo_t *si, void *uc)
{
	(void)s;
	(void)uc;
	got = *si;
	siglongjmp(jb, 1);
}

int main(void)
{
	dt_init();

	/* A blocking read, woken by another thread's fault; THREAD_ID and
	 * EXACT_ADDRESS in the message. */
	char *a = anon(4 * PG);
	int fd = open_uffd(O_CLOEXEC, UFFD_FEATURE_THREAD_ID | UFFD_FEATURE_EXACT_ADDRESS);
	FACT(fd >= 0);
	CHK("register", reg(fd, a, 4 * PG));
	pthread_t th;
	pthread_create(&th, NULL, reader, a + PG);
	struct uffd_msg m;
	CHK("blocking read", read(fd, &m, sizeof m));
	FACT(m.event == UFFD_EVENT_PAGEFAULT);
	FACT(m.arg.pagefault.address == (uintptr_t)(a + PG + 123));
	FACT(m.arg.pagefault.flags == 0);
	FACT(m.arg.pagefault.feat.ptid == (__u32)toucher_tid);
	struct uffdio_zeropage z = { .range = { (uintptr_t)(a + PG), PG } };
	CHK("ZEROPAGE", ioctl(fd, UFFDIO_ZEROPAGE, &z));
	pthread_join(th, NULL);
	printf("reader done=%d\n", done);

	/* epoll readiness, then close while the fault waits. */
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 7 };
	CHK("epoll_ctl", epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
	struct epoll_event out[2];
	CHK("epoll_wait, blocking descriptor", epoll_wait(ep, out, 2, 0));
	printf("blocking: err=%d in=%d\n", !!(out[0].events & EPOLLERR), !!(out[0].events & EPOLLIN));
	CHK("F_SETFL O_NONBLOCK", fcntl(fd, F_SETFL, O_NONBLOCK));
	CHK("epoll_wait, nothing pending", epoll_wait(ep, out, 2, 0));
	done = 0;
	pthread_create(&th, NULL, reader, a + 2 * PG);
	CHK("epoll_wait, a fault pending", epoll_wait(ep, out, 2, 5000));
	printf("event data=%u in=%d\n", out[0].data.u32, !!(out[0].events & EPOLLIN));
	CHK("read", read(fd, &m, sizeof m));
	CHK("epoll_wait, message taken", epoll_wait(ep, out, 2, 0));
	usleep(50 * 1000);
	printf("before close: done=%d\n", done);
	close(ep);
	CHK("close", close(fd));
	pthread_join(th, NULL);
	printf("after close: done=%d\n", done);
	a[3 * PG] = 5;
	printf("unregistered by the close: %d\n", a[3 * PG]);

	/* A fork child's memory is not registered. */
	char *b = anon(2 * PG);
	fd = open_uffd(O_CLOEXEC | O_NONBLOCK, 0);
	CHK("register", reg(fd, b, 2 * PG));
	pid_t pid = fork();
	if (pid == 0) {
		b[0] = 9;
		_exit(b[0] + b[PG]);
	}
	int st;
	waitpid(pid, &st, 0);
	printf("child exit=%d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	CHK("parent read, no message", read(fd, &m, sizeof m));
	close(fd);

	/* UFFD_FEATURE_SIGBUS: a missing page raises SIGBUS instead. */
	char *c = anon(PG);
	fd = open_uffd(O_CLOEXEC, UFFD_FEATURE_SIGBUS);
	CHK("register", reg(fd, c, PG));
	struct sigaction sa = { .sa_sigaction = on_bus, .sa_flags = SA_SIGINFO };
	sigaction(SIGBUS, &sa, NULL);
	if (sigsetjmp(jb, 1) == 0) {
		c[5] = 1;
		printf("no signal\n");
	} else {
		printf("SIGBUS code=%d addr ok=%d\n", got.si_code, got.si_addr == c + 5);
	}
	close(fd);

	/* Mappings that cannot be registered. */
	fd = open_uffd(O_CLOEXEC, 0);
	char *ro = mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHK("register read-only anon", reg(fd, ro, PG));
	int f = open("/etc/passwd", O_RDONLY);
	char *fm = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, f, 0);
	CHK("register file mapping", reg(fd, fm, PG));
	CHK("UFFDIO_API features beyond", ioctl(fd, UFFDIO_API,
		&(struct uffdio_api){ .api = UFFD_API, .features = 1ULL << 40 }));
	CHK("userfaultfd user-mode only", close(syscall(SYS_userfaultfd, UFFD_USER_MODE_ONLY)));
	return 0;
}
