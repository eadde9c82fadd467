//! The wire format between the sentry and the gofer.
//!
//! One request, one `SOCK_SEQPACKET` message: an operation byte, then its
//! fields. Integers are little-endian; a path or name is a `u32` length
//! and its bytes. A path is relative to the gofer's root, made of
//! components that are neither empty, `.` nor `..` (the empty path is the
//! root itself).
//!
//! Every answer message starts with an `i32` status: 0, or a positive
//! Linux errno (then nothing follows). What follows a 0 depends on the
//! operation:
//!
//! | op | request | answer |
//! |---|---|---|
//! | [`STAT`] | path | [`Attr`] of the path itself (symlinks not followed), then for a symlink its target's bytes |
//! | [`OPEN`] | `u32` open flags, path | [`Attr`] of the opened file; the descriptor rides along in `SCM_RIGHTS` |
//! | [`READLINK`] | path | the link's target bytes |
//! | [`READDIR`] | `u32` budget, `u32` stat limit, path, `u32` count and that many names of subdirectories (may be none) | one or more messages, each a `u8` "last" flag, then records: [`REC_DIR`] and a path (relative to the one asked for; empty for itself) starts a directory's listing, [`REC_ENTRY`] and an entry (name, [`Attr`], and for a symlink its target) is one entry of the last directory started, possibly in an earlier message; [`REC_NAME`] and a name, a `u8` `d_type` and a `u64` `d_ino` is one not `lstat`ed |
//! | [`CREATE`] | `u32` access mode, `u32` mode, `u32` uid, `u32` gid, path | [`Attr`]; the new file's descriptor (read-write unless asked `O_RDONLY`) rides along |
//! | [`MKDIR`] | `u32` mode, `u32` uid, `u32` gid, path | [`Attr`] |
//! | [`MKNOD`] | `u32` mode (`S_IFREG`, `S_IFIFO` or `S_IFSOCK` only), `u32` uid, `u32` gid, path | [`Attr`] |
//! | [`SYMLINK`] | `u32` uid, `u32` gid, path, target bytes | [`Attr`] |
//! | [`LINK`] | path of the existing file, the new path | [`Attr`] of the file |
//! | [`UNLINK`] | `u32` flags (`AT_REMOVEDIR`), path | nothing |
//! | [`RENAME`] | `u32` `renameat2` flags, old path, new path | nothing |
//! | [`SETATTR`] | a [`SetAttr`], path | [`Attr`] after the change |
//! | [`GETXATTR`] | path, name | the value |
//! | [`SETXATTR`] | `u32` flags (`XATTR_CREATE`/`XATTR_REPLACE`), path, name, value | nothing |
//! | [`LISTXATTR`] | path | the names, each NUL-terminated (as `listxattr` gives them) |
//! | [`REMOVEXATTR`] | path, name | nothing |
//! | [`STATFS`] | path | a [`StatFs`] |
//! | [`FSYNC`] | `u32` 1 for data only, path | nothing |
//!
//! Every operation that names a file acts on the last component of its
//! path in the directory the rest of the path leads to, without
//! following a symlink there or on the way. The operations from
//! [`CREATE`] on that change something are `EROFS` on a gofer serving a
//! read-only mount; [`OPEN`] for writing is too.
//!
//! A directory's entries come in messages of up to [`MAX_MSG`] bytes, so
//! a 50,000-entry directory is a few dozen messages in one exchange. The
//! listing is of the path itself, or, when subdirectory names are given,
//! of those (the first always; a tree walk names the directory it enters
//! and its siblings not listed yet). With a budget, whole listings of the
//! directories below follow (depth first, names in byte order: the order
//! a walk in the sandbox reaches them) while their entries total at most
//! the budget: a tree walk (`find`, `du`, `ls -R`) then costs one
//! exchange per budget's worth of entries instead of one per directory.
//!
//! The stat limit bounds the `lstat`s of a listing: a directory with more
//! entries than the limit has its entries sent as [`REC_NAME`] records
//! (what `getdents` gives: name, type and inode number), except
//! subdirectories and entries of unknown type, which are always
//! `lstat`ed (a tree walk needs a subdirectory's attributes, and a mount
//! point's inode number is not the one `getdents` gives). A listing for
//! `ls -f` of 50,000 files is then 50,000 names and no `lstat`.

