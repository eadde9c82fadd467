//! Mounts: `mount`, `umount2`, `pivot_root`, in the caller's mount
//! namespace (`vfs::mount`).

use std::sync::Arc;

use abi::fs::AT_FDCWD;
use abi::{Errno, SysResult};
use kernel::task::{lock, CAP_SYS_ADMIN};
use kernel::Task;
use vfs::mount::*;
use vfs::{Dentry, Inode};

use crate::util::{lookup, path};

const MNT_FORCE: u64 = 1;
const MNT_DETACH: u64 = 2;
const MNT_EXPIRE: u64 = 4;
const UMOUNT_NOFOLLOW: u64 = 8;

/// `CAP_SYS_ADMIN` over the user namespace owning the caller's mount
/// namespace, and that namespace.
fn admin(t: &Task) -> SysResult<Arc<MountNs>> {
    let ns = lock(&t.shared.ns).mnt.clone();
    if !t.ns_capable(&ns.owner, CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    Ok(ns.ns.clone())
}

fn opt_string(t: &Task, addr: u64, max: usize) -> SysResult<Option<String>> {
    if addr == 0 {
        return Ok(None);
    }
    let b = t.mm().read_cstring(addr, max)?;
    Ok(Some(String::from_utf8_lossy(&b).into_owned()))
}

/// What a tmpfs's options say.
struct TmpfsOpts {
    mode: u32,
    uid: Option<u32>,
    gid: Option<u32>,
    /// `size=` in bytes (0 or absent: no limit but the sandbox's memory).
    size: u64,
    shown: String,
}

/// `size=N[k|m|g]` (`N%` of memory is taken as no limit).
fn tmpfs_size(v: &str) -> SysResult<u64> {
    if let Some(pct) = v.strip_suffix('%') {
        pct.parse::<u64>().map_err(|_| Errno::EINVAL)?;
        return Ok(0);
    }
    let (num, mul) = match v.as_bytes().last() {
        Some(b'k' | b'K') => (&v[..v.len() - 1], 1u64 << 10),
        Some(b'm' | b'M') => (&v[..v.len() - 1], 1 << 20),
        Some(b'g' | b'G') => (&v[..v.len() - 1], 1 << 30),
        _ => (v, 1),
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mul))
        .ok_or(Errno::EINVAL)
}

/// The options of a new tmpfs/ramfs (`mode=`, `uid=`, `gid=`, `size=`
/// ...): the root directory's mode and owner, the size limit, and the
/// text shown.
fn tmpfs_opts(data: &str) -> SysResult<TmpfsOpts> {
    let (mut mode, mut uid, mut gid, mut size) = (0o1777, None, None, 0);
    let mut shown = Vec::new();
    for o in data.split(',').filter(|o| !o.is_empty()) {
        let (k, v) = o.split_once('=').unwrap_or((o, ""));
        match k {
            "mode" => {
                mode = u32::from_str_radix(v, 8).map_err(|_| Errno::EINVAL)? & 0o7777;
            }
            "uid" => uid = Some(v.parse().map_err(|_| Errno::EINVAL)?),
            "gid" => gid = Some(v.parse().map_err(|_| Errno::EINVAL)?),
            "size" => size = tmpfs_size(v)?,
            "nr_inodes" | "nr_blocks" | "huge" | "mpol" | "inode32" | "inode64" => {}
            _ => return Err(Errno::EINVAL),
        }
        shown.push(o.to_string());
    }
    Ok(TmpfsOpts {
        mode,
        uid,
        gid,
        size,
        shown: shown.join(","),
    })
}

/// A new, empty tmpfs (or ramfs) with options `data` (`tmpfs_opts`):
/// its root and superblock. Its root belongs to `owner` unless `uid=`
/// and `gid=` say otherwise. Also how `rvisor do --tmpfs` makes one.
pub fn new_tmpfs(
    fstype: &str,
    source: &str,
    data: &str,
    ro: bool,
    owner: (u32, u32),
) -> SysResult<(Arc<Dentry>, Arc<Super>)> {
    let o = tmpfs_opts(data)?;
    let dev = vfs::inode::next_dev();
    let inode = Inode::new_dir(dev, if fstype == "ramfs" { 0o755 } else { o.mode }, None);
    inode.update_meta(|m| {
        m.uid = o.uid.unwrap_or(owner.0);
        m.gid = o.gid.unwrap_or(owner.1);
    });
    // ramfs has no limit (it takes the option and ignores it).
    if o.size != 0 && fstype == "tmpfs" {
        let _ = inode.space.set(vfs::inode::Space::new(o.size));
    }
    let root = Dentry::new(b"/", None, inode);
    Ok((root, Super::new(fstype, source, dev, &o.shown, ro)))
}

