// AF_UNIX socketpair: stream and datagram semantics (message boundaries),
// shutdown, MSG_DONTWAIT (EAGAIN), passing a file descriptor with
// SCM_RIGHTS, and EPIPE/EAFNOSUPPORT/EOPNOTSUPP/EFAULT errors.
#include "dt.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	signal(SIGPIPE, SIG_IGN);
	int s[2];
	CHK("socketpair STREAM", socketpair(AF_UNIX, SOCK_STREAM, 0, s));
	CHK("send 5", send(s[0], "hello", 5, 0));
	CHK("send 6", send(s[0], " world", 6, 0));
	char buf[64] = {0};
	CHK("recv (stream merges)", recv(s[1], buf, sizeof(buf), 0));
	printf("buf=%s\n", buf);
	CHK("recv MSG_DONTWAIT empty", recv(s[1], buf, sizeof(buf), MSG_DONTWAIT));
	CHK("write/read also work", write(s[1], "back", 4));
	memset(buf, 0, sizeof(buf));
	CHK("read", read(s[0], buf, sizeof(buf)));
	printf("buf=%s\n", buf);
	CHK("shutdown SHUT_WR", shutdown(s[0], SHUT_WR));
	CHK("recv after peer SHUT_WR", recv(s[1], buf, sizeof(buf), 0));
	CHK("send after SHUT_WR", send(s[0], "x", 1, 0));
	CHK("shutdown bad how", shutdown(s[0], 7));
	close(s[0]);
	close(s[1]);

	CHK("socketpair DGRAM", socketpair(AF_UNIX, SOCK_DGRAM, 0, s));
	CHK("send 5", send(s[0], "first", 5, 0));
	CHK("send 6", send(s[0], "second", 6, 0));
	memset(buf, 0, sizeof(buf));
	CHK("recv one datagram", recv(s[1], buf, sizeof(buf), 0));
	printf("buf=%s\n", buf);
	memset(buf, 0, sizeof(buf));
	CHK("recv truncated datagram", recv(s[1], buf, 3, 0));
	printf("buf=%s\n", buf);
	CHK("recv empty DONTWAIT", recv(s[1], buf, sizeof(buf), MSG_DONTWAIT));

	/* Pass an fd over the socket. */
	int f = open("passed", O_CREAT | O_RDWR | O_TRUNC, 0600);
	CHK("write", write(f, "via SCM_RIGHTS", 14));
	char cbuf[CMSG_SPACE(sizeof(int))];
	memset(cbuf, 0, sizeof(cbuf));
	struct iovec iov = { "m", 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &f, sizeof(int));
	CHK("sendmsg SCM_RIGHTS", sendmsg(s[0], &mh, 0));
	close(f);
	char rbuf[CMSG_SPACE(sizeof(int))], m;
	struct iovec riov = { &m, 1 };
	struct msghdr rh = { .msg_iov = &riov, .msg_iovlen = 1, .msg_control = rbuf, .msg_controllen = sizeof(rbuf) };
	CHK("recvmsg", recvmsg(s[1], &rh, 0));
	struct cmsghdr *rc = CMSG_FIRSTHDR(&rh);
	FACT(rc && rc->cmsg_type == SCM_RIGHTS);
	int got = -1;
	if (rc)
		memcpy(&got, CMSG_DATA(rc), sizeof(int));
	memset(buf, 0, sizeof(buf));
	CHK("pread received fd", pread(got, buf, sizeof(buf), 0));
	printf("buf=%s\n", buf);
	close(s[1]);
	CHK("send to closed peer", send(s[0], "x", 1, 0));

	CHK("socketpair AF_INET", socketpair(AF_INET, SOCK_STREAM, 0, s));
	CHK("socketpair bad type", socketpair(AF_UNIX, 77, 0, s));
	CHK("socketpair BADPTR", socketpair(AF_UNIX, SOCK_STREAM, 0, BADPTR));
	CHK("send on non-socket", send(got, "x", 1, 0));
	CHK("unlink", unlink("passed"));
	return 0;
}
