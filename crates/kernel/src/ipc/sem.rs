//! System V semaphore sets.
//!
//! A `semop` applies its whole array of operations or none: it is tried
//! under the set's lock and undone if one would block. Blocked callers
//! sleep on the set's queue and try again after every change; the count
//! of waiters per semaphore (`GETNCNT`/`GETZCNT`) is kept by the operation
//! that blocked, as Linux counts it.
//!
//! `SEM_UNDO` adjustments are kept per process in each set and applied
//! when the process's last thread exits; the namespace remembers which
//! processes have any ([`UndoIndex`]), so other exits cost one lookup.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use abi::ipc::*;
use abi::{Errno, SysResult};
use waiter::{events, Queue};

use super::{ids, now_secs, Cred, IpcNamespace, Limits, Perm};
use crate::task::{lock, Task};

#[derive(Clone, Copy, Default)]
struct Sem {
    val: i32,
    pid: i32,
}

pub struct SemSet {
    pub id: i32,
    pub nsems: usize,
    state: Mutex<SemState>,
    /// Woken on every change of a value and on removal.
    queue: Queue,
}

struct SemState {
    perm: Perm,
    otime: i64,
    ctime: i64,
    sems: Vec<Sem>,
    /// Per process: the adjustment applied at its exit, per semaphore.
    undo: HashMap<i32, Vec<i32>>,
    /// `(semaphore, waits for zero)` of each blocked operation.
    waiting: Vec<(usize, bool)>,
    removed: bool,
}

impl SemSet {
    fn st(&self) -> MutexGuard<'_, SemState> {
        lock(&self.state)
    }

    pub fn perm(&self) -> Perm {
        self.st().perm
    }

    pub fn stat(&self) -> SemidDs {
        let s = self.st();
        SemidDs {
            perm: s.perm.to_abi(),
            otime: s.otime,
            ctime: s.ctime,
            nsems: self.nsems as u64,
            ..Default::default()
        }
    }
}

/// Which processes hold adjustments in which sets.
#[derive(Default)]
pub struct UndoIndex {
    any: AtomicBool,
    by_pid: Mutex<HashMap<i32, HashSet<i32>>>,
}

/// `semget`.
pub fn semget(ns: &IpcNamespace, c: &Cred, key: i32, nsems: i32, flags: i32) -> SysResult<i32> {
    let msl = Limits::get(&ns.limits.sem[0]);
    if nsems < 0 || nsems > msl {
        return Err(Errno::EINVAL);
    }
    let mut reg = ids(&ns.sem);
    if let Some(id) = reg.lookup(key, flags, c, |s| s.perm(), |s| nsems as usize <= s.nsems)? {
        return Ok(id);
    }
    if nsems == 0 {
        return Err(Errno::EINVAL);
    }
    let mns = Limits::get(&ns.limits.sem[1]).max(0) as u64;
    if ns.sems_used.load(Ordering::Relaxed) + nsems as u64 > mns {
        return Err(Errno::ENOSPC);
    }
    let mni = Limits::get(&ns.limits.sem[3]).max(0) as u32;
    let (id, seq) = reg.alloc(mni)?;
    let set = Arc::new(SemSet {
        id,
        nsems: nsems as usize,
        state: Mutex::new(SemState {
            perm: Perm::new(key, seq, flags as u32, c),
            otime: 0,
            ctime: now_secs(),
            sems: vec![Sem::default(); nsems as usize],
            undo: HashMap::new(),
            waiting: Vec::new(),
            removed: false,
        }),
        queue: Queue::new(),
    });
    reg.insert(id, key, set);
    ns.sems_used.fetch_add(nsems as u64, Ordering::Relaxed);
    Ok(id)
}

/// Why an operation array could not be applied now.
enum Blocked {
    /// Would block on this operation: `(semaphore, waits for zero)`.
    Wait(usize, bool),
    Err(Errno),
}

