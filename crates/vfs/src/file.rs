//! Open file descriptions and the operations behind them.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use abi::fs::*;
use abi::{Errno, SysResult};
use mm::{Mappable, MemoryManager};
use waiter::Queue;

use crate::dentry::Dentry;
use crate::inode::lock;
use crate::pipe::Pipe;

/// What an open file can do. Operations never block: one that would
/// returns `EAGAIN`, and the syscall layer waits on [`FileOps::queue`].
pub trait FileOps: Send + Sync {
    /// Reads at `off` (ignored by stream files).
    fn read(&self, _f: &File, _buf: &mut [u8], _off: u64) -> SysResult<usize> {
        Err(Errno::EINVAL)
    }
    fn write(&self, _f: &File, _buf: &[u8], _off: u64) -> SysResult<usize> {
        Err(Errno::EINVAL)
    }
    /// Whether the file has a position (`lseek`, `pread` work).
    fn seekable(&self) -> bool {
        false
    }
    /// Size for `SEEK_END`.
    fn size(&self) -> u64 {
        0
    }
    fn stat(&self, f: &File) -> SysResult<Stat>;
    /// Current readiness, `poll` bits.
    fn readiness(&self) -> u32 {
        waiter::events::IN | waiter::events::OUT | waiter::events::RDNORM | waiter::events::WRNORM
    }
    /// Where to wait for readiness changes; `None` means always ready.
    fn queue(&self) -> Option<&Queue> {
        None
    }
    /// The file status flags changed (`F_SETFL`, `FIONBIO`): for files
    /// whose readiness depends on them.
    fn flags_changed(&self, _flags: u32) {}
    fn ioctl(&self, _f: &File, _cmd: u32, _arg: u64, _mm: &mut MemoryManager) -> SysResult<u64> {
        Err(Errno::ENOTTY)
    }
    /// Directory entries from the file position on, as `linux_dirent64`
    /// records fitting in `max` bytes; advances the position.
    fn getdents(&self, _f: &File, _max: usize) -> SysResult<Vec<u8>> {
        Err(Errno::ENOTDIR)
    }
    fn mappable(&self, _f: &File) -> SysResult<Arc<dyn Mappable>> {
        Err(Errno::ENODEV)
    }
    fn truncate(&self, _f: &File, _len: u64) -> SysResult<()> {
        Err(Errno::EINVAL)
    }
    fn fsync(&self, _f: &File) -> SysResult<()> {
        Ok(())
    }
    /// `fallocate(PUNCH_HOLE | KEEP_SIZE)` of a file whose data is not
    /// a memory object (a host file written through).
    fn punch(&self, _f: &File, _off: u64, _len: u64) -> SysResult<()> {
        Err(Errno::EBADF)
    }
    /// Devices whose position never moves (`/dev/null`, `/dev/zero`):
    /// every seek succeeds and reports this offset.
    fn fixed_position(&self) -> Option<u64> {
        None
    }
    /// Whether `SEEK_END` is allowed (Linux's `seq_lseek` for /proc files
    /// and tmpfs's directories refuse it).
    fn seek_end_ok(&self) -> bool {
        true
    }
    /// `SEEK_DATA`/`SEEK_HOLE` and other whence values beyond SET/CUR/END.
    fn seek_special(&self, _f: &File, _off: i64, _whence: i32) -> SysResult<u64> {
        Err(Errno::EINVAL)
    }
    /// Name for `/proc/pid/fd` of files without a path (`pipe:[N]`).
    fn anon_name(&self) -> Option<Vec<u8>> {
        None
    }
    /// A read that would block gives up at this time (a terminal's
    /// `VTIME`); `started`: when the read began.
    fn read_deadline(&self, _started: std::time::Instant) -> Option<std::time::Instant> {
        None
    }
    /// The read once its deadline passed: what there is, maybe nothing.
    fn read_expired(&self, _f: &File, _buf: &mut [u8]) -> SysResult<usize> {
        Ok(0)
    }
    /// A write that would block gives up at this time (`EAGAIN`, or what
    /// it wrote by then: a socket's `SO_SNDTIMEO`).
    fn write_deadline(&self, _started: std::time::Instant) -> Option<std::time::Instant> {
        None
    }
    /// The pipe behind this file, if it is one (`F_GETPIPE_SZ`).
    fn pipe(&self) -> Option<&Arc<Pipe>> {
        None
    }
    /// The host descriptor behind a passthrough file.
    fn host_fd(&self) -> Option<i32> {
        None
    }
    /// A regular file whose bytes are, right now, exactly a host file's
    /// (no memory copy, no page cache of mappings in between): the host
    /// descriptor to read it with (`write`: to write it through, as
    /// `--overlay=none` does) and the file's size, so a transfer can go
    /// between the host file and application memory in one host call
    /// ([`File::read_host`], [`File::write_host`]). `None` otherwise.
    fn host_data(&self, _write: bool) -> Option<(i32, u64)> {
        None
    }
    /// After [`File::write_host`] wrote `n` bytes at `off` of the host
    /// file: the size and times it changed.
    fn host_written(&self, _off: u64, _n: usize) {}
    /// For syscalls that act only on one kind of file (`signalfd4` on an
    /// existing signalfd): the concrete object.
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        None
    }
}

