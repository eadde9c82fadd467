//! One application address space: VMAs (what the application asked for),
//! PMAs (which memory-file ranges back which addresses) and the host
//! mappings that mirror them in the platform's address space.
//!
//! Host mappings are created lazily on faults. Changes that must remove host
//! mappings (munmap, mprotect, copy-on-write done by the sentry) are queued
//! and applied by [`MemoryManager::sync_host`] before application code runs
//! again, so the bookkeeping needs no platform access.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use abi::mman::*;
use abi::signal::{BUS_ADRERR, SEGV_ACCERR, SEGV_MAPERR, SIGBUS, SIGSEGV};
use abi::{page_down, page_up, Errno, Pod, PAGE_SIZE};
use platform::AddressSpace;

use crate::{Mappable, MemoryFile, Userfault};

mod patch;
mod uffd;

pub use patch::{PATCH_AREA, PATCH_AREA_END};

/// Granularity of anonymous memory allocation: one fault backs (sparsely)
/// up to this much, so later touches are served by the host kernel alone.
const ANON_CHUNK: u64 = 2 << 20;
/// Granularity of copy-on-write copies.
const COW_CHUNK: u64 = 16 * PAGE_SIZE;
/// Private memory a `fork` shares copy-on-write rather than copies: a PMA
/// holding at least this much data (measured: below it, copying is cheaper
/// than the parent's refaults).
const FORK_SHARE_MIN: u64 = 512 << 10;
/// Lowest address the application may map (`vm.mmap_min_addr`).
pub const MIN_ADDR: u64 = 0x10000;
/// Gap kept below a growing stack (Linux's `stack_guard_gap`).
const STACK_GUARD_GAP: u64 = 256 * PAGE_SIZE;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VmaName {
    Anon,
    Heap,
    Stack,
    Vdso,
    Vvar,
    /// The sentry's table and trampolines for patched syscall sites.
    SyscallTrampolines,
    /// A file mapping: path, device and inode for `/proc/pid/maps`.
    File {
        path: String,
        dev: u64,
        ino: u64,
    },
}

#[derive(Clone)]
pub struct Backing {
    pub obj: Arc<dyn Mappable>,
    /// Object offset of the VMA's start.
    pub offset: u64,
}

#[derive(Clone)]
pub struct Vma {
    pub end: u64,
    pub prot: u32,
    /// Whether `PROT_WRITE` may be added (false for shared mappings of files
    /// opened read-only).
    pub may_write: bool,
    pub shared: bool,
    pub growsdown: bool,
    pub backing: Option<Backing>,
    pub name: VmaName,
    /// `MADV_DONTFORK`: a `fork` child does not get this mapping.
    pub dontfork: bool,
    /// `MADV_WIPEONFORK` (private anonymous memory only): a `fork` child
    /// gets the mapping zero-filled.
    pub wipeonfork: bool,
    /// The userfaultfd its missing pages are reported to
    /// (`UFFDIO_REGISTER_MODE_MISSING`).
    pub userfault: Option<Arc<Userfault>>,
}

impl Vma {
    /// The userfaultfd still open that this mapping is registered with.
    fn live_userfault(&self) -> Option<&Arc<Userfault>> {
        self.userfault.as_ref().filter(|u| !u.released())
    }
}

/// Who reaches memory through [`MemoryManager::walk`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reach {
    /// The address space's own process: its protections apply.
    Own,
    /// Another process (`process_vm_readv`): protections apply, secret
    /// memory is out of reach.
    Remote,
    /// A debugger (`ptrace`, `/proc/pid/mem`): any protection, not secret
    /// memory.
    Debugger,
}

#[derive(Clone, Copy, Debug)]
struct Pma {
    end: u64,
    off: u64,
    kind: PmaKind,
}

/// Whose memory-file pages back a PMA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PmaKind {
    /// The mapped object's (copy-on-write if the VMA is private).
    Object,
    /// A private copy this address space allocated and frees.
    Owned,
    /// Private memory shared copy-on-write with other address spaces
    /// since a `fork`: part of the memory file's fork block at `block`.
    /// Written in place once this address space is its only user.
    Forked { block: u64 },
}

/// The signal a fault turns into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultError {
    pub signo: i32,
    pub code: i32,
}

const SEGV_MAP: FaultError = FaultError {
    signo: SIGSEGV,
    code: SEGV_MAPERR,
};
const SEGV_ACC: FaultError = FaultError {
    signo: SIGSEGV,
    code: SEGV_ACCERR,
};

/// What `mmap` was asked for, already decoded.
pub struct MapRequest {
    pub addr: u64,
    pub len: u64,
    pub prot: u32,
    pub flags: u32,
    pub backing: Option<Backing>,
    pub may_write: bool,
    pub name: VmaName,
}

/// See [`MemoryManager::set_quiesce_hook`].
pub type QuiesceHook = Arc<dyn Fn() + Send + Sync>;

/// How long code changes wait for other threads to leave application
/// code (a thread that blocked the interrupt signal is parked by force
/// after 200 ms).
const QUIESCE_WAIT: std::time::Duration = std::time::Duration::from_millis(300);

/// One thread's membership in the count of threads running application
/// code ([`MemoryManager::enter_application`]); it keeps the counter it
/// last entered, so leaving needs no lock and entering no allocation.
#[derive(Default)]
pub struct ApplicationEntry {
    counter: Option<Arc<AtomicU32>>,
    inside: bool,
}

impl ApplicationEntry {
    /// Counted as running application code now.
    pub fn inside(&self) -> bool {
        self.inside
    }

    /// The thread stopped running application code (it trapped out).
    pub fn leave(&mut self) {
        if std::mem::take(&mut self.inside) {
            if let Some(c) = &self.counter {
                c.fetch_sub(1, Ordering::Release);
            }
        }
    }
}

impl Drop for ApplicationEntry {
    fn drop(&mut self) {
        self.leave();
    }
}

/// A PMA a `fork` copies: its start, itself, and its runs of data.
type CopyPiece = (u64, Pma, Vec<(u64, u64)>);

/// What futex waiters are queued by (see [`MemoryManager::futex_key`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FutexKey(pub u128);

/// Address spaces are numbered for futex keys; numbers are never reused.
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

pub struct MemoryManager {
    id: u64,
    mf: Arc<MemoryFile>,
    vmas: BTreeMap<u64, Vma>,
    pmas: BTreeMap<u64, Pma>,
    /// Host ranges to unmap before application code runs again.
    pending_unmaps: Vec<(u64, u64)>,
    /// Pages write-protected for a debugger's watchpoints.
    /// (the protection bits withheld from each).
    watched: BTreeMap<u64, u32>,
    /// How many PMAs use each fork block. A block whose count fell to zero
    /// is let go of at the next [`MemoryManager::sync_host`] (not at once,
    /// so that moving PMAs around never frees a block in between).
    fork_uses: HashMap<u64, u32>,
    /// Some entry of `fork_uses` fell to zero since the last settling.
    fork_unsettled: bool,
    patches: patch::SyscallPatches,
    /// Threads of this address space running application code now: each
    /// enters under the lock ([`MemoryManager::enter_application`]) and
    /// leaves without it. Code is rewritten only while it is zero.
    in_application: Arc<AtomicU32>,
    /// Makes this address space's threads leave application code (the
    /// kernel interrupts them), before code they may be running changes.
    quiesce_hook: Option<QuiesceHook>,
    /// Window of the last anonymous chunk faulted in.
    last_anon_chunk: u64,
    /// A chunk just given existing pages, to map populated.
    populate: Option<u64>,
    max_addr: u64,
    reserved: Vec<(u64, u64)>,
    pub mmap_base: u64,
    pub brk_start: u64,
    pub brk_end: u64,
    pub stack_limit: u64,
    pub arg_start: u64,
    pub arg_end: u64,
    pub env_start: u64,
    pub env_end: u64,
    pub auxv: Vec<(u64, u64)>,
    /// `membarrier` registrations of this address space (the
    /// `MEMBARRIER_CMD_REGISTER_*` bits): kept by a fork, dropped by exec.
    pub membarrier: u32,
    /// Some range was ever registered with a userfaultfd: until then a
    /// fault looks for none (one test of this flag).
    userfaults: bool,
}

impl MemoryManager {
    pub fn new(mf: Arc<MemoryFile>, max_addr: u64, reserved: &[(u64, u64)]) -> MemoryManager {
        MemoryManager {
            id: next_id(),
            mf,
            vmas: BTreeMap::new(),
            pmas: BTreeMap::new(),
            pending_unmaps: Vec::new(),
            fork_uses: HashMap::new(),
            fork_unsettled: false,
            patches: Default::default(),
            in_application: Arc::new(AtomicU32::new(0)),
            quiesce_hook: None,
            last_anon_chunk: u64::MAX,
            populate: None,
            watched: BTreeMap::new(),
            max_addr,
            reserved: reserved.to_vec(),
            mmap_base: max_addr,
            brk_start: 0,
            brk_end: 0,
            stack_limit: 8 << 20,
            arg_start: 0,
            arg_end: 0,
            env_start: 0,
            env_end: 0,
            auxv: Vec::new(),
            membarrier: 0,
            userfaults: false,
        }
    }

    pub fn memory_file(&self) -> &Arc<MemoryFile> {
        &self.mf
    }

    /// Counts a thread about to run application code until it calls
    /// [`ApplicationEntry::leave`]. Taken under this manager's lock, so
    /// that whoever holds the lock and sees no thread in the application
    /// knows none will enter before the lock is released.
    pub fn enter_application(&self, entry: &mut ApplicationEntry) {
        if !entry
            .counter
            .as_ref()
            .is_some_and(|c| Arc::ptr_eq(c, &self.in_application))
        {
            entry.counter = Some(self.in_application.clone());
        }
        self.in_application.fetch_add(1, Ordering::Relaxed);
        entry.inside = true;
    }

    /// Whether no thread of this address space is running application
    /// code (callers hold the lock, so none can start).
    pub fn application_stopped(&self) -> bool {
        self.in_application.load(Ordering::Acquire) == 0
    }

    /// Sets what makes this address space's threads leave application
    /// code: called before patched code is put back while some may be
    /// running it.
    pub fn set_quiesce_hook(&mut self, hook: QuiesceHook) {
        self.quiesce_hook = Some(hook);
    }

