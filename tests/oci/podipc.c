/* Run in a pod's containers by scripts/oci-test.sh: the IPC objects one
 * container makes are seen by another container of the same pod (one
 * sandbox: shared IPC namespace) and not by a container of its own.
 *   podipc put: makes a SysV shared memory segment (key POD_KEY) holding
 *               "shm-from-infra" and a POSIX message queue POD_MQ holding
 *               "mq-from-infra";
 *   podipc get: prints "shm: TEXT" and "mq: TEXT" for what it finds, or
 *               "shm: absent (ERRNO)" / "mq: absent (ERRNO)". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <string.h>
#include <sys/shm.h>

#define POD_KEY 0x52564953
#define POD_MQ "/rvisor-pod"

static const char *en(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : "E?";
}

static int put(void)
{
	int id = shmget(POD_KEY, 4096, IPC_CREAT | 0600);
	char *p = id < 0 ? (char *)-1 : shmat(id, NULL, 0);
	if (p == (char *)-1) {
		printf("shm put: %s\n", en(errno));
		return 1;
	}
	strcpy(p, "shm-from-infra");
	shmdt(p);
	struct mq_attr a = { .mq_maxmsg = 4, .mq_msgsize = 64 };
	mqd_t q = mq_open(POD_MQ, O_CREAT | O_WRONLY, 0600, &a);
	if (q == (mqd_t)-1 || mq_send(q, "mq-from-infra", 14, 0) != 0) {
		printf("mq put: %s\n", en(errno));
		return 1;
	}
	mq_close(q);
	printf("put ok\n");
	return 0;
}

static int get(void)
{
	int id = shmget(POD_KEY, 0, 0);
	char *p = id < 0 ? (char *)-1 : shmat(id, NULL, SHM_RDONLY);
	if (p == (char *)-1)
		printf("shm: absent (%s)\n", en(errno));
	else
		printf("shm: %.63s\n", p);
	mqd_t q = mq_open(POD_MQ, O_RDONLY | O_NONBLOCK);
	char buf[64] = "";
	/* Read and put back: every reader sees it. */
	if (q == (mqd_t)-1 || mq_receive(q, buf, sizeof(buf), NULL) < 0) {
		printf("mq: absent (%s)\n", en(errno));
	} else {
		printf("mq: %s\n", buf);
		mqd_t w = mq_open(POD_MQ, O_WRONLY);
		if (w != (mqd_t)-1) {
			mq_send(w, buf, strlen(buf) + 1, 0);
			mq_close(w);
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "put") == 0)
		return put();
	if (argc == 2 && strcmp(argv[1], "get") == 0)
		return get();
	fprintf(stderr, "usage: podipc put|get\n");
	return 2;
}
