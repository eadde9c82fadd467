// ioctl on a pipe: FIONREAD counts queued bytes, FIONBIO toggles
// non-blocking mode (EAGAIN), FIOCLEX/FIONCLEX set close-on-exec, and
// TCGETS on a non-tty fails with ENOTTY; EBADF/EFAULT/ENOTTY errors.
#include "dt.h"
#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	int p[2];
	CHK("pipe", pipe(p));
	int n = -1;
	CHK("FIONREAD empty", ioctl(p[0], FIONREAD, &n));
	printf("queued=%d\n", n);
	CHK("write", write(p[1], "hello", 5));
	CHK("FIONREAD", ioctl(p[0], FIONREAD, &n));
	printf("queued=%d\n", n);
	CHK("FIONREAD BADPTR", ioctl(p[0], FIONREAD, BADPTR));
	char buf[8];
	CHK("read 5", read(p[0], buf, 5));
	int on = 1;
	CHK("FIONBIO on", ioctl(p[0], FIONBIO, &on));
	printf("O_NONBLOCK=%d\n", !!(fcntl(p[0], F_GETFL) & O_NONBLOCK));
	CHK("read empty nonblocking", read(p[0], buf, 1));
	on = 0;
	CHK("FIONBIO off", ioctl(p[0], FIONBIO, &on));
	printf("O_NONBLOCK=%d\n", !!(fcntl(p[0], F_GETFL) & O_NONBLOCK));
	CHK("FIOCLEX", ioctl(p[1], FIOCLEX));
	CHK("F_GETFD", fcntl(p[1], F_GETFD));
	CHK("FIONCLEX", ioctl(p[1], FIONCLEX));
	CHK("F_GETFD", fcntl(p[1], F_GETFD));
	struct termios t;
	CHK("TCGETS pipe", ioctl(p[0], TCGETS, &t));
	CHK("isatty pipe", isatty(p[0]));
	int fd = open("/dev/null", O_RDWR);
	CHK("TCGETS /dev/null", ioctl(fd, TCGETS, &t));
	int f = open("reg", O_CREAT | O_RDWR | O_TRUNC, 0600);
	CHK("write reg", write(f, "12345678", 8));
	CHK("FIONREAD regular file", ioctl(f, FIONREAD, &n));
	CHK("TIOCGWINSZ regular file", ioctl(f, TIOCGWINSZ, buf));
	CHK("ioctl bad fd", ioctl(77, FIONREAD, &n));
	CHK("unknown ioctl on pipe", ioctl(p[0], 0x7777, 0));
	CHK("unlink", unlink("reg"));
	return 0;
}
