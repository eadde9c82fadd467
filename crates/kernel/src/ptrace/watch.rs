//! Debug-register breakpoints and watchpoints (DR0-3/DR7) without debug
//! registers: watched pages are mapped without execute, write or any
//! access; a fetch at an execution breakpoint stops before the
//! instruction, any other fault there lets one single-stepped instruction
//! through, and a hit is reported as the hardware would report it.

use super::*;

/// `si_code` of a debug-register hit.
const TRAP_HWBKPT: i32 = 4;

/// A data watchpoint set through the debug registers (DR0-3, DR7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Watch {
    /// Which debug register (its DR6 bit on a hit).
    pub index: usize,
    pub addr: u64,
    pub len: u64,
    pub kind: WatchKind,
}

/// What a debug register watches (DR7's R/W bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatchKind {
    /// 00: executing the instruction at the address (trap before it).
    Exec,
    /// 01: writes.
    Write,
    /// 11: reads or writes.
    Access,
}

impl WatchKind {
    /// The page protections taken away so the watched accesses fault.
    fn withheld(self) -> u32 {
        match self {
            WatchKind::Exec => abi::mman::PROT_EXEC,
            WatchKind::Write => abi::mman::PROT_WRITE,
            WatchKind::Access => {
                abi::mman::PROT_READ | abi::mman::PROT_WRITE | abi::mman::PROT_EXEC
            }
        }
    }
}

/// The watchpoints DR7 enables, checked as Linux checks them: aligned to
/// their length (1 for execution breakpoints), in user space; R/W = 10
/// (I/O) is invalid.
pub fn watches_of(dr: &[u64; 8]) -> SysResult<Vec<Watch>> {
    let dr7 = dr[7];
    let mut out = Vec::new();
    for (i, &addr) in dr.iter().enumerate().take(4) {
        if (dr7 >> (2 * i)) & 3 == 0 {
            continue;
        }
        let rw = (dr7 >> (16 + 4 * i)) & 3;
        let len = match (dr7 >> (18 + 4 * i)) & 3 {
            0 => 1,
            1 => 2,
            2 => 8,
            _ => 4,
        };
        let kind = match rw {
            0 if len == 1 => WatchKind::Exec,
            1 => WatchKind::Write,
            3 => WatchKind::Access,
            _ => return Err(Errno::EINVAL),
        };
        if !addr.is_multiple_of(len) || addr + len > TASK_SIZE {
            return Err(Errno::EINVAL);
        }
        out.push(Watch {
            index: i,
            addr,
            len,
            kind,
        });
    }
    Ok(out)
}

/// Watchpoint state of a task: its watchpoints, and the instruction being
/// stepped through a write-protected page.
#[derive(Default)]
pub struct WatchState {
    pub watches: Vec<Watch>,
    pub step: Option<WatchStep>,
    /// An execution breakpoint just reported at this address: the next
    /// fetch there runs the instruction (the hardware's resume flag).
    pub resume_at: Option<u64>,
}

pub struct WatchStep {
    /// The faulting access.
    addr: u64,
    before: Vec<u64>,
    /// The trap flag was already set (a debugger stepping): its trap is
    /// the debugger's, not ours to swallow.
    tf_was_set: bool,
}

impl Task {
    /// Makes `watches` this task's watchpoints, protecting their pages.
    pub fn apply_watches(&mut self, watches: Vec<Watch>) {
        if watches == self.watch.watches {
            return;
        }
        let mut pages = std::collections::BTreeMap::new();
        for w in &watches {
            for p in [abi::page_down(w.addr), abi::page_down(w.addr + w.len - 1)] {
                *pages.entry(p).or_insert(0) |= w.kind.withheld();
            }
        }
        self.mm().set_watched(pages);
        self.watch.watches = watches;
    }

    fn watched_values(&self) -> Vec<u64> {
        let mut mm = self.mm();
        self.watch
            .watches
            .iter()
            .map(|w| {
                let mut b = [0u8; 8];
                mm.copy_in_partial(w.addr, &mut b[..w.len as usize]);
                u64::from_le_bytes(b)
            })
            .collect()
    }

    /// A fault on a page protected for watchpoints: an execution
    /// breakpoint's hit is reported before its instruction runs; otherwise
    /// the one instruction is let through (page accessible, trap flag
    /// set). False if the fault is not ours to handle.
    pub fn begin_watch_step(&mut self, addr: u64) -> bool {
        let mm = self.mm.clone();
        if !lock(&mm).is_watched(addr) {
            return false;
        }
        let resuming = self.watch.resume_at.take() == Some(addr);
        if addr == self.regs.rip && !resuming && self.traced() {
            let bp = self
                .watch
                .watches
                .iter()
                .find(|w| w.kind == WatchKind::Exec && w.addr == addr)
                .copied();
            if let Some(w) = bp {
                lock(&self.shared.trace).debugreg[6] |= 1 << w.index;
                self.force_signal(SigInfo::fault(SIGTRAP, TRAP_HWBKPT, addr));
                self.watch.resume_at = Some(addr);
                return true;
            }
        }
        let mut g = lock(&mm);
        if !matches!(g.map_unwatched(&mut *self.ctx, addr), Ok(true)) {
            return false;
        }
        drop(g);
        let before = self.watched_values();
        let tf_was_set = self.regs.eflags & EFLAGS_TF != 0;
        self.regs.eflags |= EFLAGS_TF;
        self.watch.step = Some(WatchStep {
            addr,
            before,
            tf_was_set,
        });
        true
    }

    /// After the stepped instruction: protects the page again and reports
    /// the watchpoints whose bytes changed (`SIGTRAP`/`TRAP_HWBKPT`, DR6
    /// bits). Returns true if the event was only the step's own trap.
    pub fn finish_watch_step(&mut self, ev: &platform::Event) -> bool {
        if matches!(ev, platform::Event::Fault { .. }) {
            // The instruction faulted elsewhere first; it has not run yet.
            return false;
        }
        let Some(step) = self.watch.step.take() else {
            return false;
        };
        if !step.tf_was_set {
            self.regs.eflags &= !EFLAGS_TF;
        }
        self.mm().rewatch(step.addr);
        if !self.traced() {
            self.apply_watches(Vec::new());
        }
        let after = self.watched_values();
        let mut hit = false;
        for (w, (a, b)) in self
            .watch
            .watches
            .iter()
            .zip(after.iter().zip(&step.before))
        {
            // A changed value, or an access that starts inside the range.
            let data = w.kind != WatchKind::Exec;
            if data && (a != b || (w.addr..w.addr + w.len).contains(&step.addr)) {
                lock(&self.shared.trace).debugreg[6] |= 1 << w.index;
                hit = true;
            }
        }
        if hit {
            // As Linux reports a data breakpoint: after the instruction,
            // with its address as si_addr.
            self.force_signal(SigInfo::fault(SIGTRAP, TRAP_HWBKPT, self.regs.rip));
        }
        !step.tf_was_set && matches!(ev, platform::Event::Signal(i) if i.signo == SIGTRAP)
    }
}
