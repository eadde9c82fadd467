//! Syscall patching: a `syscall` instruction in application code, in one
//! of two common shapes, is rewritten into `jmp *ADDR` (`ff 24 25` and a
//! 32-bit absolute address, 7 bytes) that jumps through a per-site table
//! entry to a per-site trampoline, which enters the platform's fast
//! syscall path (`eax` = number, `rcx` = where to go on) without a host
//! signal:
//!
//! - `mov $nr, %eax; syscall` (`b8 nr32 0f 05`): the jump replaces both;
//!   the trampoline loads `eax` = nr and returns to the instruction after.
//! - `mov $nr, %eax; lea disp32(%base), %reg; syscall` (glibc's
//!   `rt_sigprocmask` calls, which pass a mask's address; the base may be
//!   `%rip`): the jump replaces the `mov` and the `lea`'s first two bytes;
//!   the trampoline loads `eax`, repeats the `lea` (as an absolute
//!   `movabs` if it was `%rip`-relative) and returns past the `syscall`.
//! - `syscall; cmp $imm32, %rax` (`0f 05 48 3d imm32`, glibc's error check,
//!   with the number already in `eax`): the jump replaces the `syscall`
//!   and the first five bytes of the `cmp`; the trampoline returns into
//!   itself, where a copy of the `cmp` runs before it jumps back past the
//!   site. The two bytes before that copy jump back to the trampoline's
//!   start, so a syscall restarted by stepping back over its instruction
//!   (`rip - 2`) enters the fast path again.
//!
//! The table lives at [`PATCH_AREA`], whose addresses all end in the bytes
//! `06 05`: a patched `mov`+`syscall` site keeps its last byte and turns the
//! byte where `syscall` began into `06`, an invalid instruction. Code that
//! reaches that byte without the jump (a restarted syscall, a jump straight
//! to the `syscall`) faults with `SIGILL` there, and the sentry serves the
//! syscall then ([`MemoryManager::patched_syscall_at`]). In a `mov`+`lea`
//! site that byte is where the `lea` began: the sentry does the `lea`'s
//! work, then serves the syscall. Its `syscall` keeps its own bytes.
//!
//! Correctness rules, all enforced here:
//! - Only sites in private, executable, non-writable mappings are patched,
//!   only while no thread of the address space runs application code (the
//!   caller checks [`MemoryManager::application_stopped`] under the lock
//!   that entering application code takes), so no thread can be executing
//!   the bytes being rewritten. Threads stopped at the instruction after a
//!   `syscall` whose bytes became part of a jump move to the trampoline's
//!   copy of it before they run again ([`MemoryManager::patch_epoch`]).
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
//!
//! - Putting a site back first has every thread of the address space
//!   leave application code (the kernel interrupts them:
//!   [`MemoryManager::set_quiesce_hook`]); they wait for the lock the
//!   restorer holds to come back. A thread that does not leave within
//!   300 ms (a `CLONE_VM` child of another process) is not waited for.

use std::collections::{BTreeMap, HashMap, HashSet};

use abi::mman::{PROT_EXEC, PROT_READ, PROT_WRITE};
use abi::regs::PtRegs;

use super::{MemoryManager, Vma, VmaName};

/// The table of trampoline addresses: 8-byte entries whose addresses are
/// `0x0506xxxx`, so a patched site ends in `06 05`.
pub const PATCH_AREA: u64 = 0x0506_0000;
const TABLE_ENTRIES: u64 = 0x1_0000 / 8;
const TRAMPOLINES: u64 = PATCH_AREA + 0x1_0000;
const TRAMPOLINE_SIZE: u64 = 64;
/// End of the area: the table, then one trampoline per entry.
pub const PATCH_AREA_END: u64 = TRAMPOLINES + TABLE_ENTRIES * TRAMPOLINE_SIZE;
/// The longest site.
const SITE_MAX: u64 = 14;
/// Tracked addresses found unpatchable, to not look at them again.
const REJECTED_MAX: usize = 4096;
/// Traps a site takes before it is patched: patching costs about as much
/// as a few dozen traps (a private copy of the page, the trampoline), which
/// a site run once or twice (a short-lived process's exit) never pays back.
const PATCH_AFTER: u8 = 8;
/// Sites counted at once.
const COUNTED_MAX: usize = 4096;
/// The jump's length.
const JUMP_LEN: usize = 7;
/// Where a `syscall; cmp` trampoline's copy of the `cmp` starts.
const CMP_RESUME: u64 = 25;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Mode {
    /// Nothing patched yet: the area is not mapped.
    #[default]
    Unused,
    Active,
    /// Stopped for good in this address space.
    Off,
}

