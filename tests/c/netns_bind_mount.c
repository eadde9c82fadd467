// A namespace file bind-mounted on a regular file (as `ip netns add`):
// the mount point opens as the namespace, which setns enters after the
// mount is gone. Runs in a mount namespace of its own, / private.
#include "dt.h"
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

/* The filesystem type /proc/self/mounts shows at CWD/rel. */
static void show_type(const char *rel)
{
	char cwd[4096], want[4200], src[256], mp[4300], type[64];
	if (!getcwd(cwd, sizeof cwd))
		return;
	snprintf(want, sizeof want, "%s/%s", cwd, rel);
	FILE *f = fopen("/proc/self/mounts", "r");
	const char *found = "none";
	while (f && fscanf(f, "%255s %4299s %63s %*[^\n]", src, mp, type) == 3)
		if (!strcmp(mp, want))
			found = type;
	printf("mounted at %s: %s\n", rel, found);
	if (f)
		fclose(f);
}

int main(void)
{
	dt_init();
	struct stat ns0, at, ns1, ns2;
	CHK("unshare mount ns", unshare(CLONE_NEWNS));
	CHK("make private", mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL));
	CHK("stat ns", stat("/proc/self/ns/net", &ns0));
	int f = open("nsfile", O_CREAT | O_RDWR, 0600);
	close(f);
	CHK("mkdir", mkdir("d", 0700));
	CHK("bind on a directory", mount("/proc/self/ns/net", "d", NULL, MS_BIND, NULL));
	CHK("bind", mount("/proc/self/ns/net", "nsfile", NULL, MS_BIND, NULL));
	show_type("nsfile");
	CHK("stat mount point", stat("nsfile", &at));
	FACT(at.st_ino == ns0.st_ino && at.st_dev == ns0.st_dev);
	FACT(S_ISREG(at.st_mode));
	int fd = open("nsfile", O_RDONLY);
	FACT(fd >= 0);
	CHK("umount", umount2("nsfile", MNT_DETACH));
	CHK("stat after umount", stat("nsfile", &at));
	show_type("nsfile");
	FACT(at.st_ino != ns0.st_ino);
	CHK("unshare", unshare(CLONE_NEWNET));
	CHK("stat new ns", stat("/proc/self/ns/net", &ns1));
	FACT(ns1.st_ino != ns0.st_ino);
	CHK("setns", setns(fd, CLONE_NEWNET));
	CHK("stat back", stat("/proc/self/ns/net", &ns2));
	FACT(ns2.st_ino == ns0.st_ino);
	CHK("setns wrong type", setns(fd, CLONE_NEWUTS));
	close(fd);
	unlink("nsfile");
	rmdir("d");
	return 0;
}
