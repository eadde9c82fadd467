//! System V IPC (`shm*`, `sem*`, `msg*`) and POSIX message queues
//! (`mq_*`): argument decoding around `kernel::ipc`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use abi::fs::{O_CLOEXEC, O_CREAT, O_NONBLOCK};
use abi::ipc::*;
use abi::time::{Timespec, CLOCK_REALTIME};
use abi::{Errno, SysResult};
use kernel::ipc::{mqueue, msg, sem, shm, Cred, IpcNamespace, Limits};
use kernel::task::{CAP_DAC_OVERRIDE, CAP_SYS_RESOURCE};
use kernel::Task;

use crate::util;

/// The caller's IPC namespace.
fn ns(t: &Task) -> Arc<IpcNamespace> {
    kernel::task::lock(&t.shared.ns).ipc.ns.clone()
}

pub fn shmget(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let c = Cred::of(t);
    shm::shmget(&ns(t), &c, a[0] as i32, a[1], a[2] as i32).map(|id| id as u64)
}

pub fn shmat(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let c = Cred::of(t);
    let ns = ns(t);
    let mm = t.mm.clone();
    let mut mm = kernel::task::lock(&mm);
    shm::shmat(&ns, &c, &mut mm, a[0] as i32, a[1], a[2] as i32)
}

pub fn shmdt(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let c = Cred::of(t);
    shm::shmdt(&c, &mut t.mm(), a[0]).map(|_| 0)
}

/// `shmctl`/`msgctl`'s `(id, cmd, buf)`: a negative id or command is
/// EINVAL before anything is looked up, as Linux checks.
fn ctl_args(a: [u64; 6]) -> SysResult<(i32, i32, u64)> {
    let (id, cmd) = (a[0] as i32, a[1] as i32);
    if id < 0 || cmd < 0 {
        return Err(Errno::EINVAL);
    }
    Ok((id, cmd, a[2]))
}

pub fn shmctl(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (id, cmd, buf) = ctl_args(a)?;
    let c = Cred::of(t);
    let ns = ns(t);
    match cmd {
        IPC_INFO => {
            let (i, top) = shm::info(&ns);
            util::write_obj(t, buf, &i)?;
            Ok(top as u64)
        }
        SHM_INFO => {
            let (u, top) = shm::usage(&ns);
            util::write_obj(t, buf, &u)?;
            Ok(top as u64)
        }
        IPC_STAT | SHM_STAT | SHM_STAT_ANY => {
            let (id, mut ds) = shm::stat(&ns, &c, id, cmd != IPC_STAT, cmd == SHM_STAT_ANY)?;
            // Pids as the caller's pid namespace numbers them (0 outside it).
            ds.cpid = t.vpid(ds.cpid);
            ds.lpid = t.vpid(ds.lpid);
            util::write_obj(t, buf, &ds)?;
            Ok(if cmd == IPC_STAT { 0 } else { id as u64 })
        }
        IPC_SET => {
            let ds: ShmidDs = util::read_obj(t, buf)?;
            shm::set(&ns, &c, id, &ds).map(|_| 0)
        }
        IPC_RMID => shm::rmid(&ns, &c, id).map(|_| 0),
        SHM_LOCK | SHM_UNLOCK => {
            let cap = t.capable(kernel::ipc::CAP_IPC_LOCK);
            shm::lock_segment(&ns, &c, id, cmd == SHM_LOCK, cap).map(|_| 0)
        }
        _ => Err(Errno::EINVAL),
    }
}

pub fn semget(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let c = Cred::of(t);
    sem::semget(&ns(t), &c, a[0] as i32, a[1] as i32, a[2] as i32).map(|id| id as u64)
}

pub fn semop(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    semtimedop(t, [a[0], a[1], a[2], 0, 0, 0])
}

pub fn semtimedop(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (id, sops, nsops) = (a[0] as i32, a[1], a[2] as u32);
    let timeout: Option<Timespec> = match a[3] {
        0 => None,
        p => Some(util::read_obj(t, p)?),
    };
    let ns = ns(t);
    if nsops < 1 || id < 0 {
        return Err(Errno::EINVAL);
    }
    if nsops as i64 > Limits::get(&ns.limits.sem[2]) as i64 {
        return Err(Errno::E2BIG);
    }
    let mut ops = vec![SemBuf::default(); nsops as usize];
    for (i, op) in ops.iter_mut().enumerate() {
        *op = util::read_obj(t, sops + i as u64 * 6)?;
    }
    let deadline = match timeout {
        None => None,
        Some(ts) => {
            let ns = ts.to_nanos().ok_or(Errno::EINVAL)?;
            Some(Instant::now() + Duration::from_nanos(ns as u64))
        }
    };
    sem::semop(t, &ns, id, &ops, deadline).map(|_| 0)
}

