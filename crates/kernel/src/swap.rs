//! Swap areas: what `swapon`/`swapoff` enable and `/proc/swaps` lists.
//!
//! The sandbox's memory lives in the sentry's memory file and is never
//! paged out to a sandbox file, so an area is bookkeeping only: the header
//! is checked as Linux checks it (`read_swap_header`), the area is listed
//! and counted in `SwapTotal`/`SwapFree`, and none of it is ever used.

use std::sync::{Arc, Mutex};

use abi::{Errno, SysResult};
use vfs::Inode;

use crate::task::lock;

pub const SWAP_FLAG_PREFER: u32 = 0x8000;
pub const SWAP_FLAG_PRIO_MASK: u32 = 0x7fff;
/// `SWAP_FLAGS_VALID`: priority, prefer and the three discard flags.
pub const SWAP_FLAGS_VALID: u32 =
    SWAP_FLAG_PRIO_MASK | SWAP_FLAG_PREFER | 0x1_0000 | 0x2_0000 | 0x4_0000;
/// Areas at once, as a Debian x86-64 kernel allows (`MAX_SWAPFILES`);
/// one more is `EPERM`.
pub const MAX_SWAPFILES: usize = 23;
const PAGE: usize = 4096;
const SIGNATURE: &[u8] = b"SWAPSPACE2";

struct Area {
    inode: Arc<Inode>,
    path: Vec<u8>,
    /// Usable pages: all but the header page.
    pages: u64,
    prio: i32,
}

#[derive(Default)]
pub struct SwapAreas {
    areas: Mutex<Vec<Area>>,
    /// The priority of the next area enabled without `SWAP_FLAG_PREFER`
    /// (-1, -2, ... as Linux's `least_priority`).
    least: Mutex<i32>,
}

/// The usable pages a swap header (the file's first page) describes, for a
/// file of `size` bytes; `EINVAL` where Linux rejects it.
pub fn parse_header(page: &[u8; PAGE], size: u64) -> SysResult<u64> {
    if &page[PAGE - SIGNATURE.len()..] != SIGNATURE {
        return Err(Errno::EINVAL);
    }
    let word = |at: usize| u32::from_ne_bytes([page[at], page[at + 1], page[at + 2], page[at + 3]]);
    let (mut version, mut last_page, mut bad) = (word(1024), word(1028), word(1032));
    // A header written on a machine of the other byte order.
    if version.swap_bytes() == 1 {
        (version, last_page, bad) = (1, last_page.swap_bytes(), bad.swap_bytes());
    }
    if version != 1 {
        return Err(Errno::EINVAL);
    }
    // Bad pages are for block devices; a regular file cannot have any.
    if bad != 0 {
        return Err(Errno::EINVAL);
    }
    let maxpages = last_page as u64 + 1;
    let filepages = size / PAGE as u64;
    if filepages != 0 && maxpages > filepages {
        return Err(Errno::EINVAL);
    }
    // The header page itself is not usable: nothing left is "Empty swap-file".
    match maxpages - 1 {
        0 => Err(Errno::EINVAL),
        n => Ok(n),
    }
}

impl SwapAreas {
    /// Enables `inode` (a regular file whose first page is `header`) as
    /// an area named `path`; returns its size in KiB and its priority.
    pub fn enable(
        &self,
        inode: &Arc<Inode>,
        path: Vec<u8>,
        header: &[u8; PAGE],
        flags: u32,
    ) -> SysResult<(u64, i32)> {
        let mut areas = lock(&self.areas);
        if areas.iter().any(|a| Arc::ptr_eq(&a.inode, inode)) {
            return Err(Errno::EBUSY);
        }
        let pages = parse_header(header, inode.size())?;
        let prio = if flags & SWAP_FLAG_PREFER != 0 {
            (flags & SWAP_FLAG_PRIO_MASK) as i32
        } else {
            let mut least = lock(&self.least);
            *least -= 1;
            *least
        };
        areas.push(Area {
            inode: inode.clone(),
            path,
            pages,
            prio,
        });
        Ok((pages * 4, prio))
    }

    /// Whether another area may be enabled (`EPERM` past `MAX_SWAPFILES`).
    pub fn room(&self) -> SysResult<()> {
        if lock(&self.areas).len() >= MAX_SWAPFILES {
            return Err(Errno::EPERM);
        }
        Ok(())
    }

    /// Disables the area `inode` is (`EINVAL` if it is none).
    pub fn disable(&self, inode: &Arc<Inode>) -> SysResult<()> {
        let mut areas = lock(&self.areas);
        let i = areas
            .iter()
            .position(|a| Arc::ptr_eq(&a.inode, inode))
            .ok_or(Errno::EINVAL)?;
        let a = areas.remove(i);
        // Linux gives the priorities of automatic areas back in order.
        if a.prio < 0 {
            let mut least = lock(&self.least);
            for b in areas.iter_mut().filter(|b| b.prio < a.prio) {
                b.prio += 1;
            }
            *least += 1;
        }
        Ok(())
    }

    /// Total swap in KiB (`SwapTotal`; all of it is free).
    pub fn total_kb(&self) -> u64 {
        lock(&self.areas).iter().map(|a| a.pages * 4).sum()
    }

    /// `/proc/swaps`.
    pub fn proc_swaps(&self) -> Vec<u8> {
        let mut out = b"Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n".to_vec();
        for a in lock(&self.areas).iter() {
            // Linux escapes blanks and backslashes in the name.
            let mut name = Vec::new();
            for &b in &a.path {
                if matches!(b, b' ' | b'\t' | b'\n' | b'\\') {
                    name.extend_from_slice(format!("\\{b:03o}").as_bytes());
                } else {
                    name.push(b);
                }
            }
            let kb = a.pages * 4;
            let pad = if name.len() < 40 { 40 - name.len() } else { 1 };
            out.extend_from_slice(&name);
            out.extend_from_slice(
                format!(
                    "{:pad$}file\t{kb}\t{}0\t\t{}\n",
                    "",
                    if kb < 10_000_000 { "\t" } else { "" },
                    a.prio
                )
                .as_bytes(),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(version: u32, last: u32, bad: u32) -> [u8; PAGE] {
        let mut p = [0u8; PAGE];
        p[1024..1028].copy_from_slice(&version.to_ne_bytes());
        p[1028..1032].copy_from_slice(&last.to_ne_bytes());
        p[1032..1036].copy_from_slice(&bad.to_ne_bytes());
        p[PAGE - 10..].copy_from_slice(SIGNATURE);
        p
    }

    #[test]
    fn header_checks() {
        assert_eq!(parse_header(&header(1, 31, 0), 32 * 4096), Ok(31));
        assert_eq!(parse_header(&[0; PAGE], 32 * 4096), Err(Errno::EINVAL));
        assert_eq!(
            parse_header(&header(2, 31, 0), 32 * 4096),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            parse_header(&header(1, 31, 1), 32 * 4096),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            parse_header(&header(1, 32, 0), 32 * 4096),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            parse_header(&header(1, 0, 0), 32 * 4096),
            Err(Errno::EINVAL)
        );
        let swapped = header(1u32.swap_bytes(), 31u32.swap_bytes(), 0);
        assert_eq!(parse_header(&swapped, 32 * 4096), Ok(31));
    }
}
