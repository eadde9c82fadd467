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

/// `unshare`: new UTS, IPC, mount, user, network and cgroup namespaces for
/// the calling task (threads it makes later inherit them); a private copy
/// of a shared file-system context (`CLONE_FS`, implied by `CLONE_NEWNS`
/// and `CLONE_NEWUSER`) or descriptor table (`CLONE_FILES`).
/// `CLONE_SYSVSEM` has nothing to undo: semaphore undo lists are never
/// shared here. Pid and time namespaces are not supported yet: `EINVAL`,
/// what Linux says for a kind it was built without.
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
    if flags & !known != 0 || flags & (CLONE_NEWPID | CLONE_NEWTIME) != 0 {
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
    if flags & CLONE_FS != 0 && Arc::strong_count(&t.fs) > 1 {
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
        t.caps = Caps {
            effective: ALL_CAPS,
            permitted: ALL_CAPS,
            inheritable: 0,
        };
        t.publish_creds();
    }
    Ok(0)
}
