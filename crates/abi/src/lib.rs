//! The Linux x86-64 ABI as the sentry sees it: errno values, flags, and the
//! `#[repr(C)]` structures that cross the application boundary. No logic
//! lives here beyond trivial conversions.

pub mod errno;
pub mod fs;
pub mod ipc;
pub mod misc;
pub mod mman;
pub mod regs;
pub mod signal;
pub mod time;
pub mod tty;

pub use errno::{Errno, SysResult};
pub use regs::PtRegs;

/// Size of a page on x86-64.
pub const PAGE_SIZE: u64 = 4096;

/// Rounds `v` down to a page boundary.
pub const fn page_down(v: u64) -> u64 {
    v & !(PAGE_SIZE - 1)
}

/// Rounds `v` up to a page boundary, or `None` on overflow.
pub const fn page_up(v: u64) -> Option<u64> {
    match v.checked_add(PAGE_SIZE - 1) {
        Some(x) => Some(x & !(PAGE_SIZE - 1)),
        None => None,
    }
}

/// Marks a plain-old-data ABI type that may be viewed as bytes and built
/// from any byte pattern.
///
/// # Safety
/// Implementors must be `#[repr(C)]`, contain no padding that matters for
/// reading, no pointers/references and be valid for every bit pattern.
pub unsafe trait Pod: Copy + 'static {
    fn as_bytes(&self) -> &[u8] {
        // SAFETY: Pod types are plain bytes by the trait's contract.
        unsafe {
            core::slice::from_raw_parts(
                self as *const Self as *const u8,
                core::mem::size_of::<Self>(),
            )
        }
    }
    fn as_bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: Pod types accept every bit pattern by the trait's contract.
        unsafe {
            core::slice::from_raw_parts_mut(
                self as *mut Self as *mut u8,
                core::mem::size_of::<Self>(),
            )
        }
    }
    fn zeroed() -> Self {
        // SAFETY: all-zero is a valid bit pattern for Pod types.
        unsafe { core::mem::zeroed() }
    }
}

macro_rules! pod {
    ($($t:ty),*) => { $(
        // SAFETY: primitive integers accept every bit pattern.
        unsafe impl Pod for $t {}
    )* };
}
pod!(u8, u16, u32, u64, i8, i16, i32, i64, usize, isize);
// SAFETY: arrays of Pod are Pod.
unsafe impl<T: Pod, const N: usize> Pod for [T; N] {}
