// execve of hand-made ELF files: a PT_INTERP that does not end in a NUL is
// ENOEXEC, an empty interpreter path EACCES, an interpreter built for
// another machine ELIBBAD; a segment with no file contents may have an
// offset not aligned like its address (nothing is mapped from the file),
// and its memory is writable even if the segment is read-only (as brk
// memory); five nested #! scripts may lead to a binary, a sixth is ELOOP.
#include "dt.h"
#include <elf.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[] = "/tmp/dt_exec_elfXXXXXX";

/* movb $1,0x600000 (only with the anonymous segment); mov $60,%eax;
 * mov $42,%edi; syscall */
static const unsigned char store[] = {0xc6, 0x04, 0x25, 0, 0, 0x60, 0, 1};
static const unsigned char code[] = {0xb8, 0x3c, 0, 0, 0, 0xbf, 0x2a, 0, 0, 0, 0x0f, 0x05};

/* Writes an ELF executable: one text segment, then optionally a PT_INTERP
 * with `interp` (`ilen` bytes) and an anonymous-only segment. */
static void write_elf(const char *path, const char *interp, size_t ilen, int anon_seg)
{
	unsigned char buf[4096] = {0};
	Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
	Elf64_Phdr *ph = (Elf64_Phdr *)(buf + sizeof(*eh));
	int n = 0;
	size_t code_off = 0x200, interp_off = 0x300;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = 0x400000 + code_off;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	if (interp) {
		ph[n].p_type = PT_INTERP;
		ph[n].p_flags = PF_R;
		ph[n].p_offset = interp_off;
		ph[n].p_vaddr = 0x400000 + interp_off;
		ph[n].p_filesz = ph[n].p_memsz = ilen;
		memcpy(buf + interp_off, interp, ilen);
		n++;
	}
	ph[n].p_type = PT_LOAD;
	ph[n].p_flags = PF_R | PF_X;
	ph[n].p_offset = 0;
	ph[n].p_vaddr = 0x400000;
	ph[n].p_filesz = ph[n].p_memsz = sizeof(buf);
	ph[n].p_align = 0x1000;
	n++;
	if (anon_seg) {
		ph[n].p_type = PT_LOAD;
		/* Read-only, yet its memory is writable, as brk memory. */
		ph[n].p_flags = PF_R;
		ph[n].p_offset = 0x123;
		ph[n].p_vaddr = 0x600000;
		ph[n].p_filesz = 0;
		ph[n].p_memsz = 0x1000;
		ph[n].p_align = 0x1000;
		n++;
	}
	eh->e_phnum = n;
	size_t at = code_off;
	if (anon_seg) {
		memcpy(buf + at, store, sizeof(store));
		at += sizeof(store);
	}
	memcpy(buf + at, code, sizeof(code));
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0755);
	write(fd, buf, sizeof(buf));
	close(fd);
}

static void write_text(const char *path, const char *text)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0755);
	write(fd, text, strlen(text));
	close(fd);
}

/* Runs `path` in a child: prints the execve errno or the exit status. */
static void run(const char *what, const char *path)
{
	int p[2];
	pipe2(p, O_CLOEXEC);
	pid_t c = fork();
	if (c == 0) {
		char *argv[] = {(char *)path, NULL};
		execve(path, argv, NULL);
		int e = errno;
		write(p[1], &e, sizeof(e));
		_exit(127);
	}
	close(p[1]);
	int e = 0;
	int got = read(p[0], &e, sizeof(e));
	close(p[0]);
	int st = 0;
	waitpid(c, &st, 0);
	if (got == sizeof(e))
		printf("%s: execve errno=%s\n", what, dt_errname(e));
	else if (WIFEXITED(st))
		printf("%s: ran, exited %d\n", what, WEXITSTATUS(st));
	else
		printf("%s: ran, killed by %d\n", what, WTERMSIG(st));
}

int main(void)
{
	dt_init();
	if (!mkdtemp(dir))
		return 1;
	char bin[64], p[64], prev[64], text[128];
	snprintf(bin, sizeof(bin), "%s/bin", dir);
	write_elf(bin, NULL, 0, 0);
	run("plain", bin);
	snprintf(p, sizeof(p), "%s/anon", dir);
	write_elf(p, NULL, 0, 1);
	run("anon-only segment, unaligned offset", p);
	snprintf(p, sizeof(p), "%s/interp_nonul", dir);
	write_elf(p, "/f/b", 4, 0);
	run("interp without NUL", p);
	snprintf(p, sizeof(p), "%s/interp_missing", dir);
	write_elf(p, "/f/b", 5, 0);
	run("interp missing", p);
	snprintf(p, sizeof(p), "%s/interp_empty", dir);
	write_elf(p, "\0", 2, 0);
	run("interp empty path", p);
	/* An interpreter built for another machine (aarch64). */
	char notelf[64];
	snprintf(notelf, sizeof(notelf), "%s/notelf", dir);
	write_elf(notelf, NULL, 0, 0);
	uint16_t machine = EM_AARCH64;
	int fd = open(notelf, O_WRONLY);
	pwrite(fd, &machine, sizeof(machine), offsetof(Elf64_Ehdr, e_machine));
	close(fd);
	snprintf(p, sizeof(p), "%s/interp_notelf", dir);
	write_elf(p, notelf, strlen(notelf) + 1, 0);
	run("interp for another machine", p);
	strcpy(prev, bin);
	for (int i = 1; i <= 6; i++) {
		snprintf(p, sizeof(p), "%s/s%d", dir, i);
		snprintf(text, sizeof(text), "#!%s\n", prev);
		write_text(p, text);
		char what[32];
		snprintf(what, sizeof(what), "%d nested scripts", i);
		run(what, p);
		strcpy(prev, p);
	}
	for (int i = 1; i <= 6; i++) {
		snprintf(p, sizeof(p), "%s/s%d", dir, i);
		unlink(p);
	}
	const char *names[] = {"bin", "anon", "interp_nonul", "interp_missing", "interp_empty",
			       "notelf", "interp_notelf"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		unlink(p);
	}
	rmdir(dir);
	return 0;
}
