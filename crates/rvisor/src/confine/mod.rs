//! Confinement of the sentry process itself, so that a bug in the sentry
//! is not host root (see `docs/security.md`, "The sentry's boundary" and
//! "The sentry's seccomp filter").
//!
//! In order, from `sandbox::run`:
//! 1. [`close_inherited`] and [`enter_namespaces`] first thing: fresh
//!    mount, IPC, UTS and network namespaces (the network one has only a
//!    loopback device, down: the sentry uses no host network; not with
//!    `--network=host`, where the sentry's sockets are the sandbox's),
//!    with every mount private so nothing propagates back to the host.
//! 2. The gofer is started (`crate::gofer`; it confines itself with
//!    [`pivot_to_container_root`], [`drop_privileges`] and
//!    `seccomp::install_gofer`), and every host path the sentry needs is
//!    opened while the host's tree is still visible (`/dev/null`, the
//!    standard streams' names, `/proc/cpuinfo`, the log file).
//! 3. [`pivot_to_empty_root`]: the sentry's root becomes an empty
//!    read-only tmpfs; host files come only from the gofer.
//! 4. The stub factory is forked (`Platform::use_stub_factory`): it and
//!    the stubs live in the same namespaces and root.
//! 5. [`drop_privileges`]: no capability left in any set (nor in the
//!    bounding set, so nothing is regained), `no_new_privs`.
//!
//! 6. [`seccomp::install`], last before application code: the sentry's
//!    allow-list on every thread.
//!
//! `--debug-unconfined` skips all of it, with a warning on every run.

pub mod seccomp;

use std::ffi::CStr;

/// A host call's failure, with what was being done.
fn fail(what: &str) -> String {
    format!("{what}: {}", std::io::Error::last_os_error())
}

/// Closes every descriptor above the standard streams: whatever the
/// caller leaked to us is not the sandbox's business.
pub fn close_inherited() {
    // SAFETY: closes descriptors nothing in this process uses yet (called
    // first thing, before any is opened).
    unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0) };
}

/// Enters fresh mount, IPC, UTS and network namespaces, and makes every
/// mount private. With `--network=host` the sentry stays in the host's
/// network namespace: its sockets are the sandbox's.
pub fn enter_namespaces(network: net::Mode) -> Result<(), String> {
    let mut flags = libc::CLONE_NEWNS | libc::CLONE_NEWIPC | libc::CLONE_NEWUTS;
    if network != net::Mode::Host {
        flags |= libc::CLONE_NEWNET;
    }
    // SAFETY: unshare and mount with static strings; checked.
    unsafe {
        if libc::unshare(flags) != 0 {
            return Err(fail("unshare(mount, ipc, uts, net namespaces)"));
        }
        make_mounts_private()?;
    }
    Ok(())
}

/// Makes every mount of this (fresh) mount namespace private, so nothing
/// propagates back to the host.
fn make_mounts_private() -> Result<(), String> {
    // SAFETY: mount with static strings; checked.
    let r = unsafe {
        libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        )
    };
    if r != 0 {
        return Err(fail("making the mounts private"));
    }
    Ok(())
}

/// Makes the mount at `at` the root and working directory and detaches
/// the old root.
fn pivot_into(at: &CStr) -> Result<(), ()> {
    // SAFETY: open/chdir/pivot_root/fchdir/umount2 with static strings and
    // a descriptor of our own; checked.
    unsafe {
        let old = libc::open(
            c"/".as_ptr(),
            libc::O_DIRECTORY | libc::O_PATH | libc::O_CLOEXEC,
        );
        if old < 0 {
            return Err(());
        }
        // pivot_root(".", "."): the old root ends up stacked on the new
        // one, where it is detached below (no directory for it needed).
        let ok = libc::chdir(at.as_ptr()) == 0
            && libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c".".as_ptr()) == 0
            && libc::fchdir(old) == 0
            && libc::umount2(c".".as_ptr(), libc::MNT_DETACH) == 0
            && libc::chdir(c"/".as_ptr()) == 0;
        libc::close(old);
        if ok {
            Ok(())
        } else {
            Err(())
        }
    }
}

