//! File operations for inode-backed files: regular files, directories and
//! synthetic files.

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::{Arc, Mutex};

use abi::fs::*;
use abi::{Errno, SysResult};
use mm::{Mappable, MemObject, MemoryFile};

use crate::dentry::Dentry;
use crate::file::{push_dirent, File, FileOps};
use crate::host::{pread, pread_full};
use crate::inode::{lock, Child, FileData, Inode, Kind};
use crate::Vfs;

/// Granularity of the page cache of host files: a fault in a mapped host
/// file (program text, libraries) maps up to this much at once.
const HOST_CACHE_CHUNK: u64 = 2 << 20;

/// An open regular file.
pub struct RegularOps {
    pub inode: Arc<Inode>,
    /// Host descriptor while the data is still the host's.
    pub host_fd: Option<Arc<OwnedFd>>,
    pub mf: Arc<MemoryFile>,
    /// Writes go to the host file through `host_fd` (read-write):
    /// `--overlay=none`.
    pub write_through: bool,
}

impl RegularOps {
    fn data(&self) -> std::sync::MutexGuard<'_, FileData> {
        match &self.inode.kind {
            Kind::File(d) => lock(d),
            _ => unreachable!("RegularOps on a non-file inode"),
        }
    }
}

impl Drop for RegularOps {
    /// The last close of an open file: what shared mappings wrote reaches
    /// the host file (`--overlay=none`).
    fn drop(&mut self) {
        let _ = self.write_back();
    }
}

impl RegularOps {
    /// With writes going through to the host: copies the page cache of a
    /// mapped host file (what shared mappings may have written) back to
    /// the file, through a read-write descriptor. Nothing to do for a
    /// file never mapped, or opened read-only.
    fn write_back(&self) -> SysResult<()> {
        if !self.write_through {
            return Ok(());
        }
        let (cache, size) = match &*self.data() {
            FileData::Host {
                cache: Some(c),
                size,
                rw: true,
                ..
            } => (c.clone(), *size),
            _ => return Ok(()),
        };
        let fd = self.host_fd.as_ref().ok_or(Errno::EBADF)?.as_raw_fd();
        let mut buf = vec![0u8; 256 * 1024];
        for (start, end) in cache.allocated_ranges() {
            let mut at = start;
            while at < end.min(size) {
                let n = ((end.min(size) - at) as usize).min(buf.len());
                let got = cache.read(at, &mut buf[..n])?;
                if got == 0 {
                    break;
                }
                // SAFETY: writes from a live buffer of `got` bytes.
                if unsafe { libc::pwrite(fd, buf.as_ptr().cast(), got, at as i64) } < 0 {
                    return Err(Errno::last_host());
                }
                at += got as u64;
            }
        }
        Ok(())
    }

    /// A write to the host file (`--overlay=none`): a `pwrite` on the
    /// donated descriptor, no round trip to the gofer. A page cache made
    /// for mappings of the file gets the bytes too.
    fn write_host(&self, buf: &[u8], off: u64) -> SysResult<usize> {
        let fd = self.host_fd.as_ref().ok_or(Errno::EBADF)?.as_raw_fd();
        let mut done = 0;
        while done < buf.len() {
            let at = off + done as u64;
            // SAFETY: writes from a live buffer of the given length.
            let n = unsafe {
                libc::pwrite(fd, buf[done..].as_ptr().cast(), buf.len() - done, at as i64)
            };
            if n < 0 {
                let e = Errno::last_host();
                if e == Errno::EINTR {
                    continue;
                }
                if done > 0 {
                    break;
                }
                return Err(e);
            }
            if n == 0 {
                break;
            }
            done += n as usize;
        }
        if let FileData::Host { size, cache, .. } = &mut *self.data() {
            *size = (*size).max(off + done as u64);
            if let Some(c) = cache {
                c.write(off, &buf[..done])?;
            }
        }
        self.inode.touch_modified();
        Ok(done)
    }
}

