//! Inter-process communication objects: System V shared memory,
//! semaphores and message queues, and POSIX message queues.
//!
//! Every object lives in an [`IpcNamespace`]: the registries (ids, keys,
//! names) and the limits (`/proc/sys/kernel/shm*`, `sem`, `msg*`,
//! `/proc/sys/fs/mqueue`). The kernel holds one namespace today; a
//! `CLONE_NEWIPC` would give a task a fresh `IpcNamespace` and the syscall
//! layer would take it from the task instead of the kernel, nothing in
//! here assumes there is only one.
//!
//! Lock order: a registry (`IpcNamespace::shm/sem/msg`) before an object's
//! own lock; an address space's lock (`shmat`, `shmdt`, an unmap dropping
//! the last attachment) before a registry. No lock is held across a
//! blocking wait.

pub mod mqueue;
pub mod msg;
pub mod sem;
pub mod shm;
pub mod sysctl;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use abi::ipc::*;
use abi::{Errno, SysResult};

use crate::task::{lock, Task, CAP_SYS_ADMIN};

/// `CAP_IPC_OWNER`: bypasses IPC permission checks.
pub const CAP_IPC_OWNER: u32 = 15;
/// `CAP_IPC_LOCK`: may lock shared memory (`SHM_LOCK`) it does not own.
pub const CAP_IPC_LOCK: u32 = 14;
/// Linux's `IPCMNI`: most objects of one kind, and the id multiplier.
pub const IPCMNI: u32 = 32768;
/// Ids cycle through at least this many indices before one is reused
/// (Linux's `ipc_min_cycle`), so a stale id rarely names a new object.
const MIN_CYCLE: u32 = 64;

/// The tunables, as `/proc/sys` shows and sets them.
pub struct Limits {
    pub shmmax: AtomicU64,
    pub shmall: AtomicU64,
    pub shmmni: AtomicI32,
    /// `semmsl`, `semmns`, `semopm`, `semmni`.
    pub sem: [AtomicI32; 4],
    pub msgmax: AtomicI32,
    pub msgmnb: AtomicI32,
    pub msgmni: AtomicI32,
    pub mq_queues_max: AtomicI32,
    pub mq_msg_max: AtomicI32,
    pub mq_msgsize_max: AtomicI32,
    pub mq_msg_default: AtomicI32,
    pub mq_msgsize_default: AtomicI32,
}

impl Default for Limits {
    /// Linux's defaults.
    fn default() -> Self {
        let shm_max = u64::MAX - (1 << 24);
        Limits {
            shmmax: AtomicU64::new(shm_max),
            shmall: AtomicU64::new(shm_max),
            shmmni: AtomicI32::new(4096),
            sem: [
                AtomicI32::new(32000),
                AtomicI32::new(1_024_000_000),
                AtomicI32::new(500),
                AtomicI32::new(32000),
            ],
            msgmax: AtomicI32::new(8192),
            msgmnb: AtomicI32::new(16384),
            msgmni: AtomicI32::new(32000),
            mq_queues_max: AtomicI32::new(256),
            mq_msg_max: AtomicI32::new(10),
            mq_msgsize_max: AtomicI32::new(8192),
            mq_msg_default: AtomicI32::new(10),
            mq_msgsize_default: AtomicI32::new(8192),
        }
    }
}

impl Limits {
    pub fn get(a: &AtomicI32) -> i32 {
        a.load(Ordering::Relaxed)
    }
}

/// One IPC namespace: every System V object and POSIX queue, and the
/// limits they are held to.
pub struct IpcNamespace {
    pub mf: Arc<mm::MemoryFile>,
    pub limits: Limits,
    pub shm: Mutex<Ids<shm::Segment>>,
    /// Pages of all segments (`SHM_INFO`'s `shm_tot`, held to `shmall`).
    pub shm_pages: AtomicU64,
    pub sem: Mutex<Ids<sem::SemSet>>,
    /// Semaphores in all sets (held to `semmns`).
    pub sems_used: AtomicU64,
    pub undo: sem::UndoIndex,
    pub msg: Mutex<Ids<msg::MsgQueue>>,
    pub msg_totals: msg::Totals,
    pub mq: mqueue::Registry,
}

