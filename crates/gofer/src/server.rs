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

/// `a/b` (either may be empty).
fn join(a: &[u8], b: &[u8]) -> Vec<u8> {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_vec(),
        (_, true) => a.to_vec(),
        _ => [a, b"/", b].concat(),
    }
}

/// The names in directory `fd`, without `.` and `..`.
fn dir_names(fd: RawFd) -> Result<Vec<Vec<u8>>, Errno> {
    let mut names = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        // SAFETY: getdents64 into a buffer of the given length.
        let n = unsafe { libc::syscall(libc::SYS_getdents64, fd, buf.as_mut_ptr(), buf.len()) };
        if n < 0 {
            return Err(Errno::last_host());
        }
        if n == 0 {
            return Ok(names);
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
            if name != b"." && name != b".." {
                names.push(name.to_vec());
            }
        }
    }
}

/// A [`proto::READDIR`] answer being sent: records are added to the
/// current message, which goes out when the next would not fit.
struct Batch<'a> {
    sock: RawFd,
    out: &'a mut Vec<u8>,
}

impl<'a> Batch<'a> {
    fn new(sock: RawFd, out: &'a mut Vec<u8>) -> Batch<'a> {
        let mut b = Batch { sock, out };
        b.start();
        b
    }

    /// Header: status 0, "last" 0.
    fn start(&mut self) {
        self.out.clear();
        self.out.extend_from_slice(&0i32.to_le_bytes());
        self.out.push(0);
    }

    /// Adds a record written by `put` (whose size is bounded by `name`'s
    /// length plus an attribute and a target).
    fn record(
        &mut self,
        tag: u8,
        name: &[u8],
        put: impl FnOnce(&mut Vec<u8>),
    ) -> Result<(), Errno> {
        let most = 1 + 8 + name.len() + proto::ATTR_LEN + proto::MAX_PATH;
        if self.out.len() + most > proto::MAX_MSG {
            sock::send(self.sock, self.out, None)?;
            self.start();
        }
        self.out.push(tag);
        put(self.out);
        Ok(())
    }

    fn finish(self) -> Result<(), Errno> {
        self.out[4] = 1;
        sock::send(self.sock, self.out, None)
    }
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

    /// Sends the listing of `path`, or of its subdirectories `starts` if
    /// any, in messages of up to `MAX_MSG` bytes, then (depth first, in
    /// name order) whole listings of the directories below while they
    /// total at most `budget` entries. The first listing is always sent
    /// (or its error).
    fn readdir(
        &mut self,
        path: &[u8],
        starts: Vec<Vec<u8>>,
        budget: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), Errno> {
        let mut batch = Batch::new(self.sock.as_raw_fd(), out);
        // Depth first in name order, parents before children: the order
        // in which a walk in the sandbox (which lists names sorted) comes
        // to them, so the walk finds ahead of it what was sent.
        let mut stack: Vec<Vec<u8>> = if starts.is_empty() {
            vec![Vec::new()]
        } else {
            starts.into_iter().rev().collect()
        };
        let mut extra = 0usize;
        let mut first = true;
        while let Some(sub) = stack.pop() {
            let full = join(path, &sub);
            let listed = self.open_beneath(&full, libc::O_RDONLY | libc::O_DIRECTORY);
            let dir = match listed {
                Ok(d) => d,
                Err(e) if first => return Err(e),
                Err(_) => continue,
            };
            let mut names = match dir_names(dir.as_raw_fd()) {
                Ok(n) => n,
                Err(e) if first => return Err(e),
                Err(_) => continue,
            };
            names.sort_unstable();
            let below = stack.len();
            if !first {
                extra += names.len();
                if extra > budget {
                    break;
                }
            }
            first = false;
            batch.record(proto::REC_DIR, &sub, |w| proto::put_bytes(w, &sub))?;
            for name in names {
                let cname = cstr(&name)?;
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
                if budget > 0 && attr.mode & libc::S_IFMT == libc::S_IFDIR {
                    stack.push(join(&sub, &name));
                }
                let e = DirEntry { name, attr, target };
                batch.record(proto::REC_ENTRY, &e.name, |w| e.put(w))?;
            }
            // This directory's subdirectories come next, first name first.
            stack[below..].reverse();
        }
        batch.finish()
    }

    /// Answers one request; `Err` only for a failure to answer.
    fn answer(&mut self, req: &[u8], out: &mut Vec<u8>) -> Result<(), Errno> {
        let mut r = Reader::new(req);
        let parsed = (|| {
            let op = r.u8()?;
            let flags = if op == proto::OPEN || op == proto::READDIR {
                r.u32()?
            } else {
                0
            };
            let path = r.bytes()?;
            let mut starts = Vec::new();
            if op == proto::READDIR {
                for _ in 0..r.u32()? {
                    let name = r.bytes()?;
                    if name.is_empty() || name.contains(&b'/') || !proto::valid_path(name) {
                        return Err(Errno::EINVAL);
                    }
                    starts.push(name.to_vec());
                }
            }
            if !r.is_empty() || !proto::valid_path(path) {
                return Err(Errno::EINVAL);
            }
            Ok((op, flags, path, starts))
        })();
        out.clear();
        out.extend_from_slice(&0i32.to_le_bytes());
        let mut fd = None;
        let result = match parsed {
            Err(e) => Err(e),
            Ok((proto::STAT, _, path, _)) => self.stat(path).and_then(|a| {
                a.put(out);
                // A symlink's target comes along: the sentry would ask next.
                if a.is_symlink() {
                    out.extend(self.readlink(path)?);
                }
                Ok(())
            }),
            Ok((proto::READLINK, _, path, _)) => self.readlink(path).map(|t| out.extend(t)),
            Ok((proto::OPEN, flags, path, _)) => {
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
            Ok((proto::READDIR, budget, path, starts)) => {
                match self.readdir(path, starts, budget as usize, out) {
                    Ok(()) => return Ok(()),
                    Err(e) => Err(e),
                }
            }
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
