//! Interval timers, `alarm` and POSIX timers.

use std::time::{Duration, Instant};

use abi::signal::{SigInfo, SIGALRM, SI_KERNEL, SI_TIMER};
use std::sync::{Arc, Weak};

use abi::time::{
    Timespec, Timeval, CLOCK_BOOTTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID, CLOCK_REALTIME,
    CLOCK_TAI, CLOCK_THREAD_CPUTIME_ID, TIMER_ABSTIME,
};
use abi::{Errno, SysResult};
use kernel::timer::{CpuPosixTimer, CpuTimer, Target};
use kernel::{Task, TaskShared};

use crate::time::CpuClock;

use crate::util;

const ITIMER_REAL: u64 = 0;
const ITIMER_VIRTUAL: u64 = 1;
const ITIMER_PROF: u64 = 2;

fn tv_of(d: Duration) -> Timeval {
    Timeval {
        sec: d.as_secs() as i64,
        usec: d.subsec_micros() as i64,
    }
}

fn dur_of_tv(tv: Timeval) -> SysResult<Duration> {
    if tv.sec < 0 || !(0..1_000_000).contains(&tv.usec) {
        return Err(Errno::EINVAL);
    }
    Ok(Duration::from_secs(tv.sec as u64) + Duration::from_micros(tv.usec as u64))
}

fn nonzero(d: Duration) -> Option<Duration> {
    if d.is_zero() {
        None
    } else {
        Some(d)
    }
}

/// Current `(value, interval)` of an interval timer.
fn itimer_get(t: &Task, which: u64) -> SysResult<(Duration, Duration)> {
    let g = t.tg().lock();
    match which {
        ITIMER_REAL => Ok(g
            .itimer_real
            .and_then(|id| t.kernel.timers.query(id))
            .map_or((Duration::ZERO, Duration::ZERO), |(l, i)| {
                (l.max(Duration::from_micros(1)), i.unwrap_or_default())
            })),
        ITIMER_VIRTUAL | ITIMER_PROF => {
            let c = if which == ITIMER_VIRTUAL {
                g.itimer_virtual
            } else {
                g.itimer_prof
            };
            let (left, interval) = c.shown();
            Ok((Duration::from_nanos(left), Duration::from_nanos(interval)))
        }
        _ => Err(Errno::EINVAL),
    }
}

/// Sets an interval timer; returns the old `(value, interval)`.
fn itimer_set(
    t: &Task,
    which: u64,
    value: Duration,
    interval: Duration,
) -> SysResult<(Duration, Duration)> {
    let old = itimer_get(t, which)?;
    let tg = t.tg().clone();
    let mut g = tg.lock();
    match which {
        ITIMER_REAL => {
            let id = match g.itimer_real {
                Some(id) => id,
                None => {
                    let target = Target::Group(std::sync::Arc::downgrade(&tg));
                    let id = t
                        .kernel
                        .timers
                        .create(target, SigInfo::new(SIGALRM, SI_KERNEL));
                    g.itimer_real = Some(id);
                    id
                }
            };
            t.kernel.timers.disarm(id);
            if !value.is_zero() {
                t.kernel
                    .timers
                    .arm(id, Instant::now() + value, nonzero(interval));
            }
        }
        ITIMER_VIRTUAL | ITIMER_PROF => {
            tg.cpu_timers
                .store(true, std::sync::atomic::Ordering::Relaxed);
            let c = CpuTimer {
                left: value.as_nanos() as u64,
                interval: interval.as_nanos() as u64,
            };
            if which == ITIMER_VIRTUAL {
                g.itimer_virtual = c;
            } else {
                g.itimer_prof = c;
            }
            if c.left > 0 {
                drop(g);
                t.kernel.timers.watch_cpu(&tg);
                return Ok(old);
            }
        }
        _ => return Err(Errno::EINVAL),
    }
    Ok(old)
}

pub fn getitimer(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (v, i) = itimer_get(t, a[0])?;
    util::write_obj(t, a[1], &[tv_of(i), tv_of(v)]).map(|_| 0)
}

pub fn setitimer(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    if a[0] > ITIMER_PROF {
        return Err(Errno::EINVAL);
    }
    let (value, interval) = if a[1] == 0 {
        (Duration::ZERO, Duration::ZERO)
    } else {
        let v: [Timeval; 2] = util::read_obj(t, a[1])?;
        (dur_of_tv(v[1])?, dur_of_tv(v[0])?)
    };
    let (ov, oi) = itimer_set(t, a[0], value, interval)?;
    if a[2] != 0 {
        util::write_obj(t, a[2], &[tv_of(oi), tv_of(ov)])?;
    }
    Ok(0)
}

