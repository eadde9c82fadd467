//! The gofer's side: answers requests beneath one root directory.
//!
//! Every path is opened with `openat2(RESOLVE_BENEATH |
//! RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)` and `O_NOFOLLOW` from the
//! root descriptor: no component may be a symlink (the sentry resolves
//! symlinks itself and asks again with the target), none may climb out.
//! A last component is then looked at, created, changed or removed with
//! `*at` calls that do not follow it (`AT_SYMLINK_NOFOLLOW`, `O_NOFOLLOW`,
//! or on an `O_PATH | O_NOFOLLOW` descriptor of the file itself with
//! `AT_EMPTY_PATH`). Writes are served only by a writable server
//! ([`Server::writable`]); a read-only one answers them `EROFS` before
//! looking at anything.

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
    /// Whether requests that change the tree are served (else `EROFS`).
    writable: bool,
    /// This process's effective IDs: a new file is given the owner the
    /// sentry asks for only when it differs.
    euid: u32,
    egid: u32,
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

/// `fchmodat2` (Linux 6.6): the only `chmod` that can act on a
/// descriptor of the file itself without following a symlink.
const SYS_FCHMODAT2: libc::c_long = 452;

/// A host call's 0 or -1 as a result.
fn host(r: i32) -> Result<(), Errno> {
    if r < 0 {
        Err(Errno::last_host())
    } else {
        Ok(())
    }
}

/// The `*xattrat` calls (Linux 6.13): extended attributes of a name in
/// a directory, the name not followed. On an older host they answer
/// `ENOSYS`, passed on as `EOPNOTSUPP`.
const SYS_SETXATTRAT: libc::c_long = 463;
const SYS_GETXATTRAT: libc::c_long = 464;
const SYS_LISTXATTRAT: libc::c_long = 465;
const SYS_REMOVEXATTRAT: libc::c_long = 466;

/// `struct xattr_args`.
#[repr(C)]
struct XattrArgs {
    value: u64,
    size: u32,
    flags: u32,
}

/// An `*xattrat` result: the byte count, or the error.
fn xattr_call(r: libc::c_long) -> Result<usize, Errno> {
    if r >= 0 {
        return Ok(r as usize);
    }
    match Errno::last_host() {
        Errno::ENOSYS => Err(Errno::EOPNOTSUPP),
        e => Err(e),
    }
}

/// A directory descriptor a request works in: borrowed (the root, the
/// cached directory) or opened for it.
enum Dir {
    Raw(RawFd),
    Own(OwnedFd),
}

impl Dir {
    fn raw(&self) -> RawFd {
        match self {
            Dir::Raw(fd) => *fd,
            Dir::Own(fd) => fd.as_raw_fd(),
        }
    }
}

/// An extended attribute's name, checked: not empty, at most
/// `XATTR_NAME_MAX`, no NUL.
fn xattr_name(b: &[u8]) -> Result<std::ffi::CString, Errno> {
    if b.is_empty() || b.len() > proto::XATTR_NAME_MAX {
        return Err(Errno::ERANGE);
    }
    std::ffi::CString::new(b).map_err(|_| Errno::EINVAL)
}

/// `a/b` (either may be empty).
fn join(a: &[u8], b: &[u8]) -> Vec<u8> {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_vec(),
        (_, true) => a.to_vec(),
        _ => [a, b"/", b].concat(),
    }
}

