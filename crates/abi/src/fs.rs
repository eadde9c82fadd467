//! File-system ABI: open flags, `stat`, `statx`, `statfs`, directory
//! entries, `fcntl` and `ioctl` numbers.

pub const O_ACCMODE: u32 = 0o3;
pub const O_RDONLY: u32 = 0o0;
pub const O_WRONLY: u32 = 0o1;
pub const O_RDWR: u32 = 0o2;
pub const O_CREAT: u32 = 0o100;
pub const O_EXCL: u32 = 0o200;
pub const O_NOCTTY: u32 = 0o400;
pub const O_TRUNC: u32 = 0o1000;
pub const O_APPEND: u32 = 0o2000;
pub const O_NONBLOCK: u32 = 0o4000;
pub const O_DSYNC: u32 = 0o10000;
pub const O_ASYNC: u32 = 0o20000;
pub const O_DIRECT: u32 = 0o40000;
pub const O_LARGEFILE: u32 = 0o100000;
pub const O_DIRECTORY: u32 = 0o200000;
pub const O_NOFOLLOW: u32 = 0o400000;
pub const O_NOATIME: u32 = 0o1000000;
pub const O_CLOEXEC: u32 = 0o2000000;
pub const O_SYNC: u32 = 0o4010000;
pub const O_PATH: u32 = 0o10000000;
pub const O_TMPFILE: u32 = 0o20200000;

/// Flags that `F_SETFL` may change.
pub const SETFL_MASK: u32 = O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME;

pub const AT_FDCWD: i32 = -100;
pub const AT_SYMLINK_NOFOLLOW: u32 = 0x100;
pub const AT_REMOVEDIR: u32 = 0x200;
pub const AT_EACCESS: u32 = 0x200;
pub const AT_SYMLINK_FOLLOW: u32 = 0x400;
pub const AT_NO_AUTOMOUNT: u32 = 0x800;
pub const AT_EMPTY_PATH: u32 = 0x1000;
pub const AT_STATX_SYNC_TYPE: u32 = 0x6000;

pub const S_IFMT: u32 = 0o170000;
pub const S_IFSOCK: u32 = 0o140000;
pub const S_IFLNK: u32 = 0o120000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFBLK: u32 = 0o060000;
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFCHR: u32 = 0o020000;
pub const S_IFIFO: u32 = 0o010000;
pub const S_ISUID: u32 = 0o4000;
pub const S_ISGID: u32 = 0o2000;
pub const S_ISVTX: u32 = 0o1000;

pub const DT_UNKNOWN: u8 = 0;
pub const DT_FIFO: u8 = 1;
pub const DT_CHR: u8 = 2;
pub const DT_DIR: u8 = 4;
pub const DT_BLK: u8 = 6;
pub const DT_REG: u8 = 8;
pub const DT_LNK: u8 = 10;
pub const DT_SOCK: u8 = 12;

/// The `d_type` for a mode's file type.
pub fn dtype_of(mode: u32) -> u8 {
    ((mode & S_IFMT) >> 12) as u8
}

pub const SEEK_SET: i32 = 0;
pub const SEEK_CUR: i32 = 1;
pub const SEEK_END: i32 = 2;
pub const SEEK_DATA: i32 = 3;
pub const SEEK_HOLE: i32 = 4;

pub const F_DUPFD: i32 = 0;
pub const F_GETFD: i32 = 1;
pub const F_SETFD: i32 = 2;
pub const F_GETFL: i32 = 3;
pub const F_SETFL: i32 = 4;
pub const F_GETLK: i32 = 5;
pub const F_SETLK: i32 = 6;
pub const F_SETLKW: i32 = 7;
pub const F_SETOWN: i32 = 8;
pub const F_GETOWN: i32 = 9;
pub const F_SETSIG: i32 = 10;
pub const F_GETSIG: i32 = 11;
pub const F_SETOWN_EX: i32 = 15;
pub const F_GETOWN_EX: i32 = 16;
pub const F_NOTIFY: i32 = 1026;
pub const F_OFD_GETLK: i32 = 36;
pub const F_OFD_SETLK: i32 = 37;
pub const F_OFD_SETLKW: i32 = 38;
pub const F_DUPFD_CLOEXEC: i32 = 1030;
pub const F_SETPIPE_SZ: i32 = 1031;
pub const F_GETPIPE_SZ: i32 = 1032;
pub const F_ADD_SEALS: i32 = 1033;
pub const F_GET_SEALS: i32 = 1034;
pub const FD_CLOEXEC: u32 = 1;

pub const R_OK: u32 = 4;
pub const W_OK: u32 = 2;
pub const X_OK: u32 = 1;
pub const F_OK: u32 = 0;

pub const RENAME_NOREPLACE: u32 = 1;
pub const RENAME_EXCHANGE: u32 = 2;
pub const RENAME_WHITEOUT: u32 = 4;

pub const UTIME_NOW: i64 = (1 << 30) - 1;
pub const UTIME_OMIT: i64 = (1 << 30) - 2;