/// Who gets a file's signal-driven notifications (`struct
/// fown_struct`): `F_SETOWN(_EX)`'s thread, process or process group
/// (`kind`: `F_OWNER_TID`, `F_OWNER_PID`, `F_OWNER_PGRP`; `id` 0 for
/// none) and `F_SETSIG`'s signal (0: `SIGIO`).
#[derive(Clone, Copy, Debug)]
pub struct Fown {
    pub kind: i32,
    pub id: i32,
    pub sig: i32,
}

pub const F_OWNER_TID: i32 = 0;
pub const F_OWNER_PID: i32 = 1;
pub const F_OWNER_PGRP: i32 = 2;

impl Default for Fown {
    fn default() -> Fown {
        Fown {
            kind: F_OWNER_PID,
            id: 0,
            sig: 0,
        }
    }
}

impl Fown {
    /// `F_GETOWN`'s answer: a process group as its negated ID.
    pub fn getown(&self) -> i32 {
        if self.kind == F_OWNER_PGRP {
            -self.id
        } else {
            self.id
        }
    }
}

/// An open file description: shared by `dup`ed descriptors and across
/// `fork`.
pub struct File {
    pub dentry: Option<Arc<Dentry>>,
    flags: AtomicU32,
    pub pos: Mutex<u64>,
    pub ops: Box<dyn FileOps>,
    /// Landlock denied `TRUNCATE` when this file was opened: `ftruncate`
    /// through it fails (rights are fixed at open, as Linux's).
    no_truncate: std::sync::atomic::AtomicBool,
    pub fown: Mutex<Fown>,
    /// Signal-driven I/O's registration on the file's queue
    /// ([`crate::fasync`]).
    pub(crate) fasync: Mutex<Option<u64>>,
    /// Raises no notification events (a descriptor fanotify opened for
    /// an event, Linux's `FMODE_NONOTIFY`).
    nonotify: std::sync::atomic::AtomicBool,
    /// Locks of a file with neither a dentry nor a pipe (a socket: its
    /// inode is its own, so one description holds its only locks).
    own_locks: std::sync::OnceLock<Box<crate::lock::Locks>>,
}

impl File {
    pub fn new(dentry: Option<Arc<Dentry>>, flags: u32, ops: Box<dyn FileOps>) -> Arc<File> {
        if let Some(d) = &dentry {
            crate::inotify::opened(d);
        }
        Arc::new(File {
            dentry,
            flags: AtomicU32::new(flags & !O_CLOEXEC),
            pos: Mutex::new(0),
            ops,
            no_truncate: std::sync::atomic::AtomicBool::new(false),
            fown: Mutex::new(Fown::default()),
            fasync: Mutex::new(None),
            nonotify: std::sync::atomic::AtomicBool::new(false),
            own_locks: std::sync::OnceLock::new(),
        })
    }

