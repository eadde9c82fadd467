//! System V message queues.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use abi::ipc::*;
use abi::{Errno, SysResult};
use waiter::{events, Queue};

use super::{ids, now_secs, Cred, IpcNamespace, Limits, Perm};
use crate::task::{lock, Task};

pub struct MsgQueue {
    pub id: i32,
    state: Mutex<MsgState>,
    /// Woken when a message arrives or leaves, the limit changes or the
    /// queue is removed.
    queue: Queue,
}

struct MsgState {
    perm: Perm,
    stime: i64,
    rtime: i64,
    ctime: i64,
    msgs: VecDeque<(i64, Vec<u8>)>,
    cbytes: u64,
    qbytes: u64,
    lspid: i32,
    lrpid: i32,
    removed: bool,
}

/// Messages and bytes in all queues (`MSG_INFO`).
#[derive(Default)]
pub struct Totals {
    pub msgs: AtomicU64,
    pub bytes: AtomicU64,
}

impl MsgQueue {
    fn st(&self) -> MutexGuard<'_, MsgState> {
        lock(&self.state)
    }

    pub fn perm(&self) -> Perm {
        self.st().perm
    }

    pub fn stat(&self) -> MsqidDs {
        let s = self.st();
        MsqidDs {
            perm: s.perm.to_abi(),
            stime: s.stime,
            rtime: s.rtime,
            ctime: s.ctime,
            cbytes: s.cbytes,
            qnum: s.msgs.len() as u64,
            qbytes: s.qbytes,
            lspid: s.lspid,
            lrpid: s.lrpid,
            unused: [0; 2],
        }
    }
}

/// `msgget`.
pub fn msgget(ns: &IpcNamespace, c: &Cred, key: i32, flags: i32) -> SysResult<i32> {
    let mut reg = ids(&ns.msg);
    if let Some(id) = reg.lookup(key, flags, c, |q| q.perm(), |_| true)? {
        return Ok(id);
    }
    let mni = Limits::get(&ns.limits.msgmni).max(0) as u32;
    let (id, seq) = reg.alloc(mni)?;
    let q = Arc::new(MsgQueue {
        id,
        state: Mutex::new(MsgState {
            perm: Perm::new(key, seq, flags as u32, c),
            stime: 0,
            rtime: 0,
            ctime: now_secs(),
            msgs: VecDeque::new(),
            cbytes: 0,
            qbytes: Limits::get(&ns.limits.msgmnb).max(0) as u64,
            lspid: 0,
            lrpid: 0,
            removed: false,
        }),
        queue: Queue::new(),
    });
    reg.insert(id, key, q);
    Ok(id)
}

fn get(ns: &IpcNamespace, id: i32) -> SysResult<Arc<MsgQueue>> {
    Ok(ids(&ns.msg).get(id)?.clone())
}

/// Sleeps on `q` until `ready` succeeds (`EAGAIN` means not yet).
/// Interrupted by a signal: `ERESTARTNOHAND` (restarted only when no
/// handler ran, as Linux does for `msgsnd`/`msgrcv`).
fn wait_on<T>(
    t: &mut Task,
    q: &MsgQueue,
    mut ready: impl FnMut(&mut MsgState) -> SysResult<T>,
) -> SysResult<T> {
    let r = t.block_on(Some(&q.queue), events::ALL, None, |_| {
        let mut s = q.st();
        if s.removed {
            return Err(Errno::EIDRM);
        }
        ready(&mut s)
    });
    match r {
        Err(Errno::ERESTARTSYS) => Err(Errno::ERESTARTNOHAND),
        r => r,
    }
}

