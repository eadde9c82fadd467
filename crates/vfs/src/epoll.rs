//! epoll instances: interest lists over open files with level-triggered,
//! edge-triggered and one-shot reporting.
//!
//! An entry watches an open file description (held weakly, with the fd
//! number it was added under, which together are its key as on Linux) and
//! goes away when that description is released. Readiness comes from
//! [`FileOps::readiness`]. Edges come from a per-entry *sentinel* waiter
//! registered on the file's queue for as long as the entry exists: a file
//! notifying events of interest leaves the sentinel set, which puts the
//! entry on the ready list at the next look, as Linux's wake-up callback
//! does. Entries on the ready list are reported in list order; a reported
//! level-triggered entry goes back to the tail.
//!
//! Nothing here blocks. A waiter (`epoll_wait`) registers itself with
//! [`Epoll::watch`] on every watched queue, rechecks and sleeps. Waiters on
//! the epoll file's own queue (`poll` on an epoll fd, or another epoll) are
//! woken by `ctl` changes, by any look that sees a watched file notify, and,
//! while such waiters exist, by a forwarding thread (see
//! [`Epoll::ensure_forwarder`]).

use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use abi::fs::*;
use abi::{Errno, SysResult};
use waiter::{events, Queue, Registration, Waiter};

use crate::file::{File, FileOps};
use crate::inode::{lock, next_ino};

pub const EPOLLIN: u32 = 0x001;
pub const EPOLLPRI: u32 = 0x002;
pub const EPOLLOUT: u32 = 0x004;
pub const EPOLLERR: u32 = 0x008;
pub const EPOLLHUP: u32 = 0x010;
pub const EPOLLRDNORM: u32 = 0x040;
pub const EPOLLRDBAND: u32 = 0x080;
pub const EPOLLWRNORM: u32 = 0x100;
pub const EPOLLWRBAND: u32 = 0x200;
pub const EPOLLMSG: u32 = 0x400;
pub const EPOLLRDHUP: u32 = 0x2000;
pub const EPOLLEXCLUSIVE: u32 = 1 << 28;
pub const EPOLLWAKEUP: u32 = 1 << 29;
pub const EPOLLONESHOT: u32 = 1 << 30;
pub const EPOLLET: u32 = 1 << 31;

/// Flags that are not events.
const PRIVATE_BITS: u32 = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE;
/// What `EPOLLEXCLUSIVE` may be combined with.
const EXCLUSIVE_OK_BITS: u32 =
    EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE;

pub const EPOLL_CTL_ADD: i32 = 1;
pub const EPOLL_CTL_DEL: i32 = 2;
pub const EPOLL_CTL_MOD: i32 = 3;

/// Longest chain of epoll instances watching one another (Linux's
/// `EP_MAX_NESTS` + 1).
pub const MAX_CHAIN: usize = 5;

/// Size of `struct epoll_event` on x86-64 (packed: `u32` + `u64`).
pub const EVENT_SIZE: usize = 12;

/// `maxevents` limit of `epoll_wait`: `INT_MAX / sizeof(struct epoll_event)`.
pub const MAX_EVENTS: i64 = i32::MAX as i64 / EVENT_SIZE as i64;

/// How often waiters re-check files that cannot notify (host descriptors).
pub const HOST_POLL_INTERVAL: Duration = Duration::from_millis(10);

/// How long the forwarding thread sleeps between looks when nothing wakes
/// it, and how many idle looks it takes before it exits.
const FORWARD_INTERVAL: Duration = Duration::from_millis(100);
const FORWARD_IDLE_ROUNDS: u32 = 20;

/// A `struct epoll_event`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Event {
    pub events: u32,
    pub data: u64,
}

impl Event {
    pub fn from_bytes(b: &[u8; EVENT_SIZE]) -> Event {
        let mut ev = [0u8; 4];
        let mut data = [0u8; 8];
        ev.copy_from_slice(&b[..4]);
        data.copy_from_slice(&b[4..]);
        Event {
            events: u32::from_le_bytes(ev),
            data: u64::from_le_bytes(data),
        }
    }

    pub fn to_bytes(self) -> [u8; EVENT_SIZE] {
        let mut b = [0u8; EVENT_SIZE];
        b[..4].copy_from_slice(&self.events.to_le_bytes());
        b[4..].copy_from_slice(&self.data.to_le_bytes());
        b
    }
}

// ---------------------------------------------------------------------------
// Registrations that do not keep the file open
// ---------------------------------------------------------------------------

/// A waiter registered on an open file's queue without holding the file
/// open. Dropping it unregisters the waiter if the file is still open; if
/// the file has been released, the queue may be gone with it and the entry
/// is left alone (a queue that outlives its file, like a pipe's, keeps a
/// stale entry that only causes spurious wake-ups until it is dropped).
pub struct WeakRegistration {
    file: Weak<File>,
    /// Borrows the queue for `'static`; only dropped while `file` is alive.
    reg: MaybeUninit<Registration<'static>>,
}

