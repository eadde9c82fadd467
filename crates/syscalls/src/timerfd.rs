//! `timerfd_create`, `timerfd_settime`, `timerfd_gettime`: the timer is a
//! vfs file ([`vfs::timerfd`]) woken by the kernel's timer thread.

use std::sync::Arc;
use std::time::{Duration, Instant};

use abi::fs::{O_CLOEXEC, O_NONBLOCK};
use abi::signal::SigInfo;
use abi::time::*;
use abi::{Errno, SysResult};
use kernel::timer::{Target, TimerService};
use kernel::Task;
use vfs::timerfd::{self, Alarm, TimerFd, TimerFdFile};

use crate::util;

const TFD_TIMER_ABSTIME: u64 = 1;
/// Cancels a read when the realtime clock is set; the clock cannot be set
/// in the sandbox, so the flag is accepted and never fires.
const TFD_TIMER_CANCEL_ON_SET: u64 = 2;
const CAP_WAKE_ALARM: u32 = 35;

/// A timerfd's alarm: one timer of the kernel's timer thread that calls
/// back into the timerfd.
struct KernelAlarm {
    timers: Arc<TimerService>,
    id: u64,
}

impl Alarm for KernelAlarm {
    fn set(&self, deadline: Option<Instant>) {
        match deadline {
            Some(d) => {
                self.timers.arm(self.id, d, None);
            }
            None => {
                self.timers.disarm(self.id);
            }
        }
    }
}

impl Drop for KernelAlarm {
    fn drop(&mut self) {
        self.timers.delete(self.id);
    }
}

pub fn timerfd_create(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (clock, flags) = (a[0] as i32, a[1] as i32 as u32);
    if flags & !(O_CLOEXEC | O_NONBLOCK) != 0
        || !matches!(
            clock,
            CLOCK_REALTIME
                | CLOCK_MONOTONIC
                | CLOCK_BOOTTIME
                | CLOCK_REALTIME_ALARM
                | CLOCK_BOOTTIME_ALARM
        )
    {
        return Err(Errno::EINVAL);
    }
    if matches!(clock, CLOCK_REALTIME_ALARM | CLOCK_BOOTTIME_ALARM) && !t.capable(CAP_WAKE_ALARM) {
        return Err(Errno::EPERM);
    }
    let timer = TimerFd::new(clock);
    let weak = Arc::downgrade(&timer);
    let ring = Arc::new(move || {
        if let Some(tf) = weak.upgrade() {
            tf.ring();
        }
    });
    let timers = t.kernel.timers.clone();
    let id = timers.create(Target::Call(ring), SigInfo::new(0, 0));
    timer.set_alarm(Box::new(KernelAlarm { timers, id }));
    let f = timerfd::new_file(timer, flags);
    let lim = t.rlimit(abi::misc::RLIMIT_NOFILE).cur;
    t.fds()
        .install(f, flags & O_CLOEXEC != 0, 0, lim)
        .map(|fd| fd as u64)
}

/// The timerfd behind `fd`: `EBADF`, or `EINVAL` for other files.
fn timer_of(t: &Task, fd: u64) -> SysResult<Arc<TimerFd>> {
    let f = util::file(t, fd)?;
    f.ops
        .as_any()
        .and_then(|x| x.downcast_ref::<TimerFdFile>())
        .map(|x| x.0.clone())
        .ok_or(Errno::EINVAL)
}

fn duration(ts: Timespec) -> SysResult<Duration> {
    if ts.sec < 0 || !(0..1_000_000_000).contains(&ts.nsec) {
        return Err(Errno::EINVAL);
    }
    Ok(Duration::new(ts.sec as u64, ts.nsec as u32))
}

fn timespec(d: Duration) -> Timespec {
    Timespec {
        sec: d.as_secs() as i64,
        nsec: d.subsec_nanos() as i64,
    }
}

pub fn timerfd_settime(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let flags = a[1] as i32 as u64;
    let v: [Timespec; 2] = util::read_obj(t, a[2])?;
    if flags & !(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET) != 0 {
        return Err(Errno::EINVAL);
    }
    let (interval, value) = (duration(v[0])?, duration(v[1])?);
    let timer = timer_of(t, a[0])?;
    let first = if value.is_zero() {
        None
    } else if flags & TFD_TIMER_ABSTIME != 0 {
        // The clocks only move forward here (nothing can set them), so an
        // absolute time is a fixed distance from now.
        let now = crate::time::clock_now(t, timer.clock)?;
        let now = Duration::new(now.sec.max(0) as u64, now.nsec.clamp(0, 999_999_999) as u32);
        Some(Instant::now() + value.saturating_sub(now))
    } else {
        Instant::now().checked_add(value)
    };
    let (left, iv) = timer.set(first, Some(interval));
    if a[3] != 0 {
        util::write_obj(t, a[3], &[timespec(iv), timespec(left)])?;
    }
    Ok(0)
}

pub fn timerfd_gettime(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let timer = timer_of(t, a[0])?;
    let (left, iv) = timer.get();
    util::write_obj(t, a[1], &[timespec(iv), timespec(left)]).map(|_| 0)
}
