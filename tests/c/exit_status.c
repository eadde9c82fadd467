// The program's exit status must be reported exactly (42 here), and atexit
// handlers and stdio flushing must happen before the process exits.
#include "dt.h"
#include <unistd.h>

static void on_exit_handler(void)
{
	printf("atexit handler ran\n");
}

int main(void)
{
	/* Fully buffered on purpose: exit() must flush it. */
	static char buf[4096];
	setvbuf(stdout, buf, _IOFBF, sizeof(buf));
	CHK("atexit", atexit(on_exit_handler));
	printf("buffered line before exit\n");
	exit(42);
}