    /// Marks the file as raising no notification events.
    pub fn set_nonotify(&self) {
        self.nonotify
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn nonotify(&self) -> bool {
        self.nonotify.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Status flags (`O_APPEND`, `O_NONBLOCK`, access mode ...).
    pub fn flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }

    /// `F_SETFL`: only the changeable flags move.
    pub fn set_flags(&self, flags: u32) {
        let old = self.flags();
        let new = (old & !SETFL_MASK) | (flags & SETFL_MASK);
        self.flags.store(new, Ordering::Relaxed);
        self.ops.flags_changed(new);
    }

    /// Whether Landlock lets this open file be truncated (`ftruncate`).
    pub fn may_truncate(&self) -> bool {
        !self.no_truncate.load(Ordering::Relaxed)
    }

    pub(crate) fn deny_truncate(&self) {
        self.no_truncate.store(true, Ordering::Relaxed);
    }

    pub fn readable(&self) -> bool {
        let acc = self.flags() & O_ACCMODE;
        self.flags() & O_PATH == 0 && (acc == O_RDONLY || acc == O_RDWR)
    }

    pub fn writable(&self) -> bool {
        let acc = self.flags() & O_ACCMODE;
        self.flags() & O_PATH == 0 && (acc == O_WRONLY || acc == O_RDWR)
    }

    pub fn nonblocking(&self) -> bool {
        self.flags() & O_NONBLOCK != 0
    }

    /// `read(2)`: at and advancing the position for seekable files.
    pub fn read(&self, buf: &mut [u8]) -> SysResult<usize> {
        if !self.readable() {
            return Err(Errno::EBADF);
        }
        if self.ops.seekable() {
            let mut pos = lock(&self.pos);
            let n = self.ops.read(self, buf, *pos)?;
            *pos += n as u64;
            drop(pos);
            self.accessed(n, buf.is_empty());
            Ok(n)
        } else {
            let n = self.ops.read(self, buf, 0)?;
            self.accessed(n, buf.is_empty());
            Ok(n)
        }
    }

    /// The file's atime (`O_NOATIME` keeps it; as Linux's
    /// `filemap_read`, a read at the end of the file counts, one of no
    /// bytes does not), and `IN_ACCESS` after a read that got something.
    pub fn accessed(&self, n: usize, empty: bool) {
        if let Some(d) = &self.dentry {
            if !empty && self.flags() & O_NOATIME == 0 {
                crate::mount::accessed(d);
            }
        }
        if n > 0 {
            crate::inotify::file_event(self, crate::inotify::IN_ACCESS);
        }
    }

    /// `IN_MODIFY` after a write that put something.
    pub fn modified(&self, n: usize) {
        if n > 0 {
            crate::inotify::file_event(self, crate::inotify::IN_MODIFY);
        }
    }

    /// For an `O_APPEND` file, the inode's append lock (see
    /// [`crate::inode::Inode::appending`]).
    fn appending(&self) -> Option<std::sync::MutexGuard<'_, ()>> {
        if self.flags() & O_APPEND == 0 {
            return None;
        }
        self.dentry.as_ref().map(|d| lock(&d.inode.appending))
    }

    /// `write(2)`; `O_APPEND` writes at the end.
    pub fn write(&self, buf: &[u8]) -> SysResult<usize> {
        self.write_capped(buf, u64::MAX)
    }

    /// `write(2)` under a file-size limit (`RLIMIT_FSIZE`): see
    /// [`File::capped`].
    pub fn write_capped(&self, buf: &[u8], cap: u64) -> SysResult<usize> {
        if !self.writable() {
            return Err(Errno::EBADF);
        }
        if self.ops.seekable() {
            let mut pos = lock(&self.pos);
            let _appending = self.appending();
            if self.flags() & O_APPEND != 0 {
                *pos = self.ops.size();
            }
            let buf = self.capped(buf, *pos, cap)?;
            let n = self.ops.write(self, buf, *pos)?;
            *pos += n as u64;
            drop(pos);
            self.modified(n);
            Ok(n)
        } else {
            let n = self.ops.write(self, buf, 0)?;
            self.modified(n);
            Ok(n)
        }
    }