impl WeakRegistration {
    /// Registers `waiter` for `mask` on `file`'s queue; `None` for files
    /// without a queue.
    pub fn new(file: &Arc<File>, waiter: &Arc<Waiter>, mask: u32) -> Option<WeakRegistration> {
        let reg = file.ops.queue()?.register(waiter, mask);
        // SAFETY: only the lifetime changes. `FileOps::queue` lends a queue
        // borrowed from the file's operations object, which lives (boxed,
        // never moved) exactly as long as the `File`; the registration is
        // dropped (touching the queue) only after upgrading `file`, i.e.
        // while the queue is still alive, and is otherwise never used.
        let reg: Registration<'static> = unsafe { std::mem::transmute(reg) };
        Some(WeakRegistration {
            file: Arc::downgrade(file),
            reg: MaybeUninit::new(reg),
        })
    }
}

impl Drop for WeakRegistration {
    fn drop(&mut self) {
        if let Some(f) = self.file.upgrade() {
            // SAFETY: `reg` was initialised in `new` and is dropped only
            // here; the file is alive (we hold it), so the queue is too.
            unsafe { self.reg.assume_init_drop() };
            drop(f);
        }
    }
}

/// Serialises adding epoll instances to epoll instances, so that two
/// concurrent adds cannot build a loop.
static TOPOLOGY: Mutex<()> = Mutex::new(());

/// The epoll instance behind `f`, if it is an epoll file.
pub fn from_file(f: &File) -> Option<Arc<Epoll>> {
    f.ops
        .as_any()
        .and_then(|x| x.downcast_ref::<EpollFile>())
        .map(|e| e.ep.clone())
}

/// The inode number all anonymous-inode files share (as on Linux, where
/// eventfd, epoll, timerfd ... files share one inode).
pub(crate) fn anon_ino() -> u64 {
    static INO: OnceLock<u64> = OnceLock::new();
    *INO.get_or_init(next_ino)
}

/// Device number of the anonymous-inode filesystem.
pub(crate) const DEV_ANON: u64 = 0x0d;

/// `fstat` of an anonymous-inode file.
pub(crate) fn anon_stat() -> Stat {
    Stat {
        dev: DEV_ANON,
        ino: anon_ino(),
        nlink: 1,
        mode: 0o600,
        blksize: 4096,
        ..Default::default()
    }
}

/// Whether `f` may be watched by epoll (`EPERM` otherwise): files that can
/// notify, and passed-through host descriptors that are not regular files,
/// directories or memory devices (`/dev/null` ...), which Linux cannot poll.
pub fn pollable(f: &File) -> bool {
    if f.ops.queue().is_some() {
        return true;
    }
    if f.ops.host_fd().is_none() {
        return false;
    }
    match f.stat() {
        Ok(st) => {
            let kind = st.mode & S_IFMT;
            let mem_dev = kind == S_IFCHR && crate::dev::makedev(1, 0) == st.rdev & !0xff;
            kind != S_IFREG && kind != S_IFDIR && !mem_dev
        }
        Err(_) => false,
    }
}

// ---------------------------------------------------------------------------
// The epoll instance
// ---------------------------------------------------------------------------

struct Entry {
    file: Weak<File>,
    fd: i32,
    /// Requested events, with `EPOLLERR | EPOLLHUP` and the flag bits; only
    /// the flag bits are left once a one-shot entry has fired.
    events: u32,
    data: u64,
    /// Set by the file's queue when it notifies events of interest.
    sentinel: Arc<Waiter>,
    link: Option<WeakRegistration>,
    /// Position on the ready list, if the entry is on it.
    ready: Option<u64>,
    /// The epoll instance behind the file, if it is one.
    nested: Option<Weak<Epoll>>,
}

impl Entry {
    fn interest(&self) -> u32 {
        self.events & !PRIVATE_BITS
    }

    fn is(&self, file: &Arc<File>, fd: i32) -> bool {
        self.fd == fd && std::ptr::eq(self.file.as_ptr(), Arc::as_ptr(file))
    }

    /// Edge-triggered reporting needs notifications: files without a queue
    /// are reported by level.
    fn edge(&self) -> bool {
        self.events & EPOLLET != 0 && self.link.is_some()
    }
}

#[derive(Default)]
struct Inner {
    entries: Vec<Entry>,
    next_seq: u64,
}

impl Inner {
    fn seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    fn find(&self, file: &Arc<File>, fd: i32) -> Option<usize> {
        self.entries.iter().position(|e| e.is(file, fd))
    }
}

