//! Loading programs into an address space: ELF executables and their
//! interpreters, `#!` scripts, the initial stack, and the vDSO.

pub mod elf;
pub mod vdso;

use std::sync::Arc;

use abi::misc::auxv::*;
use abi::mman::*;
use abi::{page_down, page_up, Errno, SysResult, PAGE_SIZE};
use mm::manager::Backing;
use mm::{MapRequest, Mappable, MemoryManager, VmaName};
use vfs::{Creds, Dentry, File, Vfs};

/// Where non-PIE-relative PIE executables are placed (Linux's
/// `ELF_ET_DYN_BASE` for x86-64).
const ET_DYN_BASE: u64 = 0x5555_5555_4000;
/// Largest argv+envp accepted.
const MAX_ARG_BYTES: usize = 2 << 20;
/// Nesting limit for `#!` interpreters: five scripts may lead to the
/// binary, a sixth is `ELOOP` (Linux's `exec_binprm`).
const MAX_INTERP_DEPTH: u32 = 5;

/// The vDSO as mapped into every process: a data page and the image, both
/// in the memory file and shared read-only.
pub struct VdsoMapping {
    pub vvar: Arc<dyn Mappable>,
    pub image: Arc<dyn Mappable>,
    pub image_len: u64,
}

/// What exec needs besides the file.
pub struct ExecArgs<'a> {
    pub vfs: &'a Arc<Vfs>,
    pub root: &'a Arc<Dentry>,
    pub cwd: &'a Arc<Dentry>,
    pub creds: &'a Creds,
    pub vdso: Option<&'a VdsoMapping>,
    /// Host's AT_HWCAP/AT_HWCAP2/AT_MINSIGSTKSZ, passed through.
    pub hwcap: (u64, u64, u64),
    /// The caller's real and effective IDs, before set-id bits apply.
    pub ids: ExecIds,
    /// `PR_SET_NO_NEW_PRIVS`: set-id bits are ignored.
    pub no_new_privs: bool,
}

/// User and group IDs across an exec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExecIds {
    pub uid: u32,
    pub euid: u32,
    pub gid: u32,
    pub egid: u32,
}

impl ExecIds {
    /// The IDs after executing a file with `mode`, owned by `owner`:
    /// set-user-ID makes the owner the effective uid, set-group-ID (with
    /// group execute; without it the bit means mandatory locking) the
    /// group.
    pub fn after_exec(self, mode: u32, owner: (u32, u32), no_new_privs: bool) -> ExecIds {
        let mut ids = self;
        if no_new_privs {
            return ids;
        }
        if mode & abi::fs::S_ISUID != 0 {
            ids.euid = owner.0;
        }
        if mode & abi::fs::S_ISGID != 0 && mode & 0o010 != 0 {
            ids.egid = owner.1;
        }
        ids
    }

    /// `AT_SECURE`: the program runs with IDs its invoker does not have,
    /// so the dynamic linker must distrust the environment.
    pub fn secure(self) -> bool {
        self.uid != self.euid || self.gid != self.egid
    }
}

/// The result of loading: where to start and what the process looks like.
pub struct Loaded {
    pub entry: u64,
    pub sp: u64,
    pub exe: Arc<Dentry>,
    /// `comm`: the basename of the executed file.
    pub comm: Vec<u8>,
    /// The IDs the new image runs with (set-id bits applied).
    pub ids: ExecIds,
}

fn read_at(f: &File, off: u64, len: usize) -> SysResult<Vec<u8>> {
    let mut buf = vec![0u8; len];
    let mut done = 0;
    while done < len {
        let n = f.pread(&mut buf[done..], off + done as u64)?;
        if n == 0 {
            break;
        }
        done += n;
    }
    buf.truncate(done);
    Ok(buf)
}

