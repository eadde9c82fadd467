//! Memory-backed files: `memfd_create`, `memfd_secret`, file seals (`F_ADD_SEALS`,
//! `F_GET_SEALS`), `fallocate`, and what a shrinking file does to the
//! address spaces mapping it.

use std::sync::{Arc, Mutex};

use abi::{Errno, SysResult};
use kernel::Task;
use mm::{Mappable, MemoryManager};
use vfs::inode::{Inode, F_SEAL_FUTURE_WRITE, F_SEAL_GROW, F_SEAL_SEAL, F_SEAL_WRITE};
use vfs::File;

use crate::util::file;

/// `memfd_create(name, flags)`.
pub fn memfd_create(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    const MFD_CLOEXEC: u64 = 1;
    const MFD_ALLOW_SEALING: u64 = 2;
    const MFD_HUGETLB: u64 = 4;
    const MFD_NOEXEC_SEAL: u64 = 8;
    const MFD_EXEC: u64 = 0x10;
    if a[1] & !(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_NOEXEC_SEAL | MFD_EXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    if a[1] & MFD_HUGETLB != 0 {
        return Err(Errno::EINVAL);
    }
    let name = t.mm().read_cstring(a[0], 249).map_err(|e| {
        if e == Errno::ENAMETOOLONG {
            Errno::EINVAL
        } else {
            e
        }
    })?;
    let seals = if a[1] & MFD_ALLOW_SEALING != 0 {
        0
    } else {
        F_SEAL_SEAL
    };
    let creds = t.vfs_creds();
    let f = t.kernel.vfs.anonymous_file(&name, &creds, seals);
    let lim = t.rlimit(abi::misc::RLIMIT_NOFILE).cur;
    t.fds()
        .install(f, a[1] & MFD_CLOEXEC != 0, 0, lim)
        .map(|fd| fd as u64)
}

/// `memfd_secret(flags)`: see `vfs::secretmem`. Only `O_CLOEXEC` is a
/// valid flag.
pub fn memfd_secret(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let cloexec = abi::fs::O_CLOEXEC as u64;
    if a[0] & !cloexec != 0 {
        return Err(Errno::EINVAL);
    }
    let creds = t.vfs_creds();
    let f = t.kernel.vfs.secret_file(&creds);
    let lim = t.rlimit(abi::misc::RLIMIT_NOFILE).cur;
    t.fds()
        .install(f, a[0] & cloexec != 0, 0, lim)
        .map(|fd| fd as u64)
}

/// Every distinct address space of the sandbox's live processes.
fn address_spaces(t: &Task) -> Vec<Arc<Mutex<MemoryManager>>> {
    let groups: Vec<_> = kernel::task::lock(&t.kernel.table)
        .groups
        .values()
        .cloned()
        .collect();
    let mut out: Vec<Arc<Mutex<MemoryManager>>> = vec![t.mm.clone()];
    for g in groups {
        if let Some(mm) = kernel::task::lock(&g.inner).mm.clone() {
            if !out.iter().any(|m| Arc::ptr_eq(m, &mm)) {
                out.push(mm);
            }
        }
    }
    out
}

/// After the file behind `inode` shrank to `len`: every address space
/// mapping it drops its pages from the first whole page past the end,
/// private copies included (Linux's truncation does the same), so they
/// read the file's zeroes when it grows again. Nothing to do for a file
/// that was never mapped. A host file written through (a volume,
/// `--overlay=none`) counts too: its mappings map its page cache.
/// Called with no address space locked.
pub fn shrunk(t: &Task, inode: &Inode, len: u64) {
    let Some(obj) = inode.mapped_object() else {
        return;
    };
    if !obj.was_mapped() {
        return;
    }
    let from = abi::page_up(len).unwrap_or(u64::MAX);
    let obj: Arc<dyn Mappable> = obj;
    for mm in address_spaces(t) {
        kernel::task::lock(&mm).zap_object(&obj, from);
    }
}

/// Whether some address space maps `inode`'s data shared and writable.
fn mapped_writable(t: &Task, inode: &Inode) -> bool {
    // Mappings never touched count too: `was_mapped` does not help here.
    let Some(obj) = inode.mem_object() else {
        return false;
    };
    let obj: Arc<dyn Mappable> = obj;
    address_spaces(t)
        .iter()
        .any(|mm| kernel::task::lock(mm).maps_shared_writable(&obj))
}

/// `fcntl(F_ADD_SEALS)` and `fcntl(F_GET_SEALS)`.
pub fn seals(t: &Task, f: &Arc<File>, add: Option<u64>) -> SysResult<u64> {
    let inode = &f.dentry.as_ref().ok_or(Errno::EINVAL)?.inode;
    let Some(add) = add else {
        return inode.seals().map(u64::from);
    };
    let cur = inode.seals()?;
    if !f.writable() {
        return Err(Errno::EPERM);
    }
    let add = u32::try_from(add).map_err(|_| Errno::EINVAL)?;
    if add & F_SEAL_WRITE != 0
        && cur & (F_SEAL_SEAL | F_SEAL_WRITE) == 0
        && mapped_writable(t, inode)
    {
        return Err(Errno::EBUSY);
    }
    inode.add_seals(add).map(|_| 0)
}

/// Seals a shared mapping of `f` must respect: `EPERM` for a writable one,
/// and a read-only one may never become writable.
pub fn check_shared_map(f: &File, writable: bool) -> SysResult<bool> {
    let Some(d) = &f.dentry else {
        return Ok(true);
    };
    match d.inode.seals() {
        Ok(s) if s & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE) != 0 => {
            if writable {
                Err(Errno::EPERM)
            } else {
                Ok(false)
            }
        }
        _ => Ok(true),
    }
}

