//! `seccomp(2)` and `PR_SET_SECCOMP`: filters applied by the sentry to the
//! calling task's syscalls.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use abi::misc::wait;
use abi::signal::{SigInfo, SIGSYS};
use abi::{Errno, SysResult};
use kernel::seccomp::*;
use kernel::task::Exit;
use kernel::Task;

use crate::util;

const SET_MODE_STRICT: u64 = 0;
const SET_MODE_FILTER: u64 = 1;
const GET_ACTION_AVAIL: u64 = 2;
const GET_NOTIF_SIZES: u64 = 3;
const FLAG_TSYNC: u64 = 1;
const FLAG_LOG: u64 = 2;
const FLAG_SPEC_ALLOW: u64 = 4;
const FLAG_NEW_LISTENER: u64 = 8;
const FLAG_TSYNC_ESRCH: u64 = 16;
const FLAG_WAIT_KILLABLE_RECV: u64 = 32;
const SYS_SECCOMP: i32 = 1;

/// Applies the task's filters to the syscall about to run. `None`: go on
/// and run it; `Some(r)`: the filters decided the result.
pub fn check(t: &mut Task, nr: u64, args: &[u64; 6]) -> Option<SysResult<u64>> {
    check_as(t, nr, args, false)
}

/// `after_trace`: the tracer already saw this call (a second
/// `SECCOMP_RET_TRACE` then allows it, as Linux's re-check does).
fn check_as(t: &mut Task, nr: u64, args: &[u64; 6], after_trace: bool) -> Option<SysResult<u64>> {
    let d = Data {
        nr: nr as i32,
        arch: AUDIT_ARCH_X86_64,
        ip: t.regs.rip,
        args: *args,
    };
    let action = evaluate(&t.seccomp, &d);
    let data = action & SECCOMP_RET_DATA;
    match action & SECCOMP_RET_ACTION_FULL {
        SECCOMP_RET_ALLOW | SECCOMP_RET_LOG => None,
        SECCOMP_RET_ERRNO => Some(Err(Errno(data.min(4095) as i32))),
        SECCOMP_RET_TRAP => {
            let mut info = SigInfo::new(SIGSYS, SYS_SECCOMP);
            info.errno = data as i32;
            info.fields[0] = t.regs.rip;
            info.fields[1] = (nr as u32 as u64) | ((AUDIT_ARCH_X86_64 as u64) << 32);
            t.force_signal(info);
            // The call does not run; rax keeps the syscall number as Linux
            // leaves it for the handler to change.
            t.regs.rax = nr;
            t.regs_replaced = true;
            Some(Ok(nr))
        }
        SECCOMP_RET_TRACE if after_trace => None,
        SECCOMP_RET_TRACE => {
            if !t.ptrace_seccomp(data) {
                return Some(Err(Errno::ENOSYS));
            }
            if t.shared.killed.load(std::sync::atomic::Ordering::Relaxed) {
                return Some(Ok(t.regs.rax));
            }
            // The tracer may have changed the call: -1 skips it (rax is
            // the result), anything else is filtered again.
            let nr = t.regs.orig_rax;
            if nr == u64::MAX {
                return Some(Ok(t.regs.rax));
            }
            let args = t.regs.syscall_args();
            check_as(t, nr, &args, true)
        }
        SECCOMP_RET_USER_NOTIF => Some(Err(Errno::ENOSYS)),
        // SECCOMP_RET_KILL_THREAD ends only the calling thread while
        // others live (Linux's do_exit(SIGSYS)); the last thread, like
        // SECCOMP_RET_KILL_PROCESS, takes the process down with SIGSYS.
        SECCOMP_RET_KILL_THREAD if t.tg().lock().threads.len() > 1 => {
            t.exit = Some(Exit::Thread(0));
            Some(Ok(0))
        }
        _ => {
            let core = t.rlimit(abi::misc::RLIMIT_CORE).cur > 0;
            t.exit = Some(Exit::Group(wait::signaled(SIGSYS, core)));
            Some(Ok(0))
        }
    }
}

