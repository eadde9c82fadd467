//! fanotify, notification class (`FAN_CLASS_NOTIF`): a group's marks on
//! an inode (and, with `FAN_EVENT_ON_CHILD`, a directory's children), a
//! mount or a file system see the open-file events (`FAN_OPEN`,
//! `FAN_ACCESS`, `FAN_MODIFY`, `FAN_CLOSE_WRITE`, `FAN_CLOSE_NOWRITE`)
//! the inotify hooks raise (their bits are inotify's); reading the group
//! gives `fanotify_event_metadata` records, each with a new descriptor for
//! the object, opened by the reader (the `syscalls` layer installs it).
//! Descriptors fanotify opens raise no events themselves (Linux's
//! `FMODE_NONOTIFY`). A mount mark covers the file system the mount shows
//! (a bind mount of part of one is not told apart). Not built: permission
//! events, FID/name reporting, ignore masks.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

use abi::fs::*;
use abi::{Errno, SysResult};
use mm::MemoryManager;
use waiter::{events, Queue};

use crate::dentry::Dentry;
use crate::file::{File, FileOps};
use crate::inode::{lock, Inode};

pub const FAN_ACCESS: u64 = 0x1;
pub const FAN_MODIFY: u64 = 0x2;
pub const FAN_CLOSE_WRITE: u64 = 0x8;
pub const FAN_CLOSE_NOWRITE: u64 = 0x10;
pub const FAN_OPEN: u64 = 0x20;
pub const FAN_Q_OVERFLOW: u64 = 0x4000;
pub const FAN_ONDIR: u64 = 0x4000_0000;
pub const FAN_EVENT_ON_CHILD: u64 = 0x0800_0000;
/// The events a notification-class group without FID reporting reports.
pub const FAN_PATH_EVENTS: u64 =
    FAN_ACCESS | FAN_MODIFY | FAN_CLOSE_WRITE | FAN_CLOSE_NOWRITE | FAN_OPEN;

/// Length of a `fanotify_event_metadata` record (no info records).
pub const METADATA_LEN: usize = 24;
const METADATA_VERSION: u8 = 3;
/// `FAN_NOFD`.
const NOFD: i32 = -1;
/// Linux's default queue depth (`FANOTIFY_DEFAULT_MAX_EVENTS`).
const MAX_EVENTS: usize = 16384;

/// What a mark is on.
#[derive(Clone)]
pub enum Target {
    Inode(Weak<Inode>),
    /// A mount or a file system: every inode of device `dev`.
    Dev(u64),
}

struct Mark {
    target: Target,
    /// `FAN_MARK_MOUNT` rather than `FAN_MARK_FILESYSTEM` (for removal).
    mount: bool,
    mask: u64,
}

pub struct Event {
    pub mask: u64,
    /// The object, `None` for `FAN_Q_OVERFLOW`.
    pub dentry: Option<Arc<Dentry>>,
    pub pid: i32,
}

#[derive(Default)]
struct State {
    marks: Vec<Mark>,
    events: VecDeque<Event>,
    overflowed: bool,
}

pub struct Group {
    /// `fanotify_init`'s `event_f_flags`: how event descriptors are opened.
    pub event_f_flags: u32,
    /// `FAN_UNLIMITED_QUEUE`.
    unlimited: bool,
    state: Mutex<State>,
    queue: Queue,
}

/// Groups with at least one mark, for the hooks (none: they return at once).
static MARKS: AtomicUsize = AtomicUsize::new(0);
static GROUPS: Mutex<Vec<Weak<Group>>> = Mutex::new(Vec::new());

thread_local! {
    /// The process the calling host thread serves (its global id), for
    /// an event's `pid`; set by the kernel.
    static CURRENT_PID: std::cell::Cell<i32> = const { std::cell::Cell::new(0) };
}

/// Records the process this host thread serves.
pub fn set_current_pid(pid: i32) {
    CURRENT_PID.with(|c| c.set(pid));
}

/// Groups open in the sandbox (`max_user_groups`).
pub fn live_groups() -> usize {
    lock(&GROUPS)
        .iter()
        .filter(|w| w.strong_count() > 0)
        .count()
}

/// Whether any mark exists (the hooks' fast path).
pub fn active() -> bool {
    MARKS.load(Ordering::Relaxed) != 0
}

