//! Reopening an open file through its magic link (`/proc/pid/fd/N`,
//! `/dev/fd/N`, `/dev/stdin`), as Linux does: a file with a path opens that
//! path's inode again; a pipe opens the same pipe as a FIFO (any access
//! mode: `bash`'s `<(cmd)` hands programs `/dev/fd/63`); a passed-through
//! host descriptor opens a new description sharing it; sockets and
//! anonymous files (eventfd, epoll, timerfd ...) cannot be opened (`ENXIO`).

use std::sync::Arc;

use abi::fs::Stat;
use abi::SysResult;
use mm::MemoryManager;
use waiter::Queue;

use crate::dentry::Dentry;
use crate::file::{File, FileOps};
use crate::inode::{Inode, Kind, Meta};
use crate::synth::SynthFile;

/// The dentry the magic link of `f` leads to. A file without a path gets
/// a detached one, made for this lookup, whose inode carries the file's
/// `stat` identity (so `stat` through the link shows the pipe or socket).
pub fn link_dentry(f: &Arc<File>) -> Option<Arc<Dentry>> {
    if let Some(d) = &f.dentry {
        return Some(d.clone());
    }
    let st = f.stat().ok()?;
    let kind = if let Some(p) = f.ops.pipe() {
        Kind::Fifo(p.clone())
    } else if f.ops.host_fd().is_some() {
        Kind::SynthFile(Arc::new(Shared(f.clone())))
    } else {
        // Opening a socket or an anonymous inode fails with ENXIO.
        Kind::Socket
    };
    let mut meta = Meta::new(st.mode, st.uid, st.gid);
    meta.nlink = st.nlink;
    let inode = Inode::new(st.ino, st.dev, meta, kind);
    let d = Dentry::new(&f.display_path(), None, inode);
    d.set_removed();
    Some(d)
}

/// A host descriptor reopened: a new open file whose operations are the
/// original's (the host descriptor cannot be reopened from here).
struct Shared(Arc<File>);

impl SynthFile for Shared {
    fn generate(&self) -> SysResult<Vec<u8>> {
        Err(abi::Errno::ENXIO)
    }

    fn open_ops(&self, _inode: &Arc<Inode>) -> Option<SysResult<Box<dyn FileOps>>> {
        Some(Ok(Box::new(Forward(self.0.clone()))))
    }
}

/// Forwards every operation to another open file.
struct Forward(Arc<File>);

impl FileOps for Forward {
    fn read(&self, _f: &File, buf: &mut [u8], off: u64) -> SysResult<usize> {
        self.0.ops.read(&self.0, buf, off)
    }
    fn write(&self, _f: &File, buf: &[u8], off: u64) -> SysResult<usize> {
        self.0.ops.write(&self.0, buf, off)
    }
    fn seekable(&self) -> bool {
        self.0.ops.seekable()
    }
    fn size(&self) -> u64 {
        self.0.ops.size()
    }
    fn stat(&self, _f: &File) -> SysResult<Stat> {
        self.0.stat()
    }
    fn readiness(&self) -> u32 {
        self.0.ops.readiness()
    }
    fn queue(&self) -> Option<&Queue> {
        self.0.ops.queue()
    }
    fn ioctl(&self, _f: &File, cmd: u32, arg: u64, mm: &mut MemoryManager) -> SysResult<u64> {
        self.0.ops.ioctl(&self.0, cmd, arg, mm)
    }
    fn anon_name(&self) -> Option<Vec<u8>> {
        self.0.ops.anon_name()
    }
    fn host_fd(&self) -> Option<i32> {
        self.0.ops.host_fd()
    }
}