/// Reads and checks a `struct sock_fprog` in Linux's order: the header
/// (EFAULT), its length (EINVAL), the caller's right to filter (EACCES),
/// then the instructions (EFAULT, EINVAL).
fn read_prog(t: &mut Task, prog_addr: u64) -> SysResult<Arc<[Insn]>> {
    let hdr: [u64; 2] = util::read_obj(t, prog_addr)?;
    let len = (hdr[0] & 0xffff) as usize;
    if len == 0 || len > 4096 {
        return Err(Errno::EINVAL);
    }
    if !t.no_new_privs && !t.capable(kernel::task::CAP_SYS_ADMIN) {
        return Err(Errno::EACCES);
    }
    let mut prog = vec![Insn::default(); len];
    {
        let mut mm = t.mm();
        for (i, insn) in prog.iter_mut().enumerate() {
            *insn = mm.read_obj(hdr[1] + i as u64 * 8)?;
        }
    }
    validate(&prog)?;
    Ok(Arc::from(prog))
}

/// Takes filters another thread synchronised into this one (TSYNC).
/// Called before each syscall the flag is set for.
#[cold]
pub fn take_sync(t: &mut Task) {
    let (chain, nnp) = {
        let g = kernel::task::lock(&t.shared.seccomp_chain);
        t.shared.seccomp_sync.store(false, Ordering::Release);
        g.clone()
    };
    t.seccomp = chain;
    t.no_new_privs |= nnp;
    t.publish_creds();
}

/// Whether `theirs` is an ancestor of `ours`: the same filters, oldest
/// first, as Linux's `is_ancestor` on its shared filter tree.
fn is_prefix(theirs: &[Arc<[Insn]>], ours: &[Arc<[Insn]>]) -> bool {
    theirs.len() <= ours.len() && theirs.iter().zip(ours).all(|(a, b)| Arc::ptr_eq(a, b))
}

fn install(t: &mut Task, flags: u64, prog_addr: u64) -> SysResult<u64> {
    let prog = read_prog(t, prog_addr)?;
    // Strict mode cannot be left for filter mode.
    if t.shared.shown_seccomp.load(Ordering::Relaxed) == 1 {
        return Err(Errno::EINVAL);
    }
    let total: usize = t.seccomp.iter().map(|f| f.len() + 4).sum::<usize>() + prog.len();
    if total > 32768 {
        return Err(Errno::ENOMEM);
    }
    if flags & FLAG_TSYNC == 0 {
        let mut mirror = kernel::task::lock(&t.shared.seccomp_chain);
        // A synchronisation that raced with this call comes first.
        if t.shared.seccomp_sync.swap(false, Ordering::AcqRel) {
            t.seccomp = mirror.0.clone();
            t.no_new_privs |= mirror.1;
        }
        t.seccomp.push(prog);
        mirror.0 = t.seccomp.clone();
        drop(mirror);
        t.publish_creds();
        return Ok(0);
    }
    // TSYNC: every other thread must run no filter or an ancestor of the
    // caller's; then all of them get the caller's new chain.
    let tg = t.tg().clone();
    let g = tg.lock();
    let others: Vec<_> = g
        .threads
        .iter()
        .filter(|s| s.tid != t.tid() && !s.exec_exit.load(Ordering::Relaxed))
        .cloned()
        .collect();
    if t.shared.seccomp_sync.swap(false, Ordering::AcqRel) {
        let mirror = kernel::task::lock(&t.shared.seccomp_chain);
        t.seccomp = mirror.0.clone();
        t.no_new_privs |= mirror.1;
    }
    for s in &others {
        let strict = s.shown_seccomp.load(Ordering::Relaxed) == 1;
        if strict || !is_prefix(&kernel::task::lock(&s.seccomp_chain).0, &t.seccomp) {
            return if flags & FLAG_TSYNC_ESRCH != 0 {
                Err(Errno::ESRCH)
            } else {
                Ok(s.tid as u64)
            };
        }
    }
    t.seccomp.push(prog);
    *kernel::task::lock(&t.shared.seccomp_chain) = (t.seccomp.clone(), t.no_new_privs);
    for s in &others {
        *kernel::task::lock(&s.seccomp_chain) = (t.seccomp.clone(), t.no_new_privs);
        s.seccomp_sync.store(true, Ordering::Release);
    }
    drop(g);
    t.publish_creds();
    Ok(0)
}