impl Group {
    fn readiness(&self) -> u32 {
        if lock(&self.state).events.is_empty() {
            0
        } else {
            events::IN | events::RDNORM
        }
    }

    /// Adds `mask` to the mark on `target` (made if new); `EINVAL` for
    /// an empty mask.
    pub fn add_mark(&self, target: Target, mount: bool, mask: u64) -> SysResult<()> {
        let mut s = lock(&self.state);
        if let Some(m) = s
            .marks
            .iter_mut()
            .find(|m| same(&m.target, &target) && m.mount == mount)
        {
            m.mask |= mask;
            return Ok(());
        }
        s.marks.push(Mark {
            target,
            mount,
            mask,
        });
        MARKS.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Takes `mask` off the mark on `target`; `ENOENT` if there is none.
    pub fn remove_mark(&self, target: Target, mount: bool, mask: u64) -> SysResult<()> {
        let mut s = lock(&self.state);
        let i = s
            .marks
            .iter()
            .position(|m| same(&m.target, &target) && m.mount == mount)
            .ok_or(Errno::ENOENT)?;
        s.marks[i].mask &= !mask;
        if s.marks[i].mask & !(FAN_ONDIR | FAN_EVENT_ON_CHILD) == 0 {
            s.marks.remove(i);
            MARKS.fetch_sub(1, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Removes every mark of a kind (`FAN_MARK_FLUSH`): inode marks, or
    /// mount or file-system ones.
    pub fn flush(&self, kind_inode: bool, mount: bool) {
        let mut s = lock(&self.state);
        let before = s.marks.len();
        s.marks.retain(|m| match m.target {
            Target::Inode(_) => !kind_inode,
            Target::Dev(_) => kind_inode || m.mount != mount,
        });
        MARKS.fetch_sub(before - s.marks.len(), Ordering::Relaxed);
    }

    /// Takes the queued events that fit `room` bytes of records (at least
    /// one if any is queued and it fits).
    pub fn take(&self, room: usize) -> Vec<Event> {
        let mut s = lock(&self.state);
        let n = (room / METADATA_LEN).min(s.events.len());
        let out: Vec<Event> = s.events.drain(..n).collect();
        if out.iter().any(|e| e.mask == FAN_Q_OVERFLOW) {
            s.overflowed = false;
        }
        out
    }

    /// Whether an event is queued.
    pub fn has_events(&self) -> bool {
        !lock(&self.state).events.is_empty()
    }

    pub fn queue(&self) -> &Queue {
        &self.queue
    }

    /// The mask of `inode`'s event `mask` this group's marks want (the
    /// parent's for a child event), 0 for none.
    fn wants(&self, inode: &Arc<Inode>, parent: Option<&Arc<Inode>>, mask: u64) -> u64 {
        let s = lock(&self.state);
        let mut want = 0;
        let dir = inode.is_dir();
        for m in &s.marks {
            let hit = match &m.target {
                Target::Dev(dev) => *dev == inode.dev,
                Target::Inode(w) => match w.upgrade() {
                    Some(i) if Arc::ptr_eq(&i, inode) => true,
                    Some(i) => {
                        m.mask & FAN_EVENT_ON_CHILD != 0
                            && parent.is_some_and(|p| Arc::ptr_eq(p, &i))
                    }
                    None => false,
                },
            };
            if hit && (!dir || m.mask & FAN_ONDIR != 0) {
                want |= m.mask & mask;
            }
        }
        want & FAN_PATH_EVENTS
    }

    fn push(&self, ev: Event) {
        {
            let mut s = lock(&self.state);
            // Linux merges an event into the last one queued for the same
            // object by the same process.
            if let Some(last) = s.events.back_mut() {
                let same_obj = match (&last.dentry, &ev.dentry) {
                    (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                    _ => false,
                };
                if same_obj && last.pid == ev.pid && last.mask != FAN_Q_OVERFLOW {
                    last.mask |= ev.mask;
                    return;
                }
            }
            if !self.unlimited && s.events.len() >= MAX_EVENTS {
                if !s.overflowed {
                    s.overflowed = true;
                    s.events.push_back(Event {
                        mask: FAN_Q_OVERFLOW,
                        dentry: None,
                        pid: 0,
                    });
                }
                return;
            }
            s.events.push_back(ev);
        }
        self.queue.notify(events::IN);
    }
}

fn same(a: &Target, b: &Target) -> bool {
    match (a, b) {
        (Target::Dev(x), Target::Dev(y)) => x == y,
        (Target::Inode(x), Target::Inode(y)) => x.ptr_eq(y),
        _ => false,
    }
}

/// The hook: `mask` (inotify bits, which fanotify's equal) happened to an
/// open file of `d`.
pub(crate) fn event(d: &Arc<Dentry>, mask: u32) {
    let mask = mask as u64 & FAN_PATH_EVENTS;
    if mask == 0 {
        return;
    }
    let groups: Vec<Arc<Group>> = lock(&GROUPS).iter().filter_map(Weak::upgrade).collect();
    if groups.is_empty() {
        return;
    }
    let parent = d.parent().map(|p| p.inode.clone());
    let pid = CURRENT_PID.with(|c| c.get());
    for g in groups {
        let want = g.wants(&d.inode, parent.as_ref(), mask);
        // FAN_ONDIR selects directories but is not reported without FID
        // reporting (Linux's legacy mode).
        if want != 0 {
            g.push(Event {
                mask: want,
                dentry: Some(d.clone()),
                pid,
            });
        }
    }
}

/// The `fanotify_event_metadata` record of an event whose descriptor is
/// `fd` (`FAN_NOFD` for an overflow) and process `pid`.
pub fn metadata(mask: u64, fd: i32, pid: i32) -> [u8; METADATA_LEN] {
    let mut out = [0u8; METADATA_LEN];
    out[0..4].copy_from_slice(&(METADATA_LEN as u32).to_ne_bytes());
    out[4] = METADATA_VERSION;
    out[6..8].copy_from_slice(&(METADATA_LEN as u16).to_ne_bytes());
    out[8..16].copy_from_slice(&mask.to_ne_bytes());
    out[16..20].copy_from_slice(&fd.to_ne_bytes());
    out[20..24].copy_from_slice(&pid.to_ne_bytes());
    out
}

pub const NO_FD: i32 = NOFD;

struct FanotifyFile(Arc<Group>);

impl FileOps for FanotifyFile {
    /// Reads are served by the syscall layer (they install descriptors):
    /// one reaching here has nothing to give.
    fn read(&self, _f: &File, _buf: &mut [u8], _off: u64) -> SysResult<usize> {
        Err(Errno::EAGAIN)
    }

    fn write(&self, _f: &File, _buf: &[u8], _off: u64) -> SysResult<usize> {
        // Permission responses: no permission events are made.
        Err(Errno::EINVAL)
    }

    fn readiness(&self) -> u32 {
        self.0.readiness()
    }

    fn queue(&self) -> Option<&Queue> {
        Some(&self.0.queue)
    }

    fn ioctl(&self, _f: &File, cmd: u32, arg: u64, mm: &mut MemoryManager) -> SysResult<u64> {
        const FIONREAD: u32 = 0x541B;
        match cmd {
            FIONREAD => {
                let n = (lock(&self.0.state).events.len() * METADATA_LEN) as i32;
                mm.write_obj(arg, &n).map(|_| 0)
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    fn stat(&self, _f: &File) -> SysResult<Stat> {
        Ok(crate::epoll::anon_stat())
    }

    fn anon_name(&self) -> Option<Vec<u8>> {
        Some(b"anon_inode:[fanotify]".to_vec())
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

/// A new group (`fanotify_init`): `flags` are the file's status flags
/// (`O_NONBLOCK`), `event_f_flags` those of event descriptors.
pub fn new_file(flags: u32, event_f_flags: u32, unlimited: bool) -> Arc<File> {
    let g = Arc::new(Group {
        event_f_flags,
        unlimited,
        state: Mutex::new(State::default()),
        queue: Queue::new(),
    });
    {
        let mut all = lock(&GROUPS);
        all.retain(|w| w.strong_count() > 0);
        all.push(Arc::downgrade(&g));
    }
    File::new(
        None,
        O_RDONLY | (flags & O_NONBLOCK),
        Box::new(FanotifyFile(g)),
    )
}

/// The group behind a file, if it is one.
pub fn group_of(f: &File) -> Option<Arc<Group>> {
    f.ops
        .as_any()
        .and_then(|a| a.downcast_ref::<FanotifyFile>())
        .map(|i| i.0.clone())
}

impl Drop for Group {
    fn drop(&mut self) {
        let n = lock(&self.state).marks.len();
        MARKS.fetch_sub(n, Ordering::Relaxed);
    }
}