    /// Has every thread leave application code (bounded by
    /// [`QUIESCE_WAIT`]); they cannot come back while the caller holds
    /// this manager's lock.
    pub(crate) fn quiesce(&self) {
        if self.application_stopped() {
            return;
        }
        let Some(hook) = &self.quiesce_hook else {
            return;
        };
        hook();
        let deadline = std::time::Instant::now() + QUIESCE_WAIT;
        while !self.application_stopped() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_micros(20));
        }
    }

    /// A memory barrier on every thread of this address space running
    /// application code (`membarrier`): each is made to leave it, which
    /// takes it through the host kernel and the sentry, both full barriers
    /// (and instruction-stream serialising). Threads in a syscall already
    /// passed one; none can go back while the caller holds the lock.
    pub fn barrier(&self) {
        self.quiesce();
    }

    pub fn max_addr(&self) -> u64 {
        self.max_addr
    }

    // ---- VMA lookup and splitting -------------------------------------

    fn vma_at(&self, addr: u64) -> Option<(u64, &Vma)> {
        self.vmas
            .range(..=addr)
            .next_back()
            .filter(|(_, v)| v.end > addr)
            .map(|(&s, v)| (s, v))
    }

    /// What kind of mapping holds `addr`, for timing faults by class:
    /// `(file, shared, stack)` (`file`: a named file's pages), or `None`
    /// when nothing is mapped there.
    pub fn mapping_kind(&self, addr: u64) -> Option<(bool, bool, bool)> {
        let (_, v) = self.vma_at(addr)?;
        let file = matches!(v.name, VmaName::File { .. });
        let stack = v.growsdown || v.name == VmaName::Stack;
        Some((file, v.shared, stack))
    }

    /// The object-backed mappings ending after `from`, in address order:
    /// `(start, end, backing)`.
    pub fn backings_from(&self, from: u64) -> Vec<(u64, u64, Backing)> {
        let first = self.vma_at(from).map_or(from, |(s, _)| s);
        self.vmas
            .range(first..)
            .filter_map(|(&s, v)| v.backing.clone().map(|b| (s, v.end, b)))
            .collect()
    }

    /// Whether `[start, end)` overlaps a VMA or a reserved range.
    fn overlaps(&self, start: u64, end: u64) -> bool {
        if self
            .vmas
            .range(..end)
            .next_back()
            .is_some_and(|(_, v)| v.end > start)
        {
            return true;
        }
        self.reserved.iter().any(|&(s, e)| s < end && e > start)
    }

    fn split_vma_at(&mut self, addr: u64) {
        let Some((start, v)) = self.vma_at(addr) else {
            return;
        };
        if start == addr {
            return;
        }
        let mut tail = v.clone();
        if let Some(b) = tail.backing.as_mut() {
            b.offset += addr - start;
        }
        if let Some(head) = self.vmas.get_mut(&start) {
            head.end = addr;
        }
        self.vmas.insert(addr, tail);
    }

    fn split_pma_at(&mut self, addr: u64) {
        let Some((&start, &p)) = self.pmas.range(..=addr).next_back() else {
            return;
        };
        if start == addr || p.end <= addr {
            return;
        }
        if let Some(head) = self.pmas.get_mut(&start) {
            head.end = addr;
        }
        self.insert_pma(
            addr,
            Pma {
                end: p.end,
                off: p.off + (addr - start),
                kind: p.kind,
            },
        );
    }

    /// Adds a PMA, counting a fork block's use.
    fn insert_pma(&mut self, start: u64, p: Pma) {
        if let PmaKind::Forked { block } = p.kind {
            let uses = self.fork_uses.entry(block).or_insert_with(|| {
                self.mf.fork_ref(block);
                0
            });
            *uses += 1;
        }
        if let Some(old) = self.pmas.insert(start, p) {
            self.uncount(old);
        }
    }

    /// Removes a PMA (its pages stay allocated: callers release owned ones).
    fn remove_pma(&mut self, start: u64) -> Option<Pma> {
        let p = self.pmas.remove(&start)?;
        self.uncount(p);
        Some(p)
    }

    fn uncount(&mut self, p: Pma) {
        if let PmaKind::Forked { block } = p.kind {
            if let Some(u) = self.fork_uses.get_mut(&block) {
                *u = u.saturating_sub(1);
                self.fork_unsettled |= *u == 0;
            }
        }
    }

    /// Lets go of fork blocks no PMA uses any more.
    fn settle_fork_blocks(&mut self) {
        // Checked on every return to the application: nothing to do
        // unless a block lost its last PMA here.
        if !std::mem::take(&mut self.fork_unsettled) {
            return;
        }
        let mf = self.mf.clone();
        self.fork_uses.retain(|&block, &mut uses| {
            if uses == 0 {
                mf.fork_unref(block);
            }
            uses > 0
        });
    }

    /// Whether a private PMA may be written without copying: an owned
    /// copy, or a fork block no other address space uses any more.
    fn writable_in_place(&self, p: &Pma) -> bool {
        match p.kind {
            PmaKind::Owned => true,
            PmaKind::Forked { block } => self.mf.fork_users(block) == 1,
            PmaKind::Object => false,
        }
    }

    fn split_at(&mut self, addr: u64) {
        self.split_vma_at(addr);
        self.split_pma_at(addr);
    }

    /// Drops the backing of `[start, end)`, freeing private copies, and
    /// queues the host unmap.
    fn drop_pmas(&mut self, start: u64, end: u64) {
        self.unmap_backed(start, end);
        self.split_pma_at(start);
        self.split_pma_at(end);
        let keys: Vec<u64> = self.pmas.range(start..end).map(|(&k, _)| k).collect();
        for k in keys {
            if let Some(p) = self.remove_pma(k) {
                if p.kind == PmaKind::Owned {
                    self.mf.release(p.off, p.end - k);
                }
            }
        }
    }

    /// Queues the host unmap of the parts of `[start, end)` that PMAs back.
    /// The host maps nothing a PMA does not back, so the rest needs no
    /// host call (a thread's exit drops megabytes of stack never touched).
    fn unmap_backed(&mut self, start: u64, end: u64) {
        let first = self.pma_at(start).map_or(start, |(s, _)| s);
        let mut run: Option<(u64, u64)> = None;
        for (&ps, p) in self.pmas.range(first..end) {
            let (s, e) = (ps.max(start), p.end.min(end));
            if s >= e {
                continue;
            }
            run = match run {
                Some((rs, re)) if re == s => Some((rs, e)),
                Some((rs, re)) => {
                    self.pending_unmaps.push((rs, re - rs));
                    Some((s, e))
                }
                None => Some((s, e)),
            };
        }
        if let Some((rs, re)) = run {
            self.pending_unmaps.push((rs, re - rs));
        }
    }

    /// Removes every mapping in `[start, end)`.
    fn remove_range(&mut self, start: u64, end: u64) {
        self.unpatch_range(start, end);
        self.split_at(start);
        self.split_at(end);
        let keys: Vec<u64> = self.vmas.range(start..end).map(|(&k, _)| k).collect();
        if keys.is_empty() {
            return;
        }
        for k in keys {
            self.vmas.remove(&k);
        }
        self.drop_pmas(start, end);
    }

    /// Merges the VMA starting at `addr` with its predecessor when they are
    /// indistinguishable anonymous private memory.
    fn try_merge(&mut self, addr: u64) {
        let Some((&ps, prev)) = self.vmas.range(..addr).next_back() else {
            return;
        };
        let Some(cur) = self.vmas.get(&addr) else {
            return;
        };
        if prev.end == addr
            && prev.backing.is_none()
            && cur.backing.is_none()
            && !prev.shared
            && !cur.shared
            && prev.prot == cur.prot
            && prev.growsdown == cur.growsdown
            && prev.name == cur.name
            && prev.dontfork == cur.dontfork
            && prev.wipeonfork == cur.wipeonfork
            && match (&prev.userfault, &cur.userfault) {
                (None, None) => true,
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                _ => false,
            }
        {
            let end = cur.end;
            self.vmas.remove(&addr);
            if let Some(p) = self.vmas.get_mut(&ps) {
                p.end = end;
            }
        }
    }

    /// Applies queued host unmaps. Must run before application code runs
    /// and before any new host mapping is made.
    pub fn sync_host(&mut self, space: &mut dyn AddressSpace) -> Result<(), Errno> {
        self.settle_fork_blocks();
        if self.pending_unmaps.is_empty() {
            return Ok(());
        }
        let ranges = std::mem::take(&mut self.pending_unmaps);
        space.unmap_many(&ranges)
    }

    pub fn has_pending_host_changes(&self) -> bool {
        !self.pending_unmaps.is_empty()
    }

    // ---- placement ------------------------------------------------------

    /// Finds a free range of `len` bytes, top-down from `below`.
    fn find_free(&self, len: u64, below: u64) -> Option<u64> {
        let mut end = below.min(self.max_addr);
        loop {
            let start = end.checked_sub(len)?;
            if start < MIN_ADDR {
                return None;
            }
            if let Some((&vs, v)) = self.vmas.range(..end).next_back() {
                if v.end > start {
                    end = vs;
                    continue;
                }
            }
            if let Some(&(rs, _)) = self.reserved.iter().find(|&&(s, e)| s < end && e > start) {
                end = rs;
                continue;
            }
            return Some(start);
        }
    }

    // ---- the mm syscalls ------------------------------------------------

    pub fn mmap(&mut self, req: MapRequest) -> Result<u64, Errno> {
        let len = page_up(req.len).ok_or(Errno::ENOMEM)?;
        if len == 0 {
            return Err(Errno::EINVAL);
        }
        let fixed = req.flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0;
        if let Some(end) = page_down(req.addr).checked_add(len) {
            if (fixed || req.addr != 0) && page_down(req.addr) < PATCH_AREA_END && end > PATCH_AREA
            {
                // The program wants the syscall trampolines' addresses.
                self.unpatch_range(page_down(req.addr), end);
            }
        }
        let addr = if fixed {
            if !req.addr.is_multiple_of(PAGE_SIZE) {
                return Err(Errno::EINVAL);
            }
            let end = req.addr.checked_add(len).ok_or(Errno::ENOMEM)?;
            if end > self.max_addr || req.addr < MIN_ADDR {
                return Err(if req.addr < MIN_ADDR {
                    Errno::EPERM
                } else {
                    Errno::ENOMEM
                });
            }
            if self.reserved.iter().any(|&(s, e)| s < end && e > req.addr) {
                return Err(Errno::ENOMEM);
            }
            if self.overlaps(req.addr, end) {
                if req.flags & MAP_FIXED_NOREPLACE != 0 && req.flags & MAP_FIXED == 0 {
                    return Err(Errno::EEXIST);
                }
                self.remove_range(req.addr, end);
            }
            req.addr
        } else {
            let hint = page_down(req.addr);
            match hint.checked_add(len) {
                Some(end)
                    if hint >= MIN_ADDR && end <= self.max_addr && !self.overlaps(hint, end) =>
                {
                    hint
                }
                _ => self.find_free(len, self.mmap_base).ok_or(Errno::ENOMEM)?,
            }
        };
        self.vmas.insert(
            addr,
            Vma {
                end: addr + len,
                prot: req.prot,
                may_write: req.may_write,
                shared: req.flags & MAP_TYPE != MAP_PRIVATE,
                growsdown: req.flags & MAP_GROWSDOWN != 0,
                backing: req.backing,
                name: req.name,
                dontfork: false,
                wipeonfork: false,
                userfault: None,
            },
        );
        self.try_merge(addr);
        if let Some((_, after)) = self.vmas.range(addr + len..).next() {
            let _ = after;
            self.try_merge(addr + len);
        }
        Ok(addr)
    }

    /// `remap_file_pages`, as Linux emulates it since 3.16: the pages
    /// `[start, start + size)` of a shared mapping (or of a run of
    /// adjacent mappings of the same object with the same attributes) are
    /// mapped again at object page `pgoff`, with the mapping's own
    /// protection. Returns the new mapping's start and length (to
    /// populate).
    pub fn remap_file_pages(
        &mut self,
        start: u64,
        size: u64,
        pgoff: u64,
    ) -> Result<(u64, u64), Errno> {
        let start = page_down(start);
        let size = page_down(size);
        let end = start
            .checked_add(size)
            .filter(|&e| e > start)
            .ok_or(Errno::EINVAL)?;
        if pgoff.checked_add(size / PAGE_SIZE).is_none() {
            return Err(Errno::EINVAL);
        }
        let (_, vma) = self.vma_at(start).ok_or(Errno::EINVAL)?;
        let backing = match (&vma.backing, vma.shared) {
            (Some(b), true) => b.clone(),
            _ => return Err(Errno::EINVAL),
        };
        let same = |v: &Vma| {
            v.prot == vma.prot
                && v.shared
                && v.may_write == vma.may_write
                && v.growsdown == vma.growsdown
                && v.backing
                    .as_ref()
                    .is_some_and(|b| Arc::ptr_eq(&b.obj, &backing.obj))
        };
        let mut covered = vma.end;
        while covered < end {
            match self.vmas.get(&covered) {
                Some(next) if same(next) => covered = next.end,
                _ => return Err(Errno::EINVAL),
            }
        }
        let offset = pgoff.checked_mul(PAGE_SIZE).ok_or(Errno::EINVAL)?;
        let req = MapRequest {
            addr: start,
            len: size,
            prot: vma.prot,
            flags: MAP_SHARED | MAP_FIXED,
            backing: Some(Backing {
                obj: backing.obj,
                offset,
            }),
            may_write: vma.may_write,
            name: vma.name.clone(),
        };
        self.mmap(req).map(|a| (a, size))
    }

    pub fn munmap(&mut self, addr: u64, len: u64) -> Result<(), Errno> {
        if !addr.is_multiple_of(PAGE_SIZE) || len == 0 {
            return Err(Errno::EINVAL);
        }
        let len = page_up(len).ok_or(Errno::EINVAL)?;
        let end = addr.checked_add(len).ok_or(Errno::EINVAL)?;
        if end > self.max_addr {
            return Err(Errno::EINVAL);
        }
        self.remove_range(addr, end);
        Ok(())
    }

    /// Checks that `[start, end)` is fully covered by VMAs.
    fn fully_mapped(&self, start: u64, end: u64) -> bool {
        let mut pos = start;
        while pos < end {
            match self.vma_at(pos) {
                Some((_, v)) => pos = v.end,
                None => return false,
            }
        }
        true
    }

    pub fn mprotect(&mut self, addr: u64, len: u64, prot: u32) -> Result<(), Errno> {
        if !addr.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        if prot & !(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_GROWSDOWN | PROT_GROWSUP) != 0 {
            return Err(Errno::EINVAL);
        }
        let prot = prot & (PROT_READ | PROT_WRITE | PROT_EXEC);
        let len = page_up(len).ok_or(Errno::ENOMEM)?;
        let end = addr.checked_add(len).ok_or(Errno::ENOMEM)?;
        if len == 0 {
            return Ok(());
        }
        if !self.fully_mapped(addr, end) {
            return Err(Errno::ENOMEM);
        }
        if prot & PROT_WRITE != 0 {
            let denied = self
                .vmas
                .range(..end)
                .rev()
                .take_while(|(_, v)| v.end > addr)
                .any(|(_, v)| v.shared && !v.may_write);
            if denied {
                return Err(Errno::EACCES);
            }
        }
        self.unpatch_range(addr, end);
        self.split_at(addr);
        self.split_at(end);
        for (_, v) in self.vmas.range_mut(addr..end) {
            v.prot = prot;
        }
        self.unmap_backed(addr, end);
        Ok(())
    }

    pub fn brk(&mut self, new: u64) -> u64 {
        if new < self.brk_start {
            return self.brk_end;
        }
        let old_top = page_up(self.brk_end).unwrap_or(self.brk_end);
        let Some(new_top) = page_up(new) else {
            return self.brk_end;
        };
        if new_top > old_top {
            self.unpatch_range(old_top, new_top);
            if new_top > self.max_addr || self.overlaps(old_top, new_top) {
                return self.brk_end;
            }
            self.vmas.insert(
                old_top,
                Vma {
                    end: new_top,
                    prot: PROT_READ | PROT_WRITE,
                    may_write: true,
                    shared: false,
                    growsdown: false,
                    backing: None,
                    name: VmaName::Heap,
                    dontfork: false,
                    wipeonfork: false,
                    userfault: None,
                },
            );
            self.try_merge(old_top);
        } else if new_top < old_top {
            self.remove_range(new_top, old_top);
        }
        self.brk_end = new;
        new
    }

    pub fn mremap(
        &mut self,
        old: u64,
        old_len: u64,
        new_len: u64,
        flags: u32,
        new_addr: u64,
    ) -> Result<u64, Errno> {
        if flags & !(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP) != 0
            || !old.is_multiple_of(PAGE_SIZE)
        {
            return Err(Errno::EINVAL);
        }
        if flags & MREMAP_FIXED != 0 && flags & MREMAP_MAYMOVE == 0 {
            return Err(Errno::EINVAL);
        }
        if flags & MREMAP_DONTUNMAP != 0 {
            return Err(Errno::EINVAL);
        }
        let old_len = page_up(old_len).ok_or(Errno::EINVAL)?;
        let new_len = page_up(new_len).ok_or(Errno::ENOMEM)?;
        if new_len == 0 {
            return Err(Errno::EINVAL);
        }
        let old_end = old.checked_add(old_len).ok_or(Errno::EFAULT)?;
        self.unpatch_range(old, old_end);
        let (vstart, v) = self.vma_at(old).ok_or(Errno::EFAULT)?;
        if v.end < old_end || old_len == 0 {
            return Err(if old_len == 0 {
                Errno::EINVAL
            } else {
                Errno::EFAULT
            });
        }
        let _ = vstart;
        if flags & MREMAP_FIXED != 0 {
            if !new_addr.is_multiple_of(PAGE_SIZE) {
                return Err(Errno::EINVAL);
            }
            let nend = new_addr.checked_add(new_len).ok_or(Errno::EINVAL)?;
            if new_addr < old_end && nend > old {
                return Err(Errno::EINVAL);
            }
            if nend > self.max_addr || new_addr < MIN_ADDR {
                return Err(Errno::EINVAL);
            }
            self.remove_range(new_addr, nend);
            return self.move_range(old, old_len, new_addr, new_len);
        }
        if new_len <= old_len {
            if new_len < old_len {
                self.remove_range(old + new_len, old_end);
            }
            return Ok(old);
        }
        let grow_end = old.checked_add(new_len).ok_or(Errno::ENOMEM)?;
        if v.end == old_end && grow_end <= self.max_addr && !self.overlaps(old_end, grow_end) {
            self.split_vma_at(old);
            if let Some(v) = self.vmas.get_mut(&old) {
                v.end = grow_end;
            }
            return Ok(old);
        }
        if flags & MREMAP_MAYMOVE == 0 {
            return Err(Errno::ENOMEM);
        }
        let dest = self
            .find_free(new_len, self.mmap_base)
            .ok_or(Errno::ENOMEM)?;
        self.move_range(old, old_len, dest, new_len)
    }

    /// Moves the mapping at `[old, old+old_len)` to `new`, sized `new_len`.
    fn move_range(&mut self, old: u64, old_len: u64, new: u64, new_len: u64) -> Result<u64, Errno> {
        let old_end = old + old_len;
        self.split_at(old);
        self.split_at(old_end);
        let Some(mut v) = self.vmas.remove(&old) else {
            return Err(Errno::EFAULT);
        };
        self.unmap_backed(old, old_end);
        let keep = old_len.min(new_len);
        let moved: Vec<(u64, Pma)> = self
            .pmas
            .range(old..old + keep)
            .map(|(&k, &p)| (k, p))
            .collect();
        self.split_pma_at(old + keep);
        for (k, p) in &moved {
            self.remove_pma(*k);
            let end = p.end.min(old + keep);
            self.insert_pma(
                new + (k - old),
                Pma {
                    end: new + (end - old),
                    off: p.off,
                    kind: p.kind,
                },
            );
        }
        // Whatever lies past the kept part is dropped.
        if old + keep < old_end {
            self.drop_pmas(old + keep, old_end);
        }
        v.end = new + new_len;
        self.vmas.insert(new, v);
        Ok(new)
    }

    pub fn madvise(&mut self, addr: u64, len: u64, advice: i32) -> Result<(), Errno> {
        if !addr.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        let len = page_up(len).ok_or(Errno::EINVAL)?;
        let end = addr.checked_add(len).ok_or(Errno::EINVAL)?;
        match advice {
            MADV_DONTFORK | MADV_DOFORK | MADV_WIPEONFORK | MADV_KEEPONFORK => {
                self.fork_advice(addr, end, advice)
            }
            MADV_NORMAL | MADV_RANDOM | MADV_SEQUENTIAL | MADV_WILLNEED | MADV_MERGEABLE
            | MADV_UNMERGEABLE | MADV_HUGEPAGE | MADV_NOHUGEPAGE | MADV_DONTDUMP | MADV_DODUMP
            | MADV_COLD | MADV_PAGEOUT | MADV_FREE => {
                if len > 0 && !self.fully_mapped(addr, end) {
                    return Err(Errno::ENOMEM);
                }
                Ok(())
            }
            MADV_REMOVE => {
                if len == 0 {
                    return Ok(());
                }
                if !self.fully_mapped(addr, end) {
                    return Err(Errno::ENOMEM);
                }
                // As Linux: the range must be shared, writable file (or
                // shared anonymous) memory; its pages are removed from the
                // object itself, so every mapping of it reads zeroes.
                let mut holes = Vec::new();
                for (&s, v) in self.vmas.range(..end).rev() {
                    if v.end <= addr {
                        break;
                    }
                    let Some(b) = &v.backing else {
                        return Err(Errno::EINVAL);
                    };
                    if !(v.shared && v.may_write) {
                        return Err(Errno::EACCES);
                    }
                    let (from, to) = (s.max(addr), v.end.min(end));
                    holes.push((b.obj.clone(), b.offset + (from - s), to - from));
                }
                for (obj, off, n) in holes {
                    obj.punch_hole(off, n)?;
                }
                self.unpatch_range(addr, end);
                self.drop_pmas(addr, end);
                Ok(())
            }
            MADV_DONTNEED => {
                if len == 0 {
                    return Ok(());
                }
                if !self.fully_mapped(addr, end) {
                    return Err(Errno::ENOMEM);
                }
                self.unpatch_range(addr, end);
                self.drop_pmas(addr, end);
                Ok(())
            }
            _ => Err(Errno::EINVAL),
        }
    }

    /// Records what a `fork` child gets of `[addr, end)`.
    fn fork_advice(&mut self, addr: u64, end: u64, advice: i32) -> Result<(), Errno> {
        if addr == end {
            return Ok(());
        }
        if !self.fully_mapped(addr, end) {
            return Err(Errno::ENOMEM);
        }
        // As Linux: only private anonymous memory can be wiped.
        if advice == MADV_WIPEONFORK
            && self
                .vmas
                .range(..end)
                .rev()
                .take_while(|(_, v)| v.end > addr)
                .any(|(_, v)| v.backing.is_some() || v.shared)
        {
            return Err(Errno::EINVAL);
        }
        self.split_at(addr);
        self.split_at(end);
        for (_, v) in self.vmas.range_mut(addr..end) {
            match advice {
                MADV_DONTFORK => v.dontfork = true,
                MADV_DOFORK => v.dontfork = false,
                MADV_WIPEONFORK => v.wipeonfork = true,
                _ => v.wipeonfork = false,
            }
        }
        self.try_merge(addr);
        self.try_merge(end);
        Ok(())
    }

    /// After `obj` shrank to `from` bytes (page-aligned): drops every page
    /// this address space maps of it from that offset on, private copies
    /// included, as Linux's truncation does, so a later fault sees the
    /// object again (zeroes once it grew back, `SIGBUS` past its end).
    pub fn zap_object(&mut self, obj: &Arc<dyn Mappable>, from: u64) {
        let ranges: Vec<(u64, u64)> = self
            .vmas
            .iter()
            .filter_map(|(&s, v)| {
                let b = v.backing.as_ref()?;
                if !Arc::ptr_eq(&b.obj, obj) {
                    return None;
                }
                let skip = from.saturating_sub(b.offset);
                let start = s.checked_add(skip)?;
                (start < v.end).then_some((start, v.end))
            })
            .collect();
        for (s, e) in ranges {
            self.unpatch_range(s, e);
            self.drop_pmas(s, e);
        }
    }

    /// Whether a shared mapping of `obj` here may be written (`PROT_WRITE`
    /// now or later): what makes `F_SEAL_WRITE` fail with `EBUSY`.
    pub fn maps_shared_writable(&self, obj: &Arc<dyn Mappable>) -> bool {
        self.vmas.values().any(|v| {
            v.shared && v.may_write && v.backing.as_ref().is_some_and(|b| Arc::ptr_eq(&b.obj, obj))
        })
    }

    pub fn msync(&mut self, addr: u64, len: u64, flags: i32) -> Result<(), Errno> {
        if !addr.is_multiple_of(PAGE_SIZE)
            || flags & !(MS_ASYNC | MS_SYNC | MS_INVALIDATE) != 0
            || (flags & MS_ASYNC != 0 && flags & MS_SYNC != 0)
        {
            return Err(Errno::EINVAL);
        }
        let len = page_up(len).ok_or(Errno::ENOMEM)?;
        let end = addr.checked_add(len).ok_or(Errno::ENOMEM)?;
        if !self.fully_mapped(addr, end) {
            return Err(Errno::ENOMEM);
        }
        Ok(())
    }

    /// One byte per page: bit 0 set if the page is resident.
    pub fn mincore(&self, addr: u64, len: u64) -> Result<Vec<u8>, Errno> {
        if !addr.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        let len = page_up(len).ok_or(Errno::ENOMEM)?;
        let end = addr.checked_add(len).ok_or(Errno::ENOMEM)?;
        if !self.fully_mapped(addr, end) {
            return Err(Errno::ENOMEM);
        }
        let mut out = Vec::with_capacity((len / PAGE_SIZE) as usize);
        let mut a = addr;
        while a < end {
            out.push(self.pma_at(a).is_some() as u8);
            a += PAGE_SIZE;
        }
        Ok(out)
    }

    // ---- backing and faults ---------------------------------------------

    fn pma_at(&self, addr: u64) -> Option<(u64, Pma)> {
        self.pmas
            .range(..=addr)
            .next_back()
            .filter(|(_, p)| p.end > addr)
            .map(|(&s, &p)| (s, p))
    }

    /// Extends a growsdown VMA above `addr` to cover it, if allowed.
    fn grow_stack(&mut self, addr: u64) -> bool {
        let Some((&vs, v)) = self.vmas.range(addr..).next() else {
            return false;
        };
        if !v.growsdown {
            return false;
        }
        let new_start = page_down(addr);
        if v.end - new_start > self.stack_limit.max(v.end - vs) {
            return false;
        }
        if let Some((_, prev)) = self.vmas.range(..vs).next_back() {
            if prev.end + STACK_GUARD_GAP > new_start {
                return false;
            }
        }
        if let Some(v) = self.vmas.remove(&vs) {
            self.vmas.insert(new_start, v);
        }
        true
    }

    /// Makes sure a PMA backs `addr`, breaking copy-on-write if `write`.
    /// Returns the PMA's start and value.
    fn ensure_pma(&mut self, addr: u64, write: bool) -> Result<(u64, Pma), FaultError> {
        let (vstart, v) = self.vma_at(addr).ok_or(SEGV_MAP)?;
        let (vend, shared, backing) = (v.end, v.shared, v.backing.clone());
        if let Some((ps, p)) = self.pma_at(addr) {
            if write && !shared && !self.writable_in_place(&p) {
                return self.break_cow(addr, ps, p);
            }
            return Ok((ps, p));
        }
        let page = page_down(addr);
        let prev_end = self
            .pmas
            .range(..page)
            .next_back()
            .map_or(vstart, |(_, p)| p.end.max(vstart));
        let next_start = self
            .pmas
            .range(page..)
            .next()
            .map_or(vend, |(&s, _)| s.min(vend));
        let (start, pma) = match backing {
            None => {
                let win = page & !(ANON_CHUNK - 1);
                let start = win.max(prev_end);
                let end = (win + ANON_CHUNK).min(next_start);
                // A chunk next to the one faulted in last, or the first
                // page of a large mapping: memory being filled in order,
                // which gets pages that exist already, zeroed, all mapped
                // at once (~1.5 us a page instead of ~5 us of host faults
                // on fresh pages).
                let sequential = self.last_anon_chunk == win.wrapping_sub(ANON_CHUNK)
                    || self.last_anon_chunk == win + ANON_CHUNK
                    || (page == vstart && vend - vstart >= 4 * ANON_CHUNK);
                self.last_anon_chunk = win;
                let resident = sequential
                    .then(|| self.mf.allocate_resident(end - start))
                    .flatten();
                self.populate = resident.map(|_| start);
                let off = match resident {
                    Some(off) => off,
                    None => self.mf.allocate(end - start).map_err(|_| FaultError {
                        signo: SIGBUS,
                        code: BUS_ADRERR,
                    })?,
                };
                (
                    start,
                    Pma {
                        end,
                        off,
                        kind: PmaKind::Owned,
                    },
                )
            }
            Some(b) => {
                let obj_off = b.offset + (page - vstart);
                let size_pages = page_up(b.obj.size()).unwrap_or(u64::MAX);
                if obj_off >= size_pages {
                    return Err(FaultError {
                        signo: SIGBUS,
                        code: BUS_ADRERR,
                    });
                }
                let (foff, flen) = b.obj.translate(obj_off).map_err(|_| FaultError {
                    signo: SIGBUS,
                    code: BUS_ADRERR,
                })?;
                let len = page_down(flen)
                    .max(PAGE_SIZE)
                    .min(next_start - page)
                    .min(size_pages - obj_off);
                // The pages before it in the same run of the memory file
                // come along (code is entered anywhere, not in order).
                let back = page_down(b.obj.contiguous_before(obj_off)).min(page - prev_end);
                (
                    page - back,
                    Pma {
                        end: page + len,
                        off: foff - back,
                        kind: PmaKind::Object,
                    },
                )
            }
        };
        self.insert_pma(start, pma);
        if write && !shared && !self.writable_in_place(&pma) {
            return self.break_cow(addr, start, pma);
        }
        Ok((start, pma))
    }

    /// Replaces the object's pages around `addr` with a private copy.
    fn break_cow(&mut self, addr: u64, ps: u64, p: Pma) -> Result<(u64, Pma), FaultError> {
        let start = page_down(addr).max(ps);
        // A debugger's (or the syscall patcher's) write into code copies
        // just its page: nothing else there will be written. So does a
        // write to a private mapping of an object that may change: the
        // pages around it must keep showing the object's changes.
        let changing = self
            .vma_at(start)
            .and_then(|(_, v)| v.backing.as_ref())
            .is_some_and(|b| b.obj.may_change());
        let chunk = if changing || self.read_only(start, start + PAGE_SIZE) {
            PAGE_SIZE
        } else {
            COW_CHUNK
        };
        let end = (start + chunk).min(p.end);
        let off = self
            .mf
            .allocate_for_copy(end - start)
            .map_err(|_| FaultError {
                signo: SIGBUS,
                code: BUS_ADRERR,
            })?;
        self.mf.copy(off, p.off + (start - ps), end - start);
        self.split_pma_at(start);
        self.split_pma_at(end);
        let np = Pma {
            end,
            off,
            kind: PmaKind::Owned,
        };
        self.remove_pma(start);
        self.insert_pma(start, np);
        // The host may map the shared original read-only here.
        self.pending_unmaps.push((start, end - start));
        Ok((start, np))
    }

    /// Handles an application fault at `addr`; `accerr` says the host had a
    /// mapping that forbade the access. On success the access can be
    /// retried; on failure the application gets the returned signal.
    pub fn handle_fault(
        &mut self,
        space: &mut dyn AddressSpace,
        addr: u64,
        accerr: bool,
    ) -> Result<(), FaultError> {
        if self.vma_at(addr).is_none() && !self.grow_stack(addr) {
            return Err(SEGV_MAP);
        }
        let (_, v) = self.vma_at(addr).ok_or(SEGV_MAP)?;
        let prot = v.prot;
        if prot == PROT_NONE {
            return Err(SEGV_ACC);
        }
        let shared = v.shared;
        if accerr {
            let cow = prot & PROT_WRITE != 0
                && !shared
                && self
                    .pma_at(addr)
                    .is_some_and(|(_, p)| p.kind != PmaKind::Owned);
            if !cow {
                return Err(SEGV_ACC);
            }
            self.ensure_pma(addr, true)?;
        } else {
            self.ensure_pma(addr, false)?;
        }
        self.map_around(space, addr).map_err(|_| SEGV_MAP)
    }

    /// Maps the PMA containing `addr` (clipped to its VMA) into the host,
    /// after the host changes still queued.
    fn map_around(&mut self, space: &mut dyn AddressSpace, addr: u64) -> Result<(), Errno> {
        let (vstart, v) = self.vma_at(addr).ok_or(Errno::EFAULT)?;
        let (vend, mut prot, shared) = (v.end, v.prot, v.shared);
        let (ps, p) = self.pma_at(addr).ok_or(Errno::EFAULT)?;
        if !shared && !self.writable_in_place(&p) {
            prot &= !PROT_WRITE;
        }
        if self.populate.take() == Some(ps) {
            prot |= platform::PROT_POPULATE;
        }
        let start = ps.max(vstart);
        let end = p.end.min(vend);
        // The mapping replaces whatever the host has there: unmaps queued
        // inside it (a copy-on-write break's, say) need no round trip.
        self.pending_unmaps
            .retain(|&(s, l)| s < start || s + l > end);
        self.sync_host(space)?;
        let mut maps = Vec::new();
        self.push_maps(&mut maps, start, end, p.off + (start - ps), prot);
        if !shared {
            self.fault_around_file(addr, &mut maps);
        }
        space.map_files(&maps)
    }

    /// Fault-around across a file's private mappings: the other mappings
    /// of the file holding `addr` nearby (a program's other segments, as
    /// its loader mapped them) that were never faulted in, where the
    /// memory file holds their pages already (another process here read
    /// them), go into the same host batch as the faulting one. A dynamic
    /// `/bin/true` took ~20 file faults per exec, one per segment of the
    /// binary, the interpreter and libc; mapping ahead in separate host
    /// calls at `mmap` cost as much as the faults it saved. Mapped as a
    /// fault maps them (read-only while copy-on-write is due); a page not
    /// cached yet is left to its own fault, so nothing is read that may
    /// never be touched.
    fn fault_around_file(&mut self, addr: u64, maps: &mut Vec<(u64, u64, u64, u32)>) {
        /// How far from the fault other mappings are looked for (a
        /// library's segments lie within its own size of each other).
        const AROUND: u64 = 16 << 20;
        let Some((vs, v)) = self.vma_at(addr) else {
            return;
        };
        let (VmaName::File { .. }, Some(b)) = (&v.name, &v.backing) else {
            return;
        };
        let obj = b.obj.clone();
        let same = |w: &Vma| {
            w.backing
                .as_ref()
                .is_some_and(|wb| std::ptr::addr_eq(Arc::as_ptr(&wb.obj), Arc::as_ptr(&obj)))
        };
        let others: Vec<(u64, u64, u64, u32)> = self
            .vmas
            .range(addr.saturating_sub(AROUND)..addr.saturating_add(AROUND))
            .filter(|&(&s, w)| {
                s != vs
                    && !w.shared
                    && w.prot != PROT_NONE
                    && matches!(w.name, VmaName::File { .. })
                    && same(w)
            })
            .filter_map(|(&s, w)| Some((s, w.end, w.backing.as_ref()?.offset, w.prot)))
            .collect();
        for (s, e, off, vprot) in others {
            if self.pma_at(s).is_some() || off >= obj.size() || !obj.cached(off) {
                continue;
            }
            let Ok((ps, p)) = self.ensure_pma(s, false) else {
                continue;
            };
            let prot = if self.writable_in_place(&p) {
                vprot
            } else {
                vprot & !PROT_WRITE
            };
            let (start, end) = (ps.max(s), p.end.min(e));
            self.push_maps(maps, start, end, p.off + (start - ps), prot);
        }
    }

    /// Adds the host mappings of `[start, end)` (at memory-file offset
    /// `off`) to `maps`: pages under a debugger's write watchpoint lose
    /// `PROT_WRITE` and those under a read/write one every access, so the
    /// accesses fault.
    fn push_maps(
        &self,
        maps: &mut Vec<(u64, u64, u64, u32)>,
        start: u64,
        end: u64,
        off: u64,
        prot: u32,
    ) {
        let mut pos = start;
        for (&w, &withheld) in self.watched.range(page_down(start)..end) {
            let wprot = prot & !withheld;
            if wprot == prot {
                continue;
            }
            let w0 = w.max(start);
            let w1 = (w + PAGE_SIZE).min(end);
            if pos < w0 {
                maps.push((pos, w0 - pos, off + (pos - start), prot));
            }
            maps.push((w0, w1 - w0, off + (w0 - start), wprot));
            pos = w1;
        }
        if pos < end {
            maps.push((pos, end - pos, off + (pos - start), prot));
        }
    }

    /// Protects `pages` on the host for a debugger's watchpoints (each
    /// withholding the given `PROT_*` bits), and lifts the protection of
    /// pages no longer watched.
    pub fn set_watched(&mut self, pages: BTreeMap<u64, u32>) {
        let changed: BTreeSet<u64> = self
            .watched
            .iter()
            .chain(pages.iter())
            .filter(|(p, a)| self.watched.get(p) != Some(a) || pages.get(p) != Some(a))
            .map(|(&p, _)| p)
            .collect();
        for p in changed {
            self.pending_unmaps.push((p, PAGE_SIZE));
        }
        self.watched = pages;
    }

    /// Whether an access to `addr` may fault because of a watchpoint.
    pub fn is_watched(&self, addr: u64) -> bool {
        self.watched.contains_key(&page_down(addr))
    }

    /// Maps the watched page holding `addr` with its VMA's protection for
    /// the one instruction that accesses it; false when the VMA forbids
    /// what the watchpoint withheld (a real protection fault).
    pub fn map_unwatched(
        &mut self,
        space: &mut dyn AddressSpace,
        addr: u64,
    ) -> Result<bool, Errno> {
        let page = page_down(addr);
        let (_, v) = self.vma_at(page).ok_or(Errno::EFAULT)?;
        let withheld = self.watched.get(&page).copied().unwrap_or(0);
        if v.prot & withheld == 0 {
            return Ok(false);
        }
        let prot = v.prot;
        let write = prot & PROT_WRITE != 0;
        let (ps, p) = self.ensure_pma(page, write).map_err(|_| Errno::EFAULT)?;
        self.sync_host(space)?;
        space.map_file(page, PAGE_SIZE, p.off + (page - ps), prot)?;
        Ok(true)
    }

    /// Write-protects a watched page again after [`Self::map_unwatched`].
    pub fn rewatch(&mut self, addr: u64) {
        self.pending_unmaps.push((page_down(addr), PAGE_SIZE));
    }

    /// Maps every resident range into a fresh host address space (a fork
    /// child's), so the child does not fault in, one by one, what its
    /// parent had already touched.
    pub fn map_resident(&mut self, space: &mut dyn AddressSpace) -> Result<(), Errno> {
        self.sync_host(space)?;
        let pmas: Vec<(u64, Pma)> = self.pmas.iter().map(|(&s, &p)| (s, p)).collect();
        let mut maps = Vec::new();
        for (ps, p) in pmas {
            let vmas: Vec<(u64, u64, u32, bool)> = self
                .vmas
                .range(..p.end)
                .rev()
                .take_while(|(_, v)| v.end > ps)
                .map(|(&vs, v)| (vs, v.end, v.prot, v.shared))
                .collect();
            for (vs, ve, mut prot, shared) in vmas {
                if prot == PROT_NONE {
                    continue;
                }
                if !shared && !self.writable_in_place(&p) {
                    prot &= !PROT_WRITE;
                }
                let start = ps.max(vs);
                let end = p.end.min(ve);
                self.push_maps(&mut maps, start, end, p.off + (start - ps), prot);
            }
        }
        // One host mapping for neighbours that continue each other.
        let mut merged: Vec<(u64, u64, u64, u32)> = Vec::with_capacity(maps.len());
        for m in maps {
            match merged.last_mut() {
                Some(l) if l.0 + l.1 == m.0 && l.2 + l.1 == m.2 && l.3 == m.3 => l.1 += m.1,
                _ => merged.push(m),
            }
        }
        space.map_files(&merged)
    }

    /// Makes `[addr, addr+len)` resident and mapped now (`MAP_POPULATE`,
    /// the loader's stacks), ignoring failures as Linux does.
    pub fn populate(&mut self, space: &mut dyn AddressSpace, addr: u64, len: u64) {
        let mut a = page_down(addr);
        let end = addr.saturating_add(len);
        while a < end {
            if self.ensure_pma(a, false).is_err() || self.map_around(space, a).is_err() {
                return;
            }
            match self.pma_at(a) {
                Some((_, p)) => a = p.end,
                None => return,
            }
        }
    }

    // ---- copying to and from application memory -------------------------

    /// Walks `[addr, addr+len)` page range by range, with the memory-file
    /// offset of each piece; fails with `EFAULT` where the walk stops short.
    fn for_each_range(
        &mut self,
        addr: u64,
        len: usize,
        write: bool,
        f: impl FnMut(&MemoryFile, u64, usize, usize),
    ) -> Result<(), Errno> {
        if self.walk(addr, len, write, Reach::Own, f) == len {
            Ok(())
        } else {
            Err(Errno::EFAULT)
        }
    }

    /// Calls `f(file, offset, at, n)` for each piece of `[addr, addr+len)`
    /// the access may touch, from the start until the first that it may
    /// not; returns how many bytes were covered. `force` is a debugger's
    /// access (Linux's `FOLL_FORCE`): any mapping may be read, and a private
    /// one written (through a private copy) whatever its protection.
    fn walk(
        &mut self,
        addr: u64,
        len: usize,
        write: bool,
        reach: Reach,
        mut f: impl FnMut(&MemoryFile, u64, usize, usize),
    ) -> usize {
        self.walk_while(addr, len, write, reach, |mf, off, at, n| {
            f(mf, off, at, n);
            true
        })
    }

    /// [`MemoryManager::walk`] whose `f` may stop it: a piece `f` refuses
    /// (returns false for) is not counted in the bytes covered.
    fn walk_while(
        &mut self,
        addr: u64,
        len: usize,
        write: bool,
        reach: Reach,
        mut f: impl FnMut(&MemoryFile, u64, usize, usize) -> bool,
    ) -> usize {
        let force = reach == Reach::Debugger;
        let Some(end) = addr.checked_add(len as u64) else {
            return 0;
        };
        let mut pos = addr;
        while pos < end {
            let Some((_, v)) = self.vma_at(pos) else {
                break;
            };
            let allowed = match (write, force) {
                (false, false) => v.prot != PROT_NONE,
                (false, true) => true,
                (true, false) => v.prot & PROT_WRITE != 0,
                (true, true) => !v.shared || v.prot & PROT_WRITE != 0,
            };
            // Secret memory (memfd_secret) is reachable from its own
            // address space only: Linux's get_user_pages refuses it.
            let secret = reach != Reach::Own && v.backing.as_ref().is_some_and(|b| b.obj.secret());
            if !allowed || secret {
                break;
            }
            // A missing page of a range registered with a userfaultfd: the
            // sentry's own access does not wait for the handler (see
            // docs/syscalls.md, userfaultfd), it fails.
            if self.userfaults && v.live_userfault().is_some() && self.pma_at(pos).is_none() {
                break;
            }
            let vend = v.end;
            let Ok((ps, p)) = self.ensure_pma(pos, write) else {
                break;
            };
            let chunk_end = p.end.min(vend).min(end);
            let n = (chunk_end - pos) as usize;
            if !f(&self.mf, p.off + (pos - ps), (pos - addr) as usize, n) {
                break;
            }
            pos = chunk_end;
        }
        (pos - addr) as usize
    }

    /// The sentry's own addresses of the memory behind `[addr,
    /// addr+len)`, so the host can move data between a file and
    /// application memory in one call (`preadv`/`pwritev` into or from
    /// these ranges) instead of through a buffer and a copy. The pages
    /// are found as a copy would find them: faulted in, allocated, made
    /// this address space's own before a write (`write`: the host will
    /// store into them). Fills `out` from the start, merging ranges that
    /// continue each other in the memory file, and returns how many
    /// entries it filled and how many bytes from `addr` they cover: fewer
    /// than `len` where `out` is full or the access may go no further (0:
    /// `EFAULT` for a copy). `None` if the memory file is not mapped for
    /// copies (it is on a disk and copied with calls).
    ///
    /// The ranges stay this address space's memory only while the caller
    /// holds it (`&mut self`, under the manager's lock): an unmap by
    /// another thread could otherwise hand the pages to someone else.
    pub fn host_ranges(
        &mut self,
        addr: u64,
        len: usize,
        write: bool,
        out: &mut [libc::iovec],
    ) -> Option<(usize, usize)> {
        if !self.mf.mapped_for_copies() {
            return None;
        }
        let mut used = 0usize;
        // (The memory file offset where the last entry ends.)
        let mut last_end = u64::MAX;
        let covered = self.walk_while(addr, len, write, Reach::Own, |mf, off, _, n| {
            if used > 0 && off == last_end {
                out[used - 1].iov_len += n;
            } else if used < out.len() {
                out[used] = libc::iovec {
                    iov_base: mf.raw_ptr(off, n).cast(),
                    iov_len: n,
                };
                used += 1;
            } else {
                return false;
            }
            last_end = off + n as u64;
            true
        });
        Some((used, covered))
    }

    /// A futex's identity, as Linux keys it: in private memory this
    /// address space and the address (so copy-on-write moving the page
    /// never strands a waiter), in shared memory the memory-file offset (so
    /// processes sharing the memory meet).
    pub fn futex_key(&mut self, addr: u64) -> Result<FutexKey, Errno> {
        if !addr.is_multiple_of(4) {
            return Err(Errno::EINVAL);
        }
        let (_, v) = self.vma_at(addr).ok_or(Errno::EFAULT)?;
        if !v.shared {
            return Ok(FutexKey((self.id as u128) << 64 | addr as u128));
        }
        let (ps, p) = self.ensure_pma(addr, false).map_err(|_| Errno::EFAULT)?;
        Ok(FutexKey((p.off + (addr - ps)) as u128))
    }

    /// The memory-file offset of a futex word the sentry changes
    /// atomically (PI futexes, `FUTEX_WAKE_OP`): a private page is made
    /// this address space's own first, so the change lands where the
    /// application reads.
    pub fn futex_word(&mut self, addr: u64) -> Result<u64, Errno> {
        if !addr.is_multiple_of(4) {
            return Err(Errno::EINVAL);
        }
        let (_, v) = self.vma_at(addr).ok_or(Errno::EFAULT)?;
        let write = v.prot & PROT_WRITE != 0;
        let (ps, p) = self.ensure_pma(addr, write).map_err(|_| Errno::EFAULT)?;
        Ok(p.off + (addr - ps))
    }

    /// Whether `[addr, addr+len)` is mapped with the access a copy needs,
    /// checked before consuming data that could not be put back.
    pub fn check_access(&self, addr: u64, len: u64, write: bool) -> Result<(), Errno> {
        addr.checked_add(len).ok_or(Errno::EFAULT)?;
        if self.access_prefix(addr, len, write) < len {
            return Err(Errno::EFAULT);
        }
        Ok(())
    }

    /// How many bytes of `[addr, addr+len)`, from its start, are mapped
    /// with the access a copy needs: a read into a partly bad buffer takes
    /// only what fits, as Linux's copy stops at the first fault.
    pub fn access_prefix(&self, addr: u64, len: u64, write: bool) -> u64 {
        let end = addr.saturating_add(len);
        let mut pos = addr;
        while pos < end {
            let Some((_, v)) = self.vma_at(pos) else {
                break;
            };
            let ok = if write {
                v.prot & PROT_WRITE != 0
            } else {
                v.prot != PROT_NONE
            };
            if !ok {
                break;
            }
            pos = v.end;
        }
        pos.min(end) - addr
    }

    pub fn copy_in(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        let len = buf.len();
        self.for_each_range(addr, len, false, |mf, off, at, n| {
            mf.read(off, &mut buf[at..at + n])
        })
    }

    /// Copies in as much of `buf` as can be read from `addr` before the
    /// first fault (a page with no access, or a file page past the end of
    /// its file): Linux's write copies page by page and keeps what came
    /// before a fault. Returns the bytes copied.
    pub fn copy_in_prefix(&mut self, addr: u64, buf: &mut [u8]) -> usize {
        if self.copy_in(addr, buf).is_ok() {
            return buf.len();
        }
        let mut done = 0usize;
        while done < buf.len() {
            let at = addr.wrapping_add(done as u64);
            let n = ((PAGE_SIZE - at % PAGE_SIZE) as usize).min(buf.len() - done);
            if self.copy_in(at, &mut buf[done..done + n]).is_err() {
                break;
            }
            done += n;
        }
        done
    }

    pub fn copy_out(&mut self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        self.for_each_range(addr, data.len(), true, |mf, off, at, n| {
            mf.write(off, &data[at..at + n])
        })
    }

    pub fn zero_out(&mut self, addr: u64, len: u64) -> Result<(), Errno> {
        self.for_each_range(addr, len as usize, true, |mf, off, _, n| {
            mf.zero(off, n as u64)
        })
    }

    /// Zeroes as much of `[addr, addr+len)` as is writable from the
    /// start; returns how many bytes it zeroed.
    pub fn zero_out_partial(&mut self, addr: u64, len: u64) -> usize {
        self.walk(addr, len as usize, true, Reach::Own, |mf, off, _, n| {
            mf.zero(off, n as u64)
        })
    }

    /// Copies in as much of `[addr, addr+len)` as is readable; returns
    /// how many bytes from the start were copied.
    pub fn copy_in_partial(&mut self, addr: u64, buf: &mut [u8]) -> usize {
        self.walk(addr, buf.len(), false, Reach::Own, |mf, off, at, n| {
            mf.read(off, &mut buf[at..at + n])
        })
    }

    /// Copies out as much as is writable from the start; returns the count.
    pub fn copy_out_partial(&mut self, addr: u64, data: &[u8]) -> usize {
        self.walk(addr, data.len(), true, Reach::Own, |mf, off, at, n| {
            mf.write(off, &data[at..at + n])
        })
    }

    /// [`MemoryManager::copy_in_partial`] for another process
    /// (`process_vm_readv`): secret memory stops it.
    pub fn remote_read(&mut self, addr: u64, buf: &mut [u8]) -> usize {
        self.walk(addr, buf.len(), false, Reach::Remote, |mf, off, at, n| {
            mf.read(off, &mut buf[at..at + n])
        })
    }

    /// [`MemoryManager::copy_out_partial`] for another process
    /// (`process_vm_writev`): secret memory stops it.
    pub fn remote_write(&mut self, addr: u64, data: &[u8]) -> usize {
        self.walk(addr, data.len(), true, Reach::Remote, |mf, off, at, n| {
            mf.write(off, &data[at..at + n])
        })
    }

    /// Reads memory as a debugger does (`ptrace`, `/proc/pid/mem`): any
    /// mapped page, whatever its protection. Returns the bytes read.
    pub fn read_forced(&mut self, addr: u64, buf: &mut [u8]) -> usize {
        self.walk(addr, buf.len(), false, Reach::Debugger, |mf, off, at, n| {
            mf.read(off, &mut buf[at..at + n])
        })
    }

    /// Writes memory as a debugger does: a private mapping gets a private
    /// copy of the page whatever its protection, a shared one needs
    /// `PROT_WRITE`. Returns the bytes written.
    pub fn write_forced(&mut self, addr: u64, data: &[u8]) -> usize {
        let end = addr.saturating_add(data.len() as u64);
        self.unpatch_range(addr, end);
        self.write_raw(addr, data)
    }

    fn write_raw(&mut self, addr: u64, data: &[u8]) -> usize {
        self.walk(addr, data.len(), true, Reach::Debugger, |mf, off, at, n| {
            mf.write(off, &data[at..at + n])
        })
    }

    pub fn read_obj<T: Pod>(&mut self, addr: u64) -> Result<T, Errno> {
        let mut v = T::zeroed();
        self.copy_in(addr, v.as_bytes_mut())?;
        Ok(v)
    }

    pub fn write_obj<T: Pod>(&mut self, addr: u64, v: &T) -> Result<(), Errno> {
        self.copy_out(addr, v.as_bytes())
    }

    /// Reads a NUL-terminated string of at most `max` bytes (without the
    /// NUL); `ENAMETOOLONG` if longer.
    pub fn read_cstring(&mut self, addr: u64, max: usize) -> Result<Vec<u8>, Errno> {
        let mut out = Vec::new();
        let mut pos = addr;
        let mut buf = [0u8; 256];
        loop {
            // Never read across a page boundary we might not own.
            let n = (PAGE_SIZE - pos % PAGE_SIZE).min(buf.len() as u64) as usize;
            self.copy_in(pos, &mut buf[..n])?;
            if let Some(i) = buf[..n].iter().position(|&b| b == 0) {
                out.extend_from_slice(&buf[..i]);
                if out.len() > max {
                    return Err(Errno::ENAMETOOLONG);
                }
                return Ok(out);
            }
            out.extend_from_slice(&buf[..n]);
            if out.len() > max {
                return Err(Errno::ENAMETOOLONG);
            }
            pos = pos.checked_add(n as u64).ok_or(Errno::EFAULT)?;
        }
    }

    // ---- process lifecycle ----------------------------------------------

    /// The address space a `fork` child gets: same layout, shared memory
    /// shared, private memory shared copy-on-write where a PMA holds at
    /// least [`FORK_SHARE_MIN`] bytes of data and copied at once (only
    /// pages that hold data) below that, where copying is cheaper than the
    /// faults sharing costs. The caller must apply this address space's
    /// queued host unmaps ([`MemoryManager::sync_host`]) before any of its
    /// threads runs again: they write-protect what is now shared.
    pub fn fork(&mut self) -> Result<MemoryManager, Errno> {
        // Ranges the child gets no pages of: not at all (MADV_DONTFORK) or
        // zero-filled (MADV_WIPEONFORK).
        let withheld: Vec<(u64, u64)> = self
            .vmas
            .iter()
            .filter(|(_, v)| v.dontfork || v.wipeonfork)
            .map(|(&s, v)| (s, v.end))
            .collect();
        for &(s, e) in &withheld {
            self.split_pma_at(s);
            self.split_pma_at(e);
        }
        let mut vmas = self.vmas.clone();
        vmas.retain(|_, v| !v.dontfork);
        // Without UFFD_FEATURE_EVENT_FORK (not offered) a child's memory
        // is not registered with its parent's userfaultfds.
        if self.userfaults {
            for v in vmas.values_mut() {
                v.userfault = None;
            }
        }
        let mut child = MemoryManager {
            id: next_id(),
            mf: self.mf.clone(),
            vmas,
            pmas: BTreeMap::new(),
            pending_unmaps: Vec::new(),
            fork_uses: HashMap::new(),
            fork_unsettled: false,
            patches: self.patches.clone(),
            in_application: Arc::new(AtomicU32::new(0)),
            quiesce_hook: None,
            last_anon_chunk: u64::MAX,
            populate: None,
            watched: BTreeMap::new(),
            max_addr: self.max_addr,
            reserved: self.reserved.clone(),
            mmap_base: self.mmap_base,
            brk_start: self.brk_start,
            brk_end: self.brk_end,
            stack_limit: self.stack_limit,
            arg_start: self.arg_start,
            arg_end: self.arg_end,
            env_start: self.env_start,
            env_end: self.env_end,
            auxv: self.auxv.clone(),
            membarrier: self.membarrier,
            userfaults: false,
        };
        let pmas: Vec<(u64, Pma)> = self.pmas.iter().map(|(&s, &p)| (s, p)).collect();
        // Adjacent PMAs copied at once go into one allocation and one
        // child PMA, so the child maps them in one piece.
        let mut run: Vec<CopyPiece> = Vec::new();
        for (s, p) in pmas {
            if withheld.iter().any(|&(ws, we)| (ws..we).contains(&s)) {
                continue;
            }
            let len = p.end - s;
            // Private memory the program cannot write (code it had
            // patched, relocated and then protected data) is shared, never
            // copied: neither side is likely to write it again.
            let read_only = self.read_only(s, p.end);
            if run.last().is_some_and(|(_, last, _)| last.end != s) || p.kind != PmaKind::Owned {
                self.copy_run(&mut child, std::mem::take(&mut run))?;
            }
            match p.kind {
                PmaKind::Object => child.insert_pma(s, p),
                PmaKind::Forked { .. } => {
                    // Perhaps written in place so far: shared again now.
                    child.insert_pma(s, p);
                    if !read_only {
                        self.pending_unmaps.push((s, len));
                    }
                }
                PmaKind::Owned => {
                    let runs = self.mf.data_runs(p.off, len);
                    let data: u64 = runs.iter().map(|r| r.1).sum();
                    if data >= FORK_SHARE_MIN || read_only {
                        self.mf.fork_block(p.off, len);
                        let shared = Pma {
                            kind: PmaKind::Forked { block: p.off },
                            ..p
                        };
                        self.insert_pma(s, shared);
                        child.insert_pma(s, shared);
                        if !read_only {
                            self.pending_unmaps.push((s, len));
                        }
                        continue;
                    }
                    run.push((s, p, runs));
                }
            }
        }
        self.copy_run(&mut child, run)?;
        Ok(child)
    }

    /// Whether every mapping in `[start, end)` lacks `PROT_WRITE`.
    fn read_only(&self, start: u64, end: u64) -> bool {
        self.vmas
            .range(..end)
            .rev()
            .take_while(|(_, v)| v.end > start)
            .all(|(_, v)| v.prot & PROT_WRITE == 0)
    }

    /// Copies address-adjacent owned PMAs (with their data runs) into one
    /// new allocation that becomes one PMA of `child`.
    fn copy_run(&self, child: &mut MemoryManager, run: Vec<CopyPiece>) -> Result<(), Errno> {
        let (Some(first), Some(last)) = (run.first(), run.last()) else {
            return Ok(());
        };
        let (start, end) = (first.0, last.1.end);
        let off = self.mf.allocate_for_copy(end - start)?;
        for (s, p, runs) in &run {
            for &(ds, dl) in runs {
                self.mf.copy(off + (s - start) + (ds - p.off), ds, dl);
            }
        }
        child.insert_pma(
            start,
            Pma {
                end,
                off,
                kind: PmaKind::Owned,
            },
        );
        Ok(())
    }

    /// `/proc/pid/maps` text.
    pub fn maps_text(&self) -> String {
        self.vmas
            .iter()
            .map(|(&start, v)| Self::maps_line(start, v))
            .collect()
    }

    /// One mapping's line of `/proc/pid/maps`.
    fn maps_line(start: u64, v: &Vma) -> String {
        let r = if v.prot & PROT_READ != 0 { 'r' } else { '-' };
        let w = if v.prot & PROT_WRITE != 0 { 'w' } else { '-' };
        let x = if v.prot & PROT_EXEC != 0 { 'x' } else { '-' };
        let p = if v.shared { 's' } else { 'p' };
        let off = v.backing.as_ref().map_or(0, |b| b.offset);
        let (dev, ino, name) = match &v.name {
            VmaName::File { path, dev, ino } => (*dev, *ino, path.clone()),
            VmaName::Heap => (0, 0, "[heap]".into()),
            VmaName::Stack => (0, 0, "[stack]".into()),
            VmaName::Vdso => (0, 0, "[vdso]".into()),
            VmaName::Vvar => (0, 0, "[vvar]".into()),
            VmaName::SyscallTrampolines => (0, 0, "[syscall-trampolines]".into()),
            VmaName::Anon => (0, 0, String::new()),
        };
        let line = format!(
            "{:08x}-{:08x} {r}{w}{x}{p} {:08x} {:02x}:{:02x} {}",
            start,
            v.end,
            off,
            (dev >> 8) & 0xfff,
            dev & 0xff,
            ino
        );
        if name.is_empty() {
            format!("{line}\n")
        } else {
            format!("{line:<72} {name}\n")
        }
    }

    /// Bytes of `[start, end)` backed by this address space's own memory.
    fn resident_in(&self, start: u64, end: u64) -> u64 {
        let first = self
            .pmas
            .range(..=start)
            .next_back()
            .map_or(start, |(&s, _)| s);
        self.pmas
            .range(first..end)
            .map(|(&s, p)| p.end.min(end).saturating_sub(s.max(start)))
            .sum()
    }

    /// `/proc/pid/smaps` (or, with `rollup`, `smaps_rollup`): each
    /// mapping's line with its sizes in kB. Resident memory is the
    /// address space's own (private); huge pages, swap and locking are
    /// never used.
    pub fn smaps_text(&self, rollup: bool) -> String {
        use std::fmt::Write;
        let fields = |s: &mut String, size: Option<u64>, rss: u64, anon: u64| {
            let kb = |b: u64| b / 1024;
            let page = (!rollup).then_some(4);
            for (k, v) in [
                ("Size", size.map(kb)),
                ("KernelPageSize", page),
                ("MMUPageSize", page),
                ("Rss", Some(kb(rss))),
                ("Pss", Some(kb(rss))),
                ("Pss_Dirty", Some(kb(anon))),
                ("Shared_Clean", Some(0)),
                ("Shared_Dirty", Some(0)),
                ("Private_Clean", Some(kb(rss - anon))),
                ("Private_Dirty", Some(kb(anon))),
                ("Referenced", Some(kb(rss))),
                ("Anonymous", Some(kb(anon))),
                ("KSM", Some(0)),
                ("LazyFree", Some(0)),
                ("AnonHugePages", Some(0)),
                ("ShmemPmdMapped", Some(0)),
                ("FilePmdMapped", Some(0)),
                ("Shared_Hugetlb", Some(0)),
                ("Private_Hugetlb", Some(0)),
                ("Swap", Some(0)),
                ("SwapPss", Some(0)),
                ("Locked", Some(0)),
            ] {
                if let Some(v) = v {
                    let _ = writeln!(s, "{:<16}{v:>8} kB", format!("{k}:"));
                }
            }
        };
        let mut s = String::new();
        let (mut lo, mut hi, mut total_rss, mut total_anon) = (u64::MAX, 0, 0, 0);
        for (&start, v) in &self.vmas {
            let rss = self.resident_in(start, v.end);
            let anon = if v.backing.is_none() || !v.shared {
                rss
            } else {
                0
            };
            (lo, hi) = (lo.min(start), hi.max(v.end));
            total_rss += rss;
            total_anon += anon;
            if !rollup {
                s.push_str(&Self::maps_line(start, v));
                fields(&mut s, Some(v.end - start), rss, anon);
                let _ = writeln!(s, "THPeligible:    0");
                let _ = writeln!(s, "VmFlags: {}", Self::vm_flags(v));
            }
        }
        if rollup {
            if lo == u64::MAX {
                lo = 0;
            }
            let _ = writeln!(
                s,
                "{lo:08x}-{hi:08x} ---p 00000000 00:00 0{:<36} [rollup]",
                ""
            );
            fields(&mut s, None, total_rss, total_anon);
        }
        s
    }

    /// smaps' `VmFlags`: the two-letter codes of what the mapping has.
    fn vm_flags(v: &Vma) -> String {
        let mut f = Vec::new();
        for (bit, code) in [(PROT_READ, "rd"), (PROT_WRITE, "wr"), (PROT_EXEC, "ex")] {
            if v.prot & bit != 0 {
                f.push(code);
            }
        }
        // A shared mapping of a file opened read-only is neither VM_SHARED
        // nor VM_MAYWRITE, only VM_MAYSHARE (Linux's do_mmap).
        if v.shared && v.may_write {
            f.push("sh");
        }
        f.push("mr");
        if v.may_write {
            f.push("mw");
        }
        f.push("me");
        if v.shared {
            f.push("ms");
        }
        if v.growsdown {
            f.push("gd");
        }
        f.join(" ")
    }

    /// Total bytes covered by VMAs.
    pub fn virtual_size(&self) -> u64 {
        self.vmas.iter().map(|(&s, v)| v.end - s).sum()
    }

    /// Bytes of private memory this address space owns.
    pub fn resident_size(&self) -> u64 {
        self.pmas.iter().map(|(&s, p)| p.end - s).sum()
    }
}