pub const PATH_MAX: usize = 4096;
pub const NAME_MAX: usize = 255;

/// `struct stat` for x86-64.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Stat {
    pub dev: u64,
    pub ino: u64,
    pub nlink: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub _pad0: u32,
    pub rdev: u64,
    pub size: i64,
    pub blksize: i64,
    pub blocks: i64,
    pub atime: crate::time::Timespec,
    pub mtime: crate::time::Timespec,
    pub ctime: crate::time::Timespec,
    pub _unused: [i64; 3],
}
// SAFETY: repr(C) with explicit padding.
unsafe impl crate::Pod for Stat {}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct StatxTimestamp {
    pub sec: i64,
    pub nsec: u32,
    pub _pad: i32,
}

/// `struct statx`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Statx {
    pub mask: u32,
    pub blksize: u32,
    pub attributes: u64,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    pub mode: u16,
    pub _pad1: u16,
    pub ino: u64,
    pub size: u64,
    pub blocks: u64,
    pub attributes_mask: u64,
    pub atime: StatxTimestamp,
    pub btime: StatxTimestamp,
    pub ctime: StatxTimestamp,
    pub mtime: StatxTimestamp,
    pub rdev_major: u32,
    pub rdev_minor: u32,
    pub dev_major: u32,
    pub dev_minor: u32,
    pub mnt_id: u64,
    pub dio_mem_align: u32,
    pub dio_offset_align: u32,
    pub _spare: [u64; 12],
}
// SAFETY: repr(C) with explicit padding.
unsafe impl crate::Pod for Statx {}

pub const STATX_TYPE: u32 = 0x1;
pub const STATX_MODE: u32 = 0x2;
pub const STATX_NLINK: u32 = 0x4;
pub const STATX_UID: u32 = 0x8;
pub const STATX_GID: u32 = 0x10;
pub const STATX_ATIME: u32 = 0x20;
pub const STATX_MTIME: u32 = 0x40;
pub const STATX_CTIME: u32 = 0x80;
pub const STATX_INO: u32 = 0x100;
pub const STATX_SIZE: u32 = 0x200;
pub const STATX_BLOCKS: u32 = 0x400;
pub const STATX_BASIC_STATS: u32 = 0x7ff;
pub const STATX_BTIME: u32 = 0x800;
pub const STATX_MNT_ID: u32 = 0x1000;
pub const STATX__RESERVED: u32 = 0x8000_0000;

/// `struct statfs`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct StatFs {
    pub type_: i64,
    pub bsize: i64,
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub files: u64,
    pub ffree: u64,
    pub fsid: [i32; 2],
    pub namelen: i64,
    pub frsize: i64,
    pub flags: i64,
    pub spare: [i64; 4],
}
// SAFETY: repr(C) of integers.
unsafe impl crate::Pod for StatFs {}

pub const TMPFS_MAGIC: i64 = 0x0102_1994;
pub const PROC_SUPER_MAGIC: i64 = 0x9fa0;
pub const OVERLAYFS_SUPER_MAGIC: i64 = 0x794c_7630;
pub const SYSFS_MAGIC: i64 = 0x6265_6572;
pub const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
pub const DEVPTS_SUPER_MAGIC: i64 = 0x1cd1;
pub const PIPEFS_MAGIC: i64 = 0x5049_5045;
pub const SOCKFS_MAGIC: i64 = 0x534F_434B;
pub const RAMFS_MAGIC: i64 = 0x8584_58f6;
pub const MQUEUE_MAGIC: i64 = 0x1980_0202;

/// Header of a `struct linux_dirent64` record; the name follows.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Dirent64Header {
    pub ino: u64,
    pub off: i64,
    pub reclen: u16,
    pub type_: u8,
}

