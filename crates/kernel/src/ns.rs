//! The namespaces a task belongs to (Linux's `nsproxy`, plus its user
//! namespace). UTS, IPC, mount, user, network, cgroup and pid namespaces
//! can be made afresh (`clone`/`unshare`; pid namespaces in
//! [`crate::pidns`]); the time namespace is the sandbox's single one. Each has an inode number, which
//! `/proc/PID/ns/*` shows (`uts:[4026531838]`).
//!
//! User namespaces: credentials are kept as the sandbox's ("kernel") ids
//! and translated through the caller's namespace's `uid_map`/`gid_map`
//! where a process sees them. A task entering a new user namespace gets
//! every capability in it; a capability counts for an object owned by a
//! namespace (a mount namespace for `mount`, a UTS namespace for
//! `sethostname`) when the task's user namespace is that owner or one of
//! its ancestors ([`Namespaces::ns_capable`]), and for everything else
//! (files, the sandbox's own objects) only in the sandbox's first user
//! namespace, or in one whose maps cover the sandbox's root, as Linux's
//! `capable_wrt_inode_uidgid` allows for files owned by mapped ids.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use abi::{Errno, SysResult};

use crate::ipc::IpcNamespace;
use crate::task::lock;

/// Host name and NIS domain name (`uname`, `sethostname`).
#[derive(Clone)]
pub struct Uts {
    pub hostname: Vec<u8>,
    pub domainname: Vec<u8>,
}

pub struct UtsNamespace {
    pub ino: u64,
    pub names: Mutex<Uts>,
    pub owner: Arc<UserNs>,
}

/// An IPC namespace with the inode number it is shown by.
pub struct IpcNs {
    pub ino: u64,
    pub ns: Arc<IpcNamespace>,
    pub owner: Arc<UserNs>,
}

/// A mount namespace (the mounts are the VFS's) and the user namespace
/// owning it.
pub struct MntNs {
    pub ns: Arc<vfs::mount::MountNs>,
    pub owner: Arc<UserNs>,
}

/// A network namespace: its network (`net::Stack`: interfaces, port
/// tables, sockets). The sandbox's first one has the sandbox's network;
/// a new one has only its own `lo`, down (`net::Stack::isolated`).
pub struct NetNs {
    pub ino: u64,
    pub owner: Arc<UserNs>,
    pub stack: Arc<net::Stack>,
}

/// A cgroup namespace: an identity (the sandbox has one cgroup).
pub struct CgroupNs {
    pub ino: u64,
    pub owner: Arc<UserNs>,
}

/// One line of a `uid_map`/`gid_map`: `count` ids from `first` inside
/// map to sandbox ids from `lower`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Extent {
    pub first: u32,
    pub lower: u32,
    pub count: u32,
}

#[derive(Default)]
pub struct UserMaps {
    pub uid: Option<Vec<Extent>>,
    pub gid: Option<Vec<Extent>>,
    /// `/proc/PID/setgroups` says `deny`.
    pub setgroups_denied: bool,
}

pub struct UserNs {
    pub ino: u64,
    pub parent: Option<Arc<UserNs>>,
    pub level: u32,
    /// Sandbox ids of the creator.
    pub owner: u32,
    pub group: u32,
    pub maps: Mutex<UserMaps>,
    /// The maps cover the sandbox's uid 0 and gid 0: capabilities here
    /// apply to the sandbox's files (see the module comment).
    pub maps_root: AtomicBool,
}

/// The id shown for one that has no mapping (`overflowuid`).
pub const OVERFLOW_ID: u32 = 65534;

fn map_in(map: &Option<Vec<Extent>>, id: u32) -> Option<u32> {
    map.as_ref()?
        .iter()
        .find_map(|e| (id >= e.first && id - e.first < e.count).then(|| e.lower + (id - e.first)))
}

fn map_out(map: &Option<Vec<Extent>>, kid: u32) -> Option<u32> {
    map.as_ref()?.iter().find_map(|e| {
        (kid >= e.lower && kid - e.lower < e.count).then(|| e.first + (kid - e.lower))
    })
}

impl UserNs {
    fn initial() -> Arc<UserNs> {
        Arc::new(UserNs {
            ino: INIT_USER,
            parent: None,
            level: 0,
            owner: 0,
            group: 0,
            maps: Mutex::new(UserMaps::default()),
            maps_root: AtomicBool::new(true),
        })
    }

