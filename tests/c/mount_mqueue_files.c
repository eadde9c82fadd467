// Files made and removed inside an mqueue mount: open(O_CREAT) makes a
// queue (default attributes, mode after umask, readable as its QSIZE
// line), mq_open finds it; unlink removes it, as mq_unlink does; a queue
// made by mq_open is removed by unlink in the mount. Error paths: O_EXCL
// on an existing queue, unlink of a missing one, mkdir, a name too long.
#include "dt.h"
#include <fcntl.h>
#include <mqueue.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/dt-mqfXXXXXX";

static const char *at(const char *name)
{
	static char p[512];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	return p;
}

static void show_fd(int fd)
{
	char buf[256];
	int n = pread(fd, buf, sizeof buf - 1, 0);
	buf[n > 0 ? n : 0] = 0;
	printf("read: %s", n > 0 ? buf : "(nothing)\n");
}

int main(void)
{
	dt_init();
	CHK("unshare", unshare(CLONE_NEWNS | CLONE_NEWIPC));
	mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	if (!mkdtemp(dir))
		return 1;
	CHK("mount mqueue", mount("none", dir, "mqueue", 0, NULL));
	umask(027);

	int fd = open(at("made"), O_CREAT | O_RDWR, 0666);
	FACT(fd >= 0);
	struct stat st;
	CHK("fstat", fstat(fd, &st));
	printf("mode %o regular %d uid %d\n", st.st_mode & 07777, S_ISREG(st.st_mode), st.st_uid);
	show_fd(fd);
	CHK("open O_EXCL existing", open(at("made"), O_CREAT | O_EXCL | O_RDWR, 0600));
	int again = open(at("made"), O_CREAT | O_RDONLY, 0600);
	FACT(again >= 0);
	close(again);

	mqd_t q = mq_open("/made", O_RDWR);
	FACT(q != (mqd_t)-1);
	struct mq_attr a;
	CHK("mq_getattr", mq_getattr(q, &a));
	printf("maxmsg %ld msgsize %ld\n", a.mq_maxmsg, a.mq_msgsize);
	CHK("mq_send", mq_send(q, "abc", 3, 0));
	show_fd(fd);
	mq_close(q);
	close(fd);

	CHK("unlink made", unlink(at("made")));
	CHK("mq_open after unlink", mq_open("/made", O_RDWR));
	CHK("unlink again", unlink(at("made")));
	CHK("stat after unlink", stat(at("made"), &st));

	q = mq_open("/byapi", O_CREAT | O_RDWR, 0600, NULL);
	FACT(q != (mqd_t)-1);
	CHK("stat byapi", stat(at("byapi"), &st));
	CHK("unlink byapi", unlink(at("byapi")));
	CHK("mq_unlink byapi", mq_unlink("/byapi"));
	CHK("mq_send on the unlinked queue", mq_send(q, "x", 1, 0));
	mq_close(q);

	CHK("mkdir", mkdir(at("sub"), 0755));
	char longname[300];
	memset(longname, 'n', 299);
	longname[299] = 0;
	CHK("create a name too long", open(at(longname), O_CREAT | O_RDWR, 0600));
	CHK("umount", umount(dir));
	rmdir(dir);
	return 0;
}
