// Ids through a user namespace's maps: stat owners, /proc/PID/status
// Uid/Gid (the reader's view), SO_PEERCRED, setfsuid's result, set*id
// arguments mapped (unmapped: EINVAL), overflow id 65534 for unmapped.
#include "dt.h"
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void status_ids(const char *who, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[256];
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "Uid:", 4) || !strncmp(line, "Gid:", 4))
			printf("%s: %s", who, line);
	if (f)
		fclose(f);
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	CHK(strrchr(path, '/') + 1, write(fd, text, strlen(text)));
	close(fd);
}

int main(void)
{
	dt_init();
	int go[2], ready[2], sp[2];
	pipe(go);
	pipe(ready);
	socketpair(AF_UNIX, SOCK_STREAM, 0, sp);
	pid_t c = fork();
	if (c == 0) {
		char x;
		close(go[1]);
		close(ready[0]);
		setgroups(0, NULL);
		setresgid(2000, 2000, 2000);
		setresuid(1000, 1000, 1000);
		CHK("unshare NEWUSER", unshare(CLONE_NEWUSER));
		write(ready[1], "r", 1);
		read(go[0], &x, 1);
		uid_t r, e, s;
		getresuid(&r, &e, &s);
		printf("getresuid: %u %u %u\n", r, e, s);
		printf("getgid: %u\n", getgid());
		struct stat st;
		stat("/", &st);
		printf("stat /: uid=%u gid=%u\n", st.st_uid, st.st_gid);
		char path[64];
		snprintf(path, sizeof path, "/tmp/userns_ids.%d", getpid());
		int fd = open(path, O_CREAT | O_WRONLY | O_EXCL, 0600);
		fstat(fd, &st);
		printf("fstat own file: uid=%u gid=%u\n", st.st_uid, st.st_gid);
		struct statx sx;
		statx(AT_FDCWD, path, 0, STATX_BASIC_STATS, &sx);
		printf("statx own file: uid=%u gid=%u\n", sx.stx_uid, sx.stx_gid);
		close(fd);
		unlink(path);
		status_ids("inside", "/proc/self/status");
		struct ucred cr;
		socklen_t l = sizeof cr;
		getsockopt(sp[1], SOL_SOCKET, SO_PEERCRED, &cr, &l);
		printf("peer (root outside): uid=%u gid=%u\n", cr.uid, cr.gid);
		printf("setfsuid(-1) = %d\n", setfsuid(-1));
		CHK("setuid unmapped", setuid(5));
		CHK("setresuid mapped", setresuid(-1, 0, -1));
		CHK("setgid unmapped", setgid(7));
		gid_t g = 3;
		CHK("setgroups unmapped", setgroups(1, &g));
		write(ready[1], "r", 1);
		read(go[0], &x, 1);
		_exit(0);
	}
	close(go[0]);
	close(ready[1]);
	char x, path[64];
	read(ready[0], &x, 1);
	snprintf(path, sizeof path, "/proc/%d/uid_map", c);
	write_file(path, "0 1000 1\n");
	snprintf(path, sizeof path, "/proc/%d/gid_map", c);
	write_file(path, "0 2000 1\n");
	write(go[1], "g", 1);
	read(ready[0], &x, 1);
	snprintf(path, sizeof path, "/proc/%d/status", c);
	status_ids("outside", path);
	write(go[1], "g", 1);
	int st;
	waitpid(c, &st, 0);
	printf("child status: 0x%x\n", st);
	return 0;
}