impl FileOps for RegularOps {
    fn read(&self, _f: &File, buf: &mut [u8], off: u64) -> SysResult<usize> {
        let data = self.data();
        match &*data {
            FileData::Mem(o) => o.read(off, buf),
            // Written through to the host and mapped: the mappings' page
            // cache holds the newest bytes (shared mappings write there).
            FileData::Host { cache: Some(c), .. } if self.write_through => {
                let c = c.clone();
                drop(data);
                c.read(off, buf)
            }
            FileData::Host { size, .. } => {
                if off >= *size {
                    return Ok(0);
                }
                let fd = self.host_fd.as_ref().ok_or(Errno::EIO)?.as_raw_fd();
                let n = (buf.len() as u64).min(size - off) as usize;
                drop(data);
                pread(fd, &mut buf[..n], off)
            }
        }
    }

    fn write(&self, _f: &File, buf: &[u8], off: u64) -> SysResult<usize> {
        let obj = match &*self.data() {
            FileData::Mem(o) => Some(o.clone()),
            FileData::Host { .. } if self.write_through => None,
            FileData::Host { .. } => return Err(Errno::EBADF),
        };
        // (The data lock is released: the host write takes it again.)
        let Some(obj) = obj else {
            return self.write_host(buf, off);
        };
        let allowed = self.inode.check_write(off, buf.len() as u64)? as usize;
        let n = obj.write(off, &buf[..allowed])?;
        self.inode.touch_modified();
        Ok(n)
    }

    fn seekable(&self) -> bool {
        true
    }

    fn size(&self) -> u64 {
        self.inode.size()
    }

    /// The host file is the data while the file has not been copied up,
    /// and (written through) no mapping made a page cache, whose pages
    /// would hold newer bytes than the host file or need a write's.
    fn host_data(&self, write: bool) -> Option<(i32, u64)> {
        if write && !self.write_through {
            return None;
        }
        let fd = self.host_fd.as_ref()?.as_raw_fd();
        match &*self.data() {
            // (A read-only lower file's cache only ever holds the host's
            // bytes: reads go to the host file as `read` does.)
            FileData::Host { size, cache, .. } if cache.is_none() || !self.write_through => {
                Some((fd, *size))
            }
            _ => None,
        }
    }

    fn host_written(&self, off: u64, n: usize) {
        let cache = match &mut *self.data() {
            FileData::Host { size, cache, .. } => {
                *size = (*size).max(off + n as u64);
                cache.clone()
            }
            FileData::Mem(_) => None,
        };
        self.inode.touch_modified();
        // A mapping made its page cache while the bytes went to the host
        // (no lock is held across the host call): it gets them too, read
        // back from the host file, as `write_host` copies them there.
        if let (Some(c), Some(fd)) = (cache, &self.host_fd) {
            let mut buf = vec![0u8; n.min(256 * 1024)];
            let mut at = off;
            while at < off + n as u64 {
                let want = ((off + n as u64 - at) as usize).min(buf.len());
                match pread_full(fd.as_raw_fd(), &mut buf[..want], at) {
                    Ok(got) if got > 0 => {
                        let _ = c.write(at, &buf[..got]);
                        at += got as u64;
                    }
                    _ => break,
                }
            }
        }
    }

    fn fsync(&self, _f: &File) -> SysResult<()> {
        self.write_back()
    }

    fn punch(&self, _f: &File, off: u64, len: u64) -> SysResult<()> {
        if !self.write_through {
            return Err(Errno::EBADF);
        }
        let fd = self.host_fd.as_ref().ok_or(Errno::EBADF)?.as_raw_fd();
        let data = self.data();
        // SAFETY: our own descriptor.
        let r = unsafe {
            libc::fallocate(
                fd,
                libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                off as i64,
                len as i64,
            )
        };
        if r != 0 {
            return Err(Errno::last_host());
        }
        if let FileData::Host { cache: Some(c), .. } = &*data {
            c.punch(off, len);
        }
        Ok(())
    }

