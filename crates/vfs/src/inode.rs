//! Inodes: metadata plus what kind of object the node is.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use abi::fs::*;
use abi::time::Timespec;
use abi::{Errno, SysResult};
use mm::MemObject;

use crate::dentry::Dentry;
use crate::dev::DeviceKind;
use crate::pipe::Pipe;
use crate::synth::{SynthDir, SynthFile, SynthLink};

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

static NEXT_INO: AtomicU64 = AtomicU64::new(1 << 40);

/// A fresh inode number for objects that exist only in the sandbox.
pub fn next_ino() -> u64 {
    NEXT_INO.fetch_add(1, Ordering::Relaxed)
}

static NEXT_DEV: AtomicU64 = AtomicU64::new(0x40);

/// A fresh device number for a filesystem made while the sandbox runs
/// (a tmpfs, a volume), above the fixed ones below.
pub fn next_dev() -> u64 {
    NEXT_DEV.fetch_add(1, Ordering::Relaxed)
}

/// The current wall-clock time.
pub fn now() -> Timespec {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timespec {
        sec: d.as_secs() as i64,
        nsec: d.subsec_nanos() as i64,
    }
}

#[derive(Clone, Debug)]
pub struct Meta {
    /// File type and permission bits.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u64,
    pub rdev: u64,
    pub atime: Timespec,
    pub mtime: Timespec,
    pub ctime: Timespec,
}

impl Meta {
    pub fn new(mode: u32, uid: u32, gid: u32) -> Meta {
        let t = now();
        Meta {
            mode,
            uid,
            gid,
            nlink: 1,
            rdev: 0,
            atime: t,
            mtime: t,
            ctime: t,
        }
    }
}

/// Where a regular file's bytes are.
pub enum FileData {
    /// Still the host's (read-only lower layer): relative path and size.
    Host {
        path: String,
        size: u64,
        cache: Option<Arc<MemObject>>,
        /// A host descriptor kept for reuse by every open of this file.
        fd: Option<Arc<std::os::fd::OwnedFd>>,
        /// `fd` is open for writing too (writes go through to the host:
        /// `--overlay=none`).
        rw: bool,
    },
    /// In sandbox memory (created here, or copied up on first write).
    Mem(Arc<MemObject>),
}

/// A directory child slot. `Absent` records a name known not to exist (or
/// removed in the sandbox), so the host is not asked again. `Lazy` is a
/// host entry a listing named without its attributes (its `d_type` and
/// `d_ino`): its inode is made when it is first looked up, with that
/// inode number, so `getdents`' `d_ino` and `stat`'s `st_ino` agree.
#[derive(Clone)]
pub enum Child {
    Present(Arc<Dentry>),
    Absent,
    Lazy { dtype: u8, ino: u64 },
}

pub struct DirState {
    /// The host directory this one mirrors, if any.
    pub host: Option<String>,
    pub children: BTreeMap<Vec<u8>, Child>,
    /// All host entries have been loaded into `children` (some perhaps
    /// `Lazy`).
    pub complete: bool,
    /// Host round trips spent on single names of this directory: lookups
    /// before it was listed, `Lazy` entries loaded after. Past a
    /// threshold the whole directory is asked for in one exchange.
    pub lookups: u32,
}

pub enum Kind {
    Dir(Mutex<DirState>),
    File(Mutex<FileData>),
    Symlink(Vec<u8>),
    Device(DeviceKind),
    Fifo(Arc<Pipe>),
    Socket,
    SynthFile(Arc<dyn SynthFile>),
    SynthDir(Arc<dyn SynthDir>),
    SynthLink(Arc<dyn SynthLink>),
}

