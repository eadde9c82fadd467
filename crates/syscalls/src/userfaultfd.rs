//! userfaultfd(2): a descriptor through which a thread of the program
//! serves the missing-page faults of ranges it registers
//! (`vfs::userfaultfd`, `mm::Userfault`; the fault side is in the
//! kernel's task loop).

use abi::fs::{O_CLOEXEC, O_NONBLOCK};
use abi::mman::UFFD_USER_MODE_ONLY;
use abi::{Errno, SysResult};
use kernel::Task;

pub fn userfaultfd(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let flags = a[0] as i32 as u32;
    if flags & !(O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY) != 0 {
        return Err(Errno::EINVAL);
    }
    // As Linux with vm.unprivileged_userfaultfd = 0: handling faults of
    // kernel accesses too needs CAP_SYS_PTRACE.
    if flags & UFFD_USER_MODE_ONLY == 0 && !t.capable(kernel::task::CAP_SYS_PTRACE) {
        return Err(Errno::EPERM);
    }
    let id = t.mm().id();
    let f = vfs::userfaultfd::new_file(id, flags & O_NONBLOCK);
    let lim = t.rlimit(abi::misc::RLIMIT_NOFILE).cur;
    t.fds()
        .install(f, flags & O_CLOEXEC != 0, 0, lim)
        .map(|fd| fd as u64)
}
