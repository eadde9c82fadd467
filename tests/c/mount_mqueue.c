// mount -t mqueue: the IPC namespace's queues as files (owner, mode and
// the QSIZE line of each), following mq_open/mq_send/mq_unlink; and
// mount -t cgroup2.
#include "dt.h"
#include <dirent.h>
#include <fcntl.h>
#include <mqueue.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

static void list(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) {
		printf("opendir: %s\n", dt_errname(errno));
		return;
	}
	printf("entries:");
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			printf(" %s(%s)", e->d_name, e->d_type == DT_REG ? "reg" : "?");
	printf("\n");
	closedir(d);
}

static void show(const char *path)
{
	char buf[256];
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		printf("open %s: %s\n", path, dt_errname(errno));
		return;
	}
	int n = read(fd, buf, sizeof buf - 1);
	buf[n > 0 ? n : 0] = 0;
	printf("%s", buf);
	close(fd);
}

int main(void)
{
	dt_init();
	CHK("unshare", unshare(CLONE_NEWNS | CLONE_NEWIPC));
	mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	char dir[] = "/tmp/dt-mqXXXXXX";
	if (!mkdtemp(dir))
		return 1;
	CHK("mount mqueue", mount("none", dir, "mqueue", 0, NULL));
	struct stat st;
	stat(dir, &st);
	printf("root mode %o\n", st.st_mode & 07777);
	list(dir);

	umask(022);
	mqd_t q = mq_open("/dtq", O_CREAT | O_RDWR, 0640, NULL);
	CHK("mq_send", mq_send(q, "hello", 5, 1));
	list(dir);
	char path[128];
	snprintf(path, sizeof path, "%s/dtq", dir);
	CHK("stat", stat(path, &st));
	printf("mode %o uid %d regular %d\n", st.st_mode & 07777, st.st_uid, S_ISREG(st.st_mode));
	show(path);
	char m[8192];
	mq_receive(q, m, sizeof m, NULL);
	show(path);
	CHK("mq_unlink", mq_unlink("/dtq"));
	list(dir);
	CHK("stat after unlink", stat(path, &st));
	mq_close(q);
	CHK("umount", umount(dir));

	CHK("mount cgroup2", mount("none", dir, "cgroup2", 0, NULL));
	struct statfs sf;
	statfs(dir, &sf);
	printf("cgroup2 magic %d\n", sf.f_type == 0x63677270);
	snprintf(path, sizeof path, "%s/cgroup.procs", dir);
	CHK("cgroup.procs", access(path, F_OK));
	CHK("umount", umount(dir));
	CHK("mount bogus", mount("none", dir, "nosuchfs", 0, NULL));
	rmdir(dir);
	return 0;
}
