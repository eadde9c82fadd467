//! System V shared memory: segments are memory objects ([`MemObject`])
//! that `shmat` maps shared, like a shared anonymous mapping.
//!
//! Attachments are counted the way Linux counts them, one per mapping:
//! every VMA of an attachment holds a clone of the segment's one
//! [`Attachment`] (a fork copies the VMA and the clone, `munmap`, exit and
//! exec drop them), so `shm_nattch` is that object's reference count, and
//! the last one dropped destroys a segment already marked with
//! `IPC_RMID`.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, Weak};

use abi::ipc::*;
use abi::mman::*;
use abi::{Errno, SysResult, PAGE_SIZE};
use mm::manager::Backing;
use mm::{MapRequest, Mappable, MemObject, MemoryManager, VmaName};

use super::{ids, now_secs, Cred, IpcNamespace, Perm};
use crate::task::lock;

pub struct Segment {
    pub id: i32,
    pub size: u64,
    obj: Arc<MemObject>,
    state: Mutex<ShmState>,
    ns: Weak<IpcNamespace>,
}

struct ShmState {
    perm: Perm,
    atime: i64,
    dtime: i64,
    ctime: i64,
    cpid: i32,
    lpid: i32,
    /// The attachment every mapping of the segment shares; its strong
    /// count is `shm_nattch`.
    attach: Weak<Attachment>,
    /// `IPC_RMID` done: destroyed when the last attachment goes.
    dest: bool,
    /// Destroyed: out of the registry.
    gone: bool,
}

impl Segment {
    fn st(&self) -> std::sync::MutexGuard<'_, ShmState> {
        lock(&self.state)
    }

    pub fn perm(&self) -> Perm {
        self.st().perm
    }

    pub fn nattch(&self) -> u64 {
        self.st().attach.strong_count() as u64
    }

    fn pages(&self) -> u64 {
        self.size.div_ceil(PAGE_SIZE)
    }

    /// `struct shmid64_ds`.
    pub fn stat(&self) -> ShmidDs {
        let s = self.st();
        ShmidDs {
            perm: s.perm.to_abi(),
            segsz: self.size,
            atime: s.atime,
            dtime: s.dtime,
            ctime: s.ctime,
            cpid: s.cpid,
            lpid: s.lpid,
            nattch: s.attach.strong_count() as u64,
            unused: [0; 2],
        }
    }

    /// Takes the segment out of its namespace (idempotent).
    fn destroy(self: &Arc<Segment>) {
        let key = {
            let mut s = self.st();
            if s.gone {
                return;
            }
            s.gone = true;
            s.perm.key
        };
        if let Some(ns) = self.ns.upgrade() {
            if ids(&ns.shm).remove(self.id, key, self) {
                ns.shm_pages.fetch_sub(self.pages(), Ordering::Relaxed);
            }
        }
    }
}

/// What the VMAs of a segment's attachments map.
pub struct Attachment {
    seg: Arc<Segment>,
}

impl Mappable for Attachment {
    fn translate(&self, offset: u64) -> Result<(u64, u64), Errno> {
        self.seg.obj.translate(offset)
    }

    fn contiguous_before(&self, offset: u64) -> u64 {
        self.seg.obj.contiguous_before(offset)
    }