/// Opens `path` for execution: must be a regular file someone may execute.
fn open_exec(a: &ExecArgs, path: &[u8]) -> SysResult<Arc<File>> {
    let d = a.vfs.resolve(a.root, a.cwd, path, true, a.creds)?;
    let m = d.inode.meta();
    if m.mode & abi::fs::S_IFMT != abi::fs::S_IFREG {
        return Err(Errno::EACCES);
    }
    if !vfs::inode::may_access(&m, a.creds, abi::fs::X_OK) {
        return Err(Errno::EACCES);
    }
    // Landlock: an exec opens the file for reading and execution.
    let ll = vfs::landlock::ACCESS_FS_EXECUTE | vfs::landlock::ACCESS_FS_READ_FILE;
    vfs::landlock::check(a.creds, &d, ll)?;
    // Nothing runs from a `noexec` mount.
    if vfs::mount::flags_of(&d) & vfs::mount::MS_NOEXEC != 0 {
        return Err(Errno::EACCES);
    }
    a.vfs.open_dentry(&d, abi::fs::O_RDONLY, &Creds::root())
}

/// Parses a `#!` line: interpreter and optional single argument.
fn parse_shebang(head: &[u8]) -> SysResult<(Vec<u8>, Option<Vec<u8>>)> {
    let line_end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    let line = &head[2..line_end];
    let trim = |s: &[u8]| -> Vec<u8> {
        let s: &[u8] = match s.iter().position(|&b| b != b' ' && b != b'\t') {
            Some(i) => &s[i..],
            None => &[],
        };
        let e = s
            .iter()
            .rposition(|&b| b != b' ' && b != b'\t')
            .map_or(0, |i| i + 1);
        s[..e].to_vec()
    };
    let line = trim(line);
    if line.is_empty() {
        return Err(Errno::ENOEXEC);
    }
    match line.iter().position(|&b| b == b' ' || b == b'\t') {
        Some(i) => {
            let arg = trim(&line[i..]);
            Ok((
                line[..i].to_vec(),
                if arg.is_empty() { None } else { Some(arg) },
            ))
        }
        None => Ok((line, None)),
    }
}

struct ElfLoad {
    entry: u64,
    base: u64,
    phdr_addr: u64,
    phnum: u64,
    end: u64,
    interp: Option<Vec<u8>>,
}

fn file_name(d: &Arc<Dentry>) -> VmaName {
    VmaName::File {
        path: String::from_utf8_lossy(&d.path()).into_owned(),
        dev: d.inode.dev,
        ino: d.inode.ino,
    }
}

