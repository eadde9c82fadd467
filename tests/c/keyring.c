/* Kernel keyrings: add_key, request_key and the keyctl commands programs
 * use, with their errors. Serial numbers differ between runs: only
 * relations between them are printed. */
#include "include/dt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define KEY_SPEC_THREAD_KEYRING -1
#define KEY_SPEC_PROCESS_KEYRING -2
#define KEY_SPEC_SESSION_KEYRING -3
#define KEYCTL_GET_KEYRING_ID 0
#define KEYCTL_JOIN_SESSION_KEYRING 1
#define KEYCTL_UPDATE 2
#define KEYCTL_REVOKE 3
#define KEYCTL_CHOWN 4
#define KEYCTL_SETPERM 5
#define KEYCTL_DESCRIBE 6
#define KEYCTL_CLEAR 7
#define KEYCTL_LINK 8
#define KEYCTL_UNLINK 9
#define KEYCTL_SEARCH 10
#define KEYCTL_READ 11
#define KEYCTL_SET_TIMEOUT 15
#define KEYCTL_INVALIDATE 21

static long add_key(const char *type, const char *desc, const void *p, size_t n, long ring)
{
	return syscall(SYS_add_key, type, desc, p, n, ring);
}

static long request_key(const char *type, const char *desc, const char *callout, long ring)
{
	return syscall(SYS_request_key, type, desc, callout, ring);
}

static long keyctl(long cmd, long a, long b, long c, long d)
{
	return syscall(SYS_keyctl, cmd, a, b, c, d);
}

/* The type, permissions and description of a key's description (its
 * owner ids differ between hosts). */
static void describe(const char *name, long key)
{
	char buf[256];
	errno = 0;
	long n = keyctl(KEYCTL_DESCRIBE, key, (long)buf, sizeof(buf), 0);
	if (n < 0) {
		printf("%s: errno=%s\n", name, dt_errname(errno));
		return;
	}
	int len_ok = n == (long)strlen(buf) + 1;
	char *type = strtok(buf, ";");
	strtok(NULL, ";");
	strtok(NULL, ";");
	char *perm = strtok(NULL, ";");
	char *desc = strtok(NULL, "");
	printf("%s: len_ok=%d %s %s %s\n", name, len_ok, type, perm, desc);
}

