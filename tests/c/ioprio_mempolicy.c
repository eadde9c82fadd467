// ioprio_set/ioprio_get (kept per task, inherited by fork, the highest of
// a process group) and the one-node memory policy calls: set_mempolicy /
// get_mempolicy round trips for node 0, MPOL_F_MEMS_ALLOWED, MPOL_F_ADDR,
// mbind on mapped and unmapped memory, and their errors.
#include "dt.h"
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define IOPRIO(class, data) (((class) << 13) | (data))

static void show_policy(const char *what)
{
	int mode = -1;
	unsigned long mask[2] = { 0xdead, 0xdead };
	long r = syscall(SYS_get_mempolicy, &mode, mask, 65, NULL, 0);
	printf("%s: get=%ld mode=%d mask=%lx next=%lx\n", what, r, mode, mask[0], mask[1]);
}

int main(void)
{
	dt_init();
	CHK("ioprio_get self", syscall(SYS_ioprio_get, 1, 0));
	CHK("ioprio_set BE 3", syscall(SYS_ioprio_set, 1, 0, IOPRIO(2, 3)));
	CHK("ioprio_get self", syscall(SYS_ioprio_get, 1, 0));
	pid_t pid = fork();
	if (pid == 0) {
		CHK("child inherits", syscall(SYS_ioprio_get, 1, 0));
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	CHK("ioprio_set RT 1", syscall(SYS_ioprio_set, 1, 0, IOPRIO(1, 1)));
	CHK("ioprio_get self", syscall(SYS_ioprio_get, 1, 0));
	CHK("ioprio_set IDLE", syscall(SYS_ioprio_set, 1, getpid(), IOPRIO(3, 0)));
	CHK("ioprio_get self", syscall(SYS_ioprio_get, 1, 0));
	setpgid(0, 0);
	CHK("ioprio_get pgrp", syscall(SYS_ioprio_get, 2, 0));
	CHK("ioprio_set NONE", syscall(SYS_ioprio_set, 1, 0, 0));
	CHK("ioprio_get self", syscall(SYS_ioprio_get, 1, 0));
	CHK("ioprio_set NONE with data", syscall(SYS_ioprio_set, 1, 0, IOPRIO(0, 1)));
	CHK("ioprio_set bad class", syscall(SYS_ioprio_set, 1, 0, IOPRIO(5, 0)));
	CHK("ioprio_set BE level 8", syscall(SYS_ioprio_set, 1, 0, IOPRIO(2, 8)));
	CHK("ioprio_set bad which", syscall(SYS_ioprio_set, 9, 0, IOPRIO(2, 0)));
	CHK("ioprio_get bad which", syscall(SYS_ioprio_get, 9, 0));
	CHK("ioprio_get ESRCH", syscall(SYS_ioprio_get, 1, 999999));
	CHK("ioprio_set ESRCH", syscall(SYS_ioprio_set, 1, 999999, IOPRIO(2, 0)));
	pid = fork();
	if (pid == 0) {
		pid_t parent = getppid();
		if (setresuid(1000, 1000, 1000) != 0)
			_exit(1);
		CHK("unprivileged RT", syscall(SYS_ioprio_set, 1, 0, IOPRIO(1, 0)));
		CHK("unprivileged BE own", syscall(SYS_ioprio_set, 1, 0, IOPRIO(2, 7)));
		CHK("unprivileged on root's", syscall(SYS_ioprio_set, 1, parent, IOPRIO(2, 7)));
		_exit(0);
	}
	waitpid(pid, NULL, 0);

	show_policy("default");
	unsigned long node0 = 1, node1 = 2, node01 = 3;
	CHK("set BIND {0}", syscall(SYS_set_mempolicy, 2, &node0, 64));
	show_policy("bind");
	CHK("set INTERLEAVE {0}", syscall(SYS_set_mempolicy, 3, &node0, 64));
	show_policy("interleave");
	int mode = -1;
	CHK("get MPOL_F_NODE (next interleave node)", syscall(SYS_get_mempolicy, &mode, NULL, 0, NULL, 1));
	printf("node=%d\n", mode);
	CHK("set PREFERRED {0}", syscall(SYS_set_mempolicy, 1, &node0, 64));
	show_policy("preferred");
	CHK("get MPOL_F_NODE not interleaving", syscall(SYS_get_mempolicy, &mode, NULL, 0, NULL, 1));
	CHK("set BIND {0,1} (1 dropped)", syscall(SYS_set_mempolicy, 2, &node01, 64));
	show_policy("bind 0,1");
	CHK("set BIND {1}", syscall(SYS_set_mempolicy, 2, &node1, 64));
	CHK("set BIND empty", syscall(SYS_set_mempolicy, 2, NULL, 0));
	CHK("set DEFAULT with a node", syscall(SYS_set_mempolicy, 0, &node0, 64));
	CHK("set mode 99", syscall(SYS_set_mempolicy, 99, &node0, 64));
	CHK("set STATIC|RELATIVE", syscall(SYS_set_mempolicy, 2 | (1 << 15) | (1 << 14), &node0, 64));
	CHK("set EFAULT", syscall(SYS_set_mempolicy, 2, BADPTR, 64));
	CHK("set DEFAULT", syscall(SYS_set_mempolicy, 0, NULL, 0));
	show_policy("default again");

	unsigned long allowed = 0;
	CHK("get MEMS_ALLOWED", syscall(SYS_get_mempolicy, &mode, &allowed, 64, NULL, 4));
	printf("allowed=%lx mode=%d\n", allowed, mode);
	CHK("get MEMS_ALLOWED|ADDR", syscall(SYS_get_mempolicy, &mode, NULL, 0, NULL, 4 | 2));
	CHK("get addr without MPOL_F_ADDR", syscall(SYS_get_mempolicy, &mode, NULL, 0, &mode, 0));
	CHK("get bad flags", syscall(SYS_get_mempolicy, &mode, NULL, 0, NULL, 8));
	CHK("get maxnode 0 with mask", syscall(SYS_get_mempolicy, &mode, &allowed, 0, NULL, 0));
	CHK("get mode EFAULT", syscall(SYS_get_mempolicy, BADPTR, NULL, 0, NULL, 0));

	long pg = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	p[0] = 1;
	CHK("get MPOL_F_ADDR", syscall(SYS_get_mempolicy, &mode, NULL, 0, p, 2));
	printf("mode=%d\n", mode);
	CHK("get MPOL_F_ADDR|NODE", syscall(SYS_get_mempolicy, &mode, NULL, 0, p, 3));
	printf("node=%d\n", mode);
	CHK("mbind BIND {0}", syscall(SYS_mbind, p, 4 * pg, 2, &node0, 64, 0));
	CHK("mbind MOVE|STRICT", syscall(SYS_mbind, p, 4 * pg, 2, &node0, 64, 3));
	CHK("mbind {1}", syscall(SYS_mbind, p, 4 * pg, 2, &node1, 64, 0));
	CHK("mbind unaligned", syscall(SYS_mbind, p + 1, pg, 2, &node0, 64, 0));
	CHK("mbind bad flags", syscall(SYS_mbind, p, pg, 2, &node0, 64, 8));
	CHK("mbind len 0", syscall(SYS_mbind, p, 0, 2, &node0, 64, 0));
	munmap(p + 2 * pg, pg);
	CHK("mbind over a hole", syscall(SYS_mbind, p, 4 * pg, 2, &node0, 64, 0));
	CHK("get MPOL_F_ADDR unmapped", syscall(SYS_get_mempolicy, &mode, NULL, 0, p + 2 * pg, 2));
	munmap(p, 4 * pg);
	return 0;
}
