// O_ASYNC on a signalfd that watches SIGIO, owned by the process itself:
// the SIGIO that makes it readable raises SIGIO again, which is already
// pending and so changes nothing. It must not recurse (the sandbox's
// kernel overflowed its stack). The handler runs.
#include "dt.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile sig_atomic_t got;
static void on_io(int s)
{
	(void)s;
	got++;
}

int main(void)
{
	dt_init();
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGIO);
	int fd = signalfd(-1, &m, 0);
	FACT(fd >= 0);
	signal(SIGIO, on_io);
	CHK("F_SETOWN", fcntl(fd, F_SETOWN, getpid()));
	int fl = fcntl(fd, F_GETFL);
	CHK("F_SETFL O_ASYNC", fcntl(fd, F_SETFL, fl | O_ASYNC));
	CHK("tkill SIGIO", syscall(SYS_tkill, syscall(SYS_gettid), SIGIO));
	printf("handler ran: %d\n", got > 0);
	close(fd);
	return 0;
}
