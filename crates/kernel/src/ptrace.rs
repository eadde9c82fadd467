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
//! This module is the tracee's side (stops and events, in its run loop);
//! `requests` is the tracer's (`ptrace` requests, `process_vm_*`), and
//! `watch` emulates debug-register watchpoints.
//!
//! Lock order: `ThreadGroup::inner` → `TaskShared::trace`. The tracee never
//! holds its `trace` lock while taking a thread-group lock.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use abi::regs::{
    FpState, EFLAGS_TF, FP_LEGACY_SIZE, FP_SW_BYTES, FP_XSAVE_SIZE, FP_XSTATE_BV, XFEATURES_KEPT,
};
use abi::signal::*;
use abi::{Errno, PtRegs, SysResult};

use crate::task::{lock, Task, TaskShared, ThreadGroup, CAP_SYS_PTRACE};

mod requests;
mod watch;

/// Landlock's ptrace rule: a tracer with domain `tracer` may reach
/// `target` only if `target`'s domain is that domain or one made from it.
pub(crate) fn landlock_scoped(
    tracer: Option<&Arc<vfs::landlock::Domain>>,
    target: &TaskShared,
) -> bool {
    match tracer {
        None => true,
        Some(mine) => lock(&target.landlock)
            .as_ref()
            .is_some_and(|theirs| mine.is_ancestor_of(theirs)),
    }
}

pub use requests::{process_vm, ptrace};
pub use watch::{watches_of, Watch, WatchState, WatchStep};

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
    /// The FPU state while stopped (boxed: an untraced task's `Tracing`
    /// stays small).
    pub fp: Option<Box<FpState>>,
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
            tr.fp = Some(Box::new(fp));
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
            let fp = if tr.fp_dirty { tr.fp.take() } else { None };
            tr.fp = None;
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
        // After `PTRACE_LISTEN` the tracee stays stopped, out of reach of
        // requests, and other signals stay queued: only the end of the
        // group stop (`SIGCONT`), a new `PTRACE_INTERRUPT` or a kill ends
        // the wait. It then traps again, reporting `SIGTRAP`, or its stop
        // signal if the group is still stopped.
        let waiter = self.shared.waiter.clone();
        while lock(&self.shared.trace).resume == Resume::Listen {
            loop {
                if self.shared.killed.load(Ordering::Relaxed)
                    || self.shared.exec_exit.load(Ordering::Relaxed)
                {
                    return;
                }
                if !self.tg().lock().stopped || self.ptrace_interrupt_due() {
                    break;
                }
                waiter.wait(None);
            }
            lock(&self.shared.trace).interrupt = None;
            let (kind, code) = if self.tg().lock().stopped {
                (Stop::Group, sig)
            } else {
                (Stop::Event(PTRACE_EVENT_STOP), SIGTRAP)
            };
            let info = trap_info(self, code | (PTRACE_EVENT_STOP << 8) as i32);
            self.ptrace_stop(kind, event_status(code, PTRACE_EVENT_STOP), Some(info));
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
            drop(tr);
            release_exit(t);
            return;
        }
        let kill = tr.options & PTRACE_O_EXITKILL != 0;
        *tr = Tracing::default();
        kill
    };
    release_exit(t);
    t.traced.store(false, Ordering::Relaxed);
    if kill {
        crate::signal::send_to_group(&t.tg, SigInfo::new(SIGKILL, SI_KERNEL));
    }
    t.kick();
}

/// Whether the exit of `shared`, its process's leader, must wait for a
/// tracer that is not the parent (`parent`) to collect it. Called with the
/// process locked, as the process becomes a zombie.
pub(crate) fn holds_exit(shared: &TaskShared, parent: Option<&Arc<ThreadGroup>>) -> bool {
    leader_tracer_is(shared, parent) == Some(false)
}

/// Whether the exiting leader `shared` is traced by its parent.
pub(crate) fn traced_by(shared: &TaskShared, parent: Option<&Arc<ThreadGroup>>) -> bool {
    leader_tracer_is(shared, parent) == Some(true)
}

/// For a traced leader with a parent: whether its tracer is that parent.
fn leader_tracer_is(shared: &TaskShared, parent: Option<&Arc<ThreadGroup>>) -> Option<bool> {
    if shared.tid != shared.tg.pid || !shared.traced.load(Ordering::Relaxed) {
        return None;
    }
    match (&lock(&shared.trace).tracer, parent) {
        (Some(t), Some(p)) => Some(Arc::ptr_eq(t, p)),
        _ => None,
    }
}

/// A tracer collected (or can no longer collect) a tracee's exit: if it
/// was its process's leader, the parent may now reap the process.
fn release_exit(t: &Arc<TaskShared>) {
    if t.tid != t.tg.pid {
        return;
    }
    let parent = {
        let mut g = t.tg.lock();
        if !std::mem::take(&mut g.exit_held_by_tracer) {
            return;
        }
        g.parent.clone()
    };
    if let Some(p) = parent {
        p.child_events.notify(waiter::events::ALL);
    }
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
            release_exit(&t);
        }
        return Some(TraceReport {
            tid: t.tid,
            status,
            trapped: !exited,
        });
    }
    None
}