impl IpcNamespace {
    pub fn new(mf: Arc<mm::MemoryFile>) -> Arc<IpcNamespace> {
        Arc::new(IpcNamespace {
            mf,
            limits: Limits::default(),
            shm: Mutex::new(Ids::default()),
            shm_pages: AtomicU64::new(0),
            sem: Mutex::new(Ids::default()),
            sems_used: AtomicU64::new(0),
            undo: Default::default(),
            msg: Mutex::new(Ids::default()),
            msg_totals: Default::default(),
            mq: Default::default(),
        })
    }
}

/// What a caller is, for IPC permission checks.
#[derive(Clone, Debug)]
pub struct Cred {
    pub pid: i32,
    pub euid: u32,
    /// The group a new object gets.
    pub egid: u32,
    /// The group membership checks use (with `groups`), as Linux's
    /// `in_group_p`.
    pub fsgid: u32,
    pub groups: Arc<[u32]>,
    /// `CAP_IPC_OWNER`.
    pub ipc_owner: bool,
    /// `CAP_SYS_ADMIN`: may change and remove others' objects.
    pub sys_admin: bool,
}

impl Cred {
    pub fn of(t: &Task) -> Cred {
        Cred {
            pid: t.pid(),
            euid: t.euid,
            egid: t.egid,
            fsgid: t.fsgid,
            groups: t.creds.groups.clone(),
            ipc_owner: t.capable(CAP_IPC_OWNER),
            sys_admin: t.capable(CAP_SYS_ADMIN),
        }
    }

    fn in_group(&self, gid: u32) -> bool {
        self.fsgid == gid || self.groups.contains(&gid)
    }
}

/// Now, in seconds since the epoch (the `*_time` fields).
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// An object's owner, creator and mode (`struct ipc_perm`).
#[derive(Clone, Copy, Debug)]
pub struct Perm {
    pub key: i32,
    pub uid: u32,
    pub gid: u32,
    pub cuid: u32,
    pub cgid: u32,
    /// Permission bits (and, for shared memory, status bits).
    pub mode: u32,
    pub seq: u16,
}

impl Perm {
    pub fn new(key: i32, seq: u16, mode: u32, c: &Cred) -> Perm {
        Perm {
            key,
            uid: c.euid,
            gid: c.egid,
            cuid: c.euid,
            cgid: c.egid,
            mode: mode & 0o777,
            seq,
        }
    }

    /// Linux's `ipcperms`: whether `c` may access with the `rwx` bits of
    /// `flag` (in any of the three positions).
    pub fn allows(&self, c: &Cred, flag: u32) -> bool {
        let requested = (flag >> 6 | flag >> 3 | flag) & 0o7;
        let mut granted = self.mode;
        if c.euid == self.cuid || c.euid == self.uid {
            granted >>= 6;
        } else if c.in_group(self.cgid) || c.in_group(self.gid) {
            granted >>= 3;
        }
        requested & !granted & 0o7 == 0 || c.ipc_owner
    }

    /// `EACCES` unless [`Perm::allows`].
    pub fn check(&self, c: &Cred, flag: u32) -> SysResult<()> {
        if self.allows(c, flag) {
            Ok(())
        } else {
            Err(Errno::EACCES)
        }
    }

    /// `IPC_SET` and `IPC_RMID` need the owner, the creator or
    /// `CAP_SYS_ADMIN`.
    pub fn check_owner(&self, c: &Cred) -> SysResult<()> {
        if c.euid == self.uid || c.euid == self.cuid || c.sys_admin {
            Ok(())
        } else {
            Err(Errno::EPERM)
        }
    }

    /// `IPC_SET`: the new owner and permission bits.
    pub fn set(&mut self, p: &IpcPerm) {
        self.uid = p.uid;
        self.gid = p.gid;
        self.mode = (self.mode & !0o777) | (p.mode & 0o777);
    }

    pub fn to_abi(self) -> IpcPerm {
        IpcPerm {
            key: self.key,
            uid: self.uid,
            gid: self.gid,
            cuid: self.cuid,
            cgid: self.cgid,
            mode: self.mode,
            seq: self.seq,
            ..Default::default()
        }
    }
}

/// One kind of object in a namespace: ids (index + sequence number, as
/// Linux makes them) and keys.
pub struct Ids<T> {
    objs: BTreeMap<u32, (u16, Arc<T>)>,
    keys: HashMap<i32, u32>,
    seq: u16,
    last_idx: Option<u32>,
}

impl<T> Default for Ids<T> {
    fn default() -> Self {
        Ids {
            objs: BTreeMap::new(),
            keys: HashMap::new(),
            seq: 0,
            last_idx: None,
        }
    }
}

