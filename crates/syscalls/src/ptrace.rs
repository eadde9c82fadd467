//! `ptrace` and cross-process memory access (`process_vm_readv/writev`).

use abi::{Errno, SysResult};
use kernel::Task;

use crate::file::iovecs;

/// `ptrace(request, pid, addr, data)`.
pub fn ptrace(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    kernel::ptrace::ptrace(t, a[0] as i64, a[1] as i32, a[2], a[3])
}

fn process_vm(t: &mut Task, a: [u64; 6], write: bool) -> SysResult<u64> {
    if a[5] != 0 {
        return Err(Errno::EINVAL);
    }
    let local: Vec<(u64, u64)> = iovecs(t, a[1], a[2])?
        .iter()
        .map(|v| (v.base, v.len))
        .collect();
    let remote: Vec<(u64, u64)> = iovecs(t, a[3], a[4])?
        .iter()
        .map(|v| (v.base, v.len))
        .collect();
    kernel::ptrace::process_vm(t, a[0] as i32, &local, &remote, write)
}

/// `process_vm_readv(pid, local_iov, liovcnt, remote_iov, riovcnt, flags)`.
pub fn process_vm_readv(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    process_vm(t, a, false)
}

pub fn process_vm_writev(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    process_vm(t, a, true)
}
