//! The gofer's side: answers requests beneath one root directory.
//!
//! Every path is opened with `openat2(RESOLVE_BENEATH |
//! RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)` and `O_NOFOLLOW` from the
//! root descriptor: no component may be a symlink (the sentry resolves
//! symlinks itself and asks again with the target), none may climb out.
//! A last component is then looked at with `*at` calls that do not
//! follow it. Only reads are served.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use abi::Errno;

use crate::proto::{self, Attr, DirEntry, Reader};
use crate::sock;

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
const RESOLVE_NO_SYMLINKS: u64 = 0x04;
const RESOLVE_BENEATH: u64 = 0x08;

pub struct Server {
    root: OwnedFd,
    sock: OwnedFd,
    /// The directory of the last `STAT` (path and an `O_PATH`
    /// descriptor): lookups come in runs in one directory.
    last_dir: Option<(Vec<u8>, OwnedFd)>,
}

/// `(directory part, last component)` of a non-empty path.
fn split(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (&[], path),
    }
}

fn cstr(b: &[u8]) -> Result<std::ffi::CString, Errno> {
    let p = if b.is_empty() { &b"."[..] } else { b };
    std::ffi::CString::new(p).map_err(|_| Errno::EINVAL)
}

fn fstat(fd: RawFd) -> Result<Attr, Errno> {
    // SAFETY: zeroed stat is a valid out-buffer.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat into a live struct.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return Err(Errno::last_host());
    }
    Ok(Attr::from_stat(&st))
}

/// `lstat` of the single component `name` in directory `dir`.
fn lstat_at(dir: RawFd, name: &std::ffi::CStr) -> Result<Attr, Errno> {
    // SAFETY: zeroed stat is a valid out-buffer.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: valid descriptor, NUL-terminated name, live out-struct.
    if unsafe { libc::fstatat(dir, name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) } != 0 {
        return Err(Errno::last_host());
    }
    Ok(Attr::from_stat(&st))
}

/// The target of symlink `name` in directory `dir`.
fn readlink_at(dir: RawFd, name: &std::ffi::CStr) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0u8; proto::MAX_PATH];
    // SAFETY: valid descriptor and name; the buffer has the given length.
    let n = unsafe { libc::readlinkat(dir, name.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        return Err(Errno::last_host());
    }
    buf.truncate(n as usize);
    Ok(buf)
}

impl Server {
    /// Serves `sock` beneath the directory `root` (an `O_PATH` or
    /// ordinary directory descriptor).
    pub fn new(root: OwnedFd, sock: OwnedFd) -> Server {
        Server {
            root,
            sock,
            last_dir: None,
        }
    }

