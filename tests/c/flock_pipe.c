// flock() works on any open file: a pipe's two ends share its lock, and
// closing the holder releases it. Directories and /proc files take flock
// locks too.
#include "dt.h"
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	int p[2];
	CHK("pipe", pipe(p));
	CHK("flock read end EX", flock(p[0], LOCK_EX | LOCK_NB));
	CHK("flock write end EX", flock(p[1], LOCK_EX | LOCK_NB));
	CHK("flock write end SH", flock(p[1], LOCK_SH | LOCK_NB));
	CHK("unlock read end", flock(p[0], LOCK_UN));
	CHK("flock write end EX again", flock(p[1], LOCK_EX | LOCK_NB));
	int d = dup(p[1]);
	CHK("flock dup of holder", flock(d, LOCK_EX | LOCK_NB));
	CHK("close write end", close(p[1]));
	CHK("close dup", close(d));
	CHK("flock read end after holder closed", flock(p[0], LOCK_EX | LOCK_NB));
	close(p[0]);

	int dir = open("/tmp", O_RDONLY | O_DIRECTORY);
	CHK("flock dir", flock(dir, LOCK_SH | LOCK_NB));
	close(dir);
	int pr = open("/proc/self/status", O_RDONLY);
	CHK("flock proc file", flock(pr, LOCK_EX | LOCK_NB));
	close(pr);
	CHK("flock bad op", flock(0, 0));
	return 0;
}
