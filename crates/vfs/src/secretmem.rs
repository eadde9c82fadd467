//! `memfd_secret` files: memory only the processes mapping it can reach.
//!
//! As Linux's `mm/secretmem.c`: the file has a size (set once, by the
//! first `ftruncate`) and can be mapped shared, nothing else: `read` and
//! `write` are `EINVAL`, seeking `ESPIPE`, a private mapping `EINVAL`.
//! Its pages are reachable only through those mappings: the memory
//! manager keeps debuggers (`ptrace`, `/proc/pid/mem`) and other processes
//! (`process_vm_readv`) out ([`Mappable::secret`]). The data lives in the
//! memory file like any memory; the sentry itself can read it, as Linux's
//! kernel can.

use std::sync::Arc;

use abi::fs::{Stat, O_LARGEFILE, O_RDWR};
use abi::{Errno, SysResult};
use mm::{Mappable, MemObject};

use crate::file::{File, FileOps};
use crate::inode::Inode;
use crate::Creds;
use crate::Vfs;

/// What `/proc/pid/fd` and `/proc/pid/maps` show for it.
const NAME: &[u8] = b"/secretmem (deleted)";

struct SecretOps {
    inode: Arc<Inode>,
    obj: Arc<MemObject>,
    /// The one object every mapping of this file shares.
    secret: Arc<Secret>,
}

/// The file's memory object, marked secret.
struct Secret(Arc<MemObject>);

impl Mappable for Secret {
    fn translate(&self, offset: u64) -> Result<(u64, u64), Errno> {
        self.0.translate(offset)
    }
    fn contiguous_before(&self, offset: u64) -> u64 {
        self.0.contiguous_before(offset)
    }
    fn size(&self) -> u64 {
        self.0.size()
    }
    fn secret(&self) -> bool {
        true
    }
}

impl FileOps for SecretOps {
    fn size(&self) -> u64 {
        self.inode.size()
    }

    fn stat(&self, _f: &File) -> SysResult<Stat> {
        Ok(self.inode.stat())
    }

    fn mappable(&self, _f: &File) -> SysResult<Arc<dyn Mappable>> {
        Ok(self.secret.clone())
    }

    /// Only the first size change is allowed (`secretmem_setattr`).
    fn truncate(&self, _f: &File, len: u64) -> SysResult<()> {
        if self.inode.size() != 0 {
            return Err(Errno::EINVAL);
        }
        self.inode.check_resize(len)?;
        self.obj.truncate(len);
        self.inode.touch_modified();
        Ok(())
    }

    fn anon_name(&self) -> Option<Vec<u8>> {
        Some(NAME.to_vec())
    }
}

impl Vfs {
    /// A new `memfd_secret` file, empty until its first `ftruncate`.
    pub fn secret_file(&self, creds: &Creds) -> Arc<File> {
        let inode = self.new_file_inode(0o600, creds);
        let obj = inode
            .mem_object()
            .unwrap_or_else(|| Arc::new(MemObject::new(self.mf.clone(), 0)));
        let secret = Arc::new(Secret(obj.clone()));
        File::new(
            None,
            O_RDWR | O_LARGEFILE,
            Box::new(SecretOps { inode, obj, secret }),
        )
    }
}
