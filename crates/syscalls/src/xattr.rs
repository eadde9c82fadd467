//! Extended attributes: kept in memory per inode, except the `user.`
//! names of host files on a volume or written through to the host
//! (`--overlay=none`), which are the host file's own, through the gofer.

use std::sync::Arc;

use abi::fs::{AT_FDCWD, S_IFDIR, S_IFMT, S_IFREG};
use abi::{Errno, SysResult};
use kernel::task::lock;
use kernel::Task;
use vfs::inode::DEV_PROC;
use vfs::Dentry;

use crate::util;

const XATTR_CREATE: u64 = 1;
const XATTR_REPLACE: u64 = 2;
const XATTR_NAME_MAX: usize = 255;
const XATTR_SIZE_MAX: u64 = 65536;
const XATTR_LIST_MAX: usize = 65536;

/// The entry a path (`follow`: through symlinks) or descriptor names.
fn target(t: &Task, path: Option<u64>, fd: u64, follow: bool) -> SysResult<Arc<Dentry>> {
    match path {
        Some(p) => {
            let p = util::path(t, p)?;
            util::lookup(t, AT_FDCWD as u64, &p, follow, false)
        }
        None => {
            let f = util::file(t, fd)?;
            if f.flags() & abi::fs::O_PATH != 0 {
                return Err(Errno::EBADF);
            }
            f.dentry.clone().ok_or(Errno::EOPNOTSUPP)
        }
    }
}

fn name(t: &Task, addr: u64) -> SysResult<Vec<u8>> {
    let n = t.mm().read_cstring(addr, XATTR_NAME_MAX).map_err(|e| {
        if e == Errno::ENAMETOOLONG {
            Errno::ERANGE
        } else {
            e
        }
    })?;
    if n.is_empty() {
        return Err(Errno::ERANGE);
    }
    let known = [b"user.".as_slice(), b"trusted.", b"security.", b"system."];
    if !known.iter().any(|p| n.starts_with(p)) {
        return Err(Errno::EOPNOTSUPP);
    }
    Ok(n)
}

/// Whether a host file's attribute `n` is the host's: the `user.`
/// namespace (others stay in the sandbox, as the gofer is not trusted
/// with `trusted.` or `security.` names on the host).
fn on_host<'a>(t: &'a Task, d: &Arc<Dentry>, n: &[u8]) -> Option<vfs::HostXattrs<'a>> {
    if !n.starts_with(b"user.") {
        return None;
    }
    t.kernel.vfs.host_xattrs(d)
}

fn get(t: &mut Task, d: &Arc<Dentry>, name_addr: u64, buf: u64, size: u64) -> SysResult<u64> {
    let n = name(t, name_addr)?;
    let v = match on_host(t, d, &n) {
        Some(h) => h.get(&n)?,
        None => lock(&d.inode.xattrs)
            .get(&n)
            .cloned()
            .ok_or(Errno::ENODATA)?,
    };
    if size == 0 {
        return Ok(v.len() as u64);
    }
    if (size as usize) < v.len() {
        return Err(Errno::ERANGE);
    }
    t.mm().copy_out(buf, &v)?;
    Ok(v.len() as u64)
}

