//! Syscall patching: a `mov $nr, %eax; syscall` in application code
//! (`b8 nr32 0f 05`, 7 bytes) is rewritten into `jmp *ADDR` (`ff 24 25`
//! and a 32-bit absolute address, also 7 bytes) that jumps through a
//! per-site table entry to a per-site trampoline; the trampoline loads
//! `eax` = nr and `rcx` = the address after the site and jumps to the
//! platform's fast syscall path, which hands the call to the sentry
//! without a host signal.
//!
//! The table lives at [`PATCH_AREA`], whose addresses all end in the bytes
//! `06 05`: the patch leaves the site's last byte as it was and turns the
//! byte where `syscall` began into `06`, an invalid instruction. Code that
//! reaches that byte without the jump (a syscall restarted by moving back
//! over its instruction, a jump straight to the `syscall`) faults with
//! `SIGILL` there, and the sentry serves the syscall then
//! ([`MemoryManager::patched_syscall_at`]).
//!
//! Correctness rules, all enforced here:
//! - Only sites in private, executable, non-writable mappings are patched,
//!   only while one thread uses the address space (the caller checks), so
//!   no thread can be executing the bytes being rewritten.
//! - Any change to a mapping holding patched sites (`munmap`, `mmap` over
//!   it, `mprotect`, `mremap`, `madvise`) and any debugger write first
//!   puts the original bytes back. A program can only change its code
//!   through those, so it never sees or overwrites a patch it did not
//!   expect, except by reading its own code.
//! - If the program claims the patch area's addresses, every site is
//!   restored and patching stops for the address space. It also stops
//!   when a debugger attaches or the program sets its own `gs` base
//!   ([`MemoryManager::stop_syscall_patching`]).
//! - A `fork` child inherits the patched pages, the area and the sites.

use std::collections::{BTreeMap, HashSet};

use abi::mman::{PROT_EXEC, PROT_READ, PROT_WRITE};

use super::{MemoryManager, Vma, VmaName};

/// The table of trampoline addresses: 8-byte entries whose addresses are
/// `0x0506xxxx`, so a patched site ends in `06 05`.
pub const PATCH_AREA: u64 = 0x0506_0000;
const TABLE_ENTRIES: u64 = 0x1_0000 / 8;
const TRAMPOLINES: u64 = PATCH_AREA + 0x1_0000;
const TRAMPOLINE_SIZE: u64 = 32;
/// End of the area: the table, then one trampoline per entry.
pub const PATCH_AREA_END: u64 = TRAMPOLINES + TABLE_ENTRIES * TRAMPOLINE_SIZE;
const SITE_LEN: u64 = 7;
/// Tracked addresses found unpatchable, to not look at them again.
const REJECTED_MAX: usize = 4096;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Mode {
    /// Nothing patched yet: the area is not mapped.
    #[default]
    Unused,
    Active,
    /// Stopped for good in this address space.
    Off,
}

#[derive(Clone, Copy, Debug)]
struct Site {
    nr: u32,
    entry: u32,
}

/// The patched sites of one address space.
#[derive(Clone, Default)]
pub(super) struct SyscallPatches {
    mode: Mode,
    /// Site start address -> what it was and which table entry it uses.
    sites: BTreeMap<u64, Site>,
    next_entry: u32,
    /// Ends of `syscall` instructions found unpatchable.
    rejected: HashSet<u64>,
}

fn original(nr: u32) -> [u8; SITE_LEN as usize] {
    let n = nr.to_le_bytes();
    [0xb8, n[0], n[1], n[2], n[3], 0x0f, 0x05]
}

fn patched(entry: u32) -> [u8; SITE_LEN as usize] {
    let a = (PATCH_AREA + 8 * entry as u64).to_le_bytes();
    [0xff, 0x24, 0x25, a[0], a[1], a[2], a[3]]
}