/// Applies `ops` in order, all or nothing (Linux's
/// `perform_atomic_semop_slow`).
fn try_ops(s: &mut SemState, ops: &[SemBuf], pid: i32) -> Result<(), Blocked> {
    let saved: Vec<i32> = ops.iter().map(|o| s.sems[o.num as usize].val).collect();
    let saved_undo = s.undo.get(&pid).cloned();
    let mut fail = None;
    for o in ops {
        let n = o.num as usize;
        let cur = s.sems[n].val;
        if o.op == 0 && cur != 0 {
            fail = Some(Blocked::Wait(n, true));
            break;
        }
        let r = cur + o.op as i32;
        if r < 0 {
            fail = Some(Blocked::Wait(n, false));
            break;
        }
        if r > SEMVMX {
            fail = Some(Blocked::Err(Errno::ERANGE));
            break;
        }
        if o.flg & SEM_UNDO != 0 {
            let nsems = s.sems.len();
            let adj = &mut s.undo.entry(pid).or_insert_with(|| vec![0; nsems])[n];
            let u = *adj - o.op as i32;
            if !(-SEMAEM - 1..=SEMAEM).contains(&u) {
                fail = Some(Blocked::Err(Errno::ERANGE));
                break;
            }
            *adj = u;
        }
        s.sems[n].val = r;
    }
    if let Some(f) = fail {
        // Put back what the applied part changed (in reverse, so a
        // semaphore named twice ends at its first saved value).
        for (o, v) in ops.iter().zip(saved).rev() {
            s.sems[o.num as usize].val = v;
        }
        match saved_undo {
            Some(u) => {
                s.undo.insert(pid, u);
            }
            None => {
                s.undo.remove(&pid);
            }
        }
        return Err(f);
    }
    for o in ops {
        s.sems[o.num as usize].pid = pid;
    }
    Ok(())
}

/// `semop`/`semtimedop`: `ops` already read and counted.
pub fn semop(
    t: &mut Task,
    ns: &IpcNamespace,
    id: i32,
    ops: &[SemBuf],
    deadline: Option<Instant>,
) -> SysResult<()> {
    let c = Cred::of(t);
    let max = ops.iter().map(|o| o.num).max().unwrap_or(0) as usize;
    let undo = ops.iter().any(|o| o.flg & SEM_UNDO != 0);
    let alter = ops.iter().any(|o| o.op != 0);
    let set = ids(&ns.sem).get(id)?.clone();
    if max >= set.nsems {
        return Err(Errno::EFBIG);
    }
    set.perm().check(&c, if alter { 0o222 } else { 0o444 })?;
    if undo {
        ns.undo.any.store(true, Ordering::Relaxed);
        lock(&ns.undo.by_pid).entry(c.pid).or_default().insert(id);
    }
    let waiter = t.shared.waiter.clone();
    let _reg = set.queue.register(&waiter, events::ALL);
    let mut queued: Option<(usize, bool)> = None;
    let unqueue = |s: &mut SemState, q: &mut Option<(usize, bool)>| {
        if let Some(w) = q.take() {
            if let Some(i) = s.waiting.iter().position(|&x| x == w) {
                s.waiting.swap_remove(i);
            }
        }
    };
    loop {
        {
            let mut s = set.st();
            if s.removed {
                unqueue(&mut s, &mut queued);
                return Err(Errno::EIDRM);
            }
            match try_ops(&mut s, ops, c.pid) {
                Ok(()) => {
                    unqueue(&mut s, &mut queued);
                    s.otime = now_secs();
                    drop(s);
                    if alter {
                        set.queue.notify(events::ALL);
                    }
                    return Ok(());
                }
                Err(Blocked::Err(e)) => {
                    unqueue(&mut s, &mut queued);
                    return Err(e);
                }
                Err(Blocked::Wait(n, zero)) => {
                    if ops.iter().any(|o| o.flg as i32 & IPC_NOWAIT != 0) {
                        unqueue(&mut s, &mut queued);
                        return Err(Errno::EAGAIN);
                    }
                    if queued != Some((n, zero)) {
                        unqueue(&mut s, &mut queued);
                        s.waiting.push((n, zero));
                        queued = Some((n, zero));
                    }
                }
            }
        }
        // semop is never restarted after a handler (signal(7)).
        if t.interrupted() || !waiter.wait(deadline) {
            let mut s = set.st();
            unqueue(&mut s, &mut queued);
            drop(s);
            return Err(if t.interrupted() {
                Errno::EINTR
            } else {
                Errno::EAGAIN
            });
        }
    }
}

