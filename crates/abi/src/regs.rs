//! x86-64 register state in the layout of `struct user_regs_struct`.

/// General-purpose registers, laid out as the kernel's `user_regs_struct`
/// (what `PTRACE_GETREGS` returns).
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct PtRegs {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub rbp: u64,
    pub rbx: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rax: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub orig_rax: u64,
    pub rip: u64,
    pub cs: u64,
    pub eflags: u64,
    pub rsp: u64,
    pub ss: u64,
    pub fs_base: u64,
    pub gs_base: u64,
    pub ds: u64,
    pub es: u64,
    pub fs: u64,
    pub gs: u64,
}

// SAFETY: repr(C) struct of u64 fields.
unsafe impl crate::Pod for PtRegs {}

impl PtRegs {
    /// The six syscall arguments in ABI order.
    pub fn syscall_args(&self) -> [u64; 6] {
        [self.rdi, self.rsi, self.rdx, self.r10, self.r8, self.r9]
    }
}

/// The legacy FXSAVE area (512 bytes), as `PTRACE_GETFPREGS` returns it and
/// as the signal frame's `fpstate` begins.
#[repr(C, align(64))]
#[derive(Clone, Copy)]
pub struct FpState(pub [u8; 512]);

impl Default for FpState {
    fn default() -> Self {
        let mut b = [0u8; 512];
        // FCW = 0x37f, MXCSR = 0x1f80: the state after `fninit` and reset.
        b[0] = 0x7f;
        b[1] = 0x03;
        b[24] = 0x80;
        b[25] = 0x1f;
        // MXCSR_MASK.
        b[28] = 0xff;
        b[29] = 0xff;
        FpState(b)
    }
}

/// Default values of the user code/stack segment selectors on x86-64.
pub const USER_CS: u64 = 0x33;
pub const USER_SS: u64 = 0x2b;
/// EFLAGS for fresh user code: IF set, reserved bit 1 set.
pub const USER_EFLAGS: u64 = 0x202;
