//! Assorted structures: `utsname`, `rlimit`, `sysinfo`, `iovec`, `rusage`.

#[repr(C)]
#[derive(Clone, Copy)]
pub struct UtsName {
    pub sysname: [u8; 65],
    pub nodename: [u8; 65],
    pub release: [u8; 65],
    pub version: [u8; 65],
    pub machine: [u8; 65],
    pub domainname: [u8; 65],
}
// SAFETY: repr(C) of byte arrays.
unsafe impl crate::Pod for UtsName {}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Rlimit {
    pub cur: u64,
    pub max: u64,
}
// SAFETY: repr(C) of integers.
unsafe impl crate::Pod for Rlimit {}

pub const RLIM_INFINITY: u64 = u64::MAX;
pub const RLIMIT_CPU: u32 = 0;
pub const RLIMIT_FSIZE: u32 = 1;
pub const RLIMIT_DATA: u32 = 2;
pub const RLIMIT_STACK: u32 = 3;
pub const RLIMIT_CORE: u32 = 4;
pub const RLIMIT_RSS: u32 = 5;
pub const RLIMIT_NPROC: u32 = 6;
pub const RLIMIT_NOFILE: u32 = 7;
pub const RLIMIT_MEMLOCK: u32 = 8;
pub const RLIMIT_AS: u32 = 9;
pub const RLIMIT_LOCKS: u32 = 10;
pub const RLIMIT_SIGPENDING: u32 = 11;
pub const RLIMIT_MSGQUEUE: u32 = 12;
pub const RLIMIT_NICE: u32 = 13;
pub const RLIMIT_RTPRIO: u32 = 14;
pub const RLIMIT_RTTIME: u32 = 15;
pub const RLIMIT_NLIMITS: u32 = 16;

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct SysInfo {
    pub uptime: i64,
    pub loads: [u64; 3],
    pub totalram: u64,
    pub freeram: u64,
    pub sharedram: u64,
    pub bufferram: u64,
    pub totalswap: u64,
    pub freeswap: u64,
    pub procs: u16,
    pub pad: u16,
    pub _pad2: u32,
    pub totalhigh: u64,
    pub freehigh: u64,
    pub mem_unit: u32,
    pub _f: [u8; 4],
}
// SAFETY: repr(C) with explicit padding.
unsafe impl crate::Pod for SysInfo {}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct IoVec {
    pub base: u64,
    pub len: u64,
}
// SAFETY: repr(C) of integers.
unsafe impl crate::Pod for IoVec {}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Rusage {
    pub utime: crate::time::Timeval,
    pub stime: crate::time::Timeval,
    pub rest: [i64; 14],
}
// SAFETY: repr(C) of integers.
unsafe impl crate::Pod for Rusage {}

/// Auxiliary-vector keys.
pub mod auxv {
    pub const AT_NULL: u64 = 0;
    pub const AT_PHDR: u64 = 3;
    pub const AT_PHENT: u64 = 4;
    pub const AT_PHNUM: u64 = 5;
    pub const AT_PAGESZ: u64 = 6;
    pub const AT_BASE: u64 = 7;
    pub const AT_FLAGS: u64 = 8;
    pub const AT_ENTRY: u64 = 9;
    pub const AT_UID: u64 = 11;
    pub const AT_EUID: u64 = 12;
    pub const AT_GID: u64 = 13;
    pub const AT_EGID: u64 = 14;
    pub const AT_PLATFORM: u64 = 15;
    pub const AT_HWCAP: u64 = 16;
    pub const AT_CLKTCK: u64 = 17;
    pub const AT_SECURE: u64 = 23;
    pub const AT_RANDOM: u64 = 25;
    pub const AT_HWCAP2: u64 = 26;
    pub const AT_EXECFN: u64 = 31;
    pub const AT_SYSINFO_EHDR: u64 = 33;
    pub const AT_MINSIGSTKSZ: u64 = 51;
}

/// Wait-status encoding, as `wait4` reports it.
pub mod wait {
    pub fn exited(code: i32) -> i32 {
        (code & 0xff) << 8
    }
    pub fn signaled(sig: i32, core: bool) -> i32 {
        (sig & 0x7f) | if core { 0x80 } else { 0 }
    }
    pub fn stopped(sig: i32) -> i32 {
        ((sig & 0xff) << 8) | 0x7f
    }
    pub const CONTINUED: i32 = 0xffff;
    pub const WNOHANG: i32 = 1;
    pub const WUNTRACED: i32 = 2;
    pub const WSTOPPED: i32 = 2;
    pub const WEXITED: i32 = 4;
    pub const WCONTINUED: i32 = 8;
    pub const WNOWAIT: i32 = 0x0100_0000;
    pub const WNOTHREAD: i32 = 0x2000_0000;
    pub const WALL: i32 = 0x4000_0000;
    pub const WCLONE: i32 = 0x8000_0000u32 as i32;
}

/// `struct sched_attr` (`SCHED_ATTR_SIZE_VER1`, 56 bytes).
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct SchedAttr {
    pub size: u32,
    pub policy: u32,
    pub flags: u64,
    pub nice: i32,
    pub priority: u32,
    pub runtime: u64,
    pub deadline: u64,
    pub period: u64,
    pub util_min: u32,
    pub util_max: u32,
}
// SAFETY: repr(C) of integers, no padding.
unsafe impl crate::Pod for SchedAttr {}