/// `semctl`'s commands that name a set by id; `arg` is the fourth
/// argument (a value for `SETVAL`, else a pointer, already decoded by
/// the caller into `SemArg`).
pub enum SemArg {
    None,
    Val(i32),
    /// `SETALL`'s values.
    All(Vec<u16>),
    Set(SemidDs),
}

/// What a `semctl` produced.
pub enum SemOut {
    Ret(i32),
    All(Vec<u16>),
    Stat(i32, SemidDs),
    Info(i32, SemInfo),
}

fn get_set(ns: &IpcNamespace, id: i32) -> SysResult<Arc<SemSet>> {
    Ok(ids(&ns.sem).get(id)?.clone())
}

/// Drops every process's adjustment of the semaphores `which` (all if
/// `None`): a value set by `SETVAL`/`SETALL` is not undone.
fn clear_undo(s: &mut SemState, which: Option<usize>) {
    for adj in s.undo.values_mut() {
        match which {
            Some(n) => adj[n] = 0,
            None => adj.iter_mut().for_each(|a| *a = 0),
        }
    }
}

pub fn semctl(
    ns: &IpcNamespace,
    c: &Cred,
    id: i32,
    num: i32,
    cmd: i32,
    arg: SemArg,
) -> SysResult<SemOut> {
    match cmd {
        IPC_INFO | SEM_INFO => {
            let reg = ids(&ns.sem);
            let l = &ns.limits;
            let mut i = SemInfo {
                semmni: Limits::get(&l.sem[3]),
                semmns: Limits::get(&l.sem[1]),
                semmsl: Limits::get(&l.sem[0]),
                semopm: Limits::get(&l.sem[2]),
                semvmx: SEMVMX,
                semmnu: 1_024_000_000,
                semmap: 1_024_000_000,
                semume: 500,
                semusz: 20,
                semaem: SEMAEM,
            };
            if cmd == SEM_INFO {
                i.semusz = reg.in_use() as i32;
                i.semaem = ns.sems_used.load(Ordering::Relaxed) as i32;
            }
            // The caller copies this out; the result is the top index.
            return Ok(SemOut::Info(reg.max_index() as i32, i));
        }
        IPC_STAT | SEM_STAT | SEM_STAT_ANY => {
            let reg = ids(&ns.sem);
            let (id, set) = if cmd == IPC_STAT {
                (id, reg.get(id)?.clone())
            } else {
                let (i, s) = reg.by_index(id)?;
                (i, s.clone())
            };
            drop(reg);
            if cmd != SEM_STAT_ANY {
                set.perm().check(c, 0o444)?;
            }
            let ret = if cmd == IPC_STAT { 0 } else { id };
            return Ok(SemOut::Stat(ret, set.stat()));
        }
        IPC_SET => {
            let SemArg::Set(ds) = arg else {
                return Err(Errno::EINVAL);
            };
            let set = get_set(ns, id)?;
            let mut s = set.st();
            s.perm.check_owner(c)?;
            s.perm.set(&ds.perm);
            s.ctime = now_secs();
            return Ok(SemOut::Ret(0));
        }
        IPC_RMID => {
            let mut reg = ids(&ns.sem);
            let set = reg.get(id)?.clone();
            let mut s = set.st();
            s.perm.check_owner(c)?;
            s.removed = true;
            reg.remove(id, s.perm.key, &set);
            ns.sems_used.fetch_sub(set.nsems as u64, Ordering::Relaxed);
            let pids: Vec<i32> = s.undo.keys().copied().collect();
            s.undo.clear();
            drop(s);
            drop(reg);
            let mut by_pid = lock(&ns.undo.by_pid);
            for p in pids {
                if let Some(sets) = by_pid.get_mut(&p) {
                    sets.remove(&id);
                }
            }
            drop(by_pid);
            set.queue.notify(events::ALL);
            return Ok(SemOut::Ret(0));
        }
        SETVAL => {
            let SemArg::Val(v) = arg else {
                return Err(Errno::EINVAL);
            };
            if !(0..=SEMVMX).contains(&v) {
                return Err(Errno::ERANGE);
            }
            let set = get_set(ns, id)?;
            if num < 0 || num as usize >= set.nsems {
                return Err(Errno::EINVAL);
            }
            let mut s = set.st();
            s.perm.check(c, 0o222)?;
            if s.removed {
                return Err(Errno::EIDRM);
            }
            clear_undo(&mut s, Some(num as usize));
            s.sems[num as usize] = Sem { val: v, pid: c.pid };
            s.ctime = now_secs();
            drop(s);
            set.queue.notify(events::ALL);
            return Ok(SemOut::Ret(0));
        }
        GETALL | SETALL | GETVAL | GETPID | GETNCNT | GETZCNT => {}
        _ => return Err(Errno::EINVAL),
    }
    let set = get_set(ns, id)?;
    let mut s = set.st();
    s.perm.check(c, if cmd == SETALL { 0o222 } else { 0o444 })?;
    if s.removed {
        return Err(Errno::EIDRM);
    }
    match cmd {
        GETALL => return Ok(SemOut::All(s.sems.iter().map(|x| x.val as u16).collect())),
        SETALL => {
            let SemArg::All(vals) = arg else {
                return Err(Errno::EINVAL);
            };
            if vals.iter().any(|&v| v as i32 > SEMVMX) {
                return Err(Errno::ERANGE);
            }
            for (sem, v) in s.sems.iter_mut().zip(vals) {
                *sem = Sem {
                    val: v as i32,
                    pid: c.pid,
                };
            }
            clear_undo(&mut s, None);
            s.ctime = now_secs();
            drop(s);
            set.queue.notify(events::ALL);
            return Ok(SemOut::Ret(0));
        }
        _ => {}
    }
    if num < 0 || num as usize >= set.nsems {
        return Err(Errno::EINVAL);
    }
    let n = num as usize;
    let r = match cmd {
        GETVAL => s.sems[n].val,
        GETPID => s.sems[n].pid,
        GETNCNT => s.waiting.iter().filter(|&&w| w == (n, false)).count() as i32,
        _ => s.waiting.iter().filter(|&&w| w == (n, true)).count() as i32,
    };
    Ok(SemOut::Ret(r))
}

