//! Landlock's three syscalls (ABI 3). The rules are enforced by the VFS
//! (`vfs::landlock`) through the domain carried in the task's credentials.

use std::sync::Arc;

use abi::fs::{O_PATH, O_RDWR};
use abi::{Errno, SysResult};
use kernel::Task;
use vfs::landlock::{Domain, Ruleset, RulesetFile, ABI_VERSION};
use vfs::File;

use crate::util;

const CREATE_RULESET_VERSION: u32 = 1 << 0;
const RULE_PATH_BENEATH: u64 = 1;
/// `struct landlock_ruleset_attr` as of ABI 3: `handled_access_fs` only.
const RULESET_ATTR_SIZE: usize = 8;
/// `struct landlock_path_beneath_attr` (packed): access, parent fd.
const PATH_BENEATH_ATTR_SIZE: usize = 12;
const PAGE_SIZE: usize = 4096;

/// The ruleset behind `fd` as Linux's `get_ruleset_from_fd` finds it:
/// `EBADF` for no descriptor (or an `O_PATH` one), `EBADFD` for another
/// kind of file, `EPERM` without the access mode asked for.
fn ruleset_of(t: &Task, fd: u64, write: bool) -> SysResult<Arc<Ruleset>> {
    let f = util::file(t, fd as i32 as u64)?;
    if f.flags() & O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    let rs = f
        .ops
        .as_any()
        .and_then(|a| a.downcast_ref::<RulesetFile>())
        .ok_or(Errno::EBADFD)?;
    if !(if write { f.writable() } else { f.readable() }) {
        return Err(Errno::EPERM);
    }
    Ok(rs.0.clone())
}

pub fn landlock_create_ruleset(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (attr, size, flags) = (a[0], a[1] as usize, a[2] as u32);
    if flags != 0 {
        if attr != 0 || size != 0 {
            return Err(Errno::EINVAL);
        }
        return match flags {
            CREATE_RULESET_VERSION => Ok(ABI_VERSION),
            _ => Err(Errno::EINVAL),
        };
    }
    // `copy_min_struct_from_user`: a larger struct than ours must be
    // zero past what we know.
    if attr == 0 {
        return Err(Errno::EFAULT);
    }
    if size < RULESET_ATTR_SIZE {
        return Err(Errno::EINVAL);
    }
    if size > PAGE_SIZE {
        return Err(Errno::E2BIG);
    }
    let mut buf = [0u8; PAGE_SIZE];
    t.mm().copy_in(attr, &mut buf[..size])?;
    if buf[RULESET_ATTR_SIZE..size].iter().any(|&b| b != 0) {
        return Err(Errno::E2BIG);
    }
    let mut handled = [0u8; 8];
    handled.copy_from_slice(&buf[..8]);
    let rs = Ruleset::new(u64::from_ne_bytes(handled))?;
    let f = File::new(None, O_RDWR, Box::new(RulesetFile(rs)));
    let lim = t.rlimit(abi::misc::RLIMIT_NOFILE).cur;
    t.fds().install(f, true, 0, lim).map(|fd| fd as u64)
}

pub fn landlock_add_rule(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    if a[3] as u32 != 0 {
        return Err(Errno::EINVAL);
    }
    let rs = ruleset_of(t, a[0], true)?;
    if a[1] as u32 as u64 != RULE_PATH_BENEATH {
        return Err(Errno::EINVAL);
    }
    let mut attr = [0u8; PATH_BENEATH_ATTR_SIZE];
    t.mm().copy_in(a[2], &mut attr)?;
    let access = u64::from_ne_bytes(attr[..8].try_into().map_err(|_| Errno::EFAULT)?);
    let parent_fd = i32::from_ne_bytes(attr[8..].try_into().map_err(|_| Errno::EFAULT)?);
    // Checked before the descriptor, as Linux does.
    if access == 0 {
        return Err(Errno::ENOMSG);
    }
    if access | rs.handled != rs.handled {
        return Err(Errno::EINVAL);
    }
    // Any descriptor with a path, `O_PATH` ones included; not a ruleset,
    // pipe, socket or other file without one.
    let f = util::file(t, parent_fd as u64)?;
    let d = match &f.dentry {
        Some(d) if f.ops.as_any().is_none_or(|a| !a.is::<RulesetFile>()) => d.clone(),
        _ => return Err(Errno::EBADFD),
    };
    rs.add_path_beneath(&d, access).map(|_| 0)
}

pub fn landlock_restrict_self(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    if a[1] as u32 != 0 {
        return Err(Errno::EINVAL);
    }
    if !t.no_new_privs && !t.capable(kernel::task::CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    let rs = ruleset_of(t, a[0], false)?;
    let dom = Domain::stack(t.creds.landlock.as_ref(), &rs)?;
    // Credentials are per thread: only the caller is restricted; threads
    // and processes it makes from now on inherit the domain.
    *kernel::task::lock(&t.shared.landlock) = Some(dom.clone());
    t.creds.landlock = Some(dom);
    Ok(0)
}
