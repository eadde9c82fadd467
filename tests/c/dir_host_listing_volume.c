// The same checks with the working directory a volume (changes reach the
// host through its gofer).
// difftest: volume
// difftest: setup make
#include "dir_host_listing.c"
