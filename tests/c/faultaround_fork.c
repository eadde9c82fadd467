/* fork after this program's cached file was mapped private once more
 * (fault-around maps it along with the program's own segments):
 * the child reads the same bytes and its write to its copy reaches
 * neither the parent's mapping nor the file. */
#include "dt.h"
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
	dt_init();
	long pg = sysconf(_SC_PAGESIZE);
	int fd = open("/proc/self/exe", O_RDONLY);
	CHK("open exe", fd >= 0 ? 0 : -1);
	unsigned char orig[8];
	CHK("pread", pread(fd, orig, 8, pg));
	unsigned char *m = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	FACT(m != MAP_FAILED);
	FACT(memcmp(m + pg, orig, 8) == 0);
	m[0] = 'P';
	pid_t pid = fork();
	if (pid == 0) {
		int ok = memcmp(m + pg, orig, 8) == 0 && m[0] == 'P';
		m[pg] ^= 0x55;
		m[0] = 'C';
		_exit(ok ? 0 : 1);
	}
	int st;
	CHK("waitpid", waitpid(pid, &st, 0) == pid ? 0 : -1);
	FACT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	FACT(m[0] == 'P');
	FACT(memcmp(m + pg, orig, 8) == 0);
	unsigned char now[8];
	CHK("pread again", pread(fd, now, 8, pg));
	FACT(memcmp(now, orig, 8) == 0);
	return 0;
}
