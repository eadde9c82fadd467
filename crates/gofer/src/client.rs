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
        each: impl FnMut(Reader, Option<OwnedFd>) -> Result<bool, Errno>,
    ) -> Result<(), Errno> {
        let head = flags.map(u32::to_le_bytes);
        self.call_raw(
            op,
            head.as_ref().map_or(&[][..], |h| &h[..]),
            path,
            tail,
            each,
        )
    }

    /// Sends `op`, `head`, `path` and `tail`; see [`Client::call`].
    fn call_raw(
        &self,
        op: u8,
        head: &[u8],
        path: &[u8],
        tail: &[u8],
        mut each: impl FnMut(Reader, Option<OwnedFd>) -> Result<bool, Errno>,
    ) -> Result<(), Errno> {
        if path.len() > proto::MAX_PATH {
            return Err(Errno::ENAMETOOLONG);
        }
        if head.len() + path.len() + tail.len() + 16 > proto::MAX_MSG {
            return Err(Errno::E2BIG);
        }
        let mut c = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let c = &mut *c;
        c.req.clear();
        c.req.push(op);
        c.req.extend_from_slice(head);
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

    /// A request whose answer is one message: its payload.
    fn simple(&self, op: u8, head: &[u8], path: &[u8], tail: &[u8]) -> Result<Vec<u8>, Errno> {
        let mut out = None;
        self.call_raw(op, head, path, tail, |r, _| {
            out = Some(rest(r));
            Ok(true)
        })?;
        out.ok_or(Errno::EIO)
    }

    /// A request answered with an [`Attr`].
    fn attr_op(&self, op: u8, head: &[u8], path: &[u8], tail: &[u8]) -> Result<Attr, Errno> {
        Attr::get(&mut Reader::new(&self.simple(op, head, path, tail)?))
    }

    /// Creates regular file `path` (`O_EXCL`: it must not exist) with
    /// `mode` and owner; the descriptor (read-write, or read-only when
    /// `access` is `O_RDONLY`) and its attributes.
    pub fn create(
        &self,
        path: &[u8],
        access: i32,
        mode: u32,
        uid: u32,
        gid: u32,
    ) -> Result<(OwnedFd, Attr), Errno> {
        let mut out = None;
        let head = words(&[access as u32, mode, uid, gid]);
        self.call_raw(proto::CREATE, &head, path, &[], |mut r, fd| {
            let a = Attr::get(&mut r)?;
            out = Some((fd.ok_or(Errno::EIO)?, a));
            Ok(true)
        })?;
        out.ok_or(Errno::EIO)
    }

    pub fn mkdir(&self, path: &[u8], mode: u32, uid: u32, gid: u32) -> Result<Attr, Errno> {
        self.attr_op(proto::MKDIR, &words(&[mode, uid, gid]), path, &[])
    }

    /// A FIFO, socket or empty regular file (`mode` carries the type).
    pub fn mknod(&self, path: &[u8], mode: u32, uid: u32, gid: u32) -> Result<Attr, Errno> {
        self.attr_op(proto::MKNOD, &words(&[mode, uid, gid]), path, &[])
    }

    pub fn symlink(&self, path: &[u8], target: &[u8], uid: u32, gid: u32) -> Result<Attr, Errno> {
        let mut tail = Vec::new();
        proto::put_bytes(&mut tail, target);
        self.attr_op(proto::SYMLINK, &words(&[uid, gid]), path, &tail)
    }

    /// A hard link `new` to `old`; the file's attributes.
    pub fn link(&self, old: &[u8], new: &[u8]) -> Result<Attr, Errno> {
        let mut tail = Vec::new();
        proto::put_bytes(&mut tail, new);
        self.attr_op(proto::LINK, &[], old, &tail)
    }

    /// Removes `path` (a directory with `AT_REMOVEDIR`).
    pub fn unlink(&self, path: &[u8], flags: i32) -> Result<(), Errno> {
        self.simple(proto::UNLINK, &words(&[flags as u32]), path, &[])
            .map(drop)
    }

    /// `renameat2(old, new, flags)`.
    pub fn rename(&self, old: &[u8], new: &[u8], flags: u32) -> Result<(), Errno> {
        let mut tail = Vec::new();
        proto::put_bytes(&mut tail, new);
        self.simple(proto::RENAME, &words(&[flags]), old, &tail)
            .map(drop)
    }

    /// Changes what `a.mask` says; the attributes after.
    pub fn setattr(&self, path: &[u8], a: &proto::SetAttr) -> Result<Attr, Errno> {
        let mut head = Vec::new();
        a.put(&mut head);
        self.attr_op(proto::SETATTR, &head, path, &[])
    }

    pub fn getxattr(&self, path: &[u8], name: &[u8]) -> Result<Vec<u8>, Errno> {
        let mut tail = Vec::new();
        proto::put_bytes(&mut tail, name);
        self.simple(proto::GETXATTR, &[], path, &tail)
    }

    pub fn setxattr(
        &self,
        path: &[u8],
        name: &[u8],
        value: &[u8],
        flags: u32,
    ) -> Result<(), Errno> {
        if value.len() > proto::XATTR_VALUE_MAX {
            return Err(Errno::E2BIG);
        }
        let mut tail = Vec::new();
        proto::put_bytes(&mut tail, name);
        proto::put_bytes(&mut tail, value);
        self.simple(proto::SETXATTR, &words(&[flags]), path, &tail)
            .map(drop)
    }

    /// The names, each NUL-terminated.
    pub fn listxattr(&self, path: &[u8]) -> Result<Vec<u8>, Errno> {
        self.simple(proto::LISTXATTR, &[], path, &[])
    }

    pub fn removexattr(&self, path: &[u8], name: &[u8]) -> Result<(), Errno> {
        let mut tail = Vec::new();
        proto::put_bytes(&mut tail, name);
        self.simple(proto::REMOVEXATTR, &[], path, &tail).map(drop)
    }

    pub fn statfs(&self, path: &[u8]) -> Result<proto::StatFs, Errno> {
        proto::StatFs::get(&mut Reader::new(&self.simple(
            proto::STATFS,
            &[],
            path,
            &[],
        )?))
    }

    pub fn fsync(&self, path: &[u8], data_only: bool) -> Result<(), Errno> {
        self.simple(proto::FSYNC, &words(&[u32::from(data_only)]), path, &[])
            .map(drop)
    }

    /// Every entry of directory `path` (or, if `starts` names any, of
    /// those subdirectories of it) with its attributes (and a symlink's
    /// target), without `.` and `..`; the first listing, of `path` itself
    /// (relative path empty) or of `starts[0]`, is followed by whole
    /// listings of directories below totalling at most `budget` entries.
    /// Paths are relative to `path`. In a directory of more than
    /// `stat_limit` entries, only subdirectories (and entries of unknown
    /// type) come with attributes; the others have their type and inode
    /// number only (`DirEntry::stated` false).
    ///
    /// The answer is kept as the messages came (a few bytes per entry)
    /// and read with [`Listings::records`], so a 50,000-entry listing is
    /// a few dozen buffers, not 50,000 parsed entries at once.
    pub fn readdir_raw(
        &self,
        path: &[u8],
        starts: &[&[u8]],
        budget: u32,
        stat_limit: u32,
    ) -> Result<Listings, Errno> {
        let mut tail = Vec::new();
        tail.extend_from_slice(&(starts.len() as u32).to_le_bytes());
        for s in starts {
            proto::put_bytes(&mut tail, s);
        }
        if tail.len() + path.len() + 16 > proto::MAX_MSG {
            return Err(Errno::E2BIG);
        }
        let mut head = [0u8; 8];
        head[..4].copy_from_slice(&budget.to_le_bytes());
        head[4..].copy_from_slice(&stat_limit.to_le_bytes());
        let mut msgs = Vec::new();
        self.call_raw(proto::READDIR, &head, path, &tail, |mut r, _| {
            let last = r.u8()? != 0;
            msgs.push(r.rest().to_vec());
            Ok(last)
        })?;
        let l = Listings { msgs };
        // The first record starts the first listing asked for.
        let first: &[u8] = starts.first().copied().unwrap_or_default();
        let ok = matches!(l.records().next(), Some(Ok(Record::Dir(p))) if p == first);
        if ok {
            Ok(l)
        } else {
            Err(Errno::EIO)
        }
    }

    /// [`Client::readdir_raw`], parsed: each listing's path and entries.
    pub fn readdir(
        &self,
        path: &[u8],
        starts: &[&[u8]],
        budget: u32,
        stat_limit: u32,
    ) -> Result<Vec<Listing>, Errno> {
        let mut out: Vec<Listing> = Vec::new();
        for rec in self
            .readdir_raw(path, starts, budget, stat_limit)?
            .records()
        {
            match rec? {
                Record::Dir(p) => out.push((p.to_vec(), Vec::new())),
                Record::Entry(e) => out.last_mut().ok_or(Errno::EIO)?.1.push(e),
            }
        }
        Ok(out)
    }
}