int main(void)
{
	dt_init();
	char buf[64];
	long ses = keyctl(KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0);
	FACT(ses > 0);
	FACT(keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0, 0, 0) == ses);
	describe("describe session", ses);

	long k1 = add_key("user", "dt:a", "hello", 5, KEY_SPEC_SESSION_KEYRING);
	FACT(k1 > 0);
	long k1b = add_key("user", "dt:a", "world", 5, KEY_SPEC_SESSION_KEYRING);
	FACT(k1b == k1);
	memset(buf, 0, sizeof(buf));
	CHK("read k1", keyctl(KEYCTL_READ, k1, (long)buf, sizeof(buf), 0));
	printf("payload: %s\n", buf);
	CHK("read k1 size only", keyctl(KEYCTL_READ, k1, 0, 0, 0));
	describe("describe k1", k1);
	FACT(keyctl(KEYCTL_SEARCH, KEY_SPEC_SESSION_KEYRING, (long)"user", (long)"dt:a", 0) == k1);
	FACT(request_key("user", "dt:a", NULL, 0) == k1);
	CHK("request missing", request_key("user", "dt:none", NULL, 0));
	CHK("request bad type", request_key("nosuchtype", "dt:a", NULL, 0));
	CHK("request bad dest", request_key("user", "dt:a", NULL, -100));
	CHK("search missing", keyctl(KEYCTL_SEARCH, KEY_SPEC_SESSION_KEYRING, (long)"user", (long)"dt:none", 0));
	CHK("search bad type", keyctl(KEYCTL_SEARCH, KEY_SPEC_SESSION_KEYRING, (long)"nosuchtype", (long)"dt:a", 0));

	/* add_key errors. */
	CHK("add unknown type", add_key("nosuchtype", "dt:b", "x", 1, KEY_SPEC_SESSION_KEYRING));
	CHK("add dot type", add_key(".user", "dt:b", "x", 1, KEY_SPEC_SESSION_KEYRING));
	CHK("add empty payload", add_key("user", "dt:b", "", 0, KEY_SPEC_SESSION_KEYRING));
	CHK("add empty desc", add_key("user", "", "x", 1, KEY_SPEC_SESSION_KEYRING));
	CHK("add logon no colon", add_key("logon", "nocolon", "x", 1, KEY_SPEC_SESSION_KEYRING));
	char *big = calloc(1, 40000);
	CHK("add payload too big", add_key("user", "dt:b", big, 32768, KEY_SPEC_SESSION_KEYRING));
	CHK("add bad payload", add_key("user", "dt:b", BADPTR, 4, KEY_SPEC_SESSION_KEYRING));
	CHK("add bad desc", add_key("user", BADPTR, "x", 1, KEY_SPEC_SESSION_KEYRING));
	CHK("add bad dest", add_key("user", "dt:b", "x", 1, -100));
	CHK("add to a non-keyring", add_key("user", "dt:b", "x", 1, k1));
	long lg = add_key("logon", "dt:svc", "secret", 6, KEY_SPEC_SESSION_KEYRING);
	FACT(lg > 0);
	CHK("read logon", keyctl(KEYCTL_READ, lg, (long)buf, sizeof(buf), 0));
	describe("describe logon", lg);

	/* Keyrings and links. */
	long r = add_key("keyring", "dt:ring", NULL, 0, KEY_SPEC_SESSION_KEYRING);
	FACT(r > 0);
	describe("describe ring", r);
	CHK("keyring with payload", add_key("keyring", "dt:ring2", "x", 1, KEY_SPEC_SESSION_KEYRING));
	CHK("link k1", keyctl(KEYCTL_LINK, k1, r, 0, 0));
	int ids[4] = {0};
	CHK("read ring", keyctl(KEYCTL_READ, r, (long)ids, sizeof(ids), 0));
	FACT(ids[0] == k1);
	CHK("link ring into itself", keyctl(KEYCTL_LINK, r, r, 0, 0));
	CHK("link session into ring", keyctl(KEYCTL_LINK, ses, r, 0, 0));
	CHK("link into non-keyring", keyctl(KEYCTL_LINK, lg, k1, 0, 0));
	FACT(keyctl(KEYCTL_SEARCH, r, (long)"user", (long)"dt:a", 0) == k1);
	CHK("unlink k1", keyctl(KEYCTL_UNLINK, k1, r, 0, 0));
	CHK("unlink k1 again", keyctl(KEYCTL_UNLINK, k1, r, 0, 0));
	CHK("search emptied ring", keyctl(KEYCTL_SEARCH, r, (long)"user", (long)"dt:a", 0));
	FACT(keyctl(KEYCTL_SEARCH, r, (long)"user", (long)"dt:a", KEY_SPEC_SESSION_KEYRING) < 0);
	CHK("link k1 again", keyctl(KEYCTL_LINK, k1, r, 0, 0));
	CHK("clear ring", keyctl(KEYCTL_CLEAR, r, 0, 0, 0));
	CHK("read cleared ring", keyctl(KEYCTL_READ, r, (long)ids, sizeof(ids), 0));
	CHK("clear non-keyring", keyctl(KEYCTL_CLEAR, k1, 0, 0, 0));

	/* Update. */
	CHK("update k1", keyctl(KEYCTL_UPDATE, k1, (long)"xyz", 3, 0));
	memset(buf, 0, sizeof(buf));
	CHK("read updated", keyctl(KEYCTL_READ, k1, (long)buf, sizeof(buf), 0));
	printf("payload: %s\n", buf);
	CHK("update empty", keyctl(KEYCTL_UPDATE, k1, (long)"", 0, 0));
	CHK("update keyring", keyctl(KEYCTL_UPDATE, r, 0, 0, 0));
	CHK("update bad pointer", keyctl(KEYCTL_UPDATE, k1, (long)BADPTR, 3, 0));
	CHK("read into bad pointer", keyctl(KEYCTL_READ, k1, (long)BADPTR, 64, 0));

	/* Permissions. */
	CHK("setperm bad bits", keyctl(KEYCTL_SETPERM, k1, 0x40, 0, 0));
	CHK("setperm no read", keyctl(KEYCTL_SETPERM, k1, 0x3d000000, 0, 0));
	CHK("read possessed with search", keyctl(KEYCTL_READ, k1, (long)buf, sizeof(buf), 0));
	CHK("setperm no read/search", keyctl(KEYCTL_SETPERM, k1, 0x35000000, 0, 0));
	CHK("read without permission", keyctl(KEYCTL_READ, k1, (long)buf, sizeof(buf), 0));
	CHK("setperm no view", keyctl(KEYCTL_SETPERM, k1, 0x34000000, 0, 0));
	CHK("describe without view", keyctl(KEYCTL_DESCRIBE, k1, (long)buf, sizeof(buf), 0));
	CHK("setperm no write", keyctl(KEYCTL_SETPERM, k1, 0x3b000000, 0, 0));
	CHK("update without write", keyctl(KEYCTL_UPDATE, k1, (long)"abc", 3, 0));
	CHK("setperm no setattr", keyctl(KEYCTL_SETPERM, k1, 0x1f000000, 0, 0));
	CHK("setperm without setattr", keyctl(KEYCTL_SETPERM, k1, 0x3f010000, 0, 0));
	CHK("chown nothing", keyctl(KEYCTL_CHOWN, lg, -1, -1, 0));
	CHK("chown same", keyctl(KEYCTL_CHOWN, lg, getuid(), getgid(), 0));

	/* Revoke, invalidate, expiry. */
	long k2 = add_key("user", "dt:rev", "r", 1, KEY_SPEC_SESSION_KEYRING);
	CHK("revoke", keyctl(KEYCTL_REVOKE, k2, 0, 0, 0));
	CHK("read revoked", keyctl(KEYCTL_READ, k2, (long)buf, sizeof(buf), 0));
	CHK("describe revoked", keyctl(KEYCTL_DESCRIBE, k2, (long)buf, sizeof(buf), 0));
	CHK("invalidate revoked", keyctl(KEYCTL_INVALIDATE, k2, 0, 0, 0));
	CHK("search revoked", keyctl(KEYCTL_SEARCH, KEY_SPEC_SESSION_KEYRING, (long)"user", (long)"dt:rev", 0));
	long k3 = add_key("user", "dt:inv", "i", 1, KEY_SPEC_SESSION_KEYRING);
	CHK("invalidate", keyctl(KEYCTL_INVALIDATE, k3, 0, 0, 0));
	/* Linux says EACCES until its collector has run, ENOKEY after. */
	FACT(keyctl(KEYCTL_READ, k3, (long)buf, sizeof(buf), 0) < 0);
	long k4 = add_key("user", "dt:exp", "e", 1, KEY_SPEC_SESSION_KEYRING);
	CHK("set timeout", keyctl(KEYCTL_SET_TIMEOUT, k4, 1, 0, 0));
	CHK("read before expiry", keyctl(KEYCTL_READ, k4, (long)buf, sizeof(buf), 0));
	usleep(1100000);
	CHK("read expired", keyctl(KEYCTL_READ, k4, (long)buf, sizeof(buf), 0));
	CHK("search expired", keyctl(KEYCTL_SEARCH, KEY_SPEC_SESSION_KEYRING, (long)"user", (long)"dt:exp", 0));
	CHK("timeout expired", keyctl(KEYCTL_SET_TIMEOUT, k4, 0, 0, 0));
	CHK("read missing serial", keyctl(KEYCTL_READ, 0x7ffffff0, (long)buf, sizeof(buf), 0));

	/* Special keyrings and commands. */
	CHK("thread keyring absent", keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_THREAD_KEYRING, 0, 0, 0));
	FACT(keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_THREAD_KEYRING, 1, 0, 0) > 0);
	CHK("process keyring absent", keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_PROCESS_KEYRING, 0, 0, 0));
	long pk = keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_PROCESS_KEYRING, 1, 0, 0);
	FACT(pk > 0 && pk != ses);
	CHK("bad special id", keyctl(KEYCTL_GET_KEYRING_ID, -100, 0, 0, 0));
	CHK("unknown command", keyctl(9999, 0, 0, 0, 0));
	long named = keyctl(KEYCTL_JOIN_SESSION_KEYRING, (long)"dt-named", 0, 0, 0);
	FACT(named > 0 && named != ses);
	/* The owner may not search it (no user search permission): joining
	 * the name again makes another keyring. */
	long named2 = keyctl(KEYCTL_JOIN_SESSION_KEYRING, (long)"dt-named", 0, 0, 0);
	FACT(named2 > 0 && named2 != named);
	describe("describe named", named);
	long k5 = add_key("user", "dt:inherit", "i", 1, KEY_SPEC_SESSION_KEYRING);

	pid_t pid = fork();
	if (pid == 0) {
		FACT(keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0, 0, 0) == named2);
		CHK("child process keyring", keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_PROCESS_KEYRING, 0, 0, 0));
		FACT(request_key("user", "dt:inherit", NULL, 0) == k5);
		/* An unprivileged user's quota is 20000 bytes. */
		if (setgid(65534) == 0 && setuid(65534) == 0) {
			keyctl(KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0);
			CHK("add over quota", add_key("user", "dt:big", big, 20000, KEY_SPEC_SESSION_KEYRING));
			CHKOK("add within quota", add_key("user", "dt:small", big, 1000, KEY_SPEC_SESSION_KEYRING));
			CHK("chown as user", keyctl(KEYCTL_CHOWN, keyctl(KEYCTL_SEARCH, KEY_SPEC_SESSION_KEYRING, (long)"user", (long)"dt:small", 0), 0, -1, 0));
		} else {
			printf("setuid failed\n");
		}
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	FACT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHK("unlink k5", keyctl(KEYCTL_UNLINK, k5, KEY_SPEC_SESSION_KEYRING, 0, 0));
	free(big);
	return 0;
}