/// `msgsnd`: `text` already read.
pub fn msgsnd(
    t: &mut Task,
    ns: &IpcNamespace,
    id: i32,
    mtype: i64,
    text: Vec<u8>,
    flags: i32,
) -> SysResult<()> {
    let c = Cred::of(t);
    let q = get(ns, id)?;
    q.perm().check(&c, 0o222)?;
    let len = text.len() as u64;
    let mut text = Some(text);
    let nowait = flags & IPC_NOWAIT != 0;
    let r = wait_on(t, &q, |s| {
        // A message fits while bytes and messages both stay within the
        // queue's limit (Linux counts messages against it too).
        if s.cbytes + len > s.qbytes || s.msgs.len() as u64 + 1 > s.qbytes {
            return Err(if nowait { Errno::ENOSPC } else { Errno::EAGAIN });
        }
        s.msgs.push_back((mtype, text.take().unwrap_or_default()));
        s.cbytes += len;
        s.lspid = c.pid;
        s.stime = now_secs();
        Ok(())
    });
    match r {
        // IPC_NOWAIT's "full" travelled as ENOSPC past block_on.
        Err(Errno::ENOSPC) => return Err(Errno::EAGAIN),
        Err(e) => return Err(e),
        Ok(()) => {}
    }
    ns.msg_totals.msgs.fetch_add(1, Ordering::Relaxed);
    ns.msg_totals.bytes.fetch_add(len, Ordering::Relaxed);
    q.queue.notify(events::IN);
    Ok(())
}

/// How `msgrcv` picks a message.
#[derive(Clone, Copy)]
enum Search {
    Any,
    Equal(i64),
    NotEqual(i64),
    LessEqual(i64),
    /// `MSG_COPY`: the message at this position.
    Number(i64),
}

fn find(msgs: &VecDeque<(i64, Vec<u8>)>, how: Search) -> Option<usize> {
    match how {
        Search::Any => (!msgs.is_empty()).then_some(0),
        Search::Equal(t) => msgs.iter().position(|m| m.0 == t),
        Search::NotEqual(t) => msgs.iter().position(|m| m.0 != t),
        Search::LessEqual(t) => {
            let mut best: Option<usize> = None;
            for (i, m) in msgs.iter().enumerate() {
                if m.0 <= t && best.is_none_or(|b| m.0 < msgs[b].0) {
                    best = Some(i);
                }
            }
            best
        }
        Search::Number(n) => usize::try_from(n).ok().filter(|&n| n < msgs.len()),
    }
}

/// `msgrcv`: the message's type and text (cut to `max` with
/// `MSG_NOERROR`).
pub fn msgrcv(
    t: &mut Task,
    ns: &IpcNamespace,
    id: i32,
    max: u64,
    mtype: i64,
    flags: i32,
) -> SysResult<(i64, Vec<u8>)> {
    let c = Cred::of(t);
    let copy = flags & MSG_COPY != 0;
    if copy && (flags & MSG_EXCEPT != 0 || flags & IPC_NOWAIT == 0) {
        return Err(Errno::EINVAL);
    }
    let how = if copy {
        Search::Number(mtype)
    } else if mtype == 0 {
        Search::Any
    } else if mtype < 0 {
        Search::LessEqual(if mtype == i64::MIN { i64::MAX } else { -mtype })
    } else if flags & MSG_EXCEPT != 0 {
        Search::NotEqual(mtype)
    } else {
        Search::Equal(mtype)
    };
    let q = get(ns, id)?;
    q.perm().check(&c, 0o444)?;
    let nowait = flags & IPC_NOWAIT != 0;
    let r = wait_on(t, &q, |s| {
        let Some(i) = find(&s.msgs, how) else {
            return Err(if nowait { Errno::ENOMSG } else { Errno::EAGAIN });
        };
        if (s.msgs[i].1.len() as u64) > max && flags & MSG_NOERROR == 0 {
            return Err(Errno::E2BIG);
        }
        if copy {
            // Linux copies into a buffer of `max` bytes (`copy_msg`): a
            // longer message is EINVAL even with MSG_NOERROR.
            if s.msgs[i].1.len() as u64 > max {
                return Err(Errno::EINVAL);
            }
            return Ok(s.msgs[i].clone());
        }
        let m = s.msgs.remove(i).unwrap_or_default();
        s.cbytes -= m.1.len() as u64;
        s.lrpid = c.pid;
        s.rtime = now_secs();
        Ok(m)
    });
    let (ty, mut text) = r?;
    if !copy {
        ns.msg_totals.msgs.fetch_sub(1, Ordering::Relaxed);
        ns.msg_totals
            .bytes
            .fetch_sub(text.len() as u64, Ordering::Relaxed);
        q.queue.notify(events::OUT);
    }
    text.truncate(max as usize);
    Ok((ty, text))
}

