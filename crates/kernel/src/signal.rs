//! Signals: pending queues, sending, delivery to handlers, default actions
//! and `rt_sigreturn`.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use abi::regs::{
    FpState, FP_LEGACY_SIZE, FP_SW_BYTES, FP_XSAVE_SIZE, FP_XSTATE_MAGIC1, FP_XSTATE_MAGIC2,
    USER_CS, USER_SS, XFEATURES_KEPT,
};
use abi::signal::*;
use abi::{Errno, SysResult};

use crate::task::{lock, Exit, Task, TaskShared, ThreadGroup};

/// Pending signals: standard signals are not queued twice, real-time ones
/// queue with their info.
#[derive(Default)]
pub struct SigQueue {
    set: SigSet,
    infos: VecDeque<SigInfo>,
}

impl SigQueue {
    pub fn set(&self) -> SigSet {
        self.set
    }

    /// Queues `info`; false if nothing new is pending (a standard signal
    /// already pending, or a timer expiry counted as an overrun), so the
    /// caller has nobody to wake: a wake-up could raise the signal again
    /// (`O_ASYNC` on a signalfd) and recurse.
    pub fn push(&mut self, info: SigInfo) -> bool {
        let sig = info.signo;
        // A POSIX timer has one signal in flight: while it is pending, a
        // further expiry only counts as an overrun in its siginfo (even a
        // real-time signal is not queued twice).
        if info.code == SI_TIMER {
            let id = info.fields[0] as u32;
            let queued = self
                .infos
                .iter_mut()
                .find(|x| x.signo == sig && x.code == SI_TIMER && x.fields[0] as u32 == id);
            if let Some(q) = queued {
                let over = ((q.fields[0] >> 32) as u32)
                    .saturating_add(1)
                    .min(i32::MAX as u32);
                q.fields[0] = u64::from(id) | (u64::from(over) << 32);
                return false;
            }
        }
        if sig < SIGRTMIN && self.set.has(sig) {
            return false;
        }
        self.set.add(sig);
        self.infos.push_back(info);
        true
    }

    pub fn deliverable(&self, mask: SigSet) -> bool {
        self.set.0 & !mask.0 != 0
    }

    /// Takes the lowest-numbered unblocked signal.
    pub fn take(&mut self, mask: SigSet) -> Option<SigInfo> {
        let sig = SigSet(self.set.0 & !mask.0).first()?;
        let i = self.infos.iter().position(|x| x.signo == sig)?;
        let info = self.infos.remove(i)?;
        if !self.infos.iter().any(|x| x.signo == sig) {
            self.set.remove(sig);
        }
        Some(info)
    }

    pub fn remove(&mut self, sig: i32) {
        self.set.remove(sig);
        self.infos.retain(|x| x.signo != sig);
    }
}

/// What a default action does.
#[derive(PartialEq, Eq)]
enum Default_ {
    Terminate,
    Core,
    Ignore,
    Stop,
    Continue,
}

/// Whether `sig`'s default action leaves a process without a handler as
/// it was: ignored, or a continue of a process that is not stopped.
pub fn harmless_by_default(sig: i32) -> bool {
    matches!(default_action(sig), Default_::Ignore | Default_::Continue)
}

fn default_action(sig: i32) -> Default_ {
    match sig {
        SIGCHLD | SIGURG | SIGWINCH => Default_::Ignore,
        SIGCONT => Default_::Continue,
        SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU => Default_::Stop,
        SIGQUIT | SIGILL | SIGTRAP | SIGABRT | SIGBUS | SIGFPE | SIGSEGV | SIGXCPU | SIGXFSZ
        | SIGSYS => Default_::Core,
        _ => Default_::Terminate,
    }
}

/// Queues `info` for the process `tg` and wakes a thread that can take it.
pub fn send_to_group(tg: &Arc<ThreadGroup>, info: SigInfo) {
    send_to_group_from(tg, info, None);
}

