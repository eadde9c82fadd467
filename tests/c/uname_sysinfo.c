// uname (only sysname and machine are host-independent), sysinfo (only that
// it succeeds with a sane mem_unit), and their EFAULT errors.
#include "dt.h"
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	struct utsname u;
	CHK("uname", uname(&u));
	printf("sysname=%s\n", u.sysname);
	printf("machine=%s\n", u.machine);
	FACT(strlen(u.release) > 0);
	FACT(strlen(u.nodename) > 0);
	CHK("uname BADPTR", syscall(SYS_uname, BADPTR));
	struct sysinfo si;
	memset(&si, 0, sizeof(si));
	CHK("sysinfo", sysinfo(&si));
	FACT(si.mem_unit > 0);
	FACT(si.totalram > 0);
	FACT(si.procs > 0);
	CHK("sysinfo BADPTR", sysinfo(BADPTR));
	return 0;
}
