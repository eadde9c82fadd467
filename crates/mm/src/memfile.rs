//! The memory file: one `memfd` holding every page of application memory,
//! mapped once into the sentry so copies are plain `memcpy`.

use std::collections::{BTreeMap, HashMap};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Arc, Mutex};

use crate::recycle::Recycler;

use abi::{Errno, PAGE_SIZE};

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Free ranges of the file, coalesced, plus a high-water mark.
#[derive(Default)]
struct RangeAlloc {
    free: BTreeMap<u64, u64>,
    top: u64,
}

impl RangeAlloc {
    fn allocate(&mut self, len: u64, capacity: u64) -> Option<u64> {
        let found = self
            .free
            .iter()
            .find(|(_, &l)| l >= len)
            .map(|(&s, &l)| (s, l));
        if let Some((start, flen)) = found {
            self.free.remove(&start);
            if flen > len {
                self.free.insert(start + len, flen - len);
            }
            return Some(start);
        }
        if self.top + len > capacity {
            return None;
        }
        let s = self.top;
        self.top += len;
        Some(s)
    }

    fn release(&mut self, mut start: u64, mut len: u64) {
        if let Some((&ps, &pl)) = self.free.range(..start).next_back() {
            if ps + pl == start {
                self.free.remove(&ps);
                start = ps;
                len += pl;
            }
        }
        if let Some(&nl) = self.free.get(&(start + len)) {
            self.free.remove(&(start + len));
            len += nl;
        }
        if start + len == self.top {
            self.top = start;
        } else {
            self.free.insert(start, len);
        }
    }
}

/// The sentry's mapping of the file, for the zeroing thread.
struct Base(*mut u8, u64);

// SAFETY: the mapping outlives the zeroing thread (MemoryFile's Drop joins
// it before unmapping), and the thread only writes ranges the recycler
// handed to it alone.
unsafe impl Send for Base {}

impl Base {
    fn zero(&self, off: u64, len: u64) {
        if off.checked_add(len).is_some_and(|e| e <= self.1) {
            // SAFETY: bounds checked against the mapping; the range is
            // kept memory no address space and no other thread uses.
            unsafe { std::ptr::write_bytes(self.0.add(off as usize), 0, len as usize) }
        }
    }
}

pub struct MemoryFile {
    fd: OwnedFd,
    /// The file is on a disk (`--overlay=file:DIR`): the sentry's own
    /// reads and writes use `pread`/`pwrite`, so the pages they touch stay
    /// in the host's page cache, written back and reclaimable, instead of
    /// being mapped (resident) in the sentry.
    on_disk: bool,
    base: *mut u8,
    capacity: u64,
    alloc: Mutex<RangeAlloc>,
    /// Blocks of private memory shared copy-on-write by several address
    /// spaces since a `fork`: start -> (length, address spaces using it).
    /// A block is released when the last one lets go.
    forked: Mutex<HashMap<u64, (u64, u32)>>,
    /// Released ranges kept with their pages, for
    /// [`MemoryFile::allocate_resident`], and the thread zeroing them.
    recycler: Option<(Arc<Recycler>, Option<std::thread::JoinHandle<()>>)>,
}

// SAFETY: `base` points at a MAP_SHARED mapping that lives as long as the
// MemoryFile; all access goes through bounds-checked methods, and the
// allocator is behind a mutex.
unsafe impl Send for MemoryFile {}
// SAFETY: see Send.
unsafe impl Sync for MemoryFile {}