    pub fn is_initial(&self) -> bool {
        self.parent.is_none()
    }

    /// Whether `self` is `other` or one of its ancestors.
    pub fn is_ancestor_of(self: &Arc<UserNs>, other: &Arc<UserNs>) -> bool {
        let mut cur = Some(other.clone());
        while let Some(c) = cur {
            if Arc::ptr_eq(&c, self) {
                return true;
            }
            cur = c.parent.clone();
        }
        false
    }

    /// The sandbox uid for `uid` as seen here (`make_kuid`).
    pub fn kuid(&self, uid: u32) -> Option<u32> {
        if self.is_initial() {
            return Some(uid);
        }
        map_in(&lock(&self.maps).uid, uid)
    }

    pub fn kgid(&self, gid: u32) -> Option<u32> {
        if self.is_initial() {
            return Some(gid);
        }
        map_in(&lock(&self.maps).gid, gid)
    }

    /// How sandbox uid `kuid` is seen here (`from_kuid_munged`).
    pub fn uid_of(&self, kuid: u32) -> u32 {
        if self.is_initial() {
            return kuid;
        }
        map_out(&lock(&self.maps).uid, kuid).unwrap_or(OVERFLOW_ID)
    }

    pub fn gid_of(&self, kgid: u32) -> u32 {
        if self.is_initial() {
            return kgid;
        }
        map_out(&lock(&self.maps).gid, kgid).unwrap_or(OVERFLOW_ID)
    }

    /// A sandbox id in `self`'s view, `None` when unmapped.
    fn shown(&self, kid: u32, uid: bool) -> Option<u32> {
        if self.is_initial() {
            return Some(kid);
        }
        let m = lock(&self.maps);
        map_out(if uid { &m.uid } else { &m.gid }, kid)
    }

    /// The text of `uid_map`/`gid_map` as a reader in `reader` sees it:
    /// lower ids in the parent's view when the reader is inside, else in
    /// the reader's.
    pub fn map_text(self: &Arc<UserNs>, reader: &Arc<UserNs>, uid: bool) -> String {
        if self.is_initial() {
            return if reader.is_initial() {
                format!("{:>10} {:>10} {:>10}\n", 0, 0, u32::MAX)
            } else {
                String::new()
            };
        }
        let lower_ns = if Arc::ptr_eq(self, reader) {
            self.parent.clone().unwrap_or_else(|| reader.clone())
        } else {
            reader.clone()
        };
        let m = lock(&self.maps);
        let map = if uid { &m.uid } else { &m.gid };
        let mut out = String::new();
        for e in map.iter().flatten() {
            if let Some(l) = lower_ns.shown(e.lower, uid) {
                out.push_str(&format!("{:>10} {:>10} {:>10}\n", e.first, l, e.count));
            }
        }
        out
    }

    /// Whether `setgroups(2)` may be called in this namespace.
    pub fn setgroups_allowed(&self) -> bool {
        if self.is_initial() {
            return true;
        }
        let m = lock(&self.maps);
        m.gid.is_some() && !m.setgroups_denied
    }
}

/// Parses a `uid_map`/`gid_map` write: lines of three numbers, at most
/// 340, no overlap inside or outside, no zero count (`EINVAL`).
pub fn parse_map(text: &[u8]) -> SysResult<Vec<Extent>> {
    let text = std::str::from_utf8(text).map_err(|_| Errno::EINVAL)?;
    let mut out: Vec<Extent> = Vec::new();
    for line in text.split('\n') {
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split_ascii_whitespace().collect();
        if f.len() != 3 {
            return Err(Errno::EINVAL);
        }
        let n = |s: &str| s.parse::<u32>().map_err(|_| Errno::EINVAL);
        let e = Extent {
            first: n(f[0])?,
            lower: n(f[1])?,
            count: n(f[2])?,
        };
        if e.count == 0
            || e.first.checked_add(e.count - 1).is_none()
            || e.lower.checked_add(e.count - 1).is_none()
        {
            return Err(Errno::EINVAL);
        }
        let overlaps = |a: u32, b: u32| {
            out.iter().any(|o| {
                let (oa, ob) = if a == e.first {
                    (o.first, o.count)
                } else {
                    (o.lower, o.count)
                };
                a < oa.saturating_add(ob) && oa < a.saturating_add(b)
            })
        };
        if overlaps(e.first, e.count) || overlaps(e.lower, e.count) {
            return Err(Errno::EINVAL);
        }
        out.push(e);
        if out.len() > 340 {
            return Err(Errno::EINVAL);
        }
    }
    if out.is_empty() {
        return Err(Errno::EINVAL);
    }
    Ok(out)
}