/// What one look at the interest list found.
#[derive(Default)]
struct Look {
    /// `(entry index, revents)` of reportable entries in ready-list order.
    ready: Vec<(usize, u32)>,
    /// A watched file notified: waiters on this instance's queue (parent
    /// epolls, pollers) should look too.
    propagate: bool,
    /// Strong references taken while looking, dropped after unlocking.
    files: Vec<Arc<File>>,
    /// Entries whose files are gone, dropped after unlocking.
    _dead: Vec<Entry>,
}

/// One reported event, with what is needed to put it back if it cannot be
/// delivered.
pub struct Delivery {
    pub event: Event,
    file: Weak<File>,
    fd: i32,
    events: u32,
    ready: Option<u64>,
}

pub struct Epoll {
    inner: Mutex<Inner>,
    queue: Queue,
    /// Instances this one has been added to, for the nesting limit.
    parents: Mutex<Vec<Weak<Epoll>>>,
    /// Whether a forwarding thread is running.
    forwarding: AtomicBool,
}

impl Epoll {
    pub fn new() -> Arc<Epoll> {
        Arc::new(Epoll {
            inner: Mutex::new(Inner::default()),
            queue: Queue::new(),
            parents: Mutex::new(Vec::new()),
            forwarding: AtomicBool::new(false),
        })
    }

    /// The file of the `nth` registration of descriptor number `fd` (one
    /// number may be registered with several files, after `dup`/`close`),
    /// for `kcmp(KCMP_EPOLL_TFD)`.
    pub fn target(&self, fd: i32, nth: usize) -> Option<Arc<File>> {
        lock(&self.inner)
            .entries
            .iter()
            .filter(|e| e.fd == fd)
            .nth(nth)
            .and_then(|e| e.file.upgrade())
    }

    /// The queue notified when this instance may have become ready.
    pub fn queue(&self) -> &Queue {
        &self.queue
    }

    /// `epoll_ctl` once the descriptors have been checked: `file` is
    /// pollable and not this instance's own file. `ev` is ignored for
    /// `EPOLL_CTL_DEL`.
    pub fn ctl(self: &Arc<Self>, op: i32, fd: i32, file: &Arc<File>, ev: Event) -> SysResult<()> {
        // EPOLLWAKEUP needs CAP_BLOCK_SUSPEND and has no effect here.
        let events = (ev.events & !EPOLLWAKEUP) | EPOLLERR | EPOLLHUP;
        let nested = from_file(file);
        if op != EPOLL_CTL_DEL && ev.events & EPOLLEXCLUSIVE != 0 {
            if op == EPOLL_CTL_MOD {
                return Err(Errno::EINVAL);
            }
            if op == EPOLL_CTL_ADD && (nested.is_some() || ev.events & !EXCLUSIVE_OK_BITS != 0) {
                return Err(Errno::EINVAL);
            }
        }
        let _topology = match (&nested, op) {
            (Some(n), EPOLL_CTL_ADD) => {
                let g = lock(&TOPOLOGY);
                self.check_nesting(n)?;
                Some(g)
            }
            _ => None,
        };
        let mut dropped_entry = None;
        let mut dropped_link = None;
        let mut wake = false;
        let mut inner = lock(&self.inner);
        let idx = inner.find(file, fd);
        match op {
            EPOLL_CTL_ADD => {
                if idx.is_some() {
                    return Err(Errno::EEXIST);
                }
                let sentinel = Arc::new(Waiter::new());
                let link = WeakRegistration::new(file, &sentinel, events & !PRIVATE_BITS);
                let mut e = Entry {
                    file: Arc::downgrade(file),
                    fd,
                    events,
                    data: ev.data,
                    sentinel,
                    link,
                    ready: None,
                    nested: nested.as_ref().map(Arc::downgrade),
                };
                if level_of(file, &e, 0) & e.interest() != 0 {
                    e.ready = Some(inner.seq());
                    wake = true;
                }
                inner.entries.push(e);
                if let Some(n) = &nested {
                    lock(&n.parents).push(Arc::downgrade(self));
                }
            }
            EPOLL_CTL_DEL => {
                let i = idx.ok_or(Errno::ENOENT)?;
                dropped_entry = Some(inner.entries.remove(i));
            }
            EPOLL_CTL_MOD => {
                let i = idx.ok_or(Errno::ENOENT)?;
                if inner.entries[i].events & EPOLLEXCLUSIVE != 0 {
                    return Err(Errno::EINVAL);
                }
                let e = &mut inner.entries[i];
                e.events = events;
                e.data = ev.data;
                // Re-register for the new mask (the old registration is
                // dropped after unlocking); pending notifications stay.
                let link = WeakRegistration::new(file, &e.sentinel, events & !PRIVATE_BITS);
                dropped_link = std::mem::replace(&mut e.link, link);
                let ready = level_of(file, e, 0) & e.interest() != 0;
                if ready && e.ready.is_none() {
                    let s = inner.seq();
                    inner.entries[i].ready = Some(s);
                }
                wake = ready;
            }
            _ => return Err(Errno::EINVAL),
        }
        drop(inner);
        drop(dropped_entry);
        drop(dropped_link);
        if wake {
            self.queue.notify(events::IN | events::RDNORM);
        }
        Ok(())
    }