/// A [`proto::READDIR`] answer as received.
pub struct Listings {
    msgs: Vec<Vec<u8>>,
}

/// One record of a [`Listings`].
pub enum Record<'a> {
    /// The listing of this directory (relative to the one asked for)
    /// follows.
    Dir(&'a [u8]),
    /// An entry of the last directory started.
    Entry(DirEntry),
}

impl Listings {
    /// The records in order; `EIO` for a malformed one (and nothing
    /// after it).
    pub fn records(&self) -> impl Iterator<Item = Result<Record<'_>, Errno>> + '_ {
        let mut msgs = self.msgs.iter();
        let mut cur = Reader::new(&[]);
        let mut failed = false;
        std::iter::from_fn(move || {
            while cur.is_empty() {
                cur = Reader::new(msgs.next()?);
            }
            if failed {
                return None;
            }
            let rec = match cur.u8() {
                Ok(proto::REC_DIR) => cur.bytes().map(Record::Dir),
                Ok(proto::REC_ENTRY) => DirEntry::get(&mut cur).map(Record::Entry),
                Ok(proto::REC_NAME) => DirEntry::get_name(&mut cur).map(Record::Entry),
                _ => Err(Errno::EIO),
            };
            failed = rec.is_err();
            Some(rec)
        })
    }
}

