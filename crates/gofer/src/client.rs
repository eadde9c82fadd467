//! The sentry's side of the protocol: one request and its answer at a
//! time on one socket (the sentry caches what it learns, so requests are
//! rare: a `stat` or reopen of a file already walked asks nothing).
//! Every failure to talk to the gofer is `EIO`; the sandbox is ended
//! separately when the gofer goes away.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::Mutex;

use abi::Errno;

use crate::proto::{self, Attr, DirEntry, Reader};
use crate::sock;

struct Conn {
    sock: OwnedFd,
    /// The receive buffer, kept between requests.
    buf: Vec<u8>,
    /// The request being built.
    req: Vec<u8>,
}

/// The bytes left in a message.
fn rest(r: Reader) -> Vec<u8> {
    r.rest().to_vec()
}

/// A directory's path (relative to the one asked for) and its entries.
pub type Listing = (Vec<u8>, Vec<DirEntry>);

pub struct Client {
    conn: Mutex<Conn>,
    /// The socket's number, for watching it without the lock.
    raw: RawFd,
}

impl Client {
    pub fn new(sock: OwnedFd) -> Client {
        let raw = sock.as_raw_fd();
        Client {
            conn: Mutex::new(Conn {
                sock,
                buf: vec![0u8; proto::MAX_MSG],
                req: Vec::with_capacity(proto::MAX_PATH + 16),
            }),
            raw,
        }
    }

    /// The socket, for a thread that waits for the gofer to hang up.
    pub fn socket(&self) -> RawFd {
        self.raw
    }

    /// Sends one request and calls `each` with every answer message's
    /// payload (after a 0 status) and its descriptor, until `each` says
    /// the answer is complete.
    fn call(
        &self,
        op: u8,
        flags: Option<u32>,
        path: &[u8],
        each: impl FnMut(Reader, Option<OwnedFd>) -> Result<bool, Errno>,
    ) -> Result<(), Errno> {
        self.call_with(op, flags, path, &[], each)
    }

    /// [`Client::call`] with `tail` after the path.
    fn call_with(
        &self,
        op: u8,
        flags: Option<u32>,
        path: &[u8],
        tail: &[u8],
        mut each: impl FnMut(Reader, Option<OwnedFd>) -> Result<bool, Errno>,
    ) -> Result<(), Errno> {
        if path.len() > proto::MAX_PATH {
            return Err(Errno::ENAMETOOLONG);
        }
        let mut c = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let c = &mut *c;
        c.req.clear();
        c.req.push(op);
        if let Some(f) = flags {
            c.req.extend_from_slice(&f.to_le_bytes());
        }
        proto::put_bytes(&mut c.req, path);
        c.req.extend_from_slice(tail);
        sock::send(c.sock.as_raw_fd(), &c.req, None).map_err(|_| Errno::EIO)?;
        loop {
            let (n, fd) = sock::recv(c.sock.as_raw_fd(), &mut c.buf).map_err(|_| Errno::EIO)?;
            if n == 0 {
                return Err(Errno::EIO);
            }
            let mut r = Reader::new(&c.buf[..n]);
            let status = r.i32()?;
            if status != 0 {
                return Err(Errno(status));
            }
            if each(r, fd)? {
                return Ok(());
            }
        }
    }

    /// Attributes of `path` (a symlink's own, and its target).
    pub fn stat(&self, path: &[u8]) -> Result<(Attr, Option<Vec<u8>>), Errno> {
        let mut out = None;
        self.call(proto::STAT, None, path, |mut r, _| {
            let a = Attr::get(&mut r)?;
            let target = a.is_symlink().then(|| rest(r));
            out = Some((a, target));
            Ok(true)
        })?;
        out.ok_or(Errno::EIO)
    }

    /// Opens `path` for reading (`flags`: [`proto::OPEN_FLAGS`]); the
    /// host descriptor and the file's attributes.
    pub fn open(&self, path: &[u8], flags: i32) -> Result<(OwnedFd, Attr), Errno> {
        let mut out = None;
        self.call(proto::OPEN, Some(flags as u32), path, |mut r, fd| {
            let a = Attr::get(&mut r)?;
            out = Some((fd.ok_or(Errno::EIO)?, a));
            Ok(true)
        })?;
        out.ok_or(Errno::EIO)
    }

    /// The target of the symlink `path`.
    pub fn readlink(&self, path: &[u8]) -> Result<Vec<u8>, Errno> {
        let mut out = None;
        self.call(proto::READLINK, None, path, |r, _| {
            out = Some(rest(r));
            Ok(true)
        })?;
        out.ok_or(Errno::EIO)
    }

