//! Read-only access to the host directory that forms the lower layer of the
//! root filesystem, through the gofer (`gofer` crate). Every path handed in
//! is relative to that directory and made only of components the
//! sandbox's own lookup found to be real directories; the gofer refuses
//! to leave the directory or follow any symlink on the way.

use std::os::fd::OwnedFd;

use abi::{Errno, SysResult};
use gofer::{Client, Listing};

/// The host directory behind the root's lower layer, reached only
/// through the gofer (a process of its own for `rvisor do`, or a thread
/// of this one for a VFS made directly on a host directory).
pub struct HostRoot {
    gofer: Client,
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
        }
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
    /// with the gofer. Paths are relative to `rel`.
    pub fn list(&self, rel: &str, starts: &[&[u8]], budget: u32) -> SysResult<Vec<Listing>> {
        self.gofer.readdir(rel.as_bytes(), starts, budget)
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
