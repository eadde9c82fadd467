//! `fanotify_init`, `fanotify_mark` and reads of a fanotify group (which
//! install a descriptor per event); the groups, marks and hooks are
//! [`vfs::fanotify`]'s. Notification class only: permission events,
//! ignore masks and FID/name/pidfd reporting are `EINVAL`.

use std::sync::Arc;

use abi::fs::*;
use abi::{Errno, SysResult};
use kernel::Task;
use vfs::fanotify::{self as fan, Group, Target};
use waiter::events;

use crate::util::{self, lookup, path};

const FAN_CLOEXEC: u32 = 0x1;
const FAN_NONBLOCK: u32 = 0x2;
const FAN_CLASS_BITS: u32 = 0xc;
const FAN_UNLIMITED_QUEUE: u32 = 0x10;
const FAN_UNLIMITED_MARKS: u32 = 0x20;
const FAN_ENABLE_AUDIT: u32 = 0x40;
const FAN_REPORT_PIDFD: u32 = 0x80;
const FAN_REPORT_TID: u32 = 0x100;
const FAN_REPORT_FID: u32 = 0x200;
const FAN_REPORT_DIR_FID: u32 = 0x400;
const FAN_REPORT_NAME: u32 = 0x800;
const FAN_REPORT_TARGET_FID: u32 = 0x1000;
const INIT_FLAGS: u32 = 0x1fff;
const FID_BITS: u32 = FAN_REPORT_FID | FAN_REPORT_DIR_FID | FAN_REPORT_NAME | FAN_REPORT_TARGET_FID;
/// `O_SYNC` without `O_DSYNC` (Linux's `__O_SYNC`).
const O_SYNC_ONLY: u32 = 0o4000000;
const EVENT_F_BITS: u32 =
    O_ACCMODE | O_APPEND | O_NONBLOCK | O_SYNC_ONLY | O_DSYNC | O_CLOEXEC | O_LARGEFILE | O_NOATIME;

/// Groups one sandbox may hold (`max_user_groups`).
const MAX_GROUPS: usize = 128;

