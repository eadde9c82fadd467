//! Scheduling attributes: affinity, policy and priority, nice values, I/O
//! priority and memory policy. They are kept per task and reported back
//! (see `kernel::sched` for why the host scheduler is not told).

use std::sync::Arc;

use abi::misc::SchedAttr;
use abi::{Errno, SysResult};
use kernel::sched::{self, CpuSet, MemPolicy};
use kernel::task::{lock, CAP_SYS_NICE};
use kernel::{Task, TaskShared};

use crate::util;

const RLIMIT_NICE: usize = 13;
const RLIMIT_RTPRIO: usize = 14;

/// The task `pid` names (0: the caller): `ESRCH` if none.
fn target(t: &Task, pid: i32) -> SysResult<Arc<TaskShared>> {
    if pid == 0 {
        return Ok(t.shared.clone());
    }
    if pid < 0 {
        return Err(Errno::ESRCH);
    }
    t.find_task(pid).ok_or(Errno::ESRCH)
}

/// Linux's `check_same_owner`: the caller's effective uid is the target's
/// real or effective uid.
fn same_owner(t: &Task, p: &TaskShared) -> bool {
    let ruid = p.uid(kernel::task::RUID);
    let euid = p.uid(kernel::task::EUID);
    t.euid == ruid || t.euid == euid
}

/// Changing another task's attributes: `EPERM` unless it is the caller's
/// own or the caller has `CAP_SYS_NICE`.
fn may_change(t: &Task, p: &TaskShared) -> SysResult<()> {
    if same_owner(t, p) || t.capable(CAP_SYS_NICE) {
        Ok(())
    } else {
        Err(Errno::EPERM)
    }
}

/// `RLIMIT_NICE` lets a task lower its nice value to `20 - limit`.
fn can_nice(t: &Task, p: &TaskShared, nice: i32) -> bool {
    let lim = p.tg.lock().rlimits[RLIMIT_NICE].cur;
    (20 - nice) as u64 <= lim || t.capable(CAP_SYS_NICE)
}

fn cpumask_size() -> usize {
    sched::mask_size()
}

pub fn sched_getaffinity(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let len = a[1] as usize;
    if len.saturating_mul(8) < sched::ncpus() || !len.is_multiple_of(8) {
        return Err(Errno::EINVAL);
    }
    let p = target(t, a[0] as i32)?;
    let mask = lock(&p.sched).affinity.and(&sched::online());
    let n = len.min(cpumask_size());
    t.mm().copy_out(a[2], &mask.to_bytes()[..n])?;
    Ok(n as u64)
}

pub fn sched_setaffinity(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    // A shorter mask than the kernel's is zero-extended, a longer one cut.
    let len = (a[1] as usize).min(cpumask_size());
    let mut b = vec![0u8; len];
    t.mm().copy_in(a[2], &mut b)?;
    let p = target(t, a[0] as i32)?;
    may_change(t, &p)?;
    let mask = CpuSet::from_bytes(&b).and(&sched::online());
    if mask.is_empty() {
        return Err(Errno::EINVAL);
    }
    lock(&p.sched).affinity = mask;
    Ok(0)
}

/// `getcpu`: the CPU the sentry's thread runs on when it is one the
/// task may use, else the first of those (the application's code runs on
/// a stub thread the host places); node 0.
pub fn getcpu(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let aff = lock(&t.shared.sched).affinity;
    let cpu = sched::current_cpu()
        .filter(|&c| aff.contains(c))
        .or_else(|| (0..sched::MAX_CPUS).find(|&c| aff.contains(c)))
        .unwrap_or(0) as u32;
    if a[0] != 0 {
        util::write_obj(t, a[0], &cpu)?;
    }
    if a[1] != 0 {
        util::write_obj(t, a[1], &0u32)?;
    }
    Ok(0)
}

const SCHED_RESET_ON_FORK: u32 = 0x4000_0000;
const SCHED_FLAG_RESET_ON_FORK: u64 = 0x01;
const SCHED_FLAG_KEEP_POLICY: u64 = 0x08;
const SCHED_FLAG_KEEP_PARAMS: u64 = 0x10;
const SCHED_FLAG_UTIL_CLAMP_MIN: u64 = 0x20;
const SCHED_FLAG_UTIL_CLAMP_MAX: u64 = 0x40;
/// Every flag Linux knows (with `SCHED_FLAG_SUGOV`, 0x10000000).
const SCHED_FLAGS_KNOWN: u64 = 0x7f | 0x1000_0000;
/// `sched_setscheduler`'s "keep the policy" (`sched_setparam`).
const KEEP_POLICY: i64 = -1;

