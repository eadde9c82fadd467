//! Signal syscalls.

use abi::signal::*;
use abi::{Errno, SysResult};
use kernel::signal::check_sig;
use kernel::task::lock;
use kernel::Task;

use crate::util;

pub fn rt_sigaction(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let sig = check_sig(a[0] as i32)?;
    if a[3] != 8 {
        return Err(Errno::EINVAL);
    }
    let new = if a[1] != 0 {
        Some(util::read_obj::<SigAction>(t, a[1])?)
    } else {
        None
    };
    if new.is_some() && (sig == SIGKILL || sig == SIGSTOP) {
        return Err(Errno::EINVAL);
    }
    let old = {
        let mut h = lock(&t.sighand);
        let old = h.action(sig);
        if let Some(mut n) = new {
            n.mask &= !SigSet::UNBLOCKABLE.0;
            h.actions[(sig - 1) as usize] = n;
        }
        old
    };
    if let Some(n) = new {
        // Setting a signal to "ignore" discards pending instances.
        if n.handler == SIG_IGN
            || (n.handler == SIG_DFL && matches!(sig, SIGCHLD | SIGURG | SIGWINCH))
        {
            lock(&t.shared.pending).remove(sig);
            t.tg().lock().pending.remove(sig);
        }
    }
    if a[2] != 0 {
        util::write_obj(t, a[2], &old)?;
    }
    Ok(0)
}

pub fn rt_sigprocmask(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    if a[3] != 8 {
        return Err(Errno::EINVAL);
    }
    let old = t.mask();
    if a[1] != 0 {
        let set: u64 = util::read_obj(t, a[1])?;
        let new = match a[0] as i32 {
            SIG_BLOCK => old.0 | set,
            SIG_UNBLOCK => old.0 & !set,
            SIG_SETMASK => set,
            _ => return Err(Errno::EINVAL),
        };
        t.set_mask(SigSet(new));
    }
    if a[2] != 0 {
        util::write_obj(t, a[2], &old.0)?;
    }
    Ok(0)
}

pub fn rt_sigreturn(t: &mut Task, _a: [u64; 6]) -> SysResult<u64> {
    match t.sigreturn() {
        Ok(v) => Ok(v),
        Err(_) => {
            // A corrupt frame: Linux kills with SIGSEGV.
            t.force_signal(SigInfo::new(SIGSEGV, SI_KERNEL));
            t.regs_replaced = true;
            Ok(0)
        }
    }
}

pub fn rt_sigpending(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    if a[1] > 8 {
        return Err(Errno::EINVAL);
    }
    let set = t.shared.pending_set().0;
    let set = set & t.mask().0;
    let bytes = set.to_le_bytes();
    t.mm().copy_out(a[0], &bytes[..a[1] as usize]).map(|_| 0)
}

pub fn rt_sigsuspend(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    if a[1] != 8 {
        return Err(Errno::EINVAL);
    }
    let set: u64 = util::read_obj(t, a[0])?;
    let old = t.mask();
    t.saved_mask = Some(old);
    t.set_mask(SigSet(set));
    let waiter = t.shared.waiter.clone();
    while !t.interrupted() {
        waiter.wait(None);
    }
    Err(Errno::ERESTARTNOHAND)
}

pub fn pause(t: &mut Task, _a: [u64; 6]) -> SysResult<u64> {
    let waiter = t.shared.waiter.clone();
    while !t.interrupted() {
        waiter.wait(None);
    }
    Err(Errno::ERESTARTNOHAND)
}

pub fn sigaltstack(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let old = t.altstack;
    let on = t.altstack.flags & SS_DISABLE == 0
        && t.regs.rsp > old.sp
        && t.regs.rsp <= old.sp + old.size;
    if a[0] != 0 {
        let new: SigAltStack = util::read_obj(t, a[0])?;
        if on {
            return Err(Errno::EPERM);
        }
        if new.flags & !(SS_DISABLE | (1 << 31)) != 0 {
            return Err(Errno::EINVAL);
        }
        if new.flags & SS_DISABLE != 0 {
            t.altstack = SigAltStack {
                flags: SS_DISABLE,
                ..Default::default()
            };
        } else {
            if new.size < MINSIGSTKSZ {
                return Err(Errno::ENOMEM);
            }
            t.altstack = SigAltStack {
                sp: new.sp,
                flags: 0,
                _pad: 0,
                size: new.size,
            };
        }
    }
    if a[1] != 0 {
        let mut o = old;
        if on {
            o.flags = SS_ONSTACK;
        }
        util::write_obj(t, a[1], &o)?;
    }
    Ok(0)
}