use abi::Errno;

/// `lstat` of a path.
pub const STAT: u8 = 1;
/// Open a path; the host descriptor is donated.
pub const OPEN: u8 = 2;
/// The target of a symlink.
pub const READLINK: u8 = 3;
/// Every entry of a directory (without `.` and `..`), with attributes.
pub const READDIR: u8 = 4;

/// Create and open a regular file that does not exist yet (`O_EXCL`).
pub const CREATE: u8 = 5;
pub const MKDIR: u8 = 6;
/// A FIFO, a socket or an empty regular file (never a device).
pub const MKNOD: u8 = 7;
pub const SYMLINK: u8 = 8;
/// A hard link (of the path itself, a symlink not followed).
pub const LINK: u8 = 9;
/// `unlinkat`: a file, or with `AT_REMOVEDIR` an empty directory.
pub const UNLINK: u8 = 10;
/// `renameat2` (`RENAME_NOREPLACE`, `RENAME_EXCHANGE`).
pub const RENAME: u8 = 11;
/// Mode, owner, size, times.
pub const SETATTR: u8 = 12;
pub const GETXATTR: u8 = 13;
pub const SETXATTR: u8 = 14;
pub const LISTXATTR: u8 = 15;
pub const REMOVEXATTR: u8 = 16;
/// The filesystem's `statfs`.
pub const STATFS: u8 = 17;
/// `fsync`/`fdatasync` of a file or directory.
pub const FSYNC: u8 = 18;

/// [`SetAttr`] `mask` bits: which fields apply.
pub const SET_MODE: u32 = 1;
pub const SET_UID: u32 = 2;
pub const SET_GID: u32 = 4;
pub const SET_SIZE: u32 = 8;
/// `atime`/`mtime` apply; a nanosecond field may be `UTIME_NOW`.
pub const SET_ATIME: u32 = 16;
pub const SET_MTIME: u32 = 32;

/// What a [`SETATTR`] changes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SetAttr {
    pub mask: u32,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub atime: (i64, i64),
    pub mtime: (i64, i64),
}

impl SetAttr {
    pub fn put(&self, w: &mut Vec<u8>) {
        for v in [self.mask, self.mode, self.uid, self.gid] {
            w.extend_from_slice(&v.to_le_bytes());
        }
        w.extend_from_slice(&self.size.to_le_bytes());
        for (s, ns) in [self.atime, self.mtime] {
            w.extend_from_slice(&s.to_le_bytes());
            w.extend_from_slice(&ns.to_le_bytes());
        }
    }

    pub fn get(r: &mut Reader) -> Result<SetAttr, Errno> {
        let mut a = SetAttr {
            mask: r.u32()?,
            mode: r.u32()?,
            uid: r.u32()?,
            gid: r.u32()?,
            size: r.u64()?,
            ..SetAttr::default()
        };
        a.atime = (r.i64()?, r.i64()?);
        a.mtime = (r.i64()?, r.i64()?);
        Ok(a)
    }
}

/// A filesystem's `statfs`, as the sandbox's `statfs` reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatFs {
    pub fs_type: u64,
    pub bsize: u64,
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub files: u64,
    pub ffree: u64,
    pub namelen: u64,
    pub frsize: u64,
    pub flags: u64,
}

impl StatFs {
    /// From x86-64's `struct statfs` as the kernel writes it (words:
    /// type, bsize, blocks, bfree, bavail, files, ffree, fsid, namelen,
    /// frsize, flags, spare).
    pub fn from_raw(w: &[u64; 15]) -> StatFs {
        StatFs {
            fs_type: w[0],
            bsize: w[1],
            blocks: w[2],
            bfree: w[3],
            bavail: w[4],
            files: w[5],
            ffree: w[6],
            namelen: w[8],
            frsize: w[9],
            flags: w[10],
        }
    }

