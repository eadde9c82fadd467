// userfaultfd(2): creation flags, the UFFDIO_API handshake, registering
// private anonymous memory for missing-page faults, a handler serving
// faults of another thread with UFFDIO_COPY and UFFDIO_ZEROPAGE (fault
// messages with the write flag, poll readiness, non-blocking reads),
// DONTWAKE then UFFDIO_WAKE, MADV_DONTNEED making pages missing again, a
// signal interrupting a waiting fault (retried after the handler), and the
// error paths (EINVAL, EEXIST, EBUSY, ENOENT, ENOMEM).
#include "dt.h"
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PG 4096UL
#define NPAGES 16

static int uffd;
static char *area;
static volatile int progress;
static volatile int sigs;

static int new_uffd(int flags)
{
	return syscall(SYS_userfaultfd, flags);
}

static int readable(int fd, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };
	int n = poll(&p, 1, ms);
	return n > 0 && (p.revents & POLLIN);
}

/* Waits for a fault message; returns its page index (or -1). */
static long next_fault(int fd, int *write)
{
	struct uffd_msg m;
	if (!readable(fd, 5000))
		return -1;
	if (read(fd, &m, sizeof m) != sizeof m || m.event != UFFD_EVENT_PAGEFAULT)
		return -1;
	*write = (m.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WRITE) != 0;
	if (m.arg.pagefault.address & (PG - 1))
		return -2;
	return (long)((char *)(uintptr_t)m.arg.pagefault.address - area) / (long)PG;
}

static long copy_page(int fd, long page, char fill, int mode)
{
	static char src[PG] __attribute__((aligned(4096)));
	memset(src, fill, PG);
	struct uffdio_copy c = { .dst = (uintptr_t)(area + page * PG),
				 .src = (uintptr_t)src,
				 .len = PG,
				 .mode = mode };
	long r = ioctl(fd, UFFDIO_COPY, &c);
	return r < 0 ? r : c.copy;
}

static long zero_page(int fd, long page)
{
	struct uffdio_zeropage z = { .range = { (uintptr_t)(area + page * PG), PG } };
	long r = ioctl(fd, UFFDIO_ZEROPAGE, &z);
	return r < 0 ? r : z.zeropage;
}

static void on_usr1(int s)
{
	(void)s;
	sigs++;
}

static void *toucher(void *arg)
{
	(void)arg;
	area[0] = 'x';          /* write fault, page 0 */
	progress = 1;
	int v = area[PG];       /* read fault, page 1 */
	progress = 2 + v;
	area[2 * PG] = 'y';     /* page 2: DONTWAKE, then WAKE */
	progress = 10;
	area[3 * PG] = 'z';     /* page 3: interrupted by a signal */
	progress = 11;
	area[4 * PG] = 'w';     /* page 4: the range is unregistered meanwhile */
	progress = 12;
	return NULL;
}

