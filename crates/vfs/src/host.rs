//! Read-only access to the host directory that forms the lower layer of the
//! root filesystem, through the gofer (`gofer` crate). Every path handed in
//! is relative to that directory and made only of components the
//! sandbox's own lookup found to be real directories; the gofer refuses
//! to leave the directory or follow any symlink on the way.

use std::os::fd::OwnedFd;

use abi::{Errno, SysResult};
use gofer::{Client, Listing, Listings};

/// The host directory behind the root's lower layer, reached only
/// through the gofer (a process of its own for `rvisor do`, or a thread
/// of this one for a VFS made directly on a host directory).
pub struct HostRoot {
    gofer: Client,
    /// Writes go through to the host (`--overlay=none`): the gofer
    /// serves them.
    writable: bool,
}

impl HostRoot {
    /// Serves `dir` from a gofer thread in this process.
    pub fn open(dir: &str) -> SysResult<HostRoot> {
        Ok(HostRoot::connect(gofer::server::serve_in_thread(
            dir, false,
        )?))
    }

    /// The root a gofer serves on the other end of `sock`.
    pub fn connect(sock: OwnedFd) -> HostRoot {
        HostRoot {
            gofer: Client::new(sock),
            writable: false,
        }
    }

    /// [`HostRoot::connect`] to a gofer serving writes: the VFS then
    /// writes through to the host instead of keeping changes in memory.
    pub fn connect_writable(sock: OwnedFd) -> HostRoot {
        HostRoot {
            gofer: Client::new(sock),
            writable: true,
        }
    }

    /// [`HostRoot::connect`] or [`HostRoot::connect_writable`].
    pub fn connect_with(sock: OwnedFd, writable: bool) -> HostRoot {
        HostRoot {
            gofer: Client::new(sock),
            writable,
        }
    }

    /// Serves `dir` from a gofer thread in this process, writes going
    /// through to it.
    pub fn open_writable(dir: &str) -> SysResult<HostRoot> {
        Ok(HostRoot::connect_writable(gofer::server::serve_in_thread(
            dir, true,
        )?))
    }

    /// Whether changes go through to the host.
    pub fn writable(&self) -> bool {
        self.writable
    }

    /// Creates regular file `rel` (it must not exist); a read-write
    /// descriptor and its attributes.
    pub fn create(
        &self,
        rel: &str,
        mode: u32,
        uid: u32,
        gid: u32,
    ) -> SysResult<(OwnedFd, libc::stat)> {
        let (fd, a) = self
            .gofer
            .create(rel.as_bytes(), libc::O_RDWR, mode, uid, gid)?;
        Ok((fd, a.to_stat()))
    }

    /// Opens regular file `rel` read-write (emptied with `trunc`).
    pub fn open_rw(&self, rel: &str, trunc: bool) -> SysResult<OwnedFd> {
        let flags = libc::O_RDWR | libc::O_NONBLOCK | if trunc { libc::O_TRUNC } else { 0 };
        Ok(self.gofer.open(rel.as_bytes(), flags)?.0)
    }

    pub fn mkdir(&self, rel: &str, mode: u32, uid: u32, gid: u32) -> SysResult<libc::stat> {
        Ok(self.gofer.mkdir(rel.as_bytes(), mode, uid, gid)?.to_stat())
    }

    /// A FIFO, socket or empty regular file (`mode` has the type).
    pub fn mknod(&self, rel: &str, mode: u32, uid: u32, gid: u32) -> SysResult<libc::stat> {
        Ok(self.gofer.mknod(rel.as_bytes(), mode, uid, gid)?.to_stat())
    }

    pub fn symlink(&self, rel: &str, target: &[u8], uid: u32, gid: u32) -> SysResult<libc::stat> {
        Ok(self
            .gofer
            .symlink(rel.as_bytes(), target, uid, gid)?
            .to_stat())
    }

    /// Links `new` to `old`; the file's attributes after.
    pub fn link(&self, old: &str, new: &str) -> SysResult<libc::stat> {
        Ok(self.gofer.link(old.as_bytes(), new.as_bytes())?.to_stat())
    }

    /// Removes `rel` (an empty directory if `dir`).
    pub fn unlink(&self, rel: &str, dir: bool) -> SysResult<()> {
        let flags = if dir { libc::AT_REMOVEDIR } else { 0 };
        self.gofer.unlink(rel.as_bytes(), flags)
    }

    pub fn rename(&self, old: &str, new: &str, flags: u32) -> SysResult<()> {
        self.gofer.rename(old.as_bytes(), new.as_bytes(), flags)
    }

    pub fn setattr(&self, rel: &str, a: &gofer::proto::SetAttr) -> SysResult<()> {
        self.gofer.setattr(rel.as_bytes(), a).map(drop)
    }

    pub fn getxattr(&self, rel: &str, name: &[u8]) -> SysResult<Vec<u8>> {
        self.gofer.getxattr(rel.as_bytes(), name)
    }

