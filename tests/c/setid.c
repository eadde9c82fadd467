// Saved set-IDs and set-ID executables: setresuid/setresgid record the
// saved IDs, an unprivileged process may move only among its real,
// effective and saved IDs (EPERM otherwise), setreuid updates the saved
// ID as Linux does; executing a set-user-ID / set-group-ID file changes
// the effective and saved IDs, sets AT_SECURE and makes the process
// undumpable (and /proc/self/status shows it all), unless no_new_privs is
// set or set-group-ID lacks group execute. setfsuid/setfsgid move the IDs
// file access uses. The tests run as root.
#include "dt.h"
#include <fcntl.h>
#include <sys/auxv.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void show(const char *what)
{
	uid_t r, e, s;
	gid_t gr, ge, gs;
	getresuid(&r, &e, &s);
	getresgid(&gr, &ge, &gs);
	printf("%s: uid %u,%u,%u gid %u,%u,%u\n", what, (unsigned)r, (unsigned)e,
	       (unsigned)s, (unsigned)gr, (unsigned)ge, (unsigned)gs);
}

/* The same IDs as /proc/self/status reports them (real, effective, saved,
 * filesystem). */
static void show_status(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	if (!f) {
		printf("no /proc/self/status\n");
		return;
	}
	while (fgets(line, sizeof line, f))
		if (strncmp(line, "Uid:", 4) == 0 || strncmp(line, "Gid:", 4) == 0)
			fputs(line, stdout);
	fclose(f);
}

static void wait_child(pid_t pid)
{
	int st;
	if (waitpid(pid, &st, 0) != pid)
		printf("waitpid failed\n");
	else
		printf("child status %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st));
	fflush(stdout);
}

static void saved_ids(void)
{
	CHK("setresgid(100,101,102)", setresgid(100, 101, 102));
	show("after setresgid");
	CHK("setresuid(1000,1001,1002)", setresuid(1000, 1001, 1002));
	show("after setresuid");
	/* No capabilities now: only the three current IDs are allowed. */
	CHK("seteuid(saved 1002)", seteuid(1002));
	CHK("seteuid(real 1000)", seteuid(1000));
	CHK("seteuid(0)", seteuid(0));
	CHK("setresuid(-1,-1,1001)", setresuid(-1, -1, 1001));
	CHK("setresuid(-1,-1,1000)", setresuid(-1, -1, 1000));
	show("after saved moves");
	CHK("setresuid(-1,-1,1002) now lost", setresuid(-1, -1, 1002));
	CHK("setregid(-1, 102)", setregid(-1, 102));
	CHK("setgid(100) to real", setgid(100));
	CHK("setgid(102) to saved", setgid(102));
	CHK("setgid(7)", setgid(7));
	CHK("setuid(1001)", setuid(1001));
	show("end");
	show_status();
}

static void setre_root(void)
{
	CHK("setreuid(1000,1001)", setreuid(1000, 1001));
	show("setreuid(1000,1001)");
	CHK("setreuid(-1,1000)", setreuid(-1, 1000));
	show("setreuid(-1,1000)");
	CHK("setreuid(1001,-1) (was euid? no)", setreuid(1001, -1));
	CHK("setreuid(-1,1001)", setreuid(-1, 1001));
	show("setreuid(-1,1001)");
}

/* File-system IDs decide file access and new files' owners; leaving
 * fsuid 0 drops root's file capabilities. */
static void fs_ids(void)
{
	char secret[64], mine[64];
	snprintf(secret, sizeof secret, "/tmp/dt-setid-%d-secret", (int)getpid());
	snprintf(mine, sizeof mine, "/tmp/dt-setid-%d-mine", (int)getpid());
	int fd = open(secret, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	FACT(fd >= 0);
	close(fd);
	printf("setfsuid(1000) -> %d\n", setfsuid(1000));
	printf("setfsgid(50) -> %d\n", setfsgid(50));
	printf("query -> %d %d\n", setfsuid(-1), setfsgid(-1));
	show("fs ids moved");
	show_status();
	CHK("open root's 0600 file", open(secret, O_RDONLY));
	fd = open(mine, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	struct stat st;
	CHK("fstat new file", fstat(fd, &st));
	printf("new file owner %u:%u\n", (unsigned)st.st_uid, (unsigned)st.st_gid);
	close(fd);
	printf("setfsuid(0) -> %d\n", setfsuid(0));
	fd = open(secret, O_RDONLY);
	printf("open as fsuid 0: %s\n", fd >= 0 ? "ok" : "failed");
	close(fd);
	/* setresuid moves the file-system uid with the effective one. */
	CHK("setresuid(1000,1000,1000)", setresuid(1000, 1000, 1000));
	printf("setfsuid(0) unprivileged -> %d\n", setfsuid(0));
	printf("query -> %d\n", setfsuid(-1));
	unlink(mine);
}

static int copy_self(const char *to, mode_t mode)
{
	int in = open("/proc/self/exe", O_RDONLY);
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0700);
	if (in < 0 || out < 0)
		return -1;
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, n) != n)
			return -1;
	close(in);
	close(out);
	if (chown(to, 65534, 65534) < 0 || chmod(to, mode) < 0)
		return -1;
	return 0;
}

static void run_as_user(const char *path, int nnp)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		if (setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000))
			_exit(90);
		if (nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
			_exit(91);
		execl(path, path, "child", (char *)NULL);
		_exit(92);
	}
	wait_child(pid);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "child") == 0) {
		show("exec'd");
		printf("AT_SECURE %lu AT_UID %lu AT_EUID %lu AT_GID %lu AT_EGID %lu\n",
		       getauxval(AT_SECURE), getauxval(AT_UID), getauxval(AT_EUID),
		       getauxval(AT_GID), getauxval(AT_EGID));
		printf("dumpable %d\n", prctl(PR_GET_DUMPABLE));
		show_status();
		return 0;
	}
	dt_init();
	pid_t pid = fork();
	if (pid == 0) {
		saved_ids();
		_exit(0);
	}
	wait_child(pid);
	pid = fork();
	if (pid == 0) {
		setre_root();
		_exit(0);
	}
	wait_child(pid);
	pid = fork();
	if (pid == 0) {
		fs_ids();
		_exit(0);
	}
	wait_child(pid);
	char secret[64];
	snprintf(secret, sizeof secret, "/tmp/dt-setid-%d-secret", (int)pid);
	unlink(secret);

	char both[64], suid_only[64];
	snprintf(both, sizeof both, "/tmp/dt-setid-%d-both", (int)getpid());
	snprintf(suid_only, sizeof suid_only, "/tmp/dt-setid-%d-u", (int)getpid());
	FACT(copy_self(both, 06755) == 0);
	/* Set-group-ID without group execute does not change the group. */
	FACT(copy_self(suid_only, 06745) == 0);
	printf("-- set-user-ID and set-group-ID\n");
	run_as_user(both, 0);
	printf("-- set-group-ID without group execute\n");
	run_as_user(suid_only, 0);
	printf("-- no_new_privs\n");
	run_as_user(both, 1);
	printf("-- root executes it\n");
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execl(both, both, "child", (char *)NULL);
		_exit(92);
	}
	wait_child(pid);
	unlink(both);
	unlink(suid_only);
	return 0;
}