    fn fields(&self) -> [u64; 10] {
        [
            self.fs_type,
            self.bsize,
            self.blocks,
            self.bfree,
            self.bavail,
            self.files,
            self.ffree,
            self.namelen,
            self.frsize,
            self.flags,
        ]
    }

    pub fn put(&self, w: &mut Vec<u8>) {
        for v in self.fields() {
            w.extend_from_slice(&v.to_le_bytes());
        }
    }

    pub fn get(r: &mut Reader) -> Result<StatFs, Errno> {
        Ok(StatFs {
            fs_type: r.u64()?,
            bsize: r.u64()?,
            blocks: r.u64()?,
            bfree: r.u64()?,
            bavail: r.u64()?,
            files: r.u64()?,
            ffree: r.u64()?,
            namelen: r.u64()?,
            frsize: r.u64()?,
            flags: r.u64()?,
        })
    }
}

/// The longest extended attribute name and value (`XATTR_NAME_MAX`,
/// and what fits a message).
pub const XATTR_NAME_MAX: usize = 255;
pub const XATTR_VALUE_MAX: usize = 56 * 1024;

/// In a [`READDIR`] answer: the listing of the directory at this path
/// follows.
pub const REC_DIR: u8 = 1;
/// In a [`READDIR`] answer: one entry of the current directory.
pub const REC_ENTRY: u8 = 2;
/// In a [`READDIR`] answer: one entry of the current directory, not
/// `lstat`ed (name, `d_type`, `d_ino`).
pub const REC_NAME: u8 = 3;
/// A [`READDIR`] stat limit: every entry is `lstat`ed.
pub const STAT_ALL: u32 = u32::MAX;

/// The largest message either side sends (well under the socket buffer).
pub const MAX_MSG: usize = 60 * 1024;
/// The longest path a request carries (`PATH_MAX`).
pub const MAX_PATH: usize = 4096;

/// Open flags a request may carry: the gofer adds `O_NOFOLLOW`,
/// `O_CLOEXEC` and `O_NOCTTY` itself. The first two serve reads.
pub const OPEN_FLAGS: u32 = (libc::O_DIRECTORY | libc::O_NONBLOCK) as u32;
/// Flags that write, allowed on a writable mount only.
pub const OPEN_WRITE_FLAGS: u32 = (libc::O_WRONLY | libc::O_RDWR | libc::O_TRUNC) as u32;

/// A file's attributes, as `lstat` gives them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Attr {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u64,
    pub rdev: u64,
    pub size: u64,
    pub ino: u64,
    pub dev: u64,
    pub blksize: u64,
    pub blocks: u64,
    /// `(seconds, nanoseconds)`.
    pub atime: (i64, i64),
    pub mtime: (i64, i64),
    pub ctime: (i64, i64),
}

/// Bytes an [`Attr`] takes on the wire.
pub const ATTR_LEN: usize = 3 * 4 + 7 * 8 + 6 * 8;

impl Attr {
    pub fn from_stat(st: &libc::stat) -> Attr {
        Attr {
            mode: st.st_mode,
            uid: st.st_uid,
            gid: st.st_gid,
            nlink: st.st_nlink,
            rdev: st.st_rdev,
            size: st.st_size as u64,
            ino: st.st_ino,
            dev: st.st_dev,
            blksize: st.st_blksize as u64,
            blocks: st.st_blocks as u64,
            atime: (st.st_atime, st.st_atime_nsec),
            mtime: (st.st_mtime, st.st_mtime_nsec),
            ctime: (st.st_ctime, st.st_ctime_nsec),
        }
    }

