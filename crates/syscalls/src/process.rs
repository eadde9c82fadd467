//! Process, identity and resource syscalls.

use std::sync::atomic::Ordering;

use abi::misc::{wait, Rlimit, Rusage, RLIMIT_NLIMITS};
use abi::signal::*;
use abi::time::Timeval;
use abi::{Errno, SysResult};
use kernel::process;
use kernel::task::{lock, Caps, Exit, CAP_SETGID, CAP_SETPCAP, CAP_SETUID, CAP_SYS_RESOURCE};
use kernel::Task;

use crate::util;

pub fn getpid(t: &mut Task, _a: [u64; 6]) -> SysResult<u64> {
    Ok(t.vpid(t.pid()) as u64)
}

pub fn gettid(t: &mut Task, _a: [u64; 6]) -> SysResult<u64> {
    Ok(t.vpid(t.tid()) as u64)
}

/// The parent as the caller's pid namespace shows it: 0 for a namespace's
/// init, whose parent is outside.
pub fn getppid(t: &mut Task, _a: [u64; 6]) -> SysResult<u64> {
    let parent = t.tg().lock().parent.as_ref().map_or(0, |p| p.pid);
    Ok(t.vpid(parent) as u64)
}

pub fn clone(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    // x86-64 order: flags, stack, parent_tid, child_tid, tls. Only the
    // low 32 bits are flags (the newer ones are clone3's).
    process::clone(t, a[0] & 0xffff_ffff, a[1], a[2], a[3], a[4], a[2]).map(|p| p as u64)
}

pub fn fork(t: &mut Task, _a: [u64; 6]) -> SysResult<u64> {
    process::clone(t, SIGCHLD as u64, 0, 0, 0, 0, 0).map(|p| p as u64)
}

pub fn vfork(t: &mut Task, _a: [u64; 6]) -> SysResult<u64> {
    process::clone(
        t,
        process::CLONE_VM | process::CLONE_VFORK | SIGCHLD as u64,
        0,
        0,
        0,
        0,
        0,
    )
    .map(|p| p as u64)
}