/// [`send_to_group`] from the run loop of `current`, a thread of `tg`
/// between two runs of application code (a CPU-time timer it just
/// charged): as Linux prefers the current thread for a group signal,
/// `current` takes it if it does not block it, and is only flagged, not
/// interrupted. An interrupt would cut its next run short, and a timer
/// charged at each return would then fire at each return: the task would
/// livelock without running any application code.
pub fn send_to_group_from(tg: &Arc<ThreadGroup>, info: SigInfo, current: Option<&TaskShared>) {
    let sig = info.signo;
    let mut g = tg.lock();
    if g.exit_status.is_some() {
        return;
    }
    if sig == SIGKILL {
        g.stopped = false;
        for t in &g.threads {
            t.killed.store(true, Ordering::Relaxed);
            t.kick();
        }
        return;
    }
    if sig == SIGCONT {
        // Continuing happens at generation, whatever the disposition.
        for s in [SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU] {
            g.pending.remove(s);
            for t in &g.threads {
                lock(&t.pending).remove(s);
            }
        }
        if g.stopped {
            g.stopped = false;
            g.wait_report = Some(abi::misc::wait::CONTINUED);
            for t in &g.threads {
                t.kick();
            }
            let parent = g.parent.clone();
            drop(g);
            notify_parent_job(tg, parent, CLD_CONTINUED, SIGCONT);
            g = tg.lock();
        }
    } else if is_stop_signal(sig) {
        g.pending.remove(SIGCONT);
        for t in &g.threads {
            lock(&t.pending).remove(SIGCONT);
        }
    }
    // A signal whose action is "ignore" is dropped at once, unless every
    // thread blocks it (then it stays pending for sigwait-style callers).
    let act = lock(&g.sighand).action(sig);
    let ignored = act.handler == SIG_IGN
        || (act.handler == SIG_DFL && default_action(sig) == Default_::Ignore);
    // Tracers see even ignored signals.
    let traced = g.threads.iter().any(|t| t.traced.load(Ordering::Relaxed));
    if ignored && !traced && g.threads.iter().any(|t| !t.mask().has(sig)) {
        return;
    }
    if !g.pending.push(info) {
        return;
    }
    if let Some(cur) = current.filter(|c| !c.mask().has(sig)) {
        cur.attention.store(true, Ordering::Release);
        return;
    }
    let target = g.threads.iter().find(|t| !t.mask().has(sig)).cloned();
    if let Some(t) = target {
        drop(g);
        t.kick();
        return;
    }
    // Every thread blocks it: only a thread waiting for it wakes.
    for t in &g.threads {
        t.signal_queued(sig);
    }
}

/// Queues a thread-directed signal (`tgkill`, `rt_tgsigqueueinfo`) for
/// `target`. As for a process-directed one, a signal whose action is
/// "ignore" is dropped at once unless the thread blocks it or a tracer
/// watches: a thread merely waiting for it in `sigtimedwait` does not keep
/// it (Linux's `sig_ignored`).
pub fn send_to_thread(target: &TaskShared, info: SigInfo) {
    let sig = info.signo;
    let act = lock(&target.tg.lock().sighand).action(sig);
    let ignored = act.handler == SIG_IGN
        || (act.handler == SIG_DFL && default_action(sig) == Default_::Ignore);
    if ignored && !target.traced.load(Ordering::Relaxed) && !target.mask().has(sig) {
        return;
    }
    if lock(&target.pending).push(info) {
        target.signal_queued(sig);
    }
}

fn is_stop_signal(sig: i32) -> bool {
    matches!(sig, SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU)
}

/// Tells a parent that its child stopped or continued: `SIGCHLD` (unless
/// the parent asked for `SA_NOCLDSTOP`) and a wake-up for waiters.
fn notify_parent_job(
    child: &Arc<ThreadGroup>,
    parent: Option<Arc<ThreadGroup>>,
    code: i32,
    sig: i32,
) {
    let Some(parent) = parent else { return };
    let act = lock(&parent.lock().sighand).action(SIGCHLD);
    if act.flags & SA_NOCLDSTOP == 0 {
        let pid = parent.pidns.shown(child.pid);
        send_to_group(&parent, SigInfo::child(code, pid, 0, sig));
    }
    parent.child_events.notify(waiter::events::ALL);
}

