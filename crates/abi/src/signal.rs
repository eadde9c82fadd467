//! Signals: numbers, sets, `sigaction`, `siginfo` and the signal frame.

pub const SIGHUP: i32 = 1;
pub const SIGINT: i32 = 2;
pub const SIGQUIT: i32 = 3;
pub const SIGILL: i32 = 4;
pub const SIGTRAP: i32 = 5;
pub const SIGABRT: i32 = 6;
pub const SIGBUS: i32 = 7;
pub const SIGFPE: i32 = 8;
pub const SIGKILL: i32 = 9;
pub const SIGUSR1: i32 = 10;
pub const SIGSEGV: i32 = 11;
pub const SIGUSR2: i32 = 12;
pub const SIGPIPE: i32 = 13;
pub const SIGALRM: i32 = 14;
pub const SIGTERM: i32 = 15;
pub const SIGSTKFLT: i32 = 16;
pub const SIGCHLD: i32 = 17;
pub const SIGCONT: i32 = 18;
pub const SIGSTOP: i32 = 19;
pub const SIGTSTP: i32 = 20;
pub const SIGTTIN: i32 = 21;
pub const SIGTTOU: i32 = 22;
pub const SIGURG: i32 = 23;
pub const SIGXCPU: i32 = 24;
pub const SIGXFSZ: i32 = 25;
pub const SIGVTALRM: i32 = 26;
pub const SIGPROF: i32 = 27;
pub const SIGWINCH: i32 = 28;
pub const SIGIO: i32 = 29;
pub const SIGPWR: i32 = 30;
pub const SIGSYS: i32 = 31;
pub const SIGRTMIN: i32 = 32;
pub const SIGRTMAX: i32 = 64;
pub const NSIG: i32 = 64;

pub const SIG_DFL: u64 = 0;
pub const SIG_IGN: u64 = 1;

pub const SA_NOCLDSTOP: u64 = 0x1;
pub const SA_NOCLDWAIT: u64 = 0x2;
pub const SA_SIGINFO: u64 = 0x4;
pub const SA_RESTORER: u64 = 0x0400_0000;
pub const SA_ONSTACK: u64 = 0x0800_0000;
pub const SA_RESTART: u64 = 0x1000_0000;
pub const SA_NODEFER: u64 = 0x4000_0000;
pub const SA_RESETHAND: u64 = 0x8000_0000;

pub const SIG_BLOCK: i32 = 0;
pub const SIG_UNBLOCK: i32 = 1;
pub const SIG_SETMASK: i32 = 2;

pub const SI_USER: i32 = 0;
pub const SI_KERNEL: i32 = 0x80;
pub const SI_QUEUE: i32 = -1;
pub const SI_TIMER: i32 = -2;
pub const SI_TKILL: i32 = -6;
pub const SEGV_MAPERR: i32 = 1;
pub const SEGV_ACCERR: i32 = 2;
pub const BUS_ADRALN: i32 = 1;
pub const BUS_ADRERR: i32 = 2;
pub const CLD_EXITED: i32 = 1;
pub const CLD_KILLED: i32 = 2;
pub const CLD_DUMPED: i32 = 3;
pub const CLD_TRAPPED: i32 = 4;
pub const CLD_STOPPED: i32 = 5;
pub const CLD_CONTINUED: i32 = 6;

pub const SS_ONSTACK: i32 = 1;
pub const SS_DISABLE: i32 = 2;
pub const MINSIGSTKSZ: u64 = 2048;

/// A set of signals; bit `n-1` stands for signal `n`.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
#[repr(transparent)]
pub struct SigSet(pub u64);

impl SigSet {
    pub const EMPTY: SigSet = SigSet(0);
    /// Signals that can never be blocked or caught.
    pub const UNBLOCKABLE: SigSet = SigSet((1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1)));

    pub fn bit(sig: i32) -> u64 {
        1u64 << (sig - 1)
    }
    pub fn has(self, sig: i32) -> bool {
        self.0 & Self::bit(sig) != 0
    }
    pub fn add(&mut self, sig: i32) {
        self.0 |= Self::bit(sig)
    }
    pub fn remove(&mut self, sig: i32) {
        self.0 &= !Self::bit(sig)
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// Lowest-numbered signal in the set.
    pub fn first(self) -> Option<i32> {
        if self.0 == 0 {
            None
        } else {
            Some(self.0.trailing_zeros() as i32 + 1)
        }
    }
}

