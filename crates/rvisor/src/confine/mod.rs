//! Confinement of the sentry process itself, so that a bug in the sentry
//! is not host root (see `docs/security.md`, "The sentry's boundary" and
//! "The sentry's seccomp filter").
//!
//! In order, from `sandbox::run`:
//! 1. [`close_inherited`] and [`enter_namespaces`] first thing: fresh
//!    mount, IPC, UTS and network namespaces (the network one has only a
//!    loopback device, down: the sentry uses no host network), with every
//!    mount private so nothing propagates back to the host.
//! 2. Every host path the sentry needs is opened while the host's tree is
//!    still visible (the root directory descriptor, `/dev/null`, the
//!    standard streams' names, `/proc/cpuinfo`, the log file).
//! 3. [`pivot_to_empty_root`]: the sentry's root becomes an empty
//!    read-only tmpfs; host files are reached only beneath the root
//!    descriptor opened before.
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
/// mount private.
pub fn enter_namespaces() -> Result<(), String> {
    let flags = libc::CLONE_NEWNS | libc::CLONE_NEWIPC | libc::CLONE_NEWUTS | libc::CLONE_NEWNET;
    // SAFETY: unshare and mount with static strings; checked.
    unsafe {
        if libc::unshare(flags) != 0 {
            return Err(fail("unshare(mount, ipc, uts, net namespaces)"));
        }
        if libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        ) != 0
        {
            return Err(fail("making the mounts private"));
        }
    }
    Ok(())
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
        let old = libc::open(
            c"/".as_ptr(),
            libc::O_DIRECTORY | libc::O_PATH | libc::O_CLOEXEC,
        );
        if old < 0 {
            return Err(fail("opening /"));
        }
        // pivot_root(".", "."): the old root ends up stacked on the new
        // one, where it is detached below (no directory for it needed).
        let ok = libc::chdir(at.as_ptr()) == 0
            && libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c".".as_ptr()) == 0
            && libc::fchdir(old) == 0
            && libc::umount2(c".".as_ptr(), libc::MNT_DETACH) == 0
            && libc::chdir(c"/".as_ptr()) == 0;
        libc::close(old);
        if !ok {
            return Err(fail("pivoting into the empty root"));
        }
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

/// Gives up every capability (effective, permitted, inheritable, ambient
/// and bounding sets) and sets `no_new_privs`. The sentry needs none: it
/// traces and signals stubs as their parent with the same user ID, and
/// reads host files through the root descriptor with its user's rights.
pub fn drop_privileges() -> Result<(), String> {
    // SAFETY: prctl/capset on this process with live structs; checked.
    unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        );
        for cap in 0..=last_cap() {
            if libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) != 0 {
                return Err(fail("dropping the bounding set"));
            }
        }
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            return Err(fail("setting no_new_privs"));
        }
        // struct __user_cap_header_struct + two data words (version 3).
        let header: [u32; 2] = [0x2008_0522, 0];
        let data = [0u32; 6];
        if libc::syscall(libc::SYS_capset, header.as_ptr(), data.as_ptr()) != 0 {
            return Err(fail("dropping capabilities"));
        }
    }
    Ok(())
}