impl Task {
    /// Whether a core-dumping signal reports a dumped core (the wait
    /// status's core bit): Linux sets it only when a dump was allowed by
    /// `RLIMIT_CORE`. No core file is written.
    pub fn dumps_core(&self) -> bool {
        self.rlimit(abi::misc::RLIMIT_CORE).cur > 0
    }

    /// Sleeps while the process is stopped by job control.
    fn wait_while_stopped(&self) {
        let waiter = self.shared.waiter.clone();
        loop {
            if self.shared.killed.load(Ordering::Relaxed)
                || self.traced()
                || !self.tg().lock().stopped
            {
                return;
            }
            waiter.wait(None);
        }
    }

    /// Sleeps while the kernel is frozen ([`crate::Kernel::freeze`]),
    /// unless killed.
    fn wait_while_frozen(&self) {
        let waiter = self.shared.waiter.clone();
        while self.kernel.frozen() && !self.shared.killed.load(Ordering::Relaxed) {
            waiter.wait(None);
        }
        // Whatever else needs a look (a signal sent meanwhile) gets it.
        self.shared.attention.store(true, Ordering::Release);
    }

    /// Queues a synchronous signal for this thread (a fault). If the signal
    /// is blocked or ignored the process dies of it, as Linux forces.
    pub fn force_signal(&mut self, info: SigInfo) {
        let sig = info.signo;
        let mut h = lock(&self.sighand);
        let act = h.action(sig);
        if self.mask().has(sig) || act.handler == SIG_IGN {
            h.actions[(sig - 1) as usize].handler = SIG_DFL;
            let mut m = self.mask();
            m.remove(sig);
            self.set_mask(m);
        }
        drop(h);
        lock(&self.shared.pending).push(info);
        self.shared.attention.store(true, Ordering::Release);
    }