    /// A `stat` carrying these attributes.
    pub fn to_stat(&self) -> libc::stat {
        // SAFETY: all-zero is a valid `stat`.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        st.st_mode = self.mode;
        st.st_uid = self.uid;
        st.st_gid = self.gid;
        st.st_nlink = self.nlink;
        st.st_rdev = self.rdev;
        st.st_size = self.size as i64;
        st.st_ino = self.ino;
        st.st_dev = self.dev;
        st.st_blksize = self.blksize as i64;
        st.st_blocks = self.blocks as i64;
        (st.st_atime, st.st_atime_nsec) = self.atime;
        (st.st_mtime, st.st_mtime_nsec) = self.mtime;
        (st.st_ctime, st.st_ctime_nsec) = self.ctime;
        st
    }

    pub fn is_symlink(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFLNK
    }

    pub fn put(&self, w: &mut Vec<u8>) {
        for v in [self.mode, self.uid, self.gid] {
            w.extend_from_slice(&v.to_le_bytes());
        }
        for v in [
            self.nlink,
            self.rdev,
            self.size,
            self.ino,
            self.dev,
            self.blksize,
            self.blocks,
        ] {
            w.extend_from_slice(&v.to_le_bytes());
        }
        for (s, ns) in [self.atime, self.mtime, self.ctime] {
            w.extend_from_slice(&s.to_le_bytes());
            w.extend_from_slice(&ns.to_le_bytes());
        }
    }

    pub fn get(r: &mut Reader) -> Result<Attr, Errno> {
        let mut a = Attr {
            mode: r.u32()?,
            uid: r.u32()?,
            gid: r.u32()?,
            nlink: r.u64()?,
            rdev: r.u64()?,
            size: r.u64()?,
            ino: r.u64()?,
            dev: r.u64()?,
            blksize: r.u64()?,
            blocks: r.u64()?,
            ..Attr::default()
        };
        a.atime = (r.i64()?, r.i64()?);
        a.mtime = (r.i64()?, r.i64()?);
        a.ctime = (r.i64()?, r.i64()?);
        Ok(a)
    }
}

/// One entry of a [`READDIR`] answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    pub name: Vec<u8>,
    /// The entry's attributes; for one not `lstat`ed (`stated` false)
    /// only its type (in `mode`) and inode number.
    pub attr: Attr,
    /// The target, for a symlink that was `lstat`ed.
    pub target: Option<Vec<u8>>,
    /// `attr` is whole (an [`REC_ENTRY`], not an [`REC_NAME`]).
    pub stated: bool,
}

impl DirEntry {
    /// Bytes the entry takes on the wire.
    pub fn wire_len(&self) -> usize {
        4 + self.name.len() + ATTR_LEN + self.target.as_ref().map_or(0, |t| 4 + t.len())
    }

    pub fn put(&self, w: &mut Vec<u8>) {
        put_bytes(w, &self.name);
        self.attr.put(w);
        if let Some(t) = &self.target {
            put_bytes(w, t);
        }
    }

    pub fn get(r: &mut Reader) -> Result<DirEntry, Errno> {
        let name = r.bytes()?.to_vec();
        let attr = Attr::get(r)?;
        let target = if attr.is_symlink() {
            Some(r.bytes()?.to_vec())
        } else {
            None
        };
        Ok(DirEntry {
            name,
            attr,
            target,
            stated: true,
        })
    }

    /// A [`REC_NAME`] record's fields.
    pub fn put_name(w: &mut Vec<u8>, name: &[u8], dtype: u8, ino: u64) {
        put_bytes(w, name);
        w.push(dtype);
        w.extend_from_slice(&ino.to_le_bytes());
    }

    /// An entry from a [`REC_NAME`] record.
    pub fn get_name(r: &mut Reader) -> Result<DirEntry, Errno> {
        let name = r.bytes()?.to_vec();
        let dtype = r.u8()?;
        let ino = r.u64()?;
        Ok(DirEntry {
            name,
            attr: Attr {
                mode: u32::from(dtype) << 12,
                ino,
                ..Attr::default()
            },
            target: None,
            stated: false,
        })
    }
}

