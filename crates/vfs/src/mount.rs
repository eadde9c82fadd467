//! Mounts and mount namespaces, after Linux's `struct mount` and
//! `mnt_namespace`.
//!
//! A [`Mount`] puts the tree below a root dentry of a filesystem
//! ([`Super`]) on a mountpoint dentry of its parent mount. A
//! [`MountNs`] is the set of mounts one group of processes sees;
//! `CLONE_NEWNS` copies it. Path walks carry the mount they are in and
//! ask the calling task's namespace (a thread-local the kernel sets for
//! each task's host thread) which mount sits on a dentry; an inode
//! counter ([`Inode::mounts`](crate::Inode)) keeps that question off the
//! common path: a dentry no mount involves costs one atomic load.
//!
//! Processes, open files and working directories hold dentries, not
//! (mount, dentry) pairs: where a walk does not know its mount yet (its
//! start), the mount is the most recent one of the namespace whose root
//! is the nearest ancestor that is a mount root ([`MountNs::mount_of`]).
//! This differs from Linux only when one directory is visible through two
//! mounts and a walk starts below it.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use abi::{Errno, SysResult};

use crate::dentry::Dentry;
use crate::inode::lock;

pub const MS_RDONLY: u64 = 1;
pub const MS_NOSUID: u64 = 2;
pub const MS_NODEV: u64 = 4;
pub const MS_NOEXEC: u64 = 8;
pub const MS_SYNCHRONOUS: u64 = 16;
pub const MS_REMOUNT: u64 = 32;
pub const MS_MANDLOCK: u64 = 64;
pub const MS_DIRSYNC: u64 = 128;
pub const MS_NOSYMFOLLOW: u64 = 256;
pub const MS_NOATIME: u64 = 1024;
pub const MS_NODIRATIME: u64 = 2048;
pub const MS_BIND: u64 = 4096;
pub const MS_MOVE: u64 = 8192;
pub const MS_REC: u64 = 16384;
pub const MS_SILENT: u64 = 32768;
pub const MS_UNBINDABLE: u64 = 1 << 17;
pub const MS_PRIVATE: u64 = 1 << 18;
pub const MS_SLAVE: u64 = 1 << 19;
pub const MS_SHARED: u64 = 1 << 20;
pub const MS_RELATIME: u64 = 1 << 21;
pub const MS_KERNMOUNT: u64 = 1 << 22;
pub const MS_I_VERSION: u64 = 1 << 23;
pub const MS_STRICTATIME: u64 = 1 << 24;
pub const MS_LAZYTIME: u64 = 1 << 25;
/// The old magic number in the top half of the flags (ignored).
pub const MS_MGC_MSK: u64 = 0xffff_0000;
pub const MS_MGC_VAL: u64 = 0xc0ed_0000;

/// The per-mount flags (what `MS_REMOUNT|MS_BIND` sets).
pub const MNT_FLAGS: u64 = MS_RDONLY
    | MS_NOSUID
    | MS_NODEV
    | MS_NOEXEC
    | MS_NOATIME
    | MS_NODIRATIME
    | MS_RELATIME
    | MS_NOSYMFOLLOW;

/// A mounted filesystem instance (Linux's superblock): what it is, and
/// the filesystem-wide read-only state.
pub struct Super {
    pub fstype: String,
    pub source: String,
    pub dev: u64,
    /// Filesystem options shown after `rw`/`ro` (`mode=755`), if any.
    pub opts: Mutex<String>,
    pub rdonly: AtomicBool,
}

impl Super {
    pub fn new(fstype: &str, source: &str, dev: u64, opts: &str, rdonly: bool) -> Arc<Super> {
        Arc::new(Super {
            fstype: fstype.to_string(),
            source: source.to_string(),
            dev,
            opts: Mutex::new(opts.to_string()),
            rdonly: AtomicBool::new(rdonly),
        })
    }
}

/// Propagation type (`MS_SHARED/SLAVE/PRIVATE/UNBINDABLE`). Peer groups
/// are recorded and shown in `mountinfo`; events are not propagated
/// between them.
#[derive(Clone, Copy, Default, Debug)]
pub struct Propagation {
    /// Peer group id when shared.
    pub shared: u32,
    /// Peer group of the master when a slave.
    pub master: u32,
    pub unbindable: bool,
}