/// Maps an ELF image's `PT_LOAD` segments.
fn map_elf(mm: &mut MemoryManager, f: &Arc<File>, head: &[u8], main: bool) -> SysResult<ElfLoad> {
    let h = elf::parse_header(head)?;
    let ph_bytes = read_at(f, h.phoff, h.phnum as usize * 56)?;
    let phdrs = elf::parse_phdrs(&ph_bytes, h.phnum as usize)?;
    let loads: Vec<&elf::Phdr> = phdrs.iter().filter(|p| p.ptype == elf::PT_LOAD).collect();
    if loads.is_empty() {
        return Err(Errno::ENOEXEC);
    }
    let mut interp = None;
    if let Some(p) = phdrs.iter().find(|p| p.ptype == elf::PT_INTERP) {
        if !main || p.filesz < 2 || p.filesz > 4096 {
            return Err(Errno::ENOEXEC);
        }
        // The path is a C string that must end the segment: a segment
        // without a NUL at its end is malformed.
        let mut s = read_at(f, p.offset, p.filesz as usize)?;
        if s.last() != Some(&0) {
            return Err(Errno::ENOEXEC);
        }
        let len = s.iter().position(|&b| b == 0).unwrap_or(s.len());
        s.truncate(len);
        interp = Some(s);
    }
    let lo = page_down(loads.iter().map(|p| p.vaddr).min().unwrap_or(0));
    let hi = loads
        .iter()
        .map(|p| p.vaddr.checked_add(p.memsz).ok_or(Errno::ENOEXEC))
        .collect::<SysResult<Vec<u64>>>()?
        .into_iter()
        .max()
        .unwrap_or(0);
    let span = page_up(hi)
        .ok_or(Errno::ENOEXEC)?
        .checked_sub(lo)
        .ok_or(Errno::ENOEXEC)?;
    let mappable = f.ops.mappable(f)?;
    let dentry = f.dentry.clone().ok_or(Errno::ENOEXEC)?;
    // Reserve the whole span first so segments land relative to one base.
    let base = if h.etype == elf::ET_DYN {
        let hint = if main { ET_DYN_BASE } else { 0 };
        let at = mm.mmap(MapRequest {
            addr: hint,
            len: span,
            prot: PROT_NONE,
            flags: MAP_PRIVATE | MAP_ANONYMOUS,
            backing: None,
            may_write: true,
            name: VmaName::Anon,
        })?;
        at - lo
    } else {
        0
    };
    let mut end = 0;
    for p in &loads {
        // Only a segment with file contents is mapped from the file, so
        // only then must its offset be aligned as its address is.
        if p.filesz > p.memsz || (p.filesz > 0 && p.offset % PAGE_SIZE != p.vaddr % PAGE_SIZE) {
            return Err(Errno::ENOEXEC);
        }
        let start = page_down(base + p.vaddr);
        let file_end = base + p.vaddr + p.filesz;
        let mem_end = base + p.vaddr + p.memsz;
        let prot = p.prot();
        let map_end = page_up(file_end).ok_or(Errno::ENOEXEC)?;
        if p.filesz > 0 {
            mm.mmap(MapRequest {
                addr: start,
                len: map_end - start,
                prot: prot | PROT_WRITE,
                flags: MAP_PRIVATE | MAP_FIXED,
                backing: Some(Backing {
                    obj: mappable.clone(),
                    offset: page_down(p.offset),
                }),
                may_write: true,
                name: file_name(&dentry),
            })?;
            // The tail of the last file page that belongs to .bss is zero.
            if mem_end > file_end && map_end > file_end {
                mm.zero_out(file_end, map_end - file_end)?;
            }
            mm.mprotect(start, map_end - start, prot)?;
        }
        let anon_start = if p.filesz > 0 { map_end } else { start };
        let anon_end = page_up(mem_end).ok_or(Errno::ENOEXEC)?;
        if anon_end > anon_start {
            // Like brk memory (Linux maps it with `vm_brk_flags`): always
            // readable and writable, executable if the segment is.
            mm.mmap(MapRequest {
                addr: anon_start,
                len: anon_end - anon_start,
                prot: PROT_READ | PROT_WRITE | (prot & PROT_EXEC),
                flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                backing: None,
                may_write: true,
                name: VmaName::Anon,
            })?;
        }
        end = end.max(mem_end);
    }
    let phdr_addr = match phdrs.iter().find(|p| p.ptype == elf::PT_PHDR) {
        Some(p) => base + p.vaddr,
        None => loads
            .iter()
            .find(|p| p.offset <= h.phoff && h.phoff < p.offset + p.filesz)
            .map_or(0, |p| base + p.vaddr + (h.phoff - p.offset)),
    };
    Ok(ElfLoad {
        entry: base + h.entry,
        base,
        phdr_addr,
        phnum: h.phnum as u64,
        end,
        interp,
    })
}

