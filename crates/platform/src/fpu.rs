//! Facts about the host CPU's floating-point state that both platforms
//! need when they load application FPU state.

use std::sync::OnceLock;

/// The MXCSR bits this CPU accepts (from `fxsave`'s MXCSR_MASK).
pub fn mxcsr_mask() -> u32 {
    static MASK: OnceLock<u32> = OnceLock::new();
    *MASK.get_or_init(|| {
        #[repr(C, align(16))]
        struct Area([u8; 512]);
        let mut a = Area([0; 512]);
        // SAFETY: fxsave writes 512 bytes to a 16-byte aligned buffer of
        // that size; FXSR is part of x86-64.
        unsafe { std::arch::x86_64::_fxsave(a.0.as_mut_ptr()) };
        let m = u32::from_le_bytes([a.0[28], a.0[29], a.0[30], a.0[31]]);
        if m == 0 {
            0xffbf
        } else {
            m
        }
    })
}
