//! System V IPC and POSIX message queue structures and constants (x86-64,
//! the `IPC_64` layouts, which are the only ones a 64-bit program uses).

pub const IPC_PRIVATE: i32 = 0;

pub const IPC_CREAT: i32 = 0o1000;
pub const IPC_EXCL: i32 = 0o2000;
pub const IPC_NOWAIT: i32 = 0o4000;

pub const IPC_RMID: i32 = 0;
pub const IPC_SET: i32 = 1;
pub const IPC_STAT: i32 = 2;
pub const IPC_INFO: i32 = 3;

pub const SHM_LOCK: i32 = 11;
pub const SHM_UNLOCK: i32 = 12;
pub const SHM_STAT: i32 = 13;
pub const SHM_INFO: i32 = 14;
pub const SHM_STAT_ANY: i32 = 15;

/// `shmget` flags.
pub const SHM_HUGETLB: i32 = 0o4000;
pub const SHM_NORESERVE: i32 = 0o10000;
/// `shmat` flags.
pub const SHM_RDONLY: i32 = 0o10000;
pub const SHM_RND: i32 = 0o20000;
pub const SHM_REMAP: i32 = 0o40000;
pub const SHM_EXEC: i32 = 0o100000;
/// Status bits shown in `shm_perm.mode`.
pub const SHM_DEST: u32 = 0o1000;
pub const SHM_LOCKED: u32 = 0o2000;

pub const GETPID: i32 = 11;
pub const GETVAL: i32 = 12;
pub const GETALL: i32 = 13;
pub const GETNCNT: i32 = 14;
pub const GETZCNT: i32 = 15;
pub const SETVAL: i32 = 16;
pub const SETALL: i32 = 17;
pub const SEM_STAT: i32 = 18;
pub const SEM_INFO: i32 = 19;
pub const SEM_STAT_ANY: i32 = 20;
pub const SEM_UNDO: i16 = 0x1000;
/// Largest semaphore value.
pub const SEMVMX: i32 = 32767;
/// Largest adjust-on-exit value.
pub const SEMAEM: i32 = SEMVMX;

pub const MSG_STAT: i32 = 11;
pub const MSG_INFO: i32 = 12;
pub const MSG_STAT_ANY: i32 = 13;
pub const MSG_NOERROR: i32 = 0o10000;
pub const MSG_EXCEPT: i32 = 0o20000;
pub const MSG_COPY: i32 = 0o40000;

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct IpcPerm {
    pub key: i32,
    pub uid: u32,
    pub gid: u32,
    pub cuid: u32,
    pub cgid: u32,
    pub mode: u32,
    pub seq: u16,
    pub pad2: u16,
    pub pad3: u32,
    pub unused: [u64; 2],
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct ShmidDs {
    pub perm: IpcPerm,
    pub segsz: u64,
    pub atime: i64,
    pub dtime: i64,
    pub ctime: i64,
    pub cpid: i32,
    pub lpid: i32,
    pub nattch: u64,
    pub unused: [u64; 2],
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct ShmInfo64 {
    pub shmmax: u64,
    pub shmmin: u64,
    pub shmmni: u64,
    pub shmseg: u64,
    pub shmall: u64,
    pub unused: [u64; 4],
}

/// `SHM_INFO`'s answer.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct ShmUsage {
    pub used_ids: i32,
    pub pad: i32,
    pub shm_tot: u64,
    pub shm_rss: u64,
    pub shm_swp: u64,
    pub swap_attempts: u64,
    pub swap_successes: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct SemidDs {
    pub perm: IpcPerm,
    pub otime: i64,
    pub unused1: u64,
    pub ctime: i64,
    pub unused2: u64,
    pub nsems: u64,
    pub unused: [u64; 2],
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct SemInfo {
    pub semmap: i32,
    pub semmni: i32,
    pub semmns: i32,
    pub semmnu: i32,
    pub semmsl: i32,
    pub semopm: i32,
    pub semume: i32,
    pub semusz: i32,
    pub semvmx: i32,
    pub semaem: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct SemBuf {
    pub num: u16,
    pub op: i16,
    pub flg: i16,
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct MsqidDs {
    pub perm: IpcPerm,
    pub stime: i64,
    pub rtime: i64,
    pub ctime: i64,
    pub cbytes: u64,
    pub qnum: u64,
    pub qbytes: u64,
    pub lspid: i32,
    pub lrpid: i32,
    pub unused: [u64; 2],
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct MsgInfo {
    pub msgpool: i32,
    pub msgmap: i32,
    pub msgmax: i32,
    pub msgmnb: i32,
    pub msgmni: i32,
    pub msgssz: i32,
    pub msgtql: i32,
    pub msgseg: u16,
    pub pad: u16,
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct MqAttr {
    pub flags: i64,
    pub maxmsg: i64,
    pub msgsize: i64,
    pub curmsgs: i64,
    pub reserved: [i64; 4],
}

pub const SIGEV_SIGNAL: i32 = 0;
pub const SIGEV_NONE: i32 = 1;
pub const SIGEV_THREAD: i32 = 2;

/// `struct sigevent` as `mq_notify` reads it.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct SigEvent {
    pub value: u64,
    pub signo: i32,
    pub notify: i32,
    pub pad: [i32; 12],
}

// SAFETY: repr(C) of integers, padding explicit.
unsafe impl crate::Pod for IpcPerm {}
// SAFETY: repr(C) of integers, padding explicit.
unsafe impl crate::Pod for ShmidDs {}
// SAFETY: repr(C) of integers, padding explicit.
unsafe impl crate::Pod for ShmInfo64 {}
// SAFETY: repr(C) of integers, padding explicit.
unsafe impl crate::Pod for ShmUsage {}
// SAFETY: repr(C) of integers, padding explicit.
unsafe impl crate::Pod for SemidDs {}
// SAFETY: repr(C) of integers, padding explicit.
unsafe impl crate::Pod for SemInfo {}
// SAFETY: repr(C) of integers, padding explicit.
unsafe impl crate::Pod for SemBuf {}
// SAFETY: repr(C) of integers, padding explicit.
unsafe impl crate::Pod for MsqidDs {}
// SAFETY: repr(C) of integers, padding explicit.
unsafe impl crate::Pod for MsgInfo {}
// SAFETY: repr(C) of integers, padding explicit.
unsafe impl crate::Pod for MqAttr {}
// SAFETY: repr(C) of integers, padding explicit.
unsafe impl crate::Pod for SigEvent {}