/// A new filesystem instance of type `fstype`: its root and superblock.
fn new_fs(
    t: &Task,
    fstype: &str,
    source: &str,
    data: &str,
    ro: bool,
) -> SysResult<(Arc<Dentry>, Arc<Super>)> {
    let k = &t.kernel;
    Ok(match fstype {
        "tmpfs" | "ramfs" => new_tmpfs(fstype, source, data, ro, (t.fsuid, t.fsgid))?,
        "proc" => (
            kernel::procfs::new_root(k, t.pidns().clone()),
            Super::new("proc", source, vfs::inode::DEV_PROC, "", ro),
        ),
        "sysfs" => (
            kernel::sysfs::build(k).0,
            Super::new("sysfs", source, vfs::inode::DEV_SYSFS, "", ro),
        ),
        // The sandbox's one devpts instance (`newinstance` gives the same).
        "devpts" => (
            Dentry::new(b"/", None, k.vfs.devpts.dir_inode()),
            Super::new("devpts", source, 0x22, "gid=5,mode=620,ptmxmode=000", ro),
        ),
        "mqueue" => (
            kernel::ipc::mqueue::fs_root(&lock(&t.shared.ns).ipc.ns),
            Super::new("mqueue", source, kernel::ipc::mqueue::DEV_MQUEUE, "", ro),
        ),
        // The sandbox's one cgroup (read-only files, as `/sys/fs/cgroup`).
        "cgroup2" => (
            kernel::sysfs::build(k).1,
            Super::new("cgroup2", source, vfs::inode::DEV_CGROUP, "", ro),
        ),
        _ => return Err(Errno::ENODEV),
    })
}

/// Default access-time mode of a new mount or remount: relatime unless
/// another one is asked for; strictatime wins over noatime (Linux's
/// `path_mount`).
fn with_atime(flags: u64) -> u64 {
    if flags & (MS_NOATIME | MS_STRICTATIME) == 0 {
        (flags | MS_RELATIME) & MNT_FLAGS
    } else if flags & MS_STRICTATIME != 0 {
        flags & MNT_FLAGS & !(MS_RELATIME | MS_NOATIME)
    } else {
        flags & MNT_FLAGS & !MS_RELATIME
    }
}

