// xattr.c with the working directory a volume: the attributes are the
// host file's, through the volume's gofer, and must behave as natively.
// difftest: volume
#include "xattr.c"