const ATTR_SIZE_VER0: usize = 48;
const ATTR_SIZE: usize = std::mem::size_of::<SchedAttr>();

fn is_rt(policy: u32) -> bool {
    matches!(policy, sched::SCHED_FIFO | sched::SCHED_RR)
}

/// `SCHED_DEADLINE`'s parameter rules (`__checkparam_dl`: the period
/// between 100 us and 4 s, runtime <= deadline <= period).
fn deadline_ok(at: &SchedAttr) -> bool {
    let period = if at.period == 0 {
        at.deadline
    } else {
        at.period
    };
    at.deadline != 0
        && at.runtime >= 1 << 10
        && (at.deadline | at.period) >> 63 == 0
        && (100_000..=4_000_000_000).contains(&period)
        && (at.period == 0 || at.period >= at.deadline)
        && at.deadline >= at.runtime
}

/// Linux's `__sched_setscheduler`: validates `at` (policy `KEEP_POLICY`
/// keeps the task's) and applies it to `p`.
fn set_scheduler(t: &Task, p: &TaskShared, policy: i64, at: &SchedAttr) -> SysResult<()> {
    let cur = *lock(&p.sched);
    let policy = if policy == KEEP_POLICY {
        cur.policy
    } else {
        policy as u32
    };
    if !matches!(policy, 0 | 1 | 2 | 3 | 5 | 6) || at.flags & !SCHED_FLAGS_KNOWN != 0 {
        return Err(Errno::EINVAL);
    }
    if at.priority > 99 || is_rt(policy) != (at.priority != 0) {
        return Err(Errno::EINVAL);
    }
    if policy == sched::SCHED_DEADLINE && !deadline_ok(at) {
        return Err(Errno::EINVAL);
    }
    let mut uclamp = cur.uclamp;
    if at.flags & SCHED_FLAG_UTIL_CLAMP_MIN != 0 {
        uclamp[0] = if at.util_min == u32::MAX {
            0
        } else {
            at.util_min
        };
    }
    if at.flags & SCHED_FLAG_UTIL_CLAMP_MAX != 0 {
        uclamp[1] = if at.util_max == u32::MAX {
            1024
        } else {
            at.util_max
        };
    }
    if uclamp[0] > 1024 || uclamp[1] > 1024 || uclamp[0] > uclamp[1] {
        return Err(Errno::EINVAL);
    }
    let keep_params = at.flags & SCHED_FLAG_KEEP_PARAMS != 0;
    // Only the fair policies take a nice value (SCHED_IDLE keeps it).
    let fair = matches!(policy, sched::SCHED_NORMAL | sched::SCHED_BATCH);
    let nice = if keep_params || !fair {
        cur.nice
    } else {
        at.nice.clamp(-20, 19)
    };
    let reset = at.flags & SCHED_FLAG_RESET_ON_FORK != 0;
    if !t.capable(CAP_SYS_NICE) {
        if !same_owner(t, p) {
            return Err(Errno::EPERM);
        }
        if nice < cur.nice && !can_nice(t, p, nice) {
            return Err(Errno::EPERM);
        }
        if is_rt(policy) {
            let lim = p.tg.lock().rlimits[RLIMIT_RTPRIO].cur;
            if (policy != cur.policy && lim == 0)
                || (at.priority > cur.rt_priority && at.priority as u64 > lim)
            {
                return Err(Errno::EPERM);
            }
        }
        if policy == sched::SCHED_DEADLINE || (cur.reset_on_fork && !reset) {
            return Err(Errno::EPERM);
        }
    }
    let mut s = lock(&p.sched);
    s.policy = policy;
    s.reset_on_fork = reset;
    s.nice = nice;
    s.uclamp = uclamp;
    if !keep_params {
        s.rt_priority = at.priority;
        s.dl = if policy == sched::SCHED_DEADLINE {
            [at.runtime, at.deadline, at.period]
        } else {
            [0; 3]
        };
    }
    Ok(())
}

