//! Path-based filesystem syscalls.

use std::sync::Arc;

use abi::fs::*;
use abi::time::{Timespec, Timeval};
use abi::{Errno, SysResult};
use kernel::Task;
use vfs::inode::{now, DEV_DEVFS, DEV_PROC};
use vfs::{Dentry, File};

use crate::util::{self, at, file, lookup, path};

pub fn openat(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    open_at(t, a[0], a[1], a[2] as u32, a[3] as u32, 0)
}

/// `openat2(dirfd, path, how, size)`: `struct open_how` checked as Linux does
/// (`EINVAL` below its first size or for unknown bits, `E2BIG` above a page
/// or for non-zero bytes past what we know), then the walk under the
/// `RESOLVE_*` restrictions.
pub fn openat2(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    const VER0: u64 = 24;
    const VALID_OPEN_FLAGS: u64 = 0o37777703;
    const O_PATH_FLAGS: u64 = (O_DIRECTORY | O_NOFOLLOW | O_PATH | O_CLOEXEC) as u64;
    let size = a[3];
    if size < VER0 {
        return Err(Errno::EINVAL);
    }
    if size > abi::PAGE_SIZE {
        return Err(Errno::E2BIG);
    }
    let how: [u64; 3] = util::read_obj(t, a[2])?;
    if size > VER0 {
        let mut rest = vec![0u8; (size - VER0) as usize];
        t.mm().copy_in(a[2] + VER0, &mut rest)?;
        if rest.iter().any(|&b| b != 0) {
            return Err(Errno::E2BIG);
        }
    }
    let [flags, mode, resolve] = how;
    if flags & !VALID_OPEN_FLAGS != 0 {
        return Err(Errno::EINVAL);
    }
    let all = vfs::RESOLVE_NO_XDEV
        | vfs::RESOLVE_NO_MAGICLINKS
        | vfs::RESOLVE_NO_SYMLINKS
        | vfs::RESOLVE_BENEATH
        | vfs::RESOLVE_IN_ROOT
        | vfs::RESOLVE_CACHED;
    if resolve & !all != 0
        || (resolve & vfs::RESOLVE_BENEATH != 0 && resolve & vfs::RESOLVE_IN_ROOT != 0)
    {
        return Err(Errno::EINVAL);
    }
    let flags32 = flags as u32;
    let creates = flags32 & O_CREAT != 0 || flags32 & O_TMPFILE == O_TMPFILE;
    if (creates && mode & !0o7777 != 0) || (!creates && mode != 0) {
        return Err(Errno::EINVAL);
    }
    if flags32 & O_DIRECTORY != 0 && flags32 & O_CREAT != 0 {
        return Err(Errno::EINVAL);
    }
    if flags32 & O_PATH != 0 && flags & !O_PATH_FLAGS != 0 {
        return Err(Errno::EINVAL);
    }
    // Every lookup here is "cached" (the tree is in memory), except what
    // Linux never does without blocking.
    if resolve & vfs::RESOLVE_CACHED != 0 && flags32 & (O_TRUNC | O_CREAT | O_TMPFILE) != 0 {
        return Err(Errno::EAGAIN);
    }
    open_at(t, a[0], a[1], flags32, mode as u32, resolve)
}

fn open_at(
    t: &mut Task,
    dirfd: u64,
    path_ptr: u64,
    flags: u32,
    mode: u32,
    resolve: u64,
) -> SysResult<u64> {
    let p = path(t, path_ptr)?;
    let (root, base) = at(t, dirfd, &p)?;
    let umask = t.fs().umask;
    let creds = t.vfs_creds();
    if flags & O_TMPFILE == O_TMPFILE {
        let acc = flags & O_ACCMODE;
        return Err(if acc == O_RDONLY {
            Errno::EINVAL
        } else {
            Errno::EOPNOTSUPP
        });
    }
    // The scope is the directory `dirfd` names even for an absolute path
    // (which `at` starts from the root).
    let scope = if resolve != 0 {
        let dir = if dirfd as i32 == AT_FDCWD {
            t.fs().cwd.clone()
        } else {
            file(t, dirfd)?.dentry.clone().ok_or(Errno::ENOTDIR)?
        };
        Some(vfs::Scope {
            flags: resolve,
            dir,
        })
    } else {
        None
    };
    // An O_PATH descriptor keeps only the flags that shape the walk (Linux's
    // `build_open_flags`): no O_LARGEFILE, no O_TRUNC, no access mode.
    let flags = if flags & O_PATH != 0 {
        flags & (O_DIRECTORY | O_NOFOLLOW | O_PATH | O_CLOEXEC)
    } else {
        flags | O_LARGEFILE
    };
    let f = t.kernel.vfs.open_in(
        &root,
        &base,
        &p,
        flags,
        mode & !umask & 0o7777,
        scope.as_ref(),
        &creds,
    )?;
    if flags & O_TRUNC != 0 {
        if let Some(d) = &f.dentry {
            crate::memfd::shrunk(t, &d.inode, 0);
        }
    }
    fifo_wait(t, &f)?;
    let lim = t.rlimit(abi::misc::RLIMIT_NOFILE).cur;
    t.fds()
        .install(f, flags & O_CLOEXEC != 0, 0, lim)
        .map(|fd| fd as u64)
}