    /// `ELOOP` if adding `target` to this instance would make a loop or a
    /// chain of more than [`MAX_CHAIN`] instances.
    fn check_nesting(self: &Arc<Self>, target: &Arc<Epoll>) -> SysResult<()> {
        let down = target.depth_below(self, 1).ok_or(Errno::ELOOP)?;
        let up = self.depth_above(1);
        if down + up > MAX_CHAIN {
            return Err(Errno::ELOOP);
        }
        Ok(())
    }

    /// The epoll instances this one watches (through live files).
    fn children(&self) -> Vec<Arc<Epoll>> {
        let inner = lock(&self.inner);
        inner
            .entries
            .iter()
            .filter(|e| e.file.strong_count() > 0)
            .filter_map(|e| e.nested.as_ref().and_then(Weak::upgrade))
            .collect()
    }

    /// Length of the longest chain from this instance down, counting it;
    /// `None` if `avoid` is reachable (a loop) or the chain is too long to
    /// matter.
    fn depth_below(&self, avoid: &Epoll, level: usize) -> Option<usize> {
        if std::ptr::eq(self, avoid) || level > MAX_CHAIN {
            return None;
        }
        let mut d = 1;
        for c in self.children() {
            d = d.max(1 + c.depth_below(avoid, level + 1)?);
        }
        Some(d)
    }

    /// Length of the longest chain from this instance up, counting it.
    fn depth_above(self: &Arc<Self>, level: usize) -> usize {
        if level > MAX_CHAIN {
            return level;
        }
        let parents: Vec<Arc<Epoll>> = {
            let mut ps = lock(&self.parents);
            ps.retain(|p| p.strong_count() > 0);
            ps.iter().filter_map(Weak::upgrade).collect()
        };
        let mut d = 1;
        for p in parents {
            if p.children().iter().any(|c| Arc::ptr_eq(c, self)) {
                d = d.max(1 + p.depth_above(level + 1));
            }
        }
        d
    }

    /// Looks at every entry (see [`Look`]). `depth` counts nesting levels
    /// above this instance.
    fn look(&self, inner: &mut Inner, depth: usize) -> Look {
        let mut look = Look {
            _dead: inner
                .entries
                .extract_if(.., |e| e.file.strong_count() == 0)
                .collect(),
            ..Default::default()
        };
        let past = Instant::now();
        let mut ready = Vec::new();
        for i in 0..inner.entries.len() {
            let Some(f) = inner.entries[i].file.upgrade() else {
                continue;
            };
            let e = &inner.entries[i];
            let interest = e.interest();
            let edge = e.edge();
            // The sentinel is tested before and after reading the level: a
            // notification after the level was read is kept for next time.
            let before = e.sentinel.wait(Some(past));
            let level = if interest == 0 {
                0
            } else {
                level_of(&f, e, depth) & interest
            };
            let after = e.sentinel.wait(Some(past));
            look.files.push(f);
            if interest == 0 {
                // A one-shot entry that fired: ignored until re-armed.
                inner.entries[i].ready = None;
                continue;
            }
            look.propagate |= before || after;
            let listed = before || after || (level != 0 && !edge);
            if listed && inner.entries[i].ready.is_none() {
                let s = inner.seq();
                inner.entries[i].ready = Some(s);
            }
            if level == 0 && !after {
                inner.entries[i].ready = None;
            }
            if let (Some(s), true) = (inner.entries[i].ready, level != 0) {
                ready.push((s, i, level));
            }
        }
        ready.sort_unstable();
        look.ready = ready.into_iter().map(|(_, i, l)| (i, l)).collect();
        look
    }

    /// Whether a wait would report something now. Does not consume edges.
    pub fn has_ready(&self) -> bool {
        self.has_ready_at(0)
    }

    fn has_ready_at(&self, depth: usize) -> bool {
        let look = {
            let mut inner = lock(&self.inner);
            self.look(&mut inner, depth)
        };
        if look.propagate {
            self.queue.notify(events::IN | events::RDNORM);
        }
        !look.ready.is_empty()
    }