/// How many semaphores set `id` has (`SETALL` reads that many values).
pub fn nsems(ns: &IpcNamespace, id: i32) -> SysResult<usize> {
    Ok(get_set(ns, id)?.nsems)
}

/// Whether process `pid` has an undo list: Linux makes one at its first
/// `SEM_UNDO` operation and keeps it until the process ends.
pub fn has_undo_list(ns: &IpcNamespace, pid: i32) -> bool {
    lock(&ns.undo.by_pid).contains_key(&pid)
}

/// Applies the adjustments of process `pid` (its last thread left).
pub fn exit_process(ns: &IpcNamespace, pid: i32) {
    if !ns.undo.any.load(Ordering::Relaxed) {
        return;
    }
    let Some(sets) = lock(&ns.undo.by_pid).remove(&pid) else {
        return;
    };
    for id in sets {
        let Ok(set) = get_set(ns, id) else { continue };
        let mut s = set.st();
        let Some(adj) = s.undo.remove(&pid) else {
            continue;
        };
        for (sem, a) in s.sems.iter_mut().zip(adj) {
            if a != 0 {
                sem.val = (sem.val + a).clamp(0, SEMVMX);
                sem.pid = pid;
            }
        }
        s.otime = now_secs();
        drop(s);
        set.queue.notify(events::ALL);
    }
}