/// Opening a FIFO read-only waits for a writer, write-only for a reader
/// (Linux's `fifo_open`); a signal interrupts the wait (`ERESTARTSYS`), and
/// the end opened so far is closed again on any failure.
fn fifo_wait(t: &mut Task, f: &Arc<File>) -> SysResult<()> {
    let Some(end) = f
        .ops
        .as_any()
        .and_then(|a| a.downcast_ref::<vfs::pipe::PipeEnd>())
    else {
        return Ok(());
    };
    let pipe = end.pipe().clone();
    t.block_on(Some(&pipe.queue), waiter::events::ALL, None, |_| {
        end.fifo_ready()
    })
}

pub fn open(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    openat(t, [AT_FDCWD as u64, a[0], a[1], a[2], 0, 0])
}

pub fn creat(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    openat(
        t,
        [
            AT_FDCWD as u64,
            a[0],
            (O_CREAT | O_WRONLY | O_TRUNC) as u64,
            a[1],
            0,
            0,
        ],
    )
}

/// A file's owner as the caller's user namespace shows it (65534 for an
/// unmapped id).
fn owner_seen(t: &Task, mut st: Stat) -> Stat {
    let user = kernel::task::lock(&t.shared.ns).user.clone();
    if !user.is_initial() {
        st.uid = user.uid_of(st.uid);
        st.gid = user.gid_of(st.gid);
    }
    st
}

fn stat_of(t: &Task, dirfd: u64, p: &[u8], flags: u32) -> SysResult<Stat> {
    stat_and_dentry(t, dirfd, p, flags).map(|(st, _)| st)
}

/// [`stat_of`] and the dentry it is of (none for a file without one,
/// such as a pipe).
fn stat_and_dentry(
    t: &Task,
    dirfd: u64,
    p: &[u8],
    flags: u32,
) -> SysResult<(Stat, Option<Arc<vfs::Dentry>>)> {
    let (st, d) = if p.is_empty() && flags & AT_EMPTY_PATH != 0 {
        if dirfd as i32 == AT_FDCWD {
            let cwd = t.fs().cwd.clone();
            (cwd.inode.stat(), Some(cwd))
        } else {
            let f = file(t, dirfd)?;
            (f.stat()?, f.dentry.clone())
        }
    } else {
        let d = lookup(t, dirfd, p, flags & AT_SYMLINK_NOFOLLOW == 0, false)?;
        (d.inode.stat(), Some(d))
    };
    Ok((owner_seen(t, st), d))
}

pub fn newfstatat(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let flags = a[3] as u32;
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT) != 0 {
        return Err(Errno::EINVAL);
    }
    let p = path(t, a[1])?;
    let st = stat_of(t, a[0], &p, flags)?;
    util::write_obj(t, a[2], &st).map(|_| 0)
}

pub fn stat(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    newfstatat(t, [AT_FDCWD as u64, a[0], a[1], 0, 0, 0])
}

pub fn lstat(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    newfstatat(
        t,
        [
            AT_FDCWD as u64,
            a[0],
            a[1],
            AT_SYMLINK_NOFOLLOW as u64,
            0,
            0,
        ],
    )
}

pub fn fstat(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let st = owner_seen(t, file(t, a[0])?.stat()?);
    util::write_obj(t, a[1], &st).map(|_| 0)
}