pub fn put_bytes(w: &mut Vec<u8>, b: &[u8]) {
    w.extend_from_slice(&(b.len() as u32).to_le_bytes());
    w.extend_from_slice(b);
}

/// Reads fields off a received message; running short is `EIO` (a
/// malformed message, on either side).
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Errno> {
        if self.buf.len() < n {
            return Err(Errno::EIO);
        }
        let (a, b) = self.buf.split_at(n);
        self.buf = b;
        Ok(a)
    }

    pub fn u8(&mut self) -> Result<u8, Errno> {
        Ok(self.take(1)?[0])
    }

    pub fn u32(&mut self) -> Result<u32, Errno> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn i32(&mut self) -> Result<i32, Errno> {
        Ok(self.u32()? as i32)
    }

    pub fn u64(&mut self) -> Result<u64, Errno> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    pub fn i64(&mut self) -> Result<i64, Errno> {
        Ok(self.u64()? as i64)
    }

    pub fn bytes(&mut self) -> Result<&'a [u8], Errno> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// What is left.
    pub fn rest(self) -> &'a [u8] {
        self.buf
    }
}

/// Whether `path` is one the protocol allows: relative, no empty, `.` or
/// `..` component, no NUL, at most [`MAX_PATH`] bytes.
pub fn valid_path(path: &[u8]) -> bool {
    path.len() <= MAX_PATH
        && !path.contains(&0)
        && (path.is_empty()
            || path
                .split(|&b| b == b'/')
                .all(|c| !c.is_empty() && c != b"." && c != b".."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setattr_and_statfs_round_trip() {
        let a = SetAttr {
            mask: SET_MODE | SET_MTIME,
            mode: 0o640,
            uid: 7,
            gid: 8,
            size: 1 << 40,
            atime: (1, 2),
            mtime: (-3, libc::UTIME_NOW),
        };
        let mut w = Vec::new();
        a.put(&mut w);
        assert_eq!(SetAttr::get(&mut Reader::new(&w)), Ok(a));
        let s = StatFs {
            fs_type: 0xef53,
            bsize: 4096,
            namelen: 255,
            ..StatFs::default()
        };
        w.clear();
        s.put(&mut w);
        assert_eq!(StatFs::get(&mut Reader::new(&w)), Ok(s));
        assert_eq!(StatFs::get(&mut Reader::new(&w[..79])), Err(Errno::EIO));
    }

    #[test]
    fn paths() {
        assert!(valid_path(b""));
        assert!(valid_path(b"usr/bin/ls"));
        for bad in [
            &b"/etc"[..],
            b"a//b",
            b"a/",
            b"..",
            b"a/../b",
            b"./a",
            b"a\0b",
        ] {
            assert!(!valid_path(bad), "{bad:?}");
        }
    }

    #[test]
    fn entries_round_trip() {
        let e = DirEntry {
            name: b"link".to_vec(),
            attr: Attr {
                mode: libc::S_IFLNK | 0o777,
                size: 3,
                mtime: (-5, 7),
                ..Attr::default()
            },
            target: Some(b"../x".to_vec()),
            stated: true,
        };
        let mut w = Vec::new();
        e.put(&mut w);
        assert_eq!(w.len(), e.wire_len());
        let mut r = Reader::new(&w);
        assert_eq!(DirEntry::get(&mut r).unwrap(), e);
        assert!(r.is_empty());
        assert_eq!(DirEntry::get(&mut Reader::new(&w[..10])), Err(Errno::EIO));
        // A name-only record carries the type and inode number.
        w.clear();
        DirEntry::put_name(&mut w, b"f", libc::DT_REG, 1 << 40);
        let n = DirEntry::get_name(&mut Reader::new(&w)).unwrap();
        assert_eq!(n.attr.mode, libc::S_IFREG);
        assert_eq!(n.attr.ino, 1 << 40);
        assert!(!n.stated);
        assert_eq!(
            DirEntry::get_name(&mut Reader::new(&w[..9])),
            Err(Errno::EIO)
        );
    }
}