fn setscheduler(t: &Task, pid: i32, policy: i64, param: u64) -> SysResult<u64> {
    if param == 0 || pid < 0 {
        return Err(Errno::EINVAL);
    }
    let priority: i32 = util::read_obj(t, param)?;
    let p = target(t, pid)?;
    let mut flags = 0;
    let mut policy = policy;
    if policy >= 0 && policy as u32 & SCHED_RESET_ON_FORK != 0 {
        flags |= SCHED_FLAG_RESET_ON_FORK;
        policy &= !(SCHED_RESET_ON_FORK as i64);
    } else if policy == KEEP_POLICY && lock(&p.sched).reset_on_fork {
        flags |= SCHED_FLAG_RESET_ON_FORK;
    }
    let at = SchedAttr {
        policy: policy as u32,
        flags,
        // Only sched_setattr changes the nice value.
        nice: lock(&p.sched).nice,
        priority: priority as u32,
        ..Default::default()
    };
    if priority < 0 {
        return Err(Errno::EINVAL);
    }
    set_scheduler(t, &p, policy, &at).map(|_| 0)
}

pub fn sched_setscheduler(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let policy = a[1] as i32;
    if policy < 0 {
        return Err(Errno::EINVAL);
    }
    setscheduler(t, a[0] as i32, policy as i64, a[2])
}

pub fn sched_setparam(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    setscheduler(t, a[0] as i32, KEEP_POLICY, a[1])
}

pub fn sched_getscheduler(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    if (a[0] as i32) < 0 {
        return Err(Errno::EINVAL);
    }
    let s = *lock(&target(t, a[0] as i32)?.sched);
    Ok((s.policy
        | if s.reset_on_fork {
            SCHED_RESET_ON_FORK
        } else {
            0
        }) as u64)
}

pub fn sched_getparam(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    if a[1] == 0 || (a[0] as i32) < 0 {
        return Err(Errno::EINVAL);
    }
    let s = *lock(&target(t, a[0] as i32)?.sched);
    util::write_obj(t, a[1], &(s.rt_priority as i32)).map(|_| 0)
}

/// `sched_setattr(pid, attr, flags)`.
pub fn sched_setattr(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (pid, uattr, flags) = (a[0] as i32, a[1], a[2]);
    if uattr == 0 || pid < 0 || flags != 0 {
        return Err(Errno::EINVAL);
    }
    let mut size: u32 = util::read_obj(t, uattr)?;
    if size == 0 {
        size = ATTR_SIZE_VER0 as u32;
    }
    let too_big = |t: &Task| {
        util::write_obj(t, uattr, &(ATTR_SIZE as u32))?;
        Err(Errno::E2BIG)
    };
    if (size as usize) < ATTR_SIZE_VER0 || size > 4096 {
        return too_big(t);
    }
    let mut b = vec![0u8; size as usize];
    t.mm().copy_in(uattr, &mut b)?;
    // Fields past the ones this kernel knows must be zero.
    if b.len() > ATTR_SIZE && b[ATTR_SIZE..].iter().any(|&x| x != 0) {
        return too_big(t);
    }
    b.resize(ATTR_SIZE.max(b.len()), 0);
    let mut at = SchedAttr::default();
    abi::Pod::as_bytes_mut(&mut at).copy_from_slice(&b[..ATTR_SIZE]);
    if at.flags & (SCHED_FLAG_UTIL_CLAMP_MIN | SCHED_FLAG_UTIL_CLAMP_MAX) != 0
        && (size as usize) < ATTR_SIZE
    {
        return Err(Errno::EINVAL);
    }
    if (at.policy as i32) < 0 {
        return Err(Errno::EINVAL);
    }
    let policy = if at.flags & SCHED_FLAG_KEEP_POLICY != 0 {
        KEEP_POLICY
    } else {
        at.policy as i64
    };
    let p = target(t, pid)?;
    set_scheduler(t, &p, policy, &at).map(|_| 0)
}

