//! POSIX message queues: named queues in the namespace, opened as
//! descriptors (pollable: readable while a message waits, writable while
//! there is room; `read` gives Linux's `QSIZE:` line).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use abi::fs::*;
use abi::ipc::*;
use abi::signal::SigInfo;
use abi::{Errno, SysResult};
use vfs::{File, FileOps};
use waiter::{events, Queue};

use super::{IpcNamespace, Limits};
use crate::task::{lock, ThreadGroup};

/// Priorities are below this.
pub const MQ_PRIO_MAX: u32 = 32768;
/// Limits for a caller with `CAP_SYS_RESOURCE` (Linux's `HARD_MSGMAX`,
/// `HARD_MSGSIZEMAX`).
const HARD_MSGMAX: i64 = 65536;
const HARD_MSGSIZEMAX: i64 = 16 << 20;
/// Device number of the mqueue filesystem.
pub const DEV_MQUEUE: u64 = 0x13;
/// `si_code` of a message-queue notification.
const SI_MESGQ: i32 = -3;

/// The named queues of a namespace.
#[derive(Default)]
pub struct Registry {
    names: Mutex<HashMap<Vec<u8>, Arc<MsgQueue>>>,
    charges: Arc<Charges>,
}

/// Bytes of queues each user created, held to their `RLIMIT_MSGQUEUE`
/// (Linux's `user_struct::mq_bytes`).
#[derive(Default)]
struct Charges(Mutex<HashMap<u32, u64>>);

/// What a queue costs its creator: Linux's `mq_bytes`, its messages at
/// their largest plus 96 bytes of bookkeeping per message.
fn queue_bytes(maxmsg: i64, msgsize: i64) -> u64 {
    let n = maxmsg as u64;
    n * 48 + n.min(MQ_PRIO_MAX as u64) * 48 + n * msgsize as u64
}

struct Notify {
    pid: i32,
    tg: Weak<ThreadGroup>,
    /// `SIGEV_SIGNAL`'s signal (0 for `SIGEV_NONE`) and value.
    signo: i32,
    value: u64,
}

struct MqState {
    /// Messages by priority, highest taken first, FIFO within one.
    msgs: BTreeMap<u32, VecDeque<Vec<u8>>>,
    count: i64,
    bytes: u64,
    notify: Option<Notify>,
}

pub struct MsgQueue {
    /// The creator and what the queue is charged to them.
    charge: (u32, u64, Arc<Charges>),
    ino: u64,
    maxmsg: i64,
    msgsize: i64,
    uid: u32,
    gid: u32,
    mode: u32,
    state: Mutex<MqState>,
    queue: Queue,
}

impl MsgQueue {
    /// What reading it gives: Linux's `QSIZE:` line.
    fn text(&self) -> Vec<u8> {
        let s = self.st();
        let (pid, signo, kind) = match &s.notify {
            Some(n) => (
                n.pid,
                n.signo,
                if n.signo == 0 {
                    SIGEV_NONE
                } else {
                    SIGEV_SIGNAL
                },
            ),
            None => (0, 0, 0),
        };
        format!(
            "QSIZE:{:<10} NOTIFY:{:<5} SIGNO:{:<5} NOTIFY_PID:{:<6}\n",
            s.bytes, kind, signo, pid
        )
        .into_bytes()
    }
}

impl Drop for MsgQueue {
    fn drop(&mut self) {
        let (uid, bytes, charges) = &self.charge;
        if let Some(b) = lock(&charges.0).get_mut(uid) {
            *b = b.saturating_sub(*bytes);
        }
    }
}

impl MsgQueue {
    fn st(&self) -> MutexGuard<'_, MqState> {
        lock(&self.state)
    }

    fn attr(&self, flags: u32) -> MqAttr {
        MqAttr {
            flags: (flags & O_NONBLOCK) as i64,
            maxmsg: self.maxmsg,
            msgsize: self.msgsize,
            curmsgs: self.st().count,
            reserved: [0; 4],
        }
    }
}

/// Who opens or creates a queue.
pub struct Opener {
    pub uid: u32,
    pub gid: u32,
    pub groups: Arc<[u32]>,
    pub umask: u32,
    pub dac_override: bool,
    pub sys_resource: bool,
    /// `RLIMIT_MSGQUEUE`'s soft limit.
    pub rlimit: u64,
}

