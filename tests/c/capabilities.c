// Capabilities: root starts with all; capset may drop and re-raise
// effective capabilities within the permitted set, never add permitted
// ones; a dropped CAP_CHOWN makes chown fail with EPERM; children inherit;
// setuid to a non-root user clears the sets; bad headers give EINVAL.
// Without DAC_OVERRIDE / DAC_READ_SEARCH permission bits apply to root.
#include "dt.h"
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int get(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	return syscall(SYS_capget, &h, d);
}

static int set(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	return syscall(SYS_capset, &h, d);
}

int main(void)
{
	dt_init();
	struct __user_cap_data_struct d[2];
	CHK("capget", get(d));
	printf("chown effective=%d permitted=%d setuid permitted=%d\n", (d[0].effective >> CAP_CHOWN) & 1,
	       (d[0].permitted >> CAP_CHOWN) & 1, (d[0].permitted >> CAP_SETUID) & 1);
	/* Permission bits are bypassed by DAC_OVERRIDE (anything) and
	 * DAC_READ_SEARCH (reading); access() checks with the real uid's
	 * permitted set, AT_EACCESS with the effective one. */
	int sfd = open("capsecret", O_CREAT | O_RDWR, 0600);
	FACT(sfd >= 0);
	close(sfd);
	CHK("chown capsecret to 65534", chown("capsecret", 65534, 65534));
	d[0].effective &= ~(1u << CAP_DAC_OVERRIDE);
	CHK("capset drop DAC_OVERRIDE", set(d));
	sfd = open("capsecret", O_RDONLY);
	printf("read with DAC_READ_SEARCH only: %s\n", sfd >= 0 ? "ok" : "denied");
	close(sfd);
	CHK("open for writing without DAC_OVERRIDE", open("capsecret", O_WRONLY));
	d[0].effective &= ~(1u << CAP_DAC_READ_SEARCH);
	CHK("capset drop DAC_READ_SEARCH", set(d));
	CHK("open for reading without either", open("capsecret", O_RDONLY));
	CHK("access(W_OK) uses permitted", access("capsecret", W_OK));
	CHK("faccessat(AT_EACCESS) uses effective", faccessat(AT_FDCWD, "capsecret", R_OK, AT_EACCESS));
	d[0].effective |= 1u << CAP_DAC_OVERRIDE | 1u << CAP_DAC_READ_SEARCH;
	CHK("capset raise both", set(d));
	sfd = open("capsecret", O_RDWR);
	printf("read-write with DAC_OVERRIDE: %s\n", sfd >= 0 ? "ok" : "denied");
	close(sfd);
	unlink("capsecret");

	int fd = open("capf", O_CREAT | O_RDWR, 0644);
	FACT(fd >= 0);
	d[0].effective &= ~(1u << CAP_CHOWN);
	CHK("capset drop effective CHOWN", set(d));
	CHK("chown without CAP_CHOWN", chown("capf", 1, 1));
	d[0].effective |= 1u << CAP_CHOWN;
	CHK("capset raise effective CHOWN again", set(d));
	CHK("chown with CAP_CHOWN", chown("capf", 1, 1));
	d[0].permitted &= ~(1u << CAP_CHOWN);
	CHK("capset effective beyond permitted", set(d));
	d[0].effective &= ~(1u << CAP_CHOWN);
	CHK("capset drop permitted CHOWN", set(d));
	d[0].permitted |= 1u << CAP_CHOWN;
	d[0].effective |= 1u << CAP_CHOWN;
	CHK("capset regain permitted CHOWN", set(d));


	struct __user_cap_header_struct bad = {0x1234, 0};
	CHK("capget bad version", syscall(SYS_capget, &bad, d));
	printf("version written back: %#x\n", bad.version);
	pid_t c = fork();
	if (c == 0) {
		struct __user_cap_data_struct e[2];
		get(e);
		printf("child inherits: chown permitted=%d\n", (e[0].permitted >> CAP_CHOWN) & 1);
		CHK("child setuid(4242)", setuid(4242));
		get(e);
		printf("after setuid: effective=%#x permitted=%#x\n", e[0].effective, e[0].permitted);
		CHK("child setuid back to 0", setuid(0));
		_exit(0);
	}
	waitpid(c, 0, 0);
	unlink("capf");
	return 0;
}
