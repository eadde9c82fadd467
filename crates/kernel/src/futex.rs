//! Futexes: wait queues keyed by the memory behind an address.

use mm::FutexKey;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use abi::{Errno, SysResult};
use waiter::Waiter;

use crate::task::{lock, Task};

pub const FUTEX_WAIT: u32 = 0;
pub const FUTEX_WAKE: u32 = 1;
pub const FUTEX_REQUEUE: u32 = 3;
pub const FUTEX_CMP_REQUEUE: u32 = 4;
pub const FUTEX_WAKE_OP: u32 = 5;
pub const FUTEX_LOCK_PI: u32 = 6;
pub const FUTEX_UNLOCK_PI: u32 = 7;
pub const FUTEX_TRYLOCK_PI: u32 = 8;
pub const FUTEX_WAIT_BITSET: u32 = 9;
pub const FUTEX_WAKE_BITSET: u32 = 10;
pub const FUTEX_WAIT_REQUEUE_PI: u32 = 11;
pub const FUTEX_CMP_REQUEUE_PI: u32 = 12;
pub const FUTEX_LOCK_PI2: u32 = 13;
pub const FUTEX_PRIVATE_FLAG: u32 = 128;
pub const FUTEX_CLOCK_REALTIME: u32 = 256;

struct Sleeper {
    key: FutexKey,
    bitset: u32,
    waiter: Arc<Waiter>,
    woken: Arc<AtomicBool>,
    /// For PI waiters: the tid that receives ownership when woken (0
    /// otherwise).
    tid: i32,
    /// A `FUTEX_WAIT_REQUEUE_PI` waiter: the PI futex it may only be
    /// moved to (plain wakes pass it by).
    requeue_pi: Option<FutexKey>,
}

/// All sleeping futex waiters.
#[derive(Default)]
pub struct FutexTable {
    sleepers: Mutex<Vec<Sleeper>>,
}

impl FutexTable {
    /// Wakes up to `n` sleepers on `key` whose bitset matches.
    pub fn wake(&self, key: FutexKey, n: usize, bitset: u32) -> usize {
        self.wake_some(key, n, bitset, false)
    }

    /// [`FutexTable::wake`] by a thread that exits next (a joined thread's
    /// clear-tid wake-up).
    pub fn wake_handing_over(&self, key: FutexKey, n: usize) -> usize {
        self.wake_some(key, n, u32::MAX, true)
    }

    fn wake_some(&self, key: FutexKey, n: usize, bitset: u32, handover: bool) -> usize {
        let mut s = lock(&self.sleepers);
        let mut woken = 0;
        s.retain(|x| {
            if woken < n && x.key == key && x.bitset & bitset != 0 && x.requeue_pi.is_none() {
                x.woken.store(true, Ordering::Release);
                if handover {
                    x.waiter.notify_handing_over();
                } else {
                    x.waiter.notify();
                }
                woken += 1;
                false
            } else {
                true
            }
        });
        woken
    }

    /// Wakes `n` on `from` and moves up to `m` others to `to`.
    pub fn requeue(&self, from: FutexKey, to: FutexKey, n: usize, m: usize) -> usize {
        let mut s = lock(&self.sleepers);
        let mut woken = 0;
        let mut moved = 0;
        s.retain_mut(|x| {
            if x.key != from || x.requeue_pi.is_some() {
                return true;
            }
            if woken < n {
                x.woken.store(true, Ordering::Release);
                x.waiter.notify();
                woken += 1;
                return false;
            }
            if moved < m {
                x.key = to;
                moved += 1;
            }
            true
        });
        woken + moved
    }
}