pub struct Inode {
    pub ino: u64,
    pub dev: u64,
    meta: Mutex<Meta>,
    pub kind: Kind,
    /// Extended attributes set in the sandbox (the host's are not mirrored).
    pub xattrs: Mutex<BTreeMap<Vec<u8>, Vec<u8>>>,
    /// Advisory locks.
    pub locks: crate::lock::Locks,
    /// Held by an `O_APPEND` write from finding the end to writing there,
    /// so concurrent appends through different open files never overlap
    /// (Linux holds the inode's `i_rwsem` across a write).
    pub appending: Mutex<()>,
    /// inotify watches and open-file count.
    pub notify: crate::inotify::InodeNotify,
    /// File seals (`F_ADD_SEALS`) with [`SEALABLE`] set on memfds, the
    /// only files here that take seals.
    seals: AtomicU32,
    /// Mounts whose root or mountpoint this is, in any namespace: while 0,
    /// a path walk need not ask the namespace (`mount.rs`).
    pub mounts: AtomicU32,
    /// The size-limited filesystem this inode's bytes count against, if
    /// any (set when it is made in one; see [`Space`]).
    pub space: OnceLock<Arc<Space>>,
    /// Bytes charged to `space` for this file.
    charged: AtomicU64,
}

impl Drop for Inode {
    fn drop(&mut self) {
        if let Some(sp) = self.space.get() {
            sp.release(*self.charged.get_mut());
        }
    }
}

/// `F_SEAL_*` bits.
pub const F_SEAL_SEAL: u32 = 1;
pub const F_SEAL_SHRINK: u32 = 2;
pub const F_SEAL_GROW: u32 = 4;
pub const F_SEAL_WRITE: u32 = 8;
pub const F_SEAL_FUTURE_WRITE: u32 = 0x10;
pub const F_SEAL_EXEC: u32 = 0x20;
const SEALS_KNOWN: u32 = 0x3f;
/// Marks an inode that takes seals.
const SEALABLE: u32 = 1 << 31;

/// The room of a size-limited filesystem (tmpfs `size=`), shared by its
/// files. A file is charged for its bytes up to the end of its last
/// write, in pages (holes below count), from when it grows until it
/// shrinks or its inode goes.
pub struct Space {
    /// Bytes, a multiple of the page size.
    pub limit: u64,
    used: AtomicU64,
}

impl Space {
    pub fn new(limit: u64) -> Arc<Space> {
        Arc::new(Space {
            limit: abi::page_up(limit).unwrap_or(!(abi::PAGE_SIZE - 1)),
            used: AtomicU64::new(0),
        })
    }

    /// Bytes charged.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Acquire)
    }

    /// Charges up to `want` bytes (pages); how many it got.
    fn reserve(&self, want: u64) -> u64 {
        let mut cur = self.used.load(Ordering::Acquire);
        loop {
            let got = want.min(self.limit.saturating_sub(cur));
            if got == 0 {
                return 0;
            }
            match self
                .used
                .compare_exchange(cur, cur + got, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return got,
                Err(now) => cur = now,
            }
        }
    }

    fn release(&self, n: u64) {
        self.used.fetch_sub(n, Ordering::AcqRel);
    }
}

/// Device numbers our filesystems report.
pub const DEV_ROOT: u64 = 0x2a;
pub const DEV_DEVFS: u64 = 0x05;
pub const DEV_PROC: u64 = 0x16;
pub const DEV_PIPE: u64 = 0x0c;
pub const DEV_SYSFS: u64 = 0x15;
pub const DEV_CGROUP: u64 = 0x1b;

impl Inode {
    pub fn new(ino: u64, dev: u64, meta: Meta, kind: Kind) -> Arc<Inode> {
        Arc::new(Inode {
            ino,
            dev,
            meta: Mutex::new(meta),
            kind,
            xattrs: Mutex::new(BTreeMap::new()),
            locks: Default::default(),
            appending: Mutex::new(()),
            notify: Default::default(),
            seals: AtomicU32::new(0),
            mounts: AtomicU32::new(0),
            space: OnceLock::new(),
            charged: AtomicU64::new(0),
        })
    }

    pub fn new_dir(dev: u64, mode: u32, host: Option<String>) -> Arc<Inode> {
        let complete = host.is_none();
        let mut m = Meta::new(S_IFDIR | (mode & 0o7777), 0, 0);
        m.nlink = 2;
        Inode::new(
            next_ino(),
            dev,
            m,
            Kind::Dir(Mutex::new(DirState {
                host,
                children: BTreeMap::new(),
                complete,
                lookups: 0,
            })),
        )
    }

