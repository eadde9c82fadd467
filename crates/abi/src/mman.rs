//! Memory-management flags.

pub const PROT_NONE: u32 = 0;
pub const PROT_READ: u32 = 1;
pub const PROT_WRITE: u32 = 2;
pub const PROT_EXEC: u32 = 4;
pub const PROT_GROWSDOWN: u32 = 0x0100_0000;
pub const PROT_GROWSUP: u32 = 0x0200_0000;

pub const MAP_SHARED: u32 = 0x01;
pub const MAP_PRIVATE: u32 = 0x02;
pub const MAP_SHARED_VALIDATE: u32 = 0x03;
pub const MAP_TYPE: u32 = 0x0f;
pub const MAP_FIXED: u32 = 0x10;
pub const MAP_ANONYMOUS: u32 = 0x20;
pub const MAP_32BIT: u32 = 0x40;
pub const MAP_GROWSDOWN: u32 = 0x0100;
pub const MAP_DENYWRITE: u32 = 0x0800;
pub const MAP_EXECUTABLE: u32 = 0x1000;
pub const MAP_LOCKED: u32 = 0x2000;
pub const MAP_NORESERVE: u32 = 0x4000;
pub const MAP_POPULATE: u32 = 0x8000;
pub const MAP_NONBLOCK: u32 = 0x10000;
pub const MAP_STACK: u32 = 0x20000;
pub const MAP_HUGETLB: u32 = 0x40000;
pub const MAP_SYNC: u32 = 0x80000;
pub const MAP_FIXED_NOREPLACE: u32 = 0x100000;

pub const MREMAP_MAYMOVE: u32 = 1;
pub const MREMAP_FIXED: u32 = 2;
pub const MREMAP_DONTUNMAP: u32 = 4;

pub const MADV_NORMAL: i32 = 0;
pub const MADV_RANDOM: i32 = 1;
pub const MADV_SEQUENTIAL: i32 = 2;
pub const MADV_WILLNEED: i32 = 3;
pub const MADV_DONTNEED: i32 = 4;
pub const MADV_FREE: i32 = 8;
pub const MADV_REMOVE: i32 = 9;
pub const MADV_DONTFORK: i32 = 10;
pub const MADV_DOFORK: i32 = 11;
pub const MADV_MERGEABLE: i32 = 12;
pub const MADV_UNMERGEABLE: i32 = 13;
pub const MADV_HUGEPAGE: i32 = 14;
pub const MADV_NOHUGEPAGE: i32 = 15;
pub const MADV_DONTDUMP: i32 = 16;
pub const MADV_DODUMP: i32 = 17;
pub const MADV_WIPEONFORK: i32 = 18;
pub const MADV_KEEPONFORK: i32 = 19;
pub const MADV_COLD: i32 = 20;
pub const MADV_PAGEOUT: i32 = 21;

pub const MS_ASYNC: i32 = 1;
pub const MS_INVALIDATE: i32 = 2;
pub const MS_SYNC: i32 = 4;

// userfaultfd(2): <linux/userfaultfd.h>.
pub const UFFD_API: u64 = 0xAA;
/// `userfaultfd` flag: only faults of user-mode accesses are handled.
pub const UFFD_USER_MODE_ONLY: u32 = 1;
pub const UFFDIO_API: u32 = 0xc018_aa3f;
pub const UFFDIO_REGISTER: u32 = 0xc020_aa00;
pub const UFFDIO_UNREGISTER: u32 = 0x8010_aa01;
pub const UFFDIO_WAKE: u32 = 0x8010_aa02;
pub const UFFDIO_COPY: u32 = 0xc028_aa03;
pub const UFFDIO_ZEROPAGE: u32 = 0xc020_aa04;
/// `/dev/userfaultfd`'s one ioctl: a new userfaultfd.
pub const USERFAULTFD_IOC_NEW: u32 = 0xaa00;
/// Bit numbers of the ioctls in the `ioctls` masks UFFDIO_API and
/// UFFDIO_REGISTER report.
pub const _UFFDIO_REGISTER: u32 = 0x00;
pub const _UFFDIO_UNREGISTER: u32 = 0x01;
pub const _UFFDIO_WAKE: u32 = 0x02;
pub const _UFFDIO_COPY: u32 = 0x03;
pub const _UFFDIO_ZEROPAGE: u32 = 0x04;
pub const _UFFDIO_API: u32 = 0x3f;
pub const UFFDIO_REGISTER_MODE_MISSING: u64 = 1;
pub const UFFDIO_REGISTER_MODE_WP: u64 = 2;
pub const UFFDIO_REGISTER_MODE_MINOR: u64 = 4;
pub const UFFDIO_COPY_MODE_DONTWAKE: u64 = 1;
pub const UFFDIO_COPY_MODE_WP: u64 = 2;
pub const UFFDIO_ZEROPAGE_MODE_DONTWAKE: u64 = 1;
pub const UFFD_EVENT_PAGEFAULT: u8 = 0x12;
pub const UFFD_PAGEFAULT_FLAG_WRITE: u64 = 1;
pub const UFFD_FEATURE_SIGBUS: u64 = 1 << 7;
pub const UFFD_FEATURE_THREAD_ID: u64 = 1 << 8;
pub const UFFD_FEATURE_EXACT_ADDRESS: u64 = 1 << 11;
/// Size of `struct uffd_msg`.
pub const UFFD_MSG_SIZE: usize = 32;