pub fn alarm(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let secs = a[0] as u32 as u64;
    let (old, _) = itimer_set(t, ITIMER_REAL, Duration::from_secs(secs), Duration::ZERO)?;
    // Remaining seconds, rounded; never 0 while armed.
    let mut r = old.as_secs() + u64::from(old.subsec_micros() >= 500_000);
    if r == 0 && !old.is_zero() {
        r = 1;
    }
    Ok(r)
}

const SIGEV_SIGNAL: i32 = 0;
const SIGEV_NONE: i32 = 1;
const SIGEV_THREAD: i32 = 2;
const SIGEV_THREAD_ID: i32 = 4;

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct SigEvent {
    value: u64,
    signo: i32,
    notify: i32,
    tid: i32,
    _pad: [i32; 11],
}
// SAFETY: repr(C) of integers.
unsafe impl abi::Pod for SigEvent {}

fn check_clock(id: i32) -> SysResult<()> {
    match id {
        CLOCK_REALTIME | CLOCK_MONOTONIC | CLOCK_BOOTTIME | CLOCK_TAI => Ok(()),
        _ => Err(Errno::EINVAL),
    }
}

/// For a CPU-time clock: `Some(None)` for the caller's process's,
/// `Some(Some(thread))` for a thread's; `None` for other clocks. Timers on
/// another process's clock are not supported (`EINVAL`).
fn cpu_clock_of(t: &Task, clock: i32) -> SysResult<Option<Option<Weak<TaskShared>>>> {
    match clock {
        CLOCK_PROCESS_CPUTIME_ID => return Ok(Some(None)),
        CLOCK_THREAD_CPUTIME_ID => return Ok(Some(Some(Arc::downgrade(&t.shared)))),
        c if c >= 0 => return Ok(None),
        // A dynamic clock (an fd-based one: Linux's CLOCKFD) takes no timers.
        c if c & 7 == 3 => return Err(Errno::EOPNOTSUPP),
        _ => {}
    }
    match crate::time::cpu_clock_owner(t, clock)? {
        CpuClock::Thread(th) if Arc::ptr_eq(&th.tg, t.tg()) => Ok(Some(Some(Arc::downgrade(&th)))),
        CpuClock::Process(g) if Arc::ptr_eq(&g, t.tg()) => Ok(Some(None)),
        _ => Err(Errno::EINVAL),
    }
}

pub fn timer_create(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let clock = a[0] as i32;
    let cpu = cpu_clock_of(t, clock)?;
    if cpu.is_none() {
        check_clock(clock)?;
    }
    let tg = t.tg().clone();
    let mut g = tg.lock();
    let user_id = (0..).find(|i| !g.posix_timers.contains_key(i)).unwrap_or(0);
    let ev = if a[1] == 0 {
        SigEvent {
            value: user_id as u64,
            signo: SIGALRM,
            notify: SIGEV_SIGNAL,
            ..Default::default()
        }
    } else {
        drop(g);
        let ev: SigEvent = util::read_obj(t, a[1])?;
        g = tg.lock();
        ev
    };
    let target = match ev.notify {
        SIGEV_NONE => Target::Nobody,
        SIGEV_SIGNAL | SIGEV_THREAD => {
            kernel::signal::check_sig(ev.signo)?;
            Target::Group(std::sync::Arc::downgrade(&tg))
        }
        SIGEV_THREAD_ID => {
            kernel::signal::check_sig(ev.signo)?;
            let th = g
                .threads
                .iter()
                .find(|x| x.tid == ev.tid)
                .ok_or(Errno::EINVAL)?;
            Target::Thread(std::sync::Arc::downgrade(th))
        }
        _ => return Err(Errno::EINVAL),
    };
    let mut info = SigInfo::new(ev.signo, SI_TIMER);
    info.fields[0] = user_id as u32 as u64;
    info.fields[1] = ev.value;
    let id = t.kernel.timers.create(target, info);
    g.posix_timers.insert(user_id, id);
    if let Some(thread) = cpu {
        g.cpu_posix_timers.insert(
            user_id,
            CpuPosixTimer {
                id,
                thread,
                timer: CpuTimer::default(),
            },
        );
    }
    drop(g);
    if let Err(e) = util::write_obj(t, a[2], &user_id) {
        tg.lock().posix_timers.remove(&user_id);
        tg.lock().cpu_posix_timers.remove(&user_id);
        t.kernel.timers.delete(id);
        return Err(e);
    }
    Ok(0)
}

