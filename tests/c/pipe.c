// pipe/pipe2: data flow, O_CLOEXEC, O_NONBLOCK (EAGAIN on empty read and on
// a full pipe), EOF after the writer closes, EPIPE after the reader closes
// (SIGPIPE ignored), default SIGPIPE killing a child, EINVAL/EFAULT.
#include "dt.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	int p[2];
	CHK("pipe2 0", pipe2(p, 0));
	printf("fds=%d,%d\n", p[0], p[1]);
	CHK("write", write(p[1], "through the pipe", 16));
	char buf[64] = {0};
	CHK("read", read(p[0], buf, sizeof(buf)));
	printf("buf=%s\n", buf);
	CHK("close writer", close(p[1]));
	CHK("read at EOF", read(p[0], buf, sizeof(buf)));
	close(p[0]);

	CHK("pipe2 O_CLOEXEC", pipe2(p, O_CLOEXEC));
	printf("cloexec=%d,%d\n", fcntl(p[0], F_GETFD) & FD_CLOEXEC, fcntl(p[1], F_GETFD) & FD_CLOEXEC);
	close(p[0]);
	close(p[1]);

	CHK("pipe2 O_NONBLOCK", pipe2(p, O_NONBLOCK));
	CHK("read empty", read(p[0], buf, 1));
	static char chunk[4096];
	long total = 0;
	ssize_t n;
	while ((n = write(p[1], chunk, sizeof(chunk))) > 0)
		total += n;
	printf("filled: total=%ld errno=%s\n", total, dt_errname(errno));
	close(p[0]);
	CHK("write after reader closed (SIGPIPE ignored)", (signal(SIGPIPE, SIG_IGN), write(p[1], "x", 1)));
	close(p[1]);

	/* With the default disposition, SIGPIPE kills the writer. */
	signal(SIGPIPE, SIG_DFL);
	CHK("pipe", pipe(p));
	close(p[0]);
	pid_t c = fork();
	if (c == 0) {
		ssize_t r = write(p[1], "x", 1);
		printf("child survived write: ret=%zd\n", r);
		_exit(0);
	}
	int st;
	waitpid(c, &st, 0);
	printf("child: signaled=%d sig=%d\n", WIFSIGNALED(st), WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	close(p[1]);

	/* Blocking reader in a child, writer in the parent. */
	CHK("pipe", pipe(p));
	c = fork();
	if (c == 0) {
		close(p[1]);
		long got = 0;
		while ((n = read(p[0], buf, sizeof(buf))) > 0)
			got += n;
		_exit(got == 100000 ? 0 : 1);
	}
	close(p[0]);
	static char big[100000];
	CHK("write 100000 to blocking reader", write(p[1], big, sizeof(big)));
	close(p[1]);
	waitpid(c, &st, 0);
	printf("reader child exit=%d\n", WEXITSTATUS(st));

	CHK("pipe2 bad flags", pipe2(p, O_APPEND));
	CHK("pipe BADPTR", pipe(BADPTR));
	CHK("write to read end", (pipe(p), write(p[0], "x", 1)));
	CHK("read from write end", read(p[1], buf, 1));
	return 0;
}
