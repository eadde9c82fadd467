//! The userfaultfd descriptor: the UFFDIO ioctls and the fault messages
//! `read` returns. The context itself (what registered ranges point at
//! and faulting tasks wait on) is `mm::Userfault`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use abi::fs::*;
use abi::mman::*;
use abi::{Errno, SysResult};
use mm::{MemoryManager, Userfault};
use waiter::{events, Queue};

use crate::epoll::anon_stat;
use crate::file::{File, FileOps};

/// The ioctls UFFDIO_API reports.
const API_IOCTLS: u64 = 1 << _UFFDIO_REGISTER | 1 << _UFFDIO_UNREGISTER | 1 << _UFFDIO_API;
/// The ioctls UFFDIO_REGISTER reports for a registered range.
const RANGE_IOCTLS: u64 = 1 << _UFFDIO_WAKE | 1 << _UFFDIO_COPY | 1 << _UFFDIO_ZEROPAGE;

pub struct UserfaultFile {
    uf: Arc<Userfault>,
    /// The file is `O_NONBLOCK`: only then does poll report messages
    /// (Linux: a blocking userfaultfd polls as `POLLERR`, since a fault
    /// may be woken before it is read).
    nonblock: AtomicBool,
}

impl Drop for UserfaultFile {
    /// The last close: waiting faults go on, registered ranges become
    /// ordinary memory.
    fn drop(&mut self) {
        self.uf.release();
    }
}

/// A new userfaultfd for address space `mm_id`; `flags` are file status
/// flags (`O_NONBLOCK`).
pub fn new_file(mm_id: u64, flags: u32) -> Arc<File> {
    File::new(
        None,
        O_RDWR | (flags & O_NONBLOCK),
        Box::new(UserfaultFile {
            uf: Arc::new(Userfault::new(mm_id)),
            nonblock: AtomicBool::new(flags & O_NONBLOCK != 0),
        }),
    )
}

impl UserfaultFile {
    fn api(&self, arg: u64, mm: &mut MemoryManager) -> SysResult<u64> {
        let mut a: [u64; 3] = mm.read_obj(arg)?;
        let r = if a[0] != UFFD_API {
            Err(Errno::EINVAL)
        } else {
            self.uf.enable(a[1])
        };
        // As Linux: a refusal zeroes the structure, a success reports
        // every feature and ioctl available.
        a = match r {
            Ok(()) => [UFFD_API, mm::userfault::FEATURES, API_IOCTLS],
            Err(_) => [0; 3],
        };
        mm.write_obj(arg, &a)?;
        r.map(|()| 0)
    }

    fn register(&self, arg: u64, mm: &mut MemoryManager) -> SysResult<u64> {
        let mut r: [u64; 4] = mm.read_obj(arg)?;
        let mode = r[2];
        let known =
            UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP | UFFDIO_REGISTER_MODE_MINOR;
        // Write-protect and minor-fault modes are not implemented.
        if mode & !known != 0 || mode != UFFDIO_REGISTER_MODE_MISSING {
            return Err(Errno::EINVAL);
        }
        mm.userfault_register(&self.uf, r[0], r[1])?;
        r[3] = RANGE_IOCTLS;
        mm.write_obj(arg, &r)?;
        Ok(0)
    }

    fn unregister(&self, arg: u64, mm: &mut MemoryManager) -> SysResult<u64> {
        let r: [u64; 2] = mm.read_obj(arg)?;
        mm.userfault_unregister(&self.uf, r[0], r[1])?;
        Ok(0)
    }

    fn wake(&self, arg: u64, mm: &mut MemoryManager) -> SysResult<u64> {
        let r: [u64; 2] = mm.read_obj(arg)?;
        let end = mm.userfault_range(r[0], r[1])?;
        self.uf.wake(r[0], end);
        Ok(0)
    }

    /// UFFDIO_COPY: the result (bytes or a negative errno) goes into
    /// the structure's `copy` field; a partial copy is `EAGAIN`.
    fn copy(&self, arg: u64, mm: &mut MemoryManager) -> SysResult<u64> {
        let c: [u64; 4] = mm.read_obj(arg)?;
        let [dst, src, len, mode] = c;
        if len == 0 || src < 0x10000 || src >= mm.max_addr() || len > mm.max_addr() - src {
            return Err(Errno::EINVAL);
        }
        mm.userfault_range(dst, len)?;
        // UFFDIO_COPY_MODE_WP needs write-protect mode, not implemented.
        if mode & !UFFDIO_COPY_MODE_DONTWAKE != 0 {
            return Err(Errno::EINVAL);
        }
        let r = mm.userfault_fill(&self.uf, dst, len, Some(src));
        self.filled(
            mm,
            arg + 32,
            dst,
            len,
            r,
            mode & UFFDIO_COPY_MODE_DONTWAKE == 0,
        )
    }