    /// Delivers pending signals: runs default actions or sets up handler
    /// frames. Also settles a syscall restart. Returns an exit if one of
    /// them ends the task.
    pub fn deliver_signals(&mut self, restart: Option<Errno>) -> Option<Exit> {
        // Fast path: nothing was queued, unblocked, stopped or killed since
        // the last look.
        if restart.is_none()
            && self.saved_mask.is_none()
            && !self.shared.attention.swap(false, Ordering::AcqRel)
        {
            return None;
        }
        let mut restart = restart;
        loop {
            if self.kernel.frozen() {
                self.wait_while_frozen();
            }
            if self.tg().lock().stopped {
                self.wait_while_stopped();
            }
            if self.traced() {
                self.ptrace_interrupt();
            }
            if self.shared.killed.load(Ordering::Relaxed) {
                return Some(Exit::Group(abi::misc::wait::signaled(SIGKILL, false)));
            }
            if self.shared.exec_exit.load(Ordering::Relaxed) {
                return Some(Exit::Thread(0));
            }
            if let Some(code) = self.tg().lock().exiting {
                return Some(Exit::Group(code));
            }
            let mask = self.mask();
            let info = self.shared.take_pending(mask);
            let Some(mut info) = info else { break };
            if self.traced() && info.signo != SIGKILL {
                match self.ptrace_signal(info) {
                    Some(i) => info = i,
                    None => continue,
                }
            }
            let sig = info.signo;
            let act = lock(&self.sighand).action(sig);
            if act.handler == SIG_IGN {
                continue;
            }
            if act.handler == SIG_DFL {
                match default_action(sig) {
                    Default_::Ignore | Default_::Continue => continue,
                    Default_::Stop => {
                        // The process stops and its parent hears of it;
                        // a traced task then sits in a ptrace group stop
                        // (its tracer decides when it runs) instead. A
                        // tracer that is also the parent learns of the
                        // stop through ptrace alone.
                        let tg = self.tg().clone();
                        let tracer = lock(&self.shared.trace).tracer.clone();
                        let parent = {
                            let mut g = tg.lock();
                            let parent_traces = match (&g.parent, &tracer) {
                                (Some(p), Some(t)) => Arc::ptr_eq(p, t),
                                _ => false,
                            };
                            if g.stopped || parent_traces {
                                g.stopped = true;
                                None
                            } else {
                                g.stopped = true;
                                g.wait_report = Some(abi::misc::wait::stopped(sig));
                                for t in &g.threads {
                                    t.kick();
                                }
                                Some(g.parent.clone())
                            }
                        };
                        if let Some(parent) = parent {
                            notify_parent_job(&tg, parent, CLD_STOPPED, sig);
                        }
                        if tracer.is_some() {
                            self.ptrace_group_stop(sig);
                        } else {
                            self.wait_while_stopped();
                        }
                        continue;
                    }
                    Default_::Terminate => {
                        return Some(Exit::Group(abi::misc::wait::signaled(sig, false)))
                    }
                    Default_::Core => {
                        return Some(Exit::Group(abi::misc::wait::signaled(
                            sig,
                            self.dumps_core(),
                        )))
                    }
                }
            }
            // A handler will run: settle an interrupted syscall first.
            if let Some(e) = restart.take() {
                let restart_it = match e {
                    Errno::ERESTARTNOINTR => true,
                    Errno::ERESTARTSYS => act.flags & SA_RESTART != 0,
                    _ => false,
                };
                if restart_it {
                    self.regs.rax = self.regs.orig_rax;
                    self.regs.rip -= 2;
                } else {
                    self.regs.rax = Errno::EINTR.as_ret();
                }
            }
            if self.setup_frame(&info, &act).is_err() {
                // No room for the frame: as Linux, a SIGSEGV is forced
                // (its handler may run, on a stack that has room); if it
                // was SIGSEGV's own frame, the process dies of it.
                if sig == SIGSEGV {
                    return Some(Exit::Group(abi::misc::wait::signaled(
                        SIGSEGV,
                        self.dumps_core(),
                    )));
                }
                self.force_signal(SigInfo::new(SIGSEGV, SI_KERNEL));
                continue;
            }
            let mut h = lock(&self.sighand);
            if act.flags & SA_RESETHAND != 0 {
                h.actions[(sig - 1) as usize].handler = SIG_DFL;
                h.actions[(sig - 1) as usize].flags &= !SA_SIGINFO;
            }
            drop(h);
            let mut m = SigSet(self.saved_mask.take().unwrap_or(self.mask()).0 | act.mask);
            if act.flags & SA_NODEFER == 0 {
                m.add(sig);
            }
            // saved_mask (if any) went into the frame; the handler runs with
            // the union of the old mask and the action's mask.
            self.set_mask(m);
        }
        if let Some(e) = restart {
            // No handler ran: the call restarts transparently.
            self.regs.rip -= 2;
            self.regs.rax = if e == Errno::ERESTART_RESTARTBLOCK {
                219
            } else {
                self.regs.orig_rax
            };
        }
        if let Some(m) = self.saved_mask.take() {
            self.set_mask(m);
        }
        None
    }

    fn on_altstack(&self, sp: u64) -> bool {
        self.altstack.flags & SS_DISABLE == 0
            && sp > self.altstack.sp
            && sp <= self.altstack.sp + self.altstack.size
    }

