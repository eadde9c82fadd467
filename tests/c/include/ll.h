/* Landlock helpers for the tests: raw syscalls (glibc has no wrappers)
 * and the ABI 3 file-system rights. */
#ifndef LL_H
#define LL_H

#include <fcntl.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#define LL_EXECUTE (1ULL << 0)
#define LL_WRITE_FILE (1ULL << 1)
#define LL_READ_FILE (1ULL << 2)
#define LL_READ_DIR (1ULL << 3)
#define LL_REMOVE_DIR (1ULL << 4)
#define LL_REMOVE_FILE (1ULL << 5)
#define LL_MAKE_CHAR (1ULL << 6)
#define LL_MAKE_DIR (1ULL << 7)
#define LL_MAKE_REG (1ULL << 8)
#define LL_MAKE_SOCK (1ULL << 9)
#define LL_MAKE_FIFO (1ULL << 10)
#define LL_MAKE_BLOCK (1ULL << 11)
#define LL_MAKE_SYM (1ULL << 12)
#define LL_REFER (1ULL << 13)
#define LL_TRUNCATE (1ULL << 14)
#define LL_ALL_V3 ((1ULL << 15) - 1)

struct ll_path_beneath {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

static inline long ll_create(const void *attr, size_t size, uint32_t flags)
{
	return syscall(444, attr, size, flags);
}

static inline long ll_add(int rs, int type, const void *attr, uint32_t flags)
{
	return syscall(445, rs, type, attr, flags);
}

static inline long ll_restrict(int rs, uint32_t flags)
{
	return syscall(446, rs, flags);
}

/* A ruleset handling `handled`; -1 on error. */
static inline int ll_ruleset(uint64_t handled)
{
	return (int)ll_create(&handled, sizeof(handled), 0);
}

/* Adds a rule granting `access` beneath `path`; the syscall's result. */
static inline long ll_allow(int rs, const char *path, uint64_t access)
{
	struct ll_path_beneath pb = { access, open(path, O_PATH | O_CLOEXEC) };
	long r = ll_add(rs, 1, &pb, 0);
	if (pb.parent_fd >= 0)
		close(pb.parent_fd);
	return r;
}

#endif