/// What a patched site held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// `mov $nr, %eax; syscall`, starting at the `mov`.
    MovSyscall { nr: u32 },
    /// `syscall; cmp $imm, %rax`, starting at the `syscall`.
    SyscallCmp { imm: u32 },
    /// `mov $nr, %eax; lea disp32(%base), %reg; syscall`, starting at the
    /// `mov`; `lea` holds its 7 bytes (see [`Lea::decode`]).
    MovLeaSyscall { nr: u32, lea: [u8; 7] },
}

/// A 7-byte `lea`: REX.W (with R and B, no X), `8d`, and a ModRM of
/// `disp32(%base)` without SIB or of `disp32(%rip)`. The destination is
/// none the trampoline or the syscall's own convention uses (`rax`,
/// `rcx`, `r11`) nor `rsp`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Lea {
    dest: u8,
    /// `None`: `%rip`-relative.
    base: Option<u8>,
    disp: i32,
}

impl Lea {
    fn decode(b: [u8; 7]) -> Option<Lea> {
        let rex = b[0];
        if rex & 0xf8 != 0x48 || rex & 0x02 != 0 || b[1] != 0x8d {
            return None;
        }
        let modrm = b[2];
        let dest = ((modrm >> 3) & 7) | ((rex & 0x04) << 1);
        let base = match (modrm >> 6, modrm & 7) {
            (0b10, rm) if rm != 0b100 => Some(rm | ((rex & 0x01) << 3)),
            (0b00, 0b101) => None,
            _ => return None,
        };
        if matches!(dest, 0 | 1 | 4 | 11) {
            return None;
        }
        let disp = i32::from_le_bytes([b[3], b[4], b[5], b[6]]);
        Some(Lea { dest, base, disp })
    }

    /// The address it computes, `next` being the address after it.
    fn address(self, regs: &mut PtRegs, next: u64) -> u64 {
        let base = match self.base {
            Some(r) => *regs.gpr_mut(r),
            None => next,
        };
        base.wrapping_add(self.disp as i64 as u64)
    }
}

impl Shape {
    fn len(self) -> usize {
        match self {
            Shape::MovSyscall { .. } => 7,
            Shape::SyscallCmp { .. } => 8,
            Shape::MovLeaSyscall { .. } => 14,
        }
    }

    /// The syscall number the site loads, if it loads one.
    fn nr(self) -> Option<u32> {
        match self {
            Shape::MovSyscall { nr } | Shape::MovLeaSyscall { nr, .. } => Some(nr),
            Shape::SyscallCmp { .. } => None,
        }
    }

    fn original(self) -> Vec<u8> {
        match self {
            Shape::MovSyscall { nr } => {
                let mut b = vec![0xb8];
                b.extend_from_slice(&nr.to_le_bytes());
                b.extend_from_slice(&[0x0f, 0x05]);
                b
            }
            Shape::SyscallCmp { imm } => {
                let mut b = vec![0x0f, 0x05, 0x48, 0x3d];
                b.extend_from_slice(&imm.to_le_bytes());
                b
            }
            Shape::MovLeaSyscall { nr, lea } => {
                let mut b = vec![0xb8];
                b.extend_from_slice(&nr.to_le_bytes());
                b.extend_from_slice(&lea);
                b.extend_from_slice(&[0x0f, 0x05]);
                b
            }
        }
    }

    /// The jump through table entry `entry`, then what stays of the site.
    fn patched(self, entry: u32) -> Vec<u8> {
        let a = (PATCH_AREA + 8 * entry as u64).to_le_bytes();
        let mut b = vec![0xff, 0x24, 0x25, a[0], a[1], a[2], a[3]];
        b.extend_from_slice(&self.original()[JUMP_LEN..]);
        b
    }