    pub fn meta(&self) -> Meta {
        lock(&self.meta).clone()
    }

    pub fn update_meta<R>(&self, f: impl FnOnce(&mut Meta) -> R) -> R {
        f(&mut lock(&self.meta))
    }

    pub fn mode(&self) -> u32 {
        lock(&self.meta).mode
    }

    pub fn file_type(&self) -> u32 {
        self.mode() & S_IFMT
    }

    pub fn is_dir(&self) -> bool {
        self.file_type() == S_IFDIR
    }

    pub fn is_symlink(&self) -> bool {
        self.file_type() == S_IFLNK
    }

    /// Size in bytes as `stat` reports it.
    pub fn size(&self) -> u64 {
        match &self.kind {
            Kind::File(d) => match &*lock(d) {
                FileData::Host { size, .. } => *size,
                FileData::Mem(o) => o.len(),
            },
            Kind::Symlink(t) => t.len() as u64,
            Kind::Dir(_) => 4096,
            _ => 0,
        }
    }

    pub fn stat(&self) -> Stat {
        let m = self.meta();
        let size = self.size();
        Stat {
            dev: self.dev,
            ino: self.ino,
            nlink: m.nlink,
            mode: m.mode,
            uid: m.uid,
            gid: m.gid,
            rdev: m.rdev,
            size: size as i64,
            blksize: 4096,
            blocks: (size.div_ceil(4096) * 8) as i64,
            atime: m.atime,
            mtime: m.mtime,
            ctime: m.ctime,
            ..Default::default()
        }
    }

    /// The target of a plain symlink.
    pub fn symlink_target(&self) -> SysResult<Vec<u8>> {
        match &self.kind {
            Kind::Symlink(t) => Ok(t.clone()),
            Kind::SynthLink(l) => l.target().map(|t| t.text),
            _ => Err(Errno::EINVAL),
        }
    }

    /// The memory object holding a regular file's bytes, once they are in
    /// sandbox memory.
    pub fn mem_object(&self) -> Option<Arc<MemObject>> {
        match &self.kind {
            Kind::File(d) => match &*lock(d) {
                FileData::Mem(o) => Some(o.clone()),
                FileData::Host { .. } => None,
            },
            _ => None,
        }
    }

    /// What mappings of this file map: its memory, or a host file's page
    /// cache once one was made for a mapping.
    pub fn mapped_object(&self) -> Option<Arc<MemObject>> {
        match &self.kind {
            Kind::File(d) => match &*lock(d) {
                FileData::Mem(o) => Some(o.clone()),
                FileData::Host { cache, .. } => cache.clone(),
            },
            _ => None,
        }
    }

    /// Lets the inode take seals, starting with `initial` (a memfd).
    pub fn make_sealable(&self, initial: u32) {
        self.seals.store(SEALABLE | initial, Ordering::Relaxed);
    }

    /// `F_GET_SEALS`: `EINVAL` for files that take no seals.
    pub fn seals(&self) -> SysResult<u32> {
        let s = self.seals.load(Ordering::Acquire);
        if s & SEALABLE == 0 {
            return Err(Errno::EINVAL);
        }
        Ok(s & !SEALABLE)
    }

    /// `F_ADD_SEALS` after the caller checked the file is writable and,
    /// for a new `F_SEAL_WRITE`, that nothing maps it shared writable.
    pub fn add_seals(&self, add: u32) -> SysResult<()> {
        if add & !SEALS_KNOWN != 0 {
            return Err(Errno::EINVAL);
        }
        let cur = self.seals()?;
        if cur & F_SEAL_SEAL != 0 {
            return Err(Errno::EPERM);
        }
        self.seals.fetch_or(add, Ordering::AcqRel);
        Ok(())
    }

