// /proc and pid namespaces: a proc mounted inside a new pid namespace
// shows that namespace's numbers (self, thread-self, the listing, task/,
// status's Tgid/Pid/PPid/NStgid/NSpid/NSpgid, stat's ppid), the outer
// /proc shows the outer numbers with NSpid listing both; ns links.
#include "dt.h"
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void status_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		printf("%s: %s\n", path, dt_errname(errno));
		return;
	}
	char line[256];
	while (fgets(line, sizeof line, f)) {
		if (!strncmp(line, "Tgid:", 5) || !strncmp(line, "Pid:", 4) ||
		    !strncmp(line, "PPid:", 5) || !strncmp(line, "NS", 2))
			printf("%s: %s", path, line);
	}
	fclose(f);
}

/* Fields of the outer view: counts only (outer numbers vary). */
static void outer_nspid(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[256];
	while (f && fgets(line, sizeof line, f)) {
		if (!strncmp(line, "NSpid:", 6)) {
			int fields = 0;
			char *last = NULL;
			for (char *p = strtok(line + 6, "\t\n"); p; p = strtok(NULL, "\t\n")) {
				fields++;
				last = p;
			}
			printf("%s: NSpid fields=%d innermost=%s\n", path, fields, last ? last : "");
		}
	}
	if (f)
		fclose(f);
}

static void list_pids(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	printf("%s lists:", dir);
	while (d && (e = readdir(d))) {
		if (e->d_name[0] >= '0' && e->d_name[0] <= '9')
			printf(" %s", e->d_name);
	}
	printf("\n");
	if (d)
		closedir(d);
}

static void *thread_fn(void *arg)
{
	int *ready = arg;
	printf("thread: gettid=%ld\n", (long)syscall(SYS_gettid));
	char buf[64] = "";
	readlink("p/thread-self", buf, sizeof buf - 1);
	printf("thread: p/thread-self -> %s\n", buf);
	__atomic_store_n(ready, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

int main(void)
{
	dt_init();
	mkdir("p", 0755);
	pid_t outer = fork();
	if (outer == 0) {
		CHK("unshare NEWNS|NEWPID", unshare(CLONE_NEWNS | CLONE_NEWPID));
		CHK("make / private", mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL));
		char for_children[64] = "";
		/* Not shown before its init exists. */
		CHK("readlink pid_for_children before init",
		    readlink("/proc/self/ns/pid_for_children", for_children, sizeof for_children - 1));
		int sync[2], cont[2];
		pipe(sync);
		pipe(cont);
		pid_t init = fork();
		if (init != 0) {
			close(sync[1]);
			char x;
			read(sync[0], &x, 1);
			CHKOK("readlink pid_for_children after",
			      readlink("/proc/self/ns/pid_for_children", for_children,
				       sizeof for_children - 1));
			char cbuf[64];
			snprintf(cbuf, sizeof cbuf, "/proc/%d/ns/pid", init);
			char theirs[64] = "";
			readlink(cbuf, theirs, sizeof theirs - 1);
			printf("init's pid ns is our pid_for_children: %d\n",
			       strcmp(theirs, for_children) == 0);
			char own[64] = "";
			readlink("/proc/self/ns/pid", own, sizeof own - 1);
			printf("init's pid ns differs from ours: %d\n", strcmp(theirs, own) != 0);
			write(cont[1], "c", 1);
		}
		if (init == 0) {
			close(sync[0]);
			write(sync[1], "s", 1);
			char cx;
			read(cont[0], &cx, 1);
			CHK("mount proc", mount("proc", "p", "proc", 0, NULL));
			char buf[64] = "";
			readlink("p/self", buf, sizeof buf - 1);
			printf("p/self -> %s\n", buf);
			int go[2];
			pipe(go);
			pid_t c = fork();
			if (c == 0) {
				close(go[1]);
				setpgid(0, 0);
				char x;
				read(go[0], &x, 1);
				_exit(0);
			}
			close(go[0]);
			setpgid(c, c);
			list_pids("p");
			status_lines("p/self/status");
			status_lines("p/2/status");
			outer_nspid("/proc/self/status");
			FILE *f = fopen("p/2/stat", "r");
			int pid = 0, ppid = 0, pgrp = 0;
			char comm[64];
			char state;
			if (f && fscanf(f, "%d %63s %c %d %d", &pid, comm, &state, &ppid, &pgrp) == 5)
				printf("p/2/stat: pid=%d ppid=%d pgrp=%d\n", pid, ppid, pgrp);
			if (f)
				fclose(f);
			struct stat st;
			CHK("stat p/3 (none)", stat("p/3", &st));
			CHK("stat p/1", stat("p/1", &st));
			int ready = 0;
			pthread_t th;
			pthread_create(&th, NULL, thread_fn, &ready);
			pthread_join(th, NULL);
			write(go[1], "g", 1);
			waitpid(c, NULL, 0);
			umount("p");
			_exit(0);
		}
		int st;
		waitpid(init, &st, 0);
		printf("init status: 0x%x\n", st);
		/* The outer /proc does not number processes by the inner. */
		char buf[64] = "";
		readlink("/proc/self", buf, sizeof buf - 1);
		printf("outer /proc/self is not 1: %d\n", strcmp(buf, "1") != 0);
		_exit(0);
	}
	int st;
	waitpid(outer, &st, 0);
	printf("outer status: 0x%x\n", st);
	rmdir("p");
	return 0;
}