/// Directories one of which a fresh tmpfs is mounted on (in the private
/// mount namespace: the host never sees it) to become the new root.
const NEW_ROOT_AT: [&CStr; 3] = [c"/tmp", c"/mnt", c"/proc"];

/// Makes an empty read-only tmpfs the root and working directory, and
/// detaches the host's tree. Every host path must be open before.
pub fn pivot_to_empty_root() -> Result<(), String> {
    let flags = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
    // SAFETY: mount/open/pivot_root/umount2/chdir with static strings and
    // descriptors of our own; every result is checked.
    unsafe {
        let at = NEW_ROOT_AT
            .iter()
            .find(|d| {
                libc::mount(
                    c"rvisor-root".as_ptr(),
                    d.as_ptr(),
                    c"tmpfs".as_ptr(),
                    flags,
                    c"size=4k,nr_inodes=1,mode=0555".as_ptr().cast(),
                ) == 0
            })
            .ok_or_else(|| fail("mounting an empty root"))?;
        pivot_into(at).map_err(|_| fail("pivoting into the empty root"))?;
        if libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY | flags,
            std::ptr::null(),
        ) != 0
        {
            return Err(fail("making the empty root read-only"));
        }
    }
    Ok(())
}

/// The gofer's view: a private mount namespace whose root is a recursive
/// bind of `dir` (the container's root and the mounts beneath it, nothing
/// else of the host), made read-only unless `writable` (`--overlay=none`,
/// a read-write volume), without devices, set-id or execution, on every
/// mount of it (in this namespace only), and the host's tree detached.
/// Run by `rvisor gofer` before it serves.
pub fn pivot_to_container_root(dir: &str, writable: bool) -> Result<(), String> {
    let src = std::ffi::CString::new(dir).map_err(|_| format!("bad root {dir:?}"))?;
    let file = open_no_symlinks(&src)?;
    // SAFETY: fstat of our own descriptor into a zeroed struct.
    let is_dir = unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        libc::fstat(file, &mut st) == 0 && st.st_mode & libc::S_IFMT == libc::S_IFDIR
    };
    if !is_dir {
        let name = std::path::Path::new(dir)
            .file_name()
            .and_then(|n| std::ffi::CString::new(n.as_encoded_bytes()).ok())
            .ok_or_else(|| format!("bad file {dir:?}"))?;
        // SAFETY: our own descriptor, only used to check the type.
        unsafe { libc::close(file) };
        return pivot_to_single_file(&src, &name, writable);
    }
    // SAFETY: our own descriptor, only used to check the type.
    unsafe { libc::close(file) };
    // SAFETY: unshare/mount/open/pivot_root/umount2/chdir with static or
    // owned strings and descriptors of our own; every result is checked.
    unsafe {
        if libc::unshare(libc::CLONE_NEWNS) != 0 {
            return Err(fail("unshare(mount namespace)"));
        }
        make_mounts_private()?;
        // The copy is taken before it is attached, so it does not hold
        // itself; what it covers is the host's directory in the old tree
        // only, which is detached below.
        let at = NEW_ROOT_AT
            .iter()
            .find(|d| {
                libc::mount(
                    src.as_ptr(),
                    d.as_ptr(),
                    std::ptr::null(),
                    libc::MS_BIND | libc::MS_REC,
                    std::ptr::null(),
                ) == 0
            })
            .ok_or_else(|| fail("binding the container's root"))?;
        pivot_into(at).map_err(|_| fail("pivoting into the container's root"))?;
        // struct mount_attr: attr_set, attr_clr, propagation, userns_fd.
        const MOUNT_ATTR_RDONLY: u64 = 1;
        const MOUNT_ATTR_NOSUID: u64 = 2;
        const MOUNT_ATTR_NODEV: u64 = 4;
        const MOUNT_ATTR_NOEXEC: u64 = 8;
        let rdonly = if writable { 0 } else { MOUNT_ATTR_RDONLY };
        let attr: [u64; 4] = [
            rdonly | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
            0,
            0,
            0,
        ];
        if libc::syscall(
            libc::SYS_mount_setattr,
            libc::AT_FDCWD,
            c"/".as_ptr(),
            libc::AT_RECURSIVE,
            attr.as_ptr(),
            std::mem::size_of_val(&attr),
        ) != 0
        {
            return Err(fail("making the container's mounts read-only"));
        }
    }
    Ok(())
}