/// Loads `path` into the (fresh) `mm` with `argv`/`envp` and builds the
/// initial stack. Errors are those `execve` returns.
pub fn load(
    a: &ExecArgs,
    mm: &mut MemoryManager,
    path: &[u8],
    mut argv: Vec<Vec<u8>>,
    envp: Vec<Vec<u8>>,
) -> SysResult<Loaded> {
    let total: usize = argv
        .iter()
        .chain(envp.iter())
        .map(|s| s.len() + 1 + 8)
        .sum();
    if total > MAX_ARG_BYTES {
        return Err(Errno::E2BIG);
    }
    let mut path = path.to_vec();
    let execfn = path.clone();
    let mut depth = 0;
    let (file, head) = loop {
        let f = open_exec(a, &path)?;
        let head = read_at(&f, 0, 256)?;
        if head.starts_with(b"#!") {
            depth += 1;
            if depth > MAX_INTERP_DEPTH {
                return Err(Errno::ELOOP);
            }
            let (interp, arg) = parse_shebang(&head)?;
            let mut new_argv = vec![interp.clone()];
            if let Some(arg) = arg {
                new_argv.push(arg);
            }
            new_argv.push(path.clone());
            new_argv.extend(argv.drain(..).skip(1));
            argv = new_argv;
            path = interp;
            continue;
        }
        if !elf::is_elf(&head) {
            return Err(Errno::ENOEXEC);
        }
        let full = if head.len() < 64 {
            return Err(Errno::ENOEXEC);
        } else {
            read_at(&f, 0, 64)?
        };
        break (f, full);
    };
    let exe = file.dentry.clone().ok_or(Errno::ENOEXEC)?;
    // Set-id bits of the file finally run count (a script's are ignored:
    // the interpreter is what runs).
    let st = exe.inode.stat();
    // `nosuid` mounts: set-id bits are ignored, as under no_new_privs.
    let nosuid = vfs::mount::flags_of(&exe) & vfs::mount::MS_NOSUID != 0;
    let ids = a
        .ids
        .after_exec(st.mode, (st.uid, st.gid), a.no_new_privs || nosuid);
    let main = map_elf(mm, &file, &head, true)?;
    let mut entry = main.entry;
    let mut interp_base = 0;
    if let Some(ip) = &main.interp {
        // An empty path names the working directory, which cannot run.
        if ip.is_empty() {
            return Err(Errno::EACCES);
        }
        let f = open_exec(a, ip).map_err(|e| if e == Errno::EACCES { e } else { Errno::ENOENT })?;
        let ih = read_at(&f, 0, 64)?;
        // An interpreter that is no ELF file for this machine is a bad
        // shared library, not a bad executable.
        if !elf::is_elf(&ih) || ih.len() < 20 || ih[18..20] != [0x3e, 0] {
            return Err(Errno::ELIBBAD);
        }
        let il = map_elf(mm, &f, &ih, false)?;
        entry = il.entry;
        interp_base = il.base;
    }
    let brk = page_up(main.end).ok_or(Errno::ENOEXEC)?;
    mm.brk_start = brk;
    mm.brk_end = brk;

    // The stack: Linux starts it small and lets it grow down.
    let stack_top = mm.max_addr() - 0x1_0000_0000;
    let stack_size: u64 = 128 * 1024 + page_up(total as u64 + 4096).unwrap_or(0);
    let stack_start = stack_top - stack_size;
    mm.mmap(MapRequest {
        addr: stack_start,
        len: stack_size,
        prot: PROT_READ | PROT_WRITE,
        flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_GROWSDOWN,
        backing: None,
        may_write: true,
        name: VmaName::Stack,
    })?;
    mm.mmap_base = stack_top - mm.stack_limit - (128 << 20);

    let vdso_addr = match a.vdso {
        Some(v) => map_vdso(mm, v)?,
        None => 0,
    };

    // Strings, top down.
    let mut sp = stack_top;
    fn push_bytes(mm: &mut MemoryManager, sp: &mut u64, b: &[u8]) -> SysResult<u64> {
        *sp -= b.len() as u64 + 1;
        mm.copy_out(*sp, b)?;
        mm.copy_out(*sp + b.len() as u64, &[0])?;
        Ok(*sp)
    }
    let execfn_addr = push_bytes(mm, &mut sp, &execfn)?;
    let env_end = sp;
    let mut env_ptrs = Vec::with_capacity(envp.len());
    for e in envp.iter().rev() {
        env_ptrs.push(push_bytes(mm, &mut sp, e)?);
    }
    env_ptrs.reverse();
    let env_start = sp;
    let arg_end = sp;
    let mut arg_ptrs = Vec::with_capacity(argv.len());
    for s in argv.iter().rev() {
        arg_ptrs.push(push_bytes(mm, &mut sp, s)?);
    }
    arg_ptrs.reverse();
    let arg_start = sp;
    let platform_addr = push_bytes(mm, &mut sp, b"x86_64")?;
    let mut random = [0u8; 16];
    vfs::dev::random_bytes(&mut random)?;
    sp = (sp - 16) & !15;
    let random_addr = sp;
    mm.copy_out(random_addr, &random)?;

    let mut auxv: Vec<(u64, u64)> = vec![
        (AT_PHDR, main.phdr_addr),
        (AT_PHENT, 56),
        (AT_PHNUM, main.phnum),
        (AT_PAGESZ, PAGE_SIZE),
        (AT_BASE, interp_base),
        (AT_FLAGS, 0),
        (AT_ENTRY, main.entry),
        (AT_UID, ids.uid as u64),
        (AT_EUID, ids.euid as u64),
        (AT_GID, ids.gid as u64),
        (AT_EGID, ids.egid as u64),
        (AT_SECURE, ids.secure() as u64),
        (AT_RANDOM, random_addr),
        (AT_HWCAP, a.hwcap.0),
        (AT_HWCAP2, a.hwcap.1),
        (AT_CLKTCK, 100),
        (AT_PLATFORM, platform_addr),
        (AT_EXECFN, execfn_addr),
    ];
    if a.hwcap.2 != 0 {
        auxv.push((AT_MINSIGSTKSZ, a.hwcap.2));
    }
    if vdso_addr != 0 {
        auxv.push((AT_SYSINFO_EHDR, vdso_addr));
    }
    auxv.push((AT_NULL, 0));

    // argc, argv[], NULL, envp[], NULL, auxv[]: 16-byte aligned at argc.
    let words = 1 + arg_ptrs.len() + 1 + env_ptrs.len() + 1 + auxv.len() * 2;
    sp -= (words * 8) as u64;
    sp &= !15;
    let mut block: Vec<u64> = Vec::with_capacity(words);
    block.push(arg_ptrs.len() as u64);
    block.extend(&arg_ptrs);
    block.push(0);
    block.extend(&env_ptrs);
    block.push(0);
    for (k, v) in &auxv {
        block.push(*k);
        block.push(*v);
    }
    let bytes: Vec<u8> = block.iter().flat_map(|w| w.to_le_bytes()).collect();
    mm.copy_out(sp, &bytes)?;
    mm.arg_start = arg_start;
    mm.arg_end = arg_end;
    mm.env_start = env_start;
    mm.env_end = env_end;
    mm.auxv = auxv;

    let comm = execfn
        .rsplit(|&b| b == b'/')
        .next()
        .unwrap_or(&execfn)
        .iter()
        .take(15)
        .copied()
        .collect();
    Ok(Loaded {
        entry,
        sp,
        exe,
        comm,
        ids,
    })
}

