//! Memory objects: file data and shared memory that live in the memory file
//! and can be mapped by address spaces.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use abi::{Errno, PAGE_SIZE};

use crate::MemoryFile;

/// Something an address space can map: file contents or shared memory.
pub trait Mappable: Send + Sync {
    /// The memory-file range backing the page at `offset` (page-aligned):
    /// `(file_offset, len)`, `len` >= one page and contiguous in the file.
    fn translate(&self, offset: u64) -> Result<(u64, u64), Errno>;
    /// How many bytes before `offset` (page-aligned) continue, in the
    /// memory file, the range [`Mappable::translate`] gives for it,
    /// without allocating anything: a fault can map them at once too.
    fn contiguous_before(&self, _offset: u64) -> u64 {
        0
    }
    /// Whether [`Mappable::translate`] finds `offset` in the memory file
    /// already (nothing to allocate, nothing to read from a host file), so
    /// mapping it ahead of any access costs only the host mapping.
    fn cached(&self, _offset: u64) -> bool {
        false
    }
    /// Whether the contents may change while mapped (written through a
    /// file, truncated). Copy-on-write then copies only the page written:
    /// the pages around it must go on showing the object's changes, as
    /// Linux's `MAP_PRIVATE` shows a file's changes on pages the mapping
    /// has not written.
    fn may_change(&self) -> bool {
        true
    }
    /// Current size in bytes; pages wholly past it fault with `SIGBUS`.
    fn size(&self) -> u64;
    /// Drops `[offset, offset+len)` so it reads as zeroes
    /// (`MADV_REMOVE`, a punched hole).
    fn punch_hole(&self, _offset: u64, _len: u64) -> Result<(), Errno> {
        Err(Errno::EOPNOTSUPP)
    }
    /// Secret memory (`memfd_secret`): only the address spaces mapping it
    /// reach it, never a debugger or another process.
    fn secret(&self) -> bool {
        false
    }
    /// The concrete object, for callers that act on one kind of mapping
    /// only (`shmdt` finds the segments it attached).
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        None
    }
}

/// Fills a newly allocated chunk: `(object offset, destination)`.
pub type Filler = Box<dyn Fn(u64, &mut [u8]) -> Result<(), Errno> + Send + Sync>;

/// Sparse storage in the memory file, in chunks allocated on first use.
pub struct MemObject {
    mf: Arc<MemoryFile>,
    chunk: u64,
    chunks: Mutex<BTreeMap<u64, u64>>,
    size: Mutex<u64>,
    filler: Option<Filler>,
    /// Some address space faulted a page of this object in: a truncation
    /// must then look for private copies beyond the end to drop.
    mapped: AtomicBool,
    /// Written, punched or truncated since made: see
    /// [`Mappable::may_change`].
    changed: AtomicBool,
}

impl MemObject {
    /// An object of `size` bytes reading as zeroes until written.
    pub fn new(mf: Arc<MemoryFile>, size: u64) -> MemObject {
        MemObject {
            mf,
            chunk: 64 * 1024,
            chunks: Mutex::new(BTreeMap::new()),
            size: Mutex::new(size),
            filler: None,
            mapped: AtomicBool::new(false),
            changed: AtomicBool::new(false),
        }
    }

    /// An object whose chunks of `chunk` bytes are filled by `filler` on
    /// first use (a cache of a host file's pages). Large chunks mean one
    /// fault maps a large piece of the file (fewer faults for program
    /// text), at the cost of reading it all on first use.
    pub fn with_filler(mf: Arc<MemoryFile>, size: u64, chunk: u64, filler: Filler) -> MemObject {
        let mut o = MemObject::new(mf, size);
        o.chunk = chunk.max(PAGE_SIZE);
        o.filler = Some(filler);
        o
    }

    pub fn memory_file(&self) -> &Arc<MemoryFile> {
        &self.mf
    }