fn set(
    t: &mut Task,
    d: &Arc<Dentry>,
    name_addr: u64,
    val: u64,
    size: u64,
    flags: u64,
) -> SysResult<u64> {
    let ino = &d.inode;
    if flags & !(XATTR_CREATE | XATTR_REPLACE) != 0 {
        return Err(Errno::EINVAL);
    }
    let n = name(t, name_addr)?;
    if size > XATTR_SIZE_MAX {
        return Err(Errno::E2BIG);
    }
    let mut v = vec![0u8; size as usize];
    t.mm().copy_in(val, &mut v)?;
    vfs::mount::check_writable(d)?;
    if n.starts_with(b"system.") || ino.dev == DEV_PROC {
        return Err(Errno::EOPNOTSUPP);
    }
    let ft = ino.mode() & S_IFMT;
    if n.starts_with(b"user.") && ft != S_IFREG && ft != S_IFDIR {
        return Err(Errno::EPERM);
    }
    if let Some(h) = on_host(t, d, &n) {
        h.set(&n, &v, flags as u32)?;
    } else {
        let mut x = lock(&ino.xattrs);
        let exists = x.contains_key(&n);
        if flags & XATTR_CREATE != 0 && exists {
            return Err(Errno::EEXIST);
        }
        if flags & XATTR_REPLACE != 0 && !exists {
            return Err(Errno::ENODATA);
        }
        x.insert(n, v);
    }
    vfs::inotify::inode_event(ino, vfs::inotify::IN_ATTRIB);
    Ok(0)
}

fn list(t: &mut Task, d: &Arc<Dentry>, buf: u64, size: u64) -> SysResult<u64> {
    let mut out = Vec::new();
    // A host file's `user.` names are the host's.
    if let Some(h) = on_host(t, d, b"user.") {
        for k in h.list()?.split(|&b| b == 0) {
            if k.starts_with(b"user.") {
                out.extend_from_slice(k);
                out.push(0);
            }
        }
    }
    for k in lock(&d.inode.xattrs).keys() {
        out.extend_from_slice(k);
        out.push(0);
    }
    if out.len() > XATTR_LIST_MAX {
        return Err(Errno::E2BIG);
    }
    if size == 0 {
        return Ok(out.len() as u64);
    }
    if (size as usize) < out.len() {
        return Err(Errno::ERANGE);
    }
    t.mm().copy_out(buf, &out)?;
    Ok(out.len() as u64)
}

fn remove(t: &mut Task, d: &Arc<Dentry>, name_addr: u64) -> SysResult<u64> {
    let n = name(t, name_addr)?;
    vfs::mount::check_writable(d)?;
    match on_host(t, d, &n) {
        Some(h) => h.remove(&n)?,
        None => {
            lock(&d.inode.xattrs).remove(&n).ok_or(Errno::ENODATA)?;
        }
    }
    vfs::inotify::inode_event(&d.inode, vfs::inotify::IN_ATTRIB);
    Ok(0)
}

pub fn getxattr(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let i = target(t, Some(a[0]), 0, true)?;
    get(t, &i, a[1], a[2], a[3])
}
pub fn lgetxattr(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let i = target(t, Some(a[0]), 0, false)?;
    get(t, &i, a[1], a[2], a[3])
}
pub fn fgetxattr(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let i = target(t, None, a[0], true)?;
    get(t, &i, a[1], a[2], a[3])
}
pub fn setxattr(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let i = target(t, Some(a[0]), 0, true)?;
    set(t, &i, a[1], a[2], a[3], a[4])
}
pub fn lsetxattr(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let i = target(t, Some(a[0]), 0, false)?;
    set(t, &i, a[1], a[2], a[3], a[4])
}
pub fn fsetxattr(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let i = target(t, None, a[0], true)?;
    set(t, &i, a[1], a[2], a[3], a[4])
}
pub fn listxattr(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let i = target(t, Some(a[0]), 0, true)?;
    list(t, &i, a[1], a[2])
}
pub fn llistxattr(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let i = target(t, Some(a[0]), 0, false)?;
    list(t, &i, a[1], a[2])
}
pub fn flistxattr(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let i = target(t, None, a[0], true)?;
    list(t, &i, a[1], a[2])
}
pub fn removexattr(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let i = target(t, Some(a[0]), 0, true)?;
    remove(t, &i, a[1])
}
pub fn lremovexattr(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let i = target(t, Some(a[0]), 0, false)?;
    remove(t, &i, a[1])
}
pub fn fremovexattr(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let i = target(t, None, a[0], true)?;
    remove(t, &i, a[1])
}