impl<T> Ids<T> {
    pub fn in_use(&self) -> usize {
        self.objs.len()
    }

    /// The highest index in use (`IPC_INFO`'s result), 0 if none.
    pub fn max_index(&self) -> u32 {
        self.objs.keys().next_back().copied().unwrap_or(0)
    }

    /// The object with id `id`: `EINVAL` if there is none (or it was
    /// replaced).
    pub fn get(&self, id: i32) -> SysResult<&Arc<T>> {
        if id < 0 {
            return Err(Errno::EINVAL);
        }
        let (idx, seq) = (id as u32 % IPCMNI, (id as u32 / IPCMNI) as u16);
        match self.objs.get(&idx) {
            Some((s, o)) if *s == seq => Ok(o),
            _ => Err(Errno::EINVAL),
        }
    }

    /// `*_STAT`: the object at index `idx` and its id.
    pub fn by_index(&self, idx: i32) -> SysResult<(i32, &Arc<T>)> {
        if idx < 0 {
            return Err(Errno::EINVAL);
        }
        self.objs
            .get(&(idx as u32))
            .map(|(s, o)| (make_id(idx as u32, *s), o))
            .ok_or(Errno::EINVAL)
    }

    pub fn iter(&self) -> impl Iterator<Item = (i32, &Arc<T>)> {
        self.objs.iter().map(|(&i, (s, o))| (make_id(i, *s), o))
    }

    /// Linux's `ipcget` up to the point of creation: the id of the
    /// object with `key` (`IPC_CREAT`/`IPC_EXCL` and the permission bits
    /// of `flags` checked, and `fits`: `EINVAL` if it is too small for
    /// what was asked), or `None` if one is to be made.
    pub fn lookup(
        &self,
        key: i32,
        flags: i32,
        c: &Cred,
        perm_of: impl Fn(&T) -> Perm,
        fits: impl Fn(&T) -> bool,
    ) -> SysResult<Option<i32>> {
        if key == IPC_PRIVATE {
            return Ok(None);
        }
        let Some(&idx) = self.keys.get(&key) else {
            if flags & IPC_CREAT == 0 {
                return Err(Errno::ENOENT);
            }
            return Ok(None);
        };
        let (seq, o) = &self.objs[&idx];
        if flags & IPC_CREAT != 0 && flags & IPC_EXCL != 0 {
            return Err(Errno::EEXIST);
        }
        if !fits(o) {
            return Err(Errno::EINVAL);
        }
        perm_of(o).check(c, flags as u32 & 0o777)?;
        Ok(Some(make_id(idx, *seq)))
    }

    /// Reserves an index and sequence number for a new object (`ENOSPC`
    /// once `max` objects exist); returns its id and sequence number.
    pub fn alloc(&mut self, max: u32) -> SysResult<(i32, u16)> {
        let n = self.objs.len() as u32;
        if n >= max.min(IPCMNI) {
            return Err(Errno::ENOSPC);
        }
        // Linux's cyclic allocation: indices past the last one first,
        // within max(in use * 3/2, 64); the sequence number moves on
        // each wrap.
        let limit = (n * 3 / 2).clamp(MIN_CYCLE, IPCMNI);
        let start = self.last_idx.map_or(0, |l| l + 1);
        let free = |from: u32, to: u32| (from..to).find(|i| !self.objs.contains_key(i));
        let idx = free(start, limit)
            .or_else(|| free(0, start.min(limit)))
            .or_else(|| free(limit, IPCMNI))
            .ok_or(Errno::ENOSPC)?;
        if self.last_idx.is_some_and(|l| idx <= l) {
            self.seq = if self.seq >= (i32::MAX as u32 / IPCMNI) as u16 {
                0
            } else {
                self.seq + 1
            };
        }
        self.last_idx = Some(idx);
        Ok((make_id(idx, self.seq), self.seq))
    }

    /// Adds an object under the id [`Ids::alloc`] gave.
    pub fn insert(&mut self, id: i32, key: i32, obj: Arc<T>) {
        let idx = id as u32 % IPCMNI;
        self.objs.insert(idx, ((id as u32 / IPCMNI) as u16, obj));
        if key != IPC_PRIVATE {
            self.keys.insert(key, idx);
        }
    }

    /// Forgets `key` (an object marked for destruction keeps its id).
    pub fn forget_key(&mut self, key: i32) {
        if key != IPC_PRIVATE {
            self.keys.remove(&key);
        }
    }