    fn size(&self) -> u64 {
        self.seg.size
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

impl Drop for Attachment {
    /// The last mapping went: a segment marked for destruction goes too.
    fn drop(&mut self) {
        let dest = {
            let mut s = self.seg.st();
            s.dtime = now_secs();
            s.dest
        };
        if dest {
            self.seg.destroy();
        }
    }
}

/// `shmget`.
pub fn shmget(ns: &Arc<IpcNamespace>, c: &Cred, key: i32, size: u64, flags: i32) -> SysResult<i32> {
    let mut reg = ids(&ns.shm);
    if let Some(id) = reg.lookup(key, flags, c, |s| s.perm(), |s| size <= s.size)? {
        return Ok(id);
    }
    let max = ns.limits.shmmax.load(Ordering::Relaxed);
    if size < 1 || size > max {
        return Err(Errno::EINVAL);
    }
    if flags & SHM_HUGETLB != 0 {
        // No huge pages are reserved here, as on a host whose
        // vm.nr_hugepages is 0.
        return Err(Errno::ENOMEM);
    }
    let pages = size.div_ceil(PAGE_SIZE);
    let all = ns.limits.shmall.load(Ordering::Relaxed);
    let tot = ns.shm_pages.load(Ordering::Relaxed);
    if tot.checked_add(pages).is_none_or(|t| t > all) {
        return Err(Errno::ENOSPC);
    }
    let mni = super::Limits::get(&ns.limits.shmmni).max(0) as u32;
    let (id, seq) = reg.alloc(mni)?;
    let now = now_secs();
    let seg = Arc::new(Segment {
        id,
        size,
        obj: Arc::new(MemObject::new(ns.mf.clone(), size)),
        state: Mutex::new(ShmState {
            perm: Perm::new(key, seq, flags as u32, c),
            atime: 0,
            dtime: 0,
            ctime: now,
            cpid: c.pid,
            lpid: 0,
            attach: Weak::new(),
            dest: false,
            gone: false,
        }),
        ns: Arc::downgrade(ns),
    });
    reg.insert(id, key, seg);
    ns.shm_pages.fetch_add(pages, Ordering::Relaxed);
    Ok(id)
}

/// `shmat`: maps the segment into `mm`; returns the address.
pub fn shmat(
    ns: &IpcNamespace,
    c: &Cred,
    mm: &mut MemoryManager,
    id: i32,
    addr: u64,
    flags: i32,
) -> SysResult<u64> {
    let mut addr = addr;
    let mut map_flags = MAP_SHARED;
    if addr != 0 {
        if !addr.is_multiple_of(PAGE_SIZE) {
            if flags & SHM_RND == 0 {
                return Err(Errno::EINVAL);
            }
            addr &= !(PAGE_SIZE - 1);
            if addr == 0 && flags & SHM_REMAP != 0 {
                return Err(Errno::EINVAL);
            }
        }
        map_flags |= if flags & SHM_REMAP != 0 {
            MAP_FIXED
        } else {
            MAP_FIXED_NOREPLACE
        };
    } else if flags & SHM_REMAP != 0 {
        return Err(Errno::EINVAL);
    }
    let (mut prot, mut want) = if flags & SHM_RDONLY != 0 {
        (PROT_READ, 0o444)
    } else {
        (PROT_READ | PROT_WRITE, 0o666)
    };
    if flags & SHM_EXEC != 0 {
        prot |= PROT_EXEC;
        want |= 0o111;
    }
    let seg = ids(&ns.shm).get(id)?.clone();
    // The attachment is made under the segment's lock, so a concurrent
    // last detach cannot destroy the segment in between.
    let att = {
        let mut s = seg.st();
        if s.gone {
            return Err(Errno::EIDRM);
        }
        s.perm.check(c, want)?;
        let att = s
            .attach
            .upgrade()
            .unwrap_or_else(|| Arc::new(Attachment { seg: seg.clone() }));
        s.attach = Arc::downgrade(&att);
        att
    };
    let name = VmaName::File {
        path: format!("/SYSV{:08x} (deleted)", seg.perm().key as u32),
        dev: 1,
        ino: seg.id as u64,
    };
    let r = mm.mmap(MapRequest {
        addr,
        len: seg.size,
        prot,
        flags: map_flags,
        backing: Some(Backing {
            obj: att.clone(),
            offset: 0,
        }),
        may_write: flags & SHM_RDONLY == 0,
        name,
    });
    let at = match r {
        Ok(a) => a,
        // Linux refuses an attach over existing mappings without
        // SHM_REMAP with EINVAL.
        Err(Errno::EEXIST) => return Err(Errno::EINVAL),
        Err(e) => return Err(e),
    };
    {
        let mut s = seg.st();
        s.atime = now_secs();
        s.lpid = c.pid;
    }
    drop(att);
    Ok(at)
}

/// `shmdt`: unmaps the attachment that starts at `addr` (all of its
/// mappings, as Linux finds them: same segment, same offset from `addr`).
pub fn shmdt(c: &Cred, mm: &mut MemoryManager, addr: u64) -> SysResult<()> {
    if !addr.is_multiple_of(PAGE_SIZE) {
        return Err(Errno::EINVAL);
    }
    let seg_of = |b: &Backing| -> Option<Arc<Segment>> {
        let any = b.obj.as_any()?;
        any.downcast_ref::<Attachment>().map(|a| a.seg.clone())
    };
    let maps = mm.backings_from(addr);
    let mut found: Option<(Arc<Segment>, u64)> = None;
    let mut unmap = Vec::new();
    for (start, end, b) in &maps {
        let Some(seg) = seg_of(b) else { continue };
        let origin_ok = start.checked_sub(b.offset) == Some(addr);
        match &found {
            None => {
                if origin_ok {
                    let size = abi::page_up(seg.size).unwrap_or(u64::MAX);
                    unmap.push((*start, *end));
                    found = Some((seg, size));
                }
            }
            Some((s, size)) => {
                if end - addr > *size {
                    break;
                }
                if origin_ok && Arc::ptr_eq(s, &seg) {
                    unmap.push((*start, *end));
                }
            }
        }
    }
    let Some((seg, _)) = found else {
        return Err(Errno::EINVAL);
    };
    drop(maps);
    {
        let mut s = seg.st();
        s.lpid = c.pid;
        s.dtime = now_secs();
    }
    drop(seg);
    for (s, e) in unmap {
        mm.munmap(s, e - s)?;
    }
    Ok(())
}

/// `shmctl(IPC_RMID)`: destroyed now if nothing is attached, else when the
/// last attachment goes; the key is free at once.
pub fn rmid(ns: &IpcNamespace, c: &Cred, id: i32) -> SysResult<()> {
    let mut reg = ids(&ns.shm);
    let seg = reg.get(id)?.clone();
    let now_empty = {
        let mut s = seg.st();
        s.perm.check_owner(c)?;
        reg.forget_key(s.perm.key);
        s.perm.key = IPC_PRIVATE;
        s.perm.mode |= SHM_DEST;
        s.dest = true;
        s.attach.strong_count() == 0
    };
    drop(reg);
    if now_empty {
        seg.destroy();
    }
    Ok(())
}

/// `shmctl(IPC_SET)`.
pub fn set(ns: &IpcNamespace, c: &Cred, id: i32, ds: &ShmidDs) -> SysResult<()> {
    let seg = ids(&ns.shm).get(id)?.clone();
    let mut s = seg.st();
    s.perm.check_owner(c)?;
    s.perm.set(&ds.perm);
    s.ctime = now_secs();
    Ok(())
}

/// `shmctl(SHM_LOCK/SHM_UNLOCK)`: memory is never swapped out here, so
/// only the `SHM_LOCKED` status bit moves.
pub fn lock_segment(
    ns: &IpcNamespace,
    c: &Cred,
    id: i32,
    on: bool,
    cap_lock: bool,
) -> SysResult<()> {
    let seg = ids(&ns.shm).get(id)?.clone();
    let mut s = seg.st();
    if !cap_lock && c.euid != s.perm.uid && c.euid != s.perm.cuid {
        return Err(Errno::EPERM);
    }
    if on {
        s.perm.mode |= SHM_LOCKED;
    } else {
        s.perm.mode &= !SHM_LOCKED;
    }
    Ok(())
}

/// `IPC_STAT` / `SHM_STAT` / `SHM_STAT_ANY`: the segment's state and, for
/// the `*_STAT` forms (`by_index`), its id.
pub fn stat(
    ns: &IpcNamespace,
    c: &Cred,
    id: i32,
    by_index: bool,
    any: bool,
) -> SysResult<(i32, ShmidDs)> {
    let reg = ids(&ns.shm);
    let (id, seg) = if by_index {
        let (id, s) = reg.by_index(id)?;
        (id, s.clone())
    } else {
        (id, reg.get(id)?.clone())
    };
    drop(reg);
    if !any {
        seg.perm().check(c, 0o444)?;
    }
    Ok((id, seg.stat()))
}

/// `IPC_INFO`: the limits, and the highest index in use.
pub fn info(ns: &IpcNamespace) -> (ShmInfo64, i32) {
    let l = &ns.limits;
    let i = ShmInfo64 {
        shmmax: l.shmmax.load(Ordering::Relaxed),
        shmmin: 1,
        shmmni: super::Limits::get(&l.shmmni) as u64,
        shmseg: super::Limits::get(&l.shmmni) as u64,
        shmall: l.shmall.load(Ordering::Relaxed),
        unused: [0; 4],
    };
    (i, ids(&ns.shm).max_index() as i32)
}

/// `SHM_INFO`: what is in use. Pages are counted as allocated when the
/// segment is made (`shm_rss` = `shm_tot`), nothing is ever swapped.
pub fn usage(ns: &IpcNamespace) -> (ShmUsage, i32) {
    let reg = ids(&ns.shm);
    let tot = ns.shm_pages.load(Ordering::Relaxed);
    let u = ShmUsage {
        used_ids: reg.in_use() as i32,
        shm_tot: tot,
        shm_rss: tot,
        ..Default::default()
    };
    (u, reg.max_index() as i32)
}