fn trampoline(nr: u32, ret: u64, target: u64) -> [u8; TRAMPOLINE_SIZE as usize] {
    let mut t = [0xcc; TRAMPOLINE_SIZE as usize];
    t[0] = 0xb8; // mov eax, nr
    t[1..5].copy_from_slice(&nr.to_le_bytes());
    t[5..7].copy_from_slice(&[0x48, 0xb9]); // movabs rcx, ret
    t[7..15].copy_from_slice(&ret.to_le_bytes());
    t[15..17].copy_from_slice(&[0x49, 0xbb]); // movabs r11, target
    t[17..25].copy_from_slice(&target.to_le_bytes());
    t[25..28].copy_from_slice(&[0x41, 0xff, 0xe3]); // jmp r11
    t
}

impl MemoryManager {
    /// Patches the `mov $nr, %eax; syscall` whose `syscall` ends at
    /// `site_end`, so that it jumps to `target` (the platform's fast path)
    /// from now on. Only call while one thread uses this address space.
    /// Returns whether the site is patched.
    pub fn patch_syscall(&mut self, site_end: u64, nr: u64, target: u64) -> bool {
        if self.patches.mode == Mode::Off || self.patches.rejected.contains(&site_end) {
            return false;
        }
        let Some(site) = site_end.checked_sub(SITE_LEN) else {
            return false;
        };
        let Ok(nr) = u32::try_from(nr) else {
            return false;
        };
        let Some(imm) = self.site_number(site) else {
            self.reject(site_end);
            return false;
        };
        // Reached with another number (a jump straight to the `syscall`):
        // patchable, but not from here.
        let known = self.patches.sites.get(&site).copied();
        if imm != nr || known.is_some_and(|s| s.nr != nr) {
            return false;
        }
        if self.patches.mode == Mode::Unused && !self.map_patch_area() {
            return false;
        }
        let entry = match known {
            // Patched before, and its page went back to the file's bytes
            // (`MADV_DONTNEED`): the trampoline is still there.
            Some(s) => s.entry,
            None => {
                let entry = self.patches.next_entry;
                if u64::from(entry) >= TABLE_ENTRIES {
                    self.reject(site_end);
                    return false;
                }
                let tramp = TRAMPOLINES + TRAMPOLINE_SIZE * u64::from(entry);
                let code = trampoline(nr, site_end, target);
                if !self.poke(tramp, &code)
                    || !self.poke(PATCH_AREA + 8 * u64::from(entry), &tramp.to_le_bytes())
                {
                    return false;
                }
                self.patches.next_entry += 1;
                entry
            }
        };
        if !self.poke(site, &patched(entry)) {
            return false;
        }
        self.patches.sites.insert(site, Site { nr, entry });
        true
    }

    /// Whether `addr` (where a `SIGILL` happened) is the `syscall` of a
    /// patched site, which then stands for that syscall.
    pub fn patched_syscall_at(&mut self, addr: u64) -> bool {
        let Some(site) = addr.checked_sub(SITE_LEN - 2) else {
            return false;
        };
        match self.patches.sites.get(&site).copied() {
            Some(s) => self.holds(site, &patched(s.entry)),
            None => false,
        }
    }

    /// Puts every patched site back and patches nothing more in this
    /// address space.
    pub fn stop_syscall_patching(&mut self) {
        if self.patches.mode != Mode::Active {
            self.patches.mode = Mode::Off;
            return;
        }
        self.patches.mode = Mode::Off;
        let sites = std::mem::take(&mut self.patches.sites);
        for (site, s) in sites {
            self.restore(site, s);
        }
        self.remove_range(PATCH_AREA, PATCH_AREA_END);
    }