    /// Every entry of directory `path` (or, if `starts` names any, of
    /// those subdirectories of it) with its attributes (and a symlink's
    /// target), without `.` and `..`; the first listing, of `path` itself
    /// (relative path empty) or of `starts[0]`, is followed by whole
    /// listings of directories below totalling at most `budget` entries.
    /// Paths are relative to `path`.
    pub fn readdir(
        &self,
        path: &[u8],
        starts: &[&[u8]],
        budget: u32,
    ) -> Result<Vec<Listing>, Errno> {
        let mut out: Vec<Listing> = Vec::new();
        let mut tail = Vec::new();
        tail.extend_from_slice(&(starts.len() as u32).to_le_bytes());
        for s in starts {
            proto::put_bytes(&mut tail, s);
        }
        if tail.len() + path.len() + 16 > proto::MAX_MSG {
            return Err(Errno::E2BIG);
        }
        self.call_with(proto::READDIR, Some(budget), path, &tail, |mut r, _| {
            let last = r.u8()? != 0;
            while !r.is_empty() {
                match r.u8()? {
                    proto::REC_DIR => out.push((r.bytes()?.to_vec(), Vec::new())),
                    proto::REC_ENTRY => out
                        .last_mut()
                        .ok_or(Errno::EIO)?
                        .1
                        .push(DirEntry::get(&mut r)?),
                    _ => return Err(Errno::EIO),
                }
            }
            Ok(last)
        })?;
        let first: &[u8] = starts.first().copied().unwrap_or_default();
        if out.first().is_none_or(|(p, _)| p != first) {
            return Err(Errno::EIO);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tree() -> (std::path::PathBuf, Client) {
        let dir = std::env::temp_dir().join(format!("gofer-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("d/sub")).unwrap();
        std::fs::write(dir.join("d/file"), b"hello").unwrap();
        symlink("/etc", dir.join("d/abs")).unwrap();
        symlink("sub", dir.join("d/rel")).unwrap();
        for i in 0..3000 {
            std::fs::write(
                dir.join(format!("d/sub/entry-with-a-longish-name-{i}")),
                b"",
            )
            .unwrap();
        }
        let sock = crate::server::serve_in_thread(dir.to_str().unwrap()).unwrap();
        (dir, Client::new(sock))
    }

    #[test]
    fn serves_beneath_the_root_only() {
        let (dir, c) = tree();
        assert_eq!(c.stat(b"d/file").unwrap().0.size, 5);
        assert_eq!(c.stat(b"d/file").unwrap().1, None);
        assert!(c.stat(b"").unwrap().0.mode & libc::S_IFMT == libc::S_IFDIR);
        assert_eq!(c.stat(b"d/missing"), Err(Errno::ENOENT));
        // Symlinks are reported, never followed, on the way or at the end.
        let (a, target) = c.stat(b"d/abs").unwrap();
        assert!(a.is_symlink());
        assert_eq!(target.as_deref(), Some(&b"/etc"[..]));
        assert_eq!(c.readlink(b"d/abs").unwrap(), b"/etc");
        assert_eq!(c.stat(b"d/abs/passwd"), Err(Errno::ENOTDIR));
        assert_eq!(c.stat(b"d/rel/x").err(), Some(Errno::ENOTDIR));
        assert!(c.open(b"d/abs", 0).is_err());
        // Paths that could climb out are refused before any lookup.
        for bad in [
            &b"../etc/passwd"[..],
            b"/etc/passwd",
            b"d/../../x",
            b"d//file",
        ] {
            assert_eq!(c.stat(bad), Err(Errno::EINVAL), "{bad:?}");
        }
        // Only reads.
        assert_eq!(c.open(b"d/file", libc::O_RDWR).err(), Some(Errno::EROFS));
        let (fd, a) = c.open(b"d/file", 0).unwrap();
        assert_eq!(a.size, 5);
        let mut buf = [0u8; 8];
        // SAFETY: reads into a live buffer from the donated descriptor.
        let n = unsafe { libc::pread(fd.as_raw_fd(), buf.as_mut_ptr().cast(), 8, 0) };
        assert_eq!(&buf[..n as usize], b"hello");
        // A directory larger than one message comes whole.
        let l = c.readdir(b"d/sub", &[], 0).unwrap();
        assert_eq!(l.len(), 1);
        let mut names = l[0].1.clone();
        assert_eq!(names.len(), 3000);
        names.sort_by(|a, b| a.name.cmp(&b.name));
        assert_eq!(names[0].name, b"entry-with-a-longish-name-0");
        let l = c.readdir(b"d", &[], 0).unwrap();
        let d = &l[0].1;
        let abs = d.iter().find(|e| e.name == b"abs").unwrap();
        assert_eq!(abs.target.as_deref(), Some(&b"/etc"[..]));
        assert_eq!(d.len(), 4);
        // With a budget, listings below follow while they fit.
        let l = c.readdir(b"", &[], 3004).unwrap();
        let paths: Vec<&[u8]> = l.iter().map(|(p, _)| &p[..]).collect();
        assert_eq!(paths, [&b""[..], b"d", b"d/sub"]);
        assert_eq!(l[2].1.len(), 3000);
        let l = c.readdir(b"", &[], 3003).unwrap();
        assert_eq!(l.len(), 2);
        assert_eq!(c.readdir(b"d/file", &[], 10), Err(Errno::ENOTDIR));
        // Named subdirectories instead of the directory itself: the first
        // must list, later ones that do not are left out.
        let l = c.readdir(b"d", &[b"sub", b"file", b"rel"], 0).unwrap();
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].0, b"sub");
        assert_eq!(c.readdir(b"d", &[b"file", b"sub"], 0), Err(Errno::ENOTDIR));
        assert_eq!(c.readdir(b"d", &[b".."], 0), Err(Errno::EINVAL));
        assert_eq!(c.readdir(b"d", &[b"a/b"], 0), Err(Errno::EINVAL));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
