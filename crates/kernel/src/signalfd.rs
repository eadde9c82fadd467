//! `signalfd`: reading a descriptor takes the caller's pending signals.

use std::sync::{Arc, Mutex};

use abi::fs::{Stat, S_IFREG};
use abi::signal::{SigInfo, SigSet, SIGCHLD};
use abi::{Errno, SysResult};
use vfs::{File, FileOps};
use waiter::{events, Queue};

use crate::task::{lock, TaskShared};

/// The size of `struct signalfd_siginfo`.
pub const RECORD: usize = 128;

pub struct SignalFd {
    /// The creating thread: its process's queue is the one waited on (a
    /// reader in another process, after `fork`, is woken by its own
    /// signals' kicks). The reference cycle through its descriptor table
    /// is broken when the task exits.
    task: Arc<TaskShared>,
    pub mask: Mutex<SigSet>,
    ino: u64,
}

impl SignalFd {
    pub fn new(task: &Arc<TaskShared>, mask: SigSet) -> SignalFd {
        SignalFd {
            task: task.clone(),
            mask: Mutex::new(mask),
            ino: vfs::inode::next_ino(),
        }
    }

    /// The thread whose signals are read: the caller, as Linux's
    /// `current` (another thread of the process, or a child after `fork`,
    /// reads its own), the creator when not called from a task.
    fn reader(&self) -> Arc<TaskShared> {
        crate::procfs::current_task().unwrap_or_else(|| self.task.clone())
    }

    fn take(&self) -> Option<SigInfo> {
        let not_mask = SigSet(!lock(&self.mask).0);
        self.reader().take_pending(not_mask)
    }
}

/// Encodes `struct signalfd_siginfo`.
fn record(info: &SigInfo) -> [u8; RECORD] {
    let mut r = [0u8; RECORD];
    let put32 =
        |r: &mut [u8; RECORD], at: usize, v: u32| r[at..at + 4].copy_from_slice(&v.to_le_bytes());
    let put64 =
        |r: &mut [u8; RECORD], at: usize, v: u64| r[at..at + 8].copy_from_slice(&v.to_le_bytes());
    put32(&mut r, 0, info.signo as u32);
    put32(&mut r, 4, info.errno as u32);
    put32(&mut r, 8, info.code as u32);
    let f0 = info.fields[0];
    put32(&mut r, 12, f0 as u32); // pid
    put32(&mut r, 16, (f0 >> 32) as u32); // uid
    if info.signo == SIGCHLD {
        put32(&mut r, 40, info.fields[1] as u32); // status
    } else {
        put32(&mut r, 44, info.fields[1] as u32); // int
        put64(&mut r, 48, info.fields[1]); // ptr
    }
    put64(&mut r, 72, f0); // addr, for faults
    r
}

impl FileOps for SignalFd {
    fn read(&self, _f: &File, buf: &mut [u8], _off: u64) -> SysResult<usize> {
        if buf.len() < RECORD {
            return Err(Errno::EINVAL);
        }
        let mut n = 0;
        while n + RECORD <= buf.len() {
            match self.take() {
                Some(info) => {
                    buf[n..n + RECORD].copy_from_slice(&record(&info));
                    n += RECORD;
                }
                None => break,
            }
        }
        if n == 0 {
            return Err(Errno::EAGAIN);
        }
        Ok(n)
    }

    fn write(&self, _f: &File, _buf: &[u8], _off: u64) -> SysResult<usize> {
        Err(Errno::EINVAL)
    }

    fn readiness(&self) -> u32 {
        let t = self.reader();
        let not_mask = SigSet(!lock(&self.mask).0);
        if t.pending_deliverable(not_mask) {
            events::IN | events::RDNORM
        } else {
            0
        }
    }

    fn queue(&self) -> Option<&Queue> {
        Some(&self.task.tg.signal_events)
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
        Some(b"anon_inode:[signalfd]".to_vec())
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}
