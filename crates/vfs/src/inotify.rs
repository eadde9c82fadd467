//! inotify: watches on inodes and the event queues they feed.
//!
//! A watch lives on the inode (so it survives renames and the copy-up of
//! a host file, which keeps the inode) and in its instance's table by
//! watch descriptor. The VFS operations call the hooks below after they
//! succeed; every hook first loads one global counter and returns at once
//! while no watch exists anywhere, so unwatched sandboxes pay nothing more.
//!
//! As on Linux, an event about a child goes first to the parent
//! directory's watches (with the child's name), then to the child's own
//! (without); identical consecutive events are merged; a full queue drops
//! events behind one `IN_Q_OVERFLOW`.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

use abi::fs::*;
use abi::{Errno, SysResult};
use mm::MemoryManager;
use waiter::{events, Queue};

use crate::dentry::Dentry;
use crate::epoll::anon_stat;
use crate::file::{File, FileOps};
use crate::inode::{lock, Inode};

pub const IN_ACCESS: u32 = 0x1;
pub const IN_MODIFY: u32 = 0x2;
pub const IN_ATTRIB: u32 = 0x4;
pub const IN_CLOSE_WRITE: u32 = 0x8;
pub const IN_CLOSE_NOWRITE: u32 = 0x10;
pub const IN_OPEN: u32 = 0x20;
pub const IN_MOVED_FROM: u32 = 0x40;
pub const IN_MOVED_TO: u32 = 0x80;
pub const IN_CREATE: u32 = 0x100;
pub const IN_DELETE: u32 = 0x200;
pub const IN_DELETE_SELF: u32 = 0x400;
pub const IN_MOVE_SELF: u32 = 0x800;
pub const IN_ALL_EVENTS: u32 = 0xfff;
pub const IN_UNMOUNT: u32 = 0x2000;
pub const IN_Q_OVERFLOW: u32 = 0x4000;
pub const IN_IGNORED: u32 = 0x8000;
pub const IN_ONLYDIR: u32 = 0x0100_0000;
pub const IN_DONT_FOLLOW: u32 = 0x0200_0000;
pub const IN_EXCL_UNLINK: u32 = 0x0400_0000;
pub const IN_MASK_CREATE: u32 = 0x1000_0000;
pub const IN_MASK_ADD: u32 = 0x2000_0000;
pub const IN_ISDIR: u32 = 0x4000_0000;
pub const IN_ONESHOT: u32 = 0x8000_0000;
/// Every bit `inotify_add_watch` knows; a mask with none of them is
/// `EINVAL`.
pub const ALL_INOTIFY_BITS: u32 = IN_ALL_EVENTS
    | IN_UNMOUNT
    | IN_Q_OVERFLOW
    | IN_IGNORED
    | IN_ONLYDIR
    | IN_DONT_FOLLOW
    | IN_EXCL_UNLINK
    | IN_MASK_CREATE
    | IN_MASK_ADD
    | IN_ISDIR
    | IN_ONESHOT;
/// What a watch keeps of the mask it was given.
const KEPT: u32 = IN_ALL_EVENTS | IN_ONESHOT | IN_EXCL_UNLINK;

/// `/proc/sys/fs/inotify/*` (Linux's defaults; the smallest
/// `max_user_watches` Linux picks).
pub const MAX_QUEUED_EVENTS: usize = 16384;
pub const MAX_USER_INSTANCES: usize = 128;
pub const MAX_USER_WATCHES: usize = 8192;

/// Watches in the whole sandbox: zero lets every hook return at once.
static WATCHES: AtomicUsize = AtomicUsize::new(0);
/// Instances open in the sandbox (`max_user_instances`: one user here in
/// practice, so counted for all).
static INSTANCES: AtomicUsize = AtomicUsize::new(0);
/// Rename cookies pair `IN_MOVED_FROM` with `IN_MOVED_TO`.
static COOKIE: AtomicU32 = AtomicU32::new(0);

/// Marks of other notification systems (dnotify) on inodes.
static LISTENERS: AtomicUsize = AtomicUsize::new(0);

