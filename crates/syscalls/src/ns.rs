//! Namespaces: `unshare` (the namespace flags).

use abi::{Errno, SysResult};
use kernel::process::*;
use kernel::task::lock;
use kernel::Task;

/// Namespace kinds Linux knows; `CLONE_NEWTIME` shares a bit with
/// `CSIGNAL`'s range, so it is only a namespace flag for `unshare`.
const CLONE_NEWTIME: u64 = 0x80;

/// `unshare`: UTS and IPC namespaces are made afresh for the calling
/// task (threads it makes later inherit them, as on Linux). Mount, pid,
/// network, user, cgroup and time namespaces are not supported yet:
/// `EINVAL`, what Linux says for a kind it was built without.
pub fn unshare(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let flags = a[0];
    let supported = CLONE_NEWUTS | CLONE_NEWIPC;
    let unsupported_ns =
        CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP | CLONE_NEWTIME;
    // The other flags (`CLONE_FS`, `CLONE_FILES`, `CLONE_SYSVSEM`, and
    // the thread ones) are not served here yet.
    if flags & !supported != 0 || flags & unsupported_ns != 0 {
        return Err(Errno::EINVAL);
    }
    let ns = kernel::ns::for_child(t, flags)?;
    *lock(&t.shared.ns) = ns;
    Ok(0)
}