/// `sched_getattr(pid, attr, size, flags)`.
pub fn sched_getattr(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (pid, uattr, usize_, flags) = (a[0] as i32, a[1], a[2] as usize, a[3]);
    if uattr == 0 || pid < 0 || !(ATTR_SIZE_VER0..=4096).contains(&usize_) || flags != 0 {
        return Err(Errno::EINVAL);
    }
    let s = *lock(&target(t, pid)?.sched);
    let n = usize_.min(ATTR_SIZE);
    let mut at = SchedAttr {
        size: n as u32,
        policy: s.policy,
        flags: if s.reset_on_fork {
            SCHED_FLAG_RESET_ON_FORK
        } else {
            0
        },
        util_min: s.uclamp[0],
        util_max: s.uclamp[1],
        ..Default::default()
    };
    if s.policy == sched::SCHED_DEADLINE {
        [at.runtime, at.deadline, at.period] = s.dl;
    } else if is_rt(s.policy) {
        at.priority = s.rt_priority;
    } else {
        at.nice = s.nice;
    }
    t.mm().copy_out(uattr, &abi::Pod::as_bytes(&at)[..n])?;
    Ok(0)
}

pub fn sched_get_priority_max(_t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    match a[0] as i32 {
        0 | 3 | 5 | 6 => Ok(0),
        1 | 2 => Ok(99),
        _ => Err(Errno::EINVAL),
    }
}

pub fn sched_get_priority_min(_t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    match a[0] as i32 {
        0 | 3 | 5 | 6 => Ok(0),
        1 | 2 => Ok(1),
        _ => Err(Errno::EINVAL),
    }
}

/// `sched_rr_get_interval`: `SCHED_RR`'s 100 ms slice, 0 for the other
/// policies (`SCHED_FIFO` has no slice; the fair class's varies with the
/// load and the sandbox does not model it).
pub fn sched_rr_get_interval(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    if (a[0] as i32) < 0 {
        return Err(Errno::EINVAL);
    }
    let s = *lock(&target(t, a[0] as i32)?.sched);
    let nsec = if s.policy == sched::SCHED_RR {
        100_000_000
    } else {
        0
    };
    util::write_obj(t, a[1], &abi::time::Timespec { sec: 0, nsec }).map(|_| 0)
}

const PRIO_PROCESS: u64 = 0;
const PRIO_PGRP: u64 = 1;
const PRIO_USER: u64 = 2;

/// A task `getpriority`/`setpriority` name: a live thread, or a zombie
/// process (Linux keeps its task, with its nice value, until it is
/// reaped).
enum PrioTarget {
    Live(Arc<TaskShared>),
    Zombie(Arc<kernel::ThreadGroup>),
}

impl PrioTarget {
    fn nice(&self) -> i32 {
        match self {
            PrioTarget::Live(p) => lock(&p.sched).nice,
            PrioTarget::Zombie(g) => g.lock().zombie.map_or(0, |z| z.nice),
        }
    }

    /// Linux's `set_one_prio` permission: the caller's effective uid is
    /// the target's real or effective uid, or it has `CAP_SYS_NICE`.
    fn may_change(&self, t: &Task) -> SysResult<()> {
        match self {
            PrioTarget::Live(p) => may_change(t, p),
            PrioTarget::Zombie(g) => match g.lock().zombie {
                Some(z) if t.euid == z.ruid || t.euid == z.euid || t.capable(CAP_SYS_NICE) => {
                    Ok(())
                }
                _ => Err(Errno::EPERM),
            },
        }
    }
}