fn active() -> bool {
    WATCHES.load(Ordering::Relaxed) != 0 || LISTENERS.load(Ordering::Relaxed) != 0
}

/// Another notification system's mark on an inode (dnotify): told of
/// each event the inode's watches would see.
pub trait Listener: Send + Sync {
    /// The `IN_*` bits it wants.
    fn mask(&self) -> u32;
    /// `mask` happened to the inode; `name` is the entry's for an event
    /// about a directory entry (fsnotify's events with a `dir`).
    /// Returns whether the mark stays.
    fn event(&self, mask: u32, cookie: u32, name: &[u8]) -> bool;
}

/// Adds `l` to the inode's listeners (the caller keeps it to remove it).
pub fn add_listener(inode: &Inode, l: Arc<dyn Listener>) {
    let n = &inode.notify;
    let watches = lock(&n.watches);
    let mut list = lock(&n.listeners);
    list.push(l);
    LISTENERS.fetch_add(1, Ordering::Relaxed);
    n.recompute(&watches, &list);
}

/// Removes listener `l` (by identity); whether it was there.
pub fn remove_listener(inode: &Inode, l: &Arc<dyn Listener>) -> bool {
    let n = &inode.notify;
    let watches = lock(&n.watches);
    let mut list = lock(&n.listeners);
    let before = list.len();
    list.retain(|x| !Arc::ptr_eq(x, l));
    let gone = before - list.len();
    LISTENERS.fetch_sub(gone, Ordering::Relaxed);
    n.recompute(&watches, &list);
    gone > 0
}

/// Recomputes the inode's interest after a listener's mask changed.
pub fn listeners_changed(inode: &Inode) {
    let n = &inode.notify;
    let watches = lock(&n.watches);
    n.recompute(&watches, &lock(&n.listeners));
}

/// What every inode carries for notification.
#[derive(Default)]
pub struct InodeNotify {
    /// Union of the watches' event bits, checked before the list.
    mask: AtomicU32,
    watches: Mutex<Vec<Arc<Watch>>>,
    listeners: Mutex<Vec<Arc<dyn Listener>>>,
    /// Open file descriptions of the inode: an unlinked inode is gone
    /// (`IN_DELETE_SELF`) when the last one closes.
    opens: AtomicUsize,
}

impl InodeNotify {
    fn recompute(&self, list: &[Arc<Watch>], listeners: &[Arc<dyn Listener>]) {
        let m = list
            .iter()
            .fold(0, |m, w| m | w.mask.load(Ordering::Relaxed));
        let m = listeners.iter().fold(m, |m, l| m | l.mask());
        self.mask.store(m, Ordering::Release);
    }
}

struct Watch {
    wd: i32,
    mask: AtomicU32,
    inode: Arc<Inode>,
    group: Weak<Group>,
}

struct Event {
    wd: i32,
    mask: u32,
    cookie: u32,
    name: Vec<u8>,
}

impl Event {
    /// `struct inotify_event` plus the name, NUL-padded to a multiple of
    /// the header's 16 bytes as Linux pads it.
    fn len(&self) -> usize {
        16 + padded(&self.name)
    }
}

fn padded(name: &[u8]) -> usize {
    if name.is_empty() {
        0
    } else {
        (name.len() + 1).div_ceil(16) * 16
    }
}

#[derive(Default)]
struct GroupState {
    events: VecDeque<Event>,
    bytes: usize,
    overflow_queued: bool,
    last_wd: i32,
    watches: BTreeMap<i32, Arc<Watch>>,
}

/// One inotify instance.
pub struct Group {
    state: Mutex<GroupState>,
    queue: Queue,
}

impl Group {
    fn push(&self, wd: i32, mask: u32, cookie: u32, name: &[u8]) {
        let mut s = lock(&self.state);
        let ev = if s.events.len() >= MAX_QUEUED_EVENTS {
            if s.overflow_queued {
                return;
            }
            s.overflow_queued = true;
            Event {
                wd: -1,
                mask: IN_Q_OVERFLOW,
                cookie: 0,
                name: Vec::new(),
            }
        } else {
            if let Some(last) = s.events.back() {
                if last.mask & IN_IGNORED == 0
                    && last.mask == mask
                    && last.wd == wd
                    && last.name == name
                {
                    return;
                }
            }
            Event {
                wd,
                mask,
                cookie,
                name: name.to_vec(),
            }
        };
        s.bytes += ev.len();
        s.events.push_back(ev);
        drop(s);
        self.queue.notify(events::IN | events::RDNORM);
    }