    /// Opens `path` beneath the root; `flags` gain `O_NOFOLLOW`,
    /// `O_CLOEXEC` and (unless `O_PATH`, where `openat2` refuses it)
    /// `O_NOCTTY`.
    fn open_beneath(&self, path: &[u8], flags: i32) -> Result<OwnedFd, Errno> {
        let c = cstr(path)?;
        let noctty = if flags & libc::O_PATH == 0 {
            libc::O_NOCTTY
        } else {
            0
        };
        let how = OpenHow {
            flags: (flags | libc::O_NOFOLLOW | libc::O_CLOEXEC | noctty) as u64,
            mode: 0,
            resolve: RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        loop {
            // SAFETY: openat2 with a valid dirfd, path and open_how of the
            // size passed.
            let fd = unsafe {
                libc::syscall(
                    libc::SYS_openat2,
                    self.root.as_raw_fd(),
                    c.as_ptr(),
                    &how as *const OpenHow,
                    std::mem::size_of::<OpenHow>(),
                )
            };
            if fd >= 0 {
                // SAFETY: a fresh descriptor we own.
                return Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) });
            }
            let e = Errno::last_host();
            // A symlink on the way is not followed: it is the caller's
            // to resolve. Report it as the component not being a
            // directory (the sentry only sends paths through directories
            // it found, so this is a change on the host meanwhile).
            if e == Errno::ELOOP {
                return Err(Errno::ENOTDIR);
            }
            if e != Errno::EINTR && e != Errno::EAGAIN {
                return Err(e);
            }
        }
    }

    /// An `O_PATH` descriptor of directory `dir` (cached for the next
    /// lookup in the same directory).
    fn dir_fd(&mut self, dir: &[u8]) -> Result<RawFd, Errno> {
        if dir.is_empty() {
            return Ok(self.root.as_raw_fd());
        }
        if let Some((p, fd)) = &self.last_dir {
            if p == dir {
                return Ok(fd.as_raw_fd());
            }
        }
        let fd = self.open_beneath(dir, libc::O_PATH | libc::O_DIRECTORY)?;
        let raw = fd.as_raw_fd();
        self.last_dir = Some((dir.to_vec(), fd));
        Ok(raw)
    }

    fn stat(&mut self, path: &[u8]) -> Result<Attr, Errno> {
        if path.is_empty() {
            return fstat(self.root.as_raw_fd());
        }
        let (dir, name) = split(path);
        let name = cstr(name)?;
        let dfd = self.dir_fd(dir)?;
        lstat_at(dfd, &name)
    }

    fn readlink(&mut self, path: &[u8]) -> Result<Vec<u8>, Errno> {
        if path.is_empty() {
            return Err(Errno::EINVAL);
        }
        let (dir, name) = split(path);
        let name = cstr(name)?;
        let dfd = self.dir_fd(dir)?;
        readlink_at(dfd, &name)
    }

    /// Sends a directory's entries in batches of up to `MAX_MSG` bytes.
    fn readdir(&mut self, path: &[u8], out: &mut Vec<u8>) -> Result<(), Errno> {
        let dir = self.open_beneath(path, libc::O_RDONLY | libc::O_DIRECTORY)?;
        let start = |out: &mut Vec<u8>| {
            out.clear();
            out.extend_from_slice(&0i32.to_le_bytes());
            out.push(0);
            out.extend_from_slice(&0u32.to_le_bytes());
        };
        // Header: status (4), last (1), count (4).
        const COUNT_AT: usize = 5;
        start(out);
        let mut count = 0u32;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            // SAFETY: getdents64 into a buffer of the given length.
            let n = unsafe {
                libc::syscall(
                    libc::SYS_getdents64,
                    dir.as_raw_fd(),
                    buf.as_mut_ptr(),
                    buf.len(),
                )
            };
            if n < 0 {
                return Err(Errno::last_host());
            }
            if n == 0 {
                break;
            }
            let mut off = 0usize;
            while off + 19 <= n as usize {
                let reclen = u16::from_le_bytes([buf[off + 16], buf[off + 17]]) as usize;
                if reclen == 0 || off + reclen > n as usize {
                    break;
                }
                let raw = &buf[off + 19..off + reclen];
                off += reclen;
                let len = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
                let name = &raw[..len];
                if name == b"." || name == b".." {
                    continue;
                }
                let cname = cstr(name)?;
                // An entry gone meanwhile is left out.
                let Ok(attr) = lstat_at(dir.as_raw_fd(), &cname) else {
                    continue;
                };
                let target = if attr.is_symlink() {
                    match readlink_at(dir.as_raw_fd(), &cname) {
                        Ok(t) => Some(t),
                        Err(_) => continue,
                    }
                } else {
                    None
                };
                let e = DirEntry {
                    name: name.to_vec(),
                    attr,
                    target,
                };
                if out.len() + e.wire_len() > proto::MAX_MSG {
                    out[COUNT_AT..COUNT_AT + 4].copy_from_slice(&count.to_le_bytes());
                    sock::send(self.sock.as_raw_fd(), out, None)?;
                    start(out);
                    count = 0;
                }
                e.put(out);
                count += 1;
            }
        }
        out[4] = 1;
        out[COUNT_AT..COUNT_AT + 4].copy_from_slice(&count.to_le_bytes());
        sock::send(self.sock.as_raw_fd(), out, None)
    }

    /// Answers one request; `Err` only for a failure to answer.
    fn answer(&mut self, req: &[u8], out: &mut Vec<u8>) -> Result<(), Errno> {
        let mut r = Reader::new(req);
        let parsed = (|| {
            let op = r.u8()?;
            let flags = if op == proto::OPEN { r.u32()? } else { 0 };
            let path = r.bytes()?;
            if !r.is_empty() || !proto::valid_path(path) {
                return Err(Errno::EINVAL);
            }
            Ok((op, flags, path))
        })();
        out.clear();
        out.extend_from_slice(&0i32.to_le_bytes());
        let mut fd = None;
        let result = match parsed {
            Err(e) => Err(e),
            Ok((proto::STAT, _, path)) => self.stat(path).map(|a| a.put(out)),
            Ok((proto::READLINK, _, path)) => self.readlink(path).map(|t| out.extend(t)),
            Ok((proto::OPEN, flags, path)) => {
                if flags & !proto::OPEN_FLAGS != 0 {
                    Err(Errno::EROFS)
                } else {
                    self.open_beneath(path, libc::O_RDONLY | flags as i32)
                        .and_then(|f| {
                            fstat(f.as_raw_fd())?.put(out);
                            fd = Some(f);
                            Ok(())
                        })
                }
            }
            Ok((proto::READDIR, _, path)) => match self.readdir(path, out) {
                Ok(()) => return Ok(()),
                Err(e) => Err(e),
            },
            Ok(_) => Err(Errno::ENOSYS),
        };
        if let Err(e) = result {
            out.clear();
            out.extend_from_slice(&e.0.to_le_bytes());
        }
        sock::send(
            self.sock.as_raw_fd(),
            out,
            fd.as_ref().map(|f| f.as_raw_fd()),
        )
    }

    /// Answers requests until the sentry closes its end (`Ok`) or the
    /// socket fails.
    pub fn serve(mut self) -> Result<(), Errno> {
        let mut req = vec![0u8; proto::MAX_MSG];
        let mut out = Vec::with_capacity(proto::MAX_MSG);
        loop {
            let (n, stray) = sock::recv(self.sock.as_raw_fd(), &mut req)?;
            drop(stray);
            if n == 0 {
                return Ok(());
            }
            let msg = req[..n].to_vec();
            self.answer(&msg, &mut out)?;
        }
    }
}

