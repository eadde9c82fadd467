//! Argument decoding shared by the handlers.

use std::sync::Arc;

use abi::fs::{AT_FDCWD, PATH_MAX};
use abi::{Errno, Pod, SysResult};
use kernel::Task;
use vfs::{Dentry, File};

/// The file behind descriptor `fd`.
pub fn file(t: &Task, fd: u64) -> SysResult<Arc<File>> {
    t.fds().get(fd as i32)
}

/// The file behind `fd` for a call that acts on the file itself (Linux's
/// `fdget`, as opposed to `fdget_raw`): an `O_PATH` descriptor is `EBADF`.
pub fn file_io(t: &Task, fd: u64) -> SysResult<Arc<File>> {
    let f = file(t, fd)?;
    if f.flags() & abi::fs::O_PATH != 0 {
        return Err(abi::Errno::EBADF);
    }
    Ok(f)
}

/// Reads a path argument: `EFAULT` for bad pointers, `ENAMETOOLONG` for
/// paths of `PATH_MAX` or more bytes.
pub fn path(t: &Task, addr: u64) -> SysResult<Vec<u8>> {
    if addr == 0 {
        return Err(Errno::EFAULT);
    }
    t.mm().read_cstring(addr, PATH_MAX - 1)
}

/// Root and starting directory for resolving `path` relative to `dirfd`.
pub fn at(t: &Task, dirfd: u64, path: &[u8]) -> SysResult<(Arc<Dentry>, Arc<Dentry>)> {
    let (root, cwd) = {
        let fs = t.fs();
        (fs.root.clone(), fs.cwd.clone())
    };
    if path.first() == Some(&b'/') || dirfd as i32 == AT_FDCWD {
        return Ok((root, cwd));
    }
    let f = file(t, dirfd)?;
    let d = f.dentry.clone().ok_or(Errno::ENOTDIR)?;
    if path.is_empty() {
        return Ok((root, d));
    }
    if !d.inode.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    Ok((root, d))
}

/// Resolves `dirfd`+`path` to a dentry. An empty path with `empty_ok`
/// (`AT_EMPTY_PATH`) means the file `dirfd` itself.
pub fn lookup(
    t: &Task,
    dirfd: u64,
    path: &[u8],
    follow: bool,
    empty_ok: bool,
) -> SysResult<Arc<Dentry>> {
    if path.is_empty() {
        if !empty_ok {
            return Err(Errno::ENOENT);
        }
        if dirfd as i32 == AT_FDCWD {
            return Ok(t.fs().cwd.clone());
        }
        return file(t, dirfd)?.dentry.clone().ok_or(Errno::EBADF);
    }
    let (root, base) = at(t, dirfd, path)?;
    t.kernel
        .vfs
        .resolve(&root, &base, path, follow, &t.vfs_creds())
}

pub fn write_obj<T: Pod>(t: &Task, addr: u64, v: &T) -> SysResult<()> {
    t.mm().write_obj(addr, v)
}

pub fn read_obj<T: Pod>(t: &Task, addr: u64) -> SysResult<T> {
    t.mm().read_obj(addr)
}

/// Reads a NULL-terminated array of string pointers (`argv`, `envp`).
pub fn string_array(t: &Task, addr: u64) -> SysResult<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    if addr == 0 {
        return Ok(out);
    }
    let mut total = 0usize;
    for i in 0.. {
        let p: u64 = read_obj(t, addr + i * 8)?;
        if p == 0 {
            break;
        }
        let s = t.mm().read_cstring(p, 128 * 1024)?;
        total += s.len() + 1;
        if total > 2 << 20 || out.len() > 0x7fff_ffff / 8 {
            return Err(Errno::E2BIG);
        }
        out.push(s);
    }
    Ok(out)
}