    /// `inotify_add_watch` on a resolved and checked inode.
    pub fn add_watch(self: &Arc<Self>, inode: &Arc<Inode>, arg: u32) -> SysResult<i32> {
        let mut s = lock(&self.state);
        let mut list = lock(&inode.notify.watches);
        let me = Arc::as_ptr(self);
        if let Some(w) = list.iter().find(|w| std::ptr::eq(w.group.as_ptr(), me)) {
            if arg & IN_MASK_CREATE != 0 {
                return Err(Errno::EEXIST);
            }
            let new = arg & KEPT;
            if arg & IN_MASK_ADD != 0 {
                w.mask.fetch_or(new, Ordering::Relaxed);
            } else {
                w.mask.store(new, Ordering::Relaxed);
            }
            let wd = w.wd;
            inode
                .notify
                .recompute(&list, &lock(&inode.notify.listeners));
            return Ok(wd);
        }
        if WATCHES.load(Ordering::Relaxed) >= MAX_USER_WATCHES {
            return Err(Errno::ENOSPC);
        }
        // Descriptors are handed out cyclically from 1, as Linux's idr.
        let mut wd = s.last_wd;
        loop {
            wd = if wd >= i32::MAX - 1 { 1 } else { wd + 1 };
            if !s.watches.contains_key(&wd) {
                break;
            }
        }
        s.last_wd = wd;
        let w = Arc::new(Watch {
            wd,
            mask: AtomicU32::new(arg & KEPT),
            inode: inode.clone(),
            group: Arc::downgrade(self),
        });
        s.watches.insert(wd, w.clone());
        list.push(w);
        inode
            .notify
            .recompute(&list, &lock(&inode.notify.listeners));
        WATCHES.fetch_add(1, Ordering::Relaxed);
        Ok(wd)
    }

    /// `inotify_rm_watch`: `IN_IGNORED` is queued for it.
    pub fn rm_watch(&self, wd: i32) -> SysResult<()> {
        let w = lock(&self.state)
            .watches
            .get(&wd)
            .cloned()
            .ok_or(Errno::EINVAL)?;
        self.drop_watch(&w);
        Ok(())
    }

    /// Removes a watch (once) and queues its `IN_IGNORED`.
    fn drop_watch(&self, w: &Arc<Watch>) {
        if lock(&self.state).watches.remove(&w.wd).is_none() {
            return;
        }
        unhook(w);
        self.push(w.wd, IN_IGNORED, 0, &[]);
    }

    fn readiness(&self) -> u32 {
        if lock(&self.state).events.is_empty() {
            0
        } else {
            events::IN | events::RDNORM
        }
    }
}

/// Takes a watch off its inode.
fn unhook(w: &Arc<Watch>) {
    let n = &w.inode.notify;
    let mut list = lock(&n.watches);
    list.retain(|x| !Arc::ptr_eq(x, w));
    n.recompute(&list, &lock(&n.listeners));
    drop(list);
    WATCHES.fetch_sub(1, Ordering::Relaxed);
}

/// The file of an inotify instance.
pub struct InotifyFile(pub Arc<Group>);

impl Drop for InotifyFile {
    fn drop(&mut self) {
        let watches = std::mem::take(&mut lock(&self.0.state).watches);
        for w in watches.values() {
            unhook(w);
        }
        INSTANCES.fetch_sub(1, Ordering::Relaxed);
    }
}