/// A socket pair for the protocol: `(sentry's end, gofer's end)`.
pub fn socket_pair() -> Result<(OwnedFd, OwnedFd), Errno> {
    let mut sv = [0; 2];
    // SAFETY: socketpair fills the two-element array.
    if unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            sv.as_mut_ptr(),
        )
    } != 0
    {
        return Err(Errno::last_host());
    }
    // SAFETY: two fresh descriptors we own.
    Ok(unsafe { (OwnedFd::from_raw_fd(sv[0]), OwnedFd::from_raw_fd(sv[1])) })
}

/// Opens `dir` as a root to serve (`O_PATH`, before any confinement).
pub fn open_root(dir: &str) -> Result<OwnedFd, Errno> {
    let c = std::ffi::CString::new(dir).map_err(|_| Errno::EINVAL)?;
    // SAFETY: valid NUL-terminated path; result checked.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(Errno::last_host());
    }
    // SAFETY: a fresh descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Serves `dir` from a thread of this process (unit tests, and VFSs made
/// without a gofer process); returns the client's end.
pub fn serve_in_thread(dir: &str) -> Result<OwnedFd, Errno> {
    let root = open_root(dir)?;
    let (ours, theirs) = socket_pair()?;
    std::thread::Builder::new()
        .name("gofer".into())
        .spawn(move || Server::new(root, theirs).serve())
        .map_err(|_| Errno::EAGAIN)?;
    Ok(ours)
}
