// execve: /bin/echo with argv and envp, close-on-exec across exec, a #!
// script whose interpreter is itself a #! script (nested), and the errors
// ENOENT, EACCES (no exec bit / directory), ENOEXEC, ENOTDIR, EFAULT.
#include "dt.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void put(const char *p, const char *s, mode_t mode)
{
	int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, mode);
	if (fd < 0 || write(fd, s, strlen(s)) < 0)
		printf("cannot write %s\n", p);
	close(fd);
	chmod(p, mode);
}

static void run(const char *what, char *const argv[], char *const envp[])
{
	pid_t c = fork();
	if (c == 0) {
		execve(argv[0], argv, envp);
		printf("%s: execve failed errno=%s\n", what, dt_errname(errno));
		_exit(127);
	}
	int st;
	waitpid(c, &st, 0);
	printf("%s: exit=%d\n", what, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

int main(void)
{
	dt_init();
	char cwd[4096], inner[4200], outer[4200], script[8400];
	if (!getcwd(cwd, sizeof(cwd)))
		return 1;
	char *env[] = { "A=1", "B=two words", NULL };
	run("echo", (char *[]){ "/bin/echo", "hello", "from", "echo", NULL }, env);
	run("env", (char *[]){ "/usr/bin/env", NULL }, env);
	run("empty env", (char *[]){ "/usr/bin/env", NULL }, (char *[]){ NULL });
	run("sh argv0", (char *[]){ "/bin/sh", "-c", "echo \"$0\" \"$1\"", "zero", "one", NULL }, env);

	int keep = open("/dev/null", O_RDONLY);
	int cloexec = open("/dev/null", O_RDONLY | O_CLOEXEC);
	printf("keep=%d cloexec=%d\n", keep, cloexec);
	run("fd check", (char *[]){ "/bin/sh", "-c",
		"for f in 3 4; do if { true <&$f; } 2>/dev/null; then echo fd $f open; else echo fd $f closed; fi; done", NULL }, env);
	close(keep);
	close(cloexec);

	snprintf(inner, sizeof(inner), "%s/inner", cwd);
	snprintf(outer, sizeof(outer), "%s/outer", cwd);
	put("inner", "#!/bin/sh\necho \"inner: $# args: $1 ${2##*/} $3\"\nexit 3\n", 0755);
	snprintf(script, sizeof(script), "#!%s from-outer\nnot shell\n", inner);
	put("outer", script, 0755);
	run("script", (char *[]){ inner, "x", NULL }, env);
	run("nested script", (char *[]){ outer, "extra", NULL }, env);

	put("noexec", "#!/bin/sh\necho never\n", 0644);
	put("garbage", "\x01\x02\x03 this is not an executable\n", 0755);
	put("badinterp", "#!/nonexistent/interpreter\n", 0755);
	CHK("execve missing", execve("/nonexistent/prog", (char *[]){ "x", NULL }, env));
	CHK("execve no exec bit", execve("noexec", (char *[]){ "noexec", NULL }, env));
	CHK("execve garbage", execve("garbage", (char *[]){ "garbage", NULL }, env));
	CHK("execve missing interpreter", execve("badinterp", (char *[]){ "badinterp", NULL }, env));
	CHK("execve directory", execve("/tmp", (char *[]){ "tmp", NULL }, env));
	CHK("execve ENOTDIR", execve("noexec/x", (char *[]){ "x", NULL }, env));
	CHK("execve BADPTR path", execve(BADPTR, (char *[]){ "x", NULL }, env));
	CHK("execve BADPTR argv", execve("/bin/true", BADPTR, env));
	CHK("execve BADPTR in argv", execve("/bin/true", (char *[]){ "x", BADPTR, NULL }, env));
	run("true", (char *[]){ "/bin/true", NULL }, env);
	unlink("inner");
	unlink("outer");
	unlink("noexec");
	unlink("garbage");
	unlink("badinterp");
	return 0;
}
