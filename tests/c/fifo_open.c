// Opening a FIFO as Linux's fifo_open: a write-only open waits for a
// reader (ENXIO at once with O_NONBLOCK), a read-only one for a writer,
// O_RDWR never waits, a signal interrupts the wait (EINTR without
// SA_RESTART). A non-blocking reader opened with no writer reads EOF but
// polls no hang-up until a writer has come and gone. (The sandbox let a
// write-only open through with no reader, so stress-ng's fifo stressor
// got SIGPIPE when its readers had not opened yet.)
#include "dt.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_alarm(int s) { (void)s; }

static int revents(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };
	poll(&p, 1, 0);
	return p.revents;
}

int main(void)
{
	dt_init();
	signal(SIGPIPE, SIG_IGN);
	CHK("mkfifo", mkfifo("f", 0600));

	CHK("O_WRONLY|O_NONBLOCK, no reader", open("f", O_WRONLY | O_NONBLOCK));
	int r = open("f", O_RDONLY | O_NONBLOCK);
	FACT(r >= 0);
	char b[8];
	CHK("read, no writer yet", read(r, b, sizeof b));
	printf("poll before any writer: %#x\n", revents(r));
	int w = open("f", O_WRONLY | O_NONBLOCK);
	FACT(w >= 0);
	CHK("write", write(w, "ab", 2));
	printf("poll with data: %#x\n", revents(r));
	CHK("read", read(r, b, sizeof b));
	close(w);
	printf("poll after the writer left: %#x\n", revents(r));
	CHK("read after the writer left", read(r, b, sizeof b));
	int r2 = open("f", O_RDONLY | O_NONBLOCK);
	printf("poll of a reader opened after: %#x\n", revents(r2));
	close(r2);
	close(r);

	/* A blocking writer waits for a reader that comes 100 ms later. */
	pid_t p = fork();
	if (p == 0) {
		usleep(100000);
		int fd = open("f", O_RDONLY);
		char c[4] = { 0 };
		int n = read(fd, c, 3);
		printf("child read %d %s\n", n, c);
		_exit(0);
	}
	w = open("f", O_WRONLY);
	long n = write(w, "xyz", 3);
	waitpid(p, NULL, 0);
	FACT(w >= 0);
	printf("write after the reader came: %ld\n", n);
	close(w);

	/* A blocking reader waits for a writer. */
	p = fork();
	if (p == 0) {
		usleep(100000);
		int fd = open("f", O_WRONLY);
		if (write(fd, "hi", 2) != 2)
			_exit(1);
		_exit(0);
	}
	r = open("f", O_RDONLY);
	FACT(r >= 0);
	memset(b, 0, sizeof b);
	CHK("read what the writer wrote", read(r, b, 2));
	printf("got %s\n", b);
	waitpid(p, NULL, 0);
	CHK("read after the writer exited", read(r, b, 2));
	close(r);

	int rw = open("f", O_RDWR);
	FACT(rw >= 0);
	close(rw);

	/* A signal ends the wait. */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { { 0, 0 }, { 0, 50000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	CHK("O_RDONLY interrupted", open("f", O_RDONLY));
	setitimer(ITIMER_REAL, &it, NULL);
	CHK("O_WRONLY interrupted", open("f", O_WRONLY));
	unlink("f");
	return 0;
}
