//! Memory-management syscalls.

use abi::fs::{O_ACCMODE, O_RDWR, O_WRONLY};
use abi::mman::*;
use abi::{Errno, SysResult, PAGE_SIZE};
use kernel::Task;
use mm::manager::Backing;
use mm::{MapRequest, MemObject, VmaName};

use crate::util::file_io;

pub fn mmap(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (addr, len, prot, flags, fd, off) =
        (a[0], a[1], a[2] as u32, a[3] as u32, a[4] as i32, a[5]);
    if len == 0 || off % PAGE_SIZE != 0 {
        return Err(Errno::EINVAL);
    }
    let kind = flags & MAP_TYPE;
    if kind != MAP_SHARED && kind != MAP_PRIVATE && kind != MAP_SHARED_VALIDATE {
        return Err(Errno::EINVAL);
    }
    if prot & !(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_GROWSDOWN | PROT_GROWSUP) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & MAP_HUGETLB != 0 {
        return Err(Errno::EINVAL);
    }
    let prot = prot & (PROT_READ | PROT_WRITE | PROT_EXEC);
    let shared = kind != MAP_PRIVATE;
    let len_up = abi::page_up(len).ok_or(Errno::ENOMEM)?;
    let (backing, may_write, name) = if flags & MAP_ANONYMOUS != 0 {
        if shared {
            let obj = std::sync::Arc::new(MemObject::new(t.kernel.mf.clone(), len_up));
            (Some(Backing { obj, offset: 0 }), true, VmaName::Anon)
        } else {
            (None, true, VmaName::Anon)
        }
    } else {
        let f = file_io(t, fd as u64)?;
        let acc = f.flags() & O_ACCMODE;
        if !f.readable() {
            return Err(Errno::EACCES);
        }
        if shared && prot & PROT_WRITE != 0 && acc != O_RDWR {
            return Err(Errno::EACCES);
        }
        let unsealed = if shared {
            crate::memfd::check_shared_map(&f, prot & PROT_WRITE != 0)?
        } else {
            true
        };
        let obj = f.ops.mappable(&f)?;
        // Secret memory (memfd_secret) is shared memory only.
        if obj.secret() && !shared {
            return Err(Errno::EINVAL);
        }
        let d = f.dentry.clone();
        let name = match (&d, f.ops.anon_name()) {
            // The path as the mapping process sees it (after a chroot,
            // from its root), as Linux's maps shows it to that process.
            (Some(d), _) => VmaName::File {
                path: String::from_utf8_lossy(&d.path_under(&t.fs().root).0).into_owned(),
                dev: d.inode.dev,
                ino: d.inode.ino,
            },
            // A file without a path that names itself (a secretmem file).
            (None, Some(n)) => {
                let st = f.stat()?;
                VmaName::File {
                    path: String::from_utf8_lossy(&n).into_owned(),
                    dev: st.dev,
                    ino: st.ino,
                }
            }
            (None, None) => VmaName::Anon,
        };
        (
            Some(Backing { obj, offset: off }),
            unsealed && (acc == O_RDWR || (acc == O_WRONLY && !shared)),
            name,
        )
    };
    let r = t.mm().mmap(MapRequest {
        addr,
        len,
        prot,
        flags,
        backing,
        may_write: may_write || !shared,
        name,
    })?;
    if flags & MAP_POPULATE != 0 {
        let mm = t.mm.clone();
        kernel::task::lock(&mm).populate(&mut *t.ctx, r, len_up);
    }
    Ok(r)
}

/// `remap_file_pages`: deprecated in Linux, which emulates it with an
/// `mmap` of the same object over the range (prot must be 0; flags other
/// than `MAP_NONBLOCK` are ignored).
pub fn remap_file_pages(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (start, size, prot, pgoff) = (a[0], a[1], a[2], a[3]);
    if prot != 0 {
        return Err(Errno::EINVAL);
    }
    let (addr, len) = t.mm().remap_file_pages(start, size, pgoff)?;
    if a[4] & MAP_NONBLOCK as u64 == 0 {
        let mm = t.mm.clone();
        kernel::task::lock(&mm).populate(&mut *t.ctx, addr, len);
    }
    Ok(0)
}

pub fn munmap(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    t.mm().munmap(a[0], a[1]).map(|_| 0)
}

pub fn mprotect(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    t.mm().mprotect(a[0], a[1], a[2] as u32).map(|_| 0)
}

pub fn brk(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    Ok(t.mm().brk(a[0]))
}

pub fn mremap(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    t.mm().mremap(a[0], a[1], a[2], a[3] as u32, a[4])
}

pub fn madvise(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    t.mm().madvise(a[0], a[1], a[2] as i32).map(|_| 0)
}

pub fn msync(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    t.mm().msync(a[0], a[1], a[2] as i32).map(|_| 0)
}

pub fn mincore(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let v = t.mm().mincore(a[0], a[1])?;
    t.mm().copy_out(a[2], &v).map(|_| 0)
}

/// `mlock` and friends: memory is never swapped out here, so the pages are
/// made resident and the call succeeds.
pub fn mlock(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    if !a[0].is_multiple_of(PAGE_SIZE) && a[1] == 0 {
        return Ok(0);
    }
    let start = abi::page_down(a[0]);
    let end = abi::page_up(a[0].saturating_add(a[1])).ok_or(Errno::ENOMEM)?;
    t.mm().mincore(start, end - start)?;
    Ok(0)
}

pub fn munlock(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    mlock(t, a)
}

pub fn mlockall(_t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    if a[0] == 0 || a[0] & !7 != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

pub fn munlockall(_t: &mut Task, _a: [u64; 6]) -> SysResult<u64> {
    Ok(0)
}
