//! Time structures and clock ids.

#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Timespec {
    pub sec: i64,
    pub nsec: i64,
}
// SAFETY: repr(C) of integers.
unsafe impl crate::Pod for Timespec {}

impl Timespec {
    pub fn from_nanos(ns: i64) -> Timespec {
        Timespec {
            sec: ns.div_euclid(1_000_000_000),
            nsec: ns.rem_euclid(1_000_000_000),
        }
    }
    /// Total nanoseconds, or `None` for an invalid `nsec` field.
    pub fn to_nanos(self) -> Option<i64> {
        if !(0..1_000_000_000).contains(&self.nsec) || self.sec < 0 {
            return None;
        }
        Some(
            self.sec
                .saturating_mul(1_000_000_000)
                .saturating_add(self.nsec),
        )
    }
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Timeval {
    pub sec: i64,
    pub usec: i64,
}
// SAFETY: repr(C) of integers.
unsafe impl crate::Pod for Timeval {}

pub const CLOCK_REALTIME: i32 = 0;
pub const CLOCK_MONOTONIC: i32 = 1;
pub const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
pub const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
pub const CLOCK_MONOTONIC_RAW: i32 = 4;
pub const CLOCK_REALTIME_COARSE: i32 = 5;
pub const CLOCK_MONOTONIC_COARSE: i32 = 6;
pub const CLOCK_BOOTTIME: i32 = 7;
pub const CLOCK_REALTIME_ALARM: i32 = 8;
pub const CLOCK_BOOTTIME_ALARM: i32 = 9;
pub const CLOCK_TAI: i32 = 11;

pub const TIMER_ABSTIME: i32 = 1;