    fn ioctl(&self, _f: &File, cmd: u32, arg: u64, mm: &mut mm::MemoryManager) -> SysResult<u64> {
        match cmd {
            FS_IOC_FIEMAP => {
                let extents = match &*self.data() {
                    FileData::Mem(o) => o.allocated_ranges(),
                    FileData::Host { size: 0, .. } => Vec::new(),
                    FileData::Host { size, .. } => {
                        vec![(0, abi::page_up(*size).unwrap_or(u64::MAX))]
                    }
                };
                crate::fiemap::fiemap(mm, arg, &extents)
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    fn stat(&self, _f: &File) -> SysResult<Stat> {
        Ok(self.inode.stat())
    }

    fn mappable(&self, _f: &File) -> SysResult<Arc<dyn Mappable>> {
        let mut data = self.data();
        match &mut *data {
            FileData::Mem(o) => Ok(o.clone()),
            FileData::Host { cache: Some(c), .. } => Ok(c.clone()),
            FileData::Host { size, cache, .. } => {
                let fd = self.host_fd.clone().ok_or(Errno::EIO)?;
                let obj = Arc::new(MemObject::with_filler(
                    self.mf.clone(),
                    *size,
                    HOST_CACHE_CHUNK,
                    Box::new(move |off, dst| pread_full(fd.as_raw_fd(), dst, off).map(|_| ())),
                ));
                *cache = Some(obj.clone());
                Ok(obj)
            }
        }
    }

    fn truncate(&self, f: &File, len: u64) -> SysResult<()> {
        self.inode.check_resize(len)?;
        match &mut *self.data() {
            FileData::Mem(o) => {
                o.truncate(len);
                self.inode.uncharge_to(len);
            }
            FileData::Host { size, cache, .. } if self.write_through => {
                let fd = self.host_fd.as_ref().ok_or(Errno::EBADF)?;
                let len_i = i64::try_from(len).map_err(|_| Errno::EFBIG)?;
                // SAFETY: our own descriptor.
                if unsafe { libc::ftruncate(fd.as_raw_fd(), len_i) } != 0 {
                    return Err(Errno::last_host());
                }
                *size = len;
                if let Some(c) = cache {
                    c.truncate(len);
                }
            }
            FileData::Host { .. } => return Err(Errno::EBADF),
        }
        self.inode.touch_modified();
        if let Some(d) = &f.dentry {
            crate::inotify::event(d, crate::inotify::IN_MODIFY, false);
        }
        Ok(())
    }

    fn seek_special(&self, _f: &File, off: i64, whence: i32) -> SysResult<u64> {
        let size = self.inode.size() as i64;
        if off < 0 || off >= size {
            return Err(Errno::ENXIO);
        }
        // Everything is data; the only hole is at the end.
        Ok(if whence == SEEK_DATA {
            off as u64
        } else {
            size as u64
        })
    }
}

/// Replaces a host-backed file's data with an in-memory copy (or an empty
/// one when `truncate`), so it can be written.
pub fn copy_up(vfs: &Vfs, inode: &Inode, truncate: bool) -> SysResult<()> {
    let Kind::File(d) = &inode.kind else {
        return Ok(());
    };
    if vfs.writes_through(inode.dev) {
        // Host files stay the host's, written in place.
        return Ok(());
    }
    let mut data = lock(d);
    let (path, size) = match &*data {
        FileData::Mem(_) => return Ok(()),
        FileData::Host { path, size, .. } => (path.clone(), *size),
    };
    let obj = Arc::new(MemObject::new(vfs.mf.clone(), 0));
    if !truncate && size > 0 {
        let fd = vfs.gofer(inode.dev)?.open_file(&path, false)?;
        let mut buf = vec![0u8; 256 * 1024];
        let mut off = 0u64;
        while off < size {
            let n = pread(fd.as_raw_fd(), &mut buf, off)?;
            if n == 0 {
                break;
            }
            obj.write(off, &buf[..n])?;
            off += n as u64;
        }
        obj.truncate(size);
    }
    *data = FileData::Mem(obj);
    Ok(())
}

/// `(name, d_type, ino)` of one directory entry.
pub type DirEntry = (Vec<u8>, u8, u64);

/// An open directory.
pub struct DirOps {
    pub dentry: Arc<Dentry>,
    pub vfs: Arc<Vfs>,
    /// Entries captured at the first `getdents` (or after a rewind).
    snapshot: Mutex<Option<Vec<DirEntry>>>,
}

impl DirOps {
    pub fn new(dentry: Arc<Dentry>, vfs: Arc<Vfs>) -> DirOps {
        DirOps {
            dentry,
            vfs,
            snapshot: Mutex::new(None),
        }
    }
}

impl FileOps for DirOps {
    fn read(&self, _f: &File, _buf: &mut [u8], _off: u64) -> SysResult<usize> {
        Err(Errno::EISDIR)
    }

    /// A memory directory seeks as tmpfs's (`dcache_dir_lseek`: no
    /// `SEEK_END`); /proc and /sys ones as Linux's generic seek.
    fn seek_end_ok(&self) -> bool {
        matches!(self.dentry.inode.kind, Kind::SynthDir(_))
    }

    fn write(&self, _f: &File, _buf: &[u8], _off: u64) -> SysResult<usize> {
        Err(Errno::EISDIR)
    }

    fn seekable(&self) -> bool {
        true
    }

    fn stat(&self, _f: &File) -> SysResult<Stat> {
        Ok(self.dentry.inode.stat())
    }

    fn getdents(&self, f: &File, max: usize) -> SysResult<Vec<u8>> {
        let mut pos = lock(&f.pos);
        let mut snap = lock(&self.snapshot);
        if *pos == 0 || snap.is_none() {
            let mut entries = vec![
                (b".".to_vec(), DT_DIR, self.dentry.inode.ino),
                (b"..".to_vec(), DT_DIR, self.dentry.dotdot().inode.ino),
            ];
            self.vfs.list_dir_into(&self.dentry, &mut entries)?;
            *snap = Some(entries);
        }
        let entries = snap.as_ref().map(|v| v.as_slice()).unwrap_or(&[]);
        let mut out = Vec::new();
        let mut i = *pos as usize;
        while i < entries.len() {
            let (name, dt, ino) = &entries[i];
            if !push_dirent(&mut out, max, *ino, (i + 1) as i64, *dt, name) {
                if out.is_empty() {
                    return Err(Errno::EINVAL);
                }
                break;
            }
            i += 1;
        }
        *pos = i as u64;
        Ok(out)
    }
}

/// An open synthetic file: contents generated at open.
pub struct SynthOps {
    pub inode: Arc<Inode>,
    pub data: Vec<u8>,
}

impl FileOps for SynthOps {
    fn read(&self, _f: &File, buf: &mut [u8], off: u64) -> SysResult<usize> {
        if off >= self.data.len() as u64 {
            return Ok(0);
        }
        let n = buf.len().min(self.data.len() - off as usize);
        buf[..n].copy_from_slice(&self.data[off as usize..off as usize + n]);
        Ok(n)
    }

    fn write(&self, _f: &File, buf: &[u8], _off: u64) -> SysResult<usize> {
        match &self.inode.kind {
            Kind::SynthFile(s) => s.write(buf),
            _ => Err(Errno::EINVAL),
        }
    }

    fn seekable(&self) -> bool {
        true
    }

    /// /proc files are Linux's seq_files: no `SEEK_END`.
    fn seek_end_ok(&self) -> bool {
        self.inode.dev != crate::inode::DEV_PROC
    }

    fn size(&self) -> u64 {
        self.data.len() as u64
    }

    fn stat(&self, _f: &File) -> SysResult<Stat> {
        Ok(self.inode.stat())
    }
}

/// An `O_PATH` descriptor or an object that cannot be read.
pub struct PathOps {
    pub inode: Arc<Inode>,
}

impl FileOps for PathOps {
    fn read(&self, _f: &File, _buf: &mut [u8], _off: u64) -> SysResult<usize> {
        Err(Errno::EBADF)
    }
    fn write(&self, _f: &File, _buf: &[u8], _off: u64) -> SysResult<usize> {
        Err(Errno::EBADF)
    }
    fn stat(&self, _f: &File) -> SysResult<Stat> {
        Ok(self.inode.stat())
    }
}

/// Whether a directory has no entries.
pub fn dir_is_empty(vfs: &Vfs, d: &Arc<Dentry>) -> SysResult<bool> {
    if let Kind::Dir(_) = &d.inode.kind {
        vfs.populate(d)?;
        if let Kind::Dir(s) = &d.inode.kind {
            return Ok(lock(s)
                .children
                .values()
                .all(|c| matches!(c, Child::Absent)));
        }
    }
    Ok(false)
}
