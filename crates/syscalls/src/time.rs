//! Clocks and sleeping.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use abi::time::*;
use abi::{Errno, SysResult};
use kernel::Task;

use crate::util;

fn host_clock(id: i32) -> Timespec {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec.
    unsafe { libc::clock_gettime(id, &mut ts) };
    Timespec {
        sec: ts.tv_sec,
        nsec: ts.tv_nsec,
    }
}

/// The value of a clock, or `EINVAL` for clocks we do not have.
pub fn clock_now(t: &Task, id: i32) -> SysResult<Timespec> {
    match id {
        CLOCK_REALTIME
        | CLOCK_MONOTONIC
        | CLOCK_MONOTONIC_RAW
        | CLOCK_REALTIME_COARSE
        | CLOCK_MONOTONIC_COARSE
        | CLOCK_BOOTTIME
        | CLOCK_TAI
        | CLOCK_REALTIME_ALARM
        | CLOCK_BOOTTIME_ALARM => Ok(host_clock(id)),
        // Exited threads' time included, as Linux's.
        CLOCK_PROCESS_CPUTIME_ID => Ok(Timespec::from_nanos(t.tg().lock().cpu_ns_now() as i64)),
        CLOCK_THREAD_CPUTIME_ID => Ok(Timespec::from_nanos(
            t.shared.cpu_ns.load(Ordering::Relaxed) as i64,
        )),
        id if id < 0 => cpu_clock_owner(t, id).map(|c| Timespec::from_nanos(c.ns() as i64)),
        _ => Err(Errno::EINVAL),
    }
}

/// Whose CPU time a clock id names.
pub enum CpuClock {
    Thread(std::sync::Arc<kernel::TaskShared>),
    Process(std::sync::Arc<kernel::ThreadGroup>),
}

impl CpuClock {
    /// Its CPU time now, the running slices included.
    pub fn ns(&self) -> u64 {
        match self {
            CpuClock::Thread(th) => th.cpu_ns_now(),
            CpuClock::Process(g) => g.lock().cpu_ns_now(),
        }
    }
}

/// A CPU-time clock named by id (`clock_getcpuclockid`,
/// `pthread_getcpuclockid`): Linux's encoding `(~pid << 3) | thread << 2
/// | which`, `which` 0 (PROF), 1 (VIRT) or 2 (SCHED); pid 0 is the caller.
/// A thread's clock must be of a thread of the caller's process, a
/// process's of a process (by its pid); else `EINVAL`. The sentry counts
/// one CPU time per task (time in application code, the running slice
/// included), which all three kinds report.
pub fn cpu_clock_owner(t: &Task, id: i32) -> SysResult<CpuClock> {
    const CPUCLOCK_PERTHREAD: i32 = 4;
    const CPUCLOCK_MAX: i32 = 3;
    if id >= 0 || id & 3 >= CPUCLOCK_MAX {
        return Err(Errno::EINVAL);
    }
    let pid = !(id >> 3);
    if id & CPUCLOCK_PERTHREAD != 0 {
        if pid == 0 {
            return Ok(CpuClock::Thread(t.shared.clone()));
        }
        let g = t.tg().lock();
        let th = g
            .threads
            .iter()
            .find(|x| x.tid == pid)
            .ok_or(Errno::EINVAL)?;
        return Ok(CpuClock::Thread(th.clone()));
    }
    if pid == 0 || t.global_id(pid) == Some(t.pid()) {
        return Ok(CpuClock::Process(t.tg().clone()));
    }
    // Another process's, by its process id (a thread id names none).
    let g = t.find_group(pid).ok_or(Errno::EINVAL)?;
    Ok(CpuClock::Process(g))
}

pub fn clock_gettime(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let ts = clock_now(t, a[0] as i32)?;
    util::write_obj(t, a[1], &ts).map(|_| 0)
}

pub fn clock_getres(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let id = a[0] as i32;
    clock_now(t, id)?;
    let res = match id {
        // Coarse clocks, and the PROF/VIRT kinds of CPU clocks (a tick).
        CLOCK_REALTIME_COARSE | CLOCK_MONOTONIC_COARSE => Timespec {
            sec: 0,
            nsec: 4_000_000,
        },
        id if id < 0 && id & 3 != 2 => Timespec {
            sec: 0,
            nsec: 4_000_000,
        },
        _ => Timespec { sec: 0, nsec: 1 },
    };
    if a[1] != 0 {
        util::write_obj(t, a[1], &res)?;
    }
    Ok(0)
}