/// Little-endian `u32`s, as a request's head.
fn words(w: &[u32]) -> Vec<u8> {
    w.iter().flat_map(|v| v.to_le_bytes()).collect()
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
        let sock = crate::server::serve_in_thread(dir.to_str().unwrap(), false).unwrap();
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
        let l = c.readdir(b"d/sub", &[], 0, proto::STAT_ALL).unwrap();
        assert_eq!(l.len(), 1);
        let mut names = l[0].1.clone();
        assert_eq!(names.len(), 3000);
        names.sort_by(|a, b| a.name.cmp(&b.name));
        assert_eq!(names[0].name, b"entry-with-a-longish-name-0");
        let l = c.readdir(b"d", &[], 0, proto::STAT_ALL).unwrap();
        let d = &l[0].1;
        let abs = d.iter().find(|e| e.name == b"abs").unwrap();
        assert_eq!(abs.target.as_deref(), Some(&b"/etc"[..]));
        assert_eq!(d.len(), 4);
        // With a budget, listings below follow while they fit.
        let l = c.readdir(b"", &[], 3004, proto::STAT_ALL).unwrap();
        let paths: Vec<&[u8]> = l.iter().map(|(p, _)| &p[..]).collect();
        assert_eq!(paths, [&b""[..], b"d", b"d/sub"]);
        assert_eq!(l[2].1.len(), 3000);
        let l = c.readdir(b"", &[], 3003, proto::STAT_ALL).unwrap();
        assert_eq!(l.len(), 2);
        assert_eq!(
            c.readdir(b"d/file", &[], 10, proto::STAT_ALL),
            Err(Errno::ENOTDIR)
        );
        // Named subdirectories instead of the directory itself: the first
        // must list, later ones that do not are left out.
        let l = c
            .readdir(b"d", &[b"sub", b"file", b"rel"], 0, proto::STAT_ALL)
            .unwrap();
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].0, b"sub");
        assert_eq!(
            c.readdir(b"d", &[b"file", b"sub"], 0, proto::STAT_ALL),
            Err(Errno::ENOTDIR)
        );
        assert_eq!(
            c.readdir(b"d", &[b".."], 0, proto::STAT_ALL),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            c.readdir(b"d", &[b"a/b"], 0, proto::STAT_ALL),
            Err(Errno::EINVAL)
        );
        // Above the stat limit, files come as names with their type and
        // inode number (the host's `st_ino`); subdirectories still come
        // whole. At or below it, everything is `lstat`ed.
        let l = c.readdir(b"d", &[], 0, 3).unwrap();
        for e in &l[0].1 {
            let (a, _) = c.stat(&[&b"d/"[..], &e.name].concat()).unwrap();
            assert_eq!(e.attr.ino, a.ino);
            assert_eq!(e.attr.mode & libc::S_IFMT, a.mode & libc::S_IFMT);
            assert_eq!(e.stated, e.name == b"sub", "{:?}", e.name);
            assert_eq!(e.target.is_some(), e.stated && a.is_symlink());
        }
        let l = c.readdir(b"d", &[], 0, 4).unwrap();
        assert!(l[0].1.iter().all(|e| e.stated));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Writes `b` at offset 0 of a donated descriptor.
    fn pwrite(fd: &OwnedFd, b: &[u8]) -> isize {
        // SAFETY: writes a live buffer of that length.
        unsafe { libc::pwrite(fd.as_raw_fd(), b.as_ptr().cast(), b.len(), 0) }
    }

    /// A fresh directory `root` to serve, beside `outside` (which holds
    /// a marker file no request may reach).
    fn rw_tree(tag: &str, writable: bool) -> (std::path::PathBuf, Client) {
        let base = std::env::temp_dir().join(format!("gofer-rw-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(base.join("root/d")).unwrap();
        std::fs::create_dir_all(base.join("outside")).unwrap();
        std::fs::write(base.join("outside/marker"), b"secret").unwrap();
        std::fs::write(base.join("root/d/file"), b"hello").unwrap();
        symlink(base.join("outside"), base.join("root/d/out")).unwrap();
        symlink("../../outside/marker", base.join("root/d/rel")).unwrap();
        let root = base.join("root");
        let sock = crate::server::serve_in_thread(root.to_str().unwrap(), writable).unwrap();
        (base, Client::new(sock))
    }

    fn outside_untouched(base: &std::path::Path) {
        let names: Vec<_> = std::fs::read_dir(base.join("outside"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["marker"]);
        assert_eq!(
            std::fs::read(base.join("outside/marker")).unwrap(),
            b"secret"
        );
        let st = std::fs::metadata(base.join("outside/marker")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(st.permissions().mode() & 0o7777, 0o644);
    }

    #[test]
    fn writes_one_component_and_never_follow_symlinks() {
        use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
        let (base, c) = rw_tree("w", true);
        let root = base.join("root");
        // create: O_EXCL, the descriptor is donated read-write.
        let (fd, a) = c.create(b"d/new", libc::O_RDWR, 0o640, 0, 0).unwrap();
        assert_eq!(a.mode, libc::S_IFREG | 0o640);
        assert_eq!(pwrite(&fd, b"data"), 4);
        assert_eq!(std::fs::read(root.join("d/new")).unwrap(), b"data");
        assert_eq!(
            c.create(b"d/new", libc::O_RDWR, 0o600, 0, 0).err(),
            Some(Errno::EEXIST)
        );
        assert_eq!(
            c.create(b"", libc::O_RDWR, 0o600, 0, 0).err(),
            Some(Errno::EEXIST)
        );
        // The owner asked for is given.
        let (_, a) = c
            .create(b"d/owned", libc::O_RDWR, 0o600, 1234, 5678)
            .unwrap();
        assert_eq!((a.uid, a.gid), (1234, 5678));
        // Through a symlink on the way, or at the end: refused, nothing made.
        assert_eq!(
            c.create(b"d/out/x", libc::O_RDWR, 0o600, 0, 0).err(),
            Some(Errno::ENOTDIR)
        );
        assert_eq!(
            c.create(b"d/rel", libc::O_RDWR, 0o600, 0, 0).err(),
            Some(Errno::EEXIST)
        );
        assert_eq!(c.mkdir(b"d/out/x", 0o755, 0, 0).err(), Some(Errno::ENOTDIR));
        // mkdir, mknod (FIFO, socket, regular; never a device), symlink.
        let a = c.mkdir(b"d/sub", 0o750, 0, 0).unwrap();
        assert_eq!(a.mode, libc::S_IFDIR | 0o750);
        c.mknod(b"d/sub/fifo", libc::S_IFIFO | 0o600, 0, 0).unwrap();
        c.mknod(b"d/sub/sock", libc::S_IFSOCK | 0o600, 0, 0)
            .unwrap();
        c.mknod(b"d/sub/reg", libc::S_IFREG | 0o600, 0, 0).unwrap();
        assert!(std::fs::metadata(root.join("d/sub/fifo"))
            .unwrap()
            .file_type()
            .is_fifo());
        assert!(std::fs::metadata(root.join("d/sub/sock"))
            .unwrap()
            .file_type()
            .is_socket());
        assert_eq!(
            c.mknod(b"d/sub/dev", libc::S_IFCHR | 0o600, 0, 0).err(),
            Some(Errno::EPERM)
        );
        assert_eq!(
            c.mknod(b"d/sub/blk", libc::S_IFBLK | 0o600, 0, 0).err(),
            Some(Errno::EPERM)
        );
        let a = c.symlink(b"d/sub/ln", b"/etc/passwd", 0, 0).unwrap();
        assert!(a.is_symlink());
        assert_eq!(c.readlink(b"d/sub/ln").unwrap(), b"/etc/passwd");
        // link: a symlink is linked itself, not its target.
        let a = c.link(b"d/rel", b"d/rel2").unwrap();
        assert!(a.is_symlink());
        assert_eq!(a.nlink, 2);
        assert_eq!(c.link(b"d/out/marker", b"d/m").err(), Some(Errno::ENOTDIR));
        // rename, with renameat2's flags.
        c.rename(b"d/new", b"d/sub/moved", 0).unwrap();
        assert_eq!(std::fs::read(root.join("d/sub/moved")).unwrap(), b"data");
        assert_eq!(
            c.rename(b"d/sub/moved", b"d/file", libc::RENAME_NOREPLACE)
                .err(),
            Some(Errno::EEXIST)
        );
        c.rename(b"d/sub/moved", b"d/file", libc::RENAME_EXCHANGE)
            .unwrap();
        assert_eq!(std::fs::read(root.join("d/file")).unwrap(), b"data");
        assert_eq!(
            c.rename(b"d/file", b"d/out/stolen", 0).err(),
            Some(Errno::ENOTDIR)
        );
        assert_eq!(
            c.rename(b"d/file", b"d/x", 0x100).err(),
            Some(Errno::EINVAL)
        );
        // A directory renamed while it was the cached one.
        c.stat(b"d/sub/reg").unwrap();
        c.rename(b"d/sub", b"d/sub2", 0).unwrap();
        assert_eq!(c.stat(b"d/sub/reg").err(), Some(Errno::ENOENT));
        assert!(c.stat(b"d/sub2/reg").is_ok());
        // setattr: mode, owner, size, times; on a symlink, the link itself.
        let a = c
            .setattr(
                b"d/file",
                &proto::SetAttr {
                    mask: proto::SET_MODE
                        | proto::SET_UID
                        | proto::SET_GID
                        | proto::SET_SIZE
                        | proto::SET_MTIME,
                    mode: 0o4751,
                    uid: 42,
                    gid: 43,
                    size: 2,
                    mtime: (1_000_000, 5),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(
            (a.mode & 0o7777, a.uid, a.gid, a.size, a.mtime),
            (0o4751, 42, 43, 2, (1_000_000, 5))
        );
        let md = std::fs::metadata(root.join("d/file")).unwrap();
        assert_eq!((md.uid(), md.len(), md.mtime()), (42, 2, 1_000_000));
        let chmod = proto::SetAttr {
            mask: proto::SET_MODE,
            mode: 0o777,
            ..Default::default()
        };
        assert_eq!(c.setattr(b"d/rel", &chmod).err(), Some(Errno::EOPNOTSUPP));
        let trunc = proto::SetAttr {
            mask: proto::SET_SIZE,
            size: 0,
            ..Default::default()
        };
        assert!(c.setattr(b"d/rel", &trunc).is_err());
        assert!(c.setattr(b"d/out", &trunc).is_err());
        let own = proto::SetAttr {
            mask: proto::SET_UID,
            uid: 7,
            ..Default::default()
        };
        assert_eq!(c.setattr(b"d/rel", &own).unwrap().uid, 7);
        assert_eq!(
            c.setattr(b"d/out/marker", &chmod).err(),
            Some(Errno::ENOTDIR)
        );
        // Opening for writing.
        let (fd, _) = c.open(b"d/file", libc::O_RDWR | libc::O_TRUNC).unwrap();
        // SAFETY: as above.
        assert_eq!(pwrite(&fd, b"xyz"), 3);
        assert_eq!(std::fs::read(root.join("d/file")).unwrap(), b"xyz");
        // Extended attributes.
        c.setxattr(b"d/file", b"user.k", b"v1", 0).unwrap();
        assert_eq!(
            c.setxattr(b"d/file", b"user.k", b"v2", libc::XATTR_CREATE as u32)
                .err(),
            Some(Errno::EEXIST)
        );
        assert_eq!(c.getxattr(b"d/file", b"user.k").unwrap(), b"v1");
        assert_eq!(c.listxattr(b"d/file").unwrap(), b"user.k\0");
        c.removexattr(b"d/file", b"user.k").unwrap();
        assert_eq!(c.getxattr(b"d/file", b"user.k").err(), Some(Errno::ENODATA));
        assert!(c.setxattr(b"d/rel", b"user.k", b"v", 0).is_err());
        assert_eq!(c.getxattr(b"d/file", b"").err(), Some(Errno::ERANGE));
        // statfs, fsync.
        let fs = c.statfs(b"d").unwrap();
        assert!(fs.bsize > 0 && fs.namelen > 0);
        c.fsync(b"d/file", false).unwrap();
        c.fsync(b"d", true).unwrap();
        // unlink: a symlink itself; a directory only with AT_REMOVEDIR.
        c.unlink(b"d/rel", 0).unwrap();
        c.unlink(b"d/out", 0).unwrap();
        assert!(!root.join("d/out").exists() && base.join("outside").is_dir());
        assert_eq!(c.unlink(b"d/sub2", 0).err(), Some(Errno::EISDIR));
        assert_eq!(
            c.unlink(b"d/sub2", libc::AT_REMOVEDIR).err(),
            Some(Errno::ENOTEMPTY)
        );
        for n in ["fifo", "sock", "reg", "ln", "moved"] {
            c.unlink(format!("d/sub2/{n}").as_bytes(), 0).unwrap();
        }
        c.unlink(b"d/sub2", libc::AT_REMOVEDIR).unwrap();
        assert_eq!(c.unlink(b"", 0).err(), Some(Errno::EBUSY));
        assert_eq!(c.unlink(b"d/../..", 0).err(), Some(Errno::EINVAL));
        assert_eq!(
            c.rename(b"d/file", b"../stolen", 0).err(),
            Some(Errno::EINVAL)
        );
        assert_eq!(
            std::fs::metadata(root.join("d"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o755
        );
        outside_untouched(&base);
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn read_only_refuses_every_write() {
        let (base, c) = rw_tree("ro", false);
        let chmod = proto::SetAttr {
            mask: proto::SET_MODE,
            mode: 0o600,
            ..Default::default()
        };
        assert_eq!(
            c.create(b"d/new", libc::O_RDWR, 0o600, 0, 0).err(),
            Some(Errno::EROFS)
        );
        assert_eq!(c.mkdir(b"d/x", 0o755, 0, 0).err(), Some(Errno::EROFS));
        assert_eq!(
            c.mknod(b"d/x", libc::S_IFIFO | 0o600, 0, 0).err(),
            Some(Errno::EROFS)
        );
        assert_eq!(c.symlink(b"d/x", b"y", 0, 0).err(), Some(Errno::EROFS));
        assert_eq!(c.link(b"d/file", b"d/x").err(), Some(Errno::EROFS));
        assert_eq!(c.unlink(b"d/file", 0).err(), Some(Errno::EROFS));
        assert_eq!(c.rename(b"d/file", b"d/x", 0).err(), Some(Errno::EROFS));
        assert_eq!(c.setattr(b"d/file", &chmod).err(), Some(Errno::EROFS));
        assert_eq!(
            c.setxattr(b"d/file", b"user.k", b"v", 0).err(),
            Some(Errno::EROFS)
        );
        assert_eq!(
            c.removexattr(b"d/file", b"user.k").err(),
            Some(Errno::EROFS)
        );
        for f in [libc::O_RDWR, libc::O_WRONLY, libc::O_TRUNC] {
            assert_eq!(c.open(b"d/file", f).err(), Some(Errno::EROFS));
        }
        // Reads still work.
        assert_eq!(c.stat(b"d/file").unwrap().0.size, 5);
        assert!(c.statfs(b"").is_ok());
        assert_eq!(std::fs::read(base.join("root/d/file")).unwrap(), b"hello");
        outside_untouched(&base);
        std::fs::remove_dir_all(&base).unwrap();
    }

    /// A thread swaps `d/sw` between a directory and a symlink to the
    /// outside while creates, mkdirs, renames, links and unlinks go
    /// through it: nothing ever lands outside.
    #[test]
    fn symlink_swap_race_leads_nowhere() {
        let (base, c) = rw_tree("race", true);
        let root = base.join("root");
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let swapper = {
            let stop = stop.clone();
            let (root, outside) = (root.clone(), base.join("outside"));
            std::thread::spawn(move || {
                let sw = root.join("d/sw");
                let tmp = root.join("d/sw.tmp");
                let _ = std::fs::create_dir(root.join("d/real"));
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = std::fs::remove_file(&tmp);
                    let _ = symlink(&outside, &tmp);
                    let _ = std::fs::rename(&tmp, &sw);
                    let _ = std::fs::remove_file(&tmp);
                    let _ = symlink("real", &tmp);
                    let _ = std::fs::rename(&tmp, &sw);
                }
            })
        };
        let chmod = proto::SetAttr {
            mask: proto::SET_MODE,
            mode: 0o777,
            ..Default::default()
        };
        let t = std::time::Instant::now();
        while t.elapsed() < std::time::Duration::from_millis(600) {
            let _ = c.create(b"d/sw/x", libc::O_RDWR, 0o600, 0, 0);
            let _ = c.mkdir(b"d/sw/dir", 0o755, 0, 0);
            let _ = c.link(b"d/file", b"d/sw/hard");
            let _ = c.rename(b"d/sw/x", b"d/y", 0);
            let _ = c.unlink(b"d/sw/marker", 0);
            let _ = c.setattr(b"d/sw/marker", &chmod);
            let _ = c.setattr(b"d/sw", &chmod);
            let _ = c.unlink(b"d/y", 0);
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        swapper.join().unwrap();
        outside_untouched(&base);
        std::fs::remove_dir_all(&base).unwrap();
    }
}