    /// How much of a write of `len` bytes at `off` the seals allow:
    /// `EPERM` under a write seal; under `F_SEAL_GROW`, Linux writes page
    /// by page and stops at the first page piece that would end past the
    /// end of the file.
    pub fn check_write(&self, off: u64, len: u64) -> SysResult<u64> {
        let len = self.charge(off, len)?;
        let s = self.seals.load(Ordering::Acquire);
        if s & SEALABLE == 0 {
            return Ok(len);
        }
        if s & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE) != 0 {
            return Err(Errno::EPERM);
        }
        let size = self.size();
        if s & F_SEAL_GROW != 0 && off.saturating_add(len) > size {
            let ok = (size & !(abi::PAGE_SIZE - 1)).saturating_sub(off);
            if ok == 0 {
                return Err(Errno::EPERM);
            }
            return Ok(ok.min(len));
        }
        Ok(len)
    }

    /// On a size-limited filesystem: charges what a write of `len` bytes
    /// at `off` grows the file by; how many of them fit (`ENOSPC` when
    /// none does).
    fn charge(&self, off: u64, len: u64) -> SysResult<u64> {
        let Some(sp) = self.space.get() else {
            return Ok(len);
        };
        if len == 0 {
            return Ok(0);
        }
        let want = abi::page_up(off.saturating_add(len)).ok_or(Errno::EFBIG)?;
        loop {
            let cur = self.charged.load(Ordering::Acquire);
            if want <= cur {
                return Ok(len);
            }
            let got = sp.reserve(want - cur);
            if self
                .charged
                .compare_exchange(cur, cur + got, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
            {
                sp.release(got);
                continue;
            }
            let room = (cur + got).saturating_sub(off);
            return match room.min(len) {
                0 => Err(Errno::ENOSPC),
                n => Ok(n),
            };
        }
    }

    /// The file was cut to `len` bytes: what it was charged beyond goes
    /// back to its filesystem.
    pub fn uncharge_to(&self, len: u64) {
        let Some(sp) = self.space.get() else {
            return;
        };
        let keep = abi::page_up(len).unwrap_or(u64::MAX);
        let mut cur = self.charged.load(Ordering::Acquire);
        while cur > keep {
            match self
                .charged
                .compare_exchange(cur, keep, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    sp.release(cur - keep);
                    return;
                }
                Err(now) => cur = now,
            }
        }
    }

    /// Seals a change of size to `new` breaks (`EPERM`).
    pub fn check_resize(&self, new: u64) -> SysResult<()> {
        let s = self.seals.load(Ordering::Acquire);
        if s & SEALABLE == 0 {
            return Ok(());
        }
        let old = self.size();
        if (new < old && s & F_SEAL_SHRINK != 0) || (new > old && s & F_SEAL_GROW != 0) {
            return Err(Errno::EPERM);
        }
        Ok(())
    }

    /// Whether an access now moves atime under Linux's `relatime` rule
    /// (`relatime_need_update`): atime is not newer than mtime or ctime,
    /// or is a day old. Cheap enough for every read: one lock of this
    /// inode's metadata and no host call when nothing changed since.
    pub fn atime_due(&self, now: Timespec) -> bool {
        let m = lock(&self.meta);
        let key = |t: Timespec| (t.sec, t.nsec);
        key(m.atime) <= key(m.mtime)
            || key(m.atime) <= key(m.ctime)
            || now.sec - m.atime.sec >= 24 * 60 * 60
    }

    /// Marks a modification (write, truncate).
    pub fn touch_modified(&self) {
        let t = now();
        self.update_meta(|m| {
            m.mtime = t;
            m.ctime = t;
        });
    }
}

/// Checks `want` (`R_OK|W_OK|X_OK` bits) for a caller against a mode:
/// the owner, group or other bits (the first class that matches), then
/// the capabilities that override them.
pub fn may_access(meta: &Meta, creds: &crate::Creds, want: u32) -> bool {
    let bits = if meta.uid == creds.uid {
        (meta.mode >> 6) & 7
    } else if meta.gid == creds.gid || creds.groups.contains(&meta.gid) {
        (meta.mode >> 3) & 7
    } else {
        meta.mode & 7
    };
    if bits & want == want {
        return true;
    }
    let is_dir = meta.mode & S_IFMT == S_IFDIR;
    // Even root may not execute a file nobody may execute.
    if creds.dac_override && (want & X_OK == 0 || is_dir || meta.mode & 0o111 != 0) {
        return true;
    }
    let readable = if is_dir { R_OK | X_OK } else { R_OK };
    creds.dac_read_search && want & !readable == 0
}