pub fn gettimeofday(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    if a[0] != 0 {
        let ts = host_clock(CLOCK_REALTIME);
        util::write_obj(
            t,
            a[0],
            &Timeval {
                sec: ts.sec,
                usec: ts.nsec / 1000,
            },
        )?;
    }
    if a[1] != 0 {
        util::write_obj(t, a[1], &[0i32; 2])?;
    }
    Ok(0)
}

pub fn time(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let s = host_clock(CLOCK_REALTIME).sec;
    if a[0] != 0 {
        util::write_obj(t, a[0], &s)?;
    }
    Ok(s as u64)
}

fn read_timespec(t: &Task, addr: u64) -> SysResult<Duration> {
    let ts: Timespec = util::read_obj(t, addr)?;
    let ns = ts.to_nanos().ok_or(Errno::EINVAL)?;
    Ok(Duration::from_nanos(ns as u64))
}

/// Sleeps until `deadline`; on a signal leaves the deadline for
/// `restart_syscall` and reports the remaining time to `rem`.
fn sleep(t: &mut Task, deadline: Instant, rem: u64) -> SysResult<u64> {
    match t.sleep_until(deadline) {
        Ok(()) => Ok(0),
        Err(_) => {
            if rem != 0 {
                let left = deadline.saturating_duration_since(Instant::now());
                util::write_obj(t, rem, &Timespec::from_nanos(left.as_nanos() as i64))?;
            }
            t.restart_deadline = Some(deadline);
            t.restart_cpu = None;
            Err(Errno::ERESTART_RESTARTBLOCK)
        }
    }
}

pub fn nanosleep(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let d = read_timespec(t, a[0])?;
    let deadline = Instant::now() + d;
    sleep(t, deadline, a[1])
}

pub fn clock_nanosleep(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (id, flags) = (a[0] as i32, a[1] as i32);
    match id {
        CLOCK_REALTIME | CLOCK_MONOTONIC | CLOCK_BOOTTIME | CLOCK_TAI => {}
        CLOCK_THREAD_CPUTIME_ID => return Err(Errno::EINVAL),
        CLOCK_PROCESS_CPUTIME_ID => return cpu_nanosleep(t, a),
        id if id < 0 => return cpu_nanosleep(t, a),
        _ => return Err(Errno::EINVAL),
    }
    let d = read_timespec(t, a[2])?;
    let deadline = if flags & TIMER_ABSTIME != 0 {
        let now = clock_now(t, id)?.to_nanos().unwrap_or(0) as u128;
        let target = d.as_nanos();
        Instant::now() + Duration::from_nanos(target.saturating_sub(now) as u64)
    } else {
        Instant::now() + d
    };
    let rem = if flags & TIMER_ABSTIME != 0 { 0 } else { a[3] };
    sleep(t, deadline, rem)
}

/// `clock_nanosleep` on a CPU-time clock (Linux's `posix_cpu_nsleep`):
/// the caller's own thread clock is `EINVAL`; another thread's or a
/// process's clock sleeps until that CPU time is reached. CPU time wakes
/// no waiter here, so the sleep looks again after the wall time the
/// rest would take with every CPU busy (at least 1 ms, at most 100 ms):
/// it ends at most that late. A negative id of kind 3 names a dynamic
/// (posix-clock descriptor) clock, which cannot sleep: `EOPNOTSUPP`.
fn cpu_nanosleep(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    const CPUCLOCK_PERTHREAD: i32 = 4;
    const CLOCKFD: i32 = 3;
    let id = a[0] as i32;
    if id < 0 && id & 7 == CLOCKFD {
        return Err(Errno::EOPNOTSUPP);
    }
    let d = read_timespec(t, a[2])?.as_nanos().min(u64::MAX as u128) as u64;
    if id < 0 && id & CPUCLOCK_PERTHREAD != 0 {
        let pid = !(id >> 3);
        if pid == 0 || pid == t.tid() {
            return Err(Errno::EINVAL);
        }
    }
    let clock = cpu_clock(t, id)?;
    let abs = a[1] as i32 & TIMER_ABSTIME != 0;
    let target = if abs { d } else { clock.ns().saturating_add(d) };
    cpu_sleep_until(t, id, &clock, target, if abs { 0 } else { a[3] })
}