/// The filter strict mode amounts to: read, write, exit, rt_sigreturn.
fn strict_filter() -> Arc<[Insn]> {
    let ld = Insn {
        code: 0x20,
        jt: 0,
        jf: 0,
        k: 0,
    };
    let mut p = vec![ld];
    for nr in [0u32, 1, 60, 15] {
        p.push(Insn {
            code: 0x15,
            jt: 4 - (p.len() as u8 - 1),
            jf: 0,
            k: nr,
        });
    }
    p.push(Insn {
        code: 0x06,
        jt: 0,
        jf: 0,
        k: SECCOMP_RET_KILL_PROCESS,
    });
    p.push(Insn {
        code: 0x06,
        jt: 0,
        jf: 0,
        k: SECCOMP_RET_ALLOW,
    });
    Arc::from(p)
}

pub fn seccomp(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    match a[0] {
        SET_MODE_STRICT => {
            // Strict mode cannot follow filter mode.
            if a[1] != 0 || a[2] != 0 || !t.seccomp.is_empty() {
                return Err(Errno::EINVAL);
            }
            t.seccomp.push(strict_filter());
            *kernel::task::lock(&t.shared.seccomp_chain) = (t.seccomp.clone(), t.no_new_privs);
            t.shared.shown_seccomp.store(1, Ordering::Relaxed);
            Ok(0)
        }
        SET_MODE_FILTER => {
            let known = FLAG_TSYNC
                | FLAG_LOG
                | FLAG_SPEC_ALLOW
                | FLAG_NEW_LISTENER
                | FLAG_TSYNC_ESRCH
                | FLAG_WAIT_KILLABLE_RECV;
            let f = a[1];
            if f & !known != 0
                || (f & FLAG_TSYNC != 0 && f & FLAG_NEW_LISTENER != 0 && f & FLAG_TSYNC_ESRCH == 0)
                || (f & FLAG_WAIT_KILLABLE_RECV != 0 && f & FLAG_NEW_LISTENER == 0)
            {
                return Err(Errno::EINVAL);
            }
            // User notification (a listener descriptor the supervisor
            // reads) is not implemented: refused as by a kernel without it.
            if f & FLAG_NEW_LISTENER != 0 {
                return Err(Errno::EINVAL);
            }
            install(t, f, a[2])
        }
        GET_ACTION_AVAIL => {
            if a[1] != 0 {
                return Err(Errno::EINVAL);
            }
            let action: u32 = util::read_obj(t, a[2])?;
            match action {
                SECCOMP_RET_KILL_PROCESS
                | SECCOMP_RET_KILL_THREAD
                | SECCOMP_RET_TRAP
                | SECCOMP_RET_ERRNO
                | SECCOMP_RET_TRACE
                | SECCOMP_RET_LOG
                | SECCOMP_RET_ALLOW => Ok(0),
                _ => Err(Errno::EOPNOTSUPP),
            }
        }
        GET_NOTIF_SIZES => {
            if a[1] != 0 {
                return Err(Errno::EINVAL);
            }
            // struct seccomp_notif, seccomp_notif_resp, seccomp_data: the
            // layout facts, though no listener can be created.
            let sizes: [u16; 3] = [80, 24, 64];
            util::write_obj(t, a[2], &sizes)?;
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// `prctl(PR_SET_SECCOMP, mode, prog)`.
pub fn prctl_set(t: &mut Task, mode: u64, prog: u64) -> SysResult<u64> {
    match mode {
        1 => seccomp(t, [SET_MODE_STRICT, 0, 0, 0, 0, 0]),
        2 => seccomp(t, [SET_MODE_FILTER, 0, prog, 0, 0, 0]),
        _ => Err(Errno::EINVAL),
    }
}
