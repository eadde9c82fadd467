/* A cached file mapped private twice (the second along with the first's
 * fault: fault-around), then truncated: pages
 * wholly past the new end fault with SIGBUS; the page holding the end
 * still reads, zero past the end. */
#include "dt.h"
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static sigjmp_buf jb;
static void on_bus(int sig) { siglongjmp(jb, sig); }

static void probe(const char *what, volatile char *p) {
	int sig = sigsetjmp(jb, 1);
	if (sig == 0) {
		char v = *p;
		printf("%s: read '%c'\n", what, v ? v : '0');
	} else {
		printf("%s: signal %s\n", what, sig == SIGBUS ? "SIGBUS" : "other");
	}
}

int main(void) {
	dt_init();
	long pg = sysconf(_SC_PAGESIZE);
	signal(SIGBUS, on_bus);
	int fd = open("faultaround_t", O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHK("open", fd >= 0 ? 0 : -1);
	char buf[3 * 4096];
	memset(buf, 'q', sizeof(buf));
	CHK("write", write(fd, buf, 3 * pg));
	char *m = mmap(NULL, 3 * pg, PROT_READ, MAP_PRIVATE, fd, 0);
	char *n = mmap(NULL, 3 * pg, PROT_READ, MAP_PRIVATE, fd, 0);
	FACT(m != MAP_FAILED && n != MAP_FAILED);
	probe("other mapping page 0", n);
	probe("page 2 before", m + 2 * pg);
	CHK("ftruncate", ftruncate(fd, pg + 10));
	probe("page 1 at 5", m + pg + 5);
	probe("page 1 past end", m + pg + 20);
	probe("page 2 after", m + 2 * pg);
	CHK("ftruncate back", ftruncate(fd, 3 * pg));
	probe("page 2 regrown", m + 2 * pg);
	probe("other mapping page 2", n + 2 * pg);
	munmap(m, 3 * pg);
	munmap(n, 3 * pg);
	close(fd);
	unlink("faultaround_t");
	return 0;
}
