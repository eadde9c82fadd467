//! `poll`, `ppoll`, `select` and `pselect6`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use abi::signal::SigSet;
use abi::time::{Timespec, Timeval};
use abi::{Errno, SysResult};
use kernel::Task;
use vfs::File;
use waiter::{events, Registration};

use crate::util;

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct PollFd {
    fd: i32,
    events: i16,
    revents: i16,
}
// SAFETY: repr(C) of integers, no padding.
unsafe impl abi::Pod for PollFd {}

/// Host descriptors cannot wake a waiter: re-check them this often.
const HOST_POLL_INTERVAL: Duration = Duration::from_millis(10);

/// Waits until one of `fds` is ready. `Ok(n)`: number ready (0 on timeout).
fn do_poll(t: &mut Task, fds: &mut [PollFd], deadline: Option<Instant>) -> SysResult<usize> {
    let files: Vec<Option<Arc<File>>> = {
        let table = t.fds();
        fds.iter()
            .map(|p| if p.fd < 0 { None } else { table.get(p.fd).ok() })
            .collect()
    };
    let any_host = files
        .iter()
        .flatten()
        .any(|f| f.ops.queue().is_none() && f.ops.host_fd().is_some());
    let waiter = t.shared.waiter.clone();
    loop {
        let mut n = 0;
        for (p, f) in fds.iter_mut().zip(&files) {
            p.revents = 0;
            if p.fd < 0 {
                continue;
            }
            let r = match f {
                None => events::NVAL,
                Some(f) => f.ops.readiness() & (p.events as u16 as u32 | events::ERR | events::HUP),
            };
            p.revents = r as i16;
            if r != 0 {
                n += 1;
            }
        }
        if n > 0 {
            return Ok(n);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(0);
        }
        if t.interrupted() {
            return Err(Errno::ERESTARTNOHAND);
        }
        let regs: Vec<Registration> = files
            .iter()
            .flatten()
            .filter_map(|f| f.ops.queue())
            .map(|q| q.register(&waiter, events::ALL))
            .collect();
        // Anything that became ready between the check and registering?
        let ready = fds.iter().zip(&files).any(|(p, f)| {
            f.as_ref().is_some_and(|f| {
                f.ops.readiness() & (p.events as u16 as u32 | events::ERR | events::HUP) != 0
            })
        });
        if !ready {
            let wait_until = if any_host {
                let soon = Instant::now() + HOST_POLL_INTERVAL;
                Some(deadline.map_or(soon, |d| d.min(soon)))
            } else {
                deadline
            };
            waiter.wait(wait_until);
        }
        drop(regs);
    }
}

fn deadline_ms(ms: i64) -> Option<Instant> {
    if ms < 0 {
        None
    } else {
        Some(Instant::now() + Duration::from_millis(ms as u64))
    }
}

fn read_pollfds(t: &Task, addr: u64, n: u64) -> SysResult<Vec<PollFd>> {
    if n > t.rlimit(abi::misc::RLIMIT_NOFILE).cur.max(1024) {
        return Err(Errno::EINVAL);
    }
    let mut v = vec![PollFd::default(); n as usize];
    let mut mm = t.mm();
    for (i, p) in v.iter_mut().enumerate() {
        *p = mm.read_obj(addr + i as u64 * 8)?;
    }
    Ok(v)
}

fn write_pollfds(t: &Task, addr: u64, v: &[PollFd]) -> SysResult<()> {
    let mut mm = t.mm();
    for (i, p) in v.iter().enumerate() {
        mm.write_obj(addr + i as u64 * 8, p)?;
    }
    Ok(())
}

pub fn poll(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let mut v = read_pollfds(t, a[0], a[1])?;
    let r = do_poll(t, &mut v, deadline_ms(a[2] as i32 as i64));
    let n = r.map_err(|e| {
        if e == Errno::ERESTARTNOHAND {
            Errno::EINTR
        } else {
            e
        }
    })?;
    write_pollfds(t, a[0], &v)?;
    Ok(n as u64)
}

/// Applies a temporary signal mask for the wait; a handler that runs
/// because of it restores the original mask on return.
pub(crate) fn with_sigmask(t: &mut Task, mask_addr: u64, size: u64) -> SysResult<Option<SigSet>> {
    if mask_addr == 0 {
        return Ok(None);
    }
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let m: u64 = util::read_obj(t, mask_addr)?;
    let old = t.mask();
    t.set_mask(SigSet(m));
    Ok(Some(old))
}

pub(crate) fn finish_sigmask<T>(t: &mut Task, old: Option<SigSet>, r: &SysResult<T>) {
    if let Some(old) = old {
        if matches!(r, Err(e) if e.0 >= 512 || *e == Errno::EINTR) {
            t.saved_mask = Some(old);
        } else {
            t.set_mask(old);
        }
    }
}

fn timeout_ts(t: &Task, addr: u64) -> SysResult<Option<Instant>> {
    if addr == 0 {
        return Ok(None);
    }
    let ts: Timespec = util::read_obj(t, addr)?;
    let ns = ts.to_nanos().ok_or(Errno::EINVAL)?;
    Ok(Some(Instant::now() + Duration::from_nanos(ns as u64)))
}