    /// Takes up to `max` events off the ready list, as one `epoll_wait`
    /// reports them. Edge-triggered entries leave the list, one-shot
    /// entries are disabled, level-triggered entries go to the tail.
    pub fn collect(&self, max: usize) -> Vec<Delivery> {
        let mut out = Vec::new();
        let look = {
            let mut inner = lock(&self.inner);
            let look = self.look(&mut inner, 0);
            for &(i, revents) in look.ready.iter().take(max) {
                let seq = inner.seq();
                let e = &mut inner.entries[i];
                out.push(Delivery {
                    event: Event {
                        events: revents,
                        data: e.data,
                    },
                    file: e.file.clone(),
                    fd: e.fd,
                    events: e.events,
                    ready: e.ready,
                });
                if e.events & EPOLLONESHOT != 0 {
                    e.events &= PRIVATE_BITS;
                    e.ready = None;
                } else if e.edge() {
                    e.ready = None;
                } else {
                    e.ready = Some(seq);
                }
            }
            look
        };
        if look.propagate {
            self.queue.notify(events::IN | events::RDNORM);
        }
        out
    }

    /// Puts back events that [`Epoll::collect`] took but that could not be
    /// delivered (a fault copying them out), as if never taken.
    pub fn uncollect(&self, items: &[Delivery]) {
        let mut inner = lock(&self.inner);
        for d in items {
            let Some(f) = d.file.upgrade() else { continue };
            if let Some(i) = inner.find(&f, d.fd) {
                let e = &mut inner.entries[i];
                e.events = d.events;
                e.ready = d.ready;
            }
        }
    }

    /// Registers `waiter` on the queue of every watched file (and, through
    /// nested epoll instances, of the files they watch) for the events of
    /// interest. Returns whether some watched file cannot notify and must
    /// be re-checked every [`HOST_POLL_INTERVAL`].
    pub fn watch(&self, waiter: &Arc<Waiter>, regs: &mut Vec<WeakRegistration>) -> bool {
        self.watch_at(waiter, regs, 0)
    }

    fn watch_at(
        &self,
        waiter: &Arc<Waiter>,
        regs: &mut Vec<WeakRegistration>,
        depth: usize,
    ) -> bool {
        let watched: Vec<(Arc<File>, u32, Option<Arc<Epoll>>)> = {
            let inner = lock(&self.inner);
            inner
                .entries
                .iter()
                .filter(|e| e.interest() != 0)
                .filter_map(|e| {
                    let f = e.file.upgrade()?;
                    Some((f, e.interest(), e.nested.as_ref().and_then(Weak::upgrade)))
                })
                .collect()
        };
        let mut host = false;
        for (f, mask, nested) in watched {
            if let (Some(n), true) = (nested, depth < MAX_CHAIN) {
                host |= n.watch_at(waiter, regs, depth + 1);
            }
            match WeakRegistration::new(&f, waiter, mask) {
                Some(r) => regs.push(r),
                None => host |= f.ops.host_fd().is_some(),
            }
        }
        host
    }

    /// Number of entries (for tests and `/proc` fdinfo).
    pub fn len(&self) -> usize {
        let mut inner = lock(&self.inner);
        let dead: Vec<Entry> = inner
            .entries
            .extract_if(.., |e| e.file.strong_count() == 0)
            .collect();
        let n = inner.entries.len();
        drop(inner);
        drop(dead);
        n
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Starts the thread that wakes waiters on this instance's own queue
    /// when a watched file becomes ready, unless one is running. Waiters
    /// that only know the epoll file (`poll` on an epoll fd) depend on it:
    /// nothing else looks at the watched files while they sleep. It exits
    /// once nobody has waited on the queue for a while.
    pub fn ensure_forwarder(self: &Arc<Self>) {
        if self.forwarding.swap(true, Ordering::SeqCst) {
            return;
        }
        let weak = Arc::downgrade(self);
        let spawned = std::thread::Builder::new()
            .name("epoll-forward".into())
            .spawn(move || forward(weak));
        if spawned.is_err() {
            self.forwarding.store(false, Ordering::SeqCst);
        }
    }
}

/// The forwarding thread (see [`Epoll::ensure_forwarder`]).
fn forward(weak: Weak<Epoll>) {
    let hub = Arc::new(Waiter::new());
    let mut idle = 0;
    loop {
        let Some(ep) = weak.upgrade() else { return };
        if ep.queue.is_empty() {
            idle += 1;
            if idle > FORWARD_IDLE_ROUNDS {
                ep.forwarding.store(false, Ordering::SeqCst);
                // A waiter that registered after the emptiness check saw
                // `forwarding` still set; keep going for it unless another
                // thread has taken over.
                if ep.queue.is_empty() || ep.forwarding.swap(true, Ordering::SeqCst) {
                    return;
                }
                idle = 0;
            }
        } else {
            idle = 0;
        }
        let mut regs = Vec::new();
        let host = ep.watch(&hub, &mut regs);
        // A look wakes the queue's waiters when it sees a watched file
        // notify; files that cannot notify are only seen by their level.
        if ep.has_ready() && host {
            ep.queue.notify(events::IN | events::RDNORM);
        }
        drop(ep);
        let interval = if host {
            HOST_POLL_INTERVAL
        } else {
            FORWARD_INTERVAL
        };
        hub.wait(Some(Instant::now() + interval));
        drop(regs);
    }
}

/// Current readiness of an entry's file; a nested epoll instance is ready
/// (`EPOLLIN`) when it would report something.
fn level_of(f: &File, e: &Entry, depth: usize) -> u32 {
    match e.nested.as_ref().and_then(Weak::upgrade) {
        Some(n) => {
            if depth < MAX_CHAIN && n.has_ready_at(depth + 1) {
                EPOLLIN | EPOLLRDNORM
            } else {
                0
            }
        }
        None => f.ops.readiness(),
    }
}

// ---------------------------------------------------------------------------
// The epoll file
// ---------------------------------------------------------------------------

struct EpollFile {
    ep: Arc<Epoll>,
}

impl FileOps for EpollFile {
    fn stat(&self, _f: &File) -> SysResult<Stat> {
        Ok(anon_stat())
    }