/// `mount(2)`: new tmpfs, ramfs, proc, sysfs, devpts, mqueue and cgroup2
/// filesystems,
/// bind mounts (`MS_BIND`, `MS_REC`), remounts (flags of the mount with
/// `MS_BIND`, of the filesystem too without), propagation changes
/// (recorded and shown, not acted on) and `MS_MOVE`.
pub fn mount(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let mut flags = a[3];
    if flags & MS_MGC_MSK == MS_MGC_VAL {
        flags &= !MS_MGC_MSK;
    }
    let target_p = path(t, a[1])?;
    let source = opt_string(t, a[0], 4096)?;
    let fstype = opt_string(t, a[2], 4096)?;
    let data = if flags & (MS_BIND | MS_MOVE) == 0 || flags & MS_REMOUNT != 0 {
        opt_string(t, a[4], 4096)?.unwrap_or_default()
    } else {
        String::new()
    };
    let ns = admin(t)?;
    let tgt = lookup(t, AT_FDCWD as u64, &target_p, true, false)?;
    let (top, tin, troot) = target(&tgt);
    let tmount = tin.clone().filter(|_| troot);
    let prop = flags & (MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE);
    if flags & MS_REMOUNT != 0 {
        let m = tmount.ok_or(Errno::EINVAL)?;
        if flags & MS_BIND == 0 {
            m.set_sb_rdonly(flags & MS_RDONLY != 0);
        }
        m.set_flags(with_atime(flags));
        return Ok(0);
    }
    if flags & MS_BIND != 0 {
        let sp = source.ok_or(Errno::EFAULT)?;
        let src = lookup(t, AT_FDCWD as u64, sp.as_bytes(), true, false)?;
        let (src, from, _) = target(&src);
        if src.inode.is_dir() != top.inode.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let parent = tin.ok_or(Errno::EINVAL)?;
        // A namespace file (`/proc/PID/ns/KIND`) lives in no mount of the
        // namespace, as in Linux's internal nsfs mount: binding it mounts
        // that file alone, which keeps the namespace reachable by path
        // (what `ip netns add` does).
        if from.is_none() && src.inode.dev == kernel::ns::DEV_NSFS {
            let sb = Super::new("nsfs", "nsfs", kernel::ns::DEV_NSFS, "", false);
            let m = Mount::new(sb, src, with_atime(flags));
            ns.attach(&m, &parent, &top);
            return Ok(0);
        }
        let from = from.ok_or(Errno::EINVAL)?;
        if !ns.contains(&from) {
            return Err(Errno::EINVAL);
        }
        let tree = ns.bind_tree(&from, &src, flags & MS_REC != 0)?;
        ns.attach_tree(&tree, &parent, &top);
        return Ok(0);
    }
    if prop != 0 {
        if prop.count_ones() != 1 || flags & !(prop | MS_REC | MS_SILENT) != 0 {
            return Err(Errno::EINVAL);
        }
        let m = tmount.ok_or(Errno::EINVAL)?;
        let all = if flags & MS_REC != 0 {
            ns.subtree(&m)
        } else {
            vec![m]
        };
        // Mounts made shared together form one peer group.
        let group = new_peer_group();
        for m in all {
            let mut p = m.state().prop;
            match prop {
                MS_SHARED => {
                    if p.shared == 0 {
                        p.shared = group;
                    }
                    p.unbindable = false;
                }
                MS_PRIVATE => p = Propagation::default(),
                MS_SLAVE => {
                    if p.shared != 0 {
                        p.master = p.shared;
                        p.shared = 0;
                    }
                }
                _ => {
                    p = Propagation {
                        unbindable: true,
                        ..Default::default()
                    }
                }
            }
            m.set_propagation(p);
        }
        return Ok(0);
    }
    if flags & MS_MOVE != 0 {
        let sp = source.ok_or(Errno::EFAULT)?;
        let src = lookup(t, AT_FDCWD as u64, sp.as_bytes(), true, false)?;
        let (src, sm, sroot) = target(&src);
        let sm = sm.filter(|_| sroot).ok_or(Errno::EINVAL)?;
        let Some(_) = sm.parent() else {
            return Err(Errno::EINVAL);
        };
        if src.inode.is_dir() != top.inode.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let parent = tin.ok_or(Errno::EINVAL)?;
        // Not into itself.
        if ns.subtree(&sm).iter().any(|m| Arc::ptr_eq(m, &parent)) {
            return Err(Errno::ELOOP);
        }
        ns.reattach(&sm, Some(&parent), Some(&top));
        return Ok(0);
    }
    let fstype = fstype.ok_or(Errno::EINVAL)?;
    if fstype.is_empty() {
        return Err(Errno::EINVAL);
    }
    let (root, sb) = new_fs(
        t,
        &fstype,
        source.as_deref().unwrap_or("none"),
        &data,
        flags & MS_RDONLY != 0,
    )?;
    let parent = tin.ok_or(Errno::EINVAL)?;
    let m = Mount::new(sb, root, with_atime(flags));
    ns.attach(&m, &parent, &top);
    Ok(0)
}

/// Whether a task's root or working directory, or an open file of it,
/// is inside one of `mounts`.
fn busy(t: &Task, ns: &MountNs, mounts: &[Arc<Mount>]) -> bool {
    let inside = |d: &Arc<Dentry>| {
        ns.mount_of(d)
            .is_some_and(|m| mounts.iter().any(|x| Arc::ptr_eq(x, &m)))
    };
    let tasks: Vec<_> = lock(&t.kernel.table).tasks.values().cloned().collect();
    for s in tasks {
        let theirs = lock(&s.ns).mnt.ns.clone();
        if !std::ptr::eq(Arc::as_ptr(&theirs), ns) {
            continue;
        }
        let fs = lock(&s.fsctx).clone();
        if let Some(fs) = fs {
            let (root, cwd) = {
                let f = lock(&fs);
                (f.root.clone(), f.cwd.clone())
            };
            if inside(&root) || inside(&cwd) {
                return true;
            }
        }
        let files = lock(&s.files).clone();
        if let Some(files) = files {
            let list: Vec<_> = lock(&files).iter().map(|(_, e)| e.file.clone()).collect();
            if list.iter().any(|f| f.dentry.as_ref().is_some_and(inside)) {
                return true;
            }
        }
    }
    false
}

