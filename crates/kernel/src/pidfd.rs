//! Process file descriptors (`pidfd_open`, `CLONE_PIDFD`): readable when the
//! process has exited; usable for signals, `waitid(P_PIDFD)` and
//! `pidfd_getfd`.

use std::sync::Arc;

use abi::fs::{Stat, S_IFREG};
use abi::{Errno, SysResult};
use vfs::{File, FileOps};
use waiter::{events, Queue};

use crate::task::ThreadGroup;

pub struct PidFd {
    pub tg: Arc<ThreadGroup>,
    ino: u64,
}

impl PidFd {
    pub fn new(tg: Arc<ThreadGroup>) -> PidFd {
        PidFd {
            tg,
            ino: vfs::inode::next_ino(),
        }
    }
}

impl FileOps for PidFd {
    fn read(&self, _f: &File, _buf: &mut [u8], _off: u64) -> SysResult<usize> {
        Err(Errno::EINVAL)
    }

    fn write(&self, _f: &File, _buf: &[u8], _off: u64) -> SysResult<usize> {
        Err(Errno::EINVAL)
    }

    fn readiness(&self) -> u32 {
        if self.tg.is_zombie() {
            events::IN | events::RDNORM | events::HUP
        } else {
            0
        }
    }

    fn queue(&self) -> Option<&Queue> {
        Some(&self.tg.exit_events)
    }

    fn stat(&self, _f: &File) -> SysResult<Stat> {
        Ok(Stat {
            ino: self.ino,
            nlink: 1,
            mode: S_IFREG | 0o600,
            blksize: 4096,
            ..Default::default()
        })
    }

    fn anon_name(&self) -> Option<Vec<u8>> {
        Some(b"anon_inode:[pidfd]".to_vec())
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

/// The process behind a pidfd.
pub fn target(f: &File) -> SysResult<Arc<ThreadGroup>> {
    f.ops
        .as_any()
        .and_then(|x| x.downcast_ref::<PidFd>())
        .map(|p| p.tg.clone())
        .ok_or(Errno::EBADF)
}