impl FileOps for InotifyFile {
    /// Whole events that fit; `EINVAL` if the first does not.
    fn read(&self, _f: &File, buf: &mut [u8], _off: u64) -> SysResult<usize> {
        let mut s = lock(&self.0.state);
        if s.events.is_empty() {
            return Err(Errno::EAGAIN);
        }
        let mut n = 0;
        while let Some(e) = s.events.front() {
            let len = e.len();
            if n + len > buf.len() {
                if n == 0 {
                    return Err(Errno::EINVAL);
                }
                break;
            }
            let out = &mut buf[n..n + len];
            out[0..4].copy_from_slice(&e.wd.to_ne_bytes());
            out[4..8].copy_from_slice(&e.mask.to_ne_bytes());
            out[8..12].copy_from_slice(&e.cookie.to_ne_bytes());
            out[12..16].copy_from_slice(&((len - 16) as u32).to_ne_bytes());
            out[16..16 + e.name.len()].copy_from_slice(&e.name);
            out[16 + e.name.len()..].fill(0);
            if e.mask == IN_Q_OVERFLOW && e.wd == -1 {
                s.overflow_queued = false;
            }
            s.events.pop_front();
            s.bytes -= len;
            n += len;
        }
        Ok(n)
    }

    fn write(&self, _f: &File, _buf: &[u8], _off: u64) -> SysResult<usize> {
        Err(Errno::EINVAL)
    }

    fn readiness(&self) -> u32 {
        self.0.readiness()
    }

    fn queue(&self) -> Option<&Queue> {
        Some(&self.0.queue)
    }