fn major(dev: u64) -> u32 {
    (((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff)) as u32
}

fn minor(dev: u64) -> u32 {
    ((dev & 0xff) | ((dev >> 12) & !0xff)) as u32
}

fn ts(t: Timespec) -> StatxTimestamp {
    StatxTimestamp {
        sec: t.sec,
        nsec: t.nsec as u32,
        _pad: 0,
    }
}

pub fn statx(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let flags = a[2] as u32;
    let mask = a[3] as u32;
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE) != 0
        || flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE
        || mask & STATX__RESERVED != 0
    {
        return Err(Errno::EINVAL);
    }
    let p = path(t, a[1])?;
    let (st, d) = stat_and_dentry(t, a[0], &p, flags)?;
    // The mount's id (as /proc/self/mountinfo numbers it) only when asked:
    // finding the mount may walk up the path.
    let mnt = d
        .filter(|_| mask & STATX_MNT_ID != 0)
        .and_then(|d| vfs::mount::mount_of(&d));
    let sx = Statx {
        mask: STATX_BASIC_STATS | mnt.as_ref().map_or(0, |_| STATX_MNT_ID),
        mnt_id: mnt.map_or(0, |m| u64::from(m.id)),
        blksize: st.blksize as u32,
        attributes: 0,
        nlink: st.nlink as u32,
        uid: st.uid,
        gid: st.gid,
        mode: st.mode as u16,
        ino: st.ino,
        size: st.size as u64,
        blocks: st.blocks as u64,
        atime: ts(st.atime),
        ctime: ts(st.ctime),
        mtime: ts(st.mtime),
        rdev_major: major(st.rdev),
        rdev_minor: minor(st.rdev),
        dev_major: major(st.dev),
        dev_minor: minor(st.dev),
        ..Default::default()
    };
    util::write_obj(t, a[4], &sx).map(|_| 0)
}

/// `statfs` of what has no mount (pipes, sockets, anonymous files), by
/// device number.
fn statfs_for(dev: u64) -> StatFs {
    let type_ = match dev {
        DEV_PROC => PROC_SUPER_MAGIC,
        DEV_DEVFS => TMPFS_MAGIC,
        vfs::inode::DEV_PIPE => PIPEFS_MAGIC,
        vfs::inode::DEV_SYSFS => SYSFS_MAGIC,
        vfs::inode::DEV_CGROUP => CGROUP2_SUPER_MAGIC,
        vfs::unix::DEV_SOCK => SOCKFS_MAGIC,
        _ => OVERLAYFS_SUPER_MAGIC,
    };
    StatFs {
        type_,
        bsize: 4096,
        blocks: 1 << 24,
        bfree: 1 << 23,
        bavail: 1 << 23,
        files: 1 << 20,
        ffree: 1 << 19,
        fsid: [0, 0],
        namelen: 255,
        frsize: 4096,
        flags: ST_VALID,
        spare: [0; 4],
    }
}

/// `f_flags`: always valid, plus the mount's flags.
const ST_VALID: i64 = 0x20;
const ST_RELATIME: i64 = 0x1000;

/// `statfs` of the filesystem `d` is on, as the mount it is reached
/// through says: its type's magic number (Linux's), a tmpfs's size
/// limit and what its files take, a volume's host filesystem, the
/// mount's flags.
fn statfs_of(t: &Task, d: &Arc<Dentry>) -> SysResult<StatFs> {
    use vfs::mount::*;
    let Some(m) = mount_of(d) else {
        return Ok(statfs_for(d.inode.dev));
    };
    // `/dev/pts` is the sandbox's one devpts instance, inside `/dev`
    // unless mounted apart.
    let devpts = d.inode.dev == vfs::tty::devpts::DEV_DEVPTS;
    let mut st = match m.sb.fstype.as_str() {
        "9p" => match t.kernel.vfs.volume_statfs(d) {
            Some(r) => r?,
            None => statfs_for(d.inode.dev),
        },
        fstype => {
            let mut st = statfs_for(d.inode.dev);
            st.type_ = match fstype {
                _ if devpts => DEVPTS_SUPER_MAGIC,
                "tmpfs" => TMPFS_MAGIC,
                "ramfs" => RAMFS_MAGIC,
                "proc" => PROC_SUPER_MAGIC,
                "sysfs" => SYSFS_MAGIC,
                "devpts" => DEVPTS_SUPER_MAGIC,
                "cgroup2" => CGROUP2_SUPER_MAGIC,
                "mqueue" => MQUEUE_MAGIC,
                _ => OVERLAYFS_SUPER_MAGIC,
            };
            if let Some(sp) = m.root.inode.space.get() {
                st.blocks = sp.limit / 4096;
                st.bfree = sp.limit.saturating_sub(sp.used()) / 4096;
                st.bavail = st.bfree;
            }
            st
        }
    };
    let f = flags_of(d);
    st.flags = ST_VALID
        | (f & (MS_RDONLY
            | MS_NOSUID
            | MS_NODEV
            | MS_NOEXEC
            | MS_SYNCHRONOUS
            | MS_MANDLOCK
            | MS_NOATIME
            | MS_NODIRATIME)) as i64;
    if f & MS_RELATIME != 0 {
        st.flags |= ST_RELATIME;
    }
    Ok(st)
}

pub fn statfs(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let p = path(t, a[0])?;
    let d = lookup(t, AT_FDCWD as u64, &p, true, false)?;
    let st = statfs_of(t, &d)?;
    util::write_obj(t, a[1], &st).map(|_| 0)
}

