// getrandom: requested lengths are returned (GRND_NONBLOCK, GRND_RANDOM),
// two results differ, zero length is fine; EINVAL (bad flags) and EFAULT.
// Also /dev/urandom reads.
#include "dt.h"
#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	unsigned char a[32], b[32];
	CHK("getrandom 32", getrandom(a, sizeof(a), 0));
	CHK("getrandom 32 NONBLOCK", getrandom(b, sizeof(b), GRND_NONBLOCK));
	FACT(memcmp(a, b, sizeof(a)) != 0);
	FACT(getrandom(a, 16, GRND_RANDOM | GRND_NONBLOCK) > 0);
	CHK("getrandom 0", getrandom(a, 0, 0));
	static unsigned char big[1 << 16];
	CHK("getrandom 65536", getrandom(big, sizeof(big), 0));
	int zeros = 0;
	for (size_t i = 0; i < sizeof(big); i++)
		zeros += big[i] == 0;
	FACT(zeros < 1024); /* expected 256 */
	CHK("getrandom bad flags", getrandom(a, 8, 0x1000));
	CHK("getrandom BADPTR", getrandom(BADPTR, 8, 0));
	int fd = open("/dev/urandom", O_RDONLY);
	FACT(fd >= 0);
	CHK("read /dev/urandom 32", read(fd, a, sizeof(a)));
	FACT(memcmp(a, b, sizeof(a)) != 0);
	close(fd);
	return 0;
}