    /// The trampoline at `at` for the site at `site`.
    fn trampoline(self, at: u64, site: u64, target: u64) -> Vec<u8> {
        let mut t = Vec::with_capacity(TRAMPOLINE_SIZE as usize);
        match self {
            Shape::MovSyscall { nr } => {
                t.push(0xb8); // mov eax, nr
                t.extend_from_slice(&nr.to_le_bytes());
                t.extend_from_slice(&[0x48, 0xb9]); // movabs rcx, site end
                t.extend_from_slice(&(site + 7).to_le_bytes());
                t.extend_from_slice(&[0x49, 0xbb]); // movabs r11, target
                t.extend_from_slice(&target.to_le_bytes());
                t.extend_from_slice(&[0x41, 0xff, 0xe3]); // jmp r11
            }
            Shape::SyscallCmp { imm } => {
                // The syscall returns to `resume`, right after a short jump
                // back to the start (for restarts).
                let resume = at + CMP_RESUME;
                t.extend_from_slice(&[0x48, 0xb9]); // movabs rcx, resume
                t.extend_from_slice(&resume.to_le_bytes());
                t.extend_from_slice(&[0x49, 0xbb]); // movabs r11, target
                t.extend_from_slice(&target.to_le_bytes());
                t.extend_from_slice(&[0x41, 0xff, 0xe3]); // jmp r11
                t.extend_from_slice(&[0xeb, 0xe7]); // jmp short start
                t.extend_from_slice(&[0x48, 0x3d]); // cmp rax, imm
                t.extend_from_slice(&imm.to_le_bytes());
                t.extend_from_slice(&[0xff, 0x25, 0, 0, 0, 0]); // jmp [rip]
                t.extend_from_slice(&(site + 8).to_le_bytes());
            }
            Shape::MovLeaSyscall { nr, lea } => {
                t.push(0xb8); // mov eax, nr
                t.extend_from_slice(&nr.to_le_bytes());
                match Lea::decode(lea) {
                    Some(Lea {
                        dest,
                        base: None,
                        disp,
                    }) => {
                        // movabs dest, the address it had relative to the site
                        t.push(0x48 | (dest >> 3));
                        t.push(0xb8 + (dest & 7));
                        let at = (site + 12).wrapping_add(disp as i64 as u64);
                        t.extend_from_slice(&at.to_le_bytes());
                    }
                    _ => t.extend_from_slice(&lea),
                }
                t.extend_from_slice(&[0x48, 0xb9]); // movabs rcx, site end
                t.extend_from_slice(&(site + 14).to_le_bytes());
                t.extend_from_slice(&[0x49, 0xbb]); // movabs r11, target
                t.extend_from_slice(&target.to_le_bytes());
                t.extend_from_slice(&[0x41, 0xff, 0xe3]); // jmp r11
            }
        }
        t.resize(TRAMPOLINE_SIZE as usize, 0xcc);
        t
    }
}

#[derive(Clone, Copy, Debug)]
struct Site {
    shape: Shape,
    entry: u32,
}

/// The patched sites of one address space.
#[derive(Clone, Default)]
pub(super) struct SyscallPatches {
    mode: Mode,
    /// The table and trampolines are mapped.
    area: bool,
    /// Site start address -> what it held and which table entry it uses.
    sites: BTreeMap<u64, Site>,
    next_entry: u32,
    /// Each `syscall; cmp` trampoline's resume point -> the site's own
    /// instruction after the `syscall`.
    resumes: BTreeMap<u64, u64>,
    /// Ends of `syscall` instructions found unpatchable.
    rejected: HashSet<u64>,
    /// Traps taken so far at sites not yet patched.
    counted: HashMap<u64, u8>,
    /// Bumped whenever the instruction after a `syscall` may have moved
    /// (a site patched, patching stopped): threads stopped meanwhile
    /// translate where they resume ([`MemoryManager::resume_address`]).
    epoch: u64,
}

impl MemoryManager {
    /// Patches the `syscall` instruction ending at `site_end`, made with
    /// number `nr`, so that it jumps to `target` (the platform's fast
    /// path) from now on. Only call while no thread runs this address
    /// space's code ([`MemoryManager::application_stopped`]). Returns where the current syscall must return to when the
    /// site is now patched (see [`MemoryManager::resume_address`]).
    pub fn patch_syscall(&mut self, site_end: u64, nr: u64, target: u64) -> Option<u64> {
        if self.patches.mode == Mode::Off || self.patches.rejected.contains(&site_end) {
            return None;
        }
        if self.patches.counted.len() >= COUNTED_MAX {
            self.patches.counted.clear();
        }
        let traps = self.patches.counted.entry(site_end).or_insert(0);
        *traps += 1;
        if *traps < PATCH_AFTER {
            return None;
        }
        self.patches.counted.remove(&site_end);
        let Ok(nr) = u32::try_from(nr) else {
            return None;
        };
        let Some((site, shape)) = self.site_shape(site_end) else {
            self.reject(site_end);
            return None;
        };
        // Reached with another number (a jump straight to the `syscall`):
        // patchable, but not from here.
        if shape.nr().is_some_and(|n| n != nr) {
            return None;
        }
        // Every way a patched site gets its bytes back also forgets it.
        if self.patches.sites.contains_key(&site) {
            return None;
        }
        if self.patches.mode == Mode::Unused && !self.map_patch_area() {
            return None;
        }
        let entry = self.patches.next_entry;
        if u64::from(entry) >= TABLE_ENTRIES {
            self.reject(site_end);
            return None;
        }
        let tramp = TRAMPOLINES + TRAMPOLINE_SIZE * u64::from(entry);
        let code = shape.trampoline(tramp, site, target);
        if !self.poke(tramp, &code)
            || !self.poke(PATCH_AREA + 8 * u64::from(entry), &tramp.to_le_bytes())
        {
            return None;
        }
        self.patches.next_entry += 1;
        if let Shape::SyscallCmp { .. } = shape {
            self.patches.resumes.insert(tramp + CMP_RESUME, site + 2);
        }
        if !self.poke(site, &shape.patched(entry)) {
            return None;
        }
        self.patches.sites.insert(site, Site { shape, entry });
        self.patches.epoch += 1;
        Some(self.resume_address(site_end))
    }