pub fn fstatfs(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let f = file(t, a[0])?;
    let st = match &f.dentry {
        Some(d) => statfs_of(t, d)?,
        None => statfs_for(f.stat()?.dev),
    };
    util::write_obj(t, a[1], &st).map(|_| 0)
}

fn access_check(t: &mut Task, dirfd: u64, pathp: u64, mode: u64, flags: u32) -> SysResult<u64> {
    if mode & !7 != 0 || flags & !(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let p = path(t, pathp)?;
    let d = lookup(
        t,
        dirfd,
        &p,
        flags & AT_SYMLINK_NOFOLLOW == 0,
        flags & AT_EMPTY_PATH != 0,
    )?;
    let creds = if flags & AT_EACCESS != 0 {
        t.vfs_creds()
    } else {
        t.access_creds()
    };
    if vfs::inode::may_access(&d.inode.meta(), &creds, mode as u32) {
        Ok(0)
    } else {
        Err(Errno::EACCES)
    }
}

pub fn faccessat2(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    access_check(t, a[0], a[1], a[2], a[3] as u32)
}

pub fn faccessat(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    access_check(t, a[0], a[1], a[2], 0)
}

pub fn access(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    access_check(t, AT_FDCWD as u64, a[0], a[1], 0)
}

pub fn getcwd(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (root, cwd) = {
        let fs = t.fs();
        (fs.root.clone(), fs.cwd.clone())
    };
    // Relative to the caller's root; a directory outside it (a `chroot`
    // without `chdir`) is "unreachable", as on Linux.
    let (mut p, reachable) = cwd.path_under(&root);
    if cwd.is_removed() || !reachable {
        let mut u = b"(unreachable)".to_vec();
        u.extend_from_slice(&p);
        p = u;
    }
    p.push(0);
    if (a[1] as usize) < p.len() {
        return Err(Errno::ERANGE);
    }
    t.mm().copy_out(a[0], &p)?;
    Ok(p.len() as u64)
}

/// `chdir`/`fchdir`: the new directory needs search permission.
fn set_cwd(t: &mut Task, d: Arc<Dentry>) -> SysResult<u64> {
    if !d.inode.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    if !vfs::inode::may_access(&d.inode.meta(), &t.vfs_creds(), X_OK) {
        return Err(Errno::EACCES);
    }
    t.fs().cwd = d;
    Ok(0)
}

pub fn chdir(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let p = path(t, a[0])?;
    let d = lookup(t, AT_FDCWD as u64, &p, true, false)?;
    set_cwd(t, d)
}

pub fn fchdir(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let d = file(t, a[0])?.dentry.clone().ok_or(Errno::ENOTDIR)?;
    set_cwd(t, d)
}

/// `chroot`: the directory becomes the process's root for every later
/// path walk (`..` stops there, absolute paths and symlinks start there);
/// the working directory stays where it is, as on Linux.
pub fn chroot(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let p = path(t, a[0])?;
    let d = lookup(t, AT_FDCWD as u64, &p, true, false)?;
    if !d.inode.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    if !vfs::inode::may_access(&d.inode.meta(), &t.vfs_creds(), X_OK) {
        return Err(Errno::EACCES);
    }
    if !t.capable_here(kernel::task::CAP_SYS_CHROOT) {
        return Err(Errno::EPERM);
    }
    t.fs().root = d;
    Ok(0)
}

pub fn mkdirat(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let p = path(t, a[1])?;
    let (root, base) = at(t, a[0], &p)?;
    let mode = a[2] as u32 & !t.fs().umask & 0o7777;
    let creds = t.vfs_creds();
    t.kernel
        .vfs
        .mkdir(&root, &base, &p, mode, &creds)
        .map(|_| 0)
}

pub fn mkdir(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    mkdirat(t, [AT_FDCWD as u64, a[0], a[1], 0, 0, 0])
}

pub fn mknodat(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let p = path(t, a[1])?;
    let (root, base) = at(t, a[0], &p)?;
    let mode = a[2] as u32;
    let mode = (mode & S_IFMT) | (mode & !t.fs().umask & 0o7777);
    let creds = t.vfs_creds();
    t.kernel
        .vfs
        .mknod(&root, &base, &p, mode, &creds)
        .map(|_| 0)
}

pub fn mknod(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    mknodat(t, [AT_FDCWD as u64, a[0], a[1], a[2], 0, 0])
}

pub fn unlinkat(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let flags = a[2] as u32;
    if flags & !AT_REMOVEDIR != 0 {
        return Err(Errno::EINVAL);
    }
    let p = path(t, a[1])?;
    let (root, base) = at(t, a[0], &p)?;
    let creds = t.vfs_creds();
    if flags & AT_REMOVEDIR != 0 {
        t.kernel.vfs.rmdir(&root, &base, &p, &creds).map(|_| 0)
    } else {
        t.kernel.vfs.unlink(&root, &base, &p, &creds).map(|_| 0)
    }
}

pub fn unlink(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    unlinkat(t, [AT_FDCWD as u64, a[0], 0, 0, 0, 0])
}

pub fn rmdir(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    unlinkat(t, [AT_FDCWD as u64, a[0], AT_REMOVEDIR as u64, 0, 0, 0])
}

pub fn renameat2(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let op = path(t, a[1])?;
    let np = path(t, a[3])?;
    let (root, ob) = at(t, a[0], &op)?;
    let (_, nb) = at(t, a[2], &np)?;
    t.kernel
        .vfs
        .rename(&root, &ob, &op, &nb, &np, a[4] as u32, &t.vfs_creds())
        .map(|_| 0)
}

pub fn renameat(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    renameat2(t, [a[0], a[1], a[2], a[3], 0, 0])
}

pub fn rename(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    renameat2(t, [AT_FDCWD as u64, a[0], AT_FDCWD as u64, a[1], 0, 0])
}

pub fn symlinkat(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let target = path(t, a[0])?;
    let p = path(t, a[2])?;
    let (root, base) = at(t, a[1], &p)?;
    let creds = t.vfs_creds();
    t.kernel
        .vfs
        .symlink(&target, &root, &base, &p, &creds)
        .map(|_| 0)
}

pub fn symlink(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    symlinkat(t, [a[0], AT_FDCWD as u64, a[1], 0, 0, 0])
}

pub fn linkat(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let flags = a[4] as u32;
    if flags & !(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let op = path(t, a[1])?;
    let np = path(t, a[3])?;
    let old = lookup(
        t,
        a[0],
        &op,
        flags & AT_SYMLINK_FOLLOW != 0,
        flags & AT_EMPTY_PATH != 0,
    )?;
    let (root, nb) = at(t, a[2], &np)?;
    let creds = t.vfs_creds();
    t.kernel.vfs.link(&old, &root, &nb, &np, &creds).map(|_| 0)
}

pub fn link(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    linkat(t, [AT_FDCWD as u64, a[0], AT_FDCWD as u64, a[1], 0, 0])
}

pub fn readlinkat(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let size = a[3] as i32;
    if size <= 0 {
        return Err(Errno::EINVAL);
    }
    let p = path(t, a[1])?;
    let d = lookup(t, a[0], &p, false, true)?;
    let target = match &d.inode.kind {
        // A magic link's path (`/proc/PID/cwd`, `fd/N`) is shown from the
        // reader's root.
        vfs::Kind::SynthLink(l) => {
            let lt = l.target()?;
            match lt.dentry {
                Some(ld) if lt.text == ld.path() => ld.path_under(&t.fs().root.clone()).0,
                _ => lt.text,
            }
        }
        _ => d.inode.symlink_target().map_err(|_| Errno::EINVAL)?,
    };
    vfs::mount::accessed(&d);
    let n = target.len().min(size as usize);
    t.mm().copy_out(a[2], &target[..n])?;
    Ok(n as u64)
}

pub fn readlink(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    readlinkat(t, [AT_FDCWD as u64, a[0], a[1], a[2], 0, 0])
}

fn chmod_dentry(t: &Task, d: &Arc<Dentry>, mode: u32) -> SysResult<u64> {
    // As Linux, a read-only mount refuses before permissions are looked at.
    vfs::mount::check_writable(d)?;
    let m = d.inode.meta();
    if !t.capable(kernel::task::CAP_FOWNER) && t.euid != m.uid {
        return Err(Errno::EPERM);
    }
    if d.inode.dev == DEV_PROC {
        return Err(Errno::EPERM);
    }
    t.kernel.vfs.host_chmod(d, mode & 0o7777)?;
    d.inode.update_meta(|m| {
        m.mode = (m.mode & S_IFMT) | (mode & 0o7777);
        m.ctime = now();
    });
    vfs::inotify::event(d, vfs::inotify::IN_ATTRIB, false);
    Ok(0)
}

pub fn fchmodat(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let p = path(t, a[1])?;
    let d = lookup(t, a[0], &p, true, false)?;
    chmod_dentry(t, &d, a[2] as u32)
}

pub fn fchmodat2(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let flags = a[3] as u32;
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let p = path(t, a[1])?;
    let d = lookup(
        t,
        a[0],
        &p,
        flags & AT_SYMLINK_NOFOLLOW == 0,
        flags & AT_EMPTY_PATH != 0,
    )?;
    if d.inode.is_symlink() {
        return Err(Errno::EOPNOTSUPP);
    }
    chmod_dentry(t, &d, a[2] as u32)
}

pub fn chmod(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    fchmodat(t, [AT_FDCWD as u64, a[0], a[1], 0, 0, 0])
}

pub fn fchmod(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let f = file(t, a[0])?;
    // A socket's own inode (sockfs): its mode is what a path bound later
    // gets, less the umask.
    if f.dentry.is_none() {
        if let Some(s) = vfs::unix::from_file(&f) {
            if t.fsuid != s.owner().uid && !t.capable(kernel::task::CAP_FOWNER) {
                return Err(Errno::EPERM);
            }
            s.set_mode(a[1] as u32);
            return Ok(0);
        }
    }
    let d = f.dentry.clone().ok_or(Errno::EBADF)?;
    if f.flags() & O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    chmod_dentry(t, &d, a[1] as u32)
}

fn chown_dentry(t: &Task, d: &Arc<Dentry>, uid: u32, gid: u32) -> SysResult<u64> {
    vfs::mount::check_writable(d)?;
    if !t.capable(kernel::task::CAP_CHOWN) && (uid != u32::MAX || gid != u32::MAX) {
        return Err(Errno::EPERM);
    }
    t.kernel.vfs.host_chown(d, uid, gid)?;
    d.inode.update_meta(|m| {
        if uid != u32::MAX {
            m.uid = uid;
        }
        if gid != u32::MAX {
            m.gid = gid;
        }
        if m.mode & S_IFMT == S_IFREG && (uid != u32::MAX || gid != u32::MAX) {
            m.mode &= !(S_ISUID | if m.mode & 0o010 != 0 { S_ISGID } else { 0 });
        }
        m.ctime = now();
    });
    // Linux changes nothing but the ctime for (-1, -1): no event.
    if uid != u32::MAX || gid != u32::MAX {
        vfs::inotify::event(d, vfs::inotify::IN_ATTRIB, false);
    }
    Ok(0)
}

pub fn fchownat(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let flags = a[4] as u32;
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let p = path(t, a[1])?;
    let d = lookup(
        t,
        a[0],
        &p,
        flags & AT_SYMLINK_NOFOLLOW == 0,
        flags & AT_EMPTY_PATH != 0,
    )?;
    chown_dentry(t, &d, a[2] as u32, a[3] as u32)
}

pub fn chown(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    fchownat(t, [AT_FDCWD as u64, a[0], a[1], a[2], 0, 0])
}

pub fn lchown(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    fchownat(
        t,
        [
            AT_FDCWD as u64,
            a[0],
            a[1],
            a[2],
            AT_SYMLINK_NOFOLLOW as u64,
            0,
        ],
    )
}

pub fn fchown(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let d = util::file_io(t, a[0])?.dentry.clone().ok_or(Errno::EBADF)?;
    chown_dentry(t, &d, a[1] as u32, a[2] as u32)
}

pub fn umask(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let mut fs = t.fs();
    let old = fs.umask;
    fs.umask = a[0] as u32 & 0o777;
    Ok(old as u64)
}

pub fn truncate(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let len = a[1] as i64;
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    let p = path(t, a[0])?;
    let d = lookup(t, AT_FDCWD as u64, &p, true, false)?;
    let old = d.inode.size();
    // Linux's `vfs_truncate`: after the file type and the mount, write
    // permission on the file (capabilities of a user namespace that does
    // not map its owner do not count).
    if matches!(d.inode.kind, vfs::Kind::File(_)) {
        vfs::mount::check_writable(&d)?;
        if !vfs::inode::may_access(&d.inode.meta(), &t.vfs_creds(), W_OK) {
            return Err(Errno::EACCES);
        }
    }
    if t.creds.landlock.is_some() && !d.inode.is_dir() && d.inode.mode() & S_IFMT == S_IFREG {
        vfs::landlock::check(&t.vfs_creds(), &d, vfs::landlock::ACCESS_FS_TRUNCATE)?;
    }
    if matches!(d.inode.kind, vfs::Kind::File(_)) {
        crate::file::fsize_grow_ok(t, old, len as u64)?;
    }
    t.kernel.vfs.truncate(&d, len as u64)?;
    if (len as u64) < old {
        crate::memfd::shrunk(t, &d.inode, len as u64);
    }
    Ok(0)
}

pub fn ftruncate(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let len = a[1] as i64;
    let f = file(t, a[0])?;
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    if !f.writable() {
        return Err(if f.flags() & O_PATH != 0 {
            Errno::EBADF
        } else {
            Errno::EINVAL
        });
    }
    if !f.may_truncate() {
        return Err(Errno::EACCES);
    }
    let old = f.ops.size();
    if crate::file::regular(&f) {
        crate::file::fsize_grow_ok(t, old, len as u64)?;
    }
    f.ops.truncate(&f, len as u64)?;
    if let Some(d) = &f.dentry {
        if (len as u64) < old {
            crate::memfd::shrunk(t, &d.inode, len as u64);
        }
    }
    Ok(0)
}

fn set_times(
    t: &Task,
    d: &Arc<Dentry>,
    atime: Option<Timespec>,
    mtime: Option<Timespec>,
) -> SysResult<u64> {
    if atime.is_some() || mtime.is_some() {
        vfs::mount::check_writable(d)?;
    }
    t.kernel.vfs.host_utimes(d, atime, mtime)?;
    d.inode.update_meta(|m| {
        if let Some(a) = atime {
            m.atime = a;
        }
        if let Some(mt) = mtime {
            m.mtime = mt;
        }
        m.ctime = now();
    });
    // Linux's fsnotify_change: both times are an attribute change, one
    // alone counts as an access or a modification.
    use vfs::inotify::{IN_ACCESS, IN_ATTRIB, IN_MODIFY};
    let mask = match (atime.is_some(), mtime.is_some()) {
        (true, true) => IN_ATTRIB,
        (true, false) => IN_ACCESS,
        (false, true) => IN_MODIFY,
        (false, false) => 0,
    };
    if mask != 0 {
        vfs::inotify::event(d, mask, false);
    }
    Ok(0)
}

fn decode_time(ts: Timespec) -> SysResult<Option<Timespec>> {
    match ts.nsec {
        UTIME_NOW => Ok(Some(now())),
        UTIME_OMIT => Ok(None),
        n if (0..1_000_000_000).contains(&n) => Ok(Some(ts)),
        _ => Err(Errno::EINVAL),
    }
}

/// The file a `utimensat`/`futimesat` acts on: with no path the open file
/// itself (not an `O_PATH` one), with an empty path and `AT_EMPTY_PATH`
/// whatever `dirfd` names (`O_PATH` included), else the path's.
fn times_target(
    t: &Task,
    dirfd: u64,
    pathp: u64,
    follow: bool,
    empty_path: bool,
) -> SysResult<Arc<Dentry>> {
    if pathp == 0 {
        // No path and no descriptor: the NULL path is read (EFAULT).
        if dirfd as i32 == AT_FDCWD {
            return Err(Errno::EFAULT);
        }
        let f: Arc<File> = util::file_io(t, dirfd)?;
        return f.dentry.clone().ok_or(Errno::EBADF);
    }
    let p = path(t, pathp)?;
    if p.is_empty() && empty_path {
        if dirfd as i32 == AT_FDCWD {
            return Ok(t.fs().cwd.clone());
        }
        return file(t, dirfd)?.dentry.clone().ok_or(Errno::EBADF);
    }
    lookup(t, dirfd, &p, follow, false)
}

pub fn utimensat(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let flags = a[3] as u32;
    let ts: Option<[Timespec; 2]> = if a[2] == 0 {
        None
    } else {
        Some(util::read_obj(t, a[2])?)
    };
    // Both omitted: nothing to do, and Linux looks at nothing else.
    if ts.is_some_and(|ts| ts.iter().all(|v| v.nsec == UTIME_OMIT)) {
        return Ok(0);
    }
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let (at_, mt) = match ts {
        None => (Some(now()), Some(now())),
        Some(ts) => (decode_time(ts[0])?, decode_time(ts[1])?),
    };
    let d = times_target(
        t,
        a[0],
        a[1],
        flags & AT_SYMLINK_NOFOLLOW == 0,
        flags & AT_EMPTY_PATH != 0,
    )?;
    set_times(t, &d, at_, mt)
}

pub fn futimesat(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (at_, mt) = if a[2] == 0 {
        (Some(now()), Some(now()))
    } else {
        let tv: [Timeval; 2] = util::read_obj(t, a[2])?;
        let conv = |v: Timeval| -> SysResult<Option<Timespec>> {
            if !(0..1_000_000).contains(&v.usec) {
                return Err(Errno::EINVAL);
            }
            Ok(Some(Timespec {
                sec: v.sec,
                nsec: v.usec * 1000,
            }))
        };
        (conv(tv[0])?, conv(tv[1])?)
    };
    let d = times_target(t, a[0], a[1], true, false)?;
    set_times(t, &d, at_, mt)
}

pub fn utimes(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    futimesat(t, [AT_FDCWD as u64, a[0], a[1], 0, 0, 0])
}

pub fn utime(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let times = if a[1] == 0 {
        None
    } else {
        let v: [i64; 2] = util::read_obj(t, a[1])?;
        Some((
            Timespec { sec: v[0], nsec: 0 },
            Timespec { sec: v[1], nsec: 0 },
        ))
    };
    let p = path(t, a[0])?;
    let d = lookup(t, AT_FDCWD as u64, &p, true, false)?;
    match times {
        None => set_times(t, &d, Some(now()), Some(now())),
        Some((x, y)) => set_times(t, &d, Some(x), Some(y)),
    }
}

/// `MAX_HANDLE_SZ`.
const MAX_HANDLE_SZ: u32 = 128;

/// `name_to_handle_at(dirfd, path, handle, mount_id, flags)`: a handle
/// for a file of a sandbox filesystem (`vfs::handle`), with the mount ID
/// `/proc/self/mountinfo` gives its filesystem. procfs has none, as on
/// Linux, unless `AT_HANDLE_FID` asks for an identifier only.
pub fn name_to_handle_at(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    const AT_HANDLE_FID: u64 = 0x200;
    const AT_EMPTY_PATH: u64 = 0x1000;
    const AT_SYMLINK_FOLLOW: u64 = 0x400;
    let (uh, mnt_id, flags) = (a[2], a[3], a[4]);
    if flags & !(AT_HANDLE_FID | AT_EMPTY_PATH | AT_SYMLINK_FOLLOW) != 0 {
        return Err(Errno::EINVAL);
    }
    let p = path(t, a[1])?;
    let d = lookup(
        t,
        a[0],
        &p,
        flags & AT_SYMLINK_FOLLOW != 0,
        flags & AT_EMPTY_PATH != 0,
    )?;
    if d.inode.dev == DEV_PROC && flags & AT_HANDLE_FID == 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    let [room, _]: [u32; 2] = util::read_obj(t, uh)?;
    if room > MAX_HANDLE_SZ {
        return Err(Errno::EINVAL);
    }
    let handle = vfs::handle::encode(&d, d.inode.dev != DEV_PROC);
    let fits = (room & !3) as usize >= handle.len();
    let ty = if fits {
        vfs::handle::HANDLE_TYPE
    } else {
        vfs::handle::FILEID_INVALID
    };
    let id = vfs::mount::mount_of(&d).map_or(0, |m| m.id);
    let mut r = if fits { Ok(0) } else { Err(Errno::EOVERFLOW) };
    if util::write_obj(t, mnt_id, &id).is_err() {
        r = Err(Errno::EFAULT);
    }
    let head = [handle.len() as u32, ty as u32];
    let copied = util::write_obj(t, uh, &head).and_then(|_| {
        if fits {
            t.mm().copy_out(uh + 8, &handle)
        } else {
            Ok(())
        }
    });
    if copied.is_err() {
        r = Err(Errno::EFAULT);
    }
    r
}

/// `open_by_handle_at(mount_fd, handle, flags)`: opens what a handle
/// from [`name_to_handle_at`] names on the filesystem of `mount_fd`
/// (`CAP_DAC_READ_SEARCH` needed; `ESTALE` once the file is gone).
pub fn open_by_handle_at(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (mfd, uh, flags) = (a[0] as i32, a[1], a[2] as u32);
    let anchor = if mfd == AT_FDCWD {
        Some(t.fs().cwd.clone())
    } else if mfd < 0 {
        return Err(Errno::EBADF);
    } else {
        // Linux's fdget: an O_PATH descriptor does not count.
        let f = file(t, mfd as u64)?;
        if f.flags() & O_PATH != 0 {
            return Err(Errno::EBADF);
        }
        f.dentry.clone()
    };
    if !t.capable(kernel::task::CAP_DAC_READ_SEARCH) {
        return Err(Errno::EPERM);
    }
    let [len, ty]: [u32; 2] = util::read_obj(t, uh)?;
    // The high half of the type holds flags: only FILEID_IS_CONNECTABLE
    // and FILEID_IS_DIR may be set there.
    if len > MAX_HANDLE_SZ || len == 0 || (ty as i32) < 0 || ty & 0xfffc_0000 != 0 {
        return Err(Errno::EINVAL);
    }
    let mut bytes = vec![0u8; len as usize];
    t.mm().copy_in(uh + 8, &mut bytes)?;
    // A file without a dentry (a pipe, a socket) is on a filesystem
    // that decodes nothing.
    let anchor = anchor.ok_or(Errno::ESTALE)?;
    let d = vfs::handle::decode(&anchor, (ty & 0xffff) as i32, &bytes)?;
    let creds = t.vfs_creds();
    let f = t.kernel.vfs.open_dentry(&d, flags | O_LARGEFILE, &creds)?;
    let lim = t.rlimit(abi::misc::RLIMIT_NOFILE).cur;
    t.fds()
        .install(f, flags & O_CLOEXEC != 0, 0, lim)
        .map(|fd| fd as u64)
}