    /// Linux's `generic_write_check_limits`: a regular file is not
    /// written at or past `cap` (`EFBIG`; the caller sends `SIGXFSZ`),
    /// and a write crossing it is cut short there. Other files have no
    /// such limit.
    fn capped<'a>(&self, buf: &'a [u8], pos: u64, cap: u64) -> SysResult<&'a [u8]> {
        let regular = self
            .dentry
            .as_ref()
            .is_some_and(|d| matches!(d.inode.kind, crate::Kind::File(_)));
        if cap == u64::MAX || buf.is_empty() || !regular {
            return Ok(buf);
        }
        if pos >= cap {
            return Err(Errno::EFBIG);
        }
        Ok(&buf[..buf.len().min((cap - pos).min(usize::MAX as u64) as usize)])
    }

    pub fn pread(&self, buf: &mut [u8], off: u64) -> SysResult<usize> {
        if !self.readable() {
            return Err(Errno::EBADF);
        }
        if !self.ops.seekable() {
            return Err(Errno::ESPIPE);
        }
        let n = self.ops.read(self, buf, off)?;
        self.accessed(n, buf.is_empty());
        Ok(n)
    }

    pub fn pwrite(&self, buf: &[u8], off: u64) -> SysResult<usize> {
        self.pwrite_capped(buf, off, u64::MAX)
    }

    /// `pwrite(2)` under a file-size limit: see [`File::capped`].
    pub fn pwrite_capped(&self, buf: &[u8], off: u64, cap: u64) -> SysResult<usize> {
        if !self.writable() {
            return Err(Errno::EBADF);
        }
        if !self.ops.seekable() {
            return Err(Errno::ESPIPE);
        }
        // Linux appends even for pwrite on O_APPEND files.
        let _appending = self.appending();
        let off = if self.flags() & O_APPEND != 0 {
            self.ops.size()
        } else {
            off
        };
        let buf = self.capped(buf, off, cap)?;
        let n = self.ops.write(self, buf, off)?;
        self.modified(n);
        Ok(n)
    }

    /// `read(2)` (`at` `None`: at and advancing the position) or
    /// `pread(2)` of up to `len` bytes of a file whose data is a host
    /// file's ([`FileOps::host_data`]), moved by `io(fd, off, max)`: a
    /// host call on `fd` that reads at most `max` bytes at `off` straight
    /// into application memory and returns how many it read. `None`: the
    /// file is not such a file now, and the caller reads it into a buffer.
    pub fn read_host(
        &self,
        at: Option<u64>,
        len: usize,
        io: impl FnOnce(i32, u64, usize) -> SysResult<usize>,
    ) -> Option<SysResult<usize>> {
        if !self.readable() {
            return Some(Err(Errno::EBADF));
        }
        let (fd, size) = self.ops.host_data(false)?;
        let mut pos = at.is_none().then(|| lock(&self.pos));
        let off = at.unwrap_or_else(|| pos.as_deref().copied().unwrap_or(0));
        let max = (len as u64).min(size.saturating_sub(off)) as usize;
        let n = if max == 0 {
            0
        } else {
            match io(fd, off, max) {
                Ok(n) => n,
                Err(e) => return Some(Err(e)),
            }
        };
        if let Some(p) = pos.as_deref_mut() {
            *p = off + n as u64;
        }
        drop(pos);
        self.accessed(n, len == 0);
        Some(Ok(n))
    }

    /// `write(2)` (`at` `None`) or `pwrite(2)` of up to `len` bytes to a
    /// file that writes through to a host file ([`FileOps::host_data`]),
    /// moved by `io(fd, off, max)` straight from application memory, as
    /// [`File::read_host`]; `O_APPEND` and the file-size limit `cap` as
    /// [`File::write_capped`]. `None`: the caller copies through a buffer.
    pub fn write_host(
        &self,
        at: Option<u64>,
        len: usize,
        cap: u64,
        io: impl FnOnce(i32, u64, usize) -> SysResult<usize>,
    ) -> Option<SysResult<usize>> {
        if !self.writable() {
            return Some(Err(Errno::EBADF));
        }
        let (fd, _) = self.ops.host_data(true)?;
        let mut pos = at.is_none().then(|| lock(&self.pos));
        let _appending = self.appending();
        // Linux appends even for pwrite on O_APPEND files (the size read
        // under the append lock, as every appender reads it).
        let off = if self.flags() & O_APPEND != 0 {
            self.ops.size()
        } else {
            at.unwrap_or_else(|| pos.as_deref().copied().unwrap_or(0))
        };
        let mut max = len;
        if cap != u64::MAX && len > 0 {
            if off >= cap {
                return Some(Err(Errno::EFBIG));
            }
            max = max.min((cap - off).min(usize::MAX as u64) as usize);
        }
        let n = match io(fd, off, max) {
            Ok(n) => n,
            Err(e) => return Some(Err(e)),
        };
        self.ops.host_written(off, n);
        if let Some(p) = pos.as_deref_mut() {
            *p = off + n as u64;
        }
        drop(pos);
        self.modified(n);
        Some(Ok(n))
    }

    pub fn seek(&self, off: i64, whence: i32) -> SysResult<u64> {
        if !self.ops.seekable() {
            return Err(Errno::ESPIPE);
        }
        if let Some(p) = self.ops.fixed_position() {
            return Ok(p);
        }
        let mut pos = lock(&self.pos);
        let base: i64 = match whence {
            SEEK_SET => 0,
            SEEK_CUR => *pos as i64,
            SEEK_END if self.ops.seek_end_ok() => self.ops.size() as i64,
            SEEK_DATA | SEEK_HOLE => {
                let p = self.ops.seek_special(self, off, whence)?;
                *pos = p;
                return Ok(p);
            }
            _ => return Err(Errno::EINVAL),
        };
        // An offset past the largest one is EINVAL, overflow included
        // (Linux's vfs_setpos).
        let new = base.checked_add(off).ok_or(Errno::EINVAL)?;
        if new < 0 {
            return Err(Errno::EINVAL);
        }
        *pos = new as u64;
        Ok(new as u64)
    }

    pub fn stat(&self) -> SysResult<Stat> {
        self.ops.stat(self)
    }

    /// The path `/proc/pid/fd` shows.
    pub fn display_path(&self) -> Vec<u8> {
        if let Some(n) = self.ops.anon_name() {
            return n;
        }
        match &self.dentry {
            Some(d) => d.path(),
            None => b"anon_inode:[unknown]".to_vec(),
        }
    }
}

