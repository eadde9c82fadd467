/* System V shared memory: shmget/shmat/shmdt/shmctl, their error paths,
 * attach counts across fork, exit, munmap and mprotect, deferred
 * destruction after IPC_RMID and memory shared for real between
 * processes. */
#include "dt.h"
#include <signal.h>
#include <stdint.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static long nattch(int id)
{
	struct shmid_ds ds;
	if (shmctl(id, IPC_STAT, &ds) < 0)
		return -errno;
	return (long)ds.shm_nattch;
}

int main(void)
{
	dt_init();
	long pg = sysconf(_SC_PAGESIZE);
	key_t key = 0x5a000000 | (getpid() & 0xffffff);

	/* shmget */
	CHK("get size 0", shmget(IPC_PRIVATE, 0, 0600));
	CHK("get huge", shmget(IPC_PRIVATE, (size_t)-1, 0600));
	CHK("get missing key", shmget(key, 4096, 0600));
	int id = shmget(key, 2 * pg, IPC_CREAT | IPC_EXCL | 0600);
	FACT(id >= 0);
	CHK("get excl again", shmget(key, 2 * pg, IPC_CREAT | IPC_EXCL | 0600));
	CHK("get larger", shmget(key, 3 * pg, 0600));
	FACT(shmget(key, 0, 0) == id);
	FACT(shmget(key, pg, IPC_CREAT | 0600) == id);
	CHK("get hugetlb", shmget(IPC_PRIVATE, 2 << 20, SHM_HUGETLB | 0600));

	struct shmid_ds ds;
	CHK("stat", shmctl(id, IPC_STAT, &ds));
	FACT(ds.shm_segsz == (size_t)(2 * pg));
	FACT(ds.shm_nattch == 0);
	FACT((ds.shm_perm.mode & 0777) == 0600);
	FACT(ds.shm_perm.__key == key);
	FACT(ds.shm_cpid == getpid());
	FACT(ds.shm_lpid == 0);
	FACT(ds.shm_perm.uid == geteuid() && ds.shm_perm.cuid == geteuid());
	FACT(ds.shm_ctime > 0 && ds.shm_atime == 0);
	CHK("stat efault", shmctl(id, IPC_STAT, (struct shmid_ds *)8));
	CHK("set efault", shmctl(id, IPC_SET, (struct shmid_ds *)8));
	CHK("ctl bad cmd", shmctl(id, 99, &ds));
	CHK("ctl neg id", shmctl(-1, IPC_STAT, &ds));
	CHK("ctl stale id", shmctl(id + 32768, IPC_STAT, &ds));
	CHK("ctl ipc_64 flag", syscall(SYS_shmctl, id, IPC_STAT | 0x100, &ds));

	/* shmat */
	CHK("at bad id", (long)shmat(id + 32768, NULL, 0));
	CHK("at neg id", (long)shmat(-1, NULL, 0));
	CHK("at remap null", (long)shmat(id, NULL, SHM_REMAP));
	char *scratch = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHK("at unaligned", (long)shmat(id, scratch + 1, 0));
	CHK("at over mapping", (long)shmat(id, scratch, 0));
	char *p = shmat(id, scratch, SHM_REMAP);
	FACT(p == scratch);
	FACT(nattch(id) == 1);
	CHK("stat after at", shmctl(id, IPC_STAT, &ds));
	FACT(ds.shm_lpid == getpid() && ds.shm_atime > 0);
	char *r = shmat(id, scratch + 2 * pg + 5, SHM_RND | SHM_RDONLY | SHM_REMAP);
	FACT(r == scratch + 2 * pg);
	FACT(nattch(id) == 2);
	strcpy(p, "parent wrote");
	FACT(strcmp(r, "parent wrote") == 0);
	p[2 * pg - 1] = 'z';
	FACT(r[2 * pg - 1] == 'z');

	/* A fork attaches both again; the child's writes reach the parent. */
	pid_t c = fork();
	if (c == 0) {
		printf("child nattch=%ld\n", nattch(id));
		strcpy(p, "child wrote");
		_exit(0);
	}
	int st;
	waitpid(c, &st, 0);
	FACT(WIFEXITED(st));
	FACT(strcmp(r, "child wrote") == 0);
	FACT(nattch(id) == 2);

	/* Writing through a read-only attachment faults. */
	c = fork();
	if (c == 0) {
		r[0] = 'x';
		_exit(0);
	}
	waitpid(c, &st, 0);
	FACT(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);

	/* shmdt */
	CHK("dt unaligned", shmdt(p + 1));
	CHK("dt not attached", shmdt(p + pg));
	CHK("dt ro", shmdt(r));
	FACT(nattch(id) == 1);
	CHK("dt again", shmdt(r));
	/* mprotect splits an attachment into two mappings: two attaches,
	 * as Linux counts them; shmdt removes both. */
	CHK("mprotect", mprotect(p + pg, pg, PROT_READ));
	FACT(nattch(id) == 2);
	CHK("dt split", shmdt(p));
	FACT(nattch(id) == 0);
	/* A partly unmapped attachment is still found from its start. */
	p = shmat(id, NULL, 0);
	CHK("munmap head", munmap(p, pg));
	FACT(nattch(id) == 1);
	CHK("dt after munmap head", shmdt(p));
	FACT(nattch(id) == 0);

	/* Small segments map whole pages. */
	int small = shmget(IPC_PRIVATE, 100, 0600);
	char *s = shmat(small, NULL, 0);
	s[pg - 1] = 1;
	FACT(s[pg - 1] == 1);
	CHK("small stat", shmctl(small, IPC_STAT, &ds));
	FACT(ds.shm_segsz == 100);
	CHK("small dt", shmdt(s));
	CHK("small rmid", shmctl(small, IPC_RMID, NULL));

	/* IPC_SET, SHM_LOCK */
	ds.shm_perm.mode = 0640;
	CHK("stat", shmctl(id, IPC_STAT, &ds));
	ds.shm_perm.mode = 0640;
	CHK("set", shmctl(id, IPC_SET, &ds));
	CHK("stat", shmctl(id, IPC_STAT, &ds));
	FACT((ds.shm_perm.mode & 0777) == 0640);
	CHK("lock", shmctl(id, SHM_LOCK, NULL));
	CHK("stat", shmctl(id, IPC_STAT, &ds));
	FACT((ds.shm_perm.mode & SHM_LOCKED) != 0);
	CHK("unlock", shmctl(id, SHM_UNLOCK, NULL));
	CHK("stat", shmctl(id, IPC_STAT, &ds));
	FACT((ds.shm_perm.mode & SHM_LOCKED) == 0);

	/* Another user: no access, no control. */
	c = fork();
	if (c == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(1);
		CHK("other at", (long)shmat(id, NULL, 0));
		CHK("other get", shmget(key, 0, 0600));
		CHK("other get no perms", shmget(key, 0, 0) == id);
		CHK("other stat", shmctl(id, IPC_STAT, &ds));
		CHK("other set", shmctl(id, IPC_SET, &ds));
		CHK("other rmid", shmctl(id, IPC_RMID, NULL));
		CHK("other lock", shmctl(id, SHM_LOCK, NULL));
		_exit(0);
	}
	waitpid(c, &st, 0);
	FACT(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	/* IPC_INFO, SHM_INFO, SHM_STAT */
	struct shminfo si;
	long top = shmctl(0, IPC_INFO, (struct shmid_ds *)&si);
	FACT(top >= id % 32768);
	FACT(si.shmmin == 1 && si.shmmni == 4096);
	struct shm_info su;
	top = shmctl(0, SHM_INFO, (struct shmid_ds *)&su);
	FACT(top >= id % 32768 && su.used_ids >= 1);
	FACT(su.shm_tot >= 2);
	CHK("info efault", shmctl(0, IPC_INFO, (struct shmid_ds *)8));
	FACT(shmctl(id % 32768, SHM_STAT, &ds) == id);
	FACT(shmctl(id % 32768, SHM_STAT_ANY, &ds) == id);
	FACT(ds.shm_segsz == (size_t)(2 * pg));

	/* IPC_RMID while attached: the key goes at once, the segment when
	 * the last attachment does (here at the child's exit). */
	p = shmat(id, NULL, 0);
	strcpy(p, "still here");
	c = fork();
	if (c == 0) {
		usleep(100000);
		FACT(strcmp(p, "still here") == 0);
		_exit(0);
	}
	CHK("dt parent", shmdt(p));
	CHK("rmid", shmctl(id, IPC_RMID, NULL));
	CHK("stat dest", shmctl(id, IPC_STAT, &ds));
	FACT((ds.shm_perm.mode & SHM_DEST) != 0);
	FACT(ds.shm_perm.__key == 0);
	FACT(ds.shm_nattch == 1);
	CHK("get after rmid", shmget(key, 0, 0600));
	char *again = shmat(id, NULL, 0);
	FACT(again != (void *)-1);
	FACT(strcmp(again, "still here") == 0);
	FACT(nattch(id) == 2);
	CHK("dt again", shmdt(again));
	waitpid(c, &st, 0);
	FACT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHK("stat gone", shmctl(id, IPC_STAT, &ds));
	CHK("rmid gone", shmctl(id, IPC_RMID, NULL));
	return 0;
}