pub struct MountState {
    pub parent: Option<Arc<Mount>>,
    pub mountpoint: Option<Arc<Dentry>>,
    /// `MNT_FLAGS` bits.
    pub flags: u64,
    pub prop: Propagation,
    /// In a namespace's tree (not detached).
    pub attached: bool,
    /// Marked by a first `umount2(MNT_EXPIRE)`.
    pub expiry: bool,
}

pub struct Mount {
    pub id: u32,
    pub sb: Arc<Super>,
    pub root: Arc<Dentry>,
    st: Mutex<MountState>,
}

static NEXT_MOUNT_ID: AtomicU32 = AtomicU32::new(1);
static NEXT_PEER_GROUP: AtomicU32 = AtomicU32::new(1);
/// Read-only mounts and filesystems in existence: while there are none,
/// writes skip looking for their mount.
static RDONLY_MOUNTS: AtomicU32 = AtomicU32::new(0);
/// The inode number of the sandbox's first mount namespace (not the
/// initial one on Linux either: a number from the dynamic range).
const FIRST_NS_INO: u64 = 0xF000_0000;

fn inc(d: &Dentry) {
    d.inode.mounts.fetch_add(1, Ordering::AcqRel);
}

fn dec(d: &Dentry) {
    d.inode.mounts.fetch_sub(1, Ordering::AcqRel);
}

impl Mount {
    pub fn new(sb: Arc<Super>, root: Arc<Dentry>, flags: u64) -> Arc<Mount> {
        inc(&root);
        if flags & MS_RDONLY != 0 {
            RDONLY_MOUNTS.fetch_add(1, Ordering::AcqRel);
        }
        Arc::new(Mount {
            id: NEXT_MOUNT_ID.fetch_add(1, Ordering::Relaxed),
            sb,
            root,
            st: Mutex::new(MountState {
                parent: None,
                mountpoint: None,
                flags: flags & MNT_FLAGS,
                prop: Propagation::default(),
                attached: false,
                expiry: false,
            }),
        })
    }

    /// A new mount of the same filesystem and subtree (`clone_mnt`).
    fn clone_of(&self, root: Arc<Dentry>) -> Arc<Mount> {
        let (flags, prop) = {
            let s = lock(&self.st);
            (s.flags, s.prop)
        };
        let m = Mount::new(self.sb.clone(), root, flags);
        lock(&m.st).prop = prop;
        m
    }