/// `rt_sigtimedwait(set, info, timeout, sigsetsize)`.
pub fn rt_sigtimedwait(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    if a[3] != 8 {
        return Err(Errno::EINVAL);
    }
    let set: u64 = util::read_obj(t, a[0])?;
    let set = SigSet(set & !SigSet::UNBLOCKABLE.0);
    let deadline = if a[2] == 0 {
        None
    } else {
        let ts: abi::time::Timespec = util::read_obj(t, a[2])?;
        let ns = ts.to_nanos().ok_or(Errno::EINVAL)?;
        Some(std::time::Instant::now() + std::time::Duration::from_nanos(ns as u64))
    };
    let not_set = SigSet(!set.0);
    let waiter = t.shared.waiter.clone();
    loop {
        let info = t.shared.take_pending(not_set);
        if let Some(info) = info {
            if a[1] != 0 {
                util::write_obj(t, a[1], &info)?;
            }
            return Ok(info.signo as u64);
        }
        if t.interrupted() {
            return Err(Errno::EINTR);
        }
        if deadline.is_some_and(|d| std::time::Instant::now() >= d) {
            return Err(Errno::EAGAIN);
        }
        waiter.wait(deadline);
    }
}

fn queue_info(t: &Task, sig: i32, addr: u64, to_self: bool) -> SysResult<SigInfo> {
    check_sig(sig)?;
    let mut info: SigInfo = util::read_obj(t, addr)?;
    // Only the kernel may claim kernel or kill() origins, except to itself.
    if (info.code >= 0 || info.code == SI_TKILL) && !to_self {
        return Err(Errno::EPERM);
    }
    info.signo = sig;
    Ok(info)
}

pub fn rt_sigqueueinfo(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let pid = a[0] as i32;
    let g = t.find_group(pid).ok_or(Errno::ESRCH)?;
    let info = queue_info(t, a[1] as i32, a[2], g.pid == t.pid())?;
    if !kernel::process::may_signal(t, &g, info.signo) {
        return Err(Errno::EPERM);
    }
    if info.signo != 0 {
        kernel::signal::send_to_group(&g, info);
    }
    Ok(0)
}

pub fn rt_tgsigqueueinfo(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (tgid, tid) = (a[0] as i32, a[1] as i32);
    if tgid <= 0 || tid <= 0 {
        return Err(Errno::EINVAL);
    }
    let target = t.find_task(tid).ok_or(Errno::ESRCH)?;
    if t.global_id(tgid) != Some(target.tg.pid) {
        return Err(Errno::ESRCH);
    }
    let info = queue_info(t, a[2] as i32, a[3], target.tid == t.tid())?;
    if !kernel::process::may_signal(t, &target.tg, info.signo) {
        return Err(Errno::EPERM);
    }
    if info.signo != 0 {
        kernel::signal::send_to_thread(&target, info);
    }
    Ok(0)
}

/// `signalfd4(fd, mask, sizemask, flags)`.
pub fn signalfd4(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    const SFD_CLOEXEC: u64 = 0o2000000;
    const SFD_NONBLOCK: u64 = 0o4000;
    if a[2] != 8 || a[3] & !(SFD_CLOEXEC | SFD_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let mask: u64 = util::read_obj(t, a[1])?;
    let mask = SigSet(mask & !SigSet::UNBLOCKABLE.0);
    if a[0] as i32 != -1 {
        let f = util::file(t, a[0])?;
        let sfd = f
            .ops
            .as_any()
            .and_then(|x| x.downcast_ref::<kernel::signalfd::SignalFd>())
            .ok_or(Errno::EINVAL)?;
        *lock(&sfd.mask) = mask;
        return Ok(a[0] as i32 as u64);
    }
    let flags = abi::fs::O_RDWR
        | if a[3] & SFD_NONBLOCK != 0 {
            abi::fs::O_NONBLOCK
        } else {
            0
        };
    let f = vfs::File::new(
        None,
        flags,
        Box::new(kernel::signalfd::SignalFd::new(&t.shared, mask)),
    );
    let lim = t.rlimit(abi::misc::RLIMIT_NOFILE).cur;
    t.fds()
        .install(f, a[3] & SFD_CLOEXEC != 0, 0, lim)
        .map(|fd| fd as u64)
}

pub fn signalfd(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    signalfd4(t, [a[0], a[1], a[2], 0, 0, 0])
}