/// `struct sigaction` as the kernel (not libc) lays it out.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct SigAction {
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: u64,
}
// SAFETY: repr(C) of u64s.
unsafe impl crate::Pod for SigAction {}

/// `stack_t`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct SigAltStack {
    pub sp: u64,
    pub flags: i32,
    pub _pad: i32,
    pub size: u64,
}
// SAFETY: repr(C), explicit padding field.
unsafe impl crate::Pod for SigAltStack {}

/// `siginfo_t`: 128 bytes. Field views follow the kernel's unions.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct SigInfo {
    pub signo: i32,
    pub errno: i32,
    pub code: i32,
    pub _pad: i32,
    pub fields: [u64; 14],
}
// SAFETY: repr(C) of integers.
unsafe impl crate::Pod for SigInfo {}

impl SigInfo {
    pub fn new(signo: i32, code: i32) -> SigInfo {
        SigInfo {
            signo,
            code,
            ..Default::default()
        }
    }
    /// `kill`-style info: sender pid and uid.
    pub fn from_user(signo: i32, code: i32, pid: i32, uid: u32) -> SigInfo {
        let mut i = SigInfo::new(signo, code);
        i.fields[0] = (pid as u32 as u64) | ((uid as u64) << 32);
        i
    }
    /// Fault-style info: the faulting address.
    pub fn fault(signo: i32, code: i32, addr: u64) -> SigInfo {
        let mut i = SigInfo::new(signo, code);
        i.fields[0] = addr;
        i
    }
    /// `SIGCHLD` info: child pid, uid, status and CPU times.
    pub fn child(code: i32, pid: i32, uid: u32, status: i32) -> SigInfo {
        let mut i = SigInfo::new(SIGCHLD, code);
        i.fields[0] = (pid as u32 as u64) | ((uid as u64) << 32);
        i.fields[1] = status as u32 as u64;
        i
    }
    pub fn fault_addr(&self) -> u64 {
        self.fields[0]
    }
}

impl std::fmt::Debug for SigInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{{si_signo={}, si_code={}, f0={:#x}}}",
            self.signo, self.code, self.fields[0]
        )
    }
}

/// `struct sigcontext` (x86-64), the register part of `ucontext.uc_mcontext`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct SigContext {
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rbp: u64,
    pub rbx: u64,
    pub rdx: u64,
    pub rax: u64,
    pub rcx: u64,
    pub rsp: u64,
    pub rip: u64,
    pub eflags: u64,
    pub cs: u16,
    pub gs: u16,
    pub fs: u16,
    pub ss: u16,
    pub err: u64,
    pub trapno: u64,
    pub oldmask: u64,
    pub cr2: u64,
    pub fpstate: u64,
    pub reserved: [u64; 8],
}
// SAFETY: repr(C) of integers with no implicit padding (4 x u16 = 8 bytes).
unsafe impl crate::Pod for SigContext {}

/// `struct ucontext` (x86-64 kernel layout).
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct UContext {
    pub flags: u64,
    pub link: u64,
    pub stack: SigAltStack,
    pub mcontext: SigContext,
    pub sigmask: u64,
}
// SAFETY: repr(C) of Pod fields without implicit padding.
unsafe impl crate::Pod for UContext {}

/// The frame pushed on the user stack when a handler runs: the return
/// address (the restorer), then `ucontext`, then `siginfo`, as Linux's
/// `struct rt_sigframe`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct RtSigFrame {
    pub restorer: u64,
    pub uc: UContext,
    pub info: SigInfo,
}
// SAFETY: repr(C) of Pod fields.
unsafe impl crate::Pod for RtSigFrame {}