/// `msgctl(IPC_STAT/MSG_STAT/MSG_STAT_ANY)`.
pub fn stat(ns: &IpcNamespace, c: &Cred, id: i32, cmd: i32) -> SysResult<(i32, MsqidDs)> {
    let reg = ids(&ns.msg);
    let (id, q) = if cmd == IPC_STAT {
        (0, reg.get(id)?.clone())
    } else {
        let (i, q) = reg.by_index(id)?;
        (i, q.clone())
    };
    drop(reg);
    if cmd != MSG_STAT_ANY {
        q.perm().check(c, 0o444)?;
    }
    Ok((id, q.stat()))
}

/// `msgctl(IPC_SET)`; raising `msg_qbytes` past `msgmnb` needs
/// `CAP_SYS_RESOURCE`.
pub fn set(
    ns: &IpcNamespace,
    c: &Cred,
    id: i32,
    ds: &MsqidDs,
    cap_resource: bool,
) -> SysResult<()> {
    let q = get(ns, id)?;
    let mut s = q.st();
    s.perm.check_owner(c)?;
    if ds.qbytes > Limits::get(&ns.limits.msgmnb).max(0) as u64 && !cap_resource {
        return Err(Errno::EPERM);
    }
    s.qbytes = ds.qbytes;
    s.perm.set(&ds.perm);
    s.ctime = now_secs();
    drop(s);
    q.queue.notify(events::OUT);
    Ok(())
}

/// `msgctl(IPC_RMID)`: waiters fail with `EIDRM`.
pub fn rmid(ns: &IpcNamespace, c: &Cred, id: i32) -> SysResult<()> {
    let mut reg = ids(&ns.msg);
    let q = reg.get(id)?.clone();
    let mut s = q.st();
    s.perm.check_owner(c)?;
    s.removed = true;
    reg.remove(id, s.perm.key, &q);
    let (n, bytes) = (s.msgs.len() as u64, s.cbytes);
    s.msgs.clear();
    s.cbytes = 0;
    drop(s);
    drop(reg);
    ns.msg_totals.msgs.fetch_sub(n, Ordering::Relaxed);
    ns.msg_totals.bytes.fetch_sub(bytes, Ordering::Relaxed);
    q.queue.notify(events::ALL);
    Ok(())
}

/// `IPC_INFO`/`MSG_INFO`, and the highest index in use.
pub fn info(ns: &IpcNamespace, cmd: i32) -> (MsgInfo, i32) {
    let reg = ids(&ns.msg);
    let l = &ns.limits;
    let mut i = MsgInfo {
        msgmni: Limits::get(&l.msgmni),
        msgmax: Limits::get(&l.msgmax),
        msgmnb: Limits::get(&l.msgmnb),
        msgssz: 16,
        msgseg: 0xffff,
        msgpool: 32000 * 16384 / 1024,
        msgmap: 16384,
        msgtql: 16384,
        pad: 0,
    };
    if cmd == MSG_INFO {
        i.msgpool = reg.in_use() as i32;
        i.msgmap = ns
            .msg_totals
            .msgs
            .load(Ordering::Relaxed)
            .min(i32::MAX as u64) as i32;
        i.msgtql = ns
            .msg_totals
            .bytes
            .load(Ordering::Relaxed)
            .min(i32::MAX as u64) as i32;
    }
    (i, reg.max_index() as i32)
}