    pub fn state(&self) -> std::sync::MutexGuard<'_, MountState> {
        lock(&self.st)
    }

    pub fn flags(&self) -> u64 {
        lock(&self.st).flags
    }

    pub fn parent(&self) -> Option<Arc<Mount>> {
        lock(&self.st).parent.clone()
    }

    pub fn mountpoint(&self) -> Option<Arc<Dentry>> {
        lock(&self.st).mountpoint.clone()
    }

    /// Sets the per-mount flags (remount).
    pub fn set_flags(&self, flags: u64) {
        let mut s = lock(&self.st);
        let was = s.flags & MS_RDONLY != 0;
        s.flags = flags & MNT_FLAGS;
        match (was, flags & MS_RDONLY != 0) {
            (false, true) => {
                RDONLY_MOUNTS.fetch_add(1, Ordering::AcqRel);
            }
            (true, false) => {
                RDONLY_MOUNTS.fetch_sub(1, Ordering::AcqRel);
            }
            _ => {}
        }
    }

    /// `MNT_EXPIRE`: marks the mount and says whether it was marked
    /// already (then it goes).
    pub fn mark_expiry(&self) -> bool {
        std::mem::replace(&mut lock(&self.st).expiry, true)
    }

    pub fn set_propagation(&self, p: Propagation) {
        lock(&self.st).prop = p;
    }

    /// Read-only through this mount or its filesystem.
    pub fn is_rdonly(&self) -> bool {
        self.flags() & MS_RDONLY != 0 || self.sb.rdonly.load(Ordering::Acquire)
    }

    /// Sets the filesystem's read-only state (remount without `MS_BIND`).
    pub fn set_sb_rdonly(&self, ro: bool) {
        if self.sb.rdonly.swap(ro, Ordering::AcqRel) != ro {
            if ro {
                RDONLY_MOUNTS.fetch_add(1, Ordering::AcqRel);
            } else {
                RDONLY_MOUNTS.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }

    /// Whether `d` is this mount's root.
    pub fn is_root(&self, d: &Arc<Dentry>) -> bool {
        self.same_root(d)
    }

    fn same_root(&self, d: &Arc<Dentry>) -> bool {
        Arc::ptr_eq(&self.root, d) || Arc::ptr_eq(&self.root.inode, &d.inode)
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        dec(&self.root);
        let s = lock(&self.st);
        if s.flags & MS_RDONLY != 0 {
            RDONLY_MOUNTS.fetch_sub(1, Ordering::AcqRel);
        }
        if s.attached {
            if let Some(mp) = &s.mountpoint {
                dec(mp);
            }
        }
    }
}

/// A mount namespace: its mounts in the order they were made (a parent
/// before its children), and its root mount.
pub struct MountNs {
    pub ino: u64,
    inner: Mutex<NsInner>,
}

struct NsInner {
    mounts: Vec<Arc<Mount>>,
    root: Arc<Mount>,
}

impl MountNs {
    /// A namespace whose root mount is `root`.
    pub fn new(root: Arc<Mount>) -> Arc<MountNs> {
        lock(&root.st).attached = true;
        Arc::new(MountNs {
            ino: FIRST_NS_INO,
            inner: Mutex::new(NsInner {
                mounts: vec![root.clone()],
                root,
            }),
        })
    }

    /// [`MountNs::new`] with its own inode number (a pod container's
    /// first namespace, beside the sandbox's).
    pub fn new_numbered(root: Arc<Mount>, ino: u64) -> Arc<MountNs> {
        lock(&root.st).attached = true;
        Arc::new(MountNs {
            ino,
            inner: Mutex::new(NsInner {
                mounts: vec![root.clone()],
                root,
            }),
        })
    }

    pub fn root(&self) -> Arc<Mount> {
        lock(&self.inner).root.clone()
    }

    /// Every mount, parents before children.
    pub fn mounts(&self) -> Vec<Arc<Mount>> {
        lock(&self.inner).mounts.clone()
    }

    pub fn contains(&self, m: &Arc<Mount>) -> bool {
        lock(&self.inner).mounts.iter().any(|x| Arc::ptr_eq(x, m))
    }

    /// The mount on top of `d` in `parent`.
    pub fn child_at(&self, parent: &Arc<Mount>, d: &Arc<Dentry>) -> Option<Arc<Mount>> {
        let inner = lock(&self.inner);
        inner
            .mounts
            .iter()
            .rev()
            .find(|m| {
                let s = lock(&m.st);
                s.parent.as_ref().is_some_and(|p| Arc::ptr_eq(p, parent))
                    && s.mountpoint
                        .as_ref()
                        .is_some_and(|mp| Arc::ptr_eq(&mp.inode, &d.inode))
            })
            .cloned()
    }

    /// Any mount on `d` (when the walk does not know its mount).
    fn any_at(&self, d: &Arc<Dentry>) -> Option<Arc<Mount>> {
        let inner = lock(&self.inner);
        inner
            .mounts
            .iter()
            .rev()
            .find(|m| {
                lock(&m.st)
                    .mountpoint
                    .as_ref()
                    .is_some_and(|mp| Arc::ptr_eq(&mp.inode, &d.inode))
            })
            .cloned()
    }

    /// Whether some mount of this namespace sits on `d`.
    pub fn is_mountpoint(&self, d: &Arc<Dentry>) -> bool {
        d.inode.mounts.load(Ordering::Acquire) != 0 && self.any_at(d).is_some()
    }

    /// The mount whose root is `d` exactly, the most recent first.
    pub fn mount_rooted_at(&self, d: &Arc<Dentry>) -> Option<Arc<Mount>> {
        if d.inode.mounts.load(Ordering::Acquire) == 0 {
            return None;
        }
        let inner = lock(&self.inner);
        inner.mounts.iter().rev().find(|m| m.same_root(d)).cloned()
    }

    /// The mount `d` is reached through: the one rooted at its nearest
    /// ancestor that is a mount root (see the module comment).
    pub fn mount_of(&self, d: &Arc<Dentry>) -> Option<Arc<Mount>> {
        let mut x = d.clone();
        for _ in 0..4096 {
            if let Some(m) = self.mount_rooted_at(&x) {
                return Some(m);
            }
            x = x.parent()?;
        }
        None
    }

    /// Puts `m` on `mountpoint` of `parent`.
    pub fn attach(&self, m: &Arc<Mount>, parent: &Arc<Mount>, mountpoint: &Arc<Dentry>) {
        {
            let mut s = lock(&m.st);
            s.parent = Some(parent.clone());
            s.mountpoint = Some(mountpoint.clone());
            s.attached = true;
        }
        inc(mountpoint);
        lock(&self.inner).mounts.push(m.clone());
    }

    /// The mounts below `m` (children, grandchildren, ...) with `m`
    /// first.
    pub fn subtree(&self, m: &Arc<Mount>) -> Vec<Arc<Mount>> {
        let inner = lock(&self.inner);
        let mut out = vec![m.clone()];
        let mut i = 0;
        while i < out.len() {
            let cur = out[i].clone();
            for x in &inner.mounts {
                if lock(&x.st)
                    .parent
                    .as_ref()
                    .is_some_and(|p| Arc::ptr_eq(p, &cur))
                    && !out.iter().any(|o| Arc::ptr_eq(o, x))
                {
                    out.push(x.clone());
                }
            }
            i += 1;
        }
        out
    }

    /// Takes `m` and every mount below it out of the namespace
    /// (`umount`, `MNT_DETACH`).
    pub fn detach(&self, m: &Arc<Mount>) {
        let gone = self.subtree(m);
        let mut inner = lock(&self.inner);
        inner
            .mounts
            .retain(|x| !gone.iter().any(|g| Arc::ptr_eq(g, x)));
        drop(inner);
        for g in &gone {
            let mut s = lock(&g.st);
            if s.attached {
                s.attached = false;
                if let Some(mp) = &s.mountpoint {
                    dec(mp);
                }
            }
        }
    }

    /// Moves `m` (attached in this namespace) onto `mountpoint` of
    /// `parent` (`MS_MOVE`, `pivot_root`).
    pub fn reattach(
        &self,
        m: &Arc<Mount>,
        parent: Option<&Arc<Mount>>,
        mountpoint: Option<&Arc<Dentry>>,
    ) {
        let mut s = lock(&m.st);
        if let Some(old) = s.mountpoint.take() {
            dec(&old);
        }
        s.parent = parent.cloned();
        s.mountpoint = mountpoint.cloned();
        if let Some(mp) = mountpoint {
            inc(mp);
        }
        drop(s);
        // Keep parents before children in the list.
        let sub = self.subtree(m);
        let mut inner = lock(&self.inner);
        inner
            .mounts
            .retain(|x| !sub.iter().any(|g| Arc::ptr_eq(g, x)));
        inner.mounts.extend(sub);
        if parent.is_none() {
            inner.root = m.clone();
            // The root goes first.
            if let Some(i) = inner.mounts.iter().position(|x| Arc::ptr_eq(x, m)) {
                let r = inner.mounts.remove(i);
                inner.mounts.insert(0, r);
            }
        }
    }

    /// A copy for `CLONE_NEWNS` (shown as inode `ino`): the same
    /// filesystems and subtrees, new mounts (new ids), shared peers
    /// staying peers.
    pub fn copy(&self, ino: u64) -> Arc<MountNs> {
        let old = self.mounts();
        let mut new: Vec<Arc<Mount>> = Vec::with_capacity(old.len());
        for m in &old {
            let c = m.clone_of(m.root.clone());
            let (parent, mp) = {
                let s = lock(&m.st);
                (s.parent.clone(), s.mountpoint.clone())
            };
            if let (Some(p), Some(mp)) = (parent, mp) {
                if let Some(i) = old.iter().position(|x| Arc::ptr_eq(x, &p)) {
                    let mut s = lock(&c.st);
                    s.parent = Some(new[i].clone());
                    s.mountpoint = Some(mp.clone());
                    s.attached = true;
                    inc(&mp);
                }
            } else {
                lock(&c.st).attached = true;
            }
            new.push(c);
        }
        let root_i = {
            let r = self.root();
            old.iter().position(|x| Arc::ptr_eq(x, &r)).unwrap_or(0)
        };
        let root = new[root_i].clone();
        Arc::new(MountNs {
            ino,
            inner: Mutex::new(NsInner { mounts: new, root }),
        })
    }

    /// A bind mount of `src` (reached through mount `from`): a new mount
    /// of the same filesystem rooted at `src`, with the mounts below it
    /// when `rec`. Not attached; returns the tree's top first.
    pub fn bind_tree(
        &self,
        from: &Arc<Mount>,
        src: &Arc<Dentry>,
        rec: bool,
    ) -> SysResult<Vec<Arc<Mount>>> {
        if lock(&from.st).prop.unbindable {
            return Err(Errno::EINVAL);
        }
        let top = from.clone_of(src.clone());
        {
            let mut s = lock(&top.st);
            s.prop = Propagation::default();
        }
        let mut out = vec![top.clone()];
        if !rec {
            return Ok(out);
        }
        // Mounts of `from`'s subtree whose mountpoints lie under `src`.
        let sub = self.subtree(from);
        let mut map: Vec<(Arc<Mount>, Arc<Mount>)> = vec![(from.clone(), top)];
        for m in sub.iter().skip(1) {
            let (p, mp) = {
                let s = lock(&m.st);
                (s.parent.clone(), s.mountpoint.clone())
            };
            let (Some(p), Some(mp)) = (p, mp) else {
                continue;
            };
            let Some(np) = map
                .iter()
                .find(|(o, _)| Arc::ptr_eq(o, &p))
                .map(|x| x.1.clone())
            else {
                continue;
            };
            if Arc::ptr_eq(&p, from) && !is_below(&mp, src) {
                continue;
            }
            if lock(&m.st).prop.unbindable {
                continue;
            }
            let c = m.clone_of(m.root.clone());
            {
                let mut s = lock(&c.st);
                s.parent = Some(np);
                s.mountpoint = Some(mp);
                s.prop = Propagation::default();
            }
            map.push((m.clone(), c.clone()));
            out.push(c);
        }
        Ok(out)
    }

    /// Attaches a tree made by [`MountNs::bind_tree`] on `mountpoint` of
    /// `parent`.
    pub fn attach_tree(&self, tree: &[Arc<Mount>], parent: &Arc<Mount>, mountpoint: &Arc<Dentry>) {
        let Some((top, rest)) = tree.split_first() else {
            return;
        };
        self.attach(top, parent, mountpoint);
        let mut inner = lock(&self.inner);
        for m in rest {
            let mut s = lock(&m.st);
            s.attached = true;
            if let Some(mp) = &s.mountpoint {
                inc(mp);
            }
            drop(s);
            inner.mounts.push(m.clone());
        }
    }
}

/// Whether `d` is `top` or below it (dentry parents only).
pub fn is_below(d: &Arc<Dentry>, top: &Arc<Dentry>) -> bool {
    let mut x = Some(d.clone());
    let mut n = 0;
    while let Some(c) = x {
        if Arc::ptr_eq(&c, top) || Arc::ptr_eq(&c.inode, &top.inode) {
            return true;
        }
        n += 1;
        if n > 4096 {
            return false;
        }
        x = c.parent();
    }
    false
}

/// A new peer group id (`MS_SHARED`).
pub fn new_peer_group() -> u32 {
    NEXT_PEER_GROUP.fetch_add(1, Ordering::Relaxed)
}

thread_local! {
    /// The mount namespace of the task this host thread runs.
    static CURRENT: RefCell<Option<Arc<MountNs>>> = const { RefCell::new(None) };
}

/// The namespace used by threads that run no task.
static FALLBACK: Mutex<Option<Arc<MountNs>>> = Mutex::new(None);

/// Makes `ns` the calling thread's mount namespace.
pub fn set_current(ns: Arc<MountNs>) {
    CURRENT.with(|c| *c.borrow_mut() = Some(ns));
}

pub(crate) fn set_fallback(ns: &Arc<MountNs>) {
    *lock(&FALLBACK) = Some(ns.clone());
}

/// Runs `f` with `ns` as the calling thread's mount namespace, then
/// restores the one it had (a sentry thread building another
/// container's mounts walks that container's tree).
pub fn with_current<R>(ns: &Arc<MountNs>, f: impl FnOnce() -> R) -> R {
    let old = CURRENT.with(|c| c.borrow_mut().replace(ns.clone()));
    let r = f();
    CURRENT.with(|c| *c.borrow_mut() = old);
    r
}

/// The calling thread's mount namespace.
pub fn current() -> Option<Arc<MountNs>> {
    CURRENT
        .with(|c| c.borrow().clone())
        .or_else(|| lock(&FALLBACK).clone())
}

/// Whether any read-only mount exists (writes need not look).
pub(crate) fn any_rdonly() -> bool {
    RDONLY_MOUNTS.load(Ordering::Acquire) != 0
}

thread_local! {
    /// The last walk's result and the mount it ended in, for the mount
    /// syscalls ([`target`]).
    static LAST_WALK: RefCell<Option<(Arc<Dentry>, Arc<Mount>)>> = const { RefCell::new(None) };
}

/// Records where a walk ended (only when it knows its mount).
pub(crate) fn walk_ended(d: &Arc<Dentry>, mnt: &Option<Arc<Mount>>) {
    if let Some(m) = mnt {
        LAST_WALK.with(|l| *l.borrow_mut() = Some((d.clone(), m.clone())));
    } else if d.inode.mounts.load(Ordering::Acquire) != 0 {
        LAST_WALK.with(|l| *l.borrow_mut() = None);
    }
}

/// Steps from `child` (found in directory `from`) onto what is mounted
/// on it, updating the walk's mount.
pub(crate) fn down(
    mnt: &mut Option<Arc<Mount>>,
    from: &Arc<Dentry>,
    child: Arc<Dentry>,
) -> Arc<Dentry> {
    if child.inode.mounts.load(Ordering::Acquire) == 0 {
        return child;
    }
    let Some(ns) = current() else { return child };
    let mut m = mnt.take().or_else(|| ns.mount_of(from));
    let mut d = child;
    for _ in 0..64 {
        let next = match &m {
            Some(p) => ns.child_at(p, &d),
            None => ns.any_at(&d),
        };
        match next {
            Some(c) => {
                d = c.root.clone();
                m = Some(c);
            }
            None => break,
        }
    }
    *mnt = m;
    d
}

/// `..` from `cur`: out of mounts whose root it is, then to the parent
/// and onto what is mounted there. `root` (the process's) is not left.
pub(crate) fn up(
    mnt: &mut Option<Arc<Mount>>,
    cur: &Arc<Dentry>,
    root: Option<&Arc<Dentry>>,
) -> Arc<Dentry> {
    let mut d = cur.clone();
    for _ in 0..64 {
        if root.is_some_and(|r| Arc::ptr_eq(&d, r)) {
            return d;
        }
        if d.inode.mounts.load(Ordering::Acquire) == 0 {
            break;
        }
        let Some(ns) = current() else { break };
        let m = match mnt.clone() {
            Some(m) => Some(m),
            None => ns.mount_of(&d),
        };
        let Some(m) = m else { break };
        if !m.same_root(&d) {
            *mnt = Some(m);
            break;
        }
        let (p, mp) = {
            let s = lock(&m.st);
            (s.parent.clone(), s.mountpoint.clone())
        };
        match (p, mp) {
            (Some(p), Some(mp)) => {
                d = mp;
                *mnt = Some(p);
            }
            // The namespace's root: `..` stays.
            _ => return d,
        }
    }
    let p = d.parent().unwrap_or_else(|| d.clone());
    down(mnt, &p, p.clone())
}

/// Whether `d` is the root of a mount of the caller's namespace (where a
/// filesystem, or the part of one a bind mount shows, begins).
pub fn is_mount_root(d: &Arc<Dentry>) -> bool {
    d.inode.mounts.load(Ordering::Acquire) != 0
        && current().is_some_and(|ns| ns.mount_rooted_at(d).is_some())
}

/// Whether a mount of the caller's namespace sits on `d`.
pub fn is_mountpoint(d: &Arc<Dentry>) -> bool {
    d.inode.mounts.load(Ordering::Acquire) != 0 && current().is_some_and(|ns| ns.is_mountpoint(d))
}

/// The mount `d` is reached through in the caller's namespace: the one
/// the caller's last walk ended in when it ended at `d`, or at its
/// directory (a name looked up there, not a mount of its own).
pub fn mount_of(d: &Arc<Dentry>) -> Option<Arc<Mount>> {
    let last = LAST_WALK.with(|l| {
        l.borrow()
            .as_ref()
            .filter(|(ld, _)| {
                Arc::ptr_eq(ld, d)
                    || (d.inode.mounts.load(Ordering::Acquire) == 0
                        && d.parent().is_some_and(|p| Arc::ptr_eq(ld, &p)))
            })
            .map(|(_, m)| m.clone())
    });
    let ns = current()?;
    match last {
        Some(m) if ns.contains(&m) => Some(m),
        _ => ns.mount_of(d),
    }
}

/// `EROFS` when `d` is on a read-only mount or filesystem.
pub fn check_writable(d: &Arc<Dentry>) -> SysResult<()> {
    if !any_rdonly() {
        return Ok(());
    }
    match mount_of(d) {
        Some(m) if m.is_rdonly() => Err(Errno::EROFS),
        _ => Ok(()),
    }
}

/// An access of `d` (a read of a file, a listing of a directory, a
/// symlink followed or read): its atime moves as Linux's `touch_atime`
/// moves it, under `relatime` (the sandbox's default; `strictatime` is
/// not kept and counts as `relatime`) unless the mount is `noatime`,
/// `nodiratime` for a directory, or read-only. Other kinds of file
/// (/proc, devices, pipes) keep their times. The mount is looked up only
/// when the rule says the time is due.
pub fn accessed(d: &Arc<Dentry>) {
    use crate::inode::Kind;
    let dir = match d.inode.kind {
        Kind::File(_) | Kind::Symlink(_) => false,
        Kind::Dir(_) => true,
        _ => return,
    };
    let now = crate::inode::now();
    if !d.inode.atime_due(now) {
        return;
    }
    let f = flags_of(d);
    if f & (MS_RDONLY | MS_NOATIME) != 0 || (dir && f & MS_NODIRATIME != 0) {
        return;
    }
    d.inode.update_meta(|m| m.atime = now);
}

/// The per-mount flags of the mount `d` is on (0 when none is known).
pub fn flags_of(d: &Arc<Dentry>) -> u64 {
    mount_of(d).map_or(0, |m| {
        let mut f = m.flags();
        if m.sb.rdonly.load(Ordering::Acquire) {
            f |= MS_RDONLY;
        }
        f
    })
}

/// The names from `top` down to `d` (`None` when `d` is not below it).
fn rel_names(d: &Arc<Dentry>, top: Option<&Arc<Dentry>>) -> Option<Vec<Vec<u8>>> {
    let mut names = Vec::new();
    let mut x = d.clone();
    for _ in 0..4096 {
        if top.is_some_and(|t| Arc::ptr_eq(&x, t) || Arc::ptr_eq(&x.inode, &t.inode)) {
            names.reverse();
            return Some(names);
        }
        match x.parent() {
            Some(p) => {
                names.push(x.name());
                x = p;
            }
            None if top.is_none() => {
                names.reverse();
                return Some(names);
            }
            None => return None,
        }
    }
    None
}

/// `m`'s place in its namespace as path components (`None` when
/// detached or not reachable).
fn mount_names(m: &Arc<Mount>) -> Option<Vec<Vec<u8>>> {
    let mut parts: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut cur = m.clone();
    for _ in 0..1024 {
        let (p, mp) = {
            let s = lock(&cur.st);
            (s.parent.clone(), s.mountpoint.clone())
        };
        match (p, mp) {
            (Some(p), Some(mp)) => {
                parts.push(rel_names(&mp, Some(&p.root))?);
                cur = p;
            }
            _ => {
                parts.reverse();
                return Some(parts.concat());
            }
        }
    }
    None
}

/// A path for `/proc/PID/mounts`: space, tab, newline and backslash as
/// octal escapes, as Linux's `mangle`.
fn escaped(names: &[Vec<u8>]) -> String {
    let mut out = String::new();
    if names.is_empty() {
        out.push('/');
    }
    for n in names {
        out.push('/');
        for &b in n {
            match b {
                b' ' | b'\t' | b'\n' | b'\\' => out.push_str(&format!("\\{b:03o}")),
                _ => out.push(b as char),
            }
        }
    }
    out
}

fn mount_opts(flags: u64) -> String {
    let mut o = String::from(if flags & MS_RDONLY != 0 { "ro" } else { "rw" });
    for (bit, name) in [
        (MS_NOSUID, "nosuid"),
        (MS_NODEV, "nodev"),
        (MS_NOEXEC, "noexec"),
        (MS_NOATIME, "noatime"),
        (MS_NODIRATIME, "nodiratime"),
        (MS_RELATIME, "relatime"),
        (MS_NOSYMFOLLOW, "nosymfollow"),
    ] {
        if flags & bit != 0 {
            o.push(',');
            o.push_str(name);
        }
    }
    o
}

impl MountNs {
    /// `/proc/PID/mountinfo` (`info`) or `/proc/PID/mounts` for a process
    /// whose root is `root`: the mounts at or below it, paths from it.
    pub fn render(&self, root: &Arc<Dentry>, info: bool) -> String {
        let base = self
            .mount_of(root)
            .and_then(|m| Some([mount_names(&m)?, rel_names(root, Some(&m.root))?].concat()))
            .unwrap_or_default();
        let mut out = String::new();
        for m in self.mounts() {
            let Some(names) = mount_names(&m) else {
                continue;
            };
            if !names.starts_with(&base) {
                continue;
            }
            let path = escaped(&names[base.len()..]);
            let s = lock(&m.st);
            let sb_ro = m.sb.rdonly.load(Ordering::Acquire);
            let sb_opts = lock(&m.sb.opts).clone();
            let sb_text = match (sb_ro, sb_opts.is_empty()) {
                (true, true) => "ro".to_string(),
                (false, true) => "rw".to_string(),
                (true, false) => format!("ro,{sb_opts}"),
                (false, false) => format!("rw,{sb_opts}"),
            };
            if info {
                let parent = s.parent.as_ref().map_or(m.id, |p| p.id);
                let mut opt = String::new();
                if s.prop.shared != 0 {
                    opt.push_str(&format!(" shared:{}", s.prop.shared));
                }
                if s.prop.master != 0 {
                    opt.push_str(&format!(" master:{}", s.prop.master));
                }
                if s.prop.unbindable {
                    opt.push_str(" unbindable");
                }
                let fs_root = escaped(&rel_names(&m.root, None).unwrap_or_default());
                out.push_str(&format!(
                    "{} {} 0:{} {} {} {}{} - {} {} {}\n",
                    m.id,
                    parent,
                    m.sb.dev,
                    fs_root,
                    path,
                    mount_opts(s.flags),
                    opt,
                    m.sb.fstype,
                    m.sb.source,
                    sb_text
                ));
            } else {
                let flags = s.flags | if sb_ro { MS_RDONLY } else { 0 };
                let mut o = mount_opts(flags);
                if !sb_opts.is_empty() {
                    o.push(',');
                    o.push_str(&sb_opts);
                }
                out.push_str(&format!(
                    "{} {} {} {} 0 0\n",
                    m.sb.source, path, m.sb.fstype, o
                ));
            }
        }
        out
    }
}

/// What a mount syscall's target `d` (as a walk left it) means: the
/// dentry on top once whatever is mounted on it is followed, the mount
/// it is in (the walk's, when the walk knew it), and whether it is that
/// mount's root.
pub fn target(d: &Arc<Dentry>) -> (Arc<Dentry>, Option<Arc<Mount>>, bool) {
    let last = LAST_WALK.with(|l| l.borrow_mut().take());
    let mut m = last.filter(|(ld, _)| Arc::ptr_eq(ld, d)).map(|(_, m)| m);
    let top = down(&mut m, d, d.clone());
    let Some(ns) = current() else {
        return (top, None, false);
    };
    let m = m.filter(|m| ns.contains(m)).or_else(|| ns.mount_of(&top));
    let is_root = m.as_ref().is_some_and(|m| m.same_root(&top));
    (top, m, is_root)
}