    pub fn setxattr(&self, rel: &str, name: &[u8], value: &[u8], flags: u32) -> SysResult<()> {
        self.gofer.setxattr(rel.as_bytes(), name, value, flags)
    }

    pub fn listxattr(&self, rel: &str) -> SysResult<Vec<u8>> {
        self.gofer.listxattr(rel.as_bytes())
    }

    pub fn removexattr(&self, rel: &str, name: &[u8]) -> SysResult<()> {
        self.gofer.removexattr(rel.as_bytes(), name)
    }

    /// The host filesystem's `statfs` of the top directory.
    pub fn statfs(&self) -> SysResult<gofer::proto::StatFs> {
        self.gofer.statfs(b"")
    }

    pub fn fsync(&self, rel: &str, data_only: bool) -> SysResult<()> {
        self.gofer.fsync(rel.as_bytes(), data_only)
    }

    /// The gofer connection's socket (to notice the gofer going away).
    pub fn socket(&self) -> i32 {
        self.gofer.socket()
    }

    /// `lstat` of a path under the root. A `.` or `..` component (a
    /// lookup of `.` in a directory) is the directory or its parent,
    /// never above the root.
    /// A symlink's target comes along.
    pub fn lstat(&self, rel: &str) -> SysResult<(libc::stat, Option<Vec<u8>>)> {
        let (a, target) = self.gofer.stat(&beneath(rel))?;
        Ok((a.to_stat(), target))
    }

    /// Opens a regular file or directory under the root, read-only.
    pub fn open_file(&self, rel: &str, directory: bool) -> SysResult<OwnedFd> {
        let mut flags = libc::O_NONBLOCK;
        if directory {
            flags |= libc::O_DIRECTORY;
        }
        Ok(self.gofer.open(rel.as_bytes(), flags)?.0)
    }

    pub fn readlink(&self, rel: &str) -> SysResult<Vec<u8>> {
        self.gofer.readlink(rel.as_bytes())
    }

    /// Entries of a host directory (or, if `starts` names any, of those
    /// subdirectories of it), without `.` and `..`, each with its
    /// attributes (and a symlink's target), then whole listings of the
    /// directories below totalling at most `budget` entries: one exchange
    /// with the gofer. Paths are relative to `rel`. In a directory of
    /// more than `stat_limit` entries, files come without attributes
    /// (`gofer::proto::READDIR`).
    pub fn list(
        &self,
        rel: &str,
        starts: &[&[u8]],
        budget: u32,
        stat_limit: u32,
    ) -> SysResult<Vec<Listing>> {
        self.gofer
            .readdir(rel.as_bytes(), starts, budget, stat_limit)
    }

    /// [`HostRoot::list`], kept as received (read with
    /// `Listings::records`).
    pub fn list_raw(
        &self,
        rel: &str,
        starts: &[&[u8]],
        budget: u32,
        stat_limit: u32,
    ) -> SysResult<Listings> {
        self.gofer
            .readdir_raw(rel.as_bytes(), starts, budget, stat_limit)
    }
}

/// `rel` without `.` and `..` components (`..` at the root stays there),
/// as the gofer takes paths.
fn beneath(rel: &str) -> Vec<u8> {
    let mut parts: Vec<&[u8]> = Vec::new();
    for c in rel.as_bytes().split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    parts.join(&b'/')
}

/// `pread` on a host descriptor, retrying on `EINTR`.
pub fn pread(fd: i32, buf: &mut [u8], off: u64) -> SysResult<usize> {
    loop {
        // SAFETY: reads into a live buffer of the given length.
        let n = unsafe { libc::pread(fd, buf.as_mut_ptr().cast(), buf.len(), off as i64) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = Errno::last_host();
        if e != Errno::EINTR {
            return Err(e);
        }
    }
}

/// `preadv` (`write` false) or `pwritev` of `iov` on a host descriptor at
/// `off`, retrying on `EINTR`: one host call moving data between a host
/// file and memory the caller vouches for (application pages in the
/// sentry's mapping of the memory file, see `MemoryManager::host_ranges`).
pub fn transfer_iov(fd: i32, iov: &[libc::iovec], off: u64, write: bool) -> SysResult<usize> {
    let off = i64::try_from(off).map_err(|_| Errno::EINVAL)?;
    let cnt = iov.len() as i32;
    loop {
        // SAFETY: `iov` is a live array of `cnt` entries; each names
        // memory the caller keeps valid (and, for a read, writable) for
        // the length of the call.
        let n = unsafe {
            if write {
                libc::pwritev(fd, iov.as_ptr(), cnt, off)
            } else {
                libc::preadv(fd, iov.as_ptr(), cnt, off)
            }
        };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = Errno::last_host();
        if e != Errno::EINTR {
            return Err(e);
        }
    }
}

/// Reads as much of `buf` as the file has from `off`.
pub fn pread_full(fd: i32, buf: &mut [u8], off: u64) -> SysResult<usize> {
    let mut done = 0;
    while done < buf.len() {
        let n = pread(fd, &mut buf[done..], off + done as u64)?;
        if n == 0 {
            break;
        }
        done += n;
    }
    Ok(done)
}
