//! `ptrace` of one sandboxed task by another, so that debuggers and
//! `strace` work inside the sandbox.
//!
//! The tracer is a process (any of its threads may issue requests); the
//! tracee is a task. A tracee stops only on its own host thread, in its
//! run loop: at syscall entry and exit, before a signal is delivered, at a
//! group stop, and at events (fork, clone, exec, exit). While stopped it
//! publishes its registers and FPU state in [`Tracing`], where the tracer
//! reads and changes them; the tracee takes them back when resumed. The
//! application's memory is reached through the tracee's memory manager,
//! never through the host.
//!
//! Lock order: `ThreadGroup::inner` → `TaskShared::trace`. The tracee never
//! holds its `trace` lock while taking a thread-group lock.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use abi::regs::{
    FpState, FP_LEGACY_SIZE, FP_SW_BYTES, FP_XSAVE_SIZE, FP_XSTATE_BV, XFEATURES_KEPT,
};
use abi::signal::*;
use abi::{Errno, PtRegs, SysResult};

use crate::task::{lock, Task, TaskShared, ThreadGroup, CAP_SYS_PTRACE};

pub const PTRACE_TRACEME: i64 = 0;
pub const PTRACE_PEEKTEXT: i64 = 1;
pub const PTRACE_PEEKDATA: i64 = 2;
pub const PTRACE_PEEKUSER: i64 = 3;
pub const PTRACE_POKETEXT: i64 = 4;
pub const PTRACE_POKEDATA: i64 = 5;
pub const PTRACE_POKEUSER: i64 = 6;
pub const PTRACE_CONT: i64 = 7;
pub const PTRACE_KILL: i64 = 8;
pub const PTRACE_SINGLESTEP: i64 = 9;
pub const PTRACE_GETREGS: i64 = 12;
pub const PTRACE_SETREGS: i64 = 13;
pub const PTRACE_GETFPREGS: i64 = 14;
pub const PTRACE_SETFPREGS: i64 = 15;
pub const PTRACE_ATTACH: i64 = 16;
pub const PTRACE_DETACH: i64 = 17;
pub const PTRACE_SYSCALL: i64 = 24;
pub const PTRACE_SYSEMU: i64 = 31;
pub const PTRACE_SYSEMU_SINGLESTEP: i64 = 32;
pub const PTRACE_SETOPTIONS: i64 = 0x4200;
pub const PTRACE_GETEVENTMSG: i64 = 0x4201;
pub const PTRACE_GETSIGINFO: i64 = 0x4202;
pub const PTRACE_SETSIGINFO: i64 = 0x4203;
pub const PTRACE_GETREGSET: i64 = 0x4204;
pub const PTRACE_SETREGSET: i64 = 0x4205;
pub const PTRACE_SEIZE: i64 = 0x4206;
pub const PTRACE_INTERRUPT: i64 = 0x4207;
pub const PTRACE_LISTEN: i64 = 0x4208;
pub const PTRACE_GETSIGMASK: i64 = 0x420a;
pub const PTRACE_SETSIGMASK: i64 = 0x420b;
pub const PTRACE_GET_SYSCALL_INFO: i64 = 0x420e;

pub const PTRACE_O_TRACESYSGOOD: u32 = 1;
pub const PTRACE_O_TRACEFORK: u32 = 2;
pub const PTRACE_O_TRACEVFORK: u32 = 4;
pub const PTRACE_O_TRACECLONE: u32 = 8;
pub const PTRACE_O_TRACEEXEC: u32 = 0x10;
pub const PTRACE_O_TRACEVFORKDONE: u32 = 0x20;
pub const PTRACE_O_TRACEEXIT: u32 = 0x40;
pub const PTRACE_O_TRACESECCOMP: u32 = 0x80;
pub const PTRACE_O_EXITKILL: u32 = 0x10_0000;
pub const PTRACE_O_SUSPEND_SECCOMP: u32 = 0x20_0000;
const OPTIONS_MASK: u32 = 0xff | PTRACE_O_EXITKILL | PTRACE_O_SUSPEND_SECCOMP;

pub const PTRACE_EVENT_FORK: u32 = 1;
pub const PTRACE_EVENT_VFORK: u32 = 2;
pub const PTRACE_EVENT_CLONE: u32 = 3;
pub const PTRACE_EVENT_EXEC: u32 = 4;
pub const PTRACE_EVENT_VFORK_DONE: u32 = 5;
pub const PTRACE_EVENT_EXIT: u32 = 6;
pub const PTRACE_EVENT_SECCOMP: u32 = 7;
pub const PTRACE_EVENT_STOP: u32 = 128;

const NT_PRSTATUS: u64 = 1;
const NT_PRFPREG: u64 = 2;
const NT_X86_XSTATE: u64 = 0x202;
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// `offsetof(struct user, u_debugreg)` and `sizeof(struct user)`.
const USER_DEBUGREG: u64 = 848;
const USER_SIZE: u64 = 912;
/// EFLAGS bits a tracer may change (Linux's `FLAG_MASK`).
const EFLAGS_CHANGEABLE: u64 =
    0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x400 | 0x800 | 0x4000 | 0x1_0000 | 0x4_0000;
const EFLAGS_TF: u64 = 0x100;
/// The first address above user space: base registers must stay below.
const TASK_SIZE: u64 = 0x7fff_ffff_f000;

/// How a tracee was last resumed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Resume {
    #[default]
    Cont,
    /// Stop at the next syscall entry and exit.
    Syscall,
    SingleStep,
    /// Stop at the next syscall entry and skip the syscall.
    Sysemu,
    /// Stay in the group stop until a signal arrives.
    Listen,
}

/// Why a tracee is stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    Signal,
    Group,
    SyscallEntry,
    SyscallExit,
    Event(u32),
}