pub fn semctl(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (id, num, cmd, arg) = (a[0] as i32, a[1] as i32, a[2] as i32, a[3]);
    if id < 0 {
        return Err(Errno::EINVAL);
    }
    let c = Cred::of(t);
    let ns = ns(t);
    let sarg = match cmd {
        SETVAL => sem::SemArg::Val(arg as i32),
        IPC_SET => sem::SemArg::Set(util::read_obj(t, arg)?),
        SETALL => {
            let n = sem::nsems(&ns, id)?;
            let mut vals = vec![0u8; n * 2];
            t.mm().copy_in(arg, &mut vals)?;
            sem::SemArg::All(
                vals.chunks_exact(2)
                    .map(|b| u16::from_ne_bytes([b[0], b[1]]))
                    .collect(),
            )
        }
        _ => sem::SemArg::None,
    };
    match sem::semctl(&ns, &c, id, num, cmd, sarg)? {
        sem::SemOut::Ret(r) if cmd == GETPID => Ok(t.vpid(r) as u64),
        sem::SemOut::Ret(r) => Ok(r as u64),
        sem::SemOut::All(vals) => {
            let bytes: Vec<u8> = vals.iter().flat_map(|v| v.to_ne_bytes()).collect();
            t.mm().copy_out(arg, &bytes)?;
            Ok(0)
        }
        sem::SemOut::Stat(r, ds) => {
            util::write_obj(t, arg, &ds)?;
            Ok(r as u64)
        }
        sem::SemOut::Info(r, i) => {
            util::write_obj(t, arg, &i)?;
            Ok(r as u64)
        }
    }
}

pub fn msgget(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let c = Cred::of(t);
    msg::msgget(&ns(t), &c, a[0] as i32, a[1] as i32).map(|id| id as u64)
}

pub fn msgsnd(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (id, msgp, size, flags) = (a[0] as i32, a[1], a[2], a[3] as i32);
    let mtype: i64 = util::read_obj(t, msgp)?;
    let ns = ns(t);
    if size > Limits::get(&ns.limits.msgmax).max(0) as u64 || (size as i64) < 0 || id < 0 {
        return Err(Errno::EINVAL);
    }
    if mtype < 1 {
        return Err(Errno::EINVAL);
    }
    let mut text = vec![0u8; size as usize];
    t.mm().copy_in(msgp + 8, &mut text)?;
    msg::msgsnd(t, &ns, id, mtype, text, flags).map(|_| 0)
}

