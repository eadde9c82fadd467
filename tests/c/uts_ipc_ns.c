// UTS and IPC namespaces: unshare(CLONE_NEWUTS) then sethostname changes
// the name for the caller and its later children only; clone with
// CLONE_NEWUTS likewise; unshare(CLONE_NEWIPC) gives an empty System V
// registry (the parent's queue is not visible, the same key can be made
// again); /proc/PID/ns links change for the namespace made and no other.
// Errors: EINVAL for bad flags and CLONE_NEWIPC|CLONE_SYSVSEM, EPERM
// without CAP_SYS_ADMIN. Everything that changes a namespace runs in a
// child that made its own first.
#include "dt.h"
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/msg.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

static void ns_link(pid_t pid, const char *kind, char *out, size_t len)
{
	char path[64];
	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, kind);
	else
		snprintf(path, sizeof(path), "/proc/self/ns/%s", kind);
	ssize_t n = readlink(path, out, len - 1);
	out[n > 0 ? n : 0] = 0;
}

static int well_formed(const char *kind, const char *link)
{
	size_t k = strlen(kind);
	if (strncmp(link, kind, k) || strncmp(link + k, ":[", 2))
		return 0;
	const char *p = link + k + 2;
	if (*p < '1' || *p > '9')
		return 0;
	while (*p >= '0' && *p <= '9')
		p++;
	return !strcmp(p, "]");
}

static const char *kinds[] = {"uts", "ipc", "mnt", "pid", "net", "user", "cgroup", "time"};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

static void all_links(pid_t pid, char links[NKINDS][64])
{
	for (size_t i = 0; i < NKINDS; i++)
		ns_link(pid, kinds[i], links[i], 64);
}

static void compare(const char *what, char a[NKINDS][64], char b[NKINDS][64])
{
	printf("%s differ in:", what);
	for (size_t i = 0; i < NKINDS; i++)
		if (strcmp(a[i], b[i]))
			printf(" %s", kinds[i]);
	printf("\n");
}

static void nodename(const char *what)
{
	struct utsname u;
	uname(&u);
	printf("%s: nodename=%s\n", what, u.nodename);
}

static int wait_child(pid_t pid)
{
	int st;
	if (waitpid(pid, &st, __WALL) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static char outer[NKINDS][64];

static int uts_child(void)
{
	char in[NKINDS][64];
	CHK("unshare CLONE_SETTLS", unshare(CLONE_SETTLS));
	CHK("unshare CLONE_NEWUTS", unshare(CLONE_NEWUTS));
	all_links(0, in);
	compare("after unshare(NEWUTS)", outer, in);
	CHK("sethostname", sethostname("inner-ns", 8));
	CHK("setdomainname", setdomainname("inner-dom", 9));
	nodename("inner");
	char buf[64] = {0};
	int fd = open("/proc/sys/kernel/hostname", O_RDONLY);
	if (fd >= 0 && read(fd, buf, sizeof(buf) - 1) > 0)
		printf("/proc/sys/kernel/hostname: %s", buf);
	close(fd);
	pid_t g = fork();
	if (g == 0) {
		char gl[NKINDS][64];
		all_links(0, gl);
		compare("grandchild vs unsharer", in, gl);
		nodename("grandchild");
		_exit(0);
	}
	wait_child(g);
	g = fork();
	if (g == 0) {
		CHK("drop caps", dt_drop_effective_caps());
		CHK("unshare NEWUTS without CAP_SYS_ADMIN", unshare(CLONE_NEWUTS));
		CHK("unshare NEWIPC without CAP_SYS_ADMIN", unshare(CLONE_NEWIPC));
		_exit(0);
	}
	wait_child(g);
	return 0;
}

static int ipc_child(key_t key)
{
	char in[NKINDS][64];
	CHKOK("msgget parent's key before", msgget(key, 0));
	CHK("unshare CLONE_NEWIPC", unshare(CLONE_NEWIPC));
	all_links(0, in);
	compare("after unshare(NEWIPC)", outer, in);
	CHK("msgget parent's key after", msgget(key, 0));
	int id = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
	printf("msgget create same key: %s\n", id >= 0 ? "ok" : dt_errname(errno));
	struct {
		long type;
		char text[8];
	} m = {1, "inner"};
	CHK("msgsnd", msgsnd(id, &m, sizeof(m.text), 0));
	struct msqid_ds ds;
	CHK("msgctl IPC_STAT", msgctl(id, IPC_STAT, &ds));
	printf("qnum=%lu\n", (unsigned long)ds.msg_qnum);
	return 0;
}

static char stack[256 * 1024];

static int clone_fn(void *arg)
{
	(void)arg;
	char in[NKINDS][64];
	all_links(0, in);
	compare("clone(NEWUTS|NEWIPC) child", outer, in);
	if (sethostname("cloned", 6))
		return 1;
	nodename("cloned child");
	return 0;
}

int main(void)
{
	dt_init();
	struct utsname host;
	uname(&host);
	all_links(0, outer);
	for (size_t i = 0; i < NKINDS; i++)
		printf("%s link well formed: %d\n", kinds[i], well_formed(kinds[i], outer[i]));
	char pfc[64];
	ns_link(0, "pid_for_children", pfc, sizeof(pfc));
	FACT(!strcmp(pfc, outer[3]));

	pid_t pid = fork();
	if (pid == 0)
		_exit(uts_child());
	printf("uts child: %d\n", wait_child(pid));
	struct utsname after;
	uname(&after);
	FACT(!strcmp(host.nodename, after.nodename));
	FACT(!strcmp(host.domainname, after.domainname));

	key_t key = 0x7e000000 | (getpid() & 0xffffff);
	int qid = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
	CHKOK("msgget parent", qid);
	pid = fork();
	if (pid == 0)
		_exit(ipc_child(key));
	printf("ipc child: %d\n", wait_child(pid));
	FACT(msgget(key, 0) == qid);
	struct msqid_ds ds;
	CHK("parent queue still empty", msgctl(qid, IPC_STAT, &ds) == 0 ? (long)ds.msg_qnum : -1);
	CHK("msgctl IPC_RMID", msgctl(qid, IPC_RMID, NULL));

	pid = clone(clone_fn, stack + sizeof(stack), CLONE_NEWUTS | CLONE_NEWIPC | SIGCHLD, NULL);
	int rc = pid > 0 ? wait_child(pid) : -1;
	CHKOK("clone NEWUTS|NEWIPC", pid);
	printf("clone child: %d\n", rc);
	uname(&after);
	FACT(!strcmp(host.nodename, after.nodename));
	CHK("clone NEWIPC|SYSVSEM",
	    clone(clone_fn, stack + sizeof(stack), CLONE_NEWIPC | CLONE_SYSVSEM | SIGCHLD, NULL));
	return 0;
}