/// `path` opened `O_PATH` with no symlink anywhere in it (`openat2`'s
/// `RESOLVE_NO_SYMLINKS`): the caller canonicalized it, so a symlink now
/// is one the host swapped in meanwhile, and is refused.
fn open_no_symlinks(path: &std::ffi::CStr) -> Result<i32, String> {
    const RESOLVE_NO_SYMLINKS: u64 = 0x04;
    // struct open_how: flags, mode, resolve.
    let how: [u64; 3] = [
        (libc::O_PATH | libc::O_CLOEXEC) as u64,
        0,
        RESOLVE_NO_SYMLINKS,
    ];
    // SAFETY: openat2 with a NUL-terminated path and an open_how of the
    // size given; the result is checked.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            libc::AT_FDCWD,
            path.as_ptr(),
            how.as_ptr(),
            std::mem::size_of_val(&how),
        )
    };
    if fd < 0 {
        return Err(fail(&format!("opening {path:?} (no symlinks allowed)")));
    }
    Ok(fd as i32)
}

/// The gofer's view for a bind mount of a single host file (at `path`,
/// named `name`): a private mount namespace
/// whose root is a tiny read-only tmpfs holding only an entry `name`,
/// with the host file bound on it (read-only unless `writable`; never
/// devices, set-id or execution). Nothing else of the host, not even the
/// file's own directory, is in reach of the gofer.
fn pivot_to_single_file(path: &CStr, name: &CStr, writable: bool) -> Result<(), String> {
    // SAFETY: unshare/mount/open/mknodat/pivot_root/umount2 with static or
    // owned strings and descriptors of our own; every result is checked.
    unsafe {
        if libc::unshare(libc::CLONE_NEWNS) != 0 {
            return Err(fail("unshare(mount namespace)"));
        }
        make_mounts_private()?;
        // Opened in the new namespace (a bind mount's source must be in
        // the caller's), and bound from that descriptor below.
        let file = open_no_symlinks(path)?;
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstat(file, &mut st) != 0 || st.st_mode & libc::S_IFMT != libc::S_IFREG {
            libc::close(file);
            return Err(format!("{path:?} is no longer a regular file"));
        }
        let r = bind_single_file(file, name, writable);
        libc::close(file);
        r
    }
}