    /// Changes with every patch that can move where a thread stopped at a
    /// syscall resumes: a thread that last ran at another epoch passes its
    /// `rip` through [`MemoryManager::resume_address`] first.
    pub fn patch_epoch(&self) -> u64 {
        self.patches.epoch
    }

    /// Where code that would go on at `rip` goes on now: the instruction
    /// after a patched `syscall` that is followed by an error check is
    /// part of the jump, so a return there (from the syscall that got it
    /// patched, or from a signal frame saved before) goes through the
    /// trampoline's copy of the check.
    /// Once patching stopped, the reverse: a trampoline's copy of the
    /// check is the site's own again.
    pub fn resume_address(&self, rip: u64) -> u64 {
        if self.patches.mode != Mode::Active {
            return self.patches.resumes.get(&rip).copied().unwrap_or(rip);
        }
        match rip
            .checked_sub(2)
            .and_then(|site| self.patches.sites.get(&site))
        {
            Some(Site {
                shape: Shape::SyscallCmp { .. },
                entry,
            }) => TRAMPOLINES + TRAMPOLINE_SIZE * u64::from(*entry) + CMP_RESUME,
            _ => rip,
        }
    }

    /// Whether `addr` (where a `SIGILL` happened) is the instruction after
    /// the `mov` of a patched site, which then stands for the rest of the
    /// site: `regs` get what its `lea` computes, if it has one, and the
    /// address after its `syscall` is returned. The caller serves the
    /// syscall.
    pub fn patched_syscall_at(&mut self, addr: u64, regs: &mut PtRegs) -> Option<u64> {
        let site = addr.checked_sub(5)?;
        let s = self.patches.sites.get(&site).copied()?;
        if !self.holds(site, &s.shape.patched(s.entry)) {
            return None;
        }
        match s.shape {
            Shape::MovSyscall { .. } => Some(site + 7),
            Shape::MovLeaSyscall { lea, .. } => {
                let lea = Lea::decode(lea)?;
                let value = lea.address(regs, site + 12);
                *regs.gpr_mut(lea.dest) = value;
                Some(site + 14)
            }
            Shape::SyscallCmp { .. } => None,
        }
    }

    /// Puts every patched site back and patches nothing more in this
    /// address space. The trampolines stay (a thread may be returning
    /// through one), until the program maps over them.
    pub fn stop_syscall_patching(&mut self) {
        let was = std::mem::replace(&mut self.patches.mode, Mode::Off);
        if was != Mode::Active {
            return;
        }
        self.patches.epoch += 1;
        let sites = std::mem::take(&mut self.patches.sites);
        for (site, s) in sites {
            self.restore(site, s);
        }
    }

    /// Restores the patched sites overlapping `[start, end)` before the
    /// application changes that range; if the range touches the patch
    /// area, stops patching and gives the area up.
    pub(super) fn unpatch_range(&mut self, start: u64, end: u64) {
        // What was unpatchable there may not be any more.
        if !self.patches.rejected.is_empty() {
            self.patches.rejected.clear();
        }
        if self.patches.area && start < PATCH_AREA_END && end > PATCH_AREA {
            self.stop_syscall_patching();
            self.patches.area = false;
            self.remove_range(PATCH_AREA, PATCH_AREA_END);
            return;
        }
        if self.patches.mode != Mode::Active {
            return;
        }
        let from = start.saturating_sub(SITE_MAX - 1);
        let hit: Vec<(u64, Site)> = self
            .patches
            .sites
            .range(from..end)
            .filter(|(&a, s)| a + s.shape.len() as u64 > start)
            .map(|(&a, &s)| (a, s))
            .collect();
        for (site, s) in hit {
            self.patches.sites.remove(&site);
            self.restore(site, s);
        }
    }

    fn restore(&mut self, site: u64, s: Site) {
        if self.holds(site, &s.shape.patched(s.entry)) {
            // Another thread may be running these very bytes.
            self.quiesce();
            self.poke(site, &s.shape.original());
        }
    }

    fn reject(&mut self, site_end: u64) {
        if self.patches.rejected.len() >= REJECTED_MAX {
            self.patches.rejected.clear();
        }
        self.patches.rejected.insert(site_end);
    }

