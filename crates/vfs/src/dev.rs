//! Device files (`/dev/null`, `/dev/zero`, ...) and the `/dev` tree.

use std::sync::Arc;

use abi::fs::*;
use abi::{Errno, SysResult};

use crate::dentry::Dentry;
use crate::file::{File, FileOps};
use crate::inode::{next_ino, Child, Inode, Kind, Meta, DEV_DEVFS};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceKind {
    Null,
    Zero,
    Full,
    Random,
    URandom,
    /// `/dev/tty`: the caller's controlling terminal.
    Tty,
    /// `/dev/ptmx` and `/dev/pts/ptmx`: opening makes a new terminal pair.
    Ptmx,
    /// `/dev/pts/N`: a terminal's slave.
    Pts(u32),
}

impl DeviceKind {
    pub fn rdev(self) -> u64 {
        let (maj, min) = match self {
            DeviceKind::Null => (1, 3),
            DeviceKind::Zero => (1, 5),
            DeviceKind::Full => (1, 7),
            DeviceKind::Random => (1, 8),
            DeviceKind::URandom => (1, 9),
            DeviceKind::Tty => (5, 0),
            DeviceKind::Ptmx => (5, 2),
            DeviceKind::Pts(n) => (crate::tty::devpts::PTS_MAJOR, n as u64),
        };
        makedev(maj, min)
    }
}

pub fn makedev(maj: u64, min: u64) -> u64 {
    ((maj & 0xfff) << 8) | (min & 0xff) | ((min & !0xff) << 12) | ((maj & !0xfff) << 32)
}

/// Fills `buf` with random bytes from the host.
pub fn random_bytes(buf: &mut [u8]) -> SysResult<()> {
    let mut done = 0;
    while done < buf.len() {
        // SAFETY: getrandom into a live buffer of the given length.
        let n = unsafe { libc::getrandom(buf[done..].as_mut_ptr().cast(), buf.len() - done, 0) };
        if n < 0 {
            let e = Errno::last_host();
            if e == Errno::EINTR {
                continue;
            }
            return Err(e);
        }
        done += n as usize;
    }
    Ok(())
}

/// The device behind an open file, if it is one of these.
pub fn kind_of(f: &File) -> Option<DeviceKind> {
    f.ops
        .as_any()
        .and_then(|a| a.downcast_ref::<DeviceOps>())
        .map(|d| d.kind)
}

pub struct DeviceOps {
    pub kind: DeviceKind,
    pub inode: Arc<Inode>,
    pub mf: Arc<mm::MemoryFile>,
}

impl FileOps for DeviceOps {
    fn read(&self, _f: &File, buf: &mut [u8], _off: u64) -> SysResult<usize> {
        match self.kind {
            DeviceKind::Null => Ok(0),
            DeviceKind::Zero | DeviceKind::Full => {
                buf.fill(0);
                Ok(buf.len())
            }
            DeviceKind::Random | DeviceKind::URandom => {
                random_bytes(buf)?;
                Ok(buf.len())
            }
            _ => Err(Errno::EIO),
        }
    }

    fn write(&self, _f: &File, buf: &[u8], _off: u64) -> SysResult<usize> {
        match self.kind {
            DeviceKind::Full => Err(Errno::ENOSPC),
            DeviceKind::Null | DeviceKind::Zero | DeviceKind::Random | DeviceKind::URandom => {
                Ok(buf.len())
            }
            _ => Err(Errno::EIO),
        }
    }

    fn seekable(&self) -> bool {
        true
    }

    fn fixed_position(&self) -> Option<u64> {
        Some(0)
    }

    fn stat(&self, _f: &File) -> SysResult<Stat> {
        Ok(self.inode.stat())
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }

    /// Mapping `/dev/zero` gives fresh zeroed memory (shared between the
    /// processes that share the mapping, for `MAP_SHARED`).
    fn mappable(&self, _f: &File) -> SysResult<Arc<dyn mm::Mappable>> {
        match self.kind {
            DeviceKind::Zero => Ok(Arc::new(mm::MemObject::new(self.mf.clone(), 1 << 46))),
            _ => Err(Errno::ENODEV),
        }
    }
}

fn device(kind: DeviceKind, mode: u32) -> Arc<Inode> {
    let mut m = Meta::new(S_IFCHR | mode, 0, 0);
    m.rdev = kind.rdev();
    Inode::new(next_ino(), DEV_DEVFS, m, Kind::Device(kind))
}

fn symlink(target: &str) -> Arc<Inode> {
    Inode::new(
        next_ino(),
        DEV_DEVFS,
        Meta::new(S_IFLNK | 0o777, 0, 0),
        Kind::Symlink(target.as_bytes().to_vec()),
    )
}

/// Builds the sandbox's `/dev`.
pub fn build_devfs(devpts: &Arc<crate::tty::devpts::Devpts>) -> Arc<Dentry> {
    let root = Dentry::new(b"/", None, Inode::new_dir(DEV_DEVFS, 0o755, None));
    let add = |name: &str, inode: Arc<Inode>| {
        let d = Dentry::new(name.as_bytes(), Some(root.clone()), inode);
        if let Kind::Dir(s) = &root.inode.kind {
            crate::inode::lock(s)
                .children
                .insert(name.as_bytes().to_vec(), Child::Present(d));
        }
    };
    add("null", device(DeviceKind::Null, 0o666));
    add("zero", device(DeviceKind::Zero, 0o666));
    add("full", device(DeviceKind::Full, 0o666));
    add("random", device(DeviceKind::Random, 0o666));
    add("urandom", device(DeviceKind::URandom, 0o666));
    add("tty", device(DeviceKind::Tty, 0o666));
    add("ptmx", device(DeviceKind::Ptmx, 0o666));
    add("fd", symlink("/proc/self/fd"));
    add("stdin", symlink("/proc/self/fd/0"));
    add("stdout", symlink("/proc/self/fd/1"));
    add("stderr", symlink("/proc/self/fd/2"));
    add("shm", Inode::new_dir(DEV_DEVFS, 0o1777, None));
    add("pts", devpts.dir_inode());
    root
}