/// The entries of directory `fd` as `getdents64` gives them (name,
/// `d_type`, `d_ino`), without `.` and `..`.
fn dir_names(fd: RawFd) -> Result<Vec<(Vec<u8>, u8, u64)>, Errno> {
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
            let ino = u64::from_le_bytes(buf[off..off + 8].try_into().unwrap_or_default());
            let reclen = u16::from_le_bytes([buf[off + 16], buf[off + 17]]) as usize;
            let dtype = buf[off + 18];
            if reclen == 0 || off + reclen > n as usize {
                break;
            }
            let raw = &buf[off + 19..off + reclen];
            off += reclen;
            let len = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
            let name = &raw[..len];
            if name != b"." && name != b".." {
                names.push((name.to_vec(), dtype, ino));
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
            writable: false,
            // SAFETY: geteuid/getegid cannot fail.
            euid: unsafe { libc::geteuid() },
            // SAFETY: as above.
            egid: unsafe { libc::getegid() },
            last_dir: None,
        }
    }

    /// Serves requests that change the tree too (`--overlay=none`, a
    /// read-write volume).
    pub fn writable(mut self, on: bool) -> Server {
        self.writable = on;
        self
    }

    /// Opens `path` beneath the root; `flags` gain `O_NOFOLLOW`,
    /// `O_CLOEXEC` and (unless `O_PATH`, where `openat2` refuses it)
    /// `O_NOCTTY`.
    fn open_beneath(&self, path: &[u8], flags: i32) -> Result<OwnedFd, Errno> {
        self.open_beneath_mode(path, flags, 0)
    }

    /// [`Server::open_beneath`] with a creation mode.
    fn open_beneath_mode(&self, path: &[u8], flags: i32, mode: u32) -> Result<OwnedFd, Errno> {
        let c = cstr(path)?;
        let noctty = if flags & libc::O_PATH == 0 {
            libc::O_NOCTTY
        } else {
            0
        };
        let how = OpenHow {
            flags: (flags | libc::O_NOFOLLOW | libc::O_CLOEXEC | noctty) as u64,
            mode: u64::from(mode),
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
    /// (or its error). In a directory of more than `stat_limit` entries,
    /// only subdirectories and entries of unknown type are `lstat`ed.
    fn readdir(
        &mut self,
        path: &[u8],
        starts: Vec<Vec<u8>>,
        budget: usize,
        stat_limit: usize,
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
            let stat_all = names.len() <= stat_limit;
            for (name, dtype, ino) in names {
                if !stat_all && dtype != libc::DT_DIR && dtype != libc::DT_UNKNOWN {
                    batch.record(proto::REC_NAME, &name, |w| {
                        DirEntry::put_name(w, &name, dtype, ino)
                    })?;
                    continue;
                }
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
                let e = DirEntry {
                    name,
                    attr,
                    target,
                    stated: true,
                };
                batch.record(proto::REC_ENTRY, &e.name, |w| e.put(w))?;
            }
            // This directory's subdirectories come next, first name first.
            stack[below..].reverse();
        }
        batch.finish()
    }

    /// The directory holding the last component of `path` and that
    /// component (`EINVAL` for the root itself, which has no name).
    fn parent(&mut self, path: &[u8]) -> Result<(Dir, std::ffi::CString), Errno> {
        if path.is_empty() {
            return Err(Errno::EINVAL);
        }
        let (dir, name) = split(path);
        let name = cstr(name)?;
        Ok((Dir::Raw(self.dir_fd(dir)?), name))
    }

    /// [`Server::parent`] with a descriptor of its own (for a request
    /// naming two paths: the cached one would be replaced).
    fn parent_owned(&self, path: &[u8]) -> Result<(Dir, std::ffi::CString), Errno> {
        if path.is_empty() {
            return Err(Errno::EINVAL);
        }
        let (dir, name) = split(path);
        let name = cstr(name)?;
        if dir.is_empty() {
            return Ok((Dir::Raw(self.root.as_raw_fd()), name));
        }
        Ok((
            Dir::Own(self.open_beneath(dir, libc::O_PATH | libc::O_DIRECTORY)?),
            name,
        ))
    }

    /// Gives a file just made the owner the sentry asked for.
    fn chown_new(
        &self,
        dir: RawFd,
        name: &std::ffi::CStr,
        uid: u32,
        gid: u32,
    ) -> Result<(), Errno> {
        if uid == self.euid && gid == self.egid {
            return Ok(());
        }
        // SAFETY: valid descriptor and name; the link itself is changed.
        host(unsafe { libc::fchownat(dir, name.as_ptr(), uid, gid, libc::AT_SYMLINK_NOFOLLOW) })
    }

    /// Makes a node by `make` (`mkdirat`, `mknodat`, `symlinkat` of the
    /// name in the directory), gives it its owner and returns its
    /// attributes. A failure after the node was made removes it again.
    /// The sandbox's mode for a node just made, when this process's
    /// umask took bits off (the gofer process runs with umask 0; a
    /// server thread in another process may not).
    fn exact_mode(
        &self,
        dir: RawFd,
        name: &std::ffi::CStr,
        a: Attr,
        mode: u32,
    ) -> Result<Attr, Errno> {
        if a.is_symlink() || a.mode & 0o7777 == mode & 0o7777 {
            return Ok(a);
        }
        // SAFETY: valid descriptor and name; the node itself.
        host(unsafe {
            libc::syscall(
                SYS_FCHMODAT2,
                dir,
                name.as_ptr(),
                mode & 0o7777,
                libc::AT_SYMLINK_NOFOLLOW,
            ) as i32
        })?;
        lstat_at(dir, name)
    }

    #[allow(clippy::too_many_arguments)]
    fn make(
        &mut self,
        path: &[u8],
        uid: u32,
        gid: u32,
        mode: u32,
        is_dir: bool,
        make: impl FnOnce(RawFd, &std::ffi::CStr) -> i32,
    ) -> Result<Attr, Errno> {
        let (dir, name) = self.parent(path)?;
        host(make(dir.raw(), &name))?;
        let done = self
            .chown_new(dir.raw(), &name, uid, gid)
            .and_then(|_| lstat_at(dir.raw(), &name))
            .and_then(|a| self.exact_mode(dir.raw(), &name, a, mode));
        if done.is_err() {
            let flags = if is_dir { libc::AT_REMOVEDIR } else { 0 };
            // SAFETY: removes what was just made, by name in its directory.
            unsafe { libc::unlinkat(dir.raw(), name.as_ptr(), flags) };
        }
        done
    }

    fn create(
        &mut self,
        path: &[u8],
        acc: u32,
        mode: u32,
        uid: u32,
        gid: u32,
    ) -> Result<(OwnedFd, Attr), Errno> {
        let acc = match acc as i32 {
            libc::O_RDONLY => libc::O_RDONLY,
            libc::O_WRONLY | libc::O_RDWR => libc::O_RDWR,
            _ => return Err(Errno::EINVAL),
        };
        if path.is_empty() {
            return Err(Errno::EEXIST);
        }
        let fd = self.open_beneath_mode(path, acc | libc::O_CREAT | libc::O_EXCL, mode & 0o7777)?;
        if uid != self.euid || gid != self.egid {
            // SAFETY: the descriptor of the file just made.
            let r = unsafe { libc::fchown(fd.as_raw_fd(), uid, gid) };
            if r != 0 {
                let e = Errno::last_host();
                if let Ok((dir, name)) = self.parent(path) {
                    // SAFETY: removes the file just made, by name.
                    unsafe { libc::unlinkat(dir.raw(), name.as_ptr(), 0) };
                }
                return Err(e);
            }
        }
        let mut a = fstat(fd.as_raw_fd())?;
        if a.mode & 0o7777 != mode & 0o7777 {
            // A umask of this process's took bits off.
            // SAFETY: the descriptor of the file just made.
            host(unsafe { libc::fchmod(fd.as_raw_fd(), mode & 0o7777) })?;
            a = fstat(fd.as_raw_fd())?;
        }
        Ok((fd, a))
    }

    fn link(&mut self, old: &[u8], new: &[u8]) -> Result<Attr, Errno> {
        let (od, on) = self.parent_owned(old)?;
        let (nd, nn) = self.parent_owned(new)?;
        // No AT_SYMLINK_FOLLOW: a symlink is linked itself.
        // SAFETY: valid descriptors and names.
        host(unsafe { libc::linkat(od.raw(), on.as_ptr(), nd.raw(), nn.as_ptr(), 0) })?;
        lstat_at(nd.raw(), &nn)
    }

    fn rename(&mut self, old: &[u8], new: &[u8], flags: u32) -> Result<(), Errno> {
        if flags & !(libc::RENAME_NOREPLACE | libc::RENAME_EXCHANGE) != 0 {
            return Err(Errno::EINVAL);
        }
        let (od, on) = self.parent_owned(old)?;
        let (nd, nn) = self.parent_owned(new)?;
        // A directory renamed may be the cached one, under its old path.
        self.last_dir = None;
        // SAFETY: valid descriptors and names.
        host(unsafe {
            libc::syscall(
                libc::SYS_renameat2,
                od.raw(),
                on.as_ptr(),
                nd.raw(),
                nn.as_ptr(),
                flags,
            ) as i32
        })
    }

    fn unlink(&mut self, path: &[u8], flags: u32) -> Result<(), Errno> {
        if flags & !(libc::AT_REMOVEDIR as u32) != 0 {
            return Err(Errno::EINVAL);
        }
        if path.is_empty() {
            return Err(Errno::EBUSY);
        }
        let (dir, name) = self.parent(path)?;
        // SAFETY: valid descriptor and name.
        let r = host(unsafe { libc::unlinkat(dir.raw(), name.as_ptr(), flags as i32) });
        drop(dir);
        if flags != 0 {
            // The cached directory may be the one removed.
            self.last_dir = None;
        }
        r
    }

    /// An `O_PATH` descriptor of the file itself (a symlink not followed).
    fn object(&self, path: &[u8]) -> Result<OwnedFd, Errno> {
        self.open_beneath(path, libc::O_PATH)
    }

    fn setattr(&mut self, path: &[u8], a: &proto::SetAttr) -> Result<Attr, Errno> {
        let known = proto::SET_MODE
            | proto::SET_UID
            | proto::SET_GID
            | proto::SET_SIZE
            | proto::SET_ATIME
            | proto::SET_MTIME;
        if a.mask & !known != 0 {
            return Err(Errno::EINVAL);
        }
        let obj = self.object(path)?;
        let fd = obj.as_raw_fd();
        if a.mask & proto::SET_SIZE != 0 {
            let size = i64::try_from(a.size).map_err(|_| Errno::EFBIG)?;
            // Through a descriptor for writing: a symlink or a directory
            // fails here (O_NOFOLLOW, EISDIR), as truncate(2) would.
            let w = self.open_beneath(path, libc::O_WRONLY | libc::O_NONBLOCK)?;
            // SAFETY: our own descriptor.
            host(unsafe { libc::ftruncate(w.as_raw_fd(), size) })?;
        }
        if a.mask & (proto::SET_UID | proto::SET_GID) != 0 {
            let uid = if a.mask & proto::SET_UID != 0 {
                a.uid
            } else {
                u32::MAX
            };
            let gid = if a.mask & proto::SET_GID != 0 {
                a.gid
            } else {
                u32::MAX
            };
            // SAFETY: the object's own descriptor, empty path.
            host(unsafe { libc::fchownat(fd, c"".as_ptr(), uid, gid, libc::AT_EMPTY_PATH) })?;
        }
        if a.mask & proto::SET_MODE != 0 {
            // fchmodat2: the object itself; EOPNOTSUPP for a symlink.
            // SAFETY: the object's own descriptor, empty path.
            host(unsafe {
                libc::syscall(
                    SYS_FCHMODAT2,
                    fd,
                    c"".as_ptr(),
                    a.mode & 0o7777,
                    libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW,
                ) as i32
            })?;
        }
        if a.mask & (proto::SET_ATIME | proto::SET_MTIME) != 0 {
            let ts = |on: bool, t: (i64, i64)| libc::timespec {
                tv_sec: if on { t.0 } else { 0 },
                tv_nsec: if on { t.1 } else { libc::UTIME_OMIT },
            };
            let times = [
                ts(a.mask & proto::SET_ATIME != 0, a.atime),
                ts(a.mask & proto::SET_MTIME != 0, a.mtime),
            ];
            // SAFETY: the object's own descriptor, empty path, two times.
            host(unsafe {
                libc::syscall(
                    libc::SYS_utimensat,
                    fd,
                    c"".as_ptr(),
                    times.as_ptr(),
                    libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW,
                ) as i32
            })?;
        }
        fstat(fd)
    }

    /// The directory of `path`'s last component and that component, for
    /// the `*xattrat` calls (the root itself: the root and `.`).
    fn xattr_target(&mut self, path: &[u8]) -> Result<(Dir, std::ffi::CString), Errno> {
        if path.is_empty() {
            return Ok((Dir::Raw(self.root.as_raw_fd()), cstr(b"")?));
        }
        self.parent(path)
    }
    fn statfs(&mut self, path: &[u8]) -> Result<proto::StatFs, Errno> {
        let obj = self.object(path)?;
        let mut w = [0u64; 15];
        // SAFETY: fstatfs writes a `struct statfs` (15 words on x86-64)
        // into the array.
        host(unsafe { libc::syscall(libc::SYS_fstatfs, obj.as_raw_fd(), w.as_mut_ptr()) as i32 })?;
        Ok(proto::StatFs::from_raw(&w))
    }

    fn fsync(&mut self, path: &[u8], data_only: bool) -> Result<(), Errno> {
        let f = self.open_beneath(path, libc::O_RDONLY | libc::O_NONBLOCK)?;
        // SAFETY: our own descriptor.
        host(unsafe {
            if data_only {
                libc::fdatasync(f.as_raw_fd())
            } else {
                libc::fsync(f.as_raw_fd())
            }
        })
    }

    /// Serves one parsed request into `out` (after the status word);
    /// a descriptor to donate goes to `fd`.
    fn serve_op(
        &mut self,
        op: u8,
        r: &mut Reader,
        out: &mut Vec<u8>,
        fd: &mut Option<OwnedFd>,
    ) -> Result<(), Errno> {
        let path_of = |r: &mut Reader<'_>| -> Result<Vec<u8>, Errno> {
            let p = r.bytes()?;
            if !proto::valid_path(p) {
                return Err(Errno::EINVAL);
            }
            Ok(p.to_vec())
        };
        let done = |r: &Reader<'_>| {
            if r.is_empty() {
                Ok(())
            } else {
                Err(Errno::EINVAL)
            }
        };
        let writes = matches!(
            op,
            proto::CREATE
                | proto::MKDIR
                | proto::MKNOD
                | proto::SYMLINK
                | proto::LINK
                | proto::UNLINK
                | proto::RENAME
                | proto::SETATTR
                | proto::SETXATTR
                | proto::REMOVEXATTR
        );
        if writes && !self.writable {
            return Err(Errno::EROFS);
        }
        match op {
            proto::STAT => {
                let path = path_of(r)?;
                done(r)?;
                let a = self.stat(&path)?;
                a.put(out);
                // A symlink's target comes along: the sentry would ask next.
                if a.is_symlink() {
                    out.extend(self.readlink(&path)?);
                }
            }
            proto::READLINK => {
                let path = path_of(r)?;
                done(r)?;
                out.extend(self.readlink(&path)?);
            }
            proto::OPEN => {
                let flags = r.u32()?;
                let path = path_of(r)?;
                done(r)?;
                if flags & !(proto::OPEN_FLAGS | proto::OPEN_WRITE_FLAGS) != 0 {
                    return Err(Errno::EINVAL);
                }
                if flags & proto::OPEN_WRITE_FLAGS != 0 && !self.writable {
                    return Err(Errno::EROFS);
                }
                let f = self.open_beneath(&path, flags as i32)?;
                fstat(f.as_raw_fd())?.put(out);
                *fd = Some(f);
            }
            proto::CREATE => {
                let (acc, mode, uid, gid) = (r.u32()?, r.u32()?, r.u32()?, r.u32()?);
                let path = path_of(r)?;
                done(r)?;
                let (f, a) = self.create(&path, acc, mode, uid, gid)?;
                a.put(out);
                *fd = Some(f);
            }
            proto::MKDIR => {
                let (mode, uid, gid) = (r.u32()?, r.u32()?, r.u32()?);
                let path = path_of(r)?;
                done(r)?;
                self.make(&path, uid, gid, mode, true, |d, n| {
                    // SAFETY: valid descriptor and name.
                    unsafe { libc::mkdirat(d, n.as_ptr(), mode & 0o7777) }
                })?
                .put(out);
            }
            proto::MKNOD => {
                let (mode, uid, gid) = (r.u32()?, r.u32()?, r.u32()?);
                let path = path_of(r)?;
                done(r)?;
                // Never a device: the sandbox's devices are its own.
                if !matches!(
                    mode & libc::S_IFMT,
                    libc::S_IFREG | libc::S_IFIFO | libc::S_IFSOCK
                ) {
                    return Err(Errno::EPERM);
                }
                self.make(&path, uid, gid, mode, false, |d, n| {
                    // SAFETY: valid descriptor and name.
                    unsafe { libc::mknodat(d, n.as_ptr(), mode & (libc::S_IFMT | 0o7777), 0) }
                })?
                .put(out);
            }
            proto::SYMLINK => {
                let (uid, gid) = (r.u32()?, r.u32()?);
                let path = path_of(r)?;
                let target = r.bytes()?;
                done(r)?;
                if target.is_empty() || target.len() >= proto::MAX_PATH {
                    return Err(Errno::ENOENT);
                }
                let target = std::ffi::CString::new(target).map_err(|_| Errno::EINVAL)?;
                self.make(&path, uid, gid, 0o777, false, |d, n| {
                    // SAFETY: valid descriptor, name and target.
                    unsafe { libc::symlinkat(target.as_ptr(), d, n.as_ptr()) }
                })?
                .put(out);
            }
            proto::LINK => {
                let old = path_of(r)?;
                let new = path_of(r)?;
                done(r)?;
                self.link(&old, &new)?.put(out);
            }
            proto::UNLINK => {
                let flags = r.u32()?;
                let path = path_of(r)?;
                done(r)?;
                self.unlink(&path, flags)?;
            }
            proto::RENAME => {
                let flags = r.u32()?;
                let old = path_of(r)?;
                let new = path_of(r)?;
                done(r)?;
                self.rename(&old, &new, flags)?;
            }
            proto::SETATTR => {
                let a = proto::SetAttr::get(r)?;
                let path = path_of(r)?;
                done(r)?;
                self.setattr(&path, &a)?.put(out);
            }
            proto::GETXATTR => {
                let path = path_of(r)?;
                let name = xattr_name(r.bytes()?)?;
                done(r)?;
                let (dir, file) = self.xattr_target(&path)?;
                let mut buf = vec![0u8; proto::XATTR_VALUE_MAX];
                let mut args = XattrArgs {
                    value: buf.as_mut_ptr() as u64,
                    size: buf.len() as u32,
                    flags: 0,
                };
                // SAFETY: valid descriptor and names; `args` points at a
                // live buffer of the size it gives.
                let n = xattr_call(unsafe {
                    libc::syscall(
                        SYS_GETXATTRAT,
                        dir.raw(),
                        file.as_ptr(),
                        libc::AT_SYMLINK_NOFOLLOW,
                        name.as_ptr(),
                        &mut args as *mut XattrArgs,
                        std::mem::size_of::<XattrArgs>(),
                    )
                })?;
                out.extend_from_slice(&buf[..n]);
            }
            proto::SETXATTR => {
                let flags = r.u32()?;
                let path = path_of(r)?;
                let name = xattr_name(r.bytes()?)?;
                let value = r.bytes()?;
                done(r)?;
                if flags & !(libc::XATTR_CREATE | libc::XATTR_REPLACE) as u32 != 0 {
                    return Err(Errno::EINVAL);
                }
                let (dir, file) = self.xattr_target(&path)?;
                let args = XattrArgs {
                    value: value.as_ptr() as u64,
                    size: value.len() as u32,
                    flags,
                };
                // SAFETY: valid descriptor and names; `args` points at the
                // value, of the size it gives.
                xattr_call(unsafe {
                    libc::syscall(
                        SYS_SETXATTRAT,
                        dir.raw(),
                        file.as_ptr(),
                        libc::AT_SYMLINK_NOFOLLOW,
                        name.as_ptr(),
                        &args as *const XattrArgs,
                        std::mem::size_of::<XattrArgs>(),
                    )
                })?;
            }
            proto::LISTXATTR => {
                let path = path_of(r)?;
                done(r)?;
                let (dir, file) = self.xattr_target(&path)?;
                let mut buf = vec![0u8; proto::XATTR_VALUE_MAX];
                // SAFETY: valid descriptor and name, a buffer of that length.
                let n = xattr_call(unsafe {
                    libc::syscall(
                        SYS_LISTXATTRAT,
                        dir.raw(),
                        file.as_ptr(),
                        libc::AT_SYMLINK_NOFOLLOW,
                        buf.as_mut_ptr(),
                        buf.len(),
                    )
                })?;
                out.extend_from_slice(&buf[..n]);
            }
            proto::REMOVEXATTR => {
                let path = path_of(r)?;
                let name = xattr_name(r.bytes()?)?;
                done(r)?;
                let (dir, file) = self.xattr_target(&path)?;
                // SAFETY: valid descriptor and names.
                xattr_call(unsafe {
                    libc::syscall(
                        SYS_REMOVEXATTRAT,
                        dir.raw(),
                        file.as_ptr(),
                        libc::AT_SYMLINK_NOFOLLOW,
                        name.as_ptr(),
                    )
                })?;
            }
            proto::STATFS => {
                let path = path_of(r)?;
                done(r)?;
                self.statfs(&path)?.put(out);
            }
            proto::FSYNC => {
                let data_only = r.u32()? != 0;
                let path = path_of(r)?;
                done(r)?;
                self.fsync(&path, data_only)?;
            }
            _ => return Err(Errno::ENOSYS),
        }
        Ok(())
    }

    /// Answers one request; `Err` only for a failure to answer.
    fn answer(&mut self, req: &[u8], out: &mut Vec<u8>) -> Result<(), Errno> {
        let mut r = Reader::new(req);
        out.clear();
        out.extend_from_slice(&0i32.to_le_bytes());
        let mut fd = None;
        let result = match r.u8() {
            Err(e) => Err(e),
            Ok(proto::READDIR) => {
                let parsed = (|| {
                    let budget = r.u32()?;
                    let stat_limit = r.u32()?;
                    let path = r.bytes()?;
                    let mut starts = Vec::new();
                    for _ in 0..r.u32()? {
                        let name = r.bytes()?;
                        if name.is_empty() || name.contains(&b'/') || !proto::valid_path(name) {
                            return Err(Errno::EINVAL);
                        }
                        starts.push(name.to_vec());
                    }
                    if !r.is_empty() || !proto::valid_path(path) {
                        return Err(Errno::EINVAL);
                    }
                    Ok((budget, stat_limit, path.to_vec(), starts))
                })();
                match parsed.and_then(|(budget, limit, path, starts)| {
                    self.readdir(&path, starts, budget as usize, limit as usize, out)
                }) {
                    Ok(()) => return Ok(()),
                    Err(e) => Err(e),
                }
            }
            Ok(op) => self.serve_op(op, &mut r, out, &mut fd),
        };
        if let Err(e) = result {
            fd = None;
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
/// without a gofer process), with writes if `writable`; returns the
/// client's end.
pub fn serve_in_thread(dir: &str, writable: bool) -> Result<OwnedFd, Errno> {
    let root = open_root(dir)?;
    let (ours, theirs) = socket_pair()?;
    std::thread::Builder::new()
        .name("gofer".into())
        .spawn(move || Server::new(root, theirs).writable(writable).serve())
        .map_err(|_| Errno::EAGAIN)?;
    Ok(ours)
}
