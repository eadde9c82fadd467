//! A userfaultfd context: the faults of the address ranges registered with
//! it (`MemoryManager::userfault_register`) wait here until a handler fills
//! their page (`UFFDIO_COPY`/`UFFDIO_ZEROPAGE`), wakes them
//! (`UFFDIO_WAKE`), unregisters the range or closes the descriptor.
//!
//! Each waiting fault is one entry, as Linux queues one wait-queue entry
//! per faulting thread: `read` hands out the entries not read yet (one
//! `struct uffd_msg` each) and a fault that stops waiting (woken, or
//! interrupted by a signal to be retried) takes its entry away, so no
//! message outlives its fault.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use abi::mman::*;
use waiter::{events, Queue};

struct Pending {
    id: u64,
    /// Fault address as reported (page-aligned unless EXACT_ADDRESS).
    addr: u64,
    flags: u64,
    tid: u32,
    read: bool,
    woken: bool,
}

#[derive(Default)]
struct State {
    /// UFFDIO_API was done.
    api: bool,
    features: u64,
    next_id: u64,
    pending: Vec<Pending>,
}

pub struct Userfault {
    /// The address space it was made in (its ranges are that one's).
    mm_id: u64,
    /// The descriptor was closed: its ranges fault as unregistered ones.
    released: AtomicBool,
    state: Mutex<State>,
    /// Readers and pollers wait here for messages.
    pub readers: Queue,
    /// Faulting tasks wait here to be woken.
    pub faults: Queue,
}

/// The features this implementation reports and accepts.
pub const FEATURES: u64 = UFFD_FEATURE_SIGBUS | UFFD_FEATURE_THREAD_ID | UFFD_FEATURE_EXACT_ADDRESS;

impl Userfault {
    pub fn new(mm_id: u64) -> Userfault {
        Userfault {
            mm_id,
            released: AtomicBool::new(false),
            state: Mutex::new(State::default()),
            readers: Queue::new(),
            faults: Queue::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn mm_id(&self) -> u64 {
        self.mm_id
    }

    pub fn released(&self) -> bool {
        self.released.load(Ordering::Acquire)
    }

    /// UFFDIO_API: enables the context with `features` (a subset of
    /// [`FEATURES`]); `EINVAL` when done already or asked for more.
    pub fn enable(&self, features: u64) -> Result<(), abi::Errno> {
        let mut s = self.lock();
        if s.api || features & !FEATURES != 0 {
            return Err(abi::Errno::EINVAL);
        }
        s.api = true;
        s.features = features;
        Ok(())
    }

    pub fn enabled(&self) -> bool {
        self.lock().api
    }

    pub fn features(&self) -> u64 {
        self.lock().features
    }

    /// Queues a fault at `addr` of thread `tid` for the handler; returns
    /// the entry to wait on. Called with the address space locked, so a
    /// fill (which takes that lock) comes after and wakes it.
    pub fn post(&self, addr: u64, write: bool, tid: u32) -> u64 {
        let mut s = self.lock();
        let addr = if s.features & UFFD_FEATURE_EXACT_ADDRESS != 0 {
            addr
        } else {
            abi::page_down(addr)
        };
        s.next_id += 1;
        let id = s.next_id;
        let tid = if s.features & UFFD_FEATURE_THREAD_ID != 0 {
            tid
        } else {
            0
        };
        s.pending.push(Pending {
            id,
            addr,
            flags: if write { UFFD_PAGEFAULT_FLAG_WRITE } else { 0 },
            tid,
            read: false,
            woken: false,
        });
        drop(s);
        self.readers.notify(events::IN | events::RDNORM);
        id
    }

    /// Whether fault `id` may go on (woken, or the descriptor closed).
    pub fn resolved(&self, id: u64) -> bool {
        self.released() || self.lock().pending.iter().any(|p| p.id == id && p.woken)
    }

    /// Fault `id` stopped waiting: its message goes away.
    pub fn finish(&self, id: u64) {
        self.lock().pending.retain(|p| p.id != id);
    }

    /// The next message not read yet (`struct uffd_msg`), if any.
    pub fn take_message(&self) -> Option<[u8; UFFD_MSG_SIZE]> {
        let mut s = self.lock();
        let p = s.pending.iter_mut().find(|p| !p.read && !p.woken)?;
        p.read = true;
        let mut m = [0u8; UFFD_MSG_SIZE];
        m[0] = UFFD_EVENT_PAGEFAULT;
        m[8..16].copy_from_slice(&p.flags.to_ne_bytes());
        m[16..24].copy_from_slice(&p.addr.to_ne_bytes());
        m[24..28].copy_from_slice(&p.tid.to_ne_bytes());
        Some(m)
    }

    /// Whether a message waits to be read.
    pub fn has_message(&self) -> bool {
        self.lock().pending.iter().any(|p| !p.read && !p.woken)
    }

    /// Wakes the faults at pages of `[start, end)`.
    pub fn wake(&self, start: u64, end: u64) {
        let mut any = false;
        for p in self.lock().pending.iter_mut() {
            if (start..end).contains(&abi::page_down(p.addr)) {
                p.woken = true;
                any = true;
            }
        }
        if any {
            self.faults.notify(events::IN);
        }
    }

    /// The descriptor was closed: every fault goes on, and ranges still
    /// registered fault as ordinary memory from now on.
    pub fn release(&self) {
        self.released.store(true, Ordering::Release);
        self.lock().pending.clear();
        self.faults.notify(events::IN);
    }
}