    fn readiness(&self) -> u32 {
        if self.ep.has_ready() {
            events::IN | events::RDNORM
        } else {
            // Someone may be about to sleep on our queue.
            self.ep.ensure_forwarder();
            0
        }
    }

    fn queue(&self) -> Option<&Queue> {
        Some(&self.ep.queue)
    }

    fn anon_name(&self) -> Option<Vec<u8>> {
        Some(b"anon_inode:[eventpoll]".to_vec())
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

/// A new epoll file (`epoll_create1`); `flags` are file status flags.
pub fn new_file(flags: u32) -> (Arc<File>, Arc<Epoll>) {
    let ep = Epoll::new();
    let file = File::new(
        None,
        O_RDWR | (flags & O_NONBLOCK),
        Box::new(EpollFile { ep: ep.clone() }),
    );
    (file, ep)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eventfd;
    use crate::pipe::Pipe;

    fn pipe() -> (Arc<File>, Arc<File>) {
        let p = Pipe::new();
        (
            File::new(None, O_RDONLY, Box::new(p.open_end(true, false))),
            File::new(None, O_WRONLY, Box::new(p.open_end(false, true))),
        )
    }

    fn ev(events: u32, data: u64) -> Event {
        Event { events, data }
    }

    fn wait(ep: &Epoll, max: usize) -> Vec<(u32, u64)> {
        ep.collect(max)
            .iter()
            .map(|d| (d.event.events, d.event.data))
            .collect()
    }

    #[test]
    fn event_layout_is_packed() {
        let e = ev(0x11, 0x0102_0304_0506_0708);
        let b = e.to_bytes();
        assert_eq!(b, [0x11, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1]);
        assert_eq!(Event::from_bytes(&b), e);
    }

    #[test]
    fn level_triggered_pipe() {
        let (r, w) = pipe();
        let (_f, ep) = new_file(0);
        ep.ctl(EPOLL_CTL_ADD, 3, &r, ev(EPOLLIN, 7)).unwrap();
        assert_eq!(
            ep.ctl(EPOLL_CTL_ADD, 3, &r, ev(EPOLLIN, 7)),
            Err(Errno::EEXIST)
        );
        assert!(wait(&ep, 4).is_empty());
        w.write(b"ab").unwrap();
        assert_eq!(wait(&ep, 4), vec![(EPOLLIN, 7)]);
        assert_eq!(wait(&ep, 4), vec![(EPOLLIN, 7)]);
        let mut buf = [0u8; 8];
        r.read(&mut buf).unwrap();
        assert!(wait(&ep, 4).is_empty());
        drop(w);
        assert_eq!(wait(&ep, 4), vec![(EPOLLHUP, 7)]);
        ep.ctl(EPOLL_CTL_DEL, 3, &r, Event::default()).unwrap();
        assert_eq!(
            ep.ctl(EPOLL_CTL_DEL, 3, &r, Event::default()),
            Err(Errno::ENOENT)
        );
        assert_eq!(
            ep.ctl(EPOLL_CTL_MOD, 3, &r, ev(EPOLLIN, 1)),
            Err(Errno::ENOENT)
        );
        assert_eq!(ep.ctl(9, 3, &r, ev(EPOLLIN, 1)), Err(Errno::EINVAL));
    }

    #[test]
    fn edge_triggered_reports_each_new_arrival_once() {
        let (r, w) = pipe();
        let (_f, ep) = new_file(0);
        ep.ctl(EPOLL_CTL_ADD, 3, &r, ev(EPOLLIN | EPOLLET, 1))
            .unwrap();
        assert!(wait(&ep, 4).is_empty());
        w.write(b"ab").unwrap();
        assert_eq!(wait(&ep, 4), vec![(EPOLLIN, 1)]);
        assert!(wait(&ep, 4).is_empty(), "no new edge");
        w.write(b"c").unwrap();
        assert_eq!(wait(&ep, 4), vec![(EPOLLIN, 1)], "new data is a new edge");
        let mut buf = [0u8; 1];
        r.read(&mut buf).unwrap();
        assert!(wait(&ep, 4).is_empty(), "a read is not an input edge");
        // Drained and refilled between two waits: still an edge.
        let mut big = [0u8; 8];
        r.read(&mut big).unwrap();
        w.write(b"d").unwrap();
        assert_eq!(wait(&ep, 4), vec![(EPOLLIN, 1)]);
        // MOD re-arms a ready entry.
        ep.ctl(EPOLL_CTL_MOD, 3, &r, ev(EPOLLIN | EPOLLET, 2))
            .unwrap();
        assert_eq!(wait(&ep, 4), vec![(EPOLLIN, 2)]);
        assert!(wait(&ep, 4).is_empty());
    }

    #[test]
    fn oneshot_disables_until_mod() {
        let (r, w) = pipe();
        let (_f, ep) = new_file(0);
        ep.ctl(EPOLL_CTL_ADD, 3, &r, ev(EPOLLIN | EPOLLONESHOT, 5))
            .unwrap();
        w.write(b"x").unwrap();
        assert_eq!(wait(&ep, 4), vec![(EPOLLIN, 5)]);
        assert!(wait(&ep, 4).is_empty());
        drop(w);
        assert!(wait(&ep, 4).is_empty(), "disabled even for HUP");
        ep.ctl(EPOLL_CTL_MOD, 3, &r, ev(EPOLLIN | EPOLLONESHOT, 6))
            .unwrap();
        assert_eq!(wait(&ep, 4), vec![(EPOLLIN | EPOLLHUP, 6)]);
    }

    #[test]
    fn level_triggered_round_robin_and_maxevents() {
        let (r1, w1) = pipe();
        let (r2, w2) = pipe();
        let (_f, ep) = new_file(0);
        ep.ctl(EPOLL_CTL_ADD, 3, &r1, ev(EPOLLIN, 1)).unwrap();
        ep.ctl(EPOLL_CTL_ADD, 5, &r2, ev(EPOLLIN, 2)).unwrap();
        w1.write(b"x").unwrap();
        w2.write(b"x").unwrap();
        assert_eq!(wait(&ep, 1), vec![(EPOLLIN, 1)]);
        assert_eq!(wait(&ep, 1), vec![(EPOLLIN, 2)]);
        assert_eq!(wait(&ep, 1), vec![(EPOLLIN, 1)]);
        assert_eq!(wait(&ep, 4), vec![(EPOLLIN, 2), (EPOLLIN, 1)]);
    }

    #[test]
    fn uncollect_puts_events_back() {
        let (r, w) = pipe();
        let (_f, ep) = new_file(0);
        ep.ctl(EPOLL_CTL_ADD, 3, &r, ev(EPOLLIN | EPOLLONESHOT, 5))
            .unwrap();
        w.write(b"x").unwrap();
        let d = ep.collect(4);
        assert_eq!(d.len(), 1);
        ep.uncollect(&d);
        assert_eq!(wait(&ep, 4), vec![(EPOLLIN, 5)]);
    }

    #[test]
    fn entries_go_away_with_the_file() {
        let (r, w) = pipe();
        let (_f, ep) = new_file(0);
        ep.ctl(EPOLL_CTL_ADD, 3, &r, ev(EPOLLIN, 1)).unwrap();
        ep.ctl(EPOLL_CTL_ADD, 4, &w, ev(EPOLLOUT, 2)).unwrap();
        assert_eq!(ep.len(), 2);
        // A second descriptor for the same file is a different key.
        ep.ctl(EPOLL_CTL_ADD, 5, &r, ev(EPOLLIN, 3)).unwrap();
        assert_eq!(ep.len(), 3);
        drop(w);
        assert_eq!(ep.len(), 2);
        drop(r);
        assert!(ep.is_empty());
        assert!(wait(&ep, 4).is_empty());
    }

    #[test]
    fn nested_epoll_and_loops() {
        let (r, w) = pipe();
        let (inner_f, inner) = new_file(0);
        let (outer_f, outer) = new_file(0);
        assert!(Arc::ptr_eq(&from_file(&inner_f).unwrap(), &inner));
        assert!(from_file(&r).is_none());
        inner.ctl(EPOLL_CTL_ADD, 3, &r, ev(EPOLLIN, 1)).unwrap();
        outer
            .ctl(EPOLL_CTL_ADD, 4, &inner_f, ev(EPOLLIN | EPOLLET, 9))
            .unwrap();
        assert_eq!(
            inner.ctl(EPOLL_CTL_ADD, 5, &outer_f, ev(EPOLLIN, 0)),
            Err(Errno::ELOOP)
        );
        assert!(wait(&outer, 4).is_empty());
        assert_eq!(inner_f.ops.readiness(), 0);
        w.write(b"x").unwrap();
        assert_eq!(inner_f.ops.readiness(), events::IN | events::RDNORM);
        assert_eq!(wait(&outer, 4), vec![(EPOLLIN, 9)]);
        assert!(
            wait(&outer, 4).is_empty(),
            "edge-triggered on the inner instance"
        );
        w.write(b"y").unwrap();
        assert_eq!(wait(&outer, 4), vec![(EPOLLIN, 9)]);
        assert_eq!(wait(&inner, 4), vec![(EPOLLIN, 1)]);
    }

    #[test]
    fn chain_limit() {
        let eps: Vec<(Arc<File>, Arc<Epoll>)> = (0..7).map(|_| new_file(0)).collect();
        // eps[i] watches eps[i + 1]; the fifth link makes a chain of six.
        for i in (0..6).rev() {
            let r = eps[i]
                .1
                .ctl(EPOLL_CTL_ADD, 3, &eps[i + 1].0, ev(EPOLLIN, 0));
            if i == 1 {
                assert_eq!(r, Err(Errno::ELOOP), "link {i}");
            } else {
                assert_eq!(r, Ok(()), "link {i}");
            }
        }
    }

    #[test]
    fn exclusive_rules() {
        let (r, _w) = pipe();
        let (inner_f, _inner) = new_file(0);
        let (_f, ep) = new_file(0);
        let x = EPOLLIN | EPOLLEXCLUSIVE;
        assert_eq!(
            ep.ctl(EPOLL_CTL_ADD, 4, &inner_f, ev(x, 0)),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            ep.ctl(EPOLL_CTL_ADD, 3, &r, ev(x | EPOLLRDHUP, 0)),
            Err(Errno::EINVAL)
        );
        ep.ctl(EPOLL_CTL_ADD, 3, &r, ev(x, 0)).unwrap();
        assert_eq!(
            ep.ctl(EPOLL_CTL_MOD, 3, &r, ev(EPOLLIN, 0)),
            Err(Errno::EINVAL)
        );
        assert_eq!(ep.ctl(EPOLL_CTL_MOD, 3, &r, ev(x, 0)), Err(Errno::EINVAL));
    }

    #[test]
    fn watch_wakes_a_waiter() {
        let (r, w) = pipe();
        let (_f, ep) = new_file(0);
        ep.ctl(EPOLL_CTL_ADD, 3, &r, ev(EPOLLIN, 1)).unwrap();
        let waiter = Arc::new(Waiter::new());
        let mut regs = Vec::new();
        assert!(!ep.watch(&waiter, &mut regs));
        assert_eq!(regs.len(), 1);
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            w.write(b"x").unwrap();
            w
        });
        assert!(waiter.wait(Some(Instant::now() + Duration::from_secs(10))));
        drop(regs);
        assert_eq!(wait(&ep, 4), vec![(EPOLLIN, 1)]);
        drop(t.join().unwrap());
    }

