//! Extended attributes, kept in memory per inode.

use std::sync::Arc;

use abi::fs::{AT_FDCWD, S_IFDIR, S_IFMT, S_IFREG};
use abi::{Errno, SysResult};
use kernel::task::lock;
use kernel::Task;
use vfs::inode::DEV_PROC;
use vfs::Inode;

use crate::util;

const XATTR_CREATE: u64 = 1;
const XATTR_REPLACE: u64 = 2;
const XATTR_NAME_MAX: usize = 255;
const XATTR_SIZE_MAX: u64 = 65536;
const XATTR_LIST_MAX: usize = 65536;

/// The inode a path (`follow`: through symlinks) or descriptor names.
fn target(t: &Task, path: Option<u64>, fd: u64, follow: bool) -> SysResult<Arc<Inode>> {
    match path {
        Some(p) => {
            let p = util::path(t, p)?;
            Ok(util::lookup(t, AT_FDCWD as u64, &p, follow, false)?
                .inode
                .clone())
        }
        None => {
            let f = util::file(t, fd)?;
            if f.flags() & abi::fs::O_PATH != 0 {
                return Err(Errno::EBADF);
            }
            match &f.dentry {
                Some(d) => Ok(d.inode.clone()),
                None => Err(Errno::EOPNOTSUPP),
            }
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

fn get(t: &mut Task, ino: &Inode, name_addr: u64, buf: u64, size: u64) -> SysResult<u64> {
    let n = name(t, name_addr)?;
    let v = lock(&ino.xattrs).get(&n).cloned().ok_or(Errno::ENODATA)?;
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
    ino: &Inode,
    name_addr: u64,
    val: u64,
    size: u64,
    flags: u64,
) -> SysResult<u64> {
    if flags & !(XATTR_CREATE | XATTR_REPLACE) != 0 {
        return Err(Errno::EINVAL);
    }
    let n = name(t, name_addr)?;
    if size > XATTR_SIZE_MAX {
        return Err(Errno::E2BIG);
    }
    if n.starts_with(b"system.") || ino.dev == DEV_PROC {
        return Err(Errno::EOPNOTSUPP);
    }
    let ft = ino.mode() & S_IFMT;
    if n.starts_with(b"user.") && ft != S_IFREG && ft != S_IFDIR {
        return Err(Errno::EPERM);
    }
    let mut v = vec![0u8; size as usize];
    t.mm().copy_in(val, &mut v)?;
    let mut x = lock(&ino.xattrs);
    let exists = x.contains_key(&n);
    if flags & XATTR_CREATE != 0 && exists {
        return Err(Errno::EEXIST);
    }
    if flags & XATTR_REPLACE != 0 && !exists {
        return Err(Errno::ENODATA);
    }
    x.insert(n, v);
    drop(x);
    vfs::inotify::inode_event(ino, vfs::inotify::IN_ATTRIB);
    Ok(0)
}

fn list(t: &mut Task, ino: &Inode, buf: u64, size: u64) -> SysResult<u64> {
    let mut out = Vec::new();
    for k in lock(&ino.xattrs).keys() {
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

fn remove(t: &mut Task, ino: &Inode, name_addr: u64) -> SysResult<u64> {
    let n = name(t, name_addr)?;
    lock(&ino.xattrs).remove(&n).ok_or(Errno::ENODATA)?;
    vfs::inotify::inode_event(ino, vfs::inotify::IN_ATTRIB);
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
