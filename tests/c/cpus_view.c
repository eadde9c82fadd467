// The number of CPUs as every interface reports it: glibc's get_nprocs
// (/sys/devices/system/cpu/online) and get_nprocs_conf (the cpuN entries),
// sysconf, sched_getaffinity, /sys/devices/system/cpu/{online,possible,
// present}, the cpuN lines of /proc/stat, /proc/cpuinfo's processors and
// /proc/self/status's Cpus_allowed_list must all agree, and equal what
// the host reports natively (the counts are printed).
#include "dt.h"
#include <dirent.h>
#include <sched.h>
#include <sys/sysinfo.h>
#include <unistd.h>

static int read_line(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	int ok = fgets(buf, n, f) != NULL;
	fclose(f);
	return ok ? 0 : -1;
}

/* CPUs in a list such as "0-3,5". */
static int list_count(const char *s)
{
	int n = 0;
	while (*s && *s != '\n') {
		char *end;
		long a = strtol(s, &end, 10), b = a;
		if (*end == '-')
			b = strtol(end + 1, &end, 10);
		n += b - a + 1;
		s = *end == ',' ? end + 1 : end;
	}
	return n;
}

static int count_lines(const char *path, const char *prefix, int digit_after)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	size_t n = strlen(prefix);
	int c = 0;
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, prefix, n) && (!digit_after || (line[n] >= '0' && line[n] <= '9')))
			c++;
	if (f)
		fclose(f);
	return c;
}

int main(void)
{
	dt_init();
	int n = get_nprocs();
	printf("get_nprocs=%d get_nprocs_conf=%d\n", n, get_nprocs_conf());
	printf("sysconf ONLN=%ld CONF=%ld\n", sysconf(_SC_NPROCESSORS_ONLN), sysconf(_SC_NPROCESSORS_CONF));
	cpu_set_t set;
	CHK("sched_getaffinity", sched_getaffinity(0, sizeof(set), &set));
	FACT(CPU_COUNT(&set) == n);

	const char *files[] = { "online", "possible", "present" };
	for (int i = 0; i < 3; i++) {
		char path[128], buf[256] = "";
		snprintf(path, sizeof(path), "/sys/devices/system/cpu/%s", files[i]);
		int r = read_line(path, buf, sizeof(buf));
		printf("%s: read=%d count_matches=%d\n", files[i], r, list_count(buf) == n);
	}
	char buf[256];
	CHK("kernel_max", read_line("/sys/devices/system/cpu/kernel_max", buf, sizeof(buf)));
	FACT(atoi(buf) >= n - 1);

	int dirs = 0;
	DIR *d = opendir("/sys/devices/system/cpu");
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (!strncmp(e->d_name, "cpu", 3) && e->d_name[3] >= '0' && e->d_name[3] <= '9')
			dirs++;
	if (d)
		closedir(d);
	FACT(dirs == n);
	char path[128];
	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d", n);
	CHK("stat cpuN past the last", access(path, F_OK));
	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d", n - 1);
	CHK("stat last cpuN", access(path, F_OK));

	FACT(count_lines("/proc/stat", "cpu", 1) == n);
	FACT(count_lines("/proc/stat", "cpu ", 0) == 1);
	FACT(count_lines("/proc/cpuinfo", "processor", 0) == n);
	FILE *f = fopen("/proc/self/status", "r");
	char line[512];
	int allowed = -1;
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "Cpus_allowed_list:\t", 19))
			allowed = list_count(line + 19);
	if (f)
		fclose(f);
	FACT(allowed == n);
	return 0;
}