impl Drop for MemoryManager {
    fn drop(&mut self) {
        for (s, p) in std::mem::take(&mut self.pmas) {
            if p.kind == PmaKind::Owned {
                self.mf.release(p.off, p.end - s);
            }
        }
        for (block, _) in self.fork_uses.drain() {
            self.mf.fork_unref(block);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemObject;

    pub(super) fn mm() -> MemoryManager {
        let mf = Arc::new(MemoryFile::new(1 << 32).unwrap());
        let mut m = MemoryManager::new(
            mf,
            0x7fff_ffff_f000,
            &[(0x7ff0_0000_0000, 0x7ff0_0000_1000)],
        );
        m.mmap_base = 0x7000_0000_0000;
        m
    }

    pub(super) fn anon(addr: u64, len: u64, prot: u32, flags: u32) -> MapRequest {
        MapRequest {
            addr,
            len,
            prot,
            flags: flags | MAP_PRIVATE | MAP_ANONYMOUS,
            backing: None,
            may_write: true,
            name: VmaName::Anon,
        }
    }

    #[test]
    fn copy_roundtrip_and_efault() {
        let mut m = mm();
        let a = m.mmap(anon(0, 8192, PROT_READ | PROT_WRITE, 0)).unwrap();
        m.copy_out(a + 4090, b"hello world").unwrap();
        let mut b = [0u8; 11];
        m.copy_in(a + 4090, &mut b).unwrap();
        assert_eq!(&b, b"hello world");
        assert_eq!(m.copy_in(a + 8190, &mut b), Err(Errno::EFAULT));
        assert_eq!(m.copy_in(0x1000, &mut b), Err(Errno::EFAULT));
        m.mprotect(a, 4096, PROT_READ).unwrap();
        assert_eq!(m.copy_out(a, b"x"), Err(Errno::EFAULT));
        assert_eq!(m.read_cstring(a + 4090, 100).unwrap(), b"hello world");
    }

    #[test]
    fn host_ranges_cover_what_a_copy_would() {
        let mut m = mm();
        let iov0 = libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        };
        let a = m
            .mmap(anon(0, 4 * 4096, PROT_READ | PROT_WRITE, 0))
            .unwrap();
        // One anonymous mapping is one piece of the memory file.
        let mut iov = [iov0; 4];
        assert_eq!(
            m.host_ranges(a + 10, 3 * 4096, true, &mut iov),
            Some((1, 3 * 4096))
        );
        // Bytes stored there are what a copy reads back.
        // SAFETY: the range is this address space's memory, held by `m`.
        unsafe { std::ptr::write_bytes(iov[0].iov_base.cast::<u8>(), 7, iov[0].iov_len) };
        let mut b = [0u8; 4];
        m.copy_in(a + 10, &mut b).unwrap();
        assert_eq!(b, [7; 4]);
        // The walk stops at a page it may not write, and before an unmapped one.
        m.mprotect(a + 2 * 4096, 4096, PROT_READ).unwrap();
        assert_eq!(
            m.host_ranges(a, 4 * 4096, true, &mut iov),
            Some((1, 2 * 4096))
        );
        assert_eq!(
            m.host_ranges(a, 4 * 4096, false, &mut iov).map(|r| r.1),
            Some(4 * 4096)
        );
        m.munmap(a + 3 * 4096, 4096).unwrap();
        assert_eq!(
            m.host_ranges(a + 3 * 4096, 10, false, &mut iov),
            Some((0, 0))
        );
        // A full array stops the walk where it is full.
        let mf = m.mf.clone();
        let obj = Arc::new(MemObject::new(mf, 8 * 4096));
        let base = m.mmap(anon(0, 8 * 4096, PROT_NONE, 0)).unwrap();
        for i in 0..8u64 {
            // Pages of the object in reverse order: no two continue each other.
            m.mmap(MapRequest {
                addr: base + i * 4096,
                len: 4096,
                prot: PROT_READ | PROT_WRITE,
                flags: MAP_SHARED | MAP_FIXED,
                backing: Some(Backing {
                    obj: obj.clone(),
                    offset: (7 - i) * 4096,
                }),
                may_write: true,
                name: VmaName::Anon,
            })
            .unwrap();
        }
        let mut two = [iov0; 2];
        assert_eq!(
            m.host_ranges(base, 8 * 4096, true, &mut two),
            Some((2, 2 * 4096))
        );
    }

    #[test]
    fn fixed_noreplace_and_munmap_split() {
        let mut m = mm();
        let a = m.mmap(anon(0, 3 * 4096, PROT_READ, 0)).unwrap();
        assert_eq!(
            m.mmap(anon(a + 4096, 4096, PROT_READ, MAP_FIXED_NOREPLACE)),
            Err(Errno::EEXIST)
        );
        m.munmap(a + 4096, 4096).unwrap();
        assert_eq!(
            m.mmap(anon(a + 4096, 4096, PROT_READ, MAP_FIXED_NOREPLACE)),
            Ok(a + 4096)
        );
        assert_eq!(m.mprotect(a, 3 * 4096, PROT_READ), Ok(()));
        m.munmap(a, 3 * 4096).unwrap();
        assert_eq!(m.mprotect(a, 4096, PROT_READ), Err(Errno::ENOMEM));
    }

    #[test]
    fn fork_copies_private_and_shares_shared() {
        let mut m = mm();
        let a = m.mmap(anon(0, 4096, PROT_READ | PROT_WRITE, 0)).unwrap();
        let obj: Arc<dyn Mappable> = Arc::new(MemObject::new(m.memory_file().clone(), 4096));
        let s = m
            .mmap(MapRequest {
                addr: 0,
                len: 4096,
                prot: PROT_READ | PROT_WRITE,
                flags: MAP_SHARED,
                backing: Some(Backing { obj, offset: 0 }),
                may_write: true,
                name: VmaName::Anon,
            })
            .unwrap();
        m.copy_out(a, b"p").unwrap();
        m.copy_out(s, b"s").unwrap();
        let mut c = m.fork().unwrap();
        c.copy_out(a, b"c").unwrap();
        c.copy_out(s, b"t").unwrap();
        let mut b = [0u8; 1];
        m.copy_in(a, &mut b).unwrap();
        assert_eq!(&b, b"p");
        m.copy_in(s, &mut b).unwrap();
        assert_eq!(&b, b"t");
    }

    /// Large private memory is shared copy-on-write by fork: each side
    /// sees only its own writes, a grandchild too; once the others are
    /// gone the last user writes in place; and every page of the memory
    /// file is released when all address spaces are.
    #[test]
    fn fork_blocks_copy_on_write_and_release() {
        let mut m = mm();
        let mf = m.memory_file().clone();
        let len = 4 << 20;
        let a = m.mmap(anon(0, len, PROT_READ | PROT_WRITE, 0)).unwrap();
        m.copy_out(a, &vec![1u8; len as usize]).unwrap();
        let mut child = m.fork().unwrap();
        assert!(
            m.has_pending_host_changes(),
            "parent must be write-protected"
        );
        child.copy_out(a, b"child").unwrap();
        m.copy_out(a + 8192, b"parent").unwrap();
        let mut grandchild = child.fork().unwrap();
        grandchild.copy_out(a + 16384, b"grand").unwrap();
        let read = |m: &mut MemoryManager, at: u64| {
            let mut b = [0u8; 5];
            m.copy_in(a + at, &mut b).unwrap();
            b
        };
        assert_eq!(&read(&mut m, 0), &[1; 5]);
        assert_eq!(&read(&mut child, 0), b"child");
        assert_eq!(&read(&mut child, 8192), &[1; 5]);
        assert_eq!(&read(&mut grandchild, 0), b"child");
        assert_eq!(&read(&mut grandchild, 16384), b"grand");
        assert_eq!(&read(&mut child, 16384), &[1; 5]);
        drop(grandchild);
        drop(child);
        m.settle_fork_blocks();
        // The parent is the only user left: a write allocates nothing.
        let top = mf.allocated_top();
        m.copy_out(a + 3 * 65536, b"alone").unwrap();
        assert_eq!(mf.allocated_top(), top);
        drop(m);
        assert_eq!(mf.allocated_top(), 0, "memory-file pages leaked");
    }

    /// Records host maps and unmaps in order.
    #[derive(Default)]
    struct HostLog(Vec<(&'static str, u64, u64, u32)>);

    impl AddressSpace for HostLog {
        fn map_file(&mut self, addr: u64, len: u64, _off: u64, prot: u32) -> Result<(), Errno> {
            self.0.push(("map", addr, len, prot));
            Ok(())
        }
        fn unmap(&mut self, addr: u64, len: u64) -> Result<(), Errno> {
            self.0.push(("unmap", addr, len, 0));
            Ok(())
        }
        fn unmap_all(&mut self) -> Result<(), Errno> {
            Ok(())
        }
    }

    impl HostLog {
        /// The maps recorded: (address, length, prot).
        fn maps(&self) -> Vec<(u64, u64, u32)> {
            self.0
                .iter()
                .filter(|e| e.0 == "map")
                .map(|e| (e.1, e.2, e.3))
                .collect()
        }

        /// The unmaps recorded: (address, length).
        fn unmaps(&self) -> Vec<(u64, u64)> {
            self.0
                .iter()
                .filter(|e| e.0 == "unmap")
                .map(|e| (e.1, e.2))
                .collect()
        }
    }

    /// Memory filled in order gets released pages back, zeroed, mapped
    /// populated; the first chunk and memory touched here and there get
    /// fresh, sparse pages.
    #[test]
    fn sequential_faults_reuse_released_pages_zeroed() {
        let mf = Arc::new(
            MemoryFile::new(1 << 32)
                .unwrap()
                .with_recycling(8 * ANON_CHUNK),
        );
        let mut m = MemoryManager::new(mf.clone(), 0x7fff_ffff_f000, &[]);
        let base = 0x4000_0000;
        let rw = PROT_READ | PROT_WRITE;
        let mut space = HostLog::default();
        let fill = |m: &mut MemoryManager, space: &mut HostLog| {
            for c in 0..4 {
                let at = base + c * ANON_CHUNK;
                m.handle_fault(space, at, false).unwrap();
                m.copy_out(at + 100, &[0xaa; 16]).unwrap();
            }
        };
        m.mmap(anon(base, 4 * ANON_CHUNK, rw, MAP_FIXED)).unwrap();
        fill(&mut m, &mut space);
        // Nothing released yet: no populated mapping.
        assert!(space
            .maps()
            .iter()
            .all(|&(_, _, p)| p & platform::PROT_POPULATE == 0));
        m.munmap(base, 4 * ANON_CHUNK).unwrap();
        space.0.clear();
        m.mmap(anon(base, 4 * ANON_CHUNK, rw, MAP_FIXED)).unwrap();
        let mut seen = [0u8; 16];
        for c in 0..4 {
            let at = base + c * ANON_CHUNK;
            m.handle_fault(&mut space, at, false).unwrap();
            m.copy_in(at + 100, &mut seen).unwrap();
            assert_eq!(seen, [0; 16], "chunk {c} shows released data");
        }
        let populated: Vec<u64> = space
            .maps()
            .iter()
            .filter(|&&(_, _, p)| p & platform::PROT_POPULATE != 0)
            .map(|&(a, _, _)| a)
            .collect();
        assert!(populated.len() >= 3, "{:?}", space.0);
        // A lone chunk away from the others is sparse.
        space.0.clear();
        let far = base + 64 * ANON_CHUNK;
        m.mmap(anon(far, ANON_CHUNK, rw, MAP_FIXED)).unwrap();
        m.handle_fault(&mut space, far, false).unwrap();
        assert!(space
            .maps()
            .iter()
            .all(|&(_, _, p)| p & platform::PROT_POPULATE == 0));
    }

    /// Maps `obj` privately at an address the manager picks.
    fn map_private_file(m: &mut MemoryManager, obj: Arc<MemObject>, len: u64, prot: u32) -> u64 {
        m.mmap(MapRequest {
            addr: 0,
            len,
            prot,
            flags: MAP_PRIVATE,
            backing: Some(Backing { obj, offset: 0 }),
            may_write: true,
            name: VmaName::Anon,
        })
        .unwrap()
    }

    /// Dropping or reprotecting memory unmaps on the host only what PMAs
    /// back there: the host has nothing mapped anywhere else.
    #[test]
    fn host_unmaps_cover_only_backed_pages() {
        let mut m = mm();
        let rw = PROT_READ | PROT_WRITE;
        let a = m.mmap(anon(0, 64 * PAGE_SIZE, rw, 0)).unwrap();
        let mut space = HostLog::default();
        m.madvise(a, 64 * PAGE_SIZE, MADV_DONTNEED).unwrap();
        m.sync_host(&mut space).unwrap();
        assert_eq!(space.unmaps(), vec![], "nothing backed, nothing to unmap");
        m.copy_out(a + 10 * PAGE_SIZE, b"x").unwrap();
        let (ps, p) = m.pma_at(a + 10 * PAGE_SIZE).unwrap();
        m.madvise(a, 64 * PAGE_SIZE, MADV_DONTNEED).unwrap();
        m.sync_host(&mut space).unwrap();
        assert_eq!(
            space.unmaps(),
            vec![(ps.max(a), p.end.min(a + 64 * PAGE_SIZE) - ps.max(a))]
        );
        let mut b = [1u8; 1];
        m.copy_in(a + 10 * PAGE_SIZE, &mut b).unwrap();
        assert_eq!(b, [0], "MADV_DONTNEED kept the data");
        space.0.clear();
        // mprotect over a backed page and an unbacked rest.
        m.copy_out(a + 20 * PAGE_SIZE, b"y").unwrap();
        let (ps, p) = m.pma_at(a + 20 * PAGE_SIZE).unwrap();
        let (s, e) = (ps.max(a + 16 * PAGE_SIZE), p.end.min(a + 64 * PAGE_SIZE));
        m.mprotect(a + 16 * PAGE_SIZE, 48 * PAGE_SIZE, PROT_READ)
            .unwrap();
        m.sync_host(&mut space).unwrap();
        assert_eq!(space.unmaps(), vec![(s, e - s)]);
    }

    /// A fault in a file mapping maps the whole run of the memory file
    /// around it that is already there, before the page as well as after.
    #[test]
    fn file_fault_maps_its_chunk_both_ways() {
        let mut m = mm();
        let obj = Arc::new(MemObject::with_filler(
            m.memory_file().clone(),
            32 * PAGE_SIZE,
            16 * PAGE_SIZE,
            Box::new(|_, dst: &mut [u8]| {
                dst.fill(7);
                Ok(())
            }),
        ));
        let a = map_private_file(&mut m, obj, 32 * PAGE_SIZE, PROT_READ);
        let mut space = HostLog::default();
        m.handle_fault(&mut space, a + 5 * PAGE_SIZE + 8, false)
            .unwrap();
        assert_eq!(space.maps(), vec![(a, 16 * PAGE_SIZE, PROT_READ)]);
        // The next chunk is a run of its own.
        space.0.clear();
        m.handle_fault(&mut space, a + 20 * PAGE_SIZE, false)
            .unwrap();
        assert_eq!(
            space.maps(),
            vec![(a + 16 * PAGE_SIZE, 16 * PAGE_SIZE, PROT_READ)]
        );
    }

    /// A write to a page shared copy-on-write maps the copy over the
    /// original in one host call, with no unmap before it.
    #[test]
    fn copy_on_write_fault_maps_over_the_original() {
        let mut m = mm();
        let obj = Arc::new(MemObject::new(m.memory_file().clone(), 0));
        obj.write(0, &[5u8; 3 * 4096]).unwrap();
        let a = map_private_file(&mut m, obj, 3 * PAGE_SIZE, PROT_READ | PROT_WRITE);
        let mut host = HostLog::default();
        m.handle_fault(&mut host, a + PAGE_SIZE, false).unwrap();
        assert_eq!(host.0, vec![("map", a, 3 * PAGE_SIZE, PROT_READ)]);
        host.0.clear();
        m.handle_fault(&mut host, a + PAGE_SIZE, true).unwrap();
        assert_eq!(host.0.len(), 1, "{:?}", host.0);
        let (what, at, len, prot) = host.0[0];
        assert_eq!((what, prot), ("map", PROT_READ | PROT_WRITE));
        assert!(at <= a + PAGE_SIZE && at + len > a + PAGE_SIZE);
        m.copy_out(a + PAGE_SIZE, b"mine").unwrap();
        let mut b = [0u8; 4];
        m.copy_in(a + PAGE_SIZE, &mut b).unwrap();
        assert_eq!(&b, b"mine");
    }

    #[test]
    fn private_file_mapping_is_copy_on_write() {
        let mut m = mm();
        let obj = Arc::new(MemObject::new(m.memory_file().clone(), 0));
        obj.write(0, b"file").unwrap();
        let a = map_private_file(&mut m, obj.clone(), 4096, PROT_READ | PROT_WRITE);
        let mut b = [0u8; 4];
        m.copy_in(a, &mut b).unwrap();
        assert_eq!(&b, b"file");
        m.copy_out(a, b"mine").unwrap();
        let mut f = [0u8; 4];
        obj.read(0, &mut f).unwrap();
        assert_eq!(&f, b"file");
        m.copy_in(a, &mut b).unwrap();
        assert_eq!(&b, b"mine");
    }

    #[test]
    fn brk_and_mremap() {
        let mut m = mm();
        m.brk_start = 0x600000;
        m.brk_end = 0x600000;
        assert_eq!(m.brk(0x603000), 0x603000);
        m.copy_out(0x602ff0, b"x").unwrap();
        assert_eq!(m.brk(0x601000), 0x601000);
        assert_eq!(m.copy_out(0x602ff0, b"x"), Err(Errno::EFAULT));
        let a = m.mmap(anon(0, 4096, PROT_READ | PROT_WRITE, 0)).unwrap();
        m.mmap(anon(a + 4096, 4096, PROT_READ, MAP_FIXED)).unwrap();
        m.copy_out(a, b"keep").unwrap();
        let n = m.mremap(a, 4096, 3 * 4096, MREMAP_MAYMOVE, 0).unwrap();
        assert_ne!(n, a);
        let mut b = [0u8; 4];
        m.copy_in(n, &mut b).unwrap();
        assert_eq!(&b, b"keep");
        assert_eq!(m.copy_in(a, &mut b), Err(Errno::EFAULT));
    }
}