/// `FUTEX_WAIT(_BITSET)`: sleeps while `*addr == val`.
pub fn wait(
    t: &mut Task,
    addr: u64,
    val: u32,
    deadline: Option<Instant>,
    bitset: u32,
) -> SysResult<u64> {
    if bitset == 0 {
        return Err(Errno::EINVAL);
    }
    let kernel = t.kernel.clone();
    let woken = Arc::new(AtomicBool::new(false));
    {
        let mut sleepers = lock(&kernel.futexes.sleepers);
        let mut mm = t.mm();
        let key = mm.futex_key(addr)?;
        let cur: u32 = mm.read_obj(addr)?;
        if cur != val {
            return Err(Errno::EAGAIN);
        }
        sleepers.push(Sleeper {
            key,
            bitset,
            waiter: t.shared.waiter.clone(),
            woken: woken.clone(),
            tid: 0,
            requeue_pi: None,
        });
    }
    sleep_until_woken(t, &woken, deadline, Errno::ERESTARTSYS)
}

/// Sleeps until a waker sets `woken` (queued by the caller in the sleeper
/// list), the deadline passes or a signal arrives (`on_signal`). A sleeper
/// that gives up is taken off the list; a wake that raced with giving up
/// still counts as woken.
fn sleep_until_woken(
    t: &Task,
    woken: &Arc<AtomicBool>,
    deadline: Option<Instant>,
    on_signal: Errno,
) -> SysResult<u64> {
    let waiter = t.shared.waiter.clone();
    let result = loop {
        if woken.load(Ordering::Acquire) {
            break Ok(0);
        }
        if t.interrupted() {
            break Err(on_signal);
        }
        if !waiter.wait(deadline) && deadline.is_some_and(|d| Instant::now() >= d) {
            break Err(Errno::ETIMEDOUT);
        }
    };
    if result.is_err() {
        lock(&t.kernel.futexes.sleepers).retain(|x| !Arc::ptr_eq(&x.woken, woken));
        if woken.load(Ordering::Acquire) {
            return Ok(0);
        }
    }
    result
}

/// `FUTEX_WAKE_OP`: applies the encoded operation to `*addr2`, wakes on
/// `addr` and, if the comparison holds, on `addr2`.
pub fn wake_op(
    t: &mut Task,
    addr: u64,
    n: usize,
    addr2: u64,
    n2: usize,
    op: u32,
) -> SysResult<u64> {
    let kernel = t.kernel.clone();
    let (k1, k2, word2) = {
        let mut mm = t.mm();
        mm.check_access(addr2, 4, true)?;
        (
            mm.futex_key(addr)?,
            mm.futex_key(addr2)?,
            mm.futex_word(addr2)?,
        )
    };
    let shift = (op >> 28) & 8 != 0;
    let opcode = (op >> 28) & 7;
    let mut oparg = (op >> 12) & 0xfff;
    if shift {
        oparg = 1u32.checked_shl(oparg).unwrap_or(0);
    }
    // The word may change under us (other threads use atomics on it too).
    let mf = kernel.mf.clone();
    let old = loop {
        let old = mf.load_u32(word2);
        let new = match opcode {
            0 => oparg,
            1 => old.wrapping_add(oparg),
            2 => old | oparg,
            3 => old & !oparg,
            4 => old ^ oparg,
            _ => return Err(Errno::ENOSYS),
        };
        if mf.cmpxchg_u32(word2, old, new) == old {
            break old;
        }
    };
    let cmp = (op >> 24) & 15;
    let cmparg = op & 0xfff;
    let hit = match cmp {
        0 => old == cmparg,
        1 => old != cmparg,
        2 => (old as i32) < cmparg as i32,
        3 => (old as i32) <= cmparg as i32,
        4 => (old as i32) > cmparg as i32,
        5 => (old as i32) >= cmparg as i32,
        _ => return Err(Errno::ENOSYS),
    };
    let mut w = kernel.futexes.wake(k1, n, u32::MAX);
    if hit {
        w += kernel.futexes.wake(k2, n2, u32::MAX);
    }
    Ok(w as u64)
}

