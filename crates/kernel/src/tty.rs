//! The kernel's side of terminals: controlling terminals belong to
//! processes (`TgInner::ctty`), sessions and process groups are the
//! kernel's, so the VFS's terminals ask here ([`vfs::tty::Sessions`]) who
//! is calling and have signals sent.

use std::sync::{Arc, Weak};

use abi::signal::{SigInfo, SIGKILL, SIG_IGN, SI_KERNEL};
use vfs::tty::{Caller, Sessions, Tty};

use crate::signal::send_to_group;
use crate::task::{lock, ThreadGroup, CAP_CHECKPOINT_RESTORE, CAP_SYS_ADMIN};
use crate::Kernel;

pub struct KernelSessions(pub Weak<Kernel>);

impl KernelSessions {
    /// The process this host thread runs, if any.
    fn current(&self) -> Option<(Arc<Kernel>, Arc<crate::TaskShared>)> {
        let k = self.0.upgrade()?;
        let (tid, _) = crate::procfs::current();
        let t = k.find_task(tid)?;
        Some((k, t))
    }

    fn groups(&self, pred: impl Fn(&ThreadGroup) -> bool) -> Vec<Arc<ThreadGroup>> {
        let Some(k) = self.0.upgrade() else {
            return Vec::new();
        };
        let t = lock(&k.table);
        t.groups
            .values()
            .filter(|g| pred(g) && !g.is_zombie())
            .cloned()
            .collect()
    }
}

fn same(a: &Option<Arc<Tty>>, b: &Arc<Tty>) -> bool {
    a.as_ref().is_some_and(|a| Arc::ptr_eq(a, b))
}

impl Sessions for KernelSessions {
    fn shown(&self, id: i32) -> i32 {
        self.current().map_or(id, |(_, t)| t.tg.pidns.shown(id))
    }

    fn global(&self, n: i32) -> Option<i32> {
        match self.current() {
            Some((_, t)) => t.tg.pidns.global(n),
            None => Some(n),
        }
    }

    fn caller(&self, tty: &Arc<Tty>) -> Option<Caller> {
        let (_, t) = self.current()?;
        let g = t.tg.lock();
        let caps = t.shown_caps[0].load(std::sync::atomic::Ordering::Relaxed);
        Some(Caller {
            pid: t.tg.pid,
            pgid: g.pgid,
            sid: g.sid,
            ctty_is_this: same(&g.ctty, tty),
            has_ctty: g.ctty.is_some(),
            sys_admin: caps & (1 << CAP_SYS_ADMIN) != 0,
            checkpoint_restore: caps & (1 << CAP_CHECKPOINT_RESTORE) != 0,
        })
    }

    fn ctty(&self) -> Option<Arc<Tty>> {
        let (_, t) = self.current()?;
        let c = t.tg.lock().ctty.clone();
        c
    }

    fn set_ctty(&self, tty: Option<&Arc<Tty>>) {
        if let Some((_, t)) = self.current() {
            t.tg.lock().ctty = tty.cloned();
        }
    }

    fn clear_ctty(&self, sid: i32, tty: &Arc<Tty>) {
        for g in self.groups(|g| g.lock().sid == sid) {
            let mut inner = g.lock();
            if same(&inner.ctty, tty) {
                inner.ctty = None;
            }
        }
    }

    fn signal_pgrp(&self, pgid: i32, sig: i32) {
        // Terminal signals come from the terminal's user, as host signals
        // to `rvisor do` do: they reach even a sandbox's init.
        for g in self.groups(|g| g.lock().pgid == pgid) {
            send_to_group(&g, SigInfo::new(sig, SI_KERNEL));
        }
    }

    fn signal_process(&self, pid: i32, sig: i32) {
        if sig == SIGKILL {
            return;
        }
        if let Some(g) = self.0.upgrade().and_then(|k| k.find_group(pid)) {
            send_to_group(&g, SigInfo::new(sig, SI_KERNEL));
        }
    }

    fn caller_ignores(&self, sig: i32) -> bool {
        let Some((_, t)) = self.current() else {
            return true;
        };
        if t.mask().has(sig) {
            return true;
        }
        let sighand = t.tg.lock().sighand.clone();
        let ignored = lock(&sighand).action(sig).handler == SIG_IGN;
        ignored
    }

    fn pgrp_orphaned(&self, pgid: i32) -> bool {
        for g in self.groups(|g| g.lock().pgid == pgid) {
            let (parent, sid) = {
                let i = g.lock();
                (i.parent.clone(), i.sid)
            };
            if let Some(p) = parent {
                let pi = p.lock();
                if pi.pgid != pgid && pi.sid == sid {
                    return false;
                }
            }
        }
        true
    }

    fn session_of(&self, pgid: i32) -> Option<i32> {
        let k = self.0.upgrade()?;
        let t = lock(&k.table);
        let found = t
            .groups
            .values()
            .find(|g| g.lock().pgid == pgid)
            .or_else(|| t.groups.get(&pgid))
            .map(|g| g.lock().sid);
        found
    }
}

/// A process leaving: a session leader's terminal loses its session
/// (`disassociate_ctty(1)`).
pub fn process_exited(tg: &ThreadGroup) {
    let ctty = {
        let mut g = tg.lock();
        let c = g.ctty.take();
        if g.sid == tg.pid {
            c
        } else {
            None
        }
    };
    if let Some(tty) = ctty {
        tty.disassociate(true);
    }
}