/// [`pivot_to_single_file`] once the namespace is made and the file open.
fn bind_single_file(file: i32, name: &CStr, writable: bool) -> Result<(), String> {
    // SAFETY: as in `pivot_to_single_file`.
    unsafe {
        let flags = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
        let at = NEW_ROOT_AT
            .iter()
            .find(|d| {
                libc::mount(
                    c"rvisor-file".as_ptr(),
                    d.as_ptr(),
                    c"tmpfs".as_ptr(),
                    flags,
                    c"size=4k,nr_inodes=2,mode=0555".as_ptr().cast(),
                ) == 0
            })
            .ok_or_else(|| fail("mounting the single file's root"))?;
        let dir = libc::open(
            at.as_ptr(),
            libc::O_DIRECTORY | libc::O_PATH | libc::O_CLOEXEC,
        );
        if dir < 0 {
            return Err(fail("opening the single file's root"));
        }
        let made = libc::mknodat(dir, name.as_ptr(), libc::S_IFREG, 0);
        libc::close(dir);
        if made != 0 {
            return Err(fail("making the single file's mount point"));
        }
        if libc::mount(
            std::ptr::null(),
            at.as_ptr(),
            std::ptr::null(),
            libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY | flags,
            std::ptr::null(),
        ) != 0
        {
            return Err(fail("making the single file's root read-only"));
        }
        // The file as opened (a path through /proc/self/fd, which the
        // mount follows to that very inode): no second lookup of its
        // host path, which the host may have changed since.
        let source = std::ffi::CString::new(format!("/proc/self/fd/{file}"))
            .map_err(|_| "bad descriptor path".to_string())?;
        let mut target = at.to_bytes().to_vec();
        target.push(b'/');
        target.extend_from_slice(name.to_bytes());
        let target = std::ffi::CString::new(target).map_err(|_| "bad file name".to_string())?;
        if libc::mount(
            source.as_ptr(),
            target.as_ptr(),
            std::ptr::null(),
            libc::MS_BIND,
            std::ptr::null(),
        ) != 0
        {
            return Err(fail("binding the single file"));
        }
        let mut bind_flags = libc::MS_REMOUNT | libc::MS_BIND | flags;
        if !writable {
            bind_flags |= libc::MS_RDONLY;
        }
        if libc::mount(
            std::ptr::null(),
            target.as_ptr(),
            std::ptr::null(),
            bind_flags,
            std::ptr::null(),
        ) != 0
        {
            return Err(fail("setting the single file's mount flags"));
        }
        pivot_into(at).map_err(|_| fail("pivoting into the single file's root"))?;
    }
    Ok(())
}

/// The highest capability number this kernel knows.
fn last_cap() -> u32 {
    // The file is gone after the pivot: probe instead (PR_CAPBSET_READ
    // fails with EINVAL past the last one).
    // SAFETY: prctl reads only.
    (0..64u32)
        .take_while(
            |&c| unsafe { libc::prctl(libc::PR_CAPBSET_READ, c as libc::c_ulong, 0, 0, 0) } >= 0,
        )
        .last()
        .unwrap_or(40)
}

/// What a writable gofer keeps (bits by capability number): give a file
/// the owner and mode the sandbox asks for (`CAP_CHOWN`, `CAP_FOWNER`,
/// `CAP_FSETID`: set-id bits survive), and write where the sandbox's
/// root may, whatever the host's permission bits (`CAP_DAC_OVERRIDE`:
/// the sentry has checked the sandbox's own credentials already).
pub const GOFER_WRITE_CAPS: u64 = 1 << 0 | 1 << 1 | 1 << 3 | 1 << 4;

/// Gives up every capability (effective, permitted, inheritable, ambient
/// and bounding sets) and sets `no_new_privs`. The sentry needs none: it
/// traces and signals stubs as their parent with the same user ID, and
/// gets host files from the gofer.
pub fn drop_privileges() -> Result<(), String> {
    keep_only_caps(0)
}

/// [`drop_privileges`], keeping the capabilities of `keep` (bits by
/// number) in the effective, permitted and bounding sets.
pub fn keep_only_caps(keep: u64) -> Result<(), String> {
    // SAFETY: prctl/capset on this process with live structs; checked.
    unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        );
        for cap in (0..=last_cap()).filter(|&c| keep & (1u64 << c) == 0) {
            if libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) != 0 {
                return Err(fail("dropping the bounding set"));
            }
        }
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            return Err(fail("setting no_new_privs"));
        }
        // struct __user_cap_header_struct + two data words (version 3).
        let header: [u32; 2] = [0x2008_0522, 0];
        // Two structs of (effective, permitted, inheritable): caps 0-31,
        // then 32-63.
        let (lo, hi) = (keep as u32, (keep >> 32) as u32);
        let data = [lo, lo, 0, hi, hi, 0];
        if libc::syscall(libc::SYS_capset, header.as_ptr(), data.as_ptr()) != 0 {
            return Err(fail("dropping capabilities"));
        }
    }
    Ok(())
}
