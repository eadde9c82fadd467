// RLIMIT_NPROC bounds a fork bomb of an unprivileged user: after dropping
// to an unused uid with a limit of 5 tasks, forks fail with EAGAIN once the
// user has 5 tasks. Root is exempt.
#include "dt.h"
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	pid_t c = fork();
	if (c == 0) {
		/* A uid of its own, so parallel runs on one host do not count
		 * each other's processes. */
		uid_t uid = 200000 + getpid() % 100000;
		struct rlimit r = {5, 5};
		if (setrlimit(RLIMIT_NPROC, &r) != 0 || setgid(uid) != 0 || setuid(uid) != 0)
			_exit(100);
		pid_t kids[16];
		int made = 0, err = 0;
		for (int i = 0; i < 16; i++) {
			pid_t k = fork();
			if (k == 0) {
				pause();
				_exit(0);
			}
			if (k < 0) {
				err = errno;
				break;
			}
			kids[made++] = k;
		}
		for (int i = 0; i < made; i++)
			kill(kids[i], SIGKILL);
		for (int i = 0; i < made; i++)
			waitpid(kids[i], 0, 0);
		printf("forks before the limit: %d, then %s\n", made, dt_errname(err));
		_exit(0);
	}
	int st;
	waitpid(c, &st, 0);
	printf("child exit=%d\n", WEXITSTATUS(st));
	return 0;
}
