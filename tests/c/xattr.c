// Extended attributes on a file created in the working directory: set,
// get (size query, exact, too small), list, replace/create flags, remove;
// errors: ENODATA, ERANGE, EOPNOTSUPP for unknown namespaces, EFAULT.
#include "dt.h"
#include <fcntl.h>
#include <sys/xattr.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	int fd = open("f", O_CREAT | O_RDWR, 0644);
	FACT(fd >= 0);
	char buf[64];
	CHK("get missing", getxattr("f", "user.a", buf, sizeof(buf)));
	CHK("set", setxattr("f", "user.a", "hello", 5, 0));
	CHK("set create existing", setxattr("f", "user.a", "x", 1, XATTR_CREATE));
	CHK("set replace missing", setxattr("f", "user.b", "x", 1, XATTR_REPLACE));
	CHK("fset", fsetxattr(fd, "user.b", "world!", 6, 0));
	CHK("get size", getxattr("f", "user.a", 0, 0));
	CHK("get small", getxattr("f", "user.a", buf, 2));
	memset(buf, 0, sizeof(buf));
	CHK("fget", fgetxattr(fd, "user.b", buf, sizeof(buf)));
	printf("value=%s\n", buf);
	CHK("list size", listxattr("f", 0, 0));
	ssize_t n = listxattr("f", buf, sizeof(buf));
	printf("list: ");
	for (ssize_t i = 0; i < n; i += strlen(buf + i) + 1)
		printf("%s ", buf + i);
	printf("\n");
	CHK("unknown namespace", setxattr("f", "bogus.a", "x", 1, 0));
	CHK("bad flags", setxattr("f", "user.c", "x", 1, 8));
	CHK("get bad buffer", getxattr("f", "user.a", BADPTR, 64));
	CHK("remove", removexattr("f", "user.a"));
	CHK("remove again", removexattr("f", "user.a"));
	CHK("get no such file", getxattr("nope", "user.a", buf, 8));
	unlink("f");
	return 0;
}