fn timer_id(t: &Task, user: u64) -> SysResult<u64> {
    t.tg()
        .lock()
        .posix_timers
        .get(&(user as i32))
        .copied()
        .ok_or(Errno::EINVAL)
}

fn ts_of(d: Duration) -> Timespec {
    Timespec {
        sec: d.as_secs() as i64,
        nsec: d.subsec_nanos() as i64,
    }
}

/// `timer_settime` on a CPU-time clock: the timer counts down the CPU
/// time its clock charges (`TIMER_ABSTIME`: until the clock reads the
/// value).
fn cpu_settime(t: &mut Task, user: i32, a: [u64; 6], interval: u64, value: u64) -> SysResult<u64> {
    let tg = t.tg().clone();
    let mut g = tg.lock();
    let c = g.cpu_posix_timers.get(&user).ok_or(Errno::EINVAL)?.clone();
    let value = if value != 0 && a[1] as i32 & TIMER_ABSTIME != 0 {
        let now = match c.thread.as_ref().and_then(Weak::upgrade) {
            Some(th) => th.cpu_ns_now(),
            None => g.cpu_ns_now(),
        };
        // A time already passed expires at once (at the next charge).
        value.saturating_sub(now).max(1)
    } else {
        value
    };
    let (old_left, old_iv) = c.timer.shown();
    let new = CpuTimer {
        left: value,
        interval,
    };
    if let Some(e) = g.cpu_posix_timers.get_mut(&user) {
        e.timer = new;
    }
    drop(g);
    if a[3] != 0 {
        let old = [
            ts_of(Duration::from_nanos(old_iv)),
            ts_of(Duration::from_nanos(old_left)),
        ];
        util::write_obj(t, a[3], &old)?;
    }
    if value != 0 {
        tg.cpu_timers
            .store(true, std::sync::atomic::Ordering::Relaxed);
        t.kernel.timers.watch_cpu(&tg);
    }
    Ok(0)
}

pub fn timer_settime(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let id = timer_id(t, a[0])?;
    let v: [Timespec; 2] = util::read_obj(t, a[2])?;
    let interval = Duration::from_nanos(v[0].to_nanos().ok_or(Errno::EINVAL)? as u64);
    let value_ns = v[1].to_nanos().ok_or(Errno::EINVAL)? as u64;
    if t.tg().lock().cpu_posix_timers.contains_key(&(a[0] as i32)) {
        let iv = interval.as_nanos() as u64;
        return cpu_settime(t, a[0] as i32, a, iv, value_ns);
    }
    let old = t.kernel.timers.disarm(id);
    if a[3] != 0 {
        let (l, i) = old.unwrap_or_default();
        util::write_obj(t, a[3], &[ts_of(i.unwrap_or_default()), ts_of(l)])?;
    }
    if value_ns != 0 {
        let now = Instant::now();
        let deadline = if a[1] as i32 & TIMER_ABSTIME != 0 {
            let cur = crate::time::clock_now(t, CLOCK_REALTIME)?
                .to_nanos()
                .unwrap_or(0) as u64;
            now + Duration::from_nanos(value_ns.saturating_sub(cur))
        } else {
            now + Duration::from_nanos(value_ns)
        };
        t.kernel.timers.arm(id, deadline, nonzero(interval));
    }
    Ok(0)
}

pub fn timer_gettime(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let id = timer_id(t, a[0])?;
    let cpu = t
        .tg()
        .lock()
        .cpu_posix_timers
        .get(&(a[0] as i32))
        .map(|c| c.timer.shown());
    let (l, i) = match cpu {
        Some((l, i)) => (Duration::from_nanos(l), nonzero(Duration::from_nanos(i))),
        None => t.kernel.timers.query(id).unwrap_or_default(),
    };
    util::write_obj(t, a[1], &[ts_of(i.unwrap_or_default()), ts_of(l)]).map(|_| 0)
}

pub fn timer_getoverrun(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    timer_id(t, a[0]).map(|_| 0)
}

pub fn timer_delete(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let id = timer_id(t, a[0])?;
    {
        let mut g = t.tg().lock();
        g.posix_timers.remove(&(a[0] as i32));
        g.cpu_posix_timers.remove(&(a[0] as i32));
    }
    t.kernel.timers.delete(id);
    Ok(0)
}
