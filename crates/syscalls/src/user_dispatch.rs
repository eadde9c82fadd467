//! Syscall user dispatch (`prctl(PR_SET_SYSCALL_USER_DISPATCH)`), as
//! Linux's `kernel/entry/syscall_user_dispatch.c`: a program (Wine, say)
//! asks for its syscalls to come back to it as `SIGSYS` unless they are
//! made from an allowed code range or a selector byte in its memory says
//! ALLOW. Checked on each syscall before seccomp, as Linux does; a task
//! without it pays one `Option` test. Turning it on stops syscall
//! patching in the address space (as a debugger does).

use abi::misc::wait;
use abi::signal::{SigInfo, SIGSEGV, SIGSYS};
use abi::{Errno, SysResult};
use kernel::task::{Exit, UserDispatch};
use kernel::Task;

const PR_SYS_DISPATCH_OFF: u64 = 0;
const PR_SYS_DISPATCH_ON: u64 = 1;
const SYSCALL_DISPATCH_FILTER_ALLOW: u8 = 0;
const SYSCALL_DISPATCH_FILTER_BLOCK: u8 = 1;
/// `si_code` of the `SIGSYS` a dispatched syscall raises.
const SYS_USER_DISPATCH: i32 = 2;
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// The end of the user address range (`TASK_SIZE_MAX`): `access_ok`.
const TASK_SIZE_MAX: u64 = 0x7fff_ffff_f000;

/// `prctl(PR_SET_SYSCALL_USER_DISPATCH, mode, offset, len, selector)`.
pub fn set(t: &mut Task, mode: u64, offset: u64, len: u64, selector: u64) -> SysResult<u64> {
    match mode {
        PR_SYS_DISPATCH_OFF => {
            if offset != 0 || len != 0 || selector != 0 {
                return Err(Errno::EINVAL);
            }
            t.user_dispatch = None;
        }
        PR_SYS_DISPATCH_ON => {
            // Only overflow and an empty range starting past 0 are
            // refused: a range the program can call from is valid.
            if offset != 0 && offset.wrapping_add(len) <= offset {
                return Err(Errno::EINVAL);
            }
            if selector != 0 && selector >= TASK_SIZE_MAX {
                return Err(Errno::EFAULT);
            }
            // The allowed range is judged by where the syscall
            // instruction is: a patched site enters through a trampoline
            // of the sentry's, whose address would be judged instead.
            t.mm().stop_syscall_patching();
            t.user_dispatch = Some(UserDispatch {
                offset,
                len,
                selector,
            });
        }
        _ => return Err(Errno::EINVAL),
    }
    Ok(0)
}

/// Whether the syscall `nr` about to run is dispatched: `Some(result)`
/// if it does not run (a `SIGSYS` is queued, or the task dies), `None` to
/// run it.
pub fn check(t: &mut Task, nr: u64, ud: UserDispatch) -> Option<SysResult<u64>> {
    // rip is past the syscall instruction, as Linux's
    // instruction_pointer(regs) at entry.
    let ip = t.regs.rip;
    if ip.wrapping_sub(ud.offset) < ud.len {
        return None;
    }
    if ud.selector != 0 {
        let mut b = [0u8; 1];
        if t.mm().copy_in(ud.selector, &mut b).is_err() {
            t.exit = Some(Exit::Group(wait::signaled(SIGSEGV, false)));
            return Some(Err(Errno::EFAULT));
        }
        match b[0] {
            SYSCALL_DISPATCH_FILTER_ALLOW => return None,
            SYSCALL_DISPATCH_FILTER_BLOCK => {}
            _ => {
                t.exit = Some(Exit::Group(wait::signaled(SIGSYS, false)));
                return Some(Err(Errno::EINVAL));
            }
        }
    }
    let mut info = SigInfo::new(SIGSYS, SYS_USER_DISPATCH);
    info.fields[0] = ip;
    info.fields[1] = (nr as u32 as u64) | ((AUDIT_ARCH_X86_64 as u64) << 32);
    t.force_signal(info);
    // syscall_rollback: the handler sees rax as the syscall number.
    t.regs.rax = nr;
    t.regs_replaced = true;
    Some(Ok(nr))
}