    /// Restores the patched sites overlapping `[start, end)` before the
    /// application changes that range; stops patching altogether if the
    /// range touches the patch area.
    pub(super) fn unpatch_range(&mut self, start: u64, end: u64) {
        // What was unpatchable there may not be any more.
        if !self.patches.rejected.is_empty() {
            self.patches.rejected.clear();
        }
        if self.patches.mode != Mode::Active {
            return;
        }
        if start < PATCH_AREA_END && end > PATCH_AREA {
            self.stop_syscall_patching();
            return;
        }
        let from = start.saturating_sub(SITE_LEN - 1);
        let hit: Vec<(u64, Site)> = self
            .patches
            .sites
            .range(from..end)
            .map(|(&a, &s)| (a, s))
            .collect();
        for (site, s) in hit {
            self.patches.sites.remove(&site);
            self.restore(site, s);
        }
    }

    fn restore(&mut self, site: u64, s: Site) {
        if self.holds(site, &patched(s.entry)) {
            self.poke(site, &original(s.nr));
        }
    }

    fn reject(&mut self, site_end: u64) {
        if self.patches.rejected.len() >= REJECTED_MAX {
            self.patches.rejected.clear();
        }
        self.patches.rejected.insert(site_end);
    }

    /// The `nr` of a `mov $nr, %eax; syscall` at `[site, site+7)` inside
    /// one private, executable, read-only mapping.
    fn site_number(&mut self, site: u64) -> Option<u32> {
        let ok = self.vma_at(site).is_some_and(|(_, v)| {
            v.end >= site + SITE_LEN
                && !v.shared
                && v.prot & PROT_EXEC != 0
                && v.prot & PROT_WRITE == 0
                && v.name != VmaName::SyscallTrampolines
        });
        let mut b = [0u8; SITE_LEN as usize];
        if !ok || self.read_forced(site, &mut b) != b.len() {
            return None;
        }
        let nr = u32::from_le_bytes([b[1], b[2], b[3], b[4]]);
        (b == original(nr)).then_some(nr)
    }

    fn holds(&mut self, addr: u64, bytes: &[u8]) -> bool {
        let mut buf = [0u8; SITE_LEN as usize];
        let buf = &mut buf[..bytes.len()];
        self.read_forced(addr, buf) == bytes.len() && buf == bytes
    }

    /// Writes code or table bytes as a debugger would (a private copy of
    /// the page), without the debugger write's unpatching.
    fn poke(&mut self, addr: u64, data: &[u8]) -> bool {
        self.write_raw(addr, data) == data.len()
    }

