//! timerfd: a timer whose expirations are read as a count. The count is
//! worked out from the clock whenever it is looked at (reads, polls,
//! `timerfd_gettime`), so missed expirations of a periodic timer are
//! counted exactly; an [`Alarm`] from the layer above only wakes waiters
//! at the next expiry.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use abi::fs::*;
use abi::{Errno, SysResult};
use mm::MemoryManager;
use waiter::{events, Queue};

use crate::epoll::anon_stat;
use crate::file::{File, FileOps};
use crate::inode::lock;

/// `ioctl(TFD_IOC_SET_TICKS)`: `_IOW('T', 0, u64)`.
pub const TFD_IOC_SET_TICKS: u32 = 0x4008_5400;

/// Calls [`TimerFd::ring`] once at a deadline. The kernel provides it
/// (its timer thread), so this layer never calls up.
pub trait Alarm: Send + Sync {
    /// Replaces any earlier request with one for `deadline`, or none.
    fn set(&self, deadline: Option<Instant>);
}

#[derive(Default)]
struct State {
    /// The next expiry, while armed.
    next: Option<Instant>,
    /// The period of a periodic timer.
    interval: Option<Duration>,
    /// Expirations not yet read.
    ticks: u64,
}

impl State {
    /// Counts the expirations up to `now` and moves `next` past it.
    fn advance(&mut self, now: Instant) {
        let Some(next) = self.next else { return };
        if now < next {
            return;
        }
        match self.interval {
            Some(iv) => {
                let n = (now - next).as_nanos() / iv.as_nanos().max(1) + 1;
                self.ticks = self.ticks.saturating_add(n.min(u64::MAX as u128) as u64);
                let step = iv.as_nanos().saturating_mul(n).min(u64::MAX as u128) as u64;
                self.next = next.checked_add(Duration::from_nanos(step));
            }
            None => {
                self.ticks = self.ticks.saturating_add(1);
                self.next = None;
            }
        }
    }

    /// `(time left, interval)` as `timerfd_gettime` reports them.
    fn remaining(&self, now: Instant) -> (Duration, Duration) {
        match self.next {
            Some(n) => (
                n.saturating_duration_since(now),
                self.interval.unwrap_or_default(),
            ),
            None => (Duration::ZERO, Duration::ZERO),
        }
    }
}

pub struct TimerFd {
    /// The clock it was created with (`CLOCK_*`).
    pub clock: i32,
    state: Mutex<State>,
    queue: Queue,
    alarm: OnceLock<Box<dyn Alarm>>,
}

impl TimerFd {
    pub fn new(clock: i32) -> Arc<TimerFd> {
        Arc::new(TimerFd {
            clock,
            state: Mutex::new(State::default()),
            queue: Queue::new(),
            alarm: OnceLock::new(),
        })
    }

    /// Gives the timer its alarm (once, right after creation: the alarm
    /// refers back to the timer).
    pub fn set_alarm(&self, alarm: Box<dyn Alarm>) {
        let _ = self.alarm.set(alarm);
    }

    fn request(&self, at: Option<Instant>) {
        if let Some(a) = self.alarm.get() {
            a.set(at);
        }
    }

    /// `timerfd_settime`: arms at `first` (disarms with `None`), every
    /// `interval` after that; clears the unread count. Returns the old
    /// `(time left, interval)`.
    pub fn set(&self, first: Option<Instant>, interval: Option<Duration>) -> (Duration, Duration) {
        let now = Instant::now();
        let mut st = lock(&self.state);
        st.advance(now);
        let old = st.remaining(now);
        st.ticks = 0;
        st.next = first;
        st.interval = first.and(interval.filter(|d| !d.is_zero()));
        self.request(st.next);
        old
    }

    /// `timerfd_gettime`.
    pub fn get(&self) -> (Duration, Duration) {
        let now = Instant::now();
        let mut st = lock(&self.state);
        st.advance(now);
        st.remaining(now)
    }

    /// The alarm went off: wakes readers if the timer expired (an early
    /// alarm is asked again for the real expiry).
    pub fn ring(&self) {
        let mut st = lock(&self.state);
        st.advance(Instant::now());
        if st.ticks > 0 {
            drop(st);
            self.queue.notify(events::IN | events::RDNORM);
        } else {
            self.request(st.next);
        }
    }

    fn take(&self) -> SysResult<u64> {
        let mut st = lock(&self.state);
        st.advance(Instant::now());
        if st.ticks == 0 {
            return Err(Errno::EAGAIN);
        }
        let n = std::mem::take(&mut st.ticks);
        // Nothing is pending any more: wake the next reader at the next expiry.
        self.request(st.next);
        Ok(n)
    }

    fn pending(&self) -> bool {
        let mut st = lock(&self.state);
        st.advance(Instant::now());
        st.ticks > 0
    }
}

/// The open file of a [`TimerFd`].
pub struct TimerFdFile(pub Arc<TimerFd>);

impl FileOps for TimerFdFile {
    /// The number of expirations since the last read, as a `u64`;
    /// `EAGAIN` while there are none, `EINVAL` for a buffer under 8 bytes.
    fn read(&self, _f: &File, buf: &mut [u8], _off: u64) -> SysResult<usize> {
        if buf.len() < 8 {
            return Err(Errno::EINVAL);
        }
        let n = self.0.take()?;
        buf[..8].copy_from_slice(&n.to_ne_bytes());
        Ok(8)
    }

    fn readiness(&self) -> u32 {
        if self.0.pending() {
            events::IN | events::RDNORM
        } else {
            0
        }
    }

    fn queue(&self) -> Option<&Queue> {
        Some(&self.0.queue)
    }

    /// `TFD_IOC_SET_TICKS`: sets the unread count (not to zero).
    fn ioctl(&self, _f: &File, cmd: u32, arg: u64, mm: &mut MemoryManager) -> SysResult<u64> {
        if cmd != TFD_IOC_SET_TICKS {
            return Err(Errno::ENOTTY);
        }
        let n: u64 = mm.read_obj(arg)?;
        if n == 0 {
            return Err(Errno::EINVAL);
        }
        lock(&self.0.state).ticks = n;
        self.0.queue.notify(events::IN | events::RDNORM);
        Ok(0)
    }

    fn stat(&self, _f: &File) -> SysResult<Stat> {
        Ok(anon_stat())
    }

    fn anon_name(&self) -> Option<Vec<u8>> {
        Some(b"anon_inode:[timerfd]".to_vec())
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

/// A new timerfd file; `flags` are file status flags (`O_NONBLOCK`).
pub fn new_file(timer: Arc<TimerFd>, flags: u32) -> Arc<File> {
    File::new(
        None,
        O_RDWR | (flags & O_NONBLOCK),
        Box::new(TimerFdFile(timer)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periodic_counts_missed_expiries() {
        let mut st = State::default();
        let t0 = Instant::now();
        st.next = Some(t0 + Duration::from_millis(10));
        st.interval = Some(Duration::from_millis(10));
        st.advance(t0 + Duration::from_millis(5));
        assert_eq!(st.ticks, 0);
        st.advance(t0 + Duration::from_millis(35));
        assert_eq!(st.ticks, 3);
        assert_eq!(st.next, Some(t0 + Duration::from_millis(40)));
        let mut one = State {
            next: Some(t0),
            ..Default::default()
        };
        one.advance(t0 + Duration::from_secs(1));
        assert_eq!((one.ticks, one.next), (1, None));
    }
}