pub fn msgrcv(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (id, msgp, size, mtype, flags) = (a[0] as i32, a[1], a[2], a[3] as i64, a[4] as i32);
    if id < 0 || (size as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    let ns = ns(t);
    let (ty, text) = msg::msgrcv(t, &ns, id, size, mtype, flags)?;
    util::write_obj(t, msgp, &ty)?;
    t.mm().copy_out(msgp + 8, &text)?;
    Ok(text.len() as u64)
}

pub fn msgctl(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (id, cmd, buf) = ctl_args(a)?;
    let c = Cred::of(t);
    let ns = ns(t);
    match cmd {
        IPC_INFO | MSG_INFO => {
            let (i, top) = msg::info(&ns, cmd);
            util::write_obj(t, buf, &i)?;
            Ok(top as u64)
        }
        IPC_STAT | MSG_STAT | MSG_STAT_ANY => {
            let (r, mut ds) = msg::stat(&ns, &c, id, cmd)?;
            ds.lspid = t.vpid(ds.lspid);
            ds.lrpid = t.vpid(ds.lrpid);
            util::write_obj(t, buf, &ds)?;
            Ok(r as u64)
        }
        IPC_SET => {
            let ds: MsqidDs = util::read_obj(t, buf)?;
            let cap = t.capable(CAP_SYS_RESOURCE);
            msg::set(&ns, &c, id, &ds, cap).map(|_| 0)
        }
        IPC_RMID => msg::rmid(&ns, &c, id).map(|_| 0),
        _ => Err(Errno::EINVAL),
    }
}

/// An absolute `CLOCK_REALTIME` timeout as a deadline (`EFAULT`,
/// `EINVAL` for a bad one).
fn mq_deadline(t: &Task, addr: u64) -> SysResult<Option<Instant>> {
    if addr == 0 {
        return Ok(None);
    }
    let ts: Timespec = util::read_obj(t, addr)?;
    let abs = ts.to_nanos().ok_or(Errno::EINVAL)? as u64;
    let now = crate::time::clock_now(t, CLOCK_REALTIME)?
        .to_nanos()
        .unwrap_or(0) as u64;
    Ok(Some(
        Instant::now() + Duration::from_nanos(abs.saturating_sub(now)),
    ))
}

/// The name `mq_open`/`mq_unlink` were given.
fn mq_name(t: &Task, addr: u64) -> SysResult<Vec<u8>> {
    util::path(t, addr)
}

pub fn mq_open(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (name, flags, mode, attr) = (a[0], a[1] as u32, a[2] as u32, a[3]);
    let attr: Option<MqAttr> = if flags & O_CREAT != 0 && attr != 0 {
        Some(util::read_obj(t, attr)?)
    } else {
        None
    };
    let name = mq_name(t, name)?;
    let o = mqueue::Opener {
        uid: t.fsuid,
        gid: t.fsgid,
        groups: t.creds.groups.clone(),
        umask: t.fs().umask,
        dac_override: t.capable(CAP_DAC_OVERRIDE),
        sys_resource: t.capable(CAP_SYS_RESOURCE),
        rlimit: t.rlimit(abi::misc::RLIMIT_MSGQUEUE).cur,
    };
    let f = mqueue::open(&ns(t), &o, &name, flags, mode, attr)?;
    let lim = t.rlimit(abi::misc::RLIMIT_NOFILE).cur;
    t.fds()
        .install(f, flags & O_CLOEXEC != 0, 0, lim)
        .map(|fd| fd as u64)
}

pub fn mq_unlink(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let name = mq_name(t, a[0])?;
    mqueue::unlink(&ns(t), &name).map(|_| 0)
}

pub fn mq_timedsend(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (fd, ptr, len, prio) = (a[0], a[1], a[2], a[3]);
    let deadline = mq_deadline(t, a[4])?;
    if prio >= mqueue::MQ_PRIO_MAX as u64 {
        return Err(Errno::EINVAL);
    }
    let f = util::file(t, fd)?;
    let q = mqueue::queue_of(&f)?;
    if !f.writable() {
        return Err(Errno::EBADF);
    }
    // The size check comes before the copy (EMSGSIZE for a huge length).
    if len > q.attr(0).msgsize as u64 {
        return Err(Errno::EMSGSIZE);
    }
    let mut m = vec![0u8; len as usize];
    t.mm().copy_in(ptr, &mut m)?;
    let mut m = Some(m);
    let sender = (t.pid(), t.creds.uid);
    if f.nonblocking() {
        return q.try_send(&mut m, prio as u32, sender).map(|_| 0);
    }
    t.block_on(Some(q.queue()), waiter::events::OUT, deadline, |_| {
        q.try_send(&mut m, prio as u32, sender)
    })
    .map(|_| 0)
}

pub fn mq_timedreceive(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (fd, ptr, len, prio_ptr) = (a[0], a[1], a[2], a[3]);
    let deadline = mq_deadline(t, a[4])?;
    let f = util::file(t, fd)?;
    let q = mqueue::queue_of(&f)?;
    if !f.readable() {
        return Err(Errno::EBADF);
    }
    let (m, prio) = if f.nonblocking() {
        q.try_receive(len)?
    } else {
        t.block_on(Some(q.queue()), waiter::events::IN, deadline, |_| {
            q.try_receive(len)
        })?
    };
    if prio_ptr != 0 {
        util::write_obj(t, prio_ptr, &prio)?;
    }
    t.mm().copy_out(ptr, &m)?;
    Ok(m.len() as u64)
}

pub fn mq_notify(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let ev: Option<SigEvent> = match a[1] {
        0 => None,
        p => Some(util::read_obj(t, p)?),
    };
    let reg = match ev {
        None => None,
        Some(e) => match e.notify {
            SIGEV_NONE => Some((0, e.value)),
            SIGEV_SIGNAL => {
                if !(0..=64).contains(&e.signo) {
                    return Err(Errno::EINVAL);
                }
                Some((e.signo, e.value))
            }
            // Linux's SIGEV_THREAD takes a netlink socket's descriptor,
            // and there are no netlink sockets here.
            SIGEV_THREAD => return Err(Errno::EINVAL),
            _ => return Err(Errno::EINVAL),
        },
    };
    let f = util::file(t, a[0])?;
    let q = mqueue::queue_of(&f)?;
    q.notify(t.pid(), t.tg(), reg).map(|_| 0)
}

pub fn mq_getsetattr(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let new: Option<MqAttr> = match a[1] {
        0 => None,
        p => Some(util::read_obj(t, p)?),
    };
    if let Some(n) = &new {
        if n.flags & !(O_NONBLOCK as i64) != 0 {
            return Err(Errno::EINVAL);
        }
    }
    let f = util::file(t, a[0])?;
    let q = mqueue::queue_of(&f)?;
    let old = q.attr(f.flags());
    if let Some(n) = new {
        let fl = (f.flags() & !O_NONBLOCK) | (n.flags as u32 & O_NONBLOCK);
        f.set_flags(fl);
    }
    if a[2] != 0 {
        util::write_obj(t, a[2], &old)?;
    }
    Ok(0)
}
