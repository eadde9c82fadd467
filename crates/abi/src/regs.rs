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
    /// The general-purpose register with x86 encoding number `n` (0 = rax,
    /// 1 = rcx, ... 4 = rsp, ... 15 = r15, as in ModRM/REX fields).
    pub fn gpr_mut(&mut self, n: u8) -> &mut u64 {
        match n & 15 {
            0 => &mut self.rax,
            1 => &mut self.rcx,
            2 => &mut self.rdx,
            3 => &mut self.rbx,
            4 => &mut self.rsp,
            5 => &mut self.rbp,
            6 => &mut self.rsi,
            7 => &mut self.rdi,
            8 => &mut self.r8,
            9 => &mut self.r9,
            10 => &mut self.r10,
            11 => &mut self.r11,
            12 => &mut self.r12,
            13 => &mut self.r13,
            14 => &mut self.r14,
            _ => &mut self.r15,
        }
    }

    /// The six syscall arguments in ABI order.
    pub fn syscall_args(&self) -> [u64; 6] {
        [self.rdi, self.rsi, self.rdx, self.r10, self.r8, self.r9]
    }
}

/// Bytes of the legacy FXSAVE area (what `PTRACE_GETFPREGS` returns).
pub const FP_LEGACY_SIZE: usize = 512;
/// Where the software-reserved bytes of the legacy area begin (the signal
/// frame's `struct _fpx_sw_bytes`, ptrace's copy of XCR0).
pub const FP_SW_BYTES: usize = 464;
/// Offset of the XSAVE header's `xstate_bv`.
pub const FP_XSTATE_BV: usize = 512;
/// Offset of the AVX component (the upper halves of ymm0-15).
pub const FP_YMM_HI: usize = 576;
/// Bytes of the XSAVE standard-format prefix the sentry keeps: x87, SSE
/// and AVX.
pub const FP_XSAVE_SIZE: usize = 832;
/// The x87, SSE and AVX feature bits (`XFEATURE_MASK_FPSSE | YMM`).
pub const XFEATURES_KEPT: u64 = 7;
pub const FP_XSTATE_MAGIC1: u32 = 0x4650_5853;
pub const FP_XSTATE_MAGIC2: u32 = 0x4650_5845;

/// The FPU, SSE and AVX state in XSAVE standard format: the legacy
/// FXSAVE area, the XSAVE header, the AVX upper halves. Larger features
/// (AVX-512, AMX) are not kept.
#[repr(C, align(64))]
#[derive(Clone, Copy)]
pub struct FpState(pub [u8; FP_XSAVE_SIZE]);

impl Default for FpState {
    fn default() -> Self {
        let mut b = [0u8; FP_XSAVE_SIZE];
        // FCW = 0x37f, MXCSR = 0x1f80: the state after `fninit` and reset.
        b[0] = 0x7f;
        b[1] = 0x03;
        b[24] = 0x80;
        b[25] = 0x1f;
        // MXCSR_MASK.
        b[28] = 0xff;
        b[29] = 0xff;
        let mut fp = FpState(b);
        fp.set_xstate_bv(XFEATURES_KEPT);
        fp
    }
}

impl FpState {
    pub fn xstate_bv(&self) -> u64 {
        let mut w = [0u8; 8];
        w.copy_from_slice(&self.0[FP_XSTATE_BV..FP_XSTATE_BV + 8]);
        u64::from_le_bytes(w)
    }

    pub fn set_xstate_bv(&mut self, bv: u64) {
        self.0[FP_XSTATE_BV..FP_XSTATE_BV + 8].copy_from_slice(&bv.to_le_bytes());
    }

    pub fn mxcsr(&self) -> u32 {
        u32::from_le_bytes([self.0[24], self.0[25], self.0[26], self.0[27]])
    }

    pub fn set_mxcsr(&mut self, v: u32) {
        self.0[24..28].copy_from_slice(&v.to_le_bytes());
    }

    /// The state from an XSAVE-format buffer (`len` valid bytes, as the
    /// hardware or host kernel wrote it): components the header marks as
    /// in their initial state get their initial values, so that every kept
    /// component is explicit afterwards. A buffer of only the legacy area
    /// has no AVX state.
    pub fn from_xsave(buf: &[u8]) -> FpState {
        let mut fp = FpState::default();
        let n = buf.len().min(FP_XSAVE_SIZE);
        fp.0[..n].copy_from_slice(&buf[..n]);
        let bv = if n >= FP_YMM_HI { fp.xstate_bv() } else { 3 };
        let init = FpState::default();
        if bv & 1 == 0 {
            // x87: control/status words and the eight st registers.
            fp.0[..24].copy_from_slice(&init.0[..24]);
            fp.0[32..160].fill(0);
        }
        if bv & 2 == 0 {
            fp.0[160..416].fill(0);
        }
        if n < FP_XSAVE_SIZE || bv & 4 == 0 {
            fp.0[FP_YMM_HI..].fill(0);
        }
        // The rest of the header (xcomp_bv, reserved) must be zero.
        fp.0[FP_XSTATE_BV + 8..FP_YMM_HI].fill(0);
        fp.set_xstate_bv(XFEATURES_KEPT);
        fp
    }

    /// Clears MXCSR bits outside `mask`, which a restore would fault on.
    pub fn sanitize_mxcsr(&mut self, mask: u32) {
        let v = self.mxcsr() & mask;
        self.set_mxcsr(v);
    }
}

/// Default values of the user code/stack segment selectors on x86-64.
pub const USER_CS: u64 = 0x33;
pub const USER_SS: u64 = 0x2b;
/// EFLAGS for fresh user code: IF set, reserved bit 1 set.
pub const USER_EFLAGS: u64 = 0x202;
/// EFLAGS.TF: a debug trap after the next instruction (single-step).
pub const EFLAGS_TF: u64 = 0x100;
