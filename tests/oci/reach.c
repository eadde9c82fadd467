/* Run as a container's init by scripts/oci-test.sh, under rvisor and
 * under runc: what of the runtime's own sockets the container can reach.
 * argv[1]: the host path of the container's control socket (rvisor's
 * --root/ID/ctl.sock). Prints one line per attempt ("blocked (ERRNO)" or
 * "reached") and per control ("ok"/"failed"), the same under both.
 *   - the control socket by its host path, and abstract names a runtime
 *     might use (the path, "rvisor", "ctl.sock");
 *   - every socket named in /proc/net/unix;
 *   - every socket descriptor of every process in /proc/<pid>/fd that
 *     this program did not make (the standard streams aside), and
 *     reopening each through its /proc link;
 *   - /proc/1/root: it is this container's root (its busybox, its
 *     listing), and the host path of the socket is not under it.
 * Controls: a socket made inside is reached by path and abstract name,
 * and /proc/1/root/proc/self is our own. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static const char *en(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : "E?";
}

/* connect to `name` (abstract when `abstract`): 0 or -errno. */
static int try_connect(const char *name, int abstract)
{
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	size_t n = strlen(name);
	if (n + 2 > sizeof(a.sun_path))
		n = sizeof(a.sun_path) - 2;
	memcpy(a.sun_path + (abstract ? 1 : 0), name, n);
	socklen_t len = offsetof(struct sockaddr_un, sun_path) + n + 1;
	int r = connect(s, (struct sockaddr *)&a, len) == 0 ? 0 : -errno;
	close(s);
	if (r != 0) {
		s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (connect(s, (struct sockaddr *)&a, len) == 0)
			r = 0;
		close(s);
	}
	return r;
}

static void attempt(const char *what, int r)
{
	if (r == 0)
		printf("ATTEMPT %s: reached\n", what);
	else
		printf("ATTEMPT %s: blocked (%s)\n", what, en(-r));
}

/* Listens on `name` (abstract when `abstract`). */
static int listen_on(const char *name, int abstract)
{
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	memcpy(a.sun_path + (abstract ? 1 : 0), name, strlen(name));
	socklen_t len = offsetof(struct sockaddr_un, sun_path) + strlen(name) + 1;
	if (bind(s, (struct sockaddr *)&a, len) != 0 || listen(s, 4) != 0)
		return -1;
	return s;
}

/* Sockets among every process's descriptors (0-2 aside), this program's
 * own `mine` aside; each one found is an attempt to reopen it. */
static int foreign_sockets(const int *mine, int nmine)
{
	int found = 0;
	DIR *p = opendir("/proc");
	struct dirent *e;
	while (p && (e = readdir(p))) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		char dir[300];
		snprintf(dir, sizeof(dir), "/proc/%s/fd", e->d_name);
		DIR *f = opendir(dir);
		struct dirent *g;
		while (f && (g = readdir(f))) {
			int fd = atoi(g->d_name);
			if (g->d_name[0] == '.' || fd <= 2)
				continue;
			int own = 0;
			for (int i = 0; i < nmine; i++)
				own |= strcmp(e->d_name, "1") == 0 && fd == mine[i];
			char path[600], target[256] = { 0 };
			snprintf(path, sizeof(path), "%s/%s", dir, g->d_name);
			if (readlink(path, target, sizeof(target) - 1) <= 0 ||
			    strncmp(target, "socket:", 7) || own)
				continue;
			found++;
			int r = open(path, O_RDWR);
			printf("ATTEMPT reopen a socket of pid %s (%s): %s\n", e->d_name, target,
			       r >= 0 ? "reached" : "blocked");
			if (r >= 0)
				close(r);
		}
		if (f)
			closedir(f);
	}
	if (p)
		closedir(p);
	return found;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc < 2) {
		fprintf(stderr, "usage: reach CONTROL-SOCKET\n");
		return 2;
	}
	const char *ctl = argv[1];
	attempt("the control socket by its host path", try_connect(ctl, 0));
	attempt("the control socket's path as an abstract name", try_connect(ctl, 1));
	attempt("abstract name rvisor", try_connect("rvisor", 1));
	attempt("abstract name ctl.sock", try_connect("ctl.sock", 1));
	char rel[600];
	snprintf(rel, sizeof(rel), "/proc/1/root%s", ctl);
	attempt("the control socket under /proc/1/root", try_connect(rel, 0));
	int found = foreign_sockets(NULL, 0);
	printf("ATTEMPT sockets of the runtime among /proc/*/fd: %s\n",
	       found ? "reached" : "blocked (none)");
	/* Every named socket the container's network namespace shows. */
	FILE *u = fopen("/proc/net/unix", "r");
	char line[512];
	int named = 0;
	while (u && fgets(line, sizeof(line), u)) {
		char *path = strrchr(line, ' ');
		if (!path || path[1] == '\n' || strstr(line, "Num "))
			continue;
		path++;
		path[strcspn(path, "\n")] = 0;
		if (strchr(path, '/') || path[0] == '@')
			named++;
		if (path[0] == '@')
			attempt("an abstract name in /proc/net/unix", try_connect(path + 1, 1));
		else if (strchr(path, '/'))
			attempt("a path in /proc/net/unix", try_connect(path, 0));
	}
	if (u)
		fclose(u);
	printf("INFO named sockets in /proc/net/unix before ours: %d\n", named);
	/* Controls: our own sockets are reached both ways. */
	int mine[2] = { listen_on("/tmp/own.sock", 0), listen_on("own-abstract", 1) };
	printf("CONTROL own socket by path: %s\n", try_connect("/tmp/own.sock", 0) == 0 ? "ok" : "failed");
	printf("CONTROL own abstract name: %s\n", try_connect("own-abstract", 1) == 0 ? "ok" : "failed");
	printf("CONTROL only our own sockets in /proc/*/fd: %s\n",
	       foreign_sockets(mine, 2) == 0 ? "ok" : "failed");
	unlink("/tmp/own.sock");
	/* /proc/1/root is this container's root. */
	char target[256] = { 0 };
	readlink("/proc/1/root", target, sizeof(target) - 1);
	printf("CONTROL /proc/1/root links to /: %s\n", strcmp(target, "/") ? "failed" : "ok");
	struct stat a, b;
	int same = stat("/proc/1/root/bin/busybox", &a) == 0 && stat("/bin/busybox", &b) == 0 &&
		   a.st_ino == b.st_ino && a.st_dev == b.st_dev;
	printf("CONTROL /proc/1/root/bin/busybox is our busybox: %s\n", same ? "ok" : "failed");
	int n1 = 0, n2 = 0;
	DIR *d = opendir("/proc/1/root");
	while (d && readdir(d))
		n1++;
	if (d)
		closedir(d);
	d = opendir("/");
	while (d && readdir(d))
		n2++;
	if (d)
		closedir(d);
	printf("CONTROL /proc/1/root lists as /: %s\n", n1 == n2 && n1 > 2 ? "ok" : "failed");
	struct stat c;
	char *dir = strdup(ctl);
	*strrchr(dir, '/') = 0;
	snprintf(rel, sizeof(rel), "/proc/1/root%s", dir);
	attempt("the state directory under /proc/1/root", stat(rel, &c) == 0 ? 0 : -errno);
	attempt("the state directory by its host path", stat(dir, &c) == 0 ? 0 : -errno);
	return 0;
}