/// The kinds `/proc/PID/ns` lists, in Linux's order of its directory.
pub const KINDS: &[&str] = &[
    "cgroup",
    "ipc",
    "mnt",
    "net",
    "pid",
    "pid_for_children",
    "time",
    "time_for_children",
    "user",
    "uts",
];

/// Linux's inode numbers of the initial namespaces (`PROC_*_INIT_INO`).
const INIT_IPC: u64 = 0xEFFF_FFFF;
const INIT_UTS: u64 = 0xEFFF_FFFE;
const INIT_USER: u64 = 0xEFFF_FFFD;
const INIT_PID: u64 = 0xEFFF_FFFC;
const INIT_CGROUP: u64 = 0xEFFF_FFFB;
const INIT_TIME: u64 = 0xEFFF_FFFA;
/// The sandbox's network namespace is not the initial one on Linux
/// either (a number from the dynamic range).
const SANDBOX_NET: u64 = 0xF000_0001;

/// Numbers for namespaces made later, as Linux's `proc_inum` range.
static NEXT_INO: AtomicU64 = AtomicU64::new(0xF000_0100);

fn next_ino() -> u64 {
    NEXT_INO.fetch_add(1, Ordering::Relaxed)
}

#[derive(Clone)]
pub struct Namespaces {
    pub uts: Arc<UtsNamespace>,
    pub ipc: Arc<IpcNs>,
    pub mnt: Arc<MntNs>,
    pub user: Arc<UserNs>,
    pub net: Arc<NetNs>,
    pub cgroup: Arc<CgroupNs>,
    /// The pid namespace the task's next children are made in
    /// (`pid_for_children`); the task's own is its process's
    /// (`ThreadGroup::pidns`).
    pub pid: Arc<crate::pidns::PidNs>,
}

impl Namespaces {
    /// The sandbox's first namespaces.
    pub fn initial(
        hostname: &str,
        ipc: Arc<IpcNamespace>,
        mnt: Arc<vfs::mount::MountNs>,
    ) -> Arc<Namespaces> {
        let user = UserNs::initial();
        Arc::new(Namespaces {
            uts: Arc::new(UtsNamespace {
                ino: INIT_UTS,
                names: Mutex::new(Uts {
                    hostname: hostname.as_bytes().to_vec(),
                    domainname: b"(none)".to_vec(),
                }),
                owner: user.clone(),
            }),
            ipc: Arc::new(IpcNs {
                ino: INIT_IPC,
                ns: ipc,
                owner: user.clone(),
            }),
            mnt: Arc::new(MntNs {
                ns: mnt,
                owner: user.clone(),
            }),
            net: Arc::new(NetNs {
                ino: SANDBOX_NET,
                owner: user.clone(),
                stack: net::stack(),
            }),
            cgroup: Arc::new(CgroupNs {
                ino: INIT_CGROUP,
                owner: user.clone(),
            }),
            pid: crate::pidns::PidNs::initial(user.clone(), INIT_PID),
            user,
        })
    }

    /// The inode number `/proc/PID/ns/KIND` shows.
    pub fn ino(&self, kind: &str) -> Option<u64> {
        Some(match kind {
            "uts" => self.uts.ino,
            "ipc" => self.ipc.ino,
            "mnt" => self.mnt.ns.ino,
            "net" => self.net.ino,
            "user" => self.user.ino,
            "pid_for_children" => self.pid.ino,
            "cgroup" => self.cgroup.ino,
            "time" | "time_for_children" => INIT_TIME,
            _ => return None,
        })
    }

    /// Whether a task in these namespaces holding `cap` (in its effective
    /// set `caps`) has it over an object owned by user namespace `owner`.
    pub fn ns_capable(&self, caps: u64, owner: &Arc<UserNs>, cap: u32) -> bool {
        caps & (1 << cap) != 0 && self.user.is_ancestor_of(owner)
    }
}