/// `fallocate(fd, mode, offset, len)`: space is never reserved (memory is
/// sparse), but sizes and punched holes behave as on Linux's tmpfs, which
/// supports allocation and `PUNCH_HOLE` (with `KEEP_SIZE`) only.
pub fn fallocate(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    const KEEP_SIZE: u64 = 1;
    const PUNCH_HOLE: u64 = 2;
    const COLLAPSE_RANGE: u64 = 8;
    const ZERO_RANGE: u64 = 0x10;
    const INSERT_RANGE: u64 = 0x20;
    const UNSHARE_RANGE: u64 = 0x40;
    const WRITE_ZEROES: u64 = 0x80;
    let f = file(t, a[0])?;
    let (mode, off, len) = (a[1] as u32 as u64, a[2] as i64, a[3] as i64);
    if off < 0 || len <= 0 {
        return Err(Errno::EINVAL);
    }
    // The checks of Linux's vfs_fallocate, in its order.
    match mode & !KEEP_SIZE {
        0 | UNSHARE_RANGE | ZERO_RANGE => {}
        PUNCH_HOLE if mode & KEEP_SIZE != 0 => {}
        COLLAPSE_RANGE | INSERT_RANGE | WRITE_ZEROES if mode & KEEP_SIZE == 0 => {}
        _ => return Err(Errno::EOPNOTSUPP),
    }
    if !f.writable() {
        return Err(Errno::EBADF);
    }
    let inode = match &f.dentry {
        Some(d) => d.inode.clone(),
        None if f.ops.pipe().is_some() => return Err(Errno::ESPIPE),
        None => return Err(Errno::ENODEV),
    };
    match &inode.kind {
        vfs::Kind::File(_) => {}
        vfs::Kind::Fifo(_) => return Err(Errno::ESPIPE),
        vfs::Kind::Dir(_) | vfs::Kind::SynthDir(_) => return Err(Errno::EISDIR),
        _ => return Err(Errno::ENODEV),
    }
    let (off, len) = (off as u64, len as u64);
    let end = off.checked_add(len).ok_or(Errno::EFBIG)?;
    if end > i64::MAX as u64 {
        return Err(Errno::EFBIG);
    }
    match mode {
        0 | KEEP_SIZE => {
            if end > inode.size() {
                // tmpfs checks the file-size limit with KEEP_SIZE too.
                crate::file::fsize_grow_ok(t, inode.size(), end)?;
                if inode.seals().unwrap_or(0) & F_SEAL_GROW != 0 {
                    return Err(Errno::EPERM);
                }
                if mode == 0 {
                    f.ops.truncate(&f, end)?;
                }
            }
            Ok(0)
        }
        m if m == PUNCH_HOLE | KEEP_SIZE => {
            let s = inode.seals().unwrap_or(0);
            if s & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE) != 0 {
                return Err(Errno::EPERM);
            }
            // A file open for writing has its data in memory (copied
            // up), or on the host when writes go through.
            match inode.mem_object() {
                Some(o) => o.punch(off, len),
                None => f.ops.punch(&f, off, len)?,
            }
            inode.touch_modified();
            Ok(0)
        }
        // tmpfs (every file here is in memory) has nothing else.
        _ => Err(Errno::EOPNOTSUPP),
    }
}