    fn setup_frame(&mut self, info: &SigInfo, act: &SigAction) -> SysResult<()> {
        let mut sp = self.regs.rsp;
        let use_alt = act.flags & SA_ONSTACK != 0
            && self.altstack.flags & SS_DISABLE == 0
            && self.altstack.size > 0;
        let nested = self.on_altstack(sp);
        let entering = use_alt && !nested;
        if entering {
            sp = self.altstack.sp + self.altstack.size;
        } else {
            sp = sp.wrapping_sub(128); // the red zone
        }
        let fp = xsave_frame_area(&self.ctx.fp_state().unwrap_or_default());
        sp = sp.wrapping_sub(FP_XSAVE_SIZE as u64 + 4) & !63;
        let fp_addr = sp;
        let frame_size = std::mem::size_of::<RtSigFrame>() as u64;
        sp = ((sp.wrapping_sub(frame_size)) & !15).wrapping_sub(8);
        // A frame that would run off the bottom of the alternate stack is
        // not written below it (Linux's rule): the signal cannot be taken.
        if (nested || entering) && !self.on_altstack(sp) {
            return Err(Errno::EFAULT);
        }
        let r = &self.regs;
        let old_mask = self.saved_mask.unwrap_or(self.mask());
        let frame = RtSigFrame {
            restorer: act.restorer,
            uc: UContext {
                // UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS.
                flags: 0x7,
                link: 0,
                stack: SigAltStack {
                    sp: self.altstack.sp,
                    flags: if self.on_altstack(self.regs.rsp) {
                        SS_ONSTACK
                    } else {
                        self.altstack.flags
                    },
                    _pad: 0,
                    size: self.altstack.size,
                },
                mcontext: SigContext {
                    r8: r.r8,
                    r9: r.r9,
                    r10: r.r10,
                    r11: r.r11,
                    r12: r.r12,
                    r13: r.r13,
                    r14: r.r14,
                    r15: r.r15,
                    rdi: r.rdi,
                    rsi: r.rsi,
                    rbp: r.rbp,
                    rbx: r.rbx,
                    rdx: r.rdx,
                    rax: r.rax,
                    rcx: r.rcx,
                    rsp: r.rsp,
                    rip: r.rip,
                    eflags: r.eflags,
                    cs: USER_CS as u16,
                    gs: 0,
                    fs: 0,
                    ss: USER_SS as u16,
                    err: 0,
                    trapno: if info.signo == SIGSEGV || info.signo == SIGBUS {
                        14
                    } else {
                        0
                    },
                    oldmask: old_mask.0,
                    cr2: if info.signo == SIGSEGV || info.signo == SIGBUS {
                        info.fault_addr()
                    } else {
                        0
                    },
                    fpstate: fp_addr,
                    reserved: [0; 8],
                },
                sigmask: old_mask.0,
            },
            info: *info,
        };
        {
            let mut mm = self.mm();
            mm.copy_out(fp_addr, &fp.0)?;
            mm.write_obj(fp_addr + FP_XSAVE_SIZE as u64, &FP_XSTATE_MAGIC2)?;
            mm.write_obj(sp, &frame)?;
        }
        // The handler starts from a clean FPU (default MXCSR and control
        // word, empty registers), as on Linux; sigreturn brings the saved
        // state back.
        let _ = self.ctx.set_fp_state(&FpState::default());
        let frame_addr = sp;
        self.regs.rsp = sp;
        self.regs.rip = act.handler;
        self.regs.rdi = info.signo as u64;
        self.regs.rsi = frame_addr + std::mem::offset_of!(RtSigFrame, info) as u64;
        self.regs.rdx = frame_addr + std::mem::offset_of!(RtSigFrame, uc) as u64;
        self.regs.rax = 0;
        // Clear DF, TF and RF, as Linux does for a handler.
        self.regs.eflags &= !(0x400 | 0x100 | 0x10000);
        Ok(())
    }