/// Maps the vvar page and the vDSO image next to each other.
fn map_vdso(mm: &mut MemoryManager, v: &VdsoMapping) -> SysResult<u64> {
    let img_len = page_up(v.image_len).ok_or(Errno::ENOMEM)?;
    let at = mm.mmap(MapRequest {
        addr: 0,
        len: PAGE_SIZE + img_len,
        prot: PROT_NONE,
        flags: MAP_PRIVATE | MAP_ANONYMOUS,
        backing: None,
        may_write: false,
        name: VmaName::Anon,
    })?;
    mm.mmap(MapRequest {
        addr: at,
        len: PAGE_SIZE,
        prot: PROT_READ,
        flags: MAP_SHARED | MAP_FIXED,
        backing: Some(Backing {
            obj: v.vvar.clone(),
            offset: 0,
        }),
        may_write: false,
        name: VmaName::Vvar,
    })?;
    mm.mmap(MapRequest {
        addr: at + PAGE_SIZE,
        len: img_len,
        prot: PROT_READ | PROT_EXEC,
        flags: MAP_SHARED | MAP_FIXED,
        backing: Some(Backing {
            obj: v.image.clone(),
            offset: 0,
        }),
        may_write: false,
        name: VmaName::Vdso,
    })?;
    Ok(at + PAGE_SIZE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_id_bits() {
        let user = ExecIds {
            uid: 1000,
            euid: 1000,
            gid: 100,
            egid: 100,
        };
        let owner = (0, 50);
        let plain = user.after_exec(0o755, owner, false);
        assert_eq!(plain, user);
        assert!(!plain.secure());
        let both = user.after_exec(0o6755, owner, false);
        assert_eq!((both.euid, both.egid), (0, 50));
        assert!(both.secure());
        // Set-group-ID without group execute marks mandatory locking.
        let no_gx = user.after_exec(0o2745, owner, false);
        assert_eq!(no_gx, user);
        assert_eq!(user.after_exec(0o6755, owner, true), user);
    }

    #[test]
    fn shebang_parsing() {
        assert_eq!(
            parse_shebang(b"#!/bin/sh\n").unwrap(),
            (b"/bin/sh".to_vec(), None)
        );
        assert_eq!(
            parse_shebang(b"#!  /usr/bin/env  python3 -u \nx").unwrap(),
            (b"/usr/bin/env".to_vec(), Some(b"python3 -u".to_vec()))
        );
        assert_eq!(parse_shebang(b"#!   \n"), Err(Errno::ENOEXEC));
    }
}