/// Writes the time left until `deadline` back to the caller's timespec, as
/// Linux's `ppoll` and `pselect6` do on every return (an unwritable
/// timeout is ignored there too).
fn write_left_ts(t: &Task, addr: u64, deadline: Option<Instant>) {
    let Some(d) = deadline else { return };
    let left = d.saturating_duration_since(Instant::now());
    let ts = Timespec {
        sec: left.as_secs() as i64,
        nsec: left.subsec_nanos() as i64,
    };
    let _ = util::write_obj(t, addr, &ts);
}

pub fn ppoll(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let mut v = read_pollfds(t, a[0], a[1])?;
    let deadline = timeout_ts(t, a[2])?;
    let old = with_sigmask(t, a[3], a[4])?;
    let r = do_poll(t, &mut v, deadline);
    finish_sigmask(t, old, &r);
    write_left_ts(t, a[2], deadline);
    let n = r?;
    write_pollfds(t, a[0], &v)?;
    Ok(n as u64)
}

fn read_set(t: &Task, addr: u64, nfds: usize) -> SysResult<Vec<u64>> {
    let words = nfds.div_ceil(64);
    let mut v = vec![0u64; words];
    if addr != 0 && words > 0 {
        let mut bytes = vec![0u8; nfds.div_ceil(8)];
        t.mm().copy_in(addr, &mut bytes)?;
        for (i, b) in bytes.iter().enumerate() {
            v[i / 8] |= (*b as u64) << ((i % 8) * 8);
        }
    }
    Ok(v)
}

fn write_set(t: &Task, addr: u64, nfds: usize, v: &[u64]) -> SysResult<()> {
    if addr == 0 {
        return Ok(());
    }
    let bytes: Vec<u8> = (0..nfds.div_ceil(8))
        .map(|i| (v[i / 8] >> ((i % 8) * 8)) as u8)
        .collect();
    t.mm().copy_out(addr, &bytes)
}

fn do_select(
    t: &mut Task,
    nfds: u64,
    r: u64,
    w: u64,
    e: u64,
    deadline: Option<Instant>,
) -> SysResult<u64> {
    if nfds as i32 > 1 << 20 || (nfds as i32) < 0 {
        return Err(Errno::EINVAL);
    }
    let n = nfds as usize;
    let (rs, ws, es) = (read_set(t, r, n)?, read_set(t, w, n)?, read_set(t, e, n)?);
    let mut pfds = Vec::new();
    for fd in 0..n {
        let bit = |s: &Vec<u64>| s[fd / 64] >> (fd % 64) & 1 != 0;
        let mut ev = 0u32;
        if bit(&rs) {
            ev |= events::IN;
        }
        if bit(&ws) {
            ev |= events::OUT;
        }
        if bit(&es) {
            ev |= events::PRI;
        }
        if ev != 0 {
            pfds.push(PollFd {
                fd: fd as i32,
                events: ev as i16,
                revents: 0,
            });
        }
    }
    if pfds.iter().any(|p| t.fds().get(p.fd).is_err()) {
        return Err(Errno::EBADF);
    }
    do_poll(t, &mut pfds, deadline)?;
    let words = n.div_ceil(64);
    let (mut ro, mut wo, mut eo) = (vec![0u64; words], vec![0u64; words], vec![0u64; words]);
    let mut count = 0;
    for p in &pfds {
        let rev = p.revents as u16 as u32;
        let (i, b) = (p.fd as usize / 64, 1u64 << (p.fd as usize % 64));
        let ev = p.events as u16 as u32;
        if ev & events::IN != 0 && rev & (events::IN | events::HUP | events::ERR) != 0 {
            ro[i] |= b;
            count += 1;
        }
        if ev & events::OUT != 0 && rev & (events::OUT | events::ERR) != 0 {
            wo[i] |= b;
            count += 1;
        }
        if ev & events::PRI != 0 && rev & events::PRI != 0 {
            eo[i] |= b;
            count += 1;
        }
    }
    write_set(t, r, n, &ro)?;
    write_set(t, w, n, &wo)?;
    write_set(t, e, n, &eo)?;
    Ok(count)
}

pub fn select(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let deadline = if a[4] == 0 {
        None
    } else {
        let tv: Timeval = util::read_obj(t, a[4])?;
        if tv.sec < 0 || !(0..1_000_000).contains(&tv.usec) {
            return Err(Errno::EINVAL);
        }
        Some(Instant::now() + Duration::from_micros(tv.sec as u64 * 1_000_000 + tv.usec as u64))
    };
    let r = do_select(t, a[0], a[1], a[2], a[3], deadline).map_err(|e| {
        if e == Errno::ERESTARTNOHAND {
            Errno::EINTR
        } else {
            e
        }
    });
    if let (Some(d), true) = (deadline, a[4] != 0) {
        let left = d.saturating_duration_since(Instant::now());
        let _ = util::write_obj(
            t,
            a[4],
            &Timeval {
                sec: left.as_secs() as i64,
                usec: left.subsec_micros() as i64,
            },
        );
    }
    r
}

pub fn pselect6(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let deadline = timeout_ts(t, a[4])?;
    let (mask_addr, size) = if a[5] != 0 {
        let v: [u64; 2] = util::read_obj(t, a[5])?;
        (v[0], v[1])
    } else {
        (0, 0)
    };
    let old = with_sigmask(t, mask_addr, size)?;
    let r = do_select(t, a[0], a[1], a[2], a[3], deadline);
    finish_sigmask(t, old, &r);
    write_left_ts(t, a[4], deadline);
    r
}