/// The CPU clock `id` names: the caller's process for
/// `CLOCK_PROCESS_CPUTIME_ID`, else [`cpu_clock_owner`].
fn cpu_clock(t: &Task, id: i32) -> SysResult<CpuClock> {
    if id == CLOCK_PROCESS_CPUTIME_ID {
        return Ok(CpuClock::Process(t.tg().clone()));
    }
    cpu_clock_owner(t, id)
}

fn cpu_sleep_until(
    t: &mut Task,
    id: i32,
    clock: &CpuClock,
    target: u64,
    rem: u64,
) -> SysResult<u64> {
    let cpus = kernel::sched::ncpus().max(1) as u64;
    loop {
        let now = clock.ns();
        if now >= target {
            return Ok(0);
        }
        let slice = Duration::from_nanos((target - now) / cpus)
            .clamp(Duration::from_millis(1), Duration::from_millis(100));
        if t.sleep_until(Instant::now() + slice).is_err() {
            if rem != 0 {
                let left = target.saturating_sub(clock.ns());
                util::write_obj(t, rem, &Timespec::from_nanos(left as i64))?;
            }
            t.restart_cpu = Some((id, target));
            t.restart_deadline = None;
            return Err(Errno::ERESTART_RESTARTBLOCK);
        }
    }
}

/// `restart_syscall`: resumes an interrupted sleep.
pub fn restart_syscall(t: &mut Task, _a: [u64; 6]) -> SysResult<u64> {
    if let Some((id, target)) = t.restart_cpu.take() {
        let clock = cpu_clock(t, id)?;
        return cpu_sleep_until(t, id, &clock, target, 0);
    }
    match t.restart_deadline.take() {
        Some(d) => sleep(t, d, 0),
        None => Err(Errno::EINTR),
    }
}

/// `clock_settime`: the sandbox may not set the host's clocks.
pub fn clock_settime(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let id = a[0] as i32;
    let _: Timespec = util::read_obj(t, a[1])?;
    match id {
        CLOCK_REALTIME | CLOCK_TAI => Err(Errno::EPERM),
        _ => Err(Errno::EINVAL),
    }
}

/// `adjtimex`/`clock_adjtime(CLOCK_REALTIME)`: reads the host clock's
/// discipline state (modes 0, or `ADJ_OFFSET_SS_READ`); the sandbox may
/// not steer the host's clock, so every setting mode is `EPERM`.
fn adjtime_read(t: &mut Task, addr: u64) -> SysResult<u64> {
    const ADJ_OFFSET_SINGLESHOT: u32 = 0x0001;
    const ADJ_OFFSET_READONLY: u32 = 0x2000;
    const ADJ_ADJTIME: u32 = 0x8000;
    const SIZE: usize = std::mem::size_of::<libc::timex>();
    let mut b = [0u8; SIZE];
    t.mm().copy_in(addr, &mut b)?;
    let modes = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    if modes & ADJ_ADJTIME != 0 {
        if modes & ADJ_OFFSET_SINGLESHOT == 0 {
            return Err(Errno::EINVAL);
        }
        if modes & ADJ_OFFSET_READONLY == 0 {
            return Err(Errno::EPERM);
        }
    } else if modes != 0 {
        return Err(Errno::EPERM);
    }
    // SAFETY: a zeroed timex is valid.
    let mut tx: libc::timex = unsafe { std::mem::zeroed() };
    tx.modes = modes;
    // SAFETY: valid pointer; the modes only read (checked above).
    let r = unsafe { libc::adjtimex(&mut tx) };
    if r < 0 {
        return Err(Errno::last_host());
    }
    // SAFETY: timex is plain integers; its bytes are what Linux copies out.
    let out = unsafe { std::slice::from_raw_parts(&tx as *const libc::timex as *const u8, SIZE) };
    t.mm().copy_out(addr, out)?;
    Ok(r as u64)
}

pub fn adjtimex(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    adjtime_read(t, a[0])
}

/// `clock_adjtime(clock, buf)`: only `CLOCK_REALTIME` is adjustable on
/// Linux; the other clocks are `EOPNOTSUPP`, unknown ids `EINVAL` (the
/// sandbox has no PTP clock devices for descriptor clocks).
pub fn clock_adjtime(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let clock = a[0] as i32;
    match clock {
        0 => adjtime_read(t, a[1]),
        1..=9 | 11 => Err(Errno::EOPNOTSUPP),
        c if c < 0 && c & 7 == 3 => Err(Errno::EINVAL),
        c if c < 0 => Err(Errno::EOPNOTSUPP),
        _ => Err(Errno::EINVAL),
    }
}