    pub fn len(&self) -> u64 {
        *self.size.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether any address space ever faulted a page of this object in.
    pub fn was_mapped(&self) -> bool {
        self.mapped.load(Ordering::Relaxed)
    }

    fn chunk_at(&self, idx: u64) -> Result<u64, Errno> {
        let mut chunks = self.chunks.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(&off) = chunks.get(&idx) {
            return Ok(off);
        }
        let off = self.mf.allocate(self.chunk)?;
        if let Some(f) = &self.filler {
            let len = self.chunk as usize;
            // SAFETY: the range was just allocated and is not yet visible to
            // anything else, so this is the only view of it.
            let dst = unsafe { std::slice::from_raw_parts_mut(self.mf.raw_ptr(off, len), len) };
            if let Err(e) = f(idx * self.chunk, dst) {
                self.mf.release(off, self.chunk);
                return Err(e);
            }
        }
        chunks.insert(idx, off);
        Ok(off)
    }

    /// Memory-file range for `offset`, allocating its chunk if needed.
    pub fn range_at(&self, offset: u64) -> Result<(u64, u64), Errno> {
        let idx = offset / self.chunk;
        let within = offset % self.chunk;
        let off = self.chunk_at(idx)?;
        Ok((off + within, self.chunk - within))
    }

    /// Reads up to `buf.len()` bytes at `offset`, bounded by the size.
    pub fn read(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let size = self.len();
        if offset >= size {
            return Ok(0);
        }
        let n = (buf.len() as u64).min(size - offset) as usize;
        let mut done = 0;
        while done < n {
            let pos = offset + done as u64;
            let idx = pos / self.chunk;
            let within = pos % self.chunk;
            let take = ((self.chunk - within) as usize).min(n - done);
            let have = self
                .chunks
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&idx)
                .copied();
            match have {
                Some(off) => self.mf.read(off + within, &mut buf[done..done + take]),
                None if self.filler.is_some() => {
                    let off = self.chunk_at(idx)?;
                    self.mf.read(off + within, &mut buf[done..done + take]);
                }
                None => buf[done..done + take].fill(0),
            }
            done += take;
        }
        Ok(n)
    }

    /// Writes `data` at `offset`, growing the size if needed.
    pub fn write(&self, offset: u64, data: &[u8]) -> Result<usize, Errno> {
        self.changed.store(true, Ordering::Relaxed);
        let end = offset.checked_add(data.len() as u64).ok_or(Errno::EFBIG)?;
        let mut done = 0;
        while done < data.len() {
            let pos = offset + done as u64;
            let (off, avail) = self.range_at(pos)?;
            let take = (avail as usize).min(data.len() - done);
            self.mf.write(off, &data[done..done + take]);
            done += take;
        }
        let mut size = self.size.lock().unwrap_or_else(|p| p.into_inner());
        if end > *size {
            *size = end;
        }
        Ok(data.len())
    }

    /// The object ranges that have memory (chunks written or faulted in
    /// so far), adjacent ones merged, clipped to the size rounded up to a
    /// page: the extents `FS_IOC_FIEMAP` reports.
    pub fn allocated_ranges(&self) -> Vec<(u64, u64)> {
        let end = abi::page_up(self.len()).unwrap_or(u64::MAX);
        let chunks = self.chunks.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<(u64, u64)> = Vec::new();
        for &idx in chunks.keys() {
            let a = idx * self.chunk;
            if a >= end {
                break;
            }
            let b = (a + self.chunk).min(end);
            match out.last_mut() {
                Some(last) if last.1 == a => last.1 = b,
                _ => out.push((a, b)),
            }
        }
        out
    }

    /// Sets the size. Bytes past a shrunk size are zeroed, so growing again
    /// reads zeroes; chunk ranges stay reserved to this object so mappings
    /// never see another object's memory.
    pub fn truncate(&self, new_size: u64) {
        self.changed.store(true, Ordering::Relaxed);
        let mut size = self.size.lock().unwrap_or_else(|p| p.into_inner());
        if new_size < *size {
            self.clear(new_size, u64::MAX);
        }
        *size = new_size;
    }

    /// Makes `[offset, offset+len)` read as zeroes (a punched hole): whole
    /// pages are given back to the host, partial ones zeroed by hand. The
    /// size does not change. Mappings of the object see the zeroes at once,
    /// as they map the same memory-file pages.
    pub fn punch(&self, offset: u64, len: u64) {
        self.changed.store(true, Ordering::Relaxed);
        let _size = self.size.lock().unwrap_or_else(|p| p.into_inner());
        self.clear(offset, offset.saturating_add(len));
    }