impl Drop for File {
    fn drop(&mut self) {
        crate::fasync::release(self);
        // OFD and flock locks belong to the open file description.
        // (A pipe's `flock` locks are the pipe's, record locks on a FIFO
        // its inode's.)
        let me = self as *const File as usize;
        if let Some(l) = self.shared_locks() {
            l.release(crate::lock::Owner::Description(me));
            l.release(crate::lock::Owner::Flock(me));
        }
        if let Some(d) = &self.dentry {
            crate::inotify::closed(self, d);
        }
    }
}

impl File {
    /// The locks of the inode behind the file: a pipe's own (anonymous
    /// pipes have no dentry; a FIFO's openings share its pipe), else the
    /// dentry's inode's, else the file's own (sockets, eventfds: an inode
    /// of their own on Linux). Record and `flock` locks both live here.
    pub fn locks(&self) -> &crate::lock::Locks {
        match self.shared_locks() {
            Some(l) => l,
            None => self.own_locks.get_or_init(Box::default),
        }
    }

    /// The locks other descriptions can share (a pipe's, an inode's).
    fn shared_locks(&self) -> Option<&crate::lock::Locks> {
        match (self.ops.pipe(), &self.dentry) {
            (Some(p), _) => Some(&p.locks),
            (None, Some(d)) => Some(&d.inode.locks),
            (None, None) => None,
        }
    }

    /// Drops `pid`'s POSIX record locks on this file (a descriptor of
    /// it was closed, or the process ended). A file without shared
    /// locks holds its own, which end with it.
    pub fn release_posix_locks(&self, pid: i32) {
        if let Some(l) = self.shared_locks().or(self.own_locks.get().map(|b| &**b)) {
            l.release(crate::lock::Owner::Process(pid));
        }
    }

    /// The identity of this open file description, for lock ownership.
    pub fn id(&self) -> usize {
        self as *const File as usize
    }
}

/// Appends one `linux_dirent64` record; returns false if it does not fit.
pub fn push_dirent(
    out: &mut Vec<u8>,
    max: usize,
    ino: u64,
    next_off: i64,
    dtype: u8,
    name: &[u8],
) -> bool {
    let reclen = (19 + name.len() + 1).div_ceil(8) * 8;
    if out.len() + reclen > max {
        return false;
    }
    let start = out.len();
    out.extend_from_slice(&ino.to_le_bytes());
    out.extend_from_slice(&next_off.to_le_bytes());
    out.extend_from_slice(&(reclen as u16).to_le_bytes());
    out.push(dtype);
    out.extend_from_slice(name);
    out.resize(start + reclen, 0);
    true
}
