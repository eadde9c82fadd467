// /proc's system-wide files agree with the syscalls: meminfo's MemTotal
// with sysinfo, uptime and loadavg's shapes, boot_id stable and uuid fresh,
// osrelease/ostype/hostname with uname, the files free/top/ps need; and the
// per-process files: oom_score_adj (kept, range-checked, inherited),
// coredump_filter (hex, inherited), oom_score, smaps and smaps_rollup
// (Rss of a touched mapping), limits, cgroup, environ.
#include "dt.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

static int slurp(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	size_t got = 0;
	ssize_t r;
	while (got + 1 < n && (r = read(fd, buf + got, n - 1 - got)) > 0)
		got += r;
	buf[got] = 0;
	close(fd);
	return (int)got;
}

static int put(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	int r = write(fd, text, strlen(text));
	int e = errno;
	close(fd);
	errno = e;
	return r;
}

static long field_kb(const char *text, const char *key)
{
	const char *p = strstr(text, key);
	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

static char big[1 << 20];

int main(void)
{
	dt_init();
	struct sysinfo si;
	sysinfo(&si);
	FACT(slurp("/proc/meminfo", big, sizeof(big)) > 0);
	long total = field_kb(big, "MemTotal:");
	FACT(total == (long)((unsigned long long)si.totalram * si.mem_unit / 1024));
	FACT(field_kb(big, "MemAvailable:") >= 0 && field_kb(big, "MemAvailable:") <= total);
	FACT(field_kb(big, "SwapTotal:") == (long)(si.totalswap * si.mem_unit / 1024));
	FACT(field_kb(big, "SwapFree:") >= 0);

	double up = -1, idle = -1;
	slurp("/proc/uptime", big, sizeof(big));
	FACT(sscanf(big, "%lf %lf", &up, &idle) == 2 && up >= 0 && idle >= 0);
	FACT((long)up <= si.uptime + 1);
	double l1, l5, l15;
	int run, tot, last;
	slurp("/proc/loadavg", big, sizeof(big));
	FACT(sscanf(big, "%lf %lf %lf %d/%d %d", &l1, &l5, &l15, &run, &tot, &last) == 6);
	FACT(run >= 1 && run <= tot && last > 0);
	slurp("/proc/stat", big, sizeof(big));
	FACT(strncmp(big, "cpu ", 4) == 0);
	FACT(strstr(big, "\nbtime ") && strstr(big, "\nprocesses ") && strstr(big, "\nprocs_running "));

	char a[64], b[64];
	slurp("/proc/sys/kernel/random/boot_id", a, sizeof(a));
	slurp("/proc/sys/kernel/random/boot_id", b, sizeof(b));
	FACT(strlen(a) == 37 && strcmp(a, b) == 0);
	slurp("/proc/sys/kernel/random/uuid", a, sizeof(a));
	slurp("/proc/sys/kernel/random/uuid", b, sizeof(b));
	FACT(strlen(a) == 37 && strcmp(a, b) != 0 && a[14] == '4');
	struct utsname u;
	uname(&u);
	slurp("/proc/sys/kernel/osrelease", a, sizeof(a));
	FACT(strncmp(a, u.release, strlen(u.release)) == 0);
	slurp("/proc/sys/kernel/ostype", a, sizeof(a));
	printf("ostype=%s", a);
	slurp("/proc/sys/kernel/hostname", a, sizeof(a));
	FACT(strncmp(a, u.nodename, strlen(u.nodename)) == 0);
	slurp("/proc/version", big, sizeof(big));
	FACT(strncmp(big, "Linux version ", 14) == 0 && strstr(big, u.release) && strstr(big, u.version));
	for (const char *f = "pid_max\0threads-max\0"; *f; f += strlen(f) + 1) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/sys/kernel/%s", f);
		FACT(slurp(path, a, sizeof(a)) > 0);
		printf("%s positive=%d\n", f, atol(a) > 0);
	}
	FACT(slurp("/proc/sys/vm/overcommit_memory", a, sizeof(a)) > 0);
	FACT(slurp("/proc/sys/fs/file-max", a, sizeof(a)) > 0 && atol(a) > 0);
	FACT(slurp("/proc/swaps", big, sizeof(big)) > 0 && strncmp(big, "Filename", 8) == 0);
	FACT(slurp("/proc/partitions", big, sizeof(big)) > 0 && strncmp(big, "major minor", 11) == 0);
	FACT(slurp("/proc/filesystems", big, sizeof(big)) > 0 && strstr(big, "\tproc\n") && strstr(big, "\tsysfs\n"));
	FACT(slurp("/proc/mounts", big, sizeof(big)) > 0 && strstr(big, " /proc proc ") && strstr(big, " /sys sysfs "));
	FACT(slurp("/proc/self/mountinfo", big, sizeof(big)) > 0 && strstr(big, " /proc ") && strstr(big, " - sysfs "));
	FACT(slurp("/sys/kernel/mm/transparent_hugepage/enabled", a, sizeof(a)) > 0 && strchr(a, '['));
	FACT(slurp("/sys/kernel/mm/transparent_hugepage/defrag", a, sizeof(a)) > 0 && strchr(a, '['));

	/* Per-process files. */
	slurp("/proc/self/oom_score_adj", a, sizeof(a));
	printf("oom_score_adj=%s", a);
	CHK("write oom_score_adj 300", put("/proc/self/oom_score_adj", "300\n"));
	slurp("/proc/self/oom_score_adj", a, sizeof(a));
	printf("oom_score_adj=%s", a);
	CHK("write oom_score_adj 1001", put("/proc/self/oom_score_adj", "1001"));
	CHK("write oom_score_adj junk", put("/proc/self/oom_score_adj", "abc"));
	slurp("/proc/self/oom_score", a, sizeof(a));
	FACT(atol(a) >= 300 && atol(a) <= 2000);
	CHK("write coredump_filter 0x13", put("/proc/self/coredump_filter", "0x13"));
	slurp("/proc/self/coredump_filter", a, sizeof(a));
	printf("coredump_filter=%s", a);
	pid_t pid = fork();
	if (pid == 0) {
		slurp("/proc/self/oom_score_adj", a, sizeof(a));
		printf("child oom_score_adj=%s", a);
		slurp("/proc/self/coredump_filter", a, sizeof(a));
		printf("child coredump_filter=%s", a);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	put("/proc/self/coredump_filter", "0x33");
	put("/proc/self/oom_score_adj", "0");

	long pg = sysconf(_SC_PAGESIZE);
	/* Guard pages keep the mapping from merging with its neighbours. */
	char *g = mmap(NULL, 66 * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *p = g + pg;
	mprotect(p, 64 * pg, PROT_READ | PROT_WRITE);
	memset(p, 1, 64 * pg);
	FACT(slurp("/proc/self/smaps", big, sizeof(big)) > 0);
	char head[64];
	snprintf(head, sizeof(head), "%lx-", (unsigned long)p);
	char *m = strstr(big, head);
	FACT(m != NULL);
	if (m) {
		FACT(field_kb(m, "\nSize:") == 64 * pg / 1024);
		FACT(field_kb(m, "\nRss:") == 64 * pg / 1024);
		FACT(field_kb(m, "\nAnonymous:") == 64 * pg / 1024);
		FACT(field_kb(m, "\nSwap:") == 0);
		FACT(strstr(m, "\nVmFlags: rd wr") != NULL);
	}
	FACT(slurp("/proc/self/smaps_rollup", big, sizeof(big)) > 0);
	FACT(strstr(big, "[rollup]") != NULL && field_kb(big, "\nRss:") >= 64 * pg / 1024);
	munmap(g, 66 * pg);

	FACT(slurp("/proc/self/limits", big, sizeof(big)) > 0 && strncmp(big, "Limit", 5) == 0);
	FACT(slurp("/proc/self/cgroup", big, sizeof(big)) > 0 && strstr(big, "::/") != NULL);
	FACT(slurp("/proc/self/environ", big, sizeof(big)) >= 0);
	FACT(slurp("/proc/self/status", big, sizeof(big)) > 0 && strstr(big, "\nMems_allowed_list:\t0"));
	return 0;
}
