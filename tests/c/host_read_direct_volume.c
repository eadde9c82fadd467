// The same reads with the working directory a volume (the host file is
// written through, and a shared mapping of it has a page cache).
// difftest: volume
// difftest: setup make
#include "host_read_direct.c"