/// `umount2(2)`.
pub fn umount2(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let flags = a[1];
    if flags & !(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW) != 0
        || (flags & MNT_EXPIRE != 0 && flags & (MNT_FORCE | MNT_DETACH) != 0)
    {
        return Err(Errno::EINVAL);
    }
    let p = path(t, a[0])?;
    let ns = admin(t)?;
    let d = lookup(t, AT_FDCWD as u64, &p, flags & UMOUNT_NOFOLLOW == 0, false)?;
    let (_, m, root) = target(&d);
    let m = m.filter(|_| root).ok_or(Errno::EINVAL)?;
    if !ns.contains(&m) || m.parent().is_none() {
        return Err(Errno::EINVAL);
    }
    if flags & MNT_DETACH == 0 {
        let sub = ns.subtree(&m);
        if sub.len() > 1 || busy(t, &ns, &sub) {
            return Err(Errno::EBUSY);
        }
        if flags & MNT_EXPIRE != 0 && !m.mark_expiry() {
            return Err(Errno::EAGAIN);
        }
    }
    ns.detach(&m);
    Ok(0)
}

/// `pivot_root(2)`: `new_root` (a mount) becomes the namespace's root and
/// the old root is mounted on `put_old` (at or below it); every process
/// whose root or working directory was the old root moves to the new
/// one.
pub fn pivot_root(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let np = path(t, a[0])?;
    let op = path(t, a[1])?;
    let ns = admin(t)?;
    let new = lookup(t, AT_FDCWD as u64, &np, true, false)?;
    let (new, new_m, _) = target(&new);
    let old = lookup(t, AT_FDCWD as u64, &op, true, false)?;
    let (old, old_m, _) = target(&old);
    if !new.inode.is_dir() || !old.inode.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    let root = t.fs().root.clone();
    let new_m = new_m.ok_or(Errno::EINVAL)?;
    let old_m = old_m.ok_or(Errno::EINVAL)?;
    let root_m = ns.mount_of(&root).ok_or(Errno::EINVAL)?;
    if new.is_removed() {
        return Err(Errno::ENOENT);
    }
    if Arc::ptr_eq(&new_m, &root_m) || Arc::ptr_eq(&old_m, &root_m) {
        return Err(Errno::EBUSY);
    }
    // The root and the new root must be mounts' roots, the new root
    // not already the namespace's.
    if !Arc::ptr_eq(&root_m.root, &root) && !Arc::ptr_eq(&root_m.root.inode, &root.inode) {
        return Err(Errno::EINVAL);
    }
    if !Arc::ptr_eq(&new_m.root.inode, &new.inode) || new_m.parent().is_none() {
        return Err(Errno::EINVAL);
    }
    // put_old at or below the new root; the new root below the root.
    let below_mount =
        |m: &Arc<Mount>, top: &Arc<Mount>| ns.subtree(top).iter().any(|x| Arc::ptr_eq(x, m));
    if !below_mount(&old_m, &new_m) || !below_mount(&new_m, &root_m) {
        return Err(Errno::EINVAL);
    }
    if !is_below(&old, &old_m.root) {
        return Err(Errno::EINVAL);
    }
    let shared = |m: &Option<Arc<Mount>>| m.as_ref().is_some_and(|m| m.state().prop.shared != 0);
    if shared(&Some(old_m.clone())) || shared(&new_m.parent()) || shared(&root_m.parent()) {
        return Err(Errno::EINVAL);
    }
    // The new root leaves its parent and becomes the namespace's root;
    // the old root goes onto put_old.
    ns.reattach(&new_m, None, None);
    ns.reattach(&root_m, Some(&old_m), Some(&old));
    let new_root = new_m.root.clone();
    let tasks: Vec<_> = lock(&t.kernel.table).tasks.values().cloned().collect();
    for s in tasks {
        let theirs = lock(&s.ns).mnt.ns.clone();
        if !Arc::ptr_eq(&theirs, &ns) {
            continue;
        }
        let fs = lock(&s.fsctx).clone();
        if let Some(fs) = fs {
            let mut f = lock(&fs);
            if Arc::ptr_eq(&f.root, &root) {
                f.root = new_root.clone();
            }
            if Arc::ptr_eq(&f.cwd, &root) {
                f.cwd = new_root.clone();
            }
        }
    }
    Ok(0)
}