    /// The patchable site around the `syscall` ending at `site_end`: its
    /// start and shape, inside one private, executable, read-only mapping.
    fn site_shape(&mut self, site_end: u64) -> Option<(u64, Shape)> {
        if let Some(start) = site_end.checked_sub(7) {
            let mut b = [0u8; 7];
            if self.code_range(start, site_end) && self.read_forced(start, &mut b) == 7 {
                let mov = Shape::MovSyscall {
                    nr: u32::from_le_bytes([b[1], b[2], b[3], b[4]]),
                };
                if b[..] == mov.original()[..] {
                    return Some((start, mov));
                }
            }
        }
        if let Some(start) = site_end.checked_sub(14) {
            let mut b = [0u8; 14];
            if self.code_range(start, site_end) && self.read_forced(start, &mut b) == 14 {
                let mut lea = [0u8; 7];
                lea.copy_from_slice(&b[5..12]);
                let shape = Shape::MovLeaSyscall {
                    nr: u32::from_le_bytes([b[1], b[2], b[3], b[4]]),
                    lea,
                };
                if b[..] == shape.original()[..] && Lea::decode(lea).is_some() {
                    return Some((start, shape));
                }
            }
        }
        let site = site_end.checked_sub(2)?;
        let mut b = [0u8; 8];
        if !self.code_range(site, site + 8) || self.read_forced(site, &mut b) != 8 {
            return None;
        }
        let cmp = Shape::SyscallCmp {
            imm: u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        };
        (b[..] == cmp.original()[..]).then_some((site, cmp))
    }

    /// Whether `[start, end)` lies in one private, executable, read-only
    /// mapping other than the trampolines.
    fn code_range(&self, start: u64, end: u64) -> bool {
        self.vma_at(start).is_some_and(|(_, v)| {
            v.end >= end
                && !v.shared
                && v.prot & PROT_EXEC != 0
                && v.prot & PROT_WRITE == 0
                && v.name != VmaName::SyscallTrampolines
        })
    }