    /// Removes the object with id `id` if it is `obj`.
    pub fn remove(&mut self, id: i32, key: i32, obj: &Arc<T>) -> bool {
        match self.get(id) {
            Ok(o) if Arc::ptr_eq(o, obj) => {}
            _ => return false,
        }
        let idx = id as u32 % IPCMNI;
        self.objs.remove(&idx);
        if self.keys.get(&key) == Some(&idx) {
            self.keys.remove(&key);
        }
        true
    }
}

fn make_id(idx: u32, seq: u16) -> i32 {
    (seq as u32 * IPCMNI + idx) as i32
}

/// Locks a registry.
pub fn ids<T>(m: &Mutex<Ids<T>>) -> MutexGuard<'_, Ids<T>> {
    lock(m)
}

/// A process's last thread left: applies its semaphore adjustments.
pub fn exit_process(ns: &IpcNamespace, pid: i32) {
    sem::exit_process(ns, pid);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cred(euid: u32) -> Cred {
        Cred {
            pid: 1,
            euid,
            egid: euid,
            fsgid: euid,
            groups: Arc::from(Vec::new()),
            ipc_owner: false,
            sys_admin: false,
        }
    }

    #[test]
    fn ids_cycle_before_reuse_and_stale_ids_fail() {
        let mut ids: Ids<u32> = Ids::default();
        let (a, _) = ids.alloc(100).unwrap();
        ids.insert(a, 0, Arc::new(1));
        assert_eq!(a, 0);
        ids.remove(a, 0, &ids.get(a).unwrap().clone());
        // The freed index is not reused at once.
        let (b, _) = ids.alloc(100).unwrap();
        assert_eq!(b, 1);
        ids.insert(b, 0, Arc::new(2));
        assert_eq!(ids.get(a).err(), Some(Errno::EINVAL));
        // After the cycle wraps, index 0 comes back with a new sequence
        // number, so the old id still names nothing.
        let mut made = vec![b];
        for _ in 2..MIN_CYCLE {
            let (i, _) = ids.alloc(100).unwrap();
            ids.insert(i, 0, Arc::new(0));
            made.push(i);
        }
        for i in made {
            let o = ids.get(i).unwrap().clone();
            ids.remove(i, 0, &o);
        }
        let (c, seq) = ids.alloc(100).unwrap();
        assert_eq!((c as u32 % IPCMNI, seq), (0, 1));
        ids.insert(c, 0, Arc::new(3));
        assert_eq!(ids.get(a).err(), Some(Errno::EINVAL));
        assert_eq!(**ids.get(c).unwrap(), 3);
        assert_eq!(ids.by_index(0).unwrap().0, c);
        assert_eq!(ids.get(b).err(), Some(Errno::EINVAL));
        assert_eq!(ids.alloc(ids.in_use() as u32).err(), Some(Errno::ENOSPC));
    }

    #[test]
    fn keys_and_permissions() {
        let mut ids: Ids<Perm> = Ids::default();
        let owner = cred(1000);
        let (id, seq) = ids.alloc(10).unwrap();
        ids.insert(id, 42, Arc::new(Perm::new(42, seq, 0o640, &owner)));
        let look = |ids: &Ids<Perm>, flags, c: &Cred| ids.lookup(42, flags, c, |p| *p, |_| true);
        assert_eq!(look(&ids, 0o600, &owner), Ok(Some(id)));
        assert_eq!(look(&ids, IPC_CREAT | IPC_EXCL, &owner), Err(Errno::EEXIST));
        assert_eq!(look(&ids, 0o004, &cred(2000)), Err(Errno::EACCES));
        assert_eq!(look(&ids, 0, &cred(2000)), Ok(Some(id)));
        assert_eq!(
            ids.lookup(7, 0, &owner, |p| *p, |_| true),
            Err(Errno::ENOENT)
        );
        assert_eq!(ids.lookup(7, IPC_CREAT, &owner, |p| *p, |_| true), Ok(None));
        assert_eq!(
            ids.lookup(42, 0, &owner, |p| *p, |_| false),
            Err(Errno::EINVAL)
        );
        let p = **ids.get(id).unwrap();
        assert!(p.allows(&cred(1000), 0o600));
        assert!(!p.allows(&cred(1000), 0o100));
        assert!(p.check_owner(&cred(2000)).is_err());
        assert!(p.allows(
            &Cred {
                ipc_owner: true,
                ..cred(2000)
            },
            0o666
        ));
    }
}
