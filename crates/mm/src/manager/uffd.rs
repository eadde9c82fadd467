//! The address-space side of userfaultfd: registering ranges, finding the
//! context a fault must wait for, and filling missing pages
//! (`UFFDIO_COPY`, `UFFDIO_ZEROPAGE`). "Missing" is what the memory
//! manager already knows: no PMA backs the page. A registered range gets
//! page-sized PMAs from the fills only, never the 2 MiB windows of an
//! ordinary fault, so each page the handler has not filled stays missing.

use std::sync::Arc;

use abi::mman::PROT_WRITE;
use abi::{Errno, PAGE_SIZE};

use super::{MemoryManager, Pma, PmaKind, VmaName};
use crate::Userfault;

/// Lowest address a range may start at (Linux's `mmap_min_addr`).
const MIN_ADDR: u64 = 0x10000;
/// Bytes a fill copies per step (bounds the sentry's buffer).
const FILL_STEP: u64 = 64 << 10;

impl MemoryManager {
    /// This address space's number (what a userfaultfd made here keeps).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Whether some range was ever registered with a userfaultfd: the
    /// fault path's one test before looking further.
    #[inline]
    pub fn userfaults(&self) -> bool {
        self.userfaults
    }

    /// The userfaultfd a fault at `addr` must be handed to, and whether the
    /// mapping is writable: the page is missing in a range registered with
    /// one still open that the application may read (else the fault is an
    /// ordinary one and ends in a signal; so does a write where the
    /// mapping forbids it, which the caller checks).
    pub fn userfault_at(&self, addr: u64) -> Option<(Arc<Userfault>, bool)> {
        let (_, v) = self.vma_at(addr)?;
        let u = v.live_userfault()?;
        if v.prot == abi::mman::PROT_NONE || self.pma_at(addr).is_some() {
            return None;
        }
        Some((u.clone(), v.prot & PROT_WRITE != 0))
    }

    /// Linux's `validate_range`: page-aligned, not empty, inside the
    /// address space. Returns the end.
    pub fn userfault_range(&self, start: u64, len: u64) -> Result<u64, Errno> {
        if !start.is_multiple_of(PAGE_SIZE) || !len.is_multiple_of(PAGE_SIZE) || len == 0 {
            return Err(Errno::EINVAL);
        }
        if start < MIN_ADDR || start >= self.max_addr || len > self.max_addr - start {
            return Err(Errno::EINVAL);
        }
        Ok(start + len)
    }

    /// The starts of the mappings overlapping `[start, end)`, each checked
    /// to be memory a userfaultfd can serve (private anonymous memory:
    /// shared and file mappings are `EINVAL`, as Linux without
    /// `UFFD_FEATURE_MISSING_SHMEM` support). `EINVAL` when none overlaps.
    fn userfault_vmas(&self, start: u64, end: u64) -> Result<Vec<u64>, Errno> {
        let mut starts = Vec::new();
        for (&s, v) in self.vmas.range(..end).rev() {
            if v.end <= start {
                break;
            }
            let anon = matches!(v.name, VmaName::Anon | VmaName::Heap | VmaName::Stack);
            if v.shared || v.backing.is_some() || !anon {
                return Err(Errno::EINVAL);
            }
            starts.push(s);
        }
        if starts.is_empty() {
            return Err(Errno::EINVAL);
        }
        Ok(starts)
    }

    /// UFFDIO_REGISTER (missing mode) of `[start, start+len)` with `uf`:
    /// `EBUSY` if some of it is registered with another userfaultfd.
    pub fn userfault_register(
        &mut self,
        uf: &Arc<Userfault>,
        start: u64,
        len: u64,
    ) -> Result<(), Errno> {
        let end = self.userfault_range(start, len)?;
        let starts = self.userfault_vmas(start, end)?;
        for s in &starts {
            let other = self.vmas.get(s).and_then(|v| v.live_userfault());
            if other.is_some_and(|o| !Arc::ptr_eq(o, uf)) {
                return Err(Errno::EBUSY);
            }
        }
        self.set_userfault(start, end, uf, true);
        self.userfaults = true;
        Ok(())
    }

    /// UFFDIO_UNREGISTER of `[start, start+len)`: faults waiting in it go
    /// on and resolve as ordinary ones.
    pub fn userfault_unregister(
        &mut self,
        uf: &Arc<Userfault>,
        start: u64,
        len: u64,
    ) -> Result<(), Errno> {
        let end = self.userfault_range(start, len)?;
        self.userfault_vmas(start, end)?;
        self.set_userfault(start, end, uf, false);
        uf.wake(start, end);
        Ok(())
    }

    /// Registers `[start, end)` with `uf`, or unregisters the parts of it
    /// registered with `uf` (others keep theirs).
    fn set_userfault(&mut self, start: u64, end: u64, uf: &Arc<Userfault>, register: bool) {
        self.split_vma_at(start);
        self.split_vma_at(end);
        let starts: Vec<u64> = self.vmas.range(start..end).map(|(&s, _)| s).collect();
        for s in &starts {
            if let Some(v) = self.vmas.get_mut(s) {
                if register {
                    v.userfault = Some(uf.clone());
                } else if v.userfault.as_ref().is_some_and(|u| Arc::ptr_eq(u, uf)) {
                    v.userfault = None;
                }
            }
        }
        self.try_merge(end);
        for s in starts.into_iter().rev() {
            self.try_merge(s);
        }
    }

    /// UFFDIO_COPY (`src` = the source address) or UFFDIO_ZEROPAGE
    /// (`None`) of `[dst, dst+len)` (validated by the caller): fills the
    /// missing pages from the start up to the first present one. Returns
    /// the bytes filled; `EEXIST` if the first page is present, `ENOENT`
    /// if the range is not inside one mapping registered with `uf`.
    pub fn userfault_fill(
        &mut self,
        uf: &Arc<Userfault>,
        dst: u64,
        len: u64,
        src: Option<u64>,
    ) -> Result<u64, Errno> {
        let end = dst + len;
        let (_, v) = self.vma_at(dst).ok_or(Errno::ENOENT)?;
        if v.end < end || !v.userfault.as_ref().is_some_and(|u| Arc::ptr_eq(u, uf)) {
            return Err(Errno::ENOENT);
        }
        let mut buf = Vec::new();
        let mut pos = dst;
        while pos < end {
            if self.pma_at(pos).is_some() {
                break;
            }
            let next = self
                .pmas
                .range(pos..)
                .next()
                .map_or(end, |(&s, _)| s.min(end));
            let n = (next - pos).min(FILL_STEP);
            if let Some(src) = src {
                buf.resize(n as usize, 0);
                if self.copy_in(src + (pos - dst), &mut buf).is_err() {
                    return if pos > dst {
                        Ok(pos - dst)
                    } else {
                        Err(Errno::EFAULT)
                    };
                }
            }
            let off = match self.mf.allocate(n) {
                Ok(off) => off,
                Err(_) if pos > dst => return Ok(pos - dst),
                Err(_) => return Err(Errno::ENOMEM),
            };
            if src.is_some() {
                self.mf.write(off, &buf);
            }
            self.insert_pma(
                pos,
                Pma {
                    end: pos + n,
                    off,
                    kind: PmaKind::Owned,
                },
            );
            pos += n;
        }
        if pos == dst {
            return Err(Errno::EEXIST);
        }
        Ok(pos - dst)
    }
}
