// getrlimit/setrlimit/prlimit64: lower a soft limit and read it back, the
// limit is enforced (EMFILE), and EINVAL/EFAULT/ESRCH errors.
#include "dt.h"
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	struct rlimit rl, orig;
	CHK("getrlimit NOFILE", getrlimit(RLIMIT_NOFILE, &orig));
	FACT(orig.rlim_cur <= orig.rlim_max);
	rl.rlim_cur = 10;
	rl.rlim_max = orig.rlim_max;
	CHK("setrlimit NOFILE soft=10", setrlimit(RLIMIT_NOFILE, &rl));
	CHK("getrlimit NOFILE", getrlimit(RLIMIT_NOFILE, &rl));
	printf("soft=%llu hard unchanged=%d\n", (unsigned long long)rl.rlim_cur, rl.rlim_max == orig.rlim_max);
	int last = -1, n = 0;
	for (;;) {
		int fd = open("/dev/null", O_RDONLY);
		if (fd < 0) {
			printf("open #%d: errno=%s\n", n + 1, dt_errname(errno));
			break;
		}
		last = fd;
		n++;
	}
	printf("opened %d fds, last=%d\n", n, last);
	CHK("dup2 beyond limit", dup2(0, 10));
	CHK("dup2 below limit", dup2(0, 9));
	for (int fd = 3; fd <= last; fd++)
		close(fd);

	struct rlimit bad = { 100, 50 };
	CHK("setrlimit soft>hard", setrlimit(RLIMIT_NOFILE, &bad));
	CHK("setrlimit bad resource", setrlimit(1000, &rl));
	CHK("getrlimit bad resource", getrlimit(1000, &rl));
	CHK("getrlimit BADPTR", getrlimit(RLIMIT_NOFILE, BADPTR));

	struct rlimit old;
	CHK("prlimit STACK get", prlimit(0, RLIMIT_STACK, NULL, &old));
	struct rlimit core = { 0, 0 };
	CHK("prlimit CORE set 0/0", prlimit(0, RLIMIT_CORE, &core, &old));
	CHK("prlimit CORE get", prlimit(0, RLIMIT_CORE, NULL, &old));
	printf("core=%llu/%llu\n", (unsigned long long)old.rlim_cur, (unsigned long long)old.rlim_max);
	CHK("prlimit self pid", prlimit(getpid(), RLIMIT_CORE, NULL, &old));
	CHK("prlimit ESRCH", prlimit(999999, RLIMIT_CORE, NULL, &old));
	rl.rlim_cur = 1 << 20;
	rl.rlim_max = RLIM_INFINITY;
	CHK("setrlimit AS", setrlimit(RLIMIT_AS, &rl));
	CHK("getrlimit AS", getrlimit(RLIMIT_AS, &rl));
	printf("as soft=%llu hard=inf:%d\n", (unsigned long long)rl.rlim_cur, rl.rlim_max == RLIM_INFINITY);
	return 0;
}
