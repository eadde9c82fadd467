//! eventfd: a 64-bit counter that `write` adds to and `read` takes from.

use std::sync::{Arc, Mutex};

use abi::fs::*;
use abi::{Errno, SysResult};
use waiter::{events, Queue};

use crate::epoll::anon_stat;
use crate::file::{File, FileOps};
use crate::inode::lock;

pub const EFD_SEMAPHORE: u32 = 1;
pub const EFD_CLOEXEC: u32 = O_CLOEXEC;
pub const EFD_NONBLOCK: u32 = O_NONBLOCK;

/// The counter never exceeds this; a write that would make it larger
/// waits (`EAGAIN`).
pub const MAX_COUNT: u64 = u64::MAX - 1;

pub struct EventFd {
    count: Mutex<u64>,
    semaphore: bool,
    queue: Queue,
}

impl EventFd {
    pub fn new(initval: u64, semaphore: bool) -> EventFd {
        EventFd {
            count: Mutex::new(initval.min(MAX_COUNT)),
            semaphore,
            queue: Queue::new(),
        }
    }

    pub fn count(&self) -> u64 {
        *lock(&self.count)
    }

    /// Adds `n` to the count, up to the largest value (the kernel's
    /// `eventfd_signal`, used by AIO completions): readers wake.
    pub fn signal(&self, n: u64) {
        let mut c = lock(&self.count);
        *c = c.saturating_add(n);
        drop(c);
        self.queue.notify(events::IN | events::RDNORM);
    }
}

impl FileOps for EventFd {
    /// Takes the whole count (or 1 in semaphore mode) into the first eight
    /// bytes of `buf`; `EAGAIN` while the count is zero.
    fn read(&self, _f: &File, buf: &mut [u8], _off: u64) -> SysResult<usize> {
        if buf.len() < 8 {
            return Err(Errno::EINVAL);
        }
        let mut c = lock(&self.count);
        if *c == 0 {
            return Err(Errno::EAGAIN);
        }
        let v = if self.semaphore { 1 } else { *c };
        *c -= v;
        drop(c);
        buf[..8].copy_from_slice(&v.to_ne_bytes());
        self.queue.notify(events::OUT | events::WRNORM);
        Ok(8)
    }

    /// Adds the `u64` in the first eight bytes of `buf`; `EAGAIN` while
    /// that would pass [`MAX_COUNT`].
    fn write(&self, _f: &File, buf: &[u8], _off: u64) -> SysResult<usize> {
        let Some(bytes) = buf.get(..8) else {
            return Err(Errno::EINVAL);
        };
        let mut raw = [0u8; 8];
        raw.copy_from_slice(bytes);
        let v = u64::from_ne_bytes(raw);
        if v == u64::MAX {
            return Err(Errno::EINVAL);
        }
        let mut c = lock(&self.count);
        if MAX_COUNT - *c < v {
            return Err(Errno::EAGAIN);
        }
        *c += v;
        drop(c);
        // Linux wakes readers on every successful write, even of zero.
        self.queue.notify(events::IN | events::RDNORM);
        Ok(8)
    }

    fn readiness(&self) -> u32 {
        let c = *lock(&self.count);
        let mut r = 0;
        if c > 0 {
            r |= events::IN | events::RDNORM;
        }
        if c < MAX_COUNT {
            r |= events::OUT | events::WRNORM;
        }
        if c == u64::MAX {
            r |= events::ERR;
        }
        r
    }

    fn queue(&self) -> Option<&Queue> {
        Some(&self.queue)
    }

    fn stat(&self, _f: &File) -> SysResult<Stat> {
        Ok(anon_stat())
    }

    fn anon_name(&self) -> Option<Vec<u8>> {
        Some(b"anon_inode:[eventfd]".to_vec())
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

/// A new eventfd file; `flags` are file status flags (`O_NONBLOCK`).
pub fn new_file(initval: u64, semaphore: bool, flags: u32) -> Arc<File> {
    File::new(
        None,
        O_RDWR | (flags & O_NONBLOCK),
        Box::new(EventFd::new(initval, semaphore)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(f: &File, v: u64) -> SysResult<usize> {
        f.write(&v.to_ne_bytes())
    }

    fn take(f: &File) -> SysResult<u64> {
        let mut b = [0u8; 8];
        f.read(&mut b)?;
        Ok(u64::from_ne_bytes(b))
    }

    #[test]
    fn counter() {
        let f = new_file(3, false, O_NONBLOCK);
        assert_eq!(take(&f), Ok(3));
        assert_eq!(take(&f), Err(Errno::EAGAIN));
        assert_eq!(put(&f, 5), Ok(8));
        assert_eq!(put(&f, 0), Ok(8));
        assert_eq!(put(&f, 2), Ok(8));
        let mut big = [0u8; 16];
        assert_eq!(f.read(&mut big), Ok(8));
        assert_eq!(&big[..8], &7u64.to_ne_bytes());
        let mut small = [0u8; 7];
        assert_eq!(f.read(&mut small), Err(Errno::EINVAL));
        assert_eq!(f.write(&small), Err(Errno::EINVAL));
        assert_eq!(put(&f, u64::MAX), Err(Errno::EINVAL));
    }

    #[test]
    fn semaphore_and_overflow() {
        let f = new_file(2, true, 0);
        assert_eq!(take(&f), Ok(1));
        assert_eq!(take(&f), Ok(1));
        assert_eq!(take(&f), Err(Errno::EAGAIN));
        assert_eq!(put(&f, MAX_COUNT), Ok(8));
        assert_eq!(put(&f, 1), Err(Errno::EAGAIN));
        assert_eq!(f.ops.readiness(), events::IN | events::RDNORM);
        assert_eq!(take(&f), Ok(1));
        assert_eq!(
            f.ops.readiness(),
            events::IN | events::RDNORM | events::OUT | events::WRNORM
        );
    }

    #[test]
    fn readiness_and_name() {
        let f = new_file(0, false, 0);
        assert_eq!(f.ops.readiness(), events::OUT | events::WRNORM);
        assert_eq!(f.display_path(), b"anon_inode:[eventfd]".to_vec());
        assert_eq!(f.stat().map(|s| s.mode), Ok(0o600));
    }
}
