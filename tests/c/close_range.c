// close_range: closing a range, CLOSE_RANGE_CLOEXEC, an empty range above
// all open fds, and EINVAL for first > last or unknown flags.
#include "dt.h"
#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/syscall.h>
#include <unistd.h>

static void show_open(const char *when)
{
	printf("%s: open fds >= 3:", when);
	for (int i = 3; i < 16; i++) {
		int f = fcntl(i, F_GETFD);
		if (f >= 0)
			printf(" %d%s", i, f & FD_CLOEXEC ? "(cloexec)" : "");
	}
	printf("\n");
}

int main(void)
{
	dt_init();
	for (int i = 0; i < 8; i++)
		if (open("/dev/null", O_RDONLY) < 0)
			return 1;
	show_open("start");
	CHK("close_range 5..7", syscall(SYS_close_range, 5, 7, 0));
	show_open("after 5..7");
	CHK("close_range cloexec 3..4", syscall(SYS_close_range, 3, 4, CLOSE_RANGE_CLOEXEC));
	show_open("after cloexec 3..4");
	CHK("close_range 100..200 (nothing open)", syscall(SYS_close_range, 100, 200, 0));
	CHK("close_range first>last", syscall(SYS_close_range, 9, 8, 0));
	CHK("close_range bad flags", syscall(SYS_close_range, 3, 4, 0x8000));
	CHK("close_range 9..~0", syscall(SYS_close_range, 9, ~0U, 0));
	show_open("after 9..~0");
	CHK("close_range 3..~0", syscall(SYS_close_range, 3, ~0U, 0));
	show_open("end");
	CHK("write stdout still works", write(1, "ok\n", 3));
	return 0;
}
