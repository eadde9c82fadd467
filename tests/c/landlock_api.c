// Landlock's syscalls: version query, argument and descriptor errors,
// the no_new_privs rule and the 16-layer limit.
#include "dt.h"
#include "ll.h"
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

static void in_child(void (*fn)(void))
{
	pid_t p = fork();
	if (p == 0) {
		fn();
		_exit(0);
	}
	int st;
	waitpid(p, &st, 0);
	printf("child exited=%d status=%d\n", WIFEXITED(st), WEXITSTATUS(st));
}

static void no_nnp_without_cap(void)
{
	int rs = ll_ruleset(LL_READ_FILE);
	CHK("setresuid nobody", setresuid(65534, 65534, 65534));
	CHK("restrict without no_new_privs or CAP_SYS_ADMIN", ll_restrict(rs, 0));
	CHK("set no_new_privs", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
	CHK("restrict with no_new_privs", ll_restrict(rs, 0));
}

static void layers(void)
{
	int rs = ll_ruleset(LL_READ_FILE);
	CHK("allow / read", ll_allow(rs, "/", LL_READ_FILE));
	int ok = 0;
	long r = 0;
	for (int i = 0; i < 20 && r == 0; i++) {
		r = ll_restrict(rs, 0);
		if (r == 0)
			ok++;
	}
	printf("layers enforced=%d then errno=%s\n", ok, dt_errname(errno));
	CHKOK("still reads /proc/self/status", open("/proc/self/status", O_RDONLY));
}

static void as_root_without_nnp(void)
{
	int rs = ll_ruleset(LL_READ_FILE);
	CHK("restrict as root without no_new_privs", ll_restrict(rs, 0));
	CHK("restricted: open /proc/self/status", open("/proc/self/status", O_RDONLY));
}

int main(void)
{
	dt_init();
	long abi = ll_create(NULL, 0, 1);
	FACT(abi >= 3);
	uint64_t h = LL_READ_FILE;
	CHK("version with attr", ll_create(&h, 0, 1));
	CHK("version with size", ll_create(NULL, 8, 1));
	CHK("unknown flag", ll_create(NULL, 0, 1u << 20));
	CHK("null attr", ll_create(NULL, 8, 0));
	CHK("short size", ll_create(&h, 4, 0));
	char big[8192] = { 0 };
	memcpy(big, &h, 8);
	CHK("size over a page", ll_create(big, sizeof(big), 0));
	big[40] = 1;
	CHK("nonzero bytes past the struct", ll_create(big, 64, 0));
	big[40] = 0;
	CHKOK("zero bytes past the struct", ll_create(big, 64, 0));
	uint64_t zero = 0, unknown = 1ULL << 40;
	CHK("handles nothing", ll_create(&zero, 8, 0));
	CHK("unknown right", ll_create(&unknown, 8, 0));
	CHK("bad attr pointer", ll_create((void *)8, 8, 0));

	int rs = ll_ruleset(LL_READ_FILE | LL_READ_DIR | LL_EXECUTE);
	FACT(rs >= 0);
	FACT(fcntl(rs, F_GETFD) == FD_CLOEXEC);
	FACT((fcntl(rs, F_GETFL) & O_ACCMODE) == O_RDWR);
	char link[64], target[64] = { 0 };
	snprintf(link, sizeof(link), "/proc/self/fd/%d", rs);
	CHK("readlink ruleset fd", readlink(link, target, sizeof(target) - 1));
	printf("ruleset fd names %s\n", target);
	char c;
	CHK("read ruleset fd", read(rs, &c, 1));
	CHK("write ruleset fd", write(rs, &c, 1));

	int pfd[2];
	CHK("pipe", pipe(pfd));
	int dir = open("/", O_PATH);
	int file = open("/proc/self/exe", O_PATH);
	struct ll_path_beneath pb = { LL_READ_FILE, dir };
	CHK("add: flags", ll_add(rs, 1, &pb, 1));
	CHK("add: closed ruleset fd", ll_add(999, 1, &pb, 0));
	CHK("add: pipe as ruleset", ll_add(pfd[0], 1, &pb, 0));
	CHK("add: unknown rule type", ll_add(rs, 99, &pb, 0));
	CHK("add: null attr", ll_add(rs, 1, NULL, 0));
	pb.allowed_access = 0;
	CHK("add: no access", ll_add(rs, 1, &pb, 0));
	pb.allowed_access = LL_WRITE_FILE;
	CHK("add: access not handled", ll_add(rs, 1, &pb, 0));
	pb.allowed_access = LL_READ_FILE;
	pb.parent_fd = -1;
	CHK("add: bad parent fd", ll_add(rs, 1, &pb, 0));
	pb.parent_fd = pfd[0];
	CHK("add: pipe parent", ll_add(rs, 1, &pb, 0));
	pb.parent_fd = rs;
	CHK("add: ruleset parent", ll_add(rs, 1, &pb, 0));
	pb.parent_fd = file;
	pb.allowed_access = LL_READ_DIR;
	CHK("add: directory right on a file", ll_add(rs, 1, &pb, 0));
	pb.allowed_access = LL_READ_FILE | LL_EXECUTE;
	CHK("add: file rights on a file", ll_add(rs, 1, &pb, 0));
	pb.parent_fd = dir;
	pb.allowed_access = LL_READ_DIR;
	CHK("add: O_PATH directory", ll_add(rs, 1, &pb, 0));
	CHK("add: same rule again", ll_add(rs, 1, &pb, 0));
	int opath_rs = open("/", O_PATH);
	CHK("restrict: flags", ll_restrict(rs, 1u << 30));
	CHK("restrict: closed fd", ll_restrict(999, 0));
	CHK("restrict: pipe", ll_restrict(pfd[0], 0));
	CHK("restrict: O_PATH fd", ll_restrict(opath_rs, 0));
	in_child(no_nnp_without_cap);
	in_child(layers);
	in_child(as_root_without_nnp);
	/* The parent itself stays unrestricted. */
	CHKOK("parent opens /proc/self/status", open("/proc/self/status", O_RDONLY));
	return 0;
}