    fn ioctl(&self, _f: &File, cmd: u32, arg: u64, mm: &mut MemoryManager) -> SysResult<u64> {
        match cmd {
            FIONREAD => {
                let n = lock(&self.0.state).bytes as i32;
                mm.write_obj(arg, &n).map(|_| 0)
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    fn stat(&self, _f: &File) -> SysResult<Stat> {
        Ok(anon_stat())
    }

    fn anon_name(&self) -> Option<Vec<u8>> {
        Some(b"anon_inode:inotify".to_vec())
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

/// A new instance (`inotify_init1`); `flags` are file status flags
/// (`O_NONBLOCK`). `EMFILE` past `max_user_instances`.
pub fn new_file(flags: u32) -> SysResult<Arc<File>> {
    if INSTANCES.fetch_add(1, Ordering::Relaxed) >= MAX_USER_INSTANCES {
        INSTANCES.fetch_sub(1, Ordering::Relaxed);
        return Err(Errno::EMFILE);
    }
    let g = Arc::new(Group {
        state: Mutex::new(GroupState::default()),
        queue: Queue::new(),
    });
    Ok(File::new(
        None,
        O_RDONLY | (flags & O_NONBLOCK),
        Box::new(InotifyFile(g)),
    ))
}

/// The instance behind a file, if it is one.
pub fn group_of(f: &File) -> Option<Arc<Group>> {
    f.ops
        .as_any()
        .and_then(|a| a.downcast_ref::<InotifyFile>())
        .map(|i| i.0.clone())
}

/// Queues `mask` to the watches of `inode` that want it. `name` is the
/// child's for a directory's watches; `unlinked`: the event is about an
/// open file whose name is gone (watches with `IN_EXCL_UNLINK` skip it).
fn deliver(inode: &Inode, mask: u32, cookie: u32, name: &[u8], unlinked: bool) {
    let n = &inode.notify;
    if n.mask.load(Ordering::Acquire) & mask & IN_ALL_EVENTS == 0 {
        return;
    }
    tell_listeners(inode, mask, cookie, name);
    let list = lock(&n.watches).clone();
    // Linux never reported IN_ISDIR with the two self events.
    let shown = if mask & (IN_MOVE_SELF | IN_DELETE_SELF) != 0 {
        mask & !IN_ISDIR
    } else {
        mask
    };
    for w in &list {
        let wm = w.mask.load(Ordering::Relaxed);
        if wm & mask & IN_ALL_EVENTS == 0 || (unlinked && wm & IN_EXCL_UNLINK != 0) {
            continue;
        }
        if let Some(g) = w.group.upgrade() {
            g.push(w.wd, shown, cookie, name);
            if wm & IN_ONESHOT != 0 {
                g.drop_watch(w);
            }
        }
    }
}

/// The inode's listeners that want `mask`; those that are done go.
fn tell_listeners(inode: &Inode, mask: u32, cookie: u32, name: &[u8]) {
    let n = &inode.notify;
    let list = lock(&n.listeners).clone();
    for l in &list {
        if l.mask() & mask & IN_ALL_EVENTS != 0 && !l.event(mask, cookie, name) {
            remove_listener(inode, l);
        }
    }
}

fn isdir(inode: &Inode) -> u32 {
    if inode.is_dir() {
        IN_ISDIR
    } else {
        0
    }
}

/// An event on the object `d`: to its directory's watches with its name,
/// then to its own. `path`: an event of an open file (open, read, write,
/// close), which `IN_EXCL_UNLINK` filters once the file is unlinked.
pub fn event(d: &Arc<Dentry>, mask: u32, path: bool) {
    if path && crate::fanotify::active() {
        crate::fanotify::event(d, mask);
    }
    if !active() {
        return;
    }
    let mask = mask | isdir(&d.inode);
    let unlinked = path && d.is_removed();
    if let Some(p) = d.parent() {
        deliver(&p.inode, mask, 0, &d.name(), unlinked);
    }
    deliver(&d.inode, mask, 0, &[], unlinked);
}

/// An event of the inode itself only (a changed link count).
pub fn inode_event(inode: &Inode, mask: u32) {
    if active() {
        deliver(inode, mask | isdir(inode), 0, &[], false);
    }
}

/// A directory event about its entry `name` (create, delete, moves).
pub fn dir_event(dir: &Inode, mask: u32, cookie: u32, name: &[u8], child: &Inode) {
    if active() {
        deliver(dir, mask | isdir(child), cookie, name, false);
    }
}

/// A fresh cookie for a rename's pair of events.
pub fn cookie() -> u32 {
    COOKIE.fetch_add(1, Ordering::Relaxed).wrapping_add(1)
}

/// `IN_DELETE_SELF` and the end of every watch, once the inode has no
/// name and no open file left.
pub fn maybe_gone(inode: &Inode) {
    if !active() || inode.notify.opens.load(Ordering::Acquire) != 0 {
        return;
    }
    if inode.meta().nlink != 0 {
        return;
    }
    deliver(inode, IN_DELETE_SELF, 0, &[], false);
    let list = std::mem::take(&mut *lock(&inode.notify.watches));
    let gone = std::mem::take(&mut *lock(&inode.notify.listeners)).len();
    LISTENERS.fetch_sub(gone, Ordering::Relaxed);
    inode.notify.mask.store(0, Ordering::Release);
    for w in &list {
        if let Some(g) = w.group.upgrade() {
            if lock(&g.state).watches.remove(&w.wd).is_some() {
                WATCHES.fetch_sub(1, Ordering::Relaxed);
                g.push(w.wd, IN_IGNORED, 0, &[]);
            }
        }
    }
}

/// A file description of `d` was made.
pub(crate) fn opened(d: &Dentry) {
    d.inode.notify.opens.fetch_add(1, Ordering::AcqRel);
}

/// The last reference to a file description of `d` went: its close
/// event, and the inode's end if that was its last trace.
pub(crate) fn closed(f: &File, d: &Arc<Dentry>) {
    let last = d.inode.notify.opens.fetch_sub(1, Ordering::AcqRel) == 1;
    if !(active() || crate::fanotify::active()) || f.flags() & O_PATH != 0 || f.nonotify() {
        return;
    }
    let acc = f.flags() & O_ACCMODE;
    let mask = if acc == O_WRONLY || acc == O_RDWR {
        IN_CLOSE_WRITE
    } else {
        IN_CLOSE_NOWRITE
    };
    event(d, mask, true);
    if last && d.is_removed() {
        maybe_gone(&d.inode);
    }
}

/// Read (`IN_ACCESS`) or write (`IN_MODIFY`) through an open file.
pub(crate) fn file_event(f: &File, mask: u32) {
    if (active() || crate::fanotify::active()) && !f.nonotify() {
        if let Some(d) = &f.dentry {
            event(d, mask, true);
        }
    }
}