    /// UFFDIO_ZEROPAGE: as [`UserfaultFile::copy`], with zeroes.
    fn zeropage(&self, arg: u64, mm: &mut MemoryManager) -> SysResult<u64> {
        let z: [u64; 3] = mm.read_obj(arg)?;
        let [dst, len, mode] = z;
        mm.userfault_range(dst, len)?;
        if mode & !UFFDIO_ZEROPAGE_MODE_DONTWAKE != 0 {
            return Err(Errno::EINVAL);
        }
        let r = mm.userfault_fill(&self.uf, dst, len, None);
        self.filled(
            mm,
            arg + 24,
            dst,
            len,
            r,
            mode & UFFDIO_ZEROPAGE_MODE_DONTWAKE == 0,
        )
    }

    /// Reports a fill's result at `field` and wakes the faults it served.
    fn filled(
        &self,
        mm: &mut MemoryManager,
        field: u64,
        dst: u64,
        len: u64,
        r: SysResult<u64>,
        wake: bool,
    ) -> SysResult<u64> {
        let reported = match r {
            Ok(n) => n as i64,
            Err(e) => -(e.0 as i64),
        };
        mm.write_obj(field, &reported)?;
        let n = r?;
        if wake {
            self.uf.wake(dst, dst + n);
        }
        if n == len {
            Ok(0)
        } else {
            Err(Errno::EAGAIN)
        }
    }
}

impl FileOps for UserfaultFile {
    /// One `struct uffd_msg` per call (the buffer's size rounded down to
    /// messages, at least one); `EAGAIN` while none waits.
    fn read(&self, _f: &File, buf: &mut [u8], _off: u64) -> SysResult<usize> {
        if !self.uf.enabled() || buf.len() < UFFD_MSG_SIZE {
            return Err(Errno::EINVAL);
        }
        let mut n = 0;
        while buf.len() - n >= UFFD_MSG_SIZE {
            let Some(m) = self.uf.take_message() else {
                break;
            };
            buf[n..n + UFFD_MSG_SIZE].copy_from_slice(&m);
            n += UFFD_MSG_SIZE;
        }
        if n == 0 {
            return Err(Errno::EAGAIN);
        }
        Ok(n)
    }

    fn readiness(&self) -> u32 {
        if !self.uf.enabled() || !self.nonblock.load(Ordering::Relaxed) {
            return events::ERR;
        }
        if self.uf.has_message() {
            events::IN | events::RDNORM
        } else {
            0
        }
    }

    fn queue(&self) -> Option<&Queue> {
        Some(&self.uf.readers)
    }

    fn flags_changed(&self, flags: u32) {
        self.nonblock
            .store(flags & O_NONBLOCK != 0, Ordering::Relaxed);
    }

    fn ioctl(&self, _f: &File, cmd: u32, arg: u64, mm: &mut MemoryManager) -> SysResult<u64> {
        if cmd == UFFDIO_API {
            return self.api(arg, mm);
        }
        if !self.uf.enabled() {
            return Err(Errno::EINVAL);
        }
        // The ranges are those of the address space the userfaultfd was
        // made in; another process holding it (a fork child) cannot
        // change them here.
        if mm.id() != self.uf.mm_id() {
            return Err(Errno::EINVAL);
        }
        match cmd {
            UFFDIO_REGISTER => self.register(arg, mm),
            UFFDIO_UNREGISTER => self.unregister(arg, mm),
            UFFDIO_WAKE => self.wake(arg, mm),
            UFFDIO_COPY => self.copy(arg, mm),
            UFFDIO_ZEROPAGE => self.zeropage(arg, mm),
            _ => Err(Errno::EINVAL),
        }
    }

    fn stat(&self, _f: &File) -> SysResult<Stat> {
        Ok(anon_stat())
    }

    fn anon_name(&self) -> Option<Vec<u8>> {
        Some(b"anon_inode:[userfaultfd]".to_vec())
    }
}