    /// Maps the (empty) table and trampolines; stops patching if the
    /// program already uses those addresses.
    fn map_patch_area(&mut self) -> bool {
        if PATCH_AREA_END > self.max_addr || self.overlaps(PATCH_AREA, PATCH_AREA_END) {
            self.patches.mode = Mode::Off;
            return false;
        }
        self.vmas.insert(
            PATCH_AREA,
            Vma {
                end: PATCH_AREA_END,
                prot: PROT_READ | PROT_EXEC,
                may_write: false,
                shared: false,
                growsdown: false,
                backing: None,
                name: VmaName::SyscallTrampolines,
            },
        );
        self.patches.mode = Mode::Active;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{anon, mm};
    use super::*;
    use abi::mman::MAP_FIXED;

    const CODE: u64 = 0x40_0000;
    const SITE: u64 = CODE + 1;
    const TARGET: u64 = 0x7fe0_0000_0100;

    /// An address space with `nop; mov eax, 39; syscall; ret` at CODE.
    fn with_code() -> MemoryManager {
        let mut m = mm();
        m.mmap(anon(CODE, 0x1000, PROT_READ | PROT_WRITE, MAP_FIXED))
            .unwrap();
        let mut code = vec![0x90];
        code.extend_from_slice(&original(39));
        code.push(0xc3);
        m.copy_out(CODE, &code).unwrap();
        m.mprotect(CODE, 0x1000, PROT_READ | PROT_EXEC).unwrap();
        m
    }

    fn bytes(m: &mut MemoryManager, at: u64) -> [u8; 7] {
        let mut b = [0u8; 7];
        assert_eq!(m.read_forced(at, &mut b), 7);
        b
    }

    #[test]
    fn patches_a_site_and_restores_it_before_changes() {
        let mut m = with_code();
        // Not a site: wrong number, wrong place, writable code.
        assert!(!m.patch_syscall(SITE + 7, 40, TARGET));
        assert!(!m.patch_syscall(SITE + 6, 39, TARGET));
        assert!(m.patch_syscall(SITE + 7, 39, TARGET));
        assert_eq!(bytes(&mut m, SITE), patched(0));
        let mut entry = [0u8; 8];
        assert_eq!(m.read_forced(PATCH_AREA, &mut entry), 8);
        assert_eq!(u64::from_le_bytes(entry), TRAMPOLINES);
        let mut tramp = [0u8; 32];
        assert_eq!(m.read_forced(TRAMPOLINES, &mut tramp), 32);
        assert_eq!(tramp, trampoline(39, SITE + 7, TARGET));
        assert!(m.patched_syscall_at(SITE + 5));
        assert!(!m.patched_syscall_at(SITE + 6));
        assert!(m.maps_text().contains("[syscall-trampolines]"));

        // A fork child has the same patched code and knows its sites.
        let mut child = m.fork().unwrap();
        assert_eq!(bytes(&mut child, SITE), patched(0));
        assert!(child.patched_syscall_at(SITE + 5));

        // Made writable: the program sees its own code again.
        m.mprotect(CODE, 0x1000, PROT_READ | PROT_WRITE | PROT_EXEC)
            .unwrap();
        assert_eq!(bytes(&mut m, SITE), original(39));
        assert!(!m.patched_syscall_at(SITE + 5));
        assert!(!m.patch_syscall(SITE + 7, 39, TARGET));
        m.mprotect(CODE, 0x1000, PROT_READ | PROT_EXEC).unwrap();
        assert!(m.patch_syscall(SITE + 7, 39, TARGET));
        // A debugger's write lands on the original bytes.
        assert_eq!(m.write_forced(SITE + 1, &[110]), 1);
        assert_eq!(bytes(&mut m, SITE), original(110));
        // The child's copy is untouched by all that.
        assert_eq!(bytes(&mut child, SITE), patched(0));
        child.munmap(CODE, 0x1000).unwrap();
        assert!(!child.patched_syscall_at(SITE + 5));
    }

    #[test]
    fn claiming_the_area_stops_patching() {
        let mut m = with_code();
        assert!(m.patch_syscall(SITE + 7, 39, TARGET));
        m.mmap(anon(PATCH_AREA, 0x1000, PROT_READ, MAP_FIXED))
            .unwrap();
        assert_eq!(bytes(&mut m, SITE), original(39));
        assert!(!m.maps_text().contains("[syscall-trampolines]"));
        assert!(!m.patch_syscall(SITE + 7, 39, TARGET));

        let mut m = with_code();
        assert!(m.patch_syscall(SITE + 7, 39, TARGET));
        m.stop_syscall_patching();
        assert_eq!(bytes(&mut m, SITE), original(39));
        assert!(!m.maps_text().contains("[syscall-trampolines]"));
        assert!(!m.patch_syscall(SITE + 7, 39, TARGET));
    }

    #[test]
    fn patched_sites_end_like_the_original_and_jump_through_the_table() {
        for entry in [0, 1, 4095, (TABLE_ENTRIES - 1) as u32] {
            let p = patched(entry);
            assert_eq!(&p[5..], &[0x06, 0x05]);
            let addr = u32::from_le_bytes([p[3], p[4], p[5], p[6]]) as u64;
            assert_eq!(addr, PATCH_AREA + 8 * entry as u64);
            assert!(addr + 8 <= TRAMPOLINES);
        }
        assert_eq!(original(39), [0xb8, 39, 0, 0, 0, 0x0f, 0x05]);
        // The area stays below 2 GiB (a sign-extended 32-bit address).
        const { assert!(PATCH_AREA_END < 0x8000_0000) };
    }
}