impl MemoryFile {
    /// Creates a sparse memory file of `capacity` bytes (no memory is used
    /// until pages are touched) and maps it into the sentry.
    pub fn new(capacity: u64) -> Result<MemoryFile, Errno> {
        // SAFETY: static name; result checked.
        let fd = unsafe { libc::memfd_create(c"rvisor-memory".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(Errno::last_host());
        }
        // SAFETY: fresh fd owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        MemoryFile::with_fd(fd, capacity, false)
    }

    /// A memory file of `capacity` bytes in `fd`, a file of its own on a
    /// host disk (opened `O_TMPFILE` under a directory, so it has no
    /// name): memory the sandbox writes goes to the disk rather than
    /// staying resident (`--overlay=file:DIR`).
    pub fn on_disk(fd: OwnedFd, capacity: u64) -> Result<MemoryFile, Errno> {
        MemoryFile::with_fd(fd, capacity, true)
    }

    fn with_fd(fd: OwnedFd, capacity: u64, on_disk: bool) -> Result<MemoryFile, Errno> {
        // SAFETY: plain syscalls on our fd; results checked.
        let base = unsafe {
            if libc::ftruncate(fd.as_raw_fd(), capacity as i64) != 0 {
                return Err(Errno::last_host());
            }
            libc::mmap(
                std::ptr::null_mut(),
                capacity as usize,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_NORESERVE,
                fd.as_raw_fd(),
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(Errno::last_host());
        }
        Ok(MemoryFile {
            fd,
            on_disk,
            base: base.cast(),
            capacity,
            alloc: Mutex::new(RangeAlloc::default()),
            forked: Mutex::new(HashMap::new()),
            recycler: None,
        })
    }

    /// Keeps up to `limit` bytes of released memory with its pages, for
    /// [`MemoryFile::allocate_resident`] (see `recycle.rs`), zeroed by a
    /// thread of its own ahead of demand.
    pub fn with_recycling(mut self, limit: u64) -> MemoryFile {
        let r = Arc::new(Recycler::new(limit));
        let base = Base(self.base, self.capacity);
        let worker = r.clone();
        let zeroer = std::thread::Builder::new()
            .name("memory-zeroer".into())
            .spawn(move || {
                let base = base;
                worker.zero_loop(|off, len| base.zero(off, len));
            })
            .ok();
        // Without the thread, a range is zeroed when it is taken.
        self.recycler = Some((r, zeroer));
        self
    }

    /// Allocates `len` bytes (rounded up to pages) of zeroed memory, from
    /// kept pages if there are any: for memory about to be written whole
    /// (copies), where a fresh page costs the host more than zeroing one.
    pub fn allocate_for_copy(&self, len: u64) -> Result<u64, Errno> {
        match self.allocate_resident(len) {
            Some(off) => Ok(off),
            None => self.allocate(len),
        }
    }

    /// Allocates `len` bytes (rounded up to pages) of zeroed memory whose
    /// pages exist already (kept from a release), or `None` if none were
    /// kept. Meant for memory about to be used densely.
    pub fn allocate_resident(&self, len: u64) -> Option<u64> {
        let len = abi::page_up(len)?;
        let (off, dirty) = self.recycler.as_ref()?.0.take(len)?;
        if dirty {
            self.zero(off, len);
        }
        Some(off)
    }

    pub fn fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }

    /// Allocates `len` bytes (rounded up to pages) of zeroed memory.
    pub fn allocate(&self, len: u64) -> Result<u64, Errno> {
        let len = abi::page_up(len).ok_or(Errno::ENOMEM)?;
        let mut a = self.alloc.lock().unwrap_or_else(|p| p.into_inner());
        a.allocate(len, self.capacity).ok_or(Errno::ENOMEM)
    }

    /// Returns a range to the allocator and releases its memory to the host
    /// (or keeps it for reuse, see [`MemoryFile::with_recycling`]).
    pub fn release(&self, off: u64, len: u64) {
        let len = abi::page_up(len).unwrap_or(len);
        if self
            .recycler
            .as_ref()
            .is_some_and(|(r, _)| r.keep(off, len))
        {
            return;
        }
        self.punch(off, len);
        let mut a = self.alloc.lock().unwrap_or_else(|p| p.into_inner());
        a.release(off, len);
    }

    /// Makes `[off, off+len)` (allocated, owned by one address space so
    /// far) a fork block with no users yet; [`MemoryFile::fork_ref`] counts
    /// them in.
    pub fn fork_block(&self, off: u64, len: u64) {
        lock(&self.forked).insert(off, (len, 0));
    }

    /// One more address space uses the fork block at `block`.
    pub fn fork_ref(&self, block: u64) {
        if let Some(b) = lock(&self.forked).get_mut(&block) {
            b.1 += 1;
        }
    }

    /// An address space stopped using the block; the last one frees it.
    pub fn fork_unref(&self, block: u64) {
        let mut f = lock(&self.forked);
        let Some(b) = f.get_mut(&block) else { return };
        b.1 = b.1.saturating_sub(1);
        if b.1 == 0 {
            let len = b.0;
            f.remove(&block);
            drop(f);
            self.release(block, len);
        }
    }

    /// How many address spaces use the block: with one, it may be written
    /// in place.
    pub fn fork_users(&self, block: u64) -> u32 {
        lock(&self.forked).get(&block).map_or(0, |b| b.1)
    }

    /// Drops the contents of a range (it reads as zeroes afterwards).
    pub fn punch(&self, off: u64, len: u64) {
        if len == 0 {
            return;
        }
        // SAFETY: fallocate on our own fd; a failure only keeps memory in use.
        unsafe {
            libc::fallocate(
                self.fd.as_raw_fd(),
                libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                off as i64,
                len as i64,
            );
        }
    }

    fn check(&self, off: u64, len: usize) {
        assert!(
            off.checked_add(len as u64)
                .is_some_and(|e| e <= self.capacity),
            "memory file access out of range"
        );
    }

    /// `pread`/`pwrite` of the whole range on the file itself (a file on
    /// disk); false if the host refused, and the caller copies through
    /// the mapping instead.
    fn by_call(&self, off: u64, buf: *mut u8, len: usize, write: bool) -> bool {
        let mut done = 0usize;
        while done < len {
            // SAFETY: `buf` is valid for `len` bytes (a slice the caller
            // holds); the file offset is inside the capacity (checked).
            let n = unsafe {
                let p = buf.add(done);
                let at = (off + done as u64) as i64;
                if write {
                    libc::pwrite(self.fd.as_raw_fd(), p.cast(), len - done, at)
                } else {
                    libc::pread(self.fd.as_raw_fd(), p.cast(), len - done, at)
                }
            };
            if n <= 0 {
                if n < 0 && Errno::last_host() == Errno::EINTR {
                    continue;
                }
                return false;
            }
            done += n as usize;
        }
        true
    }

    /// Copies bytes out of the file.
    pub fn read(&self, off: u64, buf: &mut [u8]) {
        self.check(off, buf.len());
        if self.on_disk && self.by_call(off, buf.as_mut_ptr(), buf.len(), false) {
            return;
        }
        // SAFETY: bounds checked against the mapping; the source may be
        // concurrently written by application threads, which only makes the
        // bytes read unspecified, as on Linux.
        unsafe {
            std::ptr::copy_nonoverlapping(self.base.add(off as usize), buf.as_mut_ptr(), buf.len())
        }
    }

    /// Copies bytes into the file.
    pub fn write(&self, off: u64, data: &[u8]) {
        self.check(off, data.len());
        // (pwrite only reads `data`, whatever the pointer's type says.)
        if self.on_disk && self.by_call(off, data.as_ptr().cast_mut(), data.len(), true) {
            return;
        }
        // SAFETY: bounds checked; the destination is memory-file memory that
        // no Rust reference aliases.
        unsafe {
            std::ptr::copy_nonoverlapping(data.as_ptr(), self.base.add(off as usize), data.len())
        }
    }

    /// The 32-bit word at `off` (a futex word), read atomically.
    pub fn load_u32(&self, off: u64) -> u32 {
        self.atomic_u32(off)
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Atomically replaces the 32-bit word at `off` with `new` if it holds
    /// `old`; returns what it held. Futex words are changed concurrently
    /// by application threads with atomic instructions, so the sentry must
    /// use them too.
    pub fn cmpxchg_u32(&self, off: u64, old: u32, new: u32) -> u32 {
        use std::sync::atomic::Ordering::SeqCst;
        match self
            .atomic_u32(off)
            .compare_exchange(old, new, SeqCst, SeqCst)
        {
            Ok(v) | Err(v) => v,
        }
    }

    fn atomic_u32(&self, off: u64) -> &std::sync::atomic::AtomicU32 {
        self.check(off, 4);
        assert!(off.is_multiple_of(4), "unaligned futex word");
        // SAFETY: in bounds and 4-aligned inside the mapping, which lives as
        // long as `self`; every concurrent access to a futex word is atomic
        // (the futex ABI requires it of the application).
        unsafe { std::sync::atomic::AtomicU32::from_ptr(self.base.add(off as usize).cast()) }
    }

    /// Copies `len` bytes within the file.
    pub fn copy(&self, dst: u64, src: u64, len: u64) {
        self.check(dst, len as usize);
        self.check(src, len as usize);
        // SAFETY: both ranges bounds checked; `copy` tolerates overlap.
        unsafe {
            std::ptr::copy(
                self.base.add(src as usize),
                self.base.add(dst as usize),
                len as usize,
            )
        }
    }

    pub fn zero(&self, off: u64, len: u64) {
        self.check(off, len as usize);
        // SAFETY: bounds checked.
        unsafe { std::ptr::write_bytes(self.base.add(off as usize), 0, len as usize) }
    }

    /// Whether the sentry copies through its mapping of the file (a
    /// memfd), so a host call may read or write application memory at
    /// [`MemoryFile::raw_ptr`] addresses; not for a file on a disk, whose
    /// pages the sentry keeps out of its own mapping.
    pub fn mapped_for_copies(&self) -> bool {
        !self.on_disk
    }

    /// The sentry's address of a range, for filling pages from a host
    /// file or publishing data (the vDSO's time page). Dereferencing it is
    /// the caller's responsibility.
    pub fn raw_ptr(&self, off: u64, len: usize) -> *mut u8 {
        self.check(off, len);
        // SAFETY: bounds checked against the mapping, so the offset stays
        // inside the one allocation.
        unsafe { self.base.add(off as usize) }
    }

    /// Runs of `[off, off+len)` that hold data (not holes), so copies can
    /// skip untouched memory without faulting it in. Page residency
    /// (`mincore`) finds the data in one call; only where a page is not
    /// resident does `SEEK_DATA` tell a hole from a swapped-out page. (A
    /// `SEEK_HOLE` from data would scan on past the range through every
    /// data page that follows it in the file.)
    pub fn data_runs(&self, off: u64, len: u64) -> Vec<(u64, u64)> {
        let len = len - len % PAGE_SIZE;
        self.check(off, len as usize);
        let pages = (len / PAGE_SIZE) as usize;
        let mut resident = vec![0u8; pages];
        // SAFETY: the range lies inside our mapping (checked above) and
        // the vector has one byte per page.
        let r = unsafe {
            libc::mincore(
                self.base.add(off as usize).cast(),
                len as usize,
                resident.as_mut_ptr(),
            )
        };
        if r != 0 {
            return vec![(off, len)];
        }
        let mut runs: Vec<(u64, u64)> = Vec::new();
        let mut push = |at: u64, n: u64| match runs.last_mut() {
            Some(last) if last.0 + last.1 == at => last.1 += n,
            _ => runs.push((at, n)),
        };
        let mut i = 0;
        while i < pages {
            let at = off + i as u64 * PAGE_SIZE;
            if resident[i] & 1 != 0 {
                push(at, PAGE_SIZE);
                i += 1;
                continue;
            }
            // SAFETY: lseek on our fd.
            let d = unsafe { libc::lseek(self.fd.as_raw_fd(), at as i64, libc::SEEK_DATA) };
            if d < 0 {
                break;
            }
            let d = d as u64;
            if d == at {
                // Data, though not in memory (swapped out).
                push(at, PAGE_SIZE);
                i += 1;
            } else {
                i = (((d - off) / PAGE_SIZE) as usize).clamp(i + 1, pages);
            }
        }
        runs
    }

    /// Bytes of the file currently backed by memory.
    pub fn allocated_top(&self) -> u64 {
        self.alloc.lock().unwrap_or_else(|p| p.into_inner()).top
    }
}

impl Drop for MemoryFile {
    fn drop(&mut self) {
        // The zeroing thread writes through the mapping: it ends first.
        if let Some((r, zeroer)) = self.recycler.take() {
            r.stop();
            if let Some(z) = zeroer {
                let _ = z.join();
            }
        }
        // SAFETY: unmaps the mapping created in `new`.
        unsafe { libc::munmap(self.base.cast(), self.capacity as usize) };
    }
}

/// Page-rounds a length.
pub fn pages(len: u64) -> u64 {
    len.div_ceil(PAGE_SIZE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocate_release_coalesce() {
        let mut a = RangeAlloc::default();
        let x = a.allocate(4096, 1 << 20).unwrap();
        let y = a.allocate(8192, 1 << 20).unwrap();
        let z = a.allocate(4096, 1 << 20).unwrap();
        assert_eq!((x, y, z), (0, 4096, 12288));
        a.release(x, 4096);
        a.release(y, 8192);
        assert_eq!(a.free.get(&0), Some(&12288));
        assert_eq!(a.allocate(12288, 1 << 20), Some(0));
        a.release(z, 4096);
        assert_eq!(a.top, 12288);
        assert!(a.allocate(1 << 21, 1 << 20).is_none());
    }

    #[test]
    fn released_pages_are_kept_up_to_the_limit_and_come_back_zeroed() {
        let mf = MemoryFile::new(1 << 30)
            .unwrap()
            .with_recycling(3 * PAGE_SIZE);
        assert_eq!(mf.allocate_resident(PAGE_SIZE), None);
        let a = mf.allocate(2 * PAGE_SIZE).unwrap();
        let b = mf.allocate(2 * PAGE_SIZE).unwrap();
        mf.write(a, &[7; 8]);
        mf.write(b + PAGE_SIZE, &[9; 8]);
        mf.release(a, 2 * PAGE_SIZE);
        // Over the limit: punched and handed back to the allocator.
        mf.release(b, 2 * PAGE_SIZE);
        let mut got = [1u8; 8];
        mf.read(b + PAGE_SIZE, &mut got);
        assert_eq!(got, [0; 8]);
        let r = mf.allocate_resident(2 * PAGE_SIZE).unwrap();
        assert_eq!(r, a);
        mf.read(r, &mut got);
        assert_eq!(got, [0; 8], "kept data must not come back");
        assert_eq!(mf.allocate_resident(PAGE_SIZE), None);
    }

    #[test]
    fn read_write_and_holes() {
        let mf = MemoryFile::new(1 << 30).unwrap();
        let off = mf.allocate(1 << 16).unwrap();
        mf.write(off + 8192, b"hello");
        let mut b = [0u8; 5];
        mf.read(off + 8192, &mut b);
        assert_eq!(&b, b"hello");
        assert_eq!(mf.data_runs(off, 1 << 16), vec![(off + 8192, 4096)]);
        mf.release(off, 1 << 16);
        let off2 = mf.allocate(1 << 16).unwrap();
        mf.read(off2 + 8192, &mut b);
        assert_eq!(b, [0; 5]);
    }
}
