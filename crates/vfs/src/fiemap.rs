//! `FS_IOC_FIEMAP` on sandbox files: the extents of a file's data as
//! Linux's `ioctl_fiemap`/`iomap_fiemap` report them. A file's data is
//! memory: its extents are the runs of allocated memory chunks (a host
//! file not yet copied up is one extent). There is no disk, so every
//! extent's location is `FIEMAP_EXTENT_UNKNOWN` at physical 0.

use abi::fs::*;
use abi::{Errno, SysResult};
use mm::MemoryManager;

/// Largest extent count a request may ask for (`FIEMAP_MAX_EXTENTS`).
const MAX_EXTENTS: u32 = u32::MAX / std::mem::size_of::<FiemapExtent>() as u32;
/// The largest file offset (`MAX_LFS_FILESIZE`).
const MAX_BYTES: u64 = i64::MAX as u64;

/// Serves the request at `arg` for a file whose data has `extents`
/// (`(start, end)` byte ranges, in order).
pub fn fiemap(mm: &mut MemoryManager, arg: u64, extents: &[(u64, u64)]) -> SysResult<u64> {
    let mut h: Fiemap = mm.read_obj(arg)?;
    if h.extent_count > MAX_EXTENTS {
        return Err(Errno::EINVAL);
    }
    // fiemap_prep.
    if h.length == 0 {
        return Err(Errno::EINVAL);
    }
    if h.start >= MAX_BYTES {
        return Err(Errno::EFBIG);
    }
    let len = h.length.min(MAX_BYTES - h.start);
    let incompat = h.flags & !FIEMAP_FLAG_SYNC;
    if incompat != 0 {
        // The unsupported flags go back in fm_flags.
        h.flags = incompat;
        h.mapped_extents = 0;
        mm.write_obj(arg, &h)?;
        return Err(Errno::EBADR);
    }
    let end = h.start + len;
    let hits: Vec<&(u64, u64)> = extents
        .iter()
        .filter(|&&(a, b)| a < end && b > h.start)
        .collect();
    let mut mapped = 0u32;
    let mut result = Ok(0);
    for (i, &&(a, b)) in hits.iter().enumerate() {
        let last = i + 1 == hits.len();
        if h.extent_count == 0 {
            mapped += 1;
            continue;
        }
        if mapped >= h.extent_count {
            break;
        }
        let e = FiemapExtent {
            logical: a,
            physical: 0,
            length: b - a,
            flags: FIEMAP_EXTENT_UNKNOWN | if last { FIEMAP_EXTENT_LAST } else { 0 },
            ..Default::default()
        };
        let at = arg
            + std::mem::size_of::<Fiemap>() as u64
            + mapped as u64 * std::mem::size_of::<FiemapExtent>() as u64;
        if let Err(e) = mm.write_obj(at, &e) {
            result = Err(e);
            break;
        }
        mapped += 1;
    }
    h.mapped_extents = mapped;
    mm.write_obj(arg, &h)?;
    result
}
