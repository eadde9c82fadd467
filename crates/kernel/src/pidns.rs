//! Pid namespaces.
//!
//! Every task and process keeps one id for its whole life, its number in
//! the sandbox's first pid namespace (the *global* id: the key of
//! [`crate::PidTable`], what `ThreadGroup::pid` and `TaskShared::tid`
//! hold, what process groups and sessions are recorded as). A process made
//! in a nested namespace also gets a number in that namespace and in every
//! one between it and the first, as Linux's `struct pid` has one `upid` per
//! level. Those numbers live in the nested namespaces' own tables; the
//! first namespace needs none (its number is the global id), so a process
//! that never met a pid namespace pays nothing.
//!
//! Ids cross the user boundary through [`PidNs::local`] (global id -> the
//! number a process in this namespace sees, `None` when it cannot see it)
//! and [`PidNs::global`] (the other way).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use abi::{Errno, SysResult};

use crate::ns::UserNs;
use crate::task::lock;

/// Linux's `MAX_PID_NS_LEVEL`.
pub const MAX_LEVEL: u32 = 32;

/// The largest pid (`/proc/sys/kernel/pid_max`).
pub const PID_MAX: i32 = 4_194_304;

#[derive(Default)]
struct Inner {
    /// The number handed out last (`ns_last_pid`).
    last: i32,
    to_global: BTreeMap<i32, i32>,
    to_local: HashMap<i32, i32>,
    /// Its init has exited: nothing may enter any more (`ENOMEM`).
    dead: bool,
    /// `reboot(2)` called inside: the signal init's death is reported with.
    reboot: i32,
    /// Its init was made.
    born: bool,
}

pub struct PidNs {
    pub ino: u64,
    pub parent: Option<Arc<PidNs>>,
    pub level: u32,
    /// The user namespace that owns it.
    pub owner: Arc<UserNs>,
    inner: Mutex<Inner>,
}

impl PidNs {
    /// The sandbox's first pid namespace.
    pub fn initial(owner: Arc<UserNs>, ino: u64) -> Arc<PidNs> {
        Arc::new(PidNs {
            ino,
            parent: None,
            level: 0,
            owner,
            inner: Mutex::default(),
        })
    }

    /// A namespace below `parent`, owned by `owner`; `ENOSPC` past
    /// Linux's depth.
    pub fn child(parent: &Arc<PidNs>, owner: Arc<UserNs>, ino: u64) -> SysResult<Arc<PidNs>> {
        if parent.level + 1 > MAX_LEVEL {
            return Err(Errno::ENOSPC);
        }
        Ok(Arc::new(PidNs {
            ino,
            parent: Some(parent.clone()),
            level: parent.level + 1,
            owner,
            inner: Mutex::default(),
        }))
    }

    pub fn is_initial(&self) -> bool {
        self.parent.is_none()
    }

    /// The number a process in this namespace sees for global id `g`,
    /// `None` when `g` is not in it (or in one below).
    pub fn local(&self, g: i32) -> Option<i32> {
        if self.is_initial() {
            return Some(g);
        }
        lock(&self.inner).to_local.get(&g).copied()
    }

    /// [`PidNs::local`], 0 for an id this namespace cannot see (what
    /// Linux's `pid_vnr` gives).
    pub fn shown(&self, g: i32) -> i32 {
        self.local(g).unwrap_or(0)
    }

    /// The global id of number `n` here.
    pub fn global(&self, n: i32) -> Option<i32> {
        if self.is_initial() {
            return Some(n);
        }
        lock(&self.inner).to_global.get(&n).copied()
    }

    /// The global id of this namespace's init (pid 1).
    pub fn init(&self) -> Option<i32> {
        self.global(1)
    }

    /// Whether `self` is `other` or one of its ancestors.
    pub fn is_ancestor_of(self: &Arc<PidNs>, other: &Arc<PidNs>) -> bool {
        let mut cur = Some(other.clone());
        while let Some(c) = cur {
            if c.level < self.level {
                return false;
            }
            if Arc::ptr_eq(&c, self) {
                return true;
            }
            cur = c.parent.clone();
        }
        false
    }

    /// `ns_last_pid` of a nested namespace (the first one's is the pid
    /// table's).
    pub fn last_pid(&self) -> i32 {
        lock(&self.inner).last
    }

    /// Writes a nested namespace's `ns_last_pid`: the next process here
    /// gets the number after.
    pub fn set_last_pid(&self, n: i32) {
        lock(&self.inner).last = n;
    }

    /// Whether its init was ever made (`/proc/PID/ns/pid_for_children`
    /// leads nowhere before).
    pub fn has_init(&self) -> bool {
        self.is_initial() || lock(&self.inner).born
    }

    /// Whether init has exited (nothing may enter).
    pub fn is_dead(&self) -> bool {
        !self.is_initial() && lock(&self.inner).dead
    }

    /// Records a `reboot(2)` inside: init is reported killed by `sig`.
    pub fn set_reboot(&self, sig: i32) {
        lock(&self.inner).reboot = sig;
    }

    /// The signal a `reboot(2)` inside asked init's death to show, if any.
    pub fn reboot_signal(&self) -> Option<i32> {
        Some(lock(&self.inner).reboot).filter(|&s| s != 0)
    }

    /// Marks the namespace dead: its init exited.
    pub fn set_dead(&self) {
        lock(&self.inner).dead = true;
    }

    /// Gives global id `g` a number here: 1 for the first process (its
    /// init), then the next free one after `ns_last_pid`. `ENOMEM` once
    /// init has exited (Linux: a namespace whose init is gone takes
    /// nobody).
    fn alloc(&self, g: i32) -> SysResult<i32> {
        let mut i = lock(&self.inner);
        if i.dead {
            return Err(Errno::ENOMEM);
        }
        if !i.born {
            // The first process is init, whatever ns_last_pid says.
            i.to_global.insert(1, g);
            i.to_local.insert(g, 1);
            i.last = 1;
            i.born = true;
            return Ok(1);
        }
        let mut n = i.last;
        for _ in 0..PID_MAX {
            n = if n + 1 >= PID_MAX { 2 } else { n + 1 };
            if let std::collections::btree_map::Entry::Vacant(e) = i.to_global.entry(n) {
                e.insert(g);
                i.to_local.insert(g, n);
                i.last = n;
                return Ok(n);
            }
        }
        Err(Errno::EAGAIN)
    }

    fn free(&self, g: i32) {
        let mut i = lock(&self.inner);
        if let Some(n) = i.to_local.remove(&g) {
            i.to_global.remove(&n);
        }
    }

    /// Gives global id `g` its numbers in `self` and every namespace up
    /// to (not including) the first.
    pub(crate) fn alloc_chain(self: &Arc<PidNs>, g: i32) -> SysResult<()> {
        let mut done: Vec<Arc<PidNs>> = Vec::new();
        let mut cur = Some(self.clone());
        while let Some(c) = cur {
            if c.is_initial() {
                break;
            }
            if let Err(e) = c.alloc(g) {
                for d in done {
                    d.free(g);
                }
                return Err(e);
            }
            cur = c.parent.clone();
            done.push(c);
        }
        Ok(())
    }

    /// Takes global id `g`'s numbers away in `self` and its ancestors.
    pub(crate) fn free_chain(self: &Arc<PidNs>, g: i32) {
        let mut cur = Some(self.clone());
        while let Some(c) = cur {
            if c.is_initial() {
                break;
            }
            c.free(g);
            cur = c.parent.clone();
        }
    }
}