/// `clone3(args, size)`.
pub fn clone3(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let size = a[1] as usize;
    if !(64..=4096).contains(&size) {
        return Err(Errno::EINVAL);
    }
    let mut raw = vec![0u8; size];
    t.mm().copy_in(a[0], &mut raw)?;
    let w = |i: usize| u64::from_le_bytes(raw[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
    if raw.len() > 88 && raw[88..].iter().any(|&b| b != 0) {
        return Err(Errno::E2BIG);
    }
    let (flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls) =
        (w(0), w(1), w(2), w(3), w(4), w(5), w(6), w(7));
    // As Linux's clone3_args_valid: no flags beyond the known ones, no
    // signal in the flags (it has its own field; CLONE_DETACHED is gone;
    // CLONE_NEWTIME, the one flag Linux allows there, is not supported),
    // CLONE_CLEAR_SIGHAND not with CLONE_SIGHAND, and no exit signal for
    // a thread or a sibling (they signal as their creator does).
    const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
    let known = 0xffff_ffff | process::CLONE_CLEAR_SIGHAND | CLONE_INTO_CGROUP;
    let clear_and_share = process::CLONE_CLEAR_SIGHAND | process::CLONE_SIGHAND;
    if flags & !known != 0
        || flags & (process::CLONE_DETACHED | 0xff) != 0
        || flags & clear_and_share == clear_and_share
        || (flags & (process::CLONE_THREAD | process::CLONE_PARENT) != 0 && exit_signal != 0)
    {
        return Err(Errno::EINVAL);
    }
    if exit_signal > 64 || (stack == 0) != (stack_size == 0) {
        return Err(Errno::EINVAL);
    }
    let sp = if stack != 0 { stack + stack_size } else { 0 };
    process::clone(
        t,
        flags | exit_signal,
        sp,
        parent_tid,
        child_tid,
        tls,
        pidfd,
    )
    .map(|p| p as u64)
}

pub fn execve(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let p = util::path(t, a[0])?;
    let argv = util::string_array(t, a[1])?;
    let envp = util::string_array(t, a[2])?;
    process::execve(t, &p, argv, envp)
}

pub fn execveat(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let flags = a[4] as u32;
    if flags & !(abi::fs::AT_EMPTY_PATH | abi::fs::AT_SYMLINK_NOFOLLOW) != 0 {
        return Err(Errno::EINVAL);
    }
    let p = util::path(t, a[1])?;
    let d = util::lookup(
        t,
        a[0],
        &p,
        flags & abi::fs::AT_SYMLINK_NOFOLLOW == 0,
        flags & abi::fs::AT_EMPTY_PATH != 0,
    )?;
    let argv = util::string_array(t, a[2])?;
    let envp = util::string_array(t, a[3])?;
    // Re-resolved from the caller's root, which may be a `chroot`.
    let root = t.fs().root.clone();
    process::execve(t, &d.path_under(&root).0, argv, envp)
}

pub fn exit(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    t.exit = Some(Exit::Thread(a[0] as i32 & 0xff));
    Ok(0)
}

pub fn exit_group(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    t.exit = Some(Exit::Group(wait::exited(a[0] as i32 & 0xff)));
    Ok(0)
}

pub fn wait4(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let r = process::wait4(t, a[0] as i32, a[2] as i32)?;
    match r {
        None => Ok(0),
        Some((pid, status, cpu_ns)) => {
            if a[1] != 0 {
                util::write_obj(t, a[1], &status)?;
            }
            if a[3] != 0 {
                util::write_obj(t, a[3], &rusage(cpu_ns))?;
            }
            Ok(pid as u64)
        }
    }
}

pub fn kill(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    process::kill(t, a[0] as i32, a[1] as i32).map(|_| 0)
}

fn thread_kill(t: &mut Task, tgid: i32, tid: i32, sig: i32) -> SysResult<u64> {
    if tid <= 0 || !(0..=NSIG).contains(&sig) {
        return Err(Errno::EINVAL);
    }
    let target = t.find_task(tid).ok_or(Errno::ESRCH)?;
    if tgid > 0 && t.global_id(tgid) != Some(target.tg.pid) {
        return Err(Errno::ESRCH);
    }
    if !process::may_signal(t, &target.tg, sig) {
        return Err(Errno::EPERM);
    }
    if sig == 0 {
        return Ok(0);
    }
    // A nested namespace's init only takes signals it handles or blocks
    // (and SIGKILL/SIGSTOP from an ancestor namespace).
    if target.tg.pid != 1 && target.tg.init_ignores(sig, t.pid()) {
        return Ok(0);
    }
    if sig == SIGKILL {
        kernel::signal::send_to_group(&target.tg, SigInfo::new(SIGKILL, SI_USER));
        return Ok(0);
    }
    // The sandbox's init only takes signals it handles or blocks.
    if target.tg.pid == 1 {
        let act = lock(&target.tg.lock().sighand).action(sig);
        if sig == SIGSTOP || (act.handler == SIG_DFL && !target.mask().has(sig)) {
            return Ok(0);
        }
    }
    let from = target.tg.pidns.shown(t.pid());
    kernel::signal::send_to_thread(
        &target,
        SigInfo::from_user(sig, SI_TKILL, from, t.creds.uid),
    );
    Ok(0)
}

pub fn tgkill(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    if (a[0] as i32) <= 0 {
        return Err(Errno::EINVAL);
    }
    thread_kill(t, a[0] as i32, a[1] as i32, a[2] as i32)
}

pub fn tkill(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    thread_kill(t, 0, a[0] as i32, a[1] as i32)
}

pub fn set_tid_address(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    t.clear_child_tid = a[0];
    Ok(t.vpid(t.tid()) as u64)
}

pub fn set_robust_list(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    if a[1] != 24 {
        return Err(Errno::EINVAL);
    }
    t.robust_list = (a[0], a[1]);
    Ok(0)
}

pub fn get_robust_list(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    if a[0] != 0 && t.global_id(a[0] as i32) != Some(t.tid()) {
        return Err(Errno::ESRCH);
    }
    util::write_obj(t, a[1], &t.robust_list.0)?;
    util::write_obj(t, a[2], &t.robust_list.1).map(|_| 0)
}

/// A sandbox uid as the caller's user namespace shows it.
fn uid_seen(t: &Task, kuid: u32) -> u32 {
    lock(&t.shared.ns).user.uid_of(kuid)
}

fn gid_seen(t: &Task, kgid: u32) -> u32 {
    lock(&t.shared.ns).user.gid_of(kgid)
}

pub fn getuid(t: &mut Task, _a: [u64; 6]) -> SysResult<u64> {
    Ok(uid_seen(t, t.creds.uid) as u64)
}

pub fn geteuid(t: &mut Task, _a: [u64; 6]) -> SysResult<u64> {
    Ok(uid_seen(t, t.euid) as u64)
}

pub fn getgid(t: &mut Task, _a: [u64; 6]) -> SysResult<u64> {
    Ok(gid_seen(t, t.creds.gid) as u64)
}

pub fn getegid(t: &mut Task, _a: [u64; 6]) -> SysResult<u64> {
    Ok(gid_seen(t, t.egid) as u64)
}

/// A uid the caller names, as the sandbox's id: through its user
/// namespace's `uid_map`; -1 stays -1, an unmapped one is `EINVAL`.
fn kuid(t: &Task, uid: u32) -> SysResult<u32> {
    if uid == u32::MAX {
        return Ok(uid);
    }
    lock(&t.shared.ns).user.kuid(uid).ok_or(Errno::EINVAL)
}

fn kgid(t: &Task, gid: u32) -> SysResult<u32> {
    if gid == u32::MAX {
        return Ok(gid);
    }
    lock(&t.shared.ns).user.kgid(gid).ok_or(Errno::EINVAL)
}

pub fn setuid(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let uid = kuid(t, a[0] as u32)?;
    if uid == u32::MAX {
        return Err(Errno::EINVAL);
    }
    if t.capable_here(CAP_SETUID) {
        t.set_uids(uid, uid, uid);
    } else if uid == t.creds.uid || uid == t.suid {
        let (r, s) = (t.creds.uid, t.suid);
        t.set_uids(r, uid, s);
    } else {
        return Err(Errno::EPERM);
    }
    Ok(0)
}

pub fn setgid(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let gid = kgid(t, a[0] as u32)?;
    if gid == u32::MAX {
        return Err(Errno::EINVAL);
    }
    if t.capable_here(CAP_SETGID) {
        t.set_gids(gid, gid, gid);
    } else if gid == t.creds.gid || gid == t.sgid {
        let (r, s) = (t.creds.gid, t.sgid);
        t.set_gids(r, gid, s);
    } else {
        return Err(Errno::EPERM);
    }
    Ok(0)
}

/// An unprivileged caller may only move among its current real,
/// effective and saved IDs; -1 leaves an ID unchanged.
fn may_set_ids(ids: [u32; 3], current: [u32; 3]) -> bool {
    ids.iter().all(|&x| x == u32::MAX || current.contains(&x))
}

/// -1 keeps the old value.
fn or_keep(new: u32, old: u32) -> u32 {
    if new == u32::MAX {
        old
    } else {
        new
    }
}

pub fn setresuid(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let ids = [
        kuid(t, a[0] as u32)?,
        kuid(t, a[1] as u32)?,
        kuid(t, a[2] as u32)?,
    ];
    let cur = [t.creds.uid, t.euid, t.suid];
    if !t.capable_here(CAP_SETUID) && !may_set_ids(ids, cur) {
        return Err(Errno::EPERM);
    }
    t.set_uids(
        or_keep(ids[0], cur[0]),
        or_keep(ids[1], cur[1]),
        or_keep(ids[2], cur[2]),
    );
    Ok(0)
}

pub fn setresgid(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let ids = [
        kgid(t, a[0] as u32)?,
        kgid(t, a[1] as u32)?,
        kgid(t, a[2] as u32)?,
    ];
    let cur = [t.creds.gid, t.egid, t.sgid];
    if !t.capable_here(CAP_SETGID) && !may_set_ids(ids, cur) {
        return Err(Errno::EPERM);
    }
    t.set_gids(
        or_keep(ids[0], cur[0]),
        or_keep(ids[1], cur[1]),
        or_keep(ids[2], cur[2]),
    );
    Ok(0)
}

/// `setreuid`/`setregid` rules: the real ID may become the old real or
/// effective one, the effective ID any of the three; the saved ID follows
/// the new effective one when the real ID is set or the effective one
/// moves away from the old real ID.
fn setre_ids(r: u32, e: u32, cur: [u32; 3], privileged: bool) -> SysResult<[u32; 3]> {
    if !privileged {
        let r_ok = r == u32::MAX || r == cur[0] || r == cur[1];
        if !r_ok || !may_set_ids([e, u32::MAX, u32::MAX], cur) {
            return Err(Errno::EPERM);
        }
    }
    let nr = or_keep(r, cur[0]);
    let ne = or_keep(e, cur[1]);
    let ns = if r != u32::MAX || (e != u32::MAX && e != cur[0]) {
        ne
    } else {
        cur[2]
    };
    Ok([nr, ne, ns])
}

pub fn setreuid(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let cur = [t.creds.uid, t.euid, t.suid];
    let (r, e) = (kuid(t, a[0] as u32)?, kuid(t, a[1] as u32)?);
    let [r, e, s] = setre_ids(r, e, cur, t.capable_here(CAP_SETUID))?;
    t.set_uids(r, e, s);
    Ok(0)
}

pub fn setregid(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let cur = [t.creds.gid, t.egid, t.sgid];
    let (r, e) = (kgid(t, a[0] as u32)?, kgid(t, a[1] as u32)?);
    let [r, e, s] = setre_ids(r, e, cur, t.capable_here(CAP_SETGID))?;
    t.set_gids(r, e, s);
    Ok(0)
}

pub fn getresuid(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    util::write_obj(t, a[0], &uid_seen(t, t.creds.uid))?;
    util::write_obj(t, a[1], &uid_seen(t, t.euid))?;
    util::write_obj(t, a[2], &uid_seen(t, t.suid)).map(|_| 0)
}

pub fn getresgid(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    util::write_obj(t, a[0], &gid_seen(t, t.creds.gid))?;
    util::write_obj(t, a[1], &gid_seen(t, t.egid))?;
    util::write_obj(t, a[2], &gid_seen(t, t.sgid)).map(|_| 0)
}

/// `setfsuid`/`setfsgid` return the old value whether or not they change
/// it; an unprivileged caller may pick its real, effective, saved or
/// current file-system ID.
pub fn setfsuid(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (old, id) = (t.fsuid, kuid(t, a[0] as u32).unwrap_or(u32::MAX));
    let shown = uid_seen(t, old);
    if id != u32::MAX
        && (t.capable_here(CAP_SETUID) || [t.creds.uid, t.euid, t.suid, old].contains(&id))
    {
        t.set_fsuid(id);
    }
    Ok(shown as u64)
}

pub fn setfsgid(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (old, id) = (t.fsgid, kgid(t, a[0] as u32).unwrap_or(u32::MAX));
    let shown = gid_seen(t, old);
    if id != u32::MAX
        && (t.capable_here(CAP_SETGID) || [t.creds.gid, t.egid, t.sgid, old].contains(&id))
    {
        t.fsgid = id;
        t.publish_creds();
    }
    Ok(shown as u64)
}

pub fn getgroups(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let n = a[0] as i32;
    let g = t.creds.groups.clone();
    if n < 0 {
        return Err(Errno::EINVAL);
    }
    if n == 0 {
        return Ok(g.len() as u64);
    }
    if (n as usize) < g.len() {
        return Err(Errno::EINVAL);
    }
    let bytes: Vec<u8> = g
        .iter()
        .flat_map(|&x| gid_seen(t, x).to_le_bytes())
        .collect();
    t.mm().copy_out(a[1], &bytes)?;
    Ok(g.len() as u64)
}

pub fn setgroups(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let n = a[0] as i32;
    if !(0..=65536).contains(&n) {
        return Err(Errno::EINVAL);
    }
    // In a user namespace, only once `setgroups` is allowed there.
    if !t.capable_here(CAP_SETGID) || !lock(&t.shared.ns).user.setgroups_allowed() {
        return Err(Errno::EPERM);
    }
    let mut bytes = vec![0u8; n as usize * 4];
    t.mm().copy_in(a[1], &mut bytes)?;
    let user = lock(&t.shared.ns).user.clone();
    t.creds.groups = bytes
        .chunks(4)
        .map(|c| user.kgid(u32::from_le_bytes([c[0], c[1], c[2], c[3]])))
        .collect::<Option<Vec<u32>>>()
        .ok_or(Errno::EINVAL)?
        .into();
    Ok(0)
}

pub fn getpgid(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let pid = a[0] as i32;
    let g = if pid == 0 {
        t.tg().clone()
    } else {
        t.find_group(pid).ok_or(Errno::ESRCH)?
    };
    let pgid = g.lock().pgid;
    Ok(t.vpid(pgid) as u64)
}

pub fn getpgrp(t: &mut Task, _a: [u64; 6]) -> SysResult<u64> {
    getpgid(t, [0; 6])
}

pub fn getsid(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let pid = a[0] as i32;
    let g = if pid == 0 {
        t.tg().clone()
    } else {
        t.find_group(pid).ok_or(Errno::ESRCH)?
    };
    let sid = g.lock().sid;
    Ok(t.vpid(sid) as u64)
}

pub fn setpgid(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (pid, pgid) = (a[0] as i32, a[1] as i32);
    if pgid < 0 {
        return Err(Errno::EINVAL);
    }
    let me = t.tg().clone();
    let target = if pid == 0 || t.global_id(pid) == Some(me.pid) {
        me.clone()
    } else {
        let g = t.find_group(pid).ok_or(Errno::ESRCH)?;
        let is_child = g.lock().parent.as_ref().is_some_and(|p| p.pid == me.pid);
        if !is_child {
            return Err(Errno::ESRCH);
        }
        g
    };
    let pgid = if pgid == 0 {
        target.pid
    } else {
        // A group the caller's namespace cannot name: none it may join.
        t.global_id(pgid).ok_or(Errno::EPERM)?
    };
    let my_sid = me.lock().sid;
    // Joining another group: it must exist in the caller's session.
    if pgid != target.pid {
        let exists = lock(&t.kernel.table).groups.values().any(|o| {
            let o = o.lock();
            o.pgid == pgid && o.sid == my_sid
        });
        if !exists {
            return Err(Errno::EPERM);
        }
    }
    let mut g = target.lock();
    if g.sid != my_sid || g.sid == target.pid {
        return Err(Errno::EPERM);
    }
    g.pgid = pgid;
    Ok(0)
}

pub fn setsid(t: &mut Task, _a: [u64; 6]) -> SysResult<u64> {
    let tg = t.tg().clone();
    let pid = tg.pid;
    let leader_elsewhere = {
        let table = lock(&t.kernel.table);
        table
            .groups
            .values()
            .any(|g| g.pid != pid && g.lock().pgid == pid)
    };
    let mut g = tg.lock();
    if g.pgid == pid || leader_elsewhere {
        return Err(Errno::EPERM);
    }
    g.pgid = pid;
    g.sid = pid;
    // A new session has no controlling terminal.
    g.ctty = None;
    Ok(t.vpid(pid) as u64)
}

pub fn prlimit64(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (pid, res) = (a[0] as i32, a[1] as u32);
    if res >= RLIMIT_NLIMITS {
        return Err(Errno::EINVAL);
    }
    let g = if pid == 0 {
        t.tg().clone()
    } else {
        t.find_group(pid).ok_or(Errno::ESRCH)?
    };
    let new = if a[2] != 0 {
        Some(util::read_obj::<Rlimit>(t, a[2])?)
    } else {
        None
    };
    let old = {
        let mut inner = g.lock();
        let old = inner.rlimits[res as usize];
        if let Some(n) = new {
            if n.cur > n.max {
                return Err(Errno::EINVAL);
            }
            if n.max > old.max && !t.capable(CAP_SYS_RESOURCE) {
                return Err(Errno::EPERM);
            }
            if res == abi::misc::RLIMIT_NOFILE
                && n.max > t.kernel.nr_open.load(std::sync::atomic::Ordering::Relaxed)
            {
                return Err(Errno::EPERM);
            }
            inner.rlimits[res as usize] = n;
        }
        old
    };
    if res == abi::misc::RLIMIT_CPU && new.is_some() {
        // The run loop and the CPU timer sampler enforce it.
        g.cpu_timers
            .store(true, std::sync::atomic::Ordering::Relaxed);
        t.kernel.timers.watch_cpu(&g);
    }
    if a[3] != 0 {
        util::write_obj(t, a[3], &old)?;
    }
    Ok(0)
}

pub fn getrlimit(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    prlimit64(t, [0, a[0], 0, a[1], 0, 0])
}

pub fn setrlimit(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    prlimit64(t, [0, a[0], a[1], 0, 0, 0])
}

fn tv(ns: u64) -> Timeval {
    Timeval {
        sec: (ns / 1_000_000_000) as i64,
        usec: ((ns % 1_000_000_000) / 1000) as i64,
    }
}

pub fn getrusage(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let who = a[0] as i32;
    let ns = match who {
        0 => process_cpu_ns(t),
        -1 => t.tg().lock().child_utime_ns,
        1 => t.shared.cpu_ns.load(Ordering::Relaxed),
        _ => return Err(Errno::EINVAL),
    };
    util::write_obj(t, a[1], &rusage(ns)).map(|_| 0)
}

/// A `struct rusage` carrying CPU time (all counted as user time: the
/// sentry's own time on a task's behalf is not separated).
fn rusage(cpu_ns: u64) -> Rusage {
    Rusage {
        utime: tv(cpu_ns),
        stime: Timeval::default(),
        rest: [0; 14],
    }
}

/// CPU time of the caller's process: live threads and exited ones.
fn process_cpu_ns(t: &Task) -> u64 {
    let g = t.tg().lock();
    g.exited_threads_ns
        + g.threads
            .iter()
            .map(|x| x.cpu_ns.load(Ordering::Relaxed))
            .sum::<u64>()
}

pub fn times(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let ns = process_cpu_ns(t);
    let children = t.tg().lock().child_utime_ns;
    if a[0] != 0 {
        let v: [i64; 4] = [
            (ns / 10_000_000) as i64,
            0,
            (children / 10_000_000) as i64,
            0,
        ];
        util::write_obj(t, a[0], &v)?;
    }
    Ok((t.kernel.start.elapsed().as_millis() / 10) as u64 + 1)
}

pub fn arch_prctl(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    const ARCH_SET_GS: u64 = 0x1001;
    const ARCH_SET_FS: u64 = 0x1002;
    const ARCH_GET_FS: u64 = 0x1003;
    const ARCH_GET_GS: u64 = 0x1004;
    const ARCH_GET_CPUID: u64 = 0x1011;
    const ARCH_SET_CPUID: u64 = 0x1012;
    // Linux refuses bases at or past TASK_SIZE_MAX (the last page
    // below 2^47 included).
    let canonical = |v: u64| v < 0x0000_8000_0000_0000 - 4096;
    match a[0] {
        ARCH_SET_FS => {
            if !canonical(a[1]) {
                return Err(Errno::EPERM);
            }
            t.regs.fs_base = a[1];
            Ok(0)
        }
        ARCH_SET_GS => {
            if !canonical(a[1]) {
                return Err(Errno::EPERM);
            }
            t.regs.gs_base = a[1];
            if a[1] != 0 {
                // Patched syscall sites find their way through gs.
                t.mm().stop_syscall_patching();
            }
            Ok(0)
        }
        ARCH_GET_FS => util::write_obj(t, a[1], &t.regs.fs_base).map(|_| 0),
        ARCH_GET_GS => util::write_obj(t, a[1], &t.regs.gs_base).map(|_| 0),
        ARCH_GET_CPUID => Ok(1),
        ARCH_SET_CPUID => Err(Errno::ENODEV),
        _ => Err(Errno::EINVAL),
    }
}

pub fn prctl(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    const PR_SET_PDEATHSIG: u64 = 1;
    const PR_GET_PDEATHSIG: u64 = 2;
    const PR_GET_DUMPABLE: u64 = 3;
    const PR_SET_DUMPABLE: u64 = 4;
    const PR_SET_NAME: u64 = 15;
    const PR_GET_NAME: u64 = 16;
    const PR_GET_SECCOMP: u64 = 21;
    const PR_SET_SECCOMP: u64 = 22;
    const PR_CAPBSET_READ: u64 = 23;
    const PR_SET_NO_NEW_PRIVS: u64 = 38;
    const PR_GET_NO_NEW_PRIVS: u64 = 39;
    const PR_SET_THP_DISABLE: u64 = 41;
    const PR_GET_THP_DISABLE: u64 = 42;
    const PR_SET_VMA: u64 = 0x53564d41;
    const PR_GET_KEEPCAPS: u64 = 7;
    const PR_SET_KEEPCAPS: u64 = 8;
    const PR_GET_TIMERSLACK: u64 = 30;
    const PR_SET_CHILD_SUBREAPER: u64 = 36;
    const PR_GET_CHILD_SUBREAPER: u64 = 37;
    const PR_SET_SYSCALL_USER_DISPATCH: u64 = 59;
    const PR_SET_MM: u64 = 35;
    match a[0] {
        PR_SET_NAME => {
            let mut name = t.mm().read_cstring(a[1], 4096).or_else(|e| {
                if e == Errno::ENAMETOOLONG {
                    let mut b = [0u8; 16];
                    t.mm().copy_in(a[1], &mut b)?;
                    Ok(b.to_vec())
                } else {
                    Err(e)
                }
            })?;
            name.truncate(15);
            if let Some(i) = name.iter().position(|&b| b == 0) {
                name.truncate(i);
            }
            *lock(&t.shared.comm) = name;
            Ok(0)
        }
        PR_GET_NAME => {
            let mut b = [0u8; 16];
            let c = lock(&t.shared.comm).clone();
            b[..c.len().min(15)].copy_from_slice(&c[..c.len().min(15)]);
            t.mm().copy_out(a[1], &b).map(|_| 0)
        }
        PR_GET_DUMPABLE => Ok(t.tg().lock().dumpable as u64),
        PR_SET_DUMPABLE => {
            if a[1] > 1 {
                return Err(Errno::EINVAL);
            }
            t.tg().lock().dumpable = a[1] == 1;
            Ok(0)
        }
        PR_GET_PDEATHSIG => {
            let sig = t.tg().lock().pdeathsig;
            util::write_obj(t, a[1], &sig).map(|_| 0)
        }
        PR_SET_PDEATHSIG => {
            if a[1] > NSIG as u64 {
                return Err(Errno::EINVAL);
            }
            t.tg().lock().pdeathsig = a[1] as i32;
            Ok(0)
        }
        PR_SET_CHILD_SUBREAPER => {
            t.tg().lock().subreaper = a[1] != 0;
            Ok(0)
        }
        PR_GET_CHILD_SUBREAPER => {
            let v = t.tg().lock().subreaper as i32;
            util::write_obj(t, a[1], &v).map(|_| 0)
        }
        PR_GET_KEEPCAPS => Ok(t.tg().lock().keepcaps as u64),
        PR_SET_KEEPCAPS => {
            if a[1] > 1 {
                return Err(Errno::EINVAL);
            }
            t.tg().lock().keepcaps = a[1] == 1;
            Ok(0)
        }
        PR_GET_TIMERSLACK => Ok(50_000),
        PR_GET_SECCOMP => Ok(if t.seccomp.is_empty() { 0 } else { 2 }),
        PR_SET_SECCOMP => crate::seccomp::prctl_set(t, a[1], a[2]),
        PR_CAPBSET_READ => {
            if a[1] > 40 {
                return Err(Errno::EINVAL);
            }
            Ok(1)
        }
        PR_GET_NO_NEW_PRIVS => Ok(t.no_new_privs as u64),
        PR_SET_NO_NEW_PRIVS => {
            if a[1] != 1 || a[2] != 0 || a[3] != 0 || a[4] != 0 {
                return Err(Errno::EINVAL);
            }
            t.no_new_privs = true;
            t.publish_creds();
            Ok(0)
        }
        PR_GET_THP_DISABLE => Ok(t.tg().lock().thp_disable as u64),
        PR_SET_THP_DISABLE => {
            if a[2] != 0 || a[3] != 0 || a[4] != 0 {
                return Err(Errno::EINVAL);
            }
            t.tg().lock().thp_disable = a[1] != 0;
            Ok(0)
        }
        PR_SET_VMA => Err(Errno::EINVAL),
        PR_SET_MM => prctl_set_mm(t, a),
        PR_SET_SYSCALL_USER_DISPATCH => crate::user_dispatch::set(t, a[1], a[2], a[3], a[4]),
        _ => Err(Errno::EINVAL),
    }
}

/// `PR_SET_MM`, checked as Linux's `prctl_set_mm`: bad extra arguments
/// are `EINVAL`; `PR_SET_MM_MAP_SIZE` reports the size of `struct
/// prctl_mm_map`; every other request needs `CAP_SYS_RESOURCE` in the
/// sandbox's first user namespace (`EPERM`: a new user namespace's
/// capabilities do not do). The sandbox does not move the address-space
/// fields themselves: a permitted request is `EINVAL`, as an unknown one.
fn prctl_set_mm(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    const PR_SET_MM_AUXV: u64 = 12;
    const PR_SET_MM_MAP: u64 = 14;
    const PR_SET_MM_MAP_SIZE: u64 = 15;
    const PRCTL_MM_MAP_SIZE: u32 = 104;
    let opt = a[1];
    if a[4] != 0
        || (a[3] != 0 && !matches!(opt, PR_SET_MM_AUXV | PR_SET_MM_MAP | PR_SET_MM_MAP_SIZE))
    {
        return Err(Errno::EINVAL);
    }
    if opt == PR_SET_MM_MAP_SIZE {
        return util::write_obj(t, a[2], &PRCTL_MM_MAP_SIZE).map(|_| 0);
    }
    if !t.capable(CAP_SYS_RESOURCE) {
        return Err(Errno::EPERM);
    }
    Err(Errno::EINVAL)
}

const CAP_V1: u32 = 0x19980330;
const CAP_V2: u32 = 0x20071026;
const CAP_V3: u32 = 0x20080522;

/// Checks a capability header; `Ok(words)`: how many 32-bit words each
/// set has in the data (1 for v1, 2 for v2/v3).
fn cap_header(t: &Task, hdr_addr: u64) -> SysResult<(usize, i32)> {
    let hdr: [u32; 2] = util::read_obj(t, hdr_addr)?;
    let words = match hdr[0] {
        CAP_V1 => 1,
        CAP_V2 | CAP_V3 => 2,
        _ => {
            util::write_obj(t, hdr_addr, &[CAP_V3, hdr[1]])?;
            return Err(Errno::EINVAL);
        }
    };
    let pid = hdr[1] as i32;
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    Ok((words, pid))
}

pub fn capget(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (words, pid) = cap_header(t, a[0])?;
    let own = pid == 0 || t.global_id(pid) == Some(t.tid());
    if !own && t.find_task(pid).is_none() {
        return Err(Errno::ESRCH);
    }
    if a[1] != 0 {
        // Another task's sets are not tracked in shared state: report ours
        // only for ourselves.
        let c = if own { t.caps } else { Caps::default() };
        let mut data = Vec::new();
        for w in 0..words {
            let part = |v: u64| (v >> (32 * w)) as u32;
            data.extend_from_slice(&[part(c.effective), part(c.permitted), part(c.inheritable)]);
        }
        let bytes: Vec<u8> = data.iter().flat_map(|x| x.to_le_bytes()).collect();
        t.mm().copy_out(a[1], &bytes)?;
    }
    Ok(0)
}

pub fn capset(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (words, pid) = cap_header(t, a[0])?;
    if pid != 0 && t.global_id(pid) != Some(t.tid()) {
        return Err(Errno::EPERM);
    }
    let mut raw = vec![0u8; words * 12];
    t.mm().copy_in(a[1], &mut raw)?;
    let word = |i: usize| {
        u32::from_le_bytes([raw[i * 4], raw[i * 4 + 1], raw[i * 4 + 2], raw[i * 4 + 3]]) as u64
    };
    let mut new = Caps::default();
    for w in 0..words {
        new.effective |= word(w * 3) << (32 * w);
        new.permitted |= word(w * 3 + 1) << (32 * w);
        new.inheritable |= word(w * 3 + 2) << (32 * w);
    }
    let old = t.caps;
    // Without CAP_SETPCAP the inheritable set may only take what the
    // task already has in its inheritable or permitted sets.
    let allowed = if t.capable(CAP_SETPCAP) {
        kernel::task::ALL_CAPS
    } else {
        old.inheritable | old.permitted
    };
    let inheritable_ok = new.inheritable & !allowed == 0;
    if new.permitted & !old.permitted != 0 || new.effective & !new.permitted != 0 || !inheritable_ok
    {
        return Err(Errno::EPERM);
    }
    t.caps = new;
    t.publish_creds();
    Ok(0)
}

pub fn futex(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    use kernel::futex::*;
    let (addr, op, val, timeout, addr2, val3) =
        (a[0], a[1] as u32, a[2] as u32, a[3], a[4], a[5] as u32);
    let cmd = op & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    let realtime = op & FUTEX_CLOCK_REALTIME != 0;
    if realtime
        && !matches!(
            cmd,
            FUTEX_WAIT | FUTEX_WAIT_BITSET | FUTEX_LOCK_PI | FUTEX_LOCK_PI2 | FUTEX_WAIT_REQUEUE_PI
        )
    {
        return Err(Errno::ENOSYS);
    }
    let read_deadline = |t: &Task, absolute: bool| -> SysResult<Option<std::time::Instant>> {
        if timeout == 0 {
            return Ok(None);
        }
        let ts: abi::time::Timespec = util::read_obj(t, timeout)?;
        let ns = ts.to_nanos().ok_or(Errno::EINVAL)? as u64;
        let now = std::time::Instant::now();
        if !absolute {
            return Ok(Some(now + std::time::Duration::from_nanos(ns)));
        }
        let clock = if realtime {
            abi::time::CLOCK_REALTIME
        } else {
            abi::time::CLOCK_MONOTONIC
        };
        let cur = crate::time::clock_now(t, clock)?.to_nanos().unwrap_or(0) as u64;
        Ok(Some(
            now + std::time::Duration::from_nanos(ns.saturating_sub(cur)),
        ))
    };
    match cmd {
        FUTEX_WAIT => {
            let d = read_deadline(t, false)?;
            kernel::futex::wait(t, addr, val, d, u32::MAX)
        }
        FUTEX_WAIT_BITSET => {
            let d = read_deadline(t, true)?;
            kernel::futex::wait(t, addr, val, d, val3)
        }
        FUTEX_WAKE | FUTEX_WAKE_BITSET => {
            let bits = if cmd == FUTEX_WAKE { u32::MAX } else { val3 };
            if bits == 0 {
                return Err(Errno::EINVAL);
            }
            let key = t.mm().futex_key(addr)?;
            // Linux stops after the first waiter woken once `nr` is
            // reached, so 0 (or a negative count) still wakes one.
            let n = (val as i32).max(1) as usize;
            Ok(t.kernel.futexes.wake(key, n, bits) as u64)
        }
        FUTEX_REQUEUE | FUTEX_CMP_REQUEUE => {
            let (k1, k2) = {
                let mut mm = t.mm();
                let k1 = mm.futex_key(addr)?;
                let k2 = mm.futex_key(addr2)?;
                if cmd == FUTEX_CMP_REQUEUE {
                    let cur: u32 = mm.read_obj(addr)?;
                    if cur != val3 {
                        return Err(Errno::EAGAIN);
                    }
                }
                (k1, k2)
            };
            Ok(t.kernel
                .futexes
                .requeue(k1, k2, val as usize, timeout as u32 as usize) as u64)
        }
        FUTEX_WAKE_OP => {
            kernel::futex::wake_op(t, addr, val as usize, addr2, timeout as u32 as usize, val3)
        }
        FUTEX_LOCK_PI | FUTEX_TRYLOCK_PI => {
            // LOCK_PI's timeout is absolute on CLOCK_REALTIME.
            let deadline = if cmd == FUTEX_LOCK_PI && timeout != 0 {
                let ts: abi::time::Timespec = util::read_obj(t, timeout)?;
                let ns = ts.to_nanos().ok_or(Errno::EINVAL)? as u64;
                let cur = crate::time::clock_now(t, abi::time::CLOCK_REALTIME)?
                    .to_nanos()
                    .unwrap_or(0) as u64;
                Some(
                    std::time::Instant::now()
                        + std::time::Duration::from_nanos(ns.saturating_sub(cur)),
                )
            } else {
                None
            };
            kernel::futex::lock_pi(t, addr, deadline, cmd == FUTEX_TRYLOCK_PI)
        }
        FUTEX_UNLOCK_PI => kernel::futex::unlock_pi(t, addr),
        // LOCK_PI2: absolute timeout on CLOCK_MONOTONIC (or REALTIME).
        FUTEX_LOCK_PI2 => {
            let d = read_deadline(t, true)?;
            kernel::futex::lock_pi(t, addr, d, false)
        }
        FUTEX_WAIT_REQUEUE_PI => {
            let d = read_deadline(t, true)?;
            kernel::futex::wait_requeue_pi(t, addr, val, d, addr2)
        }
        FUTEX_CMP_REQUEUE_PI => kernel::futex::cmp_requeue_pi(
            t,
            addr,
            val,
            (timeout as u32 as i32).max(0) as usize,
            addr2,
            val3,
        ),
        _ => Err(Errno::ENOSYS),
    }
}

/// `personality(persona)`: returns the old value; `0xffffffff` only asks.
pub fn personality(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let mut g = t.tg().lock();
    let old = g.personality;
    if a[0] as u32 != u32::MAX {
        g.personality = a[0] as u32;
    }
    Ok(old as u64)
}

/// `waitid(idtype, id, infop, options, rusage)`.
pub fn waitid(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    const P_ALL: u64 = 0;
    const P_PID: u64 = 1;
    const P_PGID: u64 = 2;
    let options = a[3] as i32;
    let known = wait::WNOHANG
        | wait::WSTOPPED
        | wait::WEXITED
        | wait::WCONTINUED
        | wait::WNOWAIT
        | wait::WNOTHREAD
        | wait::WALL
        | wait::WCLONE;
    if options & !known != 0 || options & (wait::WEXITED | wait::WSTOPPED | wait::WCONTINUED) == 0 {
        return Err(Errno::EINVAL);
    }
    let id = a[1] as i32;
    // A non-blocking pidfd makes the wait non-blocking: nothing to report
    // is then EAGAIN, unless the caller asked for WNOHANG itself.
    let mut nonblock = false;
    let pid = match a[0] {
        P_ALL => -1,
        P_PID if id > 0 => id,
        P_PGID if id > 0 => -id,
        P_PGID if id == 0 => 0,
        3 => {
            let f = util::file(t, a[1]).map_err(|_| Errno::EBADF)?;
            let g = kernel::pidfd::target(&f).map_err(|_| Errno::EBADF)?;
            nonblock = f.flags() & abi::fs::O_NONBLOCK != 0 && options & wait::WNOHANG == 0;
            match t.vpid(g.pid) {
                0 => return Err(Errno::ECHILD),
                p => p,
            }
        }
        _ => return Err(Errno::EINVAL),
    };
    let options = if nonblock {
        options | wait::WNOHANG
    } else {
        options
    };
    // waitid's WSTOPPED is wait4's WUNTRACED (same bit).
    let r = kernel::process::wait_child(t, pid, options, options & wait::WNOWAIT == 0)?;
    if nonblock && r.is_none() {
        return Err(Errno::EAGAIN);
    }
    let used = r.map_or(0, |w| w.cpu_ns);
    if a[2] != 0 {
        let info = match r {
            Some(kernel::process::WaitFound {
                pid: p,
                status,
                trapped,
                ..
            }) => {
                let (code, st) = if trapped {
                    (CLD_TRAPPED, (status >> 8) & 0xff)
                } else if status == wait::CONTINUED {
                    (CLD_CONTINUED, SIGCONT)
                } else if status & 0xff == 0x7f {
                    (CLD_STOPPED, (status >> 8) & 0xff)
                } else if status & 0x7f == 0 {
                    (CLD_EXITED, (status >> 8) & 0xff)
                } else if status & 0x80 != 0 {
                    (CLD_DUMPED, status & 0x7f)
                } else {
                    (CLD_KILLED, status & 0x7f)
                };
                SigInfo::child(code, p, 0, st)
            }
            None => SigInfo::default(),
        };
        util::write_obj(t, a[2], &info)?;
    }
    if a[4] != 0 {
        util::write_obj(t, a[4], &rusage(used))?;
    }
    Ok(0)
}

fn pidfd_process(t: &Task, fd: u64) -> SysResult<std::sync::Arc<kernel::ThreadGroup>> {
    let f = util::file(t, fd)?;
    kernel::pidfd::target(&f)
}

/// `pidfd_open(pid, flags)`.
pub fn pidfd_open(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let pid = a[0] as i32;
    if a[1] & !(abi::fs::O_NONBLOCK as u64) != 0 || pid <= 0 {
        return Err(Errno::EINVAL);
    }
    // PIDFD_THREAD (a descriptor for one thread) is not implemented: its
    // flag is refused above as by kernels before 6.9, and a thread that is
    // not its process's leader is ENOENT as without the flag on current
    // kernels.
    let g = match t.find_group(pid) {
        Some(g) => g,
        None if t.find_task(pid).is_some() => return Err(Errno::ENOENT),
        None => return Err(Errno::ESRCH),
    };
    let f = vfs::File::new(
        None,
        abi::fs::O_RDWR | a[1] as u32,
        Box::new(kernel::pidfd::PidFd::new(g)),
    );
    let lim = t.rlimit(abi::misc::RLIMIT_NOFILE).cur;
    t.fds().install(f, true, 0, lim).map(|fd| fd as u64)
}

/// `pidfd_send_signal(pidfd, sig, info, flags)`.
pub fn pidfd_send_signal(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    const THREAD: u64 = 1;
    const THREAD_GROUP: u64 = 2;
    const PROCESS_GROUP: u64 = 4;
    if !matches!(a[3], 0 | THREAD | THREAD_GROUP | PROCESS_GROUP) {
        return Err(Errno::EINVAL);
    }
    // As Linux, an open /proc/PID directory stands for its process too.
    let f = util::file(t, a[0])?;
    let g = kernel::pidfd::target(&f).or_else(|_| kernel::procfs::process_of_dir(&f))?;
    // Only a process in the caller's pid namespace or one below.
    if !t.pidns().is_ancestor_of(&g.pidns) {
        return Err(Errno::EINVAL);
    }
    let sig = a[1] as i32;
    let info = if a[2] == 0 {
        SigInfo::from_user(sig, SI_USER, g.pidns.shown(t.pid()), t.creds.uid)
    } else {
        let i: SigInfo = util::read_obj(t, a[2])?;
        if i.signo != sig {
            return Err(Errno::EINVAL);
        }
        // Only the caller's own process may get arbitrary siginfo.
        if (i.code >= 0 || i.code == SI_TKILL) && (g.pid != t.pid() || a[3] == PROCESS_GROUP) {
            return Err(Errno::EPERM);
        }
        i
    };
    if !(0..=NSIG).contains(&sig) {
        return Err(Errno::EINVAL);
    }
    if g.is_zombie() {
        return Err(Errno::ESRCH);
    }
    if sig == 0 || (a[3] != PROCESS_GROUP && g.init_ignores(sig, t.pid())) {
        return Ok(0);
    }
    match a[3] {
        THREAD => {
            let leader = g.lock().threads.first().cloned().ok_or(Errno::ESRCH)?;
            lock(&leader.pending).push(info);
            leader.kick();
        }
        PROCESS_GROUP => {
            let pgid = t.vpid(g.lock().pgid);
            kernel::process::kill(t, -pgid, sig)?;
        }
        _ => kernel::signal::send_to_group(&g, info),
    }
    Ok(0)
}

/// `pidfd_getfd(pidfd, targetfd, flags)`: a duplicate of another
/// process's descriptor.
pub fn pidfd_getfd(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    if a[2] != 0 {
        return Err(Errno::EINVAL);
    }
    let g = pidfd_process(t, a[0])?;
    let leader = g.lock().threads.first().cloned().ok_or(Errno::ESRCH)?;
    let table = lock(&leader.files).clone().ok_or(Errno::ESRCH)?;
    let f = lock(&table).get(a[1] as i32)?;
    let lim = t.rlimit(abi::misc::RLIMIT_NOFILE).cur;
    t.fds().install(f, true, 0, lim).map(|fd| fd as u64)
}

/// `futex_waitv(waiters, nr, flags, timeout, clockid)`.
pub fn futex_waitv(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    const FUTEX2_SIZE_U32: u32 = 2;
    const FUTEX2_PRIVATE: u32 = 128;
    let n = a[1] as usize;
    if a[2] != 0 || n == 0 || n > 128 {
        return Err(Errno::EINVAL);
    }
    let mut words = Vec::with_capacity(n);
    for i in 0..n {
        let w: [u64; 3] = util::read_obj(t, a[0] + i as u64 * 24)?;
        let (val, uaddr, flags) = (w[0], w[1], w[2] as u32);
        if flags & !(FUTEX2_SIZE_U32 | FUTEX2_PRIVATE) != 0
            || flags & 3 != FUTEX2_SIZE_U32
            || (w[2] >> 32) != 0
        {
            return Err(Errno::EINVAL);
        }
        if val > u32::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        words.push((uaddr, val as u32));
    }
    let deadline = if a[3] == 0 {
        None
    } else {
        let clock = a[4] as i32;
        if clock != abi::time::CLOCK_MONOTONIC && clock != abi::time::CLOCK_REALTIME {
            return Err(Errno::EINVAL);
        }
        let ts: abi::time::Timespec = util::read_obj(t, a[3])?;
        let ns = ts.to_nanos().ok_or(Errno::EINVAL)? as u64;
        let cur = crate::time::clock_now(t, clock)?.to_nanos().unwrap_or(0) as u64;
        Some(std::time::Instant::now() + std::time::Duration::from_nanos(ns.saturating_sub(cur)))
    };
    kernel::futex::wait_any(t, &words, deadline)
}