    fn holds(&mut self, addr: u64, bytes: &[u8]) -> bool {
        let mut buf = [0u8; SITE_MAX as usize];
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
                dontfork: false,
                wipeonfork: false,
                userfault: None,
            },
        );
        self.patches.mode = Mode::Active;
        self.patches.area = true;
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
    const MOV: Shape = Shape::MovSyscall { nr: 39 };
    const CMP: Shape = Shape::SyscallCmp { imm: 0xffff_f001 };

    /// An address space with `nop; mov eax, 39; syscall; ret` at CODE.
    fn with_code() -> MemoryManager {
        let mut m = mm();
        m.mmap(anon(CODE, 0x1000, PROT_READ | PROT_WRITE, MAP_FIXED))
            .unwrap();
        let mut code = vec![0x90];
        code.extend_from_slice(&MOV.original());
        code.push(0xc3);
        m.copy_out(CODE, &code).unwrap();
        // At CODE + 0x100: syscall; cmp rax, -4095; ret
        m.copy_out(
            CODE + 0x100,
            &[0x0f, 0x05, 0x48, 0x3d, 0x01, 0xf0, 0xff, 0xff, 0xc3],
        )
        .unwrap();
        m.mprotect(CODE, 0x1000, PROT_READ | PROT_EXEC).unwrap();
        m
    }

    /// Traps at the site until it is patched (or not).
    fn patch(m: &mut MemoryManager, site_end: u64, nr: u64, target: u64) -> Option<u64> {
        for _ in 1..PATCH_AFTER {
            assert_eq!(m.patch_syscall(site_end, nr, target), None);
        }
        m.patch_syscall(site_end, nr, target)
    }

    fn bytes(m: &mut MemoryManager, at: u64) -> Vec<u8> {
        let mut b = [0u8; 7];
        assert_eq!(m.read_forced(at, &mut b), 7);
        b.to_vec()
    }

    fn head(v: Vec<u8>) -> Vec<u8> {
        v[..7].to_vec()
    }

    #[test]
    fn patches_a_site_and_restores_it_before_changes() {
        let mut m = with_code();
        // Not a site: wrong number, wrong place, writable code.
        assert!(patch(&mut m, SITE + 7, 40, TARGET).is_none());
        assert!(patch(&mut m, SITE + 6, 39, TARGET).is_none());
        assert_eq!(patch(&mut m, SITE + 7, 39, TARGET), Some(SITE + 7));
        assert_eq!(bytes(&mut m, SITE), MOV.patched(0));
        let mut entry = [0u8; 8];
        assert_eq!(m.read_forced(PATCH_AREA, &mut entry), 8);
        assert_eq!(u64::from_le_bytes(entry), TRAMPOLINES);
        let mut tramp = [0u8; 64];
        assert_eq!(m.read_forced(TRAMPOLINES, &mut tramp), 64);
        assert_eq!(tramp.to_vec(), MOV.trampoline(TRAMPOLINES, SITE, TARGET));
        assert!(m
            .patched_syscall_at(SITE + 5, &mut PtRegs::default())
            .is_some());
        assert!(m
            .patched_syscall_at(SITE + 6, &mut PtRegs::default())
            .is_none());
        assert!(m.maps_text().contains("[syscall-trampolines]"));

        // A fork child has the same patched code and knows its sites.
        let mut child = m.fork().unwrap();
        assert_eq!(bytes(&mut child, SITE), MOV.patched(0));
        assert!(child
            .patched_syscall_at(SITE + 5, &mut PtRegs::default())
            .is_some());

        // Made writable: the program sees its own code again.
        m.mprotect(CODE, 0x1000, PROT_READ | PROT_WRITE | PROT_EXEC)
            .unwrap();
        assert_eq!(bytes(&mut m, SITE), MOV.original());
        assert!(m
            .patched_syscall_at(SITE + 5, &mut PtRegs::default())
            .is_none());
        assert!(patch(&mut m, SITE + 7, 39, TARGET).is_none());
        m.mprotect(CODE, 0x1000, PROT_READ | PROT_EXEC).unwrap();
        assert_eq!(patch(&mut m, SITE + 7, 39, TARGET), Some(SITE + 7));
        // A debugger's write lands on the original bytes.
        assert_eq!(m.write_forced(SITE + 1, &[110]), 1);
        assert_eq!(
            bytes(&mut m, SITE),
            Shape::MovSyscall { nr: 110 }.original()
        );
        // The child's copy is untouched by all that.
        assert_eq!(bytes(&mut child, SITE), MOV.patched(0));
        child.munmap(CODE, 0x1000).unwrap();
        assert!(child
            .patched_syscall_at(SITE + 5, &mut PtRegs::default())
            .is_none());
    }

    /// Putting a site back while a thread runs application code first has
    /// it leave (through the hook), and only then writes.
    #[test]
    fn restoring_a_site_stops_the_running_threads_first() {
        use std::sync::{Arc, Mutex};
        let mut m = with_code();
        assert_eq!(patch(&mut m, SITE + 7, 39, TARGET), Some(SITE + 7));
        let running = Arc::new(Mutex::new(crate::ApplicationEntry::default()));
        m.enter_application(&mut running.lock().unwrap());
        let calls = Arc::new(Mutex::new(Vec::new()));
        let (r, c) = (running.clone(), calls.clone());
        m.set_quiesce_hook(Arc::new(move || {
            c.lock().unwrap().push("interrupt");
            r.lock().unwrap().leave();
        }));
        m.mprotect(CODE, 0x1000, PROT_READ | PROT_WRITE | PROT_EXEC)
            .unwrap();
        assert_eq!(*calls.lock().unwrap(), vec!["interrupt"]);
        assert_eq!(bytes(&mut m, SITE), MOV.original());
        // Nothing patched there any more, nobody running: no interrupt.
        m.mprotect(CODE, 0x1000, PROT_READ | PROT_EXEC).unwrap();
        assert_eq!(patch(&mut m, SITE + 7, 39, TARGET), Some(SITE + 7));
        m.mprotect(CODE, 0x1000, PROT_READ | PROT_WRITE | PROT_EXEC)
            .unwrap();
        assert_eq!(calls.lock().unwrap().len(), 1);
        assert_eq!(bytes(&mut m, SITE), MOV.original());
    }

    #[test]
    fn claiming_the_area_stops_patching() {
        let mut m = with_code();
        assert_eq!(patch(&mut m, SITE + 7, 39, TARGET), Some(SITE + 7));
        m.mmap(anon(PATCH_AREA, 0x1000, PROT_READ, MAP_FIXED))
            .unwrap();
        assert_eq!(bytes(&mut m, SITE), MOV.original());
        assert!(!m.maps_text().contains("[syscall-trampolines]"));
        assert!(patch(&mut m, SITE + 7, 39, TARGET).is_none());

        let mut m = with_code();
        assert_eq!(patch(&mut m, SITE + 7, 39, TARGET), Some(SITE + 7));
        assert_eq!(
            patch(&mut m, CODE + 0x102, 0, TARGET),
            Some(TRAMPOLINES + 64 + 25)
        );
        m.stop_syscall_patching();
        assert_eq!(bytes(&mut m, SITE), MOV.original());
        // A thread returning through a trampoline still can; one that
        // returns later goes back to the site.
        assert!(m.maps_text().contains("[syscall-trampolines]"));
        assert_eq!(m.resume_address(TRAMPOLINES + 64 + 25), CODE + 0x102);
        assert!(patch(&mut m, SITE + 7, 39, TARGET).is_none());
    }

    #[test]
    fn a_syscall_before_an_error_check_returns_through_its_trampoline() {
        let mut m = with_code();
        let site = CODE + 0x100;
        assert_eq!(patch(&mut m, site + 2, 0, TARGET), Some(TRAMPOLINES + 25));
        assert_eq!(m.resume_address(site + 2), TRAMPOLINES + 25);
        assert_eq!(m.resume_address(site + 8), site + 8);
        let mut b = [0u8; 8];
        assert_eq!(m.read_forced(site, &mut b), 8);
        assert_eq!(b.to_vec(), CMP.patched(0));
        assert_eq!(b[7], 0xff, "the cmp's last byte stays");
        let t = CMP.trampoline(TRAMPOLINES, site, TARGET);
        // rcx = the resume point, which a restart (rip - 2) turns into a
        // short jump back to the start.
        assert_eq!(
            u64::from_le_bytes(t[2..10].try_into().unwrap()),
            TRAMPOLINES + 25
        );
        assert_eq!(&t[23..25], &[0xeb, (256 - 25) as u8]);
        assert_eq!(&t[25..31], &CMP.original()[2..]);
        assert_eq!(u64::from_le_bytes(t[37..45].try_into().unwrap()), site + 8);
        // Not a SIGILL site; restored like the other shape.
        assert!(m
            .patched_syscall_at(site + 5, &mut PtRegs::default())
            .is_none());
        m.mprotect(CODE, 0x1000, PROT_READ | PROT_WRITE | PROT_EXEC)
            .unwrap();
        assert_eq!(m.read_forced(site, &mut b), 8);
        assert_eq!(b.to_vec(), CMP.original());
    }

    #[test]
    fn patched_sites_end_like_the_original_and_jump_through_the_table() {
        for entry in [0, 1, 4095, (TABLE_ENTRIES - 1) as u32] {
            let p = head(MOV.patched(entry));
            assert_eq!(&p[5..], &[0x06, 0x05]);
            let addr = u32::from_le_bytes([p[3], p[4], p[5], p[6]]) as u64;
            assert_eq!(addr, PATCH_AREA + 8 * entry as u64);
            assert!(addr + 8 <= TRAMPOLINES);
        }
        assert_eq!(MOV.original(), [0xb8, 39, 0, 0, 0, 0x0f, 0x05]);
        for shape in [MOV, CMP] {
            assert_eq!(shape.patched(7).len(), shape.len());
            assert!(shape.trampoline(TRAMPOLINES, CODE, TARGET).len() as u64 == TRAMPOLINE_SIZE);
        }
        // The area stays below 2 GiB (a sign-extended 32-bit address).
        const { assert!(PATCH_AREA_END < 0x8000_0000) };
    }

    const RBX_LEA: [u8; 7] = [0x48, 0x8d, 0xb3, 0xf0, 0x08, 0, 0]; // lea rsi, [rbx+0x8f0]
    const RIP_LEA: [u8; 7] = [0x48, 0x8d, 0x35, 0x00, 0x10, 0, 0]; // lea rsi, [rip+0x1000]

    /// `with_code`, plus `mov eax, 14; LEA; syscall; ret` at `at` for each.
    fn with_lea_code(sites: &[(u64, [u8; 7])]) -> MemoryManager {
        let mut m = with_code();
        m.mprotect(CODE, 0x1000, PROT_READ | PROT_WRITE).unwrap();
        for &(at, lea) in sites {
            let mut code = Shape::MovLeaSyscall { nr: 14, lea }.original();
            code.push(0xc3);
            m.copy_out(at, &code).unwrap();
        }
        m.mprotect(CODE, 0x1000, PROT_READ | PROT_EXEC).unwrap();
        m
    }

    fn tramp_bytes(m: &mut MemoryManager, entry: u64) -> Vec<u8> {
        let mut t = [0u8; TRAMPOLINE_SIZE as usize];
        let at = TRAMPOLINES + TRAMPOLINE_SIZE * entry;
        assert_eq!(m.read_forced(at, &mut t), t.len());
        t.to_vec()
    }

    #[test]
    fn patches_mov_lea_sites_and_serves_code_reaching_the_lea() {
        let (a, b) = (CODE + 0x200, CODE + 0x300);
        let mut m = with_lea_code(&[(a, RBX_LEA), (b, RIP_LEA)]);
        let rbx = Shape::MovLeaSyscall {
            nr: 14,
            lea: RBX_LEA,
        };
        let rip = Shape::MovLeaSyscall {
            nr: 14,
            lea: RIP_LEA,
        };
        // Made with another number: a jump to the `syscall`, not patched.
        assert!(patch(&mut m, a + 14, 13, TARGET).is_none());
        assert_eq!(patch(&mut m, a + 14, 14, TARGET), Some(a + 14));
        assert_eq!(patch(&mut m, b + 14, 14, TARGET), Some(b + 14));
        for (at, shape) in [(a, rbx), (b, rip)] {
            let mut site = [0u8; 14];
            assert_eq!(m.read_forced(at, &mut site), 14);
            let entry = if at == a { 0 } else { 1 };
            assert_eq!(site.to_vec(), shape.patched(entry));
            // The `syscall` keeps its bytes; the `lea` starts at the 06.
            assert_eq!((site[5], site[12], site[13]), (0x06, 0x0f, 0x05));
            assert_eq!(
                tramp_bytes(&mut m, u64::from(entry)),
                shape.trampoline(TRAMPOLINES + TRAMPOLINE_SIZE * u64::from(entry), at, TARGET)
            );
        }
        // The base-register `lea` is replayed as it was; the `%rip` one
        // becomes `movabs rsi, <the address it had>`.
        assert_eq!(tramp_bytes(&mut m, 0)[5..12], RBX_LEA);
        let t = tramp_bytes(&mut m, 1);
        assert_eq!(t[5..7], [0x48, 0xbe]);
        assert_eq!(
            u64::from_le_bytes(t[7..15].try_into().unwrap()),
            b + 12 + 0x1000
        );

        // Code reaching the `lea` (a jump there, a signal frame saved
        // between the `mov` and the `lea`): the sentry does the `lea`.
        let mut regs = PtRegs {
            rbx: 0x1000,
            rsi: 7,
            ..Default::default()
        };
        assert_eq!(m.patched_syscall_at(a + 5, &mut regs), Some(a + 14));
        assert_eq!((regs.rsi, regs.rbx), (0x18f0, 0x1000));
        let mut regs = PtRegs::default();
        assert_eq!(m.patched_syscall_at(b + 5, &mut regs), Some(b + 14));
        assert_eq!(regs.rsi, b + 12 + 0x1000);
        assert!(m.patched_syscall_at(a + 12, &mut regs).is_none());

        // Made writable: the original code is back.
        m.mprotect(CODE, 0x1000, PROT_READ | PROT_WRITE | PROT_EXEC)
            .unwrap();
        let mut site = [0u8; 14];
        assert_eq!(m.read_forced(a, &mut site), 14);
        assert_eq!(site.to_vec(), rbx.original());
        assert!(m.patched_syscall_at(a + 5, &mut regs).is_none());
    }

    #[test]
    fn takes_only_the_lea_forms_it_can_replay() {
        let ok = |b: [u8; 7]| Lea::decode(b).is_some();
        assert!(ok(RBX_LEA));
        assert!(ok(RIP_LEA));
        // lea rdi, [r12+8]: REX.B base.
        assert_eq!(
            Lea::decode([0x49, 0x8d, 0xbc, 8, 0, 0, 0]),
            None,
            "r12 needs a SIB byte"
        );
        assert_eq!(
            Lea::decode([0x49, 0x8d, 0xbd, 8, 0, 0, 0]),
            Some(Lea {
                dest: 7,
                base: Some(13),
                disp: 8
            })
        );
        // Destinations the trampoline or the syscall use: rax, rcx, r11;
        // and rsp.
        assert!(!ok([0x48, 0x8d, 0x83, 0, 0, 0, 0]));
        assert!(!ok([0x48, 0x8d, 0x8b, 0, 0, 0, 0]));
        assert!(!ok([0x4c, 0x8d, 0x9b, 0, 0, 0, 0]));
        assert!(!ok([0x48, 0x8d, 0xa3, 0, 0, 0, 0]));
        // No REX.W, a SIB index (REX.X), disp8, not a lea.
        assert!(!ok([0x40, 0x8d, 0xb3, 0, 0, 0, 0]));
        assert!(!ok([0x4a, 0x8d, 0xb3, 0, 0, 0, 0]));
        assert!(!ok([0x48, 0x8d, 0x73, 8, 0x90, 0x90, 0x90]));
        assert!(!ok([0x48, 0x8b, 0xb3, 0, 0, 0, 0]));
        // REX.R: r14, %rip-relative.
        assert_eq!(
            Lea::decode([0x4c, 0x8d, 0x35, 0, 0, 0, 0]).map(|l| (l.dest, l.base)),
            Some((14, None))
        );
    }
}