/// A task's tracing state (in [`TaskShared`]).
#[derive(Default)]
pub struct Tracing {
    pub tracer: Option<Arc<ThreadGroup>>,
    pub seized: bool,
    pub options: u32,
    pub resume: Resume,
    /// `Some` while in a ptrace stop.
    pub stop: Option<Stop>,
    /// A wait status the tracer has not collected yet.
    pub report: Option<i32>,
    /// The tracee has exited: the report is its last.
    pub exited: bool,
    pub regs: PtRegs,
    pub regs_dirty: bool,
    pub fp: FpStateBox,
    pub fp_dirty: bool,
    /// The stop's siginfo (none in a group stop).
    pub siginfo: Option<SigInfo>,
    /// The signal a restart asked to deliver.
    pub sig: i32,
    pub event_msg: u64,
    /// A `PTRACE_INTERRUPT` (or a new seized child's first stop) is due:
    /// the signal its event stop reports.
    pub interrupt: Option<i32>,
    /// The trap flag was set by `PTRACE_SINGLESTEP`, not by the program.
    pub stepping: bool,
    pub debugreg: [u64; 8],
}

impl Tracing {
    /// The registers as the tracer sees them: a trap flag set for
    /// single-stepping is hidden, as Linux hides it.
    fn shown_regs(&self) -> PtRegs {
        let mut r = self.regs;
        if self.stepping {
            r.eflags &= !EFLAGS_TF;
        }
        r
    }

    /// Takes registers from the tracer. While single-stepping, a trap flag
    /// the tracer sets becomes its own; one it leaves clear stays forced.
    fn store_regs(&mut self, mut regs: PtRegs) {
        if self.stepping {
            if regs.eflags & EFLAGS_TF != 0 {
                self.stepping = false;
            } else {
                regs.eflags |= EFLAGS_TF;
            }
        }
        self.regs = regs;
        self.regs_dirty = true;
    }
}

/// A data watchpoint set through the debug registers (DR0-3, DR7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Watch {
    /// Which debug register (its DR6 bit on a hit).
    pub index: usize,
    pub addr: u64,
    pub len: u64,
    /// Reads trigger it too (DR7 R/W = 11), not only writes (01).
    pub any_access: bool,
}

