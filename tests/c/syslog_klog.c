// syslog(2) (klogctl): argument checks in Linux's order (permission, then
// the action's own checks), records as "<level>[time] text\n", and
// /proc/sys/kernel/dmesg_restrict deciding what an unprivileged process
// may do. Root only runs the non-destructive actions (the native run
// reads the host's log: no READ, CLEAR or console changes as root).
// The sandbox starts with the host's dmesg_restrict; the test only writes
// the value it read back (concurrent native runs must not race on the
// host's setting), so the other setting is covered only where the host
// has it.
#include "dt.h"
#include <fcntl.h>
#include <sys/klog.h>
#include <sys/wait.h>
#include <unistd.h>

static char buf[1 << 16];

static int set_restrict(const char *v)
{
	int fd = open("/proc/sys/kernel/dmesg_restrict", O_WRONLY);
	if (fd < 0)
		return -1;
	int r = write(fd, v, strlen(v));
	close(fd);
	return r;
}

static void unprivileged(const char *label)
{
	pid_t p = fork();
	if (p == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(1);
		printf("[%s as nobody]\n", label);
		int n = klogctl(10, NULL, 0);
		printf("size_buffer: %s errno=%s\n", n > 0 ? "positive" : "fail",
		       n > 0 ? "0" : dt_errname(errno));
		n = klogctl(3, buf, sizeof buf);
		printf("read_all: %s errno=%s\n", n >= 0 ? "ok" : "fail",
		       n >= 0 ? "0" : dt_errname(errno));
		CHK("read", klogctl(2, buf, 10));
		CHK("read_clear", klogctl(4, buf, 10));
		CHK("clear", klogctl(5, NULL, 0));
		CHK("console_off", klogctl(6, NULL, 0));
		CHK("console_on", klogctl(7, NULL, 0));
		CHK("console_level", klogctl(8, NULL, 4));
		CHK("size_unread", klogctl(9, NULL, 0));
		CHK("open", klogctl(1, NULL, 0));
		CHK("bad type", klogctl(-1, NULL, 0));
		CHK("read_all len -1", klogctl(3, buf, -1));
		CHK("write dmesg_restrict", set_restrict("0"));
		_exit(0);
	}
	int st;
	waitpid(p, &st, 0);
	printf("child exit %d\n", WEXITSTATUS(st));
}

int main(void)
{
	dt_init();
	char orig[8] = "1\n";
	int fd = open("/proc/sys/kernel/dmesg_restrict", O_RDONLY);
	if (fd >= 0) {
		int n = read(fd, orig, sizeof orig - 1);
		orig[n > 0 ? n : 0] = 0;
		close(fd);
	}
	int size = klogctl(10, NULL, 0);
	FACT(size > 0);
	CHK("open", klogctl(1, NULL, 0));
	CHK("close", klogctl(0, NULL, 0));
	CHK("read len -1", klogctl(2, buf, -1));
	CHK("read NULL", klogctl(2, NULL, 0));
	CHK("read NULL len 10", klogctl(2, NULL, 10));
	CHK("read len 0", klogctl(2, buf, 0));
	CHK("read_all len -1", klogctl(3, buf, -1));
	CHK("read_all NULL", klogctl(3, NULL, 0));
	CHK("read_all NULL len 10", klogctl(3, NULL, 10));
	CHK("read_all len 0", klogctl(3, buf, 0));
	CHK("read_clear len -1", klogctl(4, buf, -1));
	CHK("read_clear NULL", klogctl(4, NULL, 0));
	CHK("console_level -1", klogctl(8, NULL, -1));
	CHK("console_level 0", klogctl(8, NULL, 0));
	CHK("console_level 9", klogctl(8, NULL, 9));
	CHK("console_level huge", klogctl(8, NULL, 0x7ffffff));
	CHK("type -1", klogctl(-1, NULL, 0));
	CHK("type 11", klogctl(11, NULL, 0));
	CHK("read_all bad buffer", klogctl(3, (char *)16, 4096));
	int unread = klogctl(9, NULL, 0);
	FACT(unread >= 0);

	int n = klogctl(3, buf, sizeof buf);
	FACT(n > 0 && n <= (int)sizeof buf);
	FACT(buf[0] == '<' && buf[2] == '>' && buf[3] == '[');
	FACT(n > 0 && buf[n - 1] == '\n');
	int small = klogctl(3, buf, 100);
	FACT(small >= 0 && small <= 100);
	/* Whole records only: a short read ends at a newline (or is empty). */
	FACT(small == 0 || buf[small - 1] == '\n');

	CHK("restrict=2", set_restrict("2"));
	CHK("restrict=-1", set_restrict("-1"));
	CHK("restrict=same", set_restrict(orig));
	unprivileged(orig[0] == '0' ? "restrict=0" : "restrict=1");
	return 0;
}
