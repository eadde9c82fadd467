//! epoll and eventfd.

use std::sync::Arc;
use std::time::{Duration, Instant};

use abi::fs::{O_CLOEXEC, O_NONBLOCK, O_PATH};
use abi::signal::SigSet;
use abi::time::Timespec;
use abi::{Errno, SysResult};
use kernel::Task;
use vfs::epoll::{self, Delivery, Epoll, Event, EVENT_SIZE, HOST_POLL_INTERVAL, MAX_EVENTS};
use vfs::{eventfd, File};
use waiter::events;

use crate::util;

fn install(t: &mut Task, f: Arc<File>, cloexec: bool) -> SysResult<u64> {
    let lim = t.rlimit(abi::misc::RLIMIT_NOFILE).cur;
    t.fds().install(f, cloexec, 0, lim).map(|fd| fd as u64)
}

/// The file behind `fd` as `fdget` sees it: `O_PATH` descriptors do not
/// count.
fn file(t: &Task, fd: u64) -> SysResult<Arc<File>> {
    let f = util::file(t, fd)?;
    if f.flags() & O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    Ok(f)
}

fn create(t: &mut Task, cloexec: bool) -> SysResult<u64> {
    let (f, _) = epoll::new_file(0);
    install(t, f, cloexec)
}

pub fn epoll_create(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    if a[0] as i32 <= 0 {
        return Err(Errno::EINVAL);
    }
    create(t, false)
}

pub fn epoll_create1(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let flags = a[0] as i32 as u32;
    if flags & !O_CLOEXEC != 0 {
        return Err(Errno::EINVAL);
    }
    create(t, flags & O_CLOEXEC != 0)
}

pub fn epoll_ctl(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let op = a[1] as i32;
    let fd = a[2] as i32;
    let ev = if op != epoll::EPOLL_CTL_DEL {
        let mut b = [0u8; EVENT_SIZE];
        t.mm().copy_in(a[3], &mut b)?;
        Event::from_bytes(&b)
    } else {
        Event::default()
    };
    let epf = file(t, a[0])?;
    let target = file(t, fd as u64)?;
    if !epoll::pollable(&target) {
        return Err(Errno::EPERM);
    }
    let ep = match epoll::from_file(&epf) {
        Some(ep) if !Arc::ptr_eq(&epf, &target) => ep,
        _ => return Err(Errno::EINVAL),
    };
    ep.ctl(op, fd, &target, ev).map(|_| 0)
}

/// Copies delivered events out; events that do not fit in the caller's
/// memory go back to the instance. `EFAULT` only if none could be copied.
fn deliver(t: &Task, ep: &Epoll, addr: u64, got: Vec<Delivery>) -> SysResult<u64> {
    let mut n = 0;
    {
        let mut mm = t.mm();
        for d in &got {
            let at = addr.wrapping_add((n * EVENT_SIZE) as u64);
            if mm.copy_out(at, &d.event.to_bytes()).is_err() {
                break;
            }
            n += 1;
        }
    }
    if n < got.len() {
        ep.uncollect(&got[n..]);
    }
    if n == 0 {
        return Err(Errno::EFAULT);
    }
    Ok(n as u64)
}

/// `epoll_wait` and friends after their timeout and signal mask are set:
/// `deadline` `None` waits forever. A signal ends the wait with `EINTR`
/// (never restarted, as on Linux).
fn do_wait(
    t: &mut Task,
    epfd: u64,
    addr: u64,
    maxevents: i32,
    deadline: Option<Instant>,
) -> SysResult<u64> {
    if maxevents <= 0 || maxevents as i64 > MAX_EVENTS {
        return Err(Errno::EINVAL);
    }
    let f = file(t, epfd)?;
    let ep = epoll::from_file(&f).ok_or(Errno::EINVAL)?;
    let waiter = t.shared.waiter.clone();
    loop {
        let got = ep.collect(maxevents as usize);
        if !got.is_empty() {
            return deliver(t, &ep, addr, got);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(0);
        }
        if t.interrupted() {
            return Err(Errno::EINTR);
        }
        let mut regs = Vec::new();
        let host = ep.watch(&waiter, &mut regs);
        // Changes to the interest list (and nested instances) land here.
        let own = ep.queue().register(&waiter, events::ALL);
        if !ep.has_ready() {
            let until = if host {
                let soon = Instant::now() + HOST_POLL_INTERVAL;
                Some(deadline.map_or(soon, |d| d.min(soon)))
            } else {
                deadline
            };
            waiter.wait(until);
        }
        drop(own);
        drop(regs);
    }
}

fn deadline_ms(ms: i32) -> Option<Instant> {
    if ms < 0 {
        None
    } else {
        Some(Instant::now() + Duration::from_millis(ms as u64))
    }
}

/// Applies a temporary signal mask for the wait (`epoll_pwait`); returns
/// the mask to restore.
fn set_sigmask(t: &mut Task, addr: u64, size: u64) -> SysResult<Option<SigSet>> {
    if addr == 0 {
        return Ok(None);
    }
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let m: u64 = util::read_obj(t, addr)?;
    let old = t.mask();
    t.set_mask(SigSet(m));
    Ok(Some(old))
}

/// Restores the mask, unless the wait was interrupted: then the handler
/// runs under the temporary mask and the old one comes back after it.
fn restore_sigmask(t: &mut Task, old: Option<SigSet>, r: &SysResult<u64>) {
    if let Some(old) = old {
        if matches!(r, Err(e) if *e == Errno::EINTR) {
            t.saved_mask = Some(old);
        } else {
            t.set_mask(old);
        }
    }
}

pub fn epoll_wait(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    do_wait(t, a[0], a[1], a[2] as i32, deadline_ms(a[3] as i32))
}

pub fn epoll_pwait(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let old = set_sigmask(t, a[4], a[5])?;
    let r = do_wait(t, a[0], a[1], a[2] as i32, deadline_ms(a[3] as i32));
    restore_sigmask(t, old, &r);
    r
}

pub fn epoll_pwait2(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let deadline = if a[3] == 0 {
        None
    } else {
        let ts: Timespec = util::read_obj(t, a[3])?;
        let ns = ts.to_nanos().ok_or(Errno::EINVAL)?;
        Instant::now().checked_add(Duration::from_nanos(ns as u64))
    };
    let old = set_sigmask(t, a[4], a[5])?;
    let r = do_wait(t, a[0], a[1], a[2] as i32, deadline);
    restore_sigmask(t, old, &r);
    r
}

pub fn eventfd2(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let flags = a[1] as i32 as u32;
    if flags & !(eventfd::EFD_SEMAPHORE | eventfd::EFD_CLOEXEC | eventfd::EFD_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    // The initial value is an `unsigned int`.
    let f = eventfd::new_file(
        a[0] as u32 as u64,
        flags & eventfd::EFD_SEMAPHORE != 0,
        flags & O_NONBLOCK,
    );
    install(t, f, flags & O_CLOEXEC != 0)
}

pub fn eventfd(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    eventfd2(t, [a[0], 0, 0, 0, 0, 0])
}