/// The watchpoints DR7 enables, checked as Linux checks them: aligned to
/// their length, in user space; data watchpoints only (no execution
/// breakpoints).
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
        if (rw != 1 && rw != 3) || !addr.is_multiple_of(len) || addr + len > TASK_SIZE {
            return Err(Errno::EINVAL);
        }
        out.push(Watch {
            index: i,
            addr,
            len,
            any_access: rw == 3,
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
}

pub struct WatchStep {
    /// The faulting access.
    addr: u64,
    before: Vec<u64>,
    /// The trap flag was already set (a debugger stepping): its trap is
    /// the debugger's, not ours to swallow.
    tf_was_set: bool,
}

/// The FPU state, boxed so an untraced task's [`Tracing`] stays small.
#[derive(Default)]
pub struct FpStateBox(pub Option<Box<FpState>>);

/// A stop's wait status: `(code << 8) | 0x7f`.
fn stop_status(code: i32) -> i32 {
    (code << 8) | 0x7f
}

fn event_status(sig: i32, event: u32) -> i32 {
    stop_status(sig | (event as i32) << 8)
}

fn trap_info(task: &Task, code: i32) -> SigInfo {
    SigInfo::from_user(SIGTRAP, code, task.pid(), task.creds.uid)
}

/// Tells the tracer a tracee stopped or exited: `SIGCHLD` (unless it
/// asked for `SA_NOCLDSTOP` and this is a stop) and a wake-up for waiters.
fn notify_tracer(tracer: &Arc<ThreadGroup>, info: SigInfo) {
    let act = lock(&tracer.lock().sighand).action(SIGCHLD);
    if info.code != CLD_TRAPPED || act.flags & SA_NOCLDSTOP == 0 {
        crate::signal::send_to_group(tracer, info);
    }
    tracer.child_events.notify(waiter::events::ALL);
}

impl Task {
    pub fn traced(&self) -> bool {
        self.shared.traced.load(Ordering::Relaxed)
    }

    fn trace_options(&self) -> u32 {
        lock(&self.shared.trace).options
    }

    /// Enters a ptrace stop reporting `status` and sleeps until the tracer
    /// resumes it (or it is killed, or detached). Returns the signal the
    /// restart asked for, or `None` if the task is not traced.
    pub fn ptrace_stop(&mut self, kind: Stop, status: i32, info: Option<SigInfo>) -> Option<i32> {
        let fp = self.ctx.fp_state().unwrap_or_default();
        let tracer = {
            let mut tr = lock(&self.shared.trace);
            let tracer = tr.tracer.clone()?;
            tr.stop = Some(kind);
            tr.report = Some(status);
            tr.regs = self.regs;
            tr.regs_dirty = false;
            tr.fp.0 = Some(Box::new(fp));
            tr.fp_dirty = false;
            tr.siginfo = info;
            tr.sig = 0;
            tracer
        };
        let mut note = SigInfo::child(
            CLD_TRAPPED,
            self.tid(),
            self.creds.uid,
            (status >> 8) & 0xff,
        );
        note.code = CLD_TRAPPED;
        notify_tracer(&tracer, note);
        let waiter = self.shared.waiter.clone();
        loop {
            if self.shared.killed.load(Ordering::Relaxed)
                || self.shared.exec_exit.load(Ordering::Relaxed)
                || lock(&self.shared.trace).stop.is_none()
            {
                break;
            }
            waiter.wait(None);
        }
        let (regs, fp, sig) = {
            let mut tr = lock(&self.shared.trace);
            tr.stop = None;
            tr.report = None;
            let regs = tr.regs_dirty.then_some(tr.regs);
            let fp = if tr.fp_dirty { tr.fp.0.take() } else { None };
            tr.fp.0 = None;
            (regs, fp, tr.sig)
        };
        if let Some(r) = regs {
            self.regs = r;
        }
        if let Some(fp) = fp {
            let _ = self.ctx.set_fp_state(&fp);
        }
        let dr = lock(&self.shared.trace).debugreg;
        self.apply_watches(watches_of(&dr).unwrap_or_default());
        Some(sig)
    }

    /// Makes `watches` this task's watchpoints, protecting their pages.
    pub fn apply_watches(&mut self, watches: Vec<Watch>) {
        if watches == self.watch.watches {
            return;
        }
        let mut pages = std::collections::BTreeMap::new();
        for w in &watches {
            for p in [abi::page_down(w.addr), abi::page_down(w.addr + w.len - 1)] {
                *pages.entry(p).or_insert(false) |= w.any_access;
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

    /// A write fault on a page write-protected for watchpoints: lets the
    /// one instruction through (page writable, trap flag set). False if
    /// the fault is not ours to handle.
    pub fn begin_watch_step(&mut self, addr: u64) -> bool {
        let mm = self.mm.clone();
        let mut g = lock(&mm);
        if !g.is_watched(addr) || !matches!(g.map_unwatched(&mut *self.ctx, addr), Ok(true)) {
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
            if a != b || (w.addr..w.addr + w.len).contains(&step.addr) {
                lock(&self.shared.trace).debugreg[6] |= 1 << w.index;
                hit = true;
            }
        }
        if hit {
            // As Linux reports a data breakpoint: after the instruction,
            // with its address as si_addr.
            const TRAP_HWBKPT: i32 = 4;
            self.force_signal(SigInfo::fault(SIGTRAP, TRAP_HWBKPT, self.regs.rip));
        }
        !step.tf_was_set && matches!(ev, platform::Event::Signal(i) if i.signo == SIGTRAP)
    }

    /// How the tracee was resumed, and the signal code a syscall stop
    /// reports (`SIGTRAP | 0x80` with `PTRACE_O_TRACESYSGOOD`).
    fn syscall_trap(&self) -> (Resume, i32) {
        let tr = lock(&self.shared.trace);
        let good = tr.options & PTRACE_O_TRACESYSGOOD != 0;
        (tr.resume, SIGTRAP | if good { 0x80 } else { 0 })
    }

    /// The syscall-entry stop, if the tracer asked for one. Returns true
    /// if the syscall must not run (`PTRACE_SYSEMU`, or the tracer set the
    /// number to -1); `rax` then holds the result.
    pub fn ptrace_syscall_entry(&mut self) -> bool {
        let (mode, code) = self.syscall_trap();
        if !matches!(mode, Resume::Syscall | Resume::Sysemu) {
            return false;
        }
        self.regs.rax = Errno::ENOSYS.as_ret();
        let info = trap_info(self, code);
        self.ptrace_stop(Stop::SyscallEntry, stop_status(code), Some(info));
        mode == Resume::Sysemu
            || self.regs.orig_rax == u64::MAX
            || self.shared.killed.load(Ordering::Relaxed)
    }

    /// The syscall-exit stop after `PTRACE_SYSCALL`. A pending restart
    /// shows as its `-ERESTART*` code; a tracer that changes `rax` cancels
    /// the restart.
    pub fn ptrace_syscall_exit(&mut self, restart: &mut Option<Errno>) {
        let (mode, code) = self.syscall_trap();
        if mode != Resume::Syscall {
            return;
        }
        let shown = restart.map(|e| e.as_ret());
        if let Some(v) = shown {
            self.regs.rax = v;
        }
        let info = trap_info(self, code);
        self.ptrace_stop(Stop::SyscallExit, stop_status(code), Some(info));
        if let Some(v) = shown {
            if self.regs.rax == v {
                self.regs.rax = Errno::EINTR.as_ret();
            } else {
                *restart = None;
            }
        }
    }

    /// A single-stepped `syscall` instruction traps as soon as it
    /// completes, before the next instruction runs (`TRAP_BRKPT`, as
    /// Linux reports it). The host would only trap after the next one.
    pub fn ptrace_step_over_syscall(&mut self) {
        if lock(&self.shared.trace).stepping && self.regs.eflags & EFLAGS_TF != 0 {
            self.force_signal(SigInfo::fault(SIGTRAP, 1, 0));
        }
    }

    /// The signal-delivery stop: the tracer sees `info` and decides what,
    /// if anything, is delivered. `None`: nothing.
    pub fn ptrace_signal(&mut self, info: SigInfo) -> Option<SigInfo> {
        let Some(sig) = self.ptrace_stop(Stop::Signal, stop_status(info.signo), Some(info)) else {
            return Some(info);
        };
        if sig == 0 || self.shared.killed.load(Ordering::Relaxed) {
            return None;
        }
        let (changed, tracer) = {
            let tr = lock(&self.shared.trace);
            (tr.siginfo, tr.tracer.clone())
        };
        let info = if sig == info.signo {
            changed.unwrap_or(info)
        } else {
            let (pid, uid) = tracer.map_or((0, 0), |t| (t.pid, t.lock().uid));
            SigInfo::from_user(sig, SI_USER, pid, uid)
        };
        if self.mask().has(sig) {
            lock(&self.shared.pending).push(info);
            return None;
        }
        Some(info)
    }

    /// A group stop of a traced task: reported to the tracer, which ends
    /// it with a restart (or `PTRACE_LISTEN`, which waits for a signal).
    pub fn ptrace_group_stop(&mut self, sig: i32) {
        let seized = lock(&self.shared.trace).seized;
        let status = if seized {
            event_status(sig, PTRACE_EVENT_STOP)
        } else {
            stop_status(sig)
        };
        self.ptrace_stop(Stop::Group, status, None);
        if lock(&self.shared.trace).resume == Resume::Listen {
            let waiter = self.shared.waiter.clone();
            while !self.interrupted() {
                waiter.wait(None);
            }
        }
    }

    /// A due `PTRACE_INTERRUPT` (or a seized child's first stop): an
    /// event stop reporting `SIGTRAP`, or, for a task seized while its
    /// process is still stopped by job control, that group stop.
    pub fn ptrace_interrupt(&mut self) {
        let Some(sig) = lock(&self.shared.trace).interrupt.take() else {
            return;
        };
        if sig != SIGTRAP && self.tg().lock().stopped {
            self.ptrace_group_stop(sig);
            return;
        }
        let info = trap_info(self, SIGTRAP | (PTRACE_EVENT_STOP << 8) as i32);
        self.ptrace_stop(
            Stop::Event(PTRACE_EVENT_STOP),
            event_status(SIGTRAP, PTRACE_EVENT_STOP),
            Some(info),
        );
    }

    /// Whether a `PTRACE_INTERRUPT` waits for this task.
    pub fn ptrace_interrupt_due(&self) -> bool {
        self.traced() && lock(&self.shared.trace).interrupt.is_some()
    }

    /// An event stop, if the tracer's options ask for `event`.
    pub fn ptrace_event(&mut self, event: u32, msg: u64) {
        let want = match event {
            PTRACE_EVENT_FORK => PTRACE_O_TRACEFORK,
            PTRACE_EVENT_VFORK => PTRACE_O_TRACEVFORK,
            PTRACE_EVENT_CLONE => PTRACE_O_TRACECLONE,
            PTRACE_EVENT_EXEC => PTRACE_O_TRACEEXEC,
            PTRACE_EVENT_VFORK_DONE => PTRACE_O_TRACEVFORKDONE,
            PTRACE_EVENT_EXIT => PTRACE_O_TRACEEXIT,
            PTRACE_EVENT_SECCOMP => PTRACE_O_TRACESECCOMP,
            _ => 0,
        };
        if !self.traced() || self.trace_options() & want == 0 {
            return;
        }
        lock(&self.shared.trace).event_msg = msg;
        let info = trap_info(self, SIGTRAP | (event << 8) as i32);
        self.ptrace_stop(Stop::Event(event), event_status(SIGTRAP, event), Some(info));
    }

    /// `SECCOMP_RET_TRACE`: the seccomp event stop, if the tracer asked
    /// for it (`PTRACE_O_TRACESECCOMP`); it may change or skip the call.
    /// Returns false when there is no such tracer (the call then fails
    /// with `ENOSYS`, as on Linux).
    pub fn ptrace_seccomp(&mut self, data: u32) -> bool {
        if !self.traced() || self.trace_options() & PTRACE_O_TRACESECCOMP == 0 {
            return false;
        }
        self.regs.rax = Errno::ENOSYS.as_ret();
        self.ptrace_event(PTRACE_EVENT_SECCOMP, data as u64);
        true
    }

    /// After a successful `execve`: the exec event, or without
    /// `PTRACE_O_TRACEEXEC` the traditional `SIGTRAP`.
    pub fn ptrace_exec(&mut self, old_tid: i32) {
        if !self.traced() {
            return;
        }
        if self.trace_options() & PTRACE_O_TRACEEXEC != 0 {
            self.ptrace_event(PTRACE_EVENT_EXEC, old_tid as u64);
        } else {
            let info = SigInfo::from_user(SIGTRAP, SI_USER, self.pid(), self.creds.uid);
            lock(&self.shared.pending).push(info);
            self.shared.attention.store(true, Ordering::Release);
        }
    }

    /// Which event a `clone` with `flags` reports (none if the tracer did
    /// not ask for it).
    pub fn ptrace_clone_event(&self, flags: u64, exit_signal: i32) -> Option<u32> {
        const CLONE_VFORK: u64 = 0x4000;
        const CLONE_UNTRACED: u64 = 0x80_0000;
        if !self.traced() || flags & CLONE_UNTRACED != 0 {
            return None;
        }
        let (event, want) = if flags & CLONE_VFORK != 0 {
            (PTRACE_EVENT_VFORK, PTRACE_O_TRACEVFORK)
        } else if exit_signal != SIGCHLD {
            (PTRACE_EVENT_CLONE, PTRACE_O_TRACECLONE)
        } else {
            (PTRACE_EVENT_FORK, PTRACE_O_TRACEFORK)
        };
        (self.trace_options() & want != 0).then_some(event)
    }

    /// Makes a new task traced by this task's tracer, stopping first
    /// thing (`SIGSTOP`, or an event stop when seized).
    pub fn ptrace_attach_child(&self, child: &Arc<TaskShared>) {
        let (tracer, seized, options) = {
            let tr = lock(&self.shared.trace);
            (tr.tracer.clone(), tr.seized, tr.options)
        };
        let Some(tracer) = tracer else { return };
        {
            let mut ct = lock(&child.trace);
            ct.tracer = Some(tracer.clone());
            ct.seized = seized;
            ct.options = options;
            if seized {
                ct.interrupt = Some(SIGTRAP);
            }
        }
        if !seized {
            lock(&child.pending).push(SigInfo::new(SIGSTOP, SI_USER));
        }
        child.traced.store(true, Ordering::Relaxed);
        child.attention.store(true, Ordering::Release);
        tracer.lock().tracees.push(child.clone());
    }
}

/// Called as a task leaves: a traced task reports its exit to a tracer
/// that is not its parent (a parent learns of the process's exit the
/// usual way); a tracer's remaining tracees are detached, or killed with
/// `PTRACE_O_EXITKILL`.
pub fn task_exited(shared: &Arc<TaskShared>, status: i32, group_done: bool) {
    if shared.traced.swap(false, Ordering::Relaxed) {
        let tracer = lock(&shared.trace).tracer.take();
        if let Some(tracer) = tracer {
            let parent_reports = shared.tid == shared.tg.pid
                && shared
                    .tg
                    .lock()
                    .parent
                    .as_ref()
                    .is_some_and(|p| Arc::ptr_eq(p, &tracer));
            if parent_reports {
                tracer.lock().tracees.retain(|t| !Arc::ptr_eq(t, shared));
                // A wait that saw it still listed sleeps: look again.
                tracer.child_events.notify(waiter::events::ALL);
            } else {
                {
                    let mut tr = lock(&shared.trace);
                    tr.report = Some(status);
                    tr.exited = true;
                    tr.stop = None;
                }
                let (code, st) = exit_code(status);
                notify_tracer(&tracer, SigInfo::child(code, shared.tid, 0, st));
            }
        }
    }
    if group_done {
        let tracees = std::mem::take(&mut shared.tg.lock().tracees);
        for t in tracees {
            release_tracee(&t);
        }
    }
}

fn exit_code(status: i32) -> (i32, i32) {
    if status & 0x7f == 0 {
        (CLD_EXITED, (status >> 8) & 0xff)
    } else if status & 0x80 != 0 {
        (CLD_DUMPED, status & 0x7f)
    } else {
        (CLD_KILLED, status & 0x7f)
    }
}

/// The tracer is gone: the tracee runs on untraced (or dies, if it asked).
fn release_tracee(t: &Arc<TaskShared>) {
    let kill = {
        let mut tr = lock(&t.trace);
        if tr.exited {
            return;
        }
        let kill = tr.options & PTRACE_O_EXITKILL != 0;
        *tr = Tracing::default();
        kill
    };
    t.traced.store(false, Ordering::Relaxed);
    if kill {
        crate::signal::send_to_group(&t.tg, SigInfo::new(SIGKILL, SI_KERNEL));
    }
    t.kick();
}

/// Detaches `t`, resuming it with `sig` if it was stopped.
fn detach(tracer: &Arc<ThreadGroup>, t: &Arc<TaskShared>, sig: i32) {
    tracer.lock().tracees.retain(|x| !Arc::ptr_eq(x, t));
    {
        let mut tr = lock(&t.trace);
        let stopped = tr.stop.is_some();
        if tr.stepping {
            tr.regs.eflags &= !EFLAGS_TF;
            tr.regs_dirty = true;
        }
        let (regs, dirty, fp, fp_dirty, siginfo) = (
            tr.regs,
            tr.regs_dirty,
            tr.fp.0.take(),
            tr.fp_dirty,
            tr.siginfo,
        );
        *tr = Tracing {
            regs,
            regs_dirty: dirty,
            fp: FpStateBox(fp),
            fp_dirty,
            siginfo,
            sig: if stopped { sig } else { 0 },
            ..Default::default()
        };
    }
    t.traced.store(false, Ordering::Relaxed);
    t.kick();
}

/// What the tracer's `wait` finds among its tracees.
pub struct TraceReport {
    pub tid: i32,
    pub status: i32,
    /// A ptrace stop (`CLD_TRAPPED`) rather than an exit.
    pub trapped: bool,
}

/// Takes (or with `!consume` peeks at) a report of a tracee selected by
/// `pid` as `wait4` selects. `found` is set if any tracee matched at all.
pub fn take_report(
    tracer: &Arc<ThreadGroup>,
    pid: i32,
    my_pgid: i32,
    consume: bool,
    found: &mut bool,
) -> Option<TraceReport> {
    let tracees: Vec<Arc<TaskShared>> = tracer.lock().tracees.clone();
    for t in tracees {
        let matches = match pid {
            p if p > 0 => t.tid == p,
            -1 => true,
            0 => t.tg.lock().pgid == my_pgid,
            p => t.tg.lock().pgid == -p,
        };
        if !matches {
            continue;
        }
        *found = true;
        let mut tr = lock(&t.trace);
        let Some(status) = tr.report else { continue };
        let exited = tr.exited;
        if consume {
            tr.report = None;
        }
        drop(tr);
        if exited && consume {
            tracer.lock().tracees.retain(|x| !Arc::ptr_eq(x, &t));
        }
        return Some(TraceReport {
            tid: t.tid,
            status,
            trapped: !exited,
        });
    }
    None
}

/// Whether the tracee `target`'s process may be traced by `task`
/// (Linux's `ptrace_may_access` in attach mode, without an LSM).
fn may_access(task: &Task, target: &Arc<TaskShared>) -> bool {
    if task.capable(CAP_SYS_PTRACE) {
        return true;
    }
    let ids = target
        .shown_ids
        .each_ref()
        .map(|v| v.load(Ordering::Relaxed));
    let (uid, gid) = (task.creds.uid, task.creds.gid);
    let same = ids[..3].iter().all(|&u| u == uid) && ids[4..7].iter().all(|&g| g == gid);
    same && target.tg.lock().dumpable
}

fn attach(task: &mut Task, pid: i32, seize: bool, options: u32) -> SysResult<u64> {
    let target = task.kernel.find_task(pid).ok_or(Errno::ESRCH)?;
    if Arc::ptr_eq(&target.tg, task.tg()) {
        return Err(Errno::EPERM);
    }
    if target.tg.is_zombie() || target.killed.load(Ordering::Relaxed) {
        return Err(Errno::EPERM);
    }
    if !may_access(task, &target) {
        return Err(Errno::EPERM);
    }
    let tracer = task.tg().clone();
    // A process stopped by job control stays stopped: a seized task
    // reports that group stop first.
    let stopped = target.tg.lock().stopped;
    {
        let mut tr = lock(&target.trace);
        if tr.tracer.is_some() {
            return Err(Errno::EPERM);
        }
        *tr = Tracing {
            tracer: Some(tracer.clone()),
            seized: seize,
            options,
            interrupt: (seize && stopped).then_some(SIGSTOP),
            ..Default::default()
        };
    }
    target.traced.store(true, Ordering::Relaxed);
    tracer.lock().tracees.push(target.clone());
    if !seize {
        lock(&target.pending).push(SigInfo::new(SIGSTOP, SI_USER));
    }
    // A task sleeping in a group stop wakes to report it.
    target.kick();
    Ok(0)
}

fn traceme(task: &mut Task) -> SysResult<u64> {
    let parent = task.tg().lock().parent.clone().ok_or(Errno::EPERM)?;
    if parent.is_zombie() {
        return Err(Errno::EPERM);
    }
    {
        let mut tr = lock(&task.shared.trace);
        if tr.tracer.is_some() {
            return Err(Errno::EPERM);
        }
        *tr = Tracing {
            tracer: Some(parent.clone()),
            ..Default::default()
        };
    }
    task.shared.traced.store(true, Ordering::Relaxed);
    parent.lock().tracees.push(task.shared.clone());
    Ok(0)
}

/// The tracee `pid` if the caller traces it; if `stopped`, it must also be
/// in a ptrace stop (else `ESRCH`, as Linux).
fn tracee(task: &Task, pid: i32, stopped: bool) -> SysResult<Arc<TaskShared>> {
    let t = task.kernel.find_task(pid).ok_or(Errno::ESRCH)?;
    let tr = lock(&t.trace);
    let mine = tr
        .tracer
        .as_ref()
        .is_some_and(|x| Arc::ptr_eq(x, task.tg()));
    if !mine || (stopped && tr.stop.is_none()) {
        return Err(Errno::ESRCH);
    }
    drop(tr);
    Ok(t)
}

/// Reads or writes the tracee's memory as a debugger does (protection
/// ignored for reads, private read-only pages copied for writes).
fn access_mem(t: &Arc<TaskShared>, addr: u64, buf: &mut [u8], write: bool) -> SysResult<usize> {
    let mm = t.tg.lock().mm.clone().ok_or(Errno::ESRCH)?;
    let n = lock(&mm).access_forced(addr, buf, write);
    Ok(n)
}

/// Reads register `off` (a byte offset into `struct user_regs_struct`).
fn get_reg(regs: &PtRegs, off: u64) -> u64 {
    let b = abi::Pod::as_bytes(regs);
    let at = off as usize;
    let mut w = [0u8; 8];
    if let Some(src) = b.get(at..at + 8) {
        w.copy_from_slice(src);
    }
    u64::from_le_bytes(w)
}

fn reg_slot(r: &mut PtRegs, off: u64) -> &mut u64 {
    match off / 8 {
        0 => &mut r.r15,
        1 => &mut r.r14,
        2 => &mut r.r13,
        3 => &mut r.r12,
        4 => &mut r.rbp,
        5 => &mut r.rbx,
        6 => &mut r.r11,
        7 => &mut r.r10,
        8 => &mut r.r9,
        9 => &mut r.r8,
        10 => &mut r.rax,
        11 => &mut r.rcx,
        12 => &mut r.rdx,
        13 => &mut r.rsi,
        14 => &mut r.rdi,
        15 => &mut r.orig_rax,
        16 => &mut r.rip,
        17 => &mut r.cs,
        18 => &mut r.eflags,
        19 => &mut r.rsp,
        20 => &mut r.ss,
        21 => &mut r.fs_base,
        22 => &mut r.gs_base,
        23 => &mut r.ds,
        24 => &mut r.es,
        25 => &mut r.fs,
        _ => &mut r.gs,
    }
}

/// Writes register `off`, with Linux's checks: segment selectors cannot be
/// changed, only the arithmetic and trap flags of EFLAGS, and base
/// registers must stay in user space.
fn put_reg(regs: &mut PtRegs, off: u64, val: u64) -> SysResult<()> {
    let cur = get_reg(regs, off);
    let new = match off / 8 {
        17 | 20 | 23..=26 => {
            if val != cur {
                return Err(Errno::EIO);
            }
            val
        }
        18 => (cur & !EFLAGS_CHANGEABLE) | (val & EFLAGS_CHANGEABLE),
        21 | 22 => {
            if val >= TASK_SIZE {
                return Err(Errno::EIO);
            }
            val
        }
        _ => val,
    };
    *reg_slot(regs, off) = new;
    Ok(())
}

fn set_regs(t: &Arc<TaskShared>, new: &PtRegs) -> SysResult<()> {
    let mut tr = lock(&t.trace);
    let mut regs = tr.shown_regs();
    for off in (0..std::mem::size_of::<PtRegs>() as u64).step_by(8) {
        put_reg(&mut regs, off, get_reg(new, off))?;
    }
    tr.store_regs(regs);
    Ok(())
}

fn fp_of(t: &Arc<TaskShared>) -> FpState {
    lock(&t.trace).fp.0.as_deref().copied().unwrap_or_default()
}

fn set_fp(t: &Arc<TaskShared>, fp: FpState) {
    let mut tr = lock(&t.trace);
    tr.fp.0 = Some(Box::new(fp));
    tr.fp_dirty = true;
}

/// Resumes a stopped tracee in `mode`, delivering `sig` (0: none).
fn restart(t: &Arc<TaskShared>, mode: Resume, sig: i64) -> SysResult<u64> {
    if !(0..=NSIG as i64).contains(&sig) {
        return Err(Errno::EIO);
    }
    {
        let mut tr = lock(&t.trace);
        if mode == Resume::Listen {
            if !tr.seized || tr.stop != Some(Stop::Group) {
                return Err(Errno::EIO);
            }
        } else if mode == Resume::SingleStep {
            if tr.regs.eflags & EFLAGS_TF == 0 {
                tr.stepping = true;
            }
            tr.regs.eflags |= EFLAGS_TF;
            tr.regs_dirty = true;
        } else if tr.stepping {
            tr.stepping = false;
            tr.regs.eflags &= !EFLAGS_TF;
            tr.regs_dirty = true;
        }
        tr.resume = mode;
        tr.sig = sig as i32;
        tr.stop = None;
        tr.report = None;
    }
    t.waiter.notify();
    Ok(0)
}

/// `struct ptrace_syscall_info` for the current stop; returns its size.
fn syscall_info(t: &Arc<TaskShared>) -> Vec<u8> {
    let tr = lock(&t.trace);
    let regs = tr.regs;
    let (op, tail): (u8, Vec<u64>) = match tr.stop {
        Some(Stop::SyscallEntry) => (
            1,
            std::iter::once(regs.orig_rax)
                .chain(regs.syscall_args())
                .collect(),
        ),
        Some(Stop::Event(PTRACE_EVENT_SECCOMP)) => (
            3,
            std::iter::once(regs.orig_rax)
                .chain(regs.syscall_args())
                .chain(std::iter::once(tr.event_msg))
                .collect(),
        ),
        Some(Stop::SyscallExit) => (
            2,
            vec![
                regs.rax,
                ((regs.rax as i64) < 0 && (regs.rax as i64) >= -4095) as u64,
            ],
        ),
        _ => (0, Vec::new()),
    };
    let mut out = Vec::with_capacity(88);
    out.push(op);
    out.extend_from_slice(&[0; 3]);
    out.extend_from_slice(&AUDIT_ARCH_X86_64.to_le_bytes());
    out.extend_from_slice(&regs.rip.to_le_bytes());
    out.extend_from_slice(&regs.rsp.to_le_bytes());
    match op {
        1 => tail
            .iter()
            .for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
        3 => {
            tail[..7]
                .iter()
                .for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
            out.extend_from_slice(&(tail[7] as u32).to_le_bytes());
        }
        2 => {
            out.extend_from_slice(&tail[0].to_le_bytes());
            out.push(tail[1] as u8);
        }
        _ => {}
    }
    out
}

/// `ptrace(request, pid, addr, data)`.
pub fn ptrace(task: &mut Task, req: i64, pid: i32, addr: u64, data: u64) -> SysResult<u64> {
    match req {
        PTRACE_TRACEME => return traceme(task),
        PTRACE_ATTACH => return attach(task, pid, false, 0),
        PTRACE_SEIZE => {
            if addr != 0 {
                return Err(Errno::EIO);
            }
            // Unknown options are EIO here but EINVAL for SETOPTIONS, as
            // on Linux.
            let opts = data as u32;
            if data > u32::MAX as u64 || opts & !OPTIONS_MASK != 0 {
                return Err(Errno::EIO);
            }
            return attach(task, pid, true, opts);
        }
        PTRACE_KILL => {
            let t = tracee(task, pid, false)?;
            crate::signal::send_to_group(&t.tg, SigInfo::new(SIGKILL, SI_KERNEL));
            return Ok(0);
        }
        PTRACE_INTERRUPT => {
            let t = tracee(task, pid, false)?;
            let mut tr = lock(&t.trace);
            if !tr.seized {
                return Err(Errno::EIO);
            }
            if tr.stop.is_none() {
                tr.interrupt = Some(SIGTRAP);
                drop(tr);
                t.kick();
            }
            return Ok(0);
        }
        _ => {}
    }
    let t = tracee(task, pid, true)?;
    match req {
        PTRACE_PEEKTEXT | PTRACE_PEEKDATA => {
            let mut w = [0u8; 8];
            if access_mem(&t, addr, &mut w, false)? != 8 {
                return Err(Errno::EIO);
            }
            task.mm().write_obj(data, &u64::from_le_bytes(w))?;
            Ok(0)
        }
        PTRACE_POKETEXT | PTRACE_POKEDATA => {
            let mut w = data.to_le_bytes();
            if access_mem(&t, addr, &mut w, true)? != 8 {
                return Err(Errno::EIO);
            }
            Ok(0)
        }
        PTRACE_PEEKUSER => {
            if !addr.is_multiple_of(8) || addr >= USER_SIZE {
                return Err(Errno::EIO);
            }
            let v = if addr < 216 {
                get_reg(&lock(&t.trace).shown_regs(), addr)
            } else if (USER_DEBUGREG..USER_DEBUGREG + 64).contains(&addr) {
                lock(&t.trace).debugreg[((addr - USER_DEBUGREG) / 8) as usize]
            } else {
                0
            };
            task.mm().write_obj(data, &v)?;
            Ok(0)
        }
        PTRACE_POKEUSER => {
            if !addr.is_multiple_of(8) || addr >= USER_SIZE {
                return Err(Errno::EIO);
            }
            let mut tr = lock(&t.trace);
            if addr < 216 {
                let mut regs = tr.shown_regs();
                put_reg(&mut regs, addr, data)?;
                tr.store_regs(regs);
            } else if (USER_DEBUGREG..USER_DEBUGREG + 64).contains(&addr) {
                // Write watchpoints are offered (emulated with write-
                // protected pages); execution and read breakpoints are not.
                let i = ((addr - USER_DEBUGREG) / 8) as usize;
                match i {
                    0..=3 if data >= TASK_SIZE => return Err(Errno::EIO),
                    4 | 5 => return Err(Errno::EIO),
                    _ => {}
                }
                let mut dr = tr.debugreg;
                dr[i] = data;
                watches_of(&dr)?;
                tr.debugreg = dr;
            }
            Ok(0)
        }
        PTRACE_GETREGS => {
            let regs = lock(&t.trace).shown_regs();
            task.mm().write_obj(data, &regs)?;
            Ok(0)
        }
        PTRACE_SETREGS => {
            let regs: PtRegs = task.mm().read_obj(data)?;
            set_regs(&t, &regs)?;
            Ok(0)
        }
        PTRACE_GETFPREGS => {
            let fp = fp_of(&t);
            task.mm().copy_out(data, &fp.0[..FP_LEGACY_SIZE])?;
            Ok(0)
        }
        PTRACE_SETFPREGS => {
            let mut fp = fp_of(&t);
            task.mm().copy_in(data, &mut fp.0[..FP_LEGACY_SIZE])?;
            set_fp(&t, fp);
            Ok(0)
        }
        PTRACE_GETREGSET | PTRACE_SETREGSET => {
            let iov: [u64; 2] = task.mm().read_obj(data)?;
            let (base, len) = (iov[0], iov[1]);
            let get = req == PTRACE_GETREGSET;
            let n = match addr {
                NT_PRSTATUS => {
                    let size = std::mem::size_of::<PtRegs>() as u64;
                    let n = len.min(size);
                    let mut regs = lock(&t.trace).shown_regs();
                    if get {
                        task.mm()
                            .copy_out(base, &abi::Pod::as_bytes(&regs)[..n as usize])?;
                    } else {
                        task.mm()
                            .copy_in(base, &mut abi::Pod::as_bytes_mut(&mut regs)[..n as usize])?;
                        set_regs(&t, &regs)?;
                    }
                    n
                }
                NT_PRFPREG => {
                    let n = len.min(FP_LEGACY_SIZE as u64);
                    let mut fp = fp_of(&t);
                    if get {
                        task.mm().copy_out(base, &fp.0[..n as usize])?;
                    } else {
                        task.mm().copy_in(base, &mut fp.0[..n as usize])?;
                        set_fp(&t, fp);
                    }
                    n
                }
                NT_X86_XSTATE => {
                    // XSAVE layout; as on Linux the software-reserved
                    // bytes start with the enabled features (XCR0).
                    let size = FP_XSAVE_SIZE as u64;
                    if get {
                        let mut fp = fp_of(&t);
                        fp.0[FP_SW_BYTES..FP_LEGACY_SIZE].fill(0);
                        fp.0[FP_SW_BYTES..FP_SW_BYTES + 8]
                            .copy_from_slice(&XFEATURES_KEPT.to_le_bytes());
                        let n = len.min(size);
                        task.mm().copy_out(base, &fp.0[..n as usize])?;
                        n
                    } else {
                        if len < size {
                            return Err(Errno::EFAULT);
                        }
                        let mut buf = [0u8; FP_XSAVE_SIZE];
                        task.mm().copy_in(base, &mut buf)?;
                        let bv = u64::from_le_bytes(
                            buf[FP_XSTATE_BV..FP_XSTATE_BV + 8]
                                .try_into()
                                .map_err(|_| Errno::EINVAL)?,
                        );
                        if bv & !XFEATURES_KEPT != 0 {
                            return Err(Errno::EINVAL);
                        }
                        set_fp(&t, FpState::from_xsave(&buf));
                        size
                    }
                }
                _ => return Err(Errno::EINVAL),
            };
            task.mm().write_obj(data + 8, &n)?;
            Ok(0)
        }
        PTRACE_CONT => restart(&t, Resume::Cont, data as i64),
        PTRACE_SYSCALL => restart(&t, Resume::Syscall, data as i64),
        PTRACE_SINGLESTEP => restart(&t, Resume::SingleStep, data as i64),
        PTRACE_SYSEMU => restart(&t, Resume::Sysemu, data as i64),
        PTRACE_LISTEN => restart(&t, Resume::Listen, 0),
        PTRACE_DETACH => {
            if !(0..=NSIG as i64).contains(&(data as i64)) {
                return Err(Errno::EIO);
            }
            detach(task.tg(), &t, data as i32);
            Ok(0)
        }
        PTRACE_SETOPTIONS => {
            let opts = data as u32;
            if data > u32::MAX as u64 || opts & !OPTIONS_MASK != 0 {
                return Err(Errno::EINVAL);
            }
            lock(&t.trace).options = opts;
            Ok(0)
        }
        PTRACE_GETEVENTMSG => {
            let msg = lock(&t.trace).event_msg;
            task.mm().write_obj(data, &msg)?;
            Ok(0)
        }
        PTRACE_GETSIGINFO => {
            let info = lock(&t.trace).siginfo.ok_or(Errno::EINVAL)?;
            task.mm().write_obj(data, &info)?;
            Ok(0)
        }
        PTRACE_SETSIGINFO => {
            let info: SigInfo = task.mm().read_obj(data)?;
            let mut tr = lock(&t.trace);
            if tr.siginfo.is_none() {
                return Err(Errno::EINVAL);
            }
            tr.siginfo = Some(info);
            Ok(0)
        }
        PTRACE_GETSIGMASK | PTRACE_SETSIGMASK => {
            if addr != 8 {
                return Err(Errno::EINVAL);
            }
            if req == PTRACE_GETSIGMASK {
                task.mm().write_obj(data, &t.mask().0)?;
            } else {
                let m: u64 = task.mm().read_obj(data)?;
                t.mask.store(m & !SigSet::UNBLOCKABLE.0, Ordering::Relaxed);
                t.attention.store(true, Ordering::Release);
            }
            Ok(0)
        }
        PTRACE_GET_SYSCALL_INFO => {
            let info = syscall_info(&t);
            let n = (addr as usize).min(info.len());
            task.mm().copy_out(data, &info[..n])?;
            Ok(info.len() as u64)
        }
        _ => Err(Errno::EIO),
    }
}

/// `process_vm_readv`/`process_vm_writev`: copies between the caller's
/// iovecs and another process's, as far as both are mapped.
pub fn process_vm(
    task: &mut Task,
    pid: i32,
    local: &[(u64, u64)],
    remote: &[(u64, u64)],
    write: bool,
) -> SysResult<u64> {
    let target = task.kernel.find_group(pid).ok_or(Errno::ESRCH)?;
    let leader = target.lock().threads.first().cloned().ok_or(Errno::ESRCH)?;
    if !Arc::ptr_eq(&target, task.tg()) && !may_access(task, &leader) {
        return Err(Errno::EPERM);
    }
    let mm = target.lock().mm.clone().ok_or(Errno::ESRCH)?;
    let mut done = 0u64;
    let (mut li, mut loff) = (0usize, 0u64);
    let mut buf = Vec::new();
    for &(rbase, rlen) in remote {
        let mut roff = 0;
        while roff < rlen {
            while li < local.len() && loff >= local[li].1 {
                li += 1;
                loff = 0;
            }
            if li == local.len() {
                return Ok(done);
            }
            let n = (rlen - roff).min(local[li].1 - loff).min(1 << 20) as usize;
            buf.resize(n, 0);
            let laddr = local[li].0 + loff;
            let raddr = rbase + roff;
            let moved = if write {
                if task.mm().copy_in(laddr, &mut buf).is_err() {
                    return if done > 0 {
                        Ok(done)
                    } else {
                        Err(Errno::EFAULT)
                    };
                }
                lock(&mm).copy_out_partial(raddr, &buf)
            } else {
                let got = lock(&mm).copy_in_partial(raddr, &mut buf);
                if got > 0 && task.mm().copy_out(laddr, &buf[..got]).is_err() {
                    return if done > 0 {
                        Ok(done)
                    } else {
                        Err(Errno::EFAULT)
                    };
                }
                got
            };
            done += moved as u64;
            if moved < n {
                return if done > 0 {
                    Ok(done)
                } else {
                    Err(Errno::EFAULT)
                };
            }
            roff += n as u64;
            loff += n as u64;
        }
    }
    Ok(done)
}