int main(void)
{
	dt_init();
	struct sigaction sa = { .sa_handler = on_usr1 };
	sigaction(SIGUSR1, &sa, NULL);

	CHK("userfaultfd bad flags", new_uffd(O_APPEND));
	CHK("userfaultfd O_RDWR", new_uffd(O_RDWR));
	uffd = new_uffd(O_CLOEXEC | O_NONBLOCK);
	FACT(uffd >= 0);
	FACT(fcntl(uffd, F_GETFD) == FD_CLOEXEC);
	FACT((fcntl(uffd, F_GETFL) & O_NONBLOCK) != 0);

	area = mmap(NULL, NPAGES * PG, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct uffd_msg m;
	CHK("read before UFFDIO_API", read(uffd, &m, sizeof m));
	struct uffdio_register reg = { .range = { (uintptr_t)area, NPAGES * PG },
				       .mode = UFFDIO_REGISTER_MODE_MISSING };
	CHK("register before UFFDIO_API", ioctl(uffd, UFFDIO_REGISTER, &reg));

	struct uffdio_api api = { .api = 0x55 };
	CHK("UFFDIO_API bad api", ioctl(uffd, UFFDIO_API, &api));
	FACT(api.api == 0 && api.features == 0);
	api = (struct uffdio_api){ .api = UFFD_API, .features = 1ULL << 62 };
	CHK("UFFDIO_API unknown feature", ioctl(uffd, UFFDIO_API, &api));
	api = (struct uffdio_api){ .api = UFFD_API };
	CHK("UFFDIO_API", ioctl(uffd, UFFDIO_API, &api));
	FACT(api.api == UFFD_API);
	printf("api ioctls=%#llx\n", (unsigned long long)api.ioctls);
	api = (struct uffdio_api){ .api = UFFD_API };
	CHK("UFFDIO_API again", ioctl(uffd, UFFDIO_API, &api));
	CHK("unknown ioctl", ioctl(uffd, _IOR(0xAA, 0x30, __u64), &api));

	reg.range.start = (uintptr_t)area + 1;
	CHK("register unaligned", ioctl(uffd, UFFDIO_REGISTER, &reg));
	reg.range.start = (uintptr_t)area;
	reg.range.len = 0;
	CHK("register empty", ioctl(uffd, UFFDIO_REGISTER, &reg));
	reg.range.len = NPAGES * PG;
	reg.mode = 0;
	CHK("register mode 0", ioctl(uffd, UFFDIO_REGISTER, &reg));
	reg.mode = 1 << 5;
	CHK("register unknown mode", ioctl(uffd, UFFDIO_REGISTER, &reg));
	reg.mode = UFFDIO_REGISTER_MODE_MINOR;
	CHK("register MINOR on anon", ioctl(uffd, UFFDIO_REGISTER, &reg));
	char *hole = mmap(NULL, 4 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(hole, 4 * PG);
	struct uffdio_register bad = { .range = { (uintptr_t)hole, 4 * PG },
				       .mode = UFFDIO_REGISTER_MODE_MISSING };
	CHK("register unmapped", ioctl(uffd, UFFDIO_REGISTER, &bad));

	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	CHK("register", ioctl(uffd, UFFDIO_REGISTER, &reg));
	__u64 want = 1ULL << _UFFDIO_COPY | 1ULL << _UFFDIO_ZEROPAGE | 1ULL << _UFFDIO_WAKE;
	FACT((reg.ioctls & want) == want);
	CHK("register again, same uffd", ioctl(uffd, UFFDIO_REGISTER, &reg));
	int other = new_uffd(O_CLOEXEC);
	struct uffdio_api api2 = { .api = UFFD_API };
	ioctl(other, UFFDIO_API, &api2);
	struct uffdio_register reg2 = { .range = { (uintptr_t)area + PG, PG },
					.mode = UFFDIO_REGISTER_MODE_MISSING };
	CHK("register by another uffd", ioctl(other, UFFDIO_REGISTER, &reg2));
	close(other);

	CHK("read empty, non-blocking", read(uffd, &m, sizeof m));
	CHK("read short buffer", read(uffd, &m, sizeof m - 1));
	FACT(!readable(uffd, 0));

	pthread_t th;
	pthread_create(&th, NULL, toucher, NULL);
	int w = -1;
	long p = next_fault(uffd, &w);
	printf("fault page=%ld write=%d progress=%d\n", p, w, progress);
	CHK("COPY page 0", copy_page(uffd, 0, 'A', 0));
	p = next_fault(uffd, &w);
	printf("fault page=%ld write=%d progress=%d\n", p, w, progress);
	CHK("ZEROPAGE page 1", zero_page(uffd, 1));
	p = next_fault(uffd, &w);
	printf("fault page=%ld write=%d progress=%d\n", p, w, progress);
	CHK("COPY page 2 DONTWAKE", copy_page(uffd, 2, 'B', UFFDIO_COPY_MODE_DONTWAKE));
	usleep(100 * 1000);
	printf("still waiting after DONTWAKE: progress=%d\n", progress);
	struct uffdio_range wr = { (uintptr_t)(area + 2 * PG), PG };
	CHK("WAKE page 2", ioctl(uffd, UFFDIO_WAKE, &wr));
	p = next_fault(uffd, &w);
	printf("fault page=%ld write=%d progress=%d\n", p, w, progress);
	pthread_kill(th, SIGUSR1);
	p = next_fault(uffd, &w);
	printf("after a signal: fault page=%ld write=%d sigs=%d progress=%d\n", p, w, sigs,
	       progress);
	CHK("COPY page 3", copy_page(uffd, 3, 'C', 0));
	p = next_fault(uffd, &w);
	printf("fault page=%ld write=%d progress=%d\n", p, w, progress);
	CHK("UNREGISTER pages 4..", ioctl(uffd, UFFDIO_UNREGISTER,
					  &(struct uffdio_range){ (uintptr_t)(area + 4 * PG),
								  (NPAGES - 4) * PG }));
	pthread_join(th, NULL);
	printf("thread done: progress=%d page0=%c page1=%d page2=%c page3=%c page4=%c\n",
	       progress, area[0], area[PG], area[2 * PG], area[3 * PG], area[4 * PG]);
	printf("data: %c%c %c%c\n", area[1], area[PG - 1], area[2 * PG + 1], area[3 * PG + 9]);

	CHK("COPY over a present page", copy_page(uffd, 0, 'D', 0));
	CHK("ZEROPAGE over a present page", zero_page(uffd, 1));
	CHK("COPY unregistered page", copy_page(uffd, 5, 'D', 0));
	struct uffdio_copy uc = { .dst = (uintptr_t)area + 7, .src = (uintptr_t)area, .len = PG };
	CHK("COPY unaligned", ioctl(uffd, UFFDIO_COPY, &uc));
	uc = (struct uffdio_copy){ .dst = (uintptr_t)area, .src = (uintptr_t)area, .len = PG, .mode = 8 };
	CHK("COPY unknown mode", ioctl(uffd, UFFDIO_COPY, &uc));
	struct uffdio_zeropage zz = { .range = { (uintptr_t)area + 3, PG } };
	CHK("ZEROPAGE unaligned", ioctl(uffd, UFFDIO_ZEROPAGE, &zz));
	CHK("WAKE unaligned", ioctl(uffd, UFFDIO_WAKE, &(struct uffdio_range){ (uintptr_t)area + 1, PG }));
	CHK("UNREGISTER unaligned", ioctl(uffd, UFFDIO_UNREGISTER,
					  &(struct uffdio_range){ (uintptr_t)area, 5 }));

	/* MADV_DONTNEED makes page 0 missing again: a fault of this thread
	 * now would block it, so check only that COPY fills it once more. */
	CHK("MADV_DONTNEED", madvise(area, PG, MADV_DONTNEED));
	CHK("COPY after MADV_DONTNEED", copy_page(uffd, 0, 'E', 0));
	printf("page0=%c\n", area[0]);

	CHK("UNREGISTER all", ioctl(uffd, UFFDIO_UNREGISTER,
				    &(struct uffdio_range){ (uintptr_t)area, NPAGES * PG }));
	CHK("COPY after unregister", copy_page(uffd, 6, 'D', 0));
	printf("page6=%d\n", area[6 * PG]);
	CHK("close", close(uffd));
	return 0;
}