// ioctl requests.
pub const TCGETS: u32 = 0x5401;
pub const TCSETS: u32 = 0x5402;
pub const TCSETSW: u32 = 0x5403;
pub const TCSETSF: u32 = 0x5404;
pub const TCGETA: u32 = 0x5405;
pub const TCSETA: u32 = 0x5406;
pub const TCSETAW: u32 = 0x5407;
pub const TCSETAF: u32 = 0x5408;
pub const TIOCSCTTY: u32 = 0x540e;
pub const TIOCGPGRP: u32 = 0x540f;
pub const TIOCSPGRP: u32 = 0x5410;
pub const TIOCOUTQ: u32 = 0x5411;
pub const TIOCGWINSZ: u32 = 0x5413;
pub const TIOCSWINSZ: u32 = 0x5414;
pub const FIONREAD: u32 = 0x541b;
pub const TIOCNOTTY: u32 = 0x5422;
pub const TIOCGSID: u32 = 0x5429;
pub const TIOCGPTN: u32 = 0x8004_5430;
pub const TIOCSPTLCK: u32 = 0x4004_5431;
pub const FIONCLEX: u32 = 0x5450;
pub const FIOCLEX: u32 = 0x5451;
pub const FIOASYNC: u32 = 0x5452;
pub const FIONBIO: u32 = 0x5421;
pub const TCGETS2: u32 = 0x802c_542a;
pub const TCSBRK: u32 = 0x5409;
pub const TCXONC: u32 = 0x540a;
pub const TCFLSH: u32 = 0x540b;
pub const TIOCEXCL: u32 = 0x540c;
pub const TIOCNXCL: u32 = 0x540d;
pub const TIOCSTI: u32 = 0x5412;
pub const TIOCGETD: u32 = 0x5424;
pub const TIOCSETD: u32 = 0x5423;
pub const TCSBRKP: u32 = 0x5425;
pub const TIOCSIG: u32 = 0x4004_5436;
pub const TIOCGPTLCK: u32 = 0x8004_5439;
pub const TIOCGEXCL: u32 = 0x8004_5440;
pub const TIOCGPTPEER: u32 = 0x5441;
pub const TIOCINQ: u32 = FIONREAD;
pub const TIOCGLCKTRMIOS: u32 = 0x5456;
pub const TIOCSLCKTRMIOS: u32 = 0x5457;
pub const TIOCPKT: u32 = 0x5420;
pub const TIOCGPKT: u32 = 0x8004_5438;
/// Packet-mode status bits (the first byte of a master read).
pub const TIOCPKT_DATA: u8 = 0;
pub const TIOCPKT_FLUSHREAD: u8 = 1;
pub const TIOCPKT_FLUSHWRITE: u8 = 2;
pub const TIOCPKT_STOP: u8 = 4;
pub const TIOCPKT_START: u8 = 8;
pub const TIOCPKT_NOSTOP: u8 = 16;
pub const TIOCPKT_DOSTOP: u8 = 32;

pub const FS_IOC_FIEMAP: u32 = 0xc020_660b;
pub const FIEMAP_FLAG_SYNC: u32 = 1;
pub const FIEMAP_EXTENT_LAST: u32 = 1;
pub const FIEMAP_EXTENT_UNKNOWN: u32 = 2;

/// `struct fiemap`, the header of an `FS_IOC_FIEMAP` request; the
/// extents follow it.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Fiemap {
    pub start: u64,
    pub length: u64,
    pub flags: u32,
    pub mapped_extents: u32,
    pub extent_count: u32,
    pub reserved: u32,
}
// SAFETY: repr(C) of integers; 32 bytes, no padding.
unsafe impl crate::Pod for Fiemap {}

/// `struct fiemap_extent`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct FiemapExtent {
    pub logical: u64,
    pub physical: u64,
    pub length: u64,
    pub reserved64: [u64; 2],
    pub flags: u32,
    pub reserved: [u32; 3],
}
// SAFETY: repr(C) of integers; 56 bytes, no padding.
unsafe impl crate::Pod for FiemapExtent {}

/// `struct termios` (kernel layout, 36 bytes used by TCGETS).
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Termios {
    pub iflag: u32,
    pub oflag: u32,
    pub cflag: u32,
    pub lflag: u32,
    pub line: u8,
    pub cc: [u8; 19],
}
// SAFETY: repr(C) of integers and bytes; 36 bytes, no padding.
unsafe impl crate::Pod for Termios {}

/// The legacy `struct termio` (TCGETA/TCSETA*): the low 16 bits of each
/// mode word and the first 8 control characters; 17 bytes padded to 18.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Termio {
    pub iflag: u16,
    pub oflag: u16,
    pub cflag: u16,
    pub lflag: u16,
    pub line: u8,
    pub cc: [u8; 8],
    pub pad: u8,
}
// SAFETY: repr(C) of integers and bytes; 18 bytes, the padding is a field.
unsafe impl crate::Pod for Termio {}

impl Termio {
    /// As Linux's `kernel_termios_to_user_termio`: the words truncated.
    pub fn from_termios(t: &Termios) -> Termio {
        let mut cc = [0; 8];
        cc.copy_from_slice(&t.cc[..8]);
        Termio {
            iflag: t.iflag as u16,
            oflag: t.oflag as u16,
            cflag: t.cflag as u16,
            lflag: t.lflag as u16,
            line: t.line,
            cc,
            pad: 0,
        }
    }

    /// As Linux's `user_termio_to_kernel_termios`: the low halves and the
    /// first 8 control characters replace those of `t`, the rest stays.
    pub fn apply_to(&self, t: &mut Termios) {
        let merge = |old: u32, new: u16| (old & 0xffff_0000) | new as u32;
        t.iflag = merge(t.iflag, self.iflag);
        t.oflag = merge(t.oflag, self.oflag);
        t.cflag = merge(t.cflag, self.cflag);
        t.lflag = merge(t.lflag, self.lflag);
        t.line = self.line;
        t.cc[..8].copy_from_slice(&self.cc);
    }
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct WinSize {
    pub row: u16,
    pub col: u16,
    pub xpixel: u16,
    pub ypixel: u16,
}
// SAFETY: repr(C) of integers.
unsafe impl crate::Pod for WinSize {}
