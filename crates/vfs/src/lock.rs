//! Advisory file locks: POSIX record locks (per process), open-file-
//! description locks (`F_OFD_*`) and `flock` locks, kept per inode.

use std::sync::Mutex;

use abi::{Errno, SysResult};
use waiter::Queue;

use crate::inode::lock;

/// Who holds a lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// A process's POSIX record lock.
    Process(i32),
    /// An open file description's OFD record lock.
    Description(usize),
    /// An open file description's `flock` lock (a separate namespace).
    Flock(usize),
}

impl Owner {
    fn is_flock(self) -> bool {
        matches!(self, Owner::Flock(_))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockKind {
    Read,
    Write,
}

#[derive(Clone, Copy, Debug)]
pub struct Lock {
    pub owner: Owner,
    pub kind: LockKind,
    pub start: u64,
    /// Exclusive end; `u64::MAX` means to the end of the file, forever.
    pub end: u64,
}

/// An inode's locks and the queue of tasks waiting for them.
#[derive(Default)]
pub struct Locks {
    held: Mutex<Vec<Lock>>,
    pub queue: Queue,
}

fn overlaps(a: &Lock, start: u64, end: u64) -> bool {
    a.start < end && start < a.end
}

impl Locks {
    /// The first lock of another owner that conflicts with the request.
    pub fn conflict(&self, want: &Lock) -> Option<Lock> {
        lock(&self.held)
            .iter()
            .find(|l| {
                l.owner != want.owner
                    && l.owner.is_flock() == want.owner.is_flock()
                    && overlaps(l, want.start, want.end)
                    && (l.kind == LockKind::Write || want.kind == LockKind::Write)
            })
            .copied()
    }

    /// Takes `want`, replacing the owner's locks in its range. `EAGAIN` if
    /// another owner conflicts.
    pub fn try_lock(&self, want: Lock) -> SysResult<()> {
        let mut held = lock(&self.held);
        let clash = held.iter().any(|l| {
            l.owner != want.owner
                && l.owner.is_flock() == want.owner.is_flock()
                && overlaps(l, want.start, want.end)
                && (l.kind == LockKind::Write || want.kind == LockKind::Write)
        });
        if clash {
            return Err(Errno::EAGAIN);
        }
        Self::cut(&mut held, want.owner, want.start, want.end);
        held.push(want);
        drop(held);
        self.queue.notify(waiter::events::ALL);
        Ok(())
    }

    /// Releases the owner's locks in `[start, end)`.
    pub fn unlock(&self, owner: Owner, start: u64, end: u64) {
        Self::cut(&mut lock(&self.held), owner, start, end);
        self.queue.notify(waiter::events::ALL);
    }

    /// Releases everything the owner holds.
    pub fn release(&self, owner: Owner) {
        let mut held = lock(&self.held);
        let before = held.len();
        held.retain(|l| l.owner != owner);
        if held.len() != before {
            drop(held);
            self.queue.notify(waiter::events::ALL);
        }
    }

    /// Removes the owner's coverage of `[start, end)`, splitting locks that
    /// stick out on either side.
    fn cut(held: &mut Vec<Lock>, owner: Owner, start: u64, end: u64) {
        let mut out = Vec::with_capacity(held.len() + 1);
        for l in held.drain(..) {
            if l.owner != owner || !overlaps(&l, start, end) {
                out.push(l);
                continue;
            }
            if l.start < start {
                out.push(Lock { end: start, ..l });
            }
            if l.end > end {
                out.push(Lock { start: end, ..l });
            }
        }
        *held = out;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(owner: i32, start: u64, end: u64) -> Lock {
        Lock {
            owner: Owner::Process(owner),
            kind: LockKind::Write,
            start,
            end,
        }
    }

    #[test]
    fn conflicts_splits_and_release() {
        let l = Locks::default();
        l.try_lock(w(1, 0, 100)).unwrap();
        assert_eq!(l.try_lock(w(2, 50, 60)), Err(Errno::EAGAIN));
        l.unlock(Owner::Process(1), 40, 70);
        l.try_lock(w(2, 50, 60)).unwrap();
        assert!(l.conflict(&w(3, 0, 10)).is_some());
        assert!(l.conflict(&w(3, 45, 50)).is_none());
        l.release(Owner::Process(1));
        assert!(l.conflict(&w(3, 0, 10)).is_none());
        // flock locks live in their own namespace.
        let f = Lock {
            owner: Owner::Flock(9),
            kind: LockKind::Write,
            start: 0,
            end: u64::MAX,
        };
        l.try_lock(f).unwrap();
    }
}