/// `fanotify_init(flags, event_f_flags)`, with Linux's checks in its
/// order; `CAP_SYS_ADMIN` needed.
pub fn fanotify_init(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (flags, f_flags) = (a[0] as u32, a[1] as u32);
    if !t.capable(kernel::task::CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    if flags & !INIT_FLAGS != 0 || flags & FAN_CLASS_BITS == FAN_CLASS_BITS {
        return Err(Errno::EINVAL);
    }
    if f_flags & !EVENT_F_BITS != 0 || f_flags & O_ACCMODE == O_ACCMODE {
        return Err(Errno::EINVAL);
    }
    let fid = flags & FID_BITS;
    if (fid != 0 && flags & FAN_CLASS_BITS != 0)
        || (flags & FAN_REPORT_PIDFD != 0 && flags & FAN_REPORT_TID != 0)
        || (flags & FAN_REPORT_NAME != 0 && flags & FAN_REPORT_DIR_FID == 0)
    {
        return Err(Errno::EINVAL);
    }
    // Not built: identifiers instead of descriptors, pidfds, thread ids.
    if fid != 0 || flags & (FAN_REPORT_PIDFD | FAN_REPORT_TID) != 0 {
        return Err(Errno::EINVAL);
    }
    let _ = (FAN_UNLIMITED_MARKS, FAN_ENABLE_AUDIT);
    if fan::live_groups() >= MAX_GROUPS {
        return Err(Errno::EMFILE);
    }
    let status = if flags & FAN_NONBLOCK != 0 {
        O_NONBLOCK
    } else {
        0
    };
    let f = fan::new_file(status, f_flags, flags & FAN_UNLIMITED_QUEUE != 0);
    let lim = t.rlimit(abi::misc::RLIMIT_NOFILE).cur;
    t.fds()
        .install(f, flags & FAN_CLOEXEC != 0, 0, lim)
        .map(|fd| fd as u64)
}

const FAN_MARK_ADD: u32 = 0x1;
const FAN_MARK_REMOVE: u32 = 0x2;
const FAN_MARK_DONT_FOLLOW: u32 = 0x4;
const FAN_MARK_ONLYDIR: u32 = 0x8;
const FAN_MARK_MOUNT: u32 = 0x10;
const FAN_MARK_IGNORED_MASK: u32 = 0x20;
const FAN_MARK_FLUSH: u32 = 0x80;
const FAN_MARK_FILESYSTEM: u32 = 0x100;
const FAN_MARK_EVICTABLE: u32 = 0x200;
const FAN_MARK_IGNORE: u32 = 0x400;
const MARK_FLAGS: u32 = 0x7ff;
const MARK_TYPES: u32 = FAN_MARK_MOUNT | FAN_MARK_FILESYSTEM;

const FAN_OPEN_EXEC: u64 = 0x1000;
/// Events that need FID reporting (directory entries, attributes,
/// self moves and deletes, renames).
const INODE_EVENTS: u64 = 0x4 | 0x40 | 0x80 | 0x100 | 0x200 | 0x400 | 0x800 | 0x1000_0000;
const FAN_FS_ERROR: u64 = 0x8000;
const PERM_EVENTS: u64 = 0x10000 | 0x20000 | 0x40000;
const EVENT_FLAGS: u64 = fan::FAN_ONDIR | fan::FAN_EVENT_ON_CHILD;
const FD_EVENTS: u64 = fan::FAN_PATH_EVENTS | FAN_OPEN_EXEC | PERM_EVENTS;
const VALID_MASK: u64 =
    fan::FAN_PATH_EVENTS | FAN_OPEN_EXEC | INODE_EVENTS | FAN_FS_ERROR | EVENT_FLAGS | PERM_EVENTS;

/// `fanotify_mark(fd, flags, mask, dirfd, pathname)`, with Linux's checks
/// in its order.
pub fn fanotify_mark(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (flags, mask) = (a[1] as u32, a[2]);
    if flags & !MARK_FLAGS != 0 || flags & MARK_TYPES == MARK_TYPES {
        return Err(Errno::EINVAL);
    }
    let ignore = flags & (FAN_MARK_IGNORED_MASK | FAN_MARK_IGNORE) != 0;
    match flags & (FAN_MARK_ADD | FAN_MARK_REMOVE | FAN_MARK_FLUSH) {
        FAN_MARK_ADD | FAN_MARK_REMOVE if mask == 0 => return Err(Errno::EINVAL),
        FAN_MARK_ADD | FAN_MARK_REMOVE => {}
        FAN_MARK_FLUSH if flags & !(MARK_TYPES | FAN_MARK_FLUSH) != 0 => return Err(Errno::EINVAL),
        FAN_MARK_FLUSH => {}
        _ => return Err(Errno::EINVAL),
    }
    if mask & !VALID_MASK != 0 || (ignore && mask & EVENT_FLAGS != 0) {
        return Err(Errno::EINVAL);
    }
    let g = group(t, a[0])?;
    let mark_type = flags & MARK_TYPES;
    // No permission events (a notification group takes none anyway), no
    // FID reporting, so only descriptor events; no ignore masks.
    if mask & PERM_EVENTS != 0
        || (mask & FAN_FS_ERROR != 0 && mark_type != FAN_MARK_FILESYSTEM)
        || (flags & FAN_MARK_EVICTABLE != 0 && mark_type != 0)
        || mask & !(FD_EVENTS | EVENT_FLAGS) != 0
        || ignore
    {
        return Err(Errno::EINVAL);
    }
    if flags & FAN_MARK_FLUSH != 0 {
        g.flush(mark_type == 0, mark_type == FAN_MARK_MOUNT);
        return Ok(0);
    }
    let d = if a[4] == 0 {
        util::file(t, a[3])?.dentry.clone().ok_or(Errno::EBADF)?
    } else {
        let p = path(t, a[4])?;
        lookup(t, a[3], &p, flags & FAN_MARK_DONT_FOLLOW == 0, false)?
    };
    if flags & FAN_MARK_ONLYDIR != 0 && !d.inode.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    if !vfs::inode::may_access(&d.inode.meta(), &t.vfs_creds(), R_OK) {
        return Err(Errno::EACCES);
    }
    let target = if mark_type == 0 {
        Target::Inode(Arc::downgrade(&d.inode))
    } else {
        Target::Dev(d.inode.dev)
    };
    let mount = mark_type == FAN_MARK_MOUNT;
    if flags & FAN_MARK_ADD != 0 {
        g.add_mark(target, mount, mask)
    } else {
        g.remove_mark(target, mount, mask)
    }
    .map(|_| 0)
}

/// The group behind `fd`: `EBADF`, or `EINVAL` for other files.
fn group(t: &Task, fd: u64) -> SysResult<Arc<Group>> {
    fan::group_of(&*util::file(t, fd)?).ok_or(Errno::EINVAL)
}

/// A read of a fanotify group: one record per event that fits, each with
/// a new descriptor for its object (opened with the group's
/// `event_f_flags`, raising no events itself) and the process's pid as
/// the reader's namespace numbers it. `EINVAL` for a buffer too small
/// for one record; waits (interruptibly) for an event unless non-blocking.
pub fn read(t: &mut Task, f: &vfs::File, g: &Arc<Group>, buf: u64, len: usize) -> SysResult<u64> {
    if len < fan::METADATA_LEN {
        return Err(Errno::EINVAL);
    }
    let mut evs = g.take(len);
    if evs.is_empty() {
        if f.flags() & O_NONBLOCK != 0 {
            return Err(Errno::EAGAIN);
        }
        evs = t.block_on(Some(g.queue()), events::IN, None, |_| {
            let evs = g.take(len);
            if evs.is_empty() {
                return Err(Errno::EAGAIN);
            }
            Ok(evs)
        })?;
    }
    let mut out = Vec::with_capacity(evs.len() * fan::METADATA_LEN);
    let creds = t.vfs_creds();
    let lim = t.rlimit(abi::misc::RLIMIT_NOFILE).cur;
    for e in evs {
        let fd = match &e.dentry {
            None => fan::NO_FD,
            Some(d) => {
                let flags = g.event_f_flags & !O_CLOEXEC;
                let opened = t
                    .kernel
                    .vfs
                    .open_dentry_quiet(d, flags | O_LARGEFILE, &creds);
                let file = match opened {
                    Ok(file) => file,
                    Err(err) if out.is_empty() => return Err(err),
                    Err(_) => break,
                };
                file.set_nonotify();
                let cloexec = g.event_f_flags & O_CLOEXEC != 0;
                t.fds().install(file, cloexec, 0, lim)?
            }
        };
        out.extend_from_slice(&fan::metadata(e.mask, fd, t.vpid(e.pid)));
    }
    t.mm().copy_out(buf, &out)?;
    Ok(out.len() as u64)
}