fn may_open(q: &MsgQueue, o: &Opener, acc: u32) -> SysResult<()> {
    if o.dac_override {
        return Ok(());
    }
    let want = match acc {
        O_RDONLY => 4,
        O_WRONLY => 2,
        _ => 6,
    };
    let bits = if o.uid == q.uid {
        q.mode >> 6
    } else if o.gid == q.gid || o.groups.contains(&q.gid) {
        q.mode >> 3
    } else {
        q.mode
    };
    if want & !bits & 7 != 0 {
        return Err(Errno::EACCES);
    }
    Ok(())
}

/// A queue's name is one path component of the mqueue filesystem.
fn check_name(name: &[u8]) -> SysResult<()> {
    if name.is_empty() {
        return Err(Errno::ENOENT);
    }
    if name.contains(&b'/') || name == b"." || name == b".." {
        return Err(Errno::EACCES);
    }
    if name.len() > 255 {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(())
}

/// `mq_open`: a descriptor's open file for queue `name` (without the
/// leading `/` glibc strips).
pub fn open(
    ns: &IpcNamespace,
    o: &Opener,
    name: &[u8],
    flags: u32,
    mode: u32,
    attr: Option<MqAttr>,
) -> SysResult<Arc<File>> {
    check_name(name)?;
    let acc = flags & O_ACCMODE;
    let mut names = lock(&ns.mq.names);
    let q = match names.get(name) {
        Some(q) => {
            if flags & O_CREAT != 0 && flags & O_EXCL != 0 {
                return Err(Errno::EEXIST);
            }
            // Linux refuses access mode 3 here only: a queue it creates
            // is opened with neither read nor write access.
            if acc == O_ACCMODE {
                return Err(Errno::EINVAL);
            }
            may_open(q, o, acc)?;
            q.clone()
        }
        None => {
            if flags & O_CREAT == 0 {
                return Err(Errno::ENOENT);
            }
            let l = &ns.limits;
            let (maxmsg, msgsize) = match attr {
                None => (
                    Limits::get(&l.mq_msg_default) as i64,
                    Limits::get(&l.mq_msgsize_default) as i64,
                ),
                Some(a) => {
                    if a.maxmsg <= 0 || a.msgsize <= 0 {
                        return Err(Errno::EINVAL);
                    }
                    let (mm, ms) = if o.sys_resource {
                        (HARD_MSGMAX, HARD_MSGSIZEMAX)
                    } else {
                        (
                            Limits::get(&l.mq_msg_max) as i64,
                            Limits::get(&l.mq_msgsize_max) as i64,
                        )
                    };
                    if a.maxmsg > mm || a.msgsize > ms {
                        return Err(Errno::EINVAL);
                    }
                    (a.maxmsg, a.msgsize)
                }
            };
            if names.len() >= Limits::get(&l.mq_queues_max).max(0) as usize && !o.sys_resource {
                return Err(Errno::ENOSPC);
            }
            let bytes = queue_bytes(maxmsg, msgsize);
            {
                let mut charges = lock(&ns.mq.charges.0);
                let used = charges.entry(o.uid).or_default();
                if used.checked_add(bytes).is_none_or(|t| t > o.rlimit) {
                    return Err(Errno::EMFILE);
                }
                *used += bytes;
            }
            let q = Arc::new(MsgQueue {
                charge: (o.uid, bytes, ns.mq.charges.clone()),
                ino: vfs::inode::next_ino(),
                maxmsg,
                msgsize,
                uid: o.uid,
                gid: o.gid,
                mode: mode & 0o777 & !o.umask,
                state: Mutex::new(MqState {
                    msgs: BTreeMap::new(),
                    count: 0,
                    bytes: 0,
                    notify: None,
                }),
                queue: Queue::new(),
            });
            names.insert(name.to_vec(), q.clone());
            q
        }
    };
    drop(names);
    Ok(File::new(
        None,
        acc | (flags & O_NONBLOCK),
        Box::new(MqFile {
            q,
            name: [b"/", name].concat(),
        }),
    ))
}

/// `mq_unlink`: the name goes; open descriptors keep the queue.
pub fn unlink(ns: &IpcNamespace, name: &[u8]) -> SysResult<()> {
    check_name(name)?;
    lock(&ns.mq.names)
        .remove(name)
        .map(|_| ())
        .ok_or(Errno::ENOENT)
}

/// A queue descriptor's open file.
pub struct MqFile {
    q: Arc<MsgQueue>,
    /// `/name`, what `/proc/pid/fd` shows.
    name: Vec<u8>,
}

/// The queue behind a descriptor's file (`EBADF` for other files).
pub fn queue_of(f: &File) -> SysResult<&MqFile> {
    f.ops
        .as_any()
        .and_then(|a| a.downcast_ref::<MqFile>())
        .ok_or(Errno::EBADF)
}

impl MqFile {
    /// Adds a message unless the queue is full (`EAGAIN`); `EMSGSIZE`
    /// for one longer than the queue's message size.
    pub fn try_send(
        &self,
        msg: &mut Option<Vec<u8>>,
        prio: u32,
        sender: (i32, u32),
    ) -> SysResult<()> {
        let len = msg.as_ref().map_or(0, |m| m.len()) as i64;
        if len > self.q.msgsize {
            return Err(Errno::EMSGSIZE);
        }
        let mut s = self.q.st();
        if s.count >= self.q.maxmsg {
            return Err(Errno::EAGAIN);
        }
        let m = msg.take().unwrap_or_default();
        s.bytes += m.len() as u64;
        s.count += 1;
        s.msgs.entry(prio).or_default().push_back(m);
        // The registered process hears of a message arriving in an
        // empty queue, once.
        let note = if s.count == 1 { s.notify.take() } else { None };
        drop(s);
        self.q.queue.notify(events::IN | events::RDNORM);
        if let Some(n) = note {
            if n.signo != 0 {
                if let Some(tg) = n.tg.upgrade() {
                    let mut info = SigInfo::from_user(n.signo, SI_MESGQ, sender.0, sender.1);
                    info.fields[1] = n.value;
                    crate::signal::send_to_group(&tg, info);
                }
            }
        }
        Ok(())
    }

    /// Takes the oldest message of the highest priority (`EAGAIN` if
    /// none); `EMSGSIZE` if `max` is below the queue's message size.
    pub fn try_receive(&self, max: u64) -> SysResult<(Vec<u8>, u32)> {
        if (max as i64) < self.q.msgsize {
            return Err(Errno::EMSGSIZE);
        }
        let mut s = self.q.st();
        let Some(mut e) = s.msgs.last_entry() else {
            return Err(Errno::EAGAIN);
        };
        let prio = *e.key();
        let m = e.get_mut().pop_front().unwrap_or_default();
        if e.get().is_empty() {
            e.remove();
        }
        s.count -= 1;
        s.bytes -= m.len() as u64;
        drop(s);
        self.q.queue.notify(events::OUT | events::WRNORM);
        Ok((m, prio))
    }

    pub fn queue(&self) -> &Queue {
        &self.q.queue
    }

    pub fn attr(&self, flags: u32) -> MqAttr {
        self.q.attr(flags)
    }

    /// `mq_notify`: `Some((signo, value))` registers process `pid`
    /// (`EBUSY` if another registration exists), `None` removes its own.
    pub fn notify(&self, pid: i32, tg: &Arc<ThreadGroup>, ev: Option<(i32, u64)>) -> SysResult<()> {
        let mut s = self.q.st();
        match ev {
            None => {
                if s.notify.as_ref().is_some_and(|n| n.pid == pid) {
                    s.notify = None;
                }
            }
            Some((signo, value)) => {
                // A registration whose process is gone no longer counts.
                let live = |n: &Notify| n.tg.upgrade().is_some_and(|g| !g.is_zombie());
                if s.notify.as_ref().is_some_and(live) {
                    return Err(Errno::EBUSY);
                }
                s.notify = Some(Notify {
                    pid,
                    tg: Arc::downgrade(tg),
                    signo,
                    value,
                });
            }
        }
        Ok(())
    }
}

impl FileOps for MqFile {
    fn read(&self, _f: &File, buf: &mut [u8], off: u64) -> SysResult<usize> {
        let t = self.q.text();
        let off = (off as usize).min(t.len());
        let n = buf.len().min(t.len() - off);
        buf[..n].copy_from_slice(&t[off..off + n]);
        Ok(n)
    }

    fn seekable(&self) -> bool {
        true
    }

    fn stat(&self, _f: &File) -> SysResult<Stat> {
        Ok(Stat {
            dev: DEV_MQUEUE,
            ino: self.q.ino,
            nlink: 1,
            mode: S_IFREG | self.q.mode,
            uid: self.q.uid,
            gid: self.q.gid,
            blksize: 4096,
            ..Default::default()
        })
    }

    fn readiness(&self) -> u32 {
        let s = self.q.st();
        let mut r = 0;
        if s.count > 0 {
            r |= events::IN | events::RDNORM;
        }
        if s.count < self.q.maxmsg {
            r |= events::OUT | events::WRNORM;
        }
        r
    }

    fn queue(&self) -> Option<&Queue> {
        Some(&self.q.queue)
    }

    fn anon_name(&self) -> Option<Vec<u8>> {
        Some(self.name.clone())
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

/// The root of an mqueue filesystem (`mount -t mqueue`): a view of
/// namespace `ns`'s queues, each a file that reads as its `QSIZE:` line,
/// with the queue's owner and mode. Queues are made and removed through
/// `mq_open`/`mq_unlink`, or by `open(O_CREAT)` and `unlink` in the
/// mount.
pub fn fs_root(ns: &Arc<IpcNamespace>) -> Arc<vfs::Dentry> {
    let mut m = vfs::inode::Meta::new(S_IFDIR | 0o1777, 0, 0);
    m.nlink = 2;
    let dir = vfs::Inode::new(
        vfs::inode::next_ino(),
        DEV_MQUEUE,
        m,
        vfs::inode::Kind::SynthDir(Arc::new(QueueDir(Arc::downgrade(ns)))),
    );
    vfs::Dentry::new(b"/", None, dir)
}

struct QueueDir(Weak<IpcNamespace>);

impl vfs::synth::SynthDir for QueueDir {
    fn lookup(&self, name: &[u8]) -> SysResult<Arc<vfs::Inode>> {
        let ns = self.0.upgrade().ok_or(Errno::ENOENT)?;
        let q = lock(&ns.mq.names).get(name).cloned().ok_or(Errno::ENOENT)?;
        Ok(vfs::Inode::new(
            q.ino,
            DEV_MQUEUE,
            vfs::inode::Meta::new(S_IFREG | q.mode, q.uid, q.gid),
            vfs::inode::Kind::SynthFile(Arc::new(QueueText(Arc::downgrade(&q), name.to_vec()))),
        ))
    }

    /// `open(O_CREAT)` in the mount: a queue with the default attributes,
    /// as `mq_open` without an `attr` makes (charged to the caller's
    /// `RLIMIT_MSGQUEUE`).
    fn create(&self, name: &[u8], mode: u32, creds: &vfs::Creds) -> SysResult<()> {
        let ns = self.0.upgrade().ok_or(Errno::ENOENT)?;
        let task = crate::procfs::current_task();
        let sys_resource = task.as_ref().is_some_and(|t| {
            t.shown_caps[0].load(std::sync::atomic::Ordering::Relaxed)
                & (1 << crate::task::CAP_SYS_RESOURCE)
                != 0
        });
        let rlimit = task.as_ref().map_or(u64::MAX, |t| {
            t.tg.lock().rlimits[abi::misc::RLIMIT_MSGQUEUE as usize].cur
        });
        let o = Opener {
            uid: creds.uid,
            gid: creds.gid,
            groups: creds.groups.clone(),
            umask: 0,
            dac_override: creds.dac_override,
            sys_resource,
            rlimit,
        };
        open(&ns, &o, name, O_CREAT | O_EXCL, mode, None).map(|_| ())
    }

    fn unlink(&self, name: &[u8]) -> SysResult<()> {
        let ns = self.0.upgrade().ok_or(Errno::ENOENT)?;
        unlink(&ns, name)
    }

    /// The mount holds queues only (Linux has no `mkdir` there: `EPERM`).
    fn mkdir(&self, _name: &[u8]) -> SysResult<()> {
        Err(Errno::EPERM)
    }

    fn list(&self) -> Vec<(Vec<u8>, u8, u64)> {
        let Some(ns) = self.0.upgrade() else {
            return Vec::new();
        };
        let names = lock(&ns.mq.names);
        let mut v: Vec<_> = names
            .iter()
            .map(|(n, q)| (n.clone(), DT_REG, q.ino))
            .collect();
        v.sort();
        v
    }
}

struct QueueText(Weak<MsgQueue>, Vec<u8>);

impl vfs::synth::SynthFile for QueueText {
    fn generate(&self) -> SysResult<Vec<u8>> {
        self.0.upgrade().map(|q| q.text()).ok_or(Errno::ENOENT)
    }

    /// Opened in the mount, a queue is a queue descriptor as `mq_open`
    /// gives (Linux: the same file operations), whose reads give the
    /// `QSIZE:` line as it is at each read.
    fn open_ops(&self, _inode: &Arc<vfs::Inode>) -> Option<SysResult<Box<dyn FileOps>>> {
        let q = self.0.upgrade()?;
        Some(Ok(Box::new(MqFile {
            q,
            name: [b"/", self.1.as_slice()].concat(),
        })))
    }
}