    /// `rt_sigreturn`: restores the state saved by [`Task::setup_frame`].
    pub fn sigreturn(&mut self) -> SysResult<u64> {
        let frame_addr = self.regs.rsp.wrapping_sub(8);
        let frame: RtSigFrame = self.mm().read_obj(frame_addr)?;
        let c = &frame.uc.mcontext;
        let r = &mut self.regs;
        r.r8 = c.r8;
        r.r9 = c.r9;
        r.r10 = c.r10;
        r.r11 = c.r11;
        r.r12 = c.r12;
        r.r13 = c.r13;
        r.r14 = c.r14;
        r.r15 = c.r15;
        r.rdi = c.rdi;
        r.rsi = c.rsi;
        r.rbp = c.rbp;
        r.rbx = c.rbx;
        r.rdx = c.rdx;
        r.rax = c.rax;
        r.rcx = c.rcx;
        r.rsp = c.rsp;
        r.rip = c.rip;
        // Only the flags user code may change (AC, OF, DF, TF, SF, ZF, AF, PF, CF, RF).
        const FIX: u64 = 0x40000 | 0x800 | 0x400 | 0x100 | 0x80 | 0x40 | 0x10 | 0x4 | 0x1 | 0x10000;
        r.eflags = (r.eflags & !FIX) | (c.eflags & FIX);
        r.cs = USER_CS;
        r.ss = USER_SS;
        r.orig_rax = u64::MAX;
        if c.fpstate != 0 {
            let mut fp = self.read_frame_fp(c.fpstate)?;
            // MXCSR reserved bits must be clear or the restore faults.
            fp.sanitize_mxcsr(0xffff);
            let _ = self.ctx.set_fp_state(&fp);
        }
        // A frame saved at a `syscall` patched since then.
        let rip = self.mm().resume_address(self.regs.rip);
        self.regs.rip = rip;
        self.set_mask(SigSet(frame.uc.sigmask));
        self.regs_replaced = true;
        Ok(self.regs.rax)
    }
}

/// The FPU state as a signal frame holds it: XSAVE layout, with the
/// software-reserved bytes describing it (`struct _fpx_sw_bytes`).
fn xsave_frame_area(fp: &FpState) -> FpState {
    let mut a = *fp;
    let sw = &mut a.0[FP_SW_BYTES..FP_LEGACY_SIZE];
    sw.fill(0);
    sw[0..4].copy_from_slice(&FP_XSTATE_MAGIC1.to_le_bytes());
    sw[4..8].copy_from_slice(&(FP_XSAVE_SIZE as u32 + 4).to_le_bytes());
    sw[8..16].copy_from_slice(&XFEATURES_KEPT.to_le_bytes());
    sw[16..20].copy_from_slice(&(FP_XSAVE_SIZE as u32).to_le_bytes());
    a
}

impl Task {
    /// The FPU state a signal frame's `fpstate` points at. An XSAVE area
    /// counts only with both magic numbers in place; otherwise only the
    /// legacy area is taken and the AVX state is reset, as Linux does.
    fn read_frame_fp(&mut self, addr: u64) -> SysResult<FpState> {
        let mut buf = [0u8; FP_XSAVE_SIZE];
        let mut mm = self.mm();
        mm.copy_in(addr, &mut buf[..FP_LEGACY_SIZE])?;
        let word =
            |b: &[u8], at: usize| u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
        let size = word(&buf, FP_SW_BYTES + 16) as u64;
        let mut len = FP_LEGACY_SIZE;
        if word(&buf, FP_SW_BYTES) == FP_XSTATE_MAGIC1
            && (FP_XSAVE_SIZE as u64..1 << 20).contains(&size)
        {
            let magic2: u32 = mm.read_obj(addr + size).unwrap_or(0);
            if magic2 == FP_XSTATE_MAGIC2 {
                mm.copy_in(addr + FP_LEGACY_SIZE as u64, &mut buf[FP_LEGACY_SIZE..])?;
                len = FP_XSAVE_SIZE;
            }
        }
        Ok(FpState::from_xsave(&buf[..len]))
    }
}

/// `SigAction` from the bytes an application passed.
pub fn read_action(task: &Task, addr: u64) -> SysResult<SigAction> {
    task.mm().read_obj::<SigAction>(addr)
}

/// Makes sure a value is a valid signal number.
pub fn check_sig(sig: i32) -> SysResult<i32> {
    if (1..=NSIG).contains(&sig) {
        Ok(sig)
    } else {
        Err(Errno::EINVAL)
    }
}
