//! Namespaces: `unshare`, `setns`.

use std::sync::{Arc, Mutex};

use abi::{Errno, SysResult};
use kernel::process::*;
use kernel::task::{lock, Caps, ALL_CAPS};
use kernel::Task;

/// `CLONE_NEWTIME` shares a bit with `CSIGNAL`'s range, so it is only a
/// namespace flag for `unshare`.
const CLONE_NEWTIME: u64 = 0x80;

/// Gives the calling task the namespaces `ns`, entering its mount
/// namespace on this host thread.
pub(crate) fn enter(t: &mut Task, ns: Arc<kernel::ns::Namespaces>) {
    vfs::mount::set_current(ns.mnt.ns.clone());
    *lock(&t.shared.ns) = ns;
}

/// A task that entered a new user namespace holds every capability in it,
/// and its securebits start over (Linux's `set_cred_user_ns`): the
/// keep-capabilities flag is cleared.
fn all_caps(t: &mut Task) {
    t.caps = Caps {
        effective: ALL_CAPS,
        permitted: ALL_CAPS,
        inheritable: 0,
    };
    t.tg().lock().keepcaps = false;
    t.publish_creds();
}

/// Whether another task shares the caller's root and working directory
/// (`CLONE_FS`): the task and its `/proc` view hold two references.
fn fs_shared(t: &Task) -> bool {
    Arc::strong_count(&t.fs) > 2
}

/// `unshare`: new UTS, IPC, mount, user, network and cgroup namespaces for
/// the calling task (threads it makes later inherit them), a new pid
/// namespace for its next children (the first becomes its init); a private copy
/// of a shared file-system context (`CLONE_FS`, implied by `CLONE_NEWNS`
/// and `CLONE_NEWUSER`) or descriptor table (`CLONE_FILES`).
/// `CLONE_SYSVSEM` has nothing to undo: semaphore undo lists are never
/// shared here. Time namespaces are not supported yet: `EINVAL`, what
/// Linux says for a kind it was built without.
pub fn unshare(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let mut flags = a[0];
    let known = CLONE_THREAD
        | CLONE_FS
        | CLONE_NEWNS
        | CLONE_SIGHAND
        | CLONE_VM
        | CLONE_FILES
        | CLONE_SYSVSEM
        | CLONE_NEWUTS
        | CLONE_NEWIPC
        | CLONE_NEWNET
        | CLONE_NEWUSER
        | CLONE_NEWPID
        | CLONE_NEWCGROUP
        | CLONE_NEWTIME;
    if flags & !known != 0 || flags & CLONE_NEWTIME != 0 {
        return Err(Errno::EINVAL);
    }
    // Linux's implications: a user namespace needs an unshared thread and
    // file-system context, a mount namespace a private root and cwd.
    if flags & CLONE_NEWUSER != 0 {
        flags |= CLONE_THREAD | CLONE_FS;
    }
    if flags & CLONE_VM != 0 {
        flags |= CLONE_SIGHAND;
    }
    if flags & CLONE_SIGHAND != 0 {
        flags |= CLONE_THREAD;
    }
    if flags & CLONE_NEWNS != 0 {
        flags |= CLONE_FS;
    }
    // Threads, handlers and the address space cannot be unshared from
    // other threads.
    if flags & (CLONE_THREAD | CLONE_SIGHAND | CLONE_VM) != 0 && t.tg().lock().threads.len() > 1 {
        return Err(Errno::EINVAL);
    }
    let (ns, new_user) = kernel::ns::for_child(t, flags)?;
    if flags & CLONE_FS != 0 && fs_shared(t) {
        let copy = t.fs().clone();
        t.fs = Arc::new(Mutex::new(copy));
        *lock(&t.shared.fsctx) = Some(t.fs.clone());
    }
    if flags & CLONE_FILES != 0 && Arc::strong_count(&t.fds) > 1 {
        let copy = t.fds().clone();
        t.fds = Arc::new(Mutex::new(copy));
        *lock(&t.shared.files) = Some(t.fds.clone());
    }
    enter(t, ns);
    if new_user {
        all_caps(t);
    }
    Ok(0)
}

