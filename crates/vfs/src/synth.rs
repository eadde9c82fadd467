//! Synthetic nodes whose contents are computed on demand (procfs is built
//! from these by the kernel, which knows the tasks).

use std::sync::Arc;

use abi::{Errno, SysResult};

use crate::dentry::Dentry;
use crate::file::FileOps;
use crate::inode::Inode;
use crate::Creds;

/// A file whose contents are generated when it is opened.
pub trait SynthFile: Send + Sync {
    fn generate(&self) -> SysResult<Vec<u8>>;
    /// Writes are refused unless a node accepts them.
    fn write(&self, _data: &[u8]) -> SysResult<usize> {
        Err(Errno::EACCES)
    }
    /// A node that is not a snapshot (`/proc/pid/mem`) serves its own
    /// open file instead of generated contents.
    fn open_ops(&self, _inode: &Arc<Inode>) -> Option<SysResult<Box<dyn FileOps>>> {
        None
    }
}

/// A directory whose entries are computed on demand.
pub trait SynthDir: Send + Sync {
    fn lookup(&self, name: &[u8]) -> SysResult<Arc<Inode>>;
    /// `(name, d_type, ino)` of every entry, without `.` and `..`.
    fn list(&self) -> Vec<(Vec<u8>, u8, u64)>;
    /// Makes a regular file `name` with permission bits `mode` (umask
    /// applied): `open(O_CREAT)` in the directory. Most synthetic
    /// directories refuse.
    fn create(&self, _name: &[u8], _mode: u32, _creds: &Creds) -> SysResult<()> {
        Err(Errno::EACCES)
    }
    /// Makes directory `name`. Most synthetic directories refuse.
    fn mkdir(&self, _name: &[u8]) -> SysResult<()> {
        Err(Errno::EACCES)
    }
    /// Removes entry `name` (`unlink`). Most synthetic directories refuse.
    fn unlink(&self, _name: &[u8]) -> SysResult<()> {
        Err(Errno::EACCES)
    }
    /// For the file system that made it to recognise its own directories.
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        None
    }
}

/// What a synthetic symlink points at. `dentry` makes it a "magic" link
/// (like `/proc/self/fd/N`): following it lands on that exact dentry.
pub struct LinkTarget {
    pub text: Vec<u8>,
    pub dentry: Option<Arc<Dentry>>,
}

pub trait SynthLink: Send + Sync {
    fn target(&self) -> SysResult<LinkTarget>;
}

/// A synthetic file with fixed contents produced by a closure.
pub struct FnFile<F: Fn() -> SysResult<Vec<u8>> + Send + Sync>(pub F);

impl<F: Fn() -> SysResult<Vec<u8>> + Send + Sync> SynthFile for FnFile<F> {
    fn generate(&self) -> SysResult<Vec<u8>> {
        (self.0)()
    }
}

/// A synthetic symlink produced by a closure.
pub struct FnLink<F: Fn() -> SysResult<LinkTarget> + Send + Sync>(pub F);

impl<F: Fn() -> SysResult<LinkTarget> + Send + Sync> SynthLink for FnLink<F> {
    fn target(&self) -> SysResult<LinkTarget> {
        (self.0)()
    }
}