const FUTEX_WAITERS: u32 = 0x8000_0000;
const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
const FUTEX_TID_MASK: u32 = 0x3fff_ffff;

/// Marks one robust futex owned by the dying `tid` as owner-died and wakes
/// a waiter, as Linux's `handle_futex_death`.
fn futex_death(t: &Task, addr: u64, tid: i32) {
    let key = {
        let mut mm = t.mm();
        let Ok(val) = mm.read_obj::<u32>(addr) else {
            return;
        };
        if val & FUTEX_TID_MASK != tid as u32 {
            return;
        }
        let new = (val & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
        if mm.write_obj(addr, &new).is_err() || val & FUTEX_WAITERS == 0 {
            return;
        }
        match mm.futex_key(addr) {
            Ok(k) => k,
            Err(_) => return,
        }
    };
    t.kernel.futexes.wake(key, 1, u32::MAX);
}

/// Walks the dying task's robust list (`set_robust_list`), releasing every
/// lock it still holds. Bounded, and stops at the first bad pointer.
pub fn exit_robust_list(t: &Task) {
    let (head, len) = t.robust_list;
    if head == 0 || len != 24 {
        return;
    }
    let tid = t.vpid(t.tid());
    let Ok(h) = t.mm().read_obj::<[u64; 3]>(head) else {
        return;
    };
    let (mut entry, offset, pending) = (h[0], h[1] as i64, h[2]);
    let mut n = 0;
    while entry != head && entry != 0 && n < 2048 {
        let Ok(next) = t.mm().read_obj::<u64>(entry) else {
            return;
        };
        if entry != pending {
            futex_death(t, entry.wrapping_add(offset as u64), tid);
        }
        entry = next;
        n += 1;
    }
    if pending != 0 {
        futex_death(t, pending.wrapping_add(offset as u64), tid);
    }
}

/// `FUTEX_LOCK_PI` / `FUTEX_TRYLOCK_PI`: takes the lock word at `addr`
/// for the caller, sleeping (unless `try_only`) until an unlock hands it
/// over. Priority inheritance itself is not modelled (there are no
/// real-time priorities here); ownership hand-off is.
pub fn lock_pi(
    t: &mut Task,
    addr: u64,
    deadline: Option<Instant>,
    try_only: bool,
) -> SysResult<u64> {
    let kernel = t.kernel.clone();
    let tid = t.vpid(t.tid()) as u32;
    let woken = Arc::new(AtomicBool::new(false));
    loop {
        let mut sleepers = lock(&kernel.futexes.sleepers);
        t.mm().check_access(addr, 4, true)?;
        let key = t.mm().futex_key(addr)?;
        let word = t.mm().futex_word(addr)?;
        let mf = kernel.mf.clone();
        let v = mf.load_u32(word);
        let owner = v & FUTEX_TID_MASK;
        let others_wait = sleepers.iter().any(|s| s.key == key);
        let waiters_bit = if others_wait { FUTEX_WAITERS } else { 0 };
        if owner == 0 || t.find_task(owner as i32).is_none() {
            // Free, or its owner is gone: take it (marking a dead owner).
            let died = if owner != 0 {
                FUTEX_OWNER_DIED
            } else {
                v & FUTEX_OWNER_DIED
            };
            if mf.cmpxchg_u32(word, v, tid | died | waiters_bit) == v {
                return Ok(0);
            }
            continue;
        }
        if owner == tid {
            return Err(Errno::EDEADLK);
        }
        if try_only {
            return Err(Errno::EAGAIN);
        }
        if v & FUTEX_WAITERS == 0 && mf.cmpxchg_u32(word, v, v | FUTEX_WAITERS) != v {
            continue;
        }
        sleepers.push(Sleeper {
            key,
            bitset: u32::MAX,
            waiter: t.shared.waiter.clone(),
            woken: woken.clone(),
            tid: tid as i32,
            requeue_pi: None,
        });
        break;
    }
    sleep_until_woken(t, &woken, deadline, Errno::ERESTARTNOINTR)
}

/// The keys of a requeue-PI pair, checked as Linux does: two different
/// words (`EINVAL`), the first still holding `expected` (`EAGAIN`).
fn requeue_pi_keys(
    mm: &mut mm::MemoryManager,
    addr: u64,
    addr2: u64,
    expected: u32,
) -> SysResult<(FutexKey, FutexKey)> {
    let (k1, k2) = (mm.futex_key(addr)?, mm.futex_key(addr2)?);
    if k1 == k2 {
        return Err(Errno::EINVAL);
    }
    let cur: u32 = mm.read_obj(addr)?;
    if cur != expected {
        return Err(Errno::EAGAIN);
    }
    Ok((k1, k2))
}

/// `FUTEX_WAIT_REQUEUE_PI`: waits on the plain futex `addr` (a condition
/// variable) while `*addr == val`, to be woken only by
/// `FUTEX_CMP_REQUEUE_PI`, owning the PI futex `addr2` when it returns 0.
pub fn wait_requeue_pi(
    t: &mut Task,
    addr: u64,
    val: u32,
    deadline: Option<Instant>,
    addr2: u64,
) -> SysResult<u64> {
    let kernel = t.kernel.clone();
    let woken = Arc::new(AtomicBool::new(false));
    {
        let mut sleepers = lock(&kernel.futexes.sleepers);
        let (k1, k2) = requeue_pi_keys(&mut t.mm(), addr, addr2, val)?;
        sleepers.push(Sleeper {
            key: k1,
            bitset: u32::MAX,
            waiter: t.shared.waiter.clone(),
            woken: woken.clone(),
            tid: t.vpid(t.tid()),
            requeue_pi: Some(k2),
        });
    }
    // A signal before the requeue ends the wait (Linux's -EWOULDBLOCK);
    // the caller's loop waits again.
    sleep_until_woken(t, &woken, deadline, Errno::EAGAIN)
}

/// `FUTEX_CMP_REQUEUE_PI`: if `*addr == cmp`, takes the PI futex `addr2`
/// for the first `FUTEX_WAIT_REQUEUE_PI` waiter on `addr` if it is free
/// (waking it as owner), and moves up to `n_requeue` others (or the first,
/// if the lock is held) to wait for `addr2` as PI waiters. Returns how
/// many were woken or moved.
pub fn cmp_requeue_pi(
    t: &mut Task,
    addr: u64,
    n_wake: u32,
    n_requeue: usize,
    addr2: u64,
    cmp: u32,
) -> SysResult<u64> {
    if n_wake != 1 {
        return Err(Errno::EINVAL);
    }
    let kernel = t.kernel.clone();
    let mut sleepers = lock(&kernel.futexes.sleepers);
    let (k1, k2, word2) = {
        let mut mm = t.mm();
        mm.check_access(addr2, 4, true)?;
        let (k1, k2) = requeue_pi_keys(&mut mm, addr, addr2, cmp)?;
        (k1, k2, mm.futex_word(addr2)?)
    };
    let mf = kernel.mf.clone();
    let ours = |s: &Sleeper| s.key == k1 && s.requeue_pi == Some(k2);
    let mut count = 0;
    if let Some(i) = sleepers.iter().position(ours) {
        let tid = sleepers[i].tid as u32;
        loop {
            let v = mf.load_u32(word2);
            let owner = v & FUTEX_TID_MASK;
            let dead = owner != 0 && t.find_task(owner as i32).is_none();
            if owner != 0 && !dead {
                break;
            }
            let died = if dead {
                FUTEX_OWNER_DIED
            } else {
                v & FUTEX_OWNER_DIED
            };
            if mf.cmpxchg_u32(word2, v, tid | died | (v & FUTEX_WAITERS)) == v {
                let s = sleepers.remove(i);
                s.woken.store(true, Ordering::Release);
                s.waiter.notify();
                count += 1;
                break;
            }
        }
    }
    let mut moved = 0;
    for s in sleepers.iter_mut().filter(|s| ours(s)).take(n_requeue) {
        s.key = k2;
        s.requeue_pi = None;
        moved += 1;
    }
    if moved > 0 {
        loop {
            let v = mf.load_u32(word2);
            if v & FUTEX_WAITERS != 0 || mf.cmpxchg_u32(word2, v, v | FUTEX_WAITERS) == v {
                break;
            }
        }
    }
    Ok((count + moved) as u64)
}

/// `FUTEX_UNLOCK_PI`: hands the lock to the longest waiter, or frees it.
pub fn unlock_pi(t: &mut Task, addr: u64) -> SysResult<u64> {
    let kernel = t.kernel.clone();
    let tid = t.vpid(t.tid()) as u32;
    let mut sleepers = lock(&kernel.futexes.sleepers);
    t.mm().check_access(addr, 4, true)?;
    let key = t.mm().futex_key(addr)?;
    let word = t.mm().futex_word(addr)?;
    let mf = kernel.mf.clone();
    loop {
        let v = mf.load_u32(word);
        if v & FUTEX_TID_MASK != tid {
            return Err(Errno::EPERM);
        }
        let next = sleepers.iter().position(|s| s.key == key && s.tid != 0);
        let new = match next {
            Some(i) => {
                let more = sleepers
                    .iter()
                    .enumerate()
                    .any(|(j, s)| j != i && s.key == key);
                sleepers[i].tid as u32 | if more { FUTEX_WAITERS } else { 0 }
            }
            None => 0,
        };
        if mf.cmpxchg_u32(word, v, new) != v {
            continue;
        }
        if let Some(i) = next {
            let s = sleepers.remove(i);
            s.woken.store(true, Ordering::Release);
            s.waiter.notify();
        }
        return Ok(0);
    }
}

/// `futex_waitv`: sleeps until one of `words` (address, expected value) is
/// woken; returns its index. `EAGAIN` if one already differs.
pub fn wait_any(t: &mut Task, words: &[(u64, u32)], deadline: Option<Instant>) -> SysResult<u64> {
    let kernel = t.kernel.clone();
    let flags: Vec<Arc<AtomicBool>> = words
        .iter()
        .map(|_| Arc::new(AtomicBool::new(false)))
        .collect();
    {
        let mut sleepers = lock(&kernel.futexes.sleepers);
        let mut keys = Vec::with_capacity(words.len());
        {
            let mut mm = t.mm();
            for &(addr, val) in words {
                let key = mm.futex_key(addr)?;
                let cur: u32 = mm.read_obj(addr)?;
                if cur != val {
                    return Err(Errno::EAGAIN);
                }
                keys.push(key);
            }
        }
        for (key, woken) in keys.into_iter().zip(&flags) {
            sleepers.push(Sleeper {
                key,
                bitset: u32::MAX,
                waiter: t.shared.waiter.clone(),
                woken: woken.clone(),
                tid: 0,
                requeue_pi: None,
            });
        }
    }
    let waiter = t.shared.waiter.clone();
    let first_woken =
        |flags: &[Arc<AtomicBool>]| flags.iter().position(|w| w.load(Ordering::Acquire));
    let result = loop {
        if let Some(i) = first_woken(&flags) {
            break Ok(i as u64);
        }
        if t.interrupted() {
            break Err(Errno::ERESTARTSYS);
        }
        if !waiter.wait(deadline) && deadline.is_some_and(|d| Instant::now() >= d) {
            break Err(Errno::ETIMEDOUT);
        }
    };
    lock(&kernel.futexes.sleepers).retain(|x| !flags.iter().any(|w| Arc::ptr_eq(&x.woken, w)));
    match first_woken(&flags) {
        Some(i) => Ok(i as u64),
        None => result,
    }
}