/// The tasks `which`/`who` name for `getpriority`/`setpriority`: one
/// task, every thread of a process group, or every thread of a user's
/// processes (by real uid); zombies (their last thread) included.
fn prio_targets(t: &Task, which: u64, who: u64) -> SysResult<Vec<PrioTarget>> {
    let who = who as i32;
    let zombie = |g: &Arc<kernel::ThreadGroup>| g.lock().zombie.is_some();
    match which {
        PRIO_PROCESS => Ok(match target(t, who) {
            Ok(p) => vec![PrioTarget::Live(p)],
            Err(_) => t
                .find_group(who)
                .filter(|g| who > 0 && zombie(g))
                .map(PrioTarget::Zombie)
                .into_iter()
                .collect(),
        }),
        PRIO_PGRP | PRIO_USER => {
            let key = if who != 0 {
                who as u32
            } else if which == PRIO_PGRP {
                t.tg().lock().pgid as u32
            } else {
                t.creds.uid
            };
            let (tasks, groups): (Vec<Arc<TaskShared>>, Vec<Arc<kernel::ThreadGroup>>) = {
                let table = lock(&t.kernel.table);
                (
                    table.tasks.values().cloned().collect(),
                    table
                        .groups
                        .values()
                        .filter(|g| zombie(g))
                        .cloned()
                        .collect(),
                )
            };
            let mut out: Vec<PrioTarget> = tasks
                .into_iter()
                .filter(|p| {
                    if which == PRIO_PGRP {
                        let g = p.tg.lock();
                        g.pgid as u32 == key && g.exit_status.is_none()
                    } else {
                        p.uid(kernel::task::RUID) == key
                    }
                })
                .map(PrioTarget::Live)
                .collect();
            out.extend(
                groups
                    .into_iter()
                    .filter(|g| {
                        let g = g.lock();
                        match which {
                            PRIO_PGRP => g.pgid as u32 == key,
                            _ => g.zombie.is_some_and(|z| z.ruid == key),
                        }
                    })
                    .map(PrioTarget::Zombie),
            );
            Ok(out)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// `getpriority`: the highest `20 - nice` of the named tasks, as the raw
/// syscall returns it.
pub fn getpriority(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    prio_targets(t, a[0], a[1])?
        .iter()
        .map(|p| 20 - p.nice())
        .max()
        .map(|v| v as u64)
        .ok_or(Errno::ESRCH)
}

/// `setpriority`: every named task the caller may change gets the nice
/// value; the error is the last refusal (`EPERM` for someone else's task,
/// `EACCES` for lowering it without `CAP_SYS_NICE` or `RLIMIT_NICE`).
pub fn setpriority(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let targets = prio_targets(t, a[0], a[1])?;
    if targets.is_empty() {
        return Err(Errno::ESRCH);
    }
    let nice = (a[2] as i32).clamp(-20, 19);
    let mut r = Ok(0);
    for p in targets {
        let done = p.may_change(t).and_then(|_| match &p {
            PrioTarget::Live(p) => {
                let cur = lock(&p.sched).nice;
                if nice < cur && !can_nice(t, p, nice) {
                    return Err(Errno::EACCES);
                }
                lock(&p.sched).nice = nice;
                Ok(())
            }
            PrioTarget::Zombie(g) => {
                let mut g = g.lock();
                let lim = g.rlimits[RLIMIT_NICE].cur;
                let Some(z) = g.zombie.as_mut() else {
                    return Ok(());
                };
                if nice < z.nice && (20 - nice) as u64 > lim && !t.capable(CAP_SYS_NICE) {
                    return Err(Errno::EACCES);
                }
                z.nice = nice;
                Ok(())
            }
        });
        if let Err(e) = done {
            r = Err(e);
        }
    }
    r
}

/// Applies `change` to every target the caller may change: `ESRCH` if
/// there is none, else the last refusal, as Linux's `setpriority` and
/// `ioprio_set` report.
fn change_each(
    t: &Task,
    targets: Vec<Arc<TaskShared>>,
    change: impl Fn(&TaskShared) -> SysResult<()>,
) -> SysResult<u64> {
    if targets.is_empty() {
        return Err(Errno::ESRCH);
    }
    let mut r = Ok(0);
    for p in targets {
        if let Err(e) = may_change(t, &p).and_then(|_| change(&p)) {
            r = Err(e);
        }
    }
    r
}

const IOPRIO_WHO_PROCESS: u64 = 1;
const IOPRIO_WHO_PGRP: u64 = 2;
const IOPRIO_WHO_USER: u64 = 3;

fn ioprio_targets(t: &Task, which: u64, who: u64) -> SysResult<Vec<Arc<TaskShared>>> {
    match which {
        // A zombie has no I/O context left to set (Linux: `ESRCH`).
        IOPRIO_WHO_PROCESS | IOPRIO_WHO_PGRP | IOPRIO_WHO_USER => {
            Ok(prio_targets(t, which - 1, who)?
                .into_iter()
                .filter_map(|p| match p {
                    PrioTarget::Live(p) => Some(p),
                    PrioTarget::Zombie(_) => None,
                })
                .collect())
        }
        _ => Err(Errno::EINVAL),
    }
}

/// `ioprio_set(which, who, ioprio)`: the class and level are validated
/// and kept per task (the sandbox's I/O is not scheduled by them).
pub fn ioprio_set(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let prio = a[2] as u32;
    // Linux's ioprio_check_cap: the class is 3 bits at 13, the level the
    // low 3 bits (the hint bits between are not checked).
    let (class, level) = ((prio >> 13) & 7, prio & 7);
    match class {
        0 if level != 0 => return Err(Errno::EINVAL),
        1 if !t.capable(kernel::task::CAP_SYS_ADMIN) && !t.capable(CAP_SYS_NICE) => {
            return Err(Errno::EPERM)
        }
        0..=3 => {}
        _ => return Err(Errno::EINVAL),
    }
    let targets = ioprio_targets(t, a[0], a[1])?;
    change_each(t, targets, |p| {
        lock(&p.sched).ioprio = prio as u16;
        Ok(())
    })
}

/// `ioprio_get(which, who)`: the highest priority among the named tasks.
pub fn ioprio_get(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let targets = ioprio_targets(t, a[0], a[1])?;
    // A lower class number is a higher priority, except "none" (0).
    let rank = |p: u16| match p >> 13 {
        0 => (2u16, 4u16),
        c => (c, p & 7),
    };
    targets
        .iter()
        .map(|p| lock(&p.sched).ioprio)
        .min_by_key(|&p| rank(p))
        .map(|p| p as u64)
        .ok_or(Errno::ESRCH)
}

const MPOL_DEFAULT: u32 = 0;
const MPOL_PREFERRED: u32 = 1;
const MPOL_BIND: u32 = 2;
const MPOL_INTERLEAVE: u32 = 3;
const MPOL_LOCAL: u32 = 4;
const MPOL_PREFERRED_MANY: u32 = 5;
const MPOL_WEIGHTED_INTERLEAVE: u32 = 6;
const MPOL_F_STATIC_NODES: u32 = 1 << 15;
const MPOL_F_RELATIVE_NODES: u32 = 1 << 14;
const MPOL_F_NUMA_BALANCING: u32 = 1 << 13;
const MPOL_MODE_FLAGS: u32 = MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES | MPOL_F_NUMA_BALANCING;
const MPOL_F_NODE: u64 = 1;
const MPOL_F_ADDR: u64 = 2;
const MPOL_F_MEMS_ALLOWED: u64 = 4;

/// A node mask as `get_nodes` reads it.
#[derive(Clone, Copy, Default)]
struct Nodes {
    /// Any bit set.
    any: bool,
    /// Node 0, the sandbox's only node.
    node0: bool,
    /// A node other than 0 (one that does not exist here).
    others: bool,
}

/// Reads `maxnode - 1` bits (Linux ignores the last one). Bits past
/// `MAX_NUMNODES` (1024) must be clear.
fn read_nodes(t: &Task, addr: u64, maxnode: u64) -> SysResult<Nodes> {
    let bits = maxnode.saturating_sub(1);
    if addr == 0 || bits == 0 {
        return Ok(Nodes::default());
    }
    if bits > 4096 * 8 {
        return Err(Errno::EINVAL);
    }
    let mut b = vec![0u8; bits.div_ceil(64) as usize * 8];
    t.mm().copy_in(addr, &mut b)?;
    let mut n = Nodes::default();
    for (i, x) in b.iter().enumerate() {
        for bit in 0..8 {
            let node = i as u64 * 8 + bit;
            if node < bits && x & (1 << bit) != 0 {
                if node >= 1024 {
                    return Err(Errno::EINVAL);
                }
                n.any = true;
                n.node0 |= node == 0;
                n.others |= node != 0;
            }
        }
    }
    Ok(n)
}

/// `sanitize_mpol_flags`: splits the mode from its flags.
fn mode_flags(raw: u32) -> SysResult<(u32, u32)> {
    let (flags, mode) = (raw & MPOL_MODE_FLAGS, raw & !MPOL_MODE_FLAGS);
    if mode > MPOL_WEIGHTED_INTERLEAVE
        || (flags & MPOL_F_STATIC_NODES != 0 && flags & MPOL_F_RELATIVE_NODES != 0)
    {
        return Err(Errno::EINVAL);
    }
    if flags & MPOL_F_NUMA_BALANCING != 0 && mode != MPOL_BIND && mode != MPOL_PREFERRED_MANY {
        return Err(Errno::EOPNOTSUPP);
    }
    Ok((mode, flags))
}

/// `mpol_new` for the one-node sandbox: the nodes given must include node
/// 0 (the others do not exist and are dropped, as Linux drops nodes
/// outside the allowed set).
fn policy(mode: u32, flags: u32, nodes: Nodes) -> SysResult<MemPolicy> {
    let Nodes { any, node0, .. } = nodes;
    let relative = MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES;
    match mode {
        MPOL_DEFAULT if any => Err(Errno::EINVAL),
        MPOL_DEFAULT => Ok(MemPolicy::default()),
        // "Preferred" with no node is local allocation.
        MPOL_PREFERRED if !any && flags & relative != 0 => Err(Errno::EINVAL),
        MPOL_PREFERRED if !any => Ok(MemPolicy {
            mode: MPOL_LOCAL,
            flags,
            nodes: 0,
        }),
        MPOL_LOCAL if any || flags & relative != 0 => Err(Errno::EINVAL),
        MPOL_LOCAL => Ok(MemPolicy {
            mode,
            flags,
            nodes: 0,
        }),
        _ if !node0 => Err(Errno::EINVAL),
        _ => Ok(MemPolicy {
            mode,
            flags,
            nodes: 1,
        }),
    }
}

/// `set_mempolicy(mode, nodemask, maxnode)`: the sandbox has node 0 only.
pub fn set_mempolicy(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (mode, flags) = mode_flags(a[0] as u32)?;
    let nodes = read_nodes(t, a[1], a[2])?;
    let p = policy(mode, flags, nodes)?;
    lock(&t.shared.sched).mempolicy = p;
    Ok(0)
}

/// `mbind(addr, len, mode, nodemask, maxnode, flags)`: validated against
/// the address space; node 0's memory is the only memory, so no page
/// ever needs moving and the policy is not kept per range.
pub fn mbind(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    const MPOL_MF_VALID: u64 = 1 | 2 | 4;
    const MPOL_MF_MOVE_ALL: u64 = 4;
    let (addr, len, flags) = (a[0], a[1], a[5]);
    let (mode, mflags) = mode_flags(a[2] as u32)?;
    let nodes = read_nodes(t, a[3], a[4])?;
    if flags & !MPOL_MF_VALID != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & MPOL_MF_MOVE_ALL != 0 && !t.capable(CAP_SYS_NICE) {
        return Err(Errno::EPERM);
    }
    if addr & 0xfff != 0 {
        return Err(Errno::EINVAL);
    }
    let len = len.checked_add(0xfff).ok_or(Errno::EINVAL)? & !0xfff;
    let end = addr.checked_add(len).ok_or(Errno::EINVAL)?;
    if end == addr {
        return Ok(0);
    }
    policy(mode, mflags, nodes)?;
    // Every page of the range must be mapped.
    if t.mm().mincore(addr, len).is_err() {
        return Err(Errno::EFAULT);
    }
    Ok(0)
}

/// `get_mempolicy(mode, nodemask, maxnode, addr, flags)`.
pub fn get_mempolicy(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (umode, umask, maxnode, addr, flags) = (a[0], a[1], a[2], a[3], a[4]);
    // The mask must hold every possible node: one bit for node 0.
    if umask != 0 && maxnode < 1 {
        return Err(Errno::EINVAL);
    }
    if flags & !(MPOL_F_NODE | MPOL_F_ADDR | MPOL_F_MEMS_ALLOWED) != 0 {
        return Err(Errno::EINVAL);
    }
    let pol = lock(&t.shared.sched).mempolicy;
    let (mode, nodes) = if flags & MPOL_F_MEMS_ALLOWED != 0 {
        if flags & (MPOL_F_NODE | MPOL_F_ADDR) != 0 {
            return Err(Errno::EINVAL);
        }
        (0, 1u64)
    } else if flags & MPOL_F_ADDR != 0 {
        let page = addr & !0xfff;
        if t.mm().mincore(page, 0x1000).is_err() {
            return Err(Errno::EFAULT);
        }
        // The range's policy is the task's (mbind keeps none per range);
        // with MPOL_F_NODE, the page's node: 0.
        let mode = if flags & MPOL_F_NODE != 0 {
            0
        } else {
            pol.mode | pol.flags
        };
        (mode, pol.nodes)
    } else if addr != 0 {
        return Err(Errno::EINVAL);
    } else if flags & MPOL_F_NODE != 0 {
        // The node of the next interleaved allocation: node 0.
        if pol.mode != MPOL_INTERLEAVE && pol.mode != MPOL_WEIGHTED_INTERLEAVE {
            return Err(Errno::EINVAL);
        }
        (0, pol.nodes)
    } else {
        (pol.mode | pol.flags, pol.nodes)
    };
    if umode != 0 {
        util::write_obj(t, umode, &(mode as i32))?;
    }
    if umask != 0 {
        // ALIGN(maxnode - 1, 64) / 8 bytes: node 0's bit, zeros after it.
        let bytes = maxnode.saturating_sub(1).div_ceil(64) * 8;
        if bytes > 4096 {
            return Err(Errno::EINVAL);
        }
        let mut b = vec![0u8; bytes as usize];
        if let Some(x) = b.first_mut() {
            *x = nodes as u8;
        }
        t.mm().copy_out(umask, &b)?;
    }
    Ok(0)
}

/// The address space of task `pid` (0: the caller's), if the caller may
/// look at it (`PTRACE_MODE_READ_REALCREDS`).
fn inspected_mm(t: &Task, pid: i32) -> SysResult<Arc<std::sync::Mutex<mm::MemoryManager>>> {
    if pid == 0 {
        return Ok(t.mm.clone());
    }
    let p = target(t, pid)?;
    crate::misc::may_inspect(t, &p)?;
    let mm = p.tg.lock().mm.clone();
    mm.ok_or(Errno::ESRCH)
}

/// `move_pages(pid, count, pages, nodes, status, flags)`: every page is
/// on node 0. Without `nodes`, each status is 0 for a page in memory,
/// `-ENOENT` for one without memory yet (memory comes in 2 MiB windows, so
/// an untouched page next to a touched one has some), `-EFAULT` outside
/// any mapping; with
/// `nodes`, every target must be node 0 (`ENODEV` otherwise) and a present
/// page "moves" there at once.
pub fn move_pages(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    const MPOL_MF_MOVE: u64 = 2;
    const MPOL_MF_MOVE_ALL: u64 = 4;
    let (pid, count, pages, nodes, status, flags) = (a[0] as i32, a[1], a[2], a[3], a[4], a[5]);
    if flags & !(MPOL_MF_MOVE | MPOL_MF_MOVE_ALL) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & MPOL_MF_MOVE_ALL != 0 && !t.capable(CAP_SYS_NICE) {
        return Err(Errno::EPERM);
    }
    let mm = inspected_mm(t, pid)?;
    if count > 1 << 20 {
        return Err(Errno::EINVAL);
    }
    let mut out = Vec::with_capacity(count as usize);
    for i in 0..count {
        let page: u64 = util::read_obj(t, pages + i * 8)?;
        if nodes != 0 {
            let node: i32 = util::read_obj(t, nodes + i * 4)?;
            if node != 0 {
                return Err(Errno::ENODEV);
            }
        }
        let st = match lock(&mm).mincore(page & !0xfff, 0x1000) {
            Ok(v) if v.first() == Some(&1) => 0,
            Ok(_) => -Errno::ENOENT.0,
            Err(_) => -Errno::EFAULT.0,
        };
        out.push(st);
    }
    for (i, st) in out.iter().enumerate() {
        util::write_obj(t, status + i as u64 * 4, st)?;
    }
    Ok(0)
}

/// `migrate_pages(pid, maxnode, old_nodes, new_nodes)`: nothing can move
/// off node 0, so no page is left unmoved (0); a destination other than
/// node 0 is `EINVAL`.
pub fn migrate_pages(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (pid, maxnode) = (a[0] as i32, a[1]);
    read_nodes(t, a[2], maxnode)?;
    let new = read_nodes(t, a[3], maxnode)?;
    inspected_mm(t, pid)?;
    if new.others {
        return Err(if t.capable(CAP_SYS_NICE) {
            Errno::EINVAL
        } else {
            Errno::EPERM
        });
    }
    Ok(0)
}

/// `set_mempolicy_home_node(start, len, home_node, flags)`: ranges keep
/// no policy of their own here (see `mbind`), so there is nothing to give
/// a home node: `ENOENT`, as Linux says for a range without one.
pub fn set_mempolicy_home_node(_t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (start, len, home, flags) = (a[0], a[1], a[2], a[3]);
    if start & 0xfff != 0 || flags != 0 || home != 0 {
        return Err(Errno::EINVAL);
    }
    let len = len.checked_add(0xfff).ok_or(Errno::EINVAL)? & !0xfff;
    start.checked_add(len).ok_or(Errno::EINVAL)?;
    // Linux's answer when no mapping of the range has a policy.
    if len == 0 {
        Ok(0)
    } else {
        Err(Errno::ENOENT)
    }
}
