//! `inotify_init`, `inotify_init1`, `inotify_add_watch`,
//! `inotify_rm_watch`: the instances and watches are [`vfs::inotify`]'s.

use abi::fs::{AT_FDCWD, O_CLOEXEC, O_NONBLOCK, R_OK};
use abi::{Errno, SysResult};
use kernel::Task;
use vfs::inotify::{self as ino, Group};

use crate::util::{self, lookup, path};

pub fn inotify_init1(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let flags = a[0] as i32 as u32;
    if flags & !(O_CLOEXEC | O_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let f = ino::new_file(flags)?;
    let lim = t.rlimit(abi::misc::RLIMIT_NOFILE).cur;
    t.fds()
        .install(f, flags & O_CLOEXEC != 0, 0, lim)
        .map(|fd| fd as u64)
}

pub fn inotify_init(t: &mut Task, _a: [u64; 6]) -> SysResult<u64> {
    inotify_init1(t, [0; 6])
}

/// The instance behind `fd`: `EBADF`, or `EINVAL` for other files.
fn group(t: &Task, fd: u64) -> SysResult<std::sync::Arc<Group>> {
    ino::group_of(&*util::file(t, fd)?).ok_or(Errno::EINVAL)
}

pub fn inotify_add_watch(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let mask = a[2] as u32;
    // Linux checks the mask before the descriptor.
    if (mask & ino::IN_MASK_ADD != 0 && mask & ino::IN_MASK_CREATE != 0)
        || mask & ino::ALL_INOTIFY_BITS == 0
    {
        return Err(Errno::EINVAL);
    }
    let g = group(t, a[0])?;
    let p = path(t, a[1])?;
    let d = lookup(
        t,
        AT_FDCWD as u64,
        &p,
        mask & ino::IN_DONT_FOLLOW == 0,
        false,
    )?;
    if mask & ino::IN_ONLYDIR != 0 && !d.inode.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    // Watching needs read permission on the object.
    if !vfs::inode::may_access(&d.inode.meta(), &t.vfs_creds(), R_OK) {
        return Err(Errno::EACCES);
    }
    g.add_watch(&d.inode, mask).map(|wd| wd as u64)
}

pub fn inotify_rm_watch(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    group(t, a[0])?.rm_watch(a[1] as i32).map(|_| 0)
}