    #[test]
    fn weak_registration_outliving_its_file() {
        let (r, w) = pipe();
        let waiter = Arc::new(Waiter::new());
        let reg = WeakRegistration::new(&r, &waiter, events::ALL).unwrap();
        drop(r);
        drop(w);
        drop(reg);
        let e = eventfd::new_file(0, false, 0);
        let reg = WeakRegistration::new(&e, &waiter, events::ALL).unwrap();
        drop(e);
        drop(reg);
    }

    #[test]
    fn forwarder_wakes_pollers_of_the_epoll_file() {
        let (r, w) = pipe();
        let (f, ep) = new_file(0);
        ep.ctl(EPOLL_CTL_ADD, 3, &r, ev(EPOLLIN, 1)).unwrap();
        let waiter = Arc::new(Waiter::new());
        // What poll() does: check, register on the file's queue, recheck.
        assert_eq!(f.ops.readiness(), 0);
        let reg = f.ops.queue().unwrap().register(&waiter, events::ALL);
        assert_eq!(f.ops.readiness(), 0);
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            w.write(b"x").unwrap();
            w
        });
        assert!(waiter.wait(Some(Instant::now() + Duration::from_secs(10))));
        drop(reg);
        assert_eq!(f.ops.readiness(), events::IN | events::RDNORM);
        drop(t.join().unwrap());
    }

    #[test]
    fn anon_files() {
        let (f, _ep) = new_file(0);
        assert_eq!(f.display_path(), b"anon_inode:[eventpoll]".to_vec());
        let st = f.stat().unwrap();
        assert_eq!(st.mode, 0o600);
        assert!(pollable(&f));
        let mut buf = [0u8; 4];
        assert_eq!(f.read(&mut buf), Err(Errno::EINVAL));
    }
}
