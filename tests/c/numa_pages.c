// move_pages (status of present and unmapped pages; moving to
// node 0; another node is ENODEV), migrate_pages to node 0 and to another
// node, set_mempolicy_home_node's argument checks.
#include "dt.h"
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	dt_init();
	long pg = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *hole = mmap(NULL, pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(hole, pg);
	p[0] = 1;
	p[pg] = 1;
	void *pages[3] = { p, p + pg, hole };
	int status[3] = { 7, 7, 7 };
	CHK("move_pages query", syscall(SYS_move_pages, 0, 3, pages, NULL, status, 0));
	printf("status %d %d %d\n", status[0], status[1], status[2]);
	int nodes[3] = { 0, 0, 0 };
	status[0] = status[1] = status[2] = 7;
	CHK("move_pages to node 0", syscall(SYS_move_pages, 0, 2, pages, nodes, status, 2));
	printf("status %d %d\n", status[0], status[1]);
	nodes[1] = 1;
	CHK("move_pages to node 1", syscall(SYS_move_pages, 0, 2, pages, nodes, status, 2));
	CHK("move_pages bad flags", syscall(SYS_move_pages, 0, 1, pages, NULL, status, 8));
	CHK("move_pages ESRCH", syscall(SYS_move_pages, 999999, 1, pages, NULL, status, 0));
	CHK("move_pages self by pid", syscall(SYS_move_pages, getpid(), 1, pages, NULL, status, 0));
	printf("status %d\n", status[0]);
	CHK("move_pages EFAULT", syscall(SYS_move_pages, 0, 1, BADPTR, NULL, status, 0));

	unsigned long n0 = 1, n1 = 2;
	CHK("migrate_pages 0->0", syscall(SYS_migrate_pages, 0, 64, &n0, &n0));
	CHK("migrate_pages 0->1", syscall(SYS_migrate_pages, 0, 64, &n0, &n1));
	CHK("migrate_pages ESRCH", syscall(SYS_migrate_pages, 999999, 64, &n0, &n0));
	CHK("migrate_pages EFAULT", syscall(SYS_migrate_pages, 0, 64, BADPTR, &n0));

	CHK("home_node 0 (no policy on the range)", syscall(SYS_set_mempolicy_home_node, p, 3 * pg, 0, 0));
	CHK("home_node empty range", syscall(SYS_set_mempolicy_home_node, p, 0, 0, 0));
	CHK("home_node unaligned", syscall(SYS_set_mempolicy_home_node, p + 1, pg, 0, 0));
	CHK("home_node flags", syscall(SYS_set_mempolicy_home_node, p, pg, 0, 1));
	CHK("home_node 5", syscall(SYS_set_mempolicy_home_node, p, pg, 5, 0));
	munmap(p, 3 * pg);
	return 0;
}