/// A pod container's namespaces: the sandbox's first ones `base` (their
/// UTS, IPC and network shared with the pod's other containers), with
/// mount namespace `mnt` (the container's own root) and a new pid
/// namespace below the first (its processes see only each other; the
/// container's init is its pid 1).
pub fn for_container(
    base: &Namespaces,
    mnt: Arc<vfs::mount::MountNs>,
) -> SysResult<Arc<Namespaces>> {
    let mut n = base.clone();
    n.mnt = Arc::new(MntNs {
        ns: mnt,
        owner: base.user.clone(),
    });
    n.pid = crate::pidns::PidNs::child(&base.pid, base.user.clone(), next_ino())?;
    Ok(Arc::new(n))
}

/// A fresh namespace inode number.
pub fn new_ino() -> u64 {
    next_ino()
}

/// Namespaces nest at most this deep (Linux's 32 levels of user
/// namespaces).
const MAX_USER_LEVEL: u32 = 32;

/// The namespaces a task made by `clone`, or one calling `unshare`, gets
/// for the `CLONE_NEW*` bits of `flags`, and whether a user namespace was
/// made (the task then holds every capability in it). A user namespace is
/// made first and owns the others made with it; making any other needs
/// `CAP_SYS_ADMIN` over the user namespace that will own it.
pub fn for_child(task: &crate::Task, flags: u64) -> SysResult<(Arc<Namespaces>, bool)> {
    use crate::process::*;
    let cur = lock(&task.shared.ns).clone();
    let others =
        CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWCGROUP | CLONE_NEWPID;
    if flags & (others | CLONE_NEWUSER) == 0 {
        return Ok((cur, false));
    }
    let mut n = (*cur).clone();
    let mut caps = task.caps.effective;
    let new_user = flags & CLONE_NEWUSER != 0;
    if new_user {
        // A chrooted process may not make one (it could escape its root
        // with the capabilities it gets).
        {
            let fs = lock(&task.fs);
            if !Arc::ptr_eq(&fs.root, &n.mnt.ns.root().root) {
                return Err(Errno::EPERM);
            }
        }
        if n.user.level + 1 > MAX_USER_LEVEL {
            return Err(Errno::ENOSPC);
        }
        let parent = n.user.clone();
        if parent.uid_of(task.euid) == OVERFLOW_ID && !parent.is_initial()
            || parent.gid_of(task.egid) == OVERFLOW_ID && !parent.is_initial()
        {
            return Err(Errno::EPERM);
        }
        let denied = lock(&parent.maps).setgroups_denied;
        n.user = Arc::new(UserNs {
            ino: next_ino(),
            level: parent.level + 1,
            parent: Some(parent),
            owner: task.euid,
            group: task.egid,
            maps: Mutex::new(UserMaps {
                setgroups_denied: denied,
                ..Default::default()
            }),
            maps_root: AtomicBool::new(false),
        });
        caps = crate::task::ALL_CAPS;
    }
    if flags & others != 0 && !n.ns_capable(caps, &n.user, crate::task::CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    let owner = n.user.clone();
    if flags & CLONE_NEWUTS != 0 {
        let names = lock(&cur.uts.names).clone();
        n.uts = Arc::new(UtsNamespace {
            ino: next_ino(),
            names: Mutex::new(names),
            owner: owner.clone(),
        });
    }
    if flags & CLONE_NEWIPC != 0 {
        n.ipc = Arc::new(IpcNs {
            ino: next_ino(),
            ns: IpcNamespace::new(task.kernel.mf.clone()),
            owner: owner.clone(),
        });
    }
    if flags & CLONE_NEWNS != 0 {
        n.mnt = Arc::new(MntNs {
            ns: cur.mnt.ns.copy(next_ino()),
            owner: owner.clone(),
        });
    }
    if flags & CLONE_NEWNET != 0 {
        n.net = Arc::new(NetNs {
            ino: next_ino(),
            owner: owner.clone(),
            stack: Arc::new(net::Stack::isolated()),
        });
    }
    if flags & CLONE_NEWCGROUP != 0 {
        n.cgroup = Arc::new(CgroupNs {
            ino: next_ino(),
            owner: owner.clone(),
        });
    }
    if flags & CLONE_NEWPID != 0 {
        // Below the namespace children go to, which must still be the
        // caller's own (a second unshare before a fork is EINVAL).
        if !Arc::ptr_eq(&cur.pid, &task.tg().pidns) {
            return Err(Errno::EINVAL);
        }
        n.pid = crate::pidns::PidNs::child(&cur.pid, owner.clone(), next_ino())?;
    }
    Ok((Arc::new(n), new_user))
}

/// Who writes a `uid_map`/`gid_map`/`setgroups` file.
pub struct Writer {
    pub user: Arc<UserNs>,
    pub caps: u64,
    pub euid: u32,
    pub egid: u32,
}

/// A write to `/proc/PID/uid_map` (`uid`) or `gid_map` of namespace
/// `ns`, with Linux's rules: written once; by a process in `ns` or its
/// parent holding `CAP_SETUID`/`CAP_SETGID` over `ns`; the lower ids
/// mapped in the parent; any map for one with the capability in the
/// parent, else only its own effective id, once (and for `gid_map` only
/// after `setgroups` was denied).
pub fn write_map(ns: &Arc<UserNs>, w: &Writer, uid: bool, text: &[u8]) -> SysResult<()> {
    let parent = ns.parent.clone().ok_or(Errno::EPERM)?;
    let cap = if uid {
        crate::task::CAP_SETUID
    } else {
        crate::task::CAP_SETGID
    };
    let has = |owner: &Arc<UserNs>| w.caps & (1 << cap) != 0 && w.user.is_ancestor_of(owner);
    {
        let m = lock(&ns.maps);
        if (if uid { &m.uid } else { &m.gid }).is_some() {
            return Err(Errno::EPERM);
        }
    }
    if !Arc::ptr_eq(&w.user, ns) && !Arc::ptr_eq(&w.user, &parent) {
        return Err(Errno::EPERM);
    }
    let mut map = parse_map(text)?;
    if !has(ns) {
        return Err(Errno::EPERM);
    }
    // Lower ids are the parent's: make them the sandbox's.
    for e in &mut map {
        let lo = if uid {
            parent.kuid(e.lower)
        } else {
            parent.kgid(e.lower)
        };
        let hi = if uid {
            parent.kuid(e.lower + (e.count - 1))
        } else {
            parent.kgid(e.lower + (e.count - 1))
        };
        match (lo, hi) {
            (Some(l), Some(h)) if h.wrapping_sub(l) == e.count - 1 => e.lower = l,
            _ => return Err(Errno::EPERM),
        }
    }
    if !has(&parent) {
        let own = if uid { w.euid } else { w.egid };
        let denied = lock(&ns.maps).setgroups_denied;
        if map.len() != 1 || map[0].count != 1 || map[0].lower != own || (!uid && !denied) {
            return Err(Errno::EPERM);
        }
    }
    let mut m = lock(&ns.maps);
    let slot = if uid { &mut m.uid } else { &mut m.gid };
    if slot.is_some() {
        return Err(Errno::EPERM);
    }
    *slot = Some(map);
    let root = map_out(&m.uid, 0).is_some() && map_out(&m.gid, 0).is_some();
    ns.maps_root.store(root, Ordering::Relaxed);
    Ok(())
}

/// A write to `/proc/PID/setgroups`: `allow` or `deny` (`EINVAL`
/// otherwise), by a process with `CAP_SETGID` over the namespace. As
/// Linux's `proc_setgroups_write`: `deny` is final (`allow` after it is
/// `EPERM`, in this namespace and in those made inside it later) and
/// only before `gid_map` is written; `allow` where nothing denied is a
/// no-op, even after `gid_map`.
pub fn write_setgroups(ns: &Arc<UserNs>, w: &Writer, text: &str) -> SysResult<()> {
    let allow = match text.trim() {
        "allow" => true,
        "deny" => false,
        _ => return Err(Errno::EINVAL),
    };
    if ns.parent.is_none() {
        return Err(Errno::EPERM);
    }
    if !(w.caps & (1 << crate::task::CAP_SETGID) != 0 && w.user.is_ancestor_of(ns)) {
        return Err(Errno::EPERM);
    }
    let mut m = lock(&ns.maps);
    if allow {
        return if m.setgroups_denied {
            Err(Errno::EPERM)
        } else {
            Ok(())
        };
    }
    if m.gid.is_some() {
        return Err(Errno::EPERM);
    }
    m.setgroups_denied = true;
    Ok(())
}

/// One namespace, as a `/proc/PID/ns/*` file refers to it.
#[derive(Clone)]
pub enum NsRef {
    Uts(Arc<UtsNamespace>),
    Ipc(Arc<IpcNs>),
    Mnt(Arc<MntNs>),
    Net(Arc<NetNs>),
    User(Arc<UserNs>),
    Cgroup(Arc<CgroupNs>),
    Pid(Arc<crate::pidns::PidNs>),
}

impl NsRef {
    /// The namespace of kind `kind` (a `/proc/PID/ns` name) in `n`.
    pub fn of(n: &Namespaces, kind: &str) -> Option<NsRef> {
        Some(match kind {
            "uts" => NsRef::Uts(n.uts.clone()),
            "ipc" => NsRef::Ipc(n.ipc.clone()),
            "mnt" => NsRef::Mnt(n.mnt.clone()),
            "net" => NsRef::Net(n.net.clone()),
            "user" => NsRef::User(n.user.clone()),
            "cgroup" => NsRef::Cgroup(n.cgroup.clone()),
            "pid_for_children" => NsRef::Pid(n.pid.clone()),
            _ => return None,
        })
    }

    /// Its `CLONE_NEW*` flag.
    pub fn flag(&self) -> u64 {
        use crate::process::*;
        match self {
            NsRef::Uts(_) => CLONE_NEWUTS,
            NsRef::Ipc(_) => CLONE_NEWIPC,
            NsRef::Mnt(_) => CLONE_NEWNS,
            NsRef::Net(_) => CLONE_NEWNET,
            NsRef::User(_) => CLONE_NEWUSER,
            NsRef::Cgroup(_) => CLONE_NEWCGROUP,
            NsRef::Pid(_) => CLONE_NEWPID,
        }
    }

    /// The user namespace owning it (for a user namespace: itself).
    pub fn owner(&self) -> Arc<UserNs> {
        match self {
            NsRef::Uts(x) => x.owner.clone(),
            NsRef::Ipc(x) => x.owner.clone(),
            NsRef::Mnt(x) => x.owner.clone(),
            NsRef::Net(x) => x.owner.clone(),
            NsRef::User(x) => x.clone(),
            NsRef::Cgroup(x) => x.owner.clone(),
            NsRef::Pid(x) => x.owner.clone(),
        }
    }
}

/// The device number of namespace files (Linux's nsfs).
pub const DEV_NSFS: u64 = 0x04;

/// The node `/proc/PID/ns/KIND` leads to: opening it gives a file that
/// holds the namespace (what `setns` takes).
pub struct NsNode(pub NsRef);

impl vfs::synth::SynthFile for NsNode {
    fn generate(&self) -> SysResult<Vec<u8>> {
        Err(Errno::EINVAL)
    }

    fn open_ops(&self, inode: &Arc<vfs::Inode>) -> Option<SysResult<Box<dyn vfs::FileOps>>> {
        Some(Ok(Box::new(NsFile {
            ns: self.0.clone(),
            inode: inode.clone(),
        })))
    }
}

/// An open namespace file.
pub struct NsFile {
    pub ns: NsRef,
    inode: Arc<vfs::Inode>,
}

impl vfs::FileOps for NsFile {
    fn read(&self, _f: &vfs::File, _buf: &mut [u8], _off: u64) -> SysResult<usize> {
        Err(Errno::EINVAL)
    }

    fn write(&self, _f: &vfs::File, _buf: &[u8], _off: u64) -> SysResult<usize> {
        Err(Errno::EINVAL)
    }

    fn stat(&self, _f: &vfs::File) -> SysResult<abi::fs::Stat> {
        Ok(self.inode.stat())
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

/// The namespace an open namespace file refers to.
pub fn of_file(f: &vfs::File) -> Option<NsRef> {
    f.ops
        .as_any()
        .and_then(|x| x.downcast_ref::<NsFile>())
        .map(|n| n.ns.clone())
}