/// `setns`: enters the namespace an open `/proc/PID/ns/*` file refers to
/// (`nstype` 0 or its `CLONE_NEW*` flag), or those of the process a
/// pidfd refers to for each flag in `nstype`, with Linux's checks:
/// `CAP_SYS_ADMIN` over the namespace's owner and in the caller's own
/// user namespace (plus `CAP_SYS_CHROOT` for a mount namespace, whose
/// root becomes the caller's root and working directory); a user
/// namespace only a single-threaded caller not sharing its file-system
/// context enters, not its own, and it then holds every capability there.
pub fn setns(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let f = crate::util::file(t, a[0])?;
    let nstype = a[1];
    let cur = lock(&t.shared.ns).clone();
    let refs: Vec<kernel::ns::NsRef> = if let Some(r) = kernel::ns::of_file(&f) {
        if nstype != 0 && nstype != r.flag() {
            return Err(Errno::EINVAL);
        }
        vec![r]
    } else if let Ok(tg) = kernel::pidfd::target(&f) {
        let kinds = CLONE_NEWNS
            | CLONE_NEWUTS
            | CLONE_NEWIPC
            | CLONE_NEWNET
            | CLONE_NEWUSER
            | CLONE_NEWCGROUP
            | CLONE_NEWPID
            | CLONE_NEWTIME;
        if nstype == 0 || nstype & !kinds != 0 || nstype & CLONE_NEWTIME != 0 {
            return Err(Errno::EINVAL);
        }
        let leader = tg.lock().threads.first().cloned().ok_or(Errno::ESRCH)?;
        let theirs = lock(&leader.ns).clone();
        // The user namespace first: the others are checked with the
        // capabilities it gives. The pid namespace is the process's own.
        ["user", "mnt", "uts", "ipc", "net", "cgroup"]
            .iter()
            .filter_map(|k| kernel::ns::NsRef::of(&theirs, k))
            .chain(std::iter::once(kernel::ns::NsRef::Pid(tg.pidns.clone())))
            .filter(|r| nstype & r.flag() != 0)
            .collect()
    } else {
        return Err(Errno::EINVAL);
    };
    let mut n = (*cur).clone();
    let mut caps = t.caps.effective;
    let mut new_user = false;
    let mut new_root = None;
    let admin = kernel::task::CAP_SYS_ADMIN;
    for r in &refs {
        let own =
            |n: &kernel::ns::Namespaces, caps: u64, cap: u32| n.ns_capable(caps, &n.user, cap);
        if let kernel::ns::NsRef::User(u) = r {
            if Arc::ptr_eq(u, &n.user) {
                // Joining one's own user namespace from a pidfd is a
                // no-op; naming it directly is EINVAL.
                if refs.len() > 1 {
                    continue;
                }
                return Err(Errno::EINVAL);
            }
            if t.tg().lock().threads.len() > 1 || fs_shared(t) {
                return Err(Errno::EINVAL);
            }
            if !n.ns_capable(caps, u, admin) {
                return Err(Errno::EPERM);
            }
            n.user = u.clone();
            caps = ALL_CAPS;
            new_user = true;
            continue;
        }
        if !n.ns_capable(caps, &r.owner(), admin) || !own(&n, caps, admin) {
            return Err(Errno::EPERM);
        }
        match r {
            kernel::ns::NsRef::Mnt(m) => {
                if !own(&n, caps, kernel::task::CAP_SYS_CHROOT) {
                    return Err(Errno::EPERM);
                }
                if fs_shared(t) {
                    return Err(Errno::EINVAL);
                }
                new_root = Some(m.ns.root().root.clone());
                n.mnt = m.clone();
            }
            kernel::ns::NsRef::Uts(x) => n.uts = x.clone(),
            kernel::ns::NsRef::Ipc(x) => n.ipc = x.clone(),
            kernel::ns::NsRef::Net(x) => n.net = x.clone(),
            kernel::ns::NsRef::Cgroup(x) => n.cgroup = x.clone(),
            kernel::ns::NsRef::Pid(x) => {
                // Only the caller's own pid namespace or one below it.
                if !t.pidns().is_ancestor_of(x) {
                    return Err(Errno::EINVAL);
                }
                n.pid = x.clone();
            }
            kernel::ns::NsRef::User(_) => {}
        }
    }
    if let Some(root) = new_root {
        let mut fs = t.fs();
        fs.root = root.clone();
        fs.cwd = root;
    }
    enter(t, Arc::new(n));
    if new_user {
        all_caps(t);
    }
    Ok(0)
}
