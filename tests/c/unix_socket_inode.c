// A unix socket's own inode: fchmod of its descriptor changes the mode
// fstat shows and the mode of the file a later bind makes (less the
// umask); fstatfs names sockfs. SO_LINGER is kept and reported.
#include "dt.h"
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <unistd.h>

static void linger_of(const char *what, int fd)
{
	struct linger l = {-1, -1};
	socklen_t n = sizeof(l);
	int r = getsockopt(fd, SOL_SOCKET, SO_LINGER, &l, &n);
	printf("%s: ret=%d onoff=%d linger=%d len=%d\n", what, r, l.l_onoff, l.l_linger, (int)n);
}

int main(void)
{
	dt_init();
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct stat st;
	CHK("fstat", fstat(s, &st));
	printf("mode before: %o\n", st.st_mode);
	CHK("fchmod", fchmod(s, 0765));
	CHK("fstat", fstat(s, &st));
	printf("mode after: %o\n", st.st_mode);
	umask(0123);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	strcpy(a.sun_path, "sock");
	CHK("bind", bind(s, (struct sockaddr *)&a, sizeof(a)));
	CHK("stat", stat("sock", &st));
	printf("bound file mode: %o\n", st.st_mode);
	FACT(st.st_atime != 0 && st.st_atime == st.st_mtime && st.st_atime == st.st_ctime);
	unlink("sock");

	struct statfs sf;
	CHK("fstatfs", fstatfs(s, &sf));
	printf("f_type=%lx bsize=%ld namelen=%ld\n", (long)sf.f_type, (long)sf.f_bsize, (long)sf.f_namelen);

	int sv[2];
	socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
	linger_of("default", sv[0]);
	struct linger l = {1, 5};
	CHK("set linger on", setsockopt(sv[0], SOL_SOCKET, SO_LINGER, &l, sizeof(l)));
	linger_of("on", sv[0]);
	linger_of("other end", sv[1]);
	l.l_onoff = 0;
	l.l_linger = 7;
	CHK("set linger off", setsockopt(sv[0], SOL_SOCKET, SO_LINGER, &l, sizeof(l)));
	linger_of("off", sv[0]);
	CHK("set linger short", setsockopt(sv[0], SOL_SOCKET, SO_LINGER, &l, 4));
	linger_of("stream", s);
	close(sv[0]);
	close(sv[1]);
	close(s);
	return 0;
}
