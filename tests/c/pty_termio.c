// The legacy termio ioctls on a pty follower: TCGETA reports the low 16
// bits of the termios words and the first 8 control characters; TCSETA,
// TCSETAW and TCSETAF replace only those, keeping the high halves and the
// other control characters (the sandbox said ENOTTY).
#include "dt.h"
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termio.h>
#include <termios.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	if (m < 0 || grantpt(m) || unlockpt(m))
		return 1;
	int s = open(ptsname(m), O_RDWR | O_NOCTTY);
	if (s < 0)
		return 1;
	struct termio a;
	struct termios t;
	memset(&a, 0xaa, sizeof a);
	CHK("tcgeta", ioctl(s, TCGETA, &a));
	CHK("tcgets", ioctl(s, TCGETS, &t));
	printf("words match: %d %d %d %d\n", a.c_iflag == (unsigned short)t.c_iflag,
	       a.c_oflag == (unsigned short)t.c_oflag,
	       a.c_cflag == (unsigned short)t.c_cflag,
	       a.c_lflag == (unsigned short)t.c_lflag);
	printf("cc match: %d line %d\n", !memcmp(a.c_cc, t.c_cc, NCC), a.c_line);
	printf("lflag %#x cc VINTR %d VMIN %d\n", a.c_lflag, a.c_cc[VINTR], a.c_cc[VMIN]);

	/* Set the termios with high bits and cc[VEOL2] (index 16). */
	t.c_cc[VEOL2] = 7;
	t.c_iflag |= IUTF8; /* 0x4000: low half */
	CHK("tcsets", ioctl(s, TCSETS, &t));
	a.c_lflag &= ~(ICANON | ECHO);
	a.c_cc[VMIN] = 3;
	a.c_cc[VINTR] = 1;
	CHK("tcseta", ioctl(s, TCSETA, &a));
	CHK("tcsetaw", ioctl(s, TCSETAW, &a));
	struct termios u;
	CHK("tcgets", ioctl(s, TCGETS, &u));
	printf("icanon %d echo %d vmin %d vintr %d veol2 %d iutf8 %d cflag same %d\n",
	       !!(u.c_lflag & ICANON), !!(u.c_lflag & ECHO), u.c_cc[VMIN],
	       u.c_cc[VINTR], u.c_cc[VEOL2], !!(u.c_iflag & IUTF8),
	       u.c_cflag == t.c_cflag);

	/* TCSETAF discards pending input. */
	CHK("write", write(m, "xy", 2));
	usleep(10000);
	int n = -1;
	CHK("fionread", ioctl(s, FIONREAD, &n));
	printf("queued %d\n", n);
	CHK("tcsetaf", ioctl(s, TCSETAF, &a));
	CHK("fionread", ioctl(s, FIONREAD, &n));
	printf("queued %d\n", n);

	CHK("tcgeta master", ioctl(m, TCGETA, &a));
	CHK("tcgeta bad", ioctl(s, TCGETA, (void *)8));
	CHK("tcseta bad", ioctl(s, TCSETA, (void *)8));
	int p[2];
	if (pipe(p))
		return 1;
	CHK("tcgeta pipe", ioctl(p[0], TCGETA, &a));
	return 0;
}