    /// Zeroes `[from, to)` of the chunks allocated so far (the caller holds
    /// the size lock, so no write grows the object meanwhile).
    fn clear(&self, from: u64, to: u64) {
        if from >= to {
            return;
        }
        let chunks = self.chunks.lock().unwrap_or_else(|p| p.into_inner());
        for (&idx, &off) in chunks.range(from / self.chunk..) {
            let cstart = idx * self.chunk;
            if cstart >= to {
                break;
            }
            let a = from.max(cstart) - cstart;
            let b = (to - cstart).min(self.chunk);
            // Whole pages are punched, partial pages at either end zeroed.
            let pa = abi::page_up(a).unwrap_or(self.chunk).min(b);
            let pb = (b & !(PAGE_SIZE - 1)).max(pa);
            if pa > a {
                self.mf.zero(off + a, pa - a);
            }
            if pb > pa {
                self.mf.punch(off + pa, pb - pa);
            }
            if b > pb {
                self.mf.zero(off + pb, b - pb);
            }
        }
    }
}

impl Drop for MemObject {
    fn drop(&mut self) {
        let chunks = self.chunks.get_mut().unwrap_or_else(|p| p.into_inner());
        for (_, off) in std::mem::take(chunks) {
            self.mf.release(off, self.chunk);
        }
    }
}

impl Mappable for MemObject {
    fn translate(&self, offset: u64) -> Result<(u64, u64), Errno> {
        self.mapped.store(true, Ordering::Relaxed);
        let (off, len) = self.range_at(offset)?;
        Ok((off, len.max(PAGE_SIZE)))
    }

    fn contiguous_before(&self, offset: u64) -> u64 {
        // The start of the offset's chunk; the chunk itself is allocated
        // once `translate` has been asked for this offset.
        offset % self.chunk
    }

    /// A host file's page cache (with a filler) changes only when the
    /// sandbox writes the host file through (`--overlay=none`); other
    /// objects are files of the sandbox's own, written at will.
    fn may_change(&self) -> bool {
        self.filler.is_none() || self.changed.load(Ordering::Relaxed)
    }

    fn cached(&self, offset: u64) -> bool {
        self.chunks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(&(offset / self.chunk))
    }

    fn size(&self) -> u64 {
        self.len()
    }

    fn punch_hole(&self, offset: u64, len: u64) -> Result<(), Errno> {
        // A host file's page cache is never written through a mapping.
        if self.filler.is_some() {
            return Err(Errno::EOPNOTSUPP);
        }
        self.punch(offset, len);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_read_truncate() {
        let mf = Arc::new(MemoryFile::new(1 << 30).unwrap());
        let o = MemObject::new(mf, 0);
        o.write(70000, b"abc").unwrap();
        assert_eq!(o.len(), 70003);
        let mut b = [1u8; 4];
        assert_eq!(o.read(69999, &mut b).unwrap(), 4);
        assert_eq!(&b, b"\0abc");
        o.truncate(70001);
        o.truncate(80000);
        let mut b = [1u8; 3];
        o.read(70000, &mut b).unwrap();
        assert_eq!(&b, b"a\0\0");
    }

    #[test]
    fn punch_zeroes_partial_and_whole_pages() {
        let mf = Arc::new(MemoryFile::new(1 << 30).unwrap());
        let o = MemObject::new(mf, 0);
        o.write(0, &[7u8; 200_000]).unwrap();
        // Across a chunk boundary, starting and ending mid-page.
        o.punch(60_000, 20_000);
        assert_eq!(o.len(), 200_000);
        let mut b = vec![0u8; 200_000];
        o.read(0, &mut b).unwrap();
        assert!(b[..60_000].iter().all(|&x| x == 7));
        assert!(b[60_000..80_000].iter().all(|&x| x == 0));
        assert!(b[80_000..].iter().all(|&x| x == 7));
    }

    #[test]
    fn filler_populates_on_demand() {
        let mf = Arc::new(MemoryFile::new(1 << 30).unwrap());
        let o = MemObject::with_filler(
            mf,
            100_000,
            64 * 1024,
            Box::new(|off, dst| {
                for (i, b) in dst.iter_mut().enumerate() {
                    *b = ((off as usize + i) % 251) as u8;
                }
                Ok(())
            }),
        );
        let mut b = [0u8; 2];
        o.read(65535, &mut b).unwrap();
        assert_eq!(b, [(65535 % 251) as u8, (65536 % 251) as u8]);
    }
}
