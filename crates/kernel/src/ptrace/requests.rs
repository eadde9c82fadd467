//! The tracer's side: `ptrace` requests and `process_vm_readv/writev`.

use super::*;

/// Detaches `t`, resuming it with `sig` if it was stopped.
fn detach(tracer: &Arc<ThreadGroup>, t: &Arc<TaskShared>, sig: i32) {
    tracer.lock().tracees.retain(|x| !Arc::ptr_eq(x, t));
    {
        let mut tr = lock(&t.trace);
        let stopped = tr.stop.is_some();
        if tr.stepping {
            tr.regs.eflags &= !EFLAGS_TF;
            tr.regs_dirty = true;
        }
        let (regs, dirty, fp, fp_dirty, siginfo) = (
            tr.regs,
            tr.regs_dirty,
            tr.fp.take(),
            tr.fp_dirty,
            tr.siginfo,
        );
        *tr = Tracing {
            regs,
            regs_dirty: dirty,
            fp,
            fp_dirty,
            siginfo,
            sig: if stopped { sig } else { 0 },
            ..Default::default()
        };
    }
    t.traced.store(false, Ordering::Relaxed);
    t.kick();
}

/// Whether the tracee `target`'s process may be traced by `task`
/// (Linux's `ptrace_may_access` in attach mode, without an LSM).
fn may_access(task: &Task, target: &Arc<TaskShared>) -> bool {
    // Landlock first (an LSM applies even with CAP_SYS_PTRACE): a
    // landlocked tracer reaches only tasks in its domain or below.
    if !landlock_scoped(task.creds.landlock.as_ref(), target) {
        return false;
    }
    if task.capable(CAP_SYS_PTRACE) {
        return true;
    }
    let ids = target.ids.each_ref().map(|v| v.load(Ordering::Relaxed));
    let (uid, gid) = (task.creds.uid, task.creds.gid);
    let same = ids[..3].iter().all(|&u| u == uid) && ids[4..7].iter().all(|&g| g == gid);
    same && target.tg.lock().dumpable
}

fn attach(task: &mut Task, pid: i32, seize: bool, options: u32) -> SysResult<u64> {
    let target = task.find_task(pid).ok_or(Errno::ESRCH)?;
    if Arc::ptr_eq(&target.tg, task.tg()) {
        return Err(Errno::EPERM);
    }
    if target.tg.is_zombie() || target.killed.load(Ordering::Relaxed) {
        return Err(Errno::EPERM);
    }
    if !may_access(task, &target) {
        return Err(Errno::EPERM);
    }
    let tracer = task.tg().clone();
    // A process stopped by job control stays stopped: a seized task
    // reports that group stop first.
    let stopped = target.tg.lock().stopped;
    {
        let mut tr = lock(&target.trace);
        if tr.tracer.is_some() {
            return Err(Errno::EPERM);
        }
        *tr = Tracing {
            tracer: Some(tracer.clone()),
            seized: seize,
            options,
            interrupt: stopped.then_some(SIGSTOP),
            ..Default::default()
        };
    }
    target.traced.store(true, Ordering::Relaxed);
    stop_syscall_patching(&target);
    tracer.lock().tracees.push(target.clone());
    if !seize {
        lock(&target.pending).push(SigInfo::new(SIGSTOP, SI_USER));
    }
    // A task sleeping in a group stop wakes to report it.
    target.kick();
    Ok(0)
}

/// A debugger must see and step the program's own code: patched syscall
/// sites go back to what they were.
fn stop_syscall_patching(target: &TaskShared) {
    let mm = target.tg.lock().mm.clone();
    if let Some(mm) = mm {
        lock(&mm).stop_syscall_patching();
    }
}

fn traceme(task: &mut Task) -> SysResult<u64> {
    let parent = task.tg().lock().parent.clone().ok_or(Errno::EPERM)?;
    if parent.is_zombie() {
        return Err(Errno::EPERM);
    }
    // Landlock: the parent's domain must be ours or one ours was made
    // from.
    let tracer = parent.lock().threads.first().cloned();
    let tracer_dom = tracer.and_then(|t| lock(&t.landlock).clone());
    if !landlock_scoped(tracer_dom.as_ref(), &task.shared) {
        return Err(Errno::EPERM);
    }
    {
        let mut tr = lock(&task.shared.trace);
        if tr.tracer.is_some() {
            return Err(Errno::EPERM);
        }
        *tr = Tracing {
            tracer: Some(parent.clone()),
            ..Default::default()
        };
    }
    task.shared.traced.store(true, Ordering::Relaxed);
    task.mm().stop_syscall_patching();
    parent.lock().tracees.push(task.shared.clone());
    Ok(0)
}

/// The tracee `pid` if the caller traces it; if `stopped`, it must also be
/// in a ptrace stop (else `ESRCH`, as Linux).
fn tracee(task: &Task, pid: i32, stopped: bool) -> SysResult<Arc<TaskShared>> {
    let t = task.find_task(pid).ok_or(Errno::ESRCH)?;
    let tr = lock(&t.trace);
    let mine = tr
        .tracer
        .as_ref()
        .is_some_and(|x| Arc::ptr_eq(x, task.tg()));
    if !mine || (stopped && tr.stop.is_none()) {
        return Err(Errno::ESRCH);
    }
    drop(tr);
    Ok(t)
}

/// The tracee's address space, which a debugger reads and writes with
/// [`mm::MemoryManager::read_forced`] / `write_forced`.
fn tracee_mm(t: &Arc<TaskShared>) -> SysResult<Arc<std::sync::Mutex<mm::MemoryManager>>> {
    t.tg.lock().mm.clone().ok_or(Errno::ESRCH)
}

/// Reads register `off` (a byte offset into `struct user_regs_struct`).
fn get_reg(regs: &PtRegs, off: u64) -> u64 {
    let b = abi::Pod::as_bytes(regs);
    let at = off as usize;
    let mut w = [0u8; 8];
    if let Some(src) = b.get(at..at + 8) {
        w.copy_from_slice(src);
    }
    u64::from_le_bytes(w)
}

fn reg_slot(r: &mut PtRegs, off: u64) -> &mut u64 {
    match off / 8 {
        0 => &mut r.r15,
        1 => &mut r.r14,
        2 => &mut r.r13,
        3 => &mut r.r12,
        4 => &mut r.rbp,
        5 => &mut r.rbx,
        6 => &mut r.r11,
        7 => &mut r.r10,
        8 => &mut r.r9,
        9 => &mut r.r8,
        10 => &mut r.rax,
        11 => &mut r.rcx,
        12 => &mut r.rdx,
        13 => &mut r.rsi,
        14 => &mut r.rdi,
        15 => &mut r.orig_rax,
        16 => &mut r.rip,
        17 => &mut r.cs,
        18 => &mut r.eflags,
        19 => &mut r.rsp,
        20 => &mut r.ss,
        21 => &mut r.fs_base,
        22 => &mut r.gs_base,
        23 => &mut r.ds,
        24 => &mut r.es,
        25 => &mut r.fs,
        _ => &mut r.gs,
    }
}

/// Writes register `off`, with Linux's checks: segment selectors cannot be
/// changed, only the arithmetic and trap flags of EFLAGS, and base
/// registers must stay in user space.
fn put_reg(regs: &mut PtRegs, off: u64, val: u64) -> SysResult<()> {
    let cur = get_reg(regs, off);
    let new = match off / 8 {
        17 | 20 | 23..=26 => {
            if val != cur {
                return Err(Errno::EIO);
            }
            val
        }
        18 => (cur & !EFLAGS_CHANGEABLE) | (val & EFLAGS_CHANGEABLE),
        21 | 22 => {
            if val >= TASK_SIZE {
                return Err(Errno::EIO);
            }
            val
        }
        _ => val,
    };
    *reg_slot(regs, off) = new;
    Ok(())
}

fn set_regs(t: &Arc<TaskShared>, new: &PtRegs) -> SysResult<()> {
    let mut tr = lock(&t.trace);
    let mut regs = tr.shown_regs();
    for off in (0..std::mem::size_of::<PtRegs>() as u64).step_by(8) {
        put_reg(&mut regs, off, get_reg(new, off))?;
    }
    tr.store_regs(regs);
    Ok(())
}

fn fp_of(t: &Arc<TaskShared>) -> FpState {
    lock(&t.trace).fp.as_deref().copied().unwrap_or_default()
}

fn set_fp(t: &Arc<TaskShared>, fp: FpState) {
    let mut tr = lock(&t.trace);
    tr.fp = Some(Box::new(fp));
    tr.fp_dirty = true;
}

/// Resumes a stopped tracee in `mode`, delivering `sig` (0: none).
fn restart(t: &Arc<TaskShared>, mode: Resume, sig: i64) -> SysResult<u64> {
    if !(0..=NSIG as i64).contains(&sig) {
        return Err(Errno::EIO);
    }
    {
        let mut tr = lock(&t.trace);
        if mode == Resume::Listen {
            if !tr.seized || tr.stop != Some(Stop::Group) {
                return Err(Errno::EIO);
            }
        } else if mode == Resume::SingleStep {
            if tr.regs.eflags & EFLAGS_TF == 0 {
                tr.stepping = true;
            }
            tr.regs.eflags |= EFLAGS_TF;
            tr.regs_dirty = true;
        } else if tr.stepping {
            tr.stepping = false;
            tr.regs.eflags &= !EFLAGS_TF;
            tr.regs_dirty = true;
        }
        tr.resume = mode;
        tr.sig = sig as i32;
        tr.stop = None;
        tr.report = None;
    }
    t.waiter.notify();
    Ok(0)
}

/// `struct ptrace_syscall_info` for the current stop; returns its size.
fn syscall_info(t: &Arc<TaskShared>) -> Vec<u8> {
    let tr = lock(&t.trace);
    let regs = tr.regs;
    let (op, tail): (u8, Vec<u64>) = match tr.stop {
        Some(Stop::SyscallEntry) => (
            1,
            std::iter::once(regs.orig_rax)
                .chain(regs.syscall_args())
                .collect(),
        ),
        Some(Stop::Event(PTRACE_EVENT_SECCOMP)) => (
            3,
            std::iter::once(regs.orig_rax)
                .chain(regs.syscall_args())
                .chain(std::iter::once(tr.event_msg))
                .collect(),
        ),
        Some(Stop::SyscallExit) => (
            2,
            vec![
                regs.rax,
                ((regs.rax as i64) < 0 && (regs.rax as i64) >= -4095) as u64,
            ],
        ),
        _ => (0, Vec::new()),
    };
    let mut out = Vec::with_capacity(88);
    out.push(op);
    out.extend_from_slice(&[0; 3]);
    out.extend_from_slice(&AUDIT_ARCH_X86_64.to_le_bytes());
    out.extend_from_slice(&regs.rip.to_le_bytes());
    out.extend_from_slice(&regs.rsp.to_le_bytes());
    match op {
        1 => tail
            .iter()
            .for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
        3 => {
            tail[..7]
                .iter()
                .for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
            out.extend_from_slice(&(tail[7] as u32).to_le_bytes());
        }
        2 => {
            out.extend_from_slice(&tail[0].to_le_bytes());
            out.push(tail[1] as u8);
        }
        _ => {}
    }
    out
}

/// `ptrace(request, pid, addr, data)`.
pub fn ptrace(task: &mut Task, req: i64, pid: i32, addr: u64, data: u64) -> SysResult<u64> {
    match req {
        PTRACE_TRACEME => return traceme(task),
        PTRACE_ATTACH => return attach(task, pid, false, 0),
        PTRACE_SEIZE => {
            if addr != 0 {
                return Err(Errno::EIO);
            }
            // Unknown options are EIO here but EINVAL for SETOPTIONS, as
            // on Linux.
            let opts = data as u32;
            if data > u32::MAX as u64 || opts & !OPTIONS_MASK != 0 {
                return Err(Errno::EIO);
            }
            return attach(task, pid, true, opts);
        }
        PTRACE_KILL => {
            let t = tracee(task, pid, false)?;
            crate::signal::send_to_group(&t.tg, SigInfo::new(SIGKILL, SI_KERNEL));
            return Ok(0);
        }
        PTRACE_INTERRUPT => {
            let t = tracee(task, pid, false)?;
            let mut tr = lock(&t.trace);
            if !tr.seized {
                return Err(Errno::EIO);
            }
            if tr.stop.is_none() {
                tr.interrupt = Some(SIGTRAP);
                drop(tr);
                t.kick();
            }
            return Ok(0);
        }
        _ => {}
    }
    let t = tracee(task, pid, true)?;
    match req {
        PTRACE_PEEKTEXT | PTRACE_PEEKDATA => {
            let mut w = [0u8; 8];
            let mm = tracee_mm(&t)?;
            if lock(&mm).read_forced(addr, &mut w) != 8 {
                return Err(Errno::EIO);
            }
            task.mm().write_obj(data, &u64::from_le_bytes(w))?;
            Ok(0)
        }
        PTRACE_POKETEXT | PTRACE_POKEDATA => {
            let mm = tracee_mm(&t)?;
            if lock(&mm).write_forced(addr, &data.to_le_bytes()) != 8 {
                return Err(Errno::EIO);
            }
            Ok(0)
        }
        PTRACE_PEEKUSER => {
            if !addr.is_multiple_of(8) || addr >= USER_SIZE {
                return Err(Errno::EIO);
            }
            let v = if addr < 216 {
                get_reg(&lock(&t.trace).shown_regs(), addr)
            } else if (USER_DEBUGREG..USER_DEBUGREG + 64).contains(&addr) {
                lock(&t.trace).debugreg[((addr - USER_DEBUGREG) / 8) as usize]
            } else {
                0
            };
            task.mm().write_obj(data, &v)?;
            Ok(0)
        }
        PTRACE_POKEUSER => {
            if !addr.is_multiple_of(8) || addr >= USER_SIZE {
                return Err(Errno::EIO);
            }
            let mut tr = lock(&t.trace);
            if addr < 216 {
                let mut regs = tr.shown_regs();
                put_reg(&mut regs, addr, data)?;
                tr.store_regs(regs);
            } else if (USER_DEBUGREG..USER_DEBUGREG + 64).contains(&addr) {
                // Write watchpoints are offered (emulated with write-
                // protected pages); execution and read breakpoints are not.
                let i = ((addr - USER_DEBUGREG) / 8) as usize;
                match i {
                    0..=3 if data >= TASK_SIZE => return Err(Errno::EIO),
                    4 | 5 => return Err(Errno::EIO),
                    _ => {}
                }
                let mut dr = tr.debugreg;
                dr[i] = data;
                watches_of(&dr)?;
                tr.debugreg = dr;
            }
            Ok(0)
        }
        PTRACE_GETREGS => {
            let regs = lock(&t.trace).shown_regs();
            task.mm().write_obj(data, &regs)?;
            Ok(0)
        }
        PTRACE_SETREGS => {
            let regs: PtRegs = task.mm().read_obj(data)?;
            set_regs(&t, &regs)?;
            Ok(0)
        }
        PTRACE_GETFPREGS => {
            let fp = fp_of(&t);
            task.mm().copy_out(data, &fp.0[..FP_LEGACY_SIZE])?;
            Ok(0)
        }
        PTRACE_SETFPREGS => {
            let mut fp = fp_of(&t);
            task.mm().copy_in(data, &mut fp.0[..FP_LEGACY_SIZE])?;
            set_fp(&t, fp);
            Ok(0)
        }
        PTRACE_GETREGSET | PTRACE_SETREGSET => {
            let iov: [u64; 2] = task.mm().read_obj(data)?;
            let (base, len) = (iov[0], iov[1]);
            let get = req == PTRACE_GETREGSET;
            let n = match addr {
                NT_PRSTATUS => {
                    let size = std::mem::size_of::<PtRegs>() as u64;
                    let n = len.min(size);
                    let mut regs = lock(&t.trace).shown_regs();
                    if get {
                        task.mm()
                            .copy_out(base, &abi::Pod::as_bytes(&regs)[..n as usize])?;
                    } else {
                        task.mm()
                            .copy_in(base, &mut abi::Pod::as_bytes_mut(&mut regs)[..n as usize])?;
                        set_regs(&t, &regs)?;
                    }
                    n
                }
                NT_PRFPREG => {
                    let n = len.min(FP_LEGACY_SIZE as u64);
                    let mut fp = fp_of(&t);
                    if get {
                        task.mm().copy_out(base, &fp.0[..n as usize])?;
                    } else {
                        task.mm().copy_in(base, &mut fp.0[..n as usize])?;
                        set_fp(&t, fp);
                    }
                    n
                }
                NT_X86_XSTATE => {
                    // XSAVE layout; as on Linux the software-reserved
                    // bytes start with the enabled features (XCR0).
                    let size = FP_XSAVE_SIZE as u64;
                    if get {
                        let mut fp = fp_of(&t);
                        fp.0[FP_SW_BYTES..FP_LEGACY_SIZE].fill(0);
                        fp.0[FP_SW_BYTES..FP_SW_BYTES + 8]
                            .copy_from_slice(&XFEATURES_KEPT.to_le_bytes());
                        let n = len.min(size);
                        task.mm().copy_out(base, &fp.0[..n as usize])?;
                        n
                    } else {
                        if len < size {
                            return Err(Errno::EFAULT);
                        }
                        let mut buf = [0u8; FP_XSAVE_SIZE];
                        task.mm().copy_in(base, &mut buf)?;
                        let bv = u64::from_le_bytes(
                            buf[FP_XSTATE_BV..FP_XSTATE_BV + 8]
                                .try_into()
                                .map_err(|_| Errno::EINVAL)?,
                        );
                        if bv & !XFEATURES_KEPT != 0 {
                            return Err(Errno::EINVAL);
                        }
                        set_fp(&t, FpState::from_xsave(&buf));
                        size
                    }
                }
                _ => return Err(Errno::EINVAL),
            };
            task.mm().write_obj(data + 8, &n)?;
            Ok(0)
        }
        PTRACE_CONT => restart(&t, Resume::Cont, data as i64),
        PTRACE_SYSCALL => restart(&t, Resume::Syscall, data as i64),
        PTRACE_SINGLESTEP => restart(&t, Resume::SingleStep, data as i64),
        PTRACE_SYSEMU => restart(&t, Resume::Sysemu, data as i64),
        PTRACE_LISTEN => restart(&t, Resume::Listen, 0),
        PTRACE_DETACH => {
            if !(0..=NSIG as i64).contains(&(data as i64)) {
                return Err(Errno::EIO);
            }
            detach(task.tg(), &t, data as i32);
            Ok(0)
        }
        PTRACE_SETOPTIONS => {
            let opts = data as u32;
            if data > u32::MAX as u64 || opts & !OPTIONS_MASK != 0 {
                return Err(Errno::EINVAL);
            }
            lock(&t.trace).options = opts;
            Ok(0)
        }
        PTRACE_GETEVENTMSG => {
            let msg = lock(&t.trace).event_msg;
            task.mm().write_obj(data, &msg)?;
            Ok(0)
        }
        PTRACE_GETSIGINFO => {
            let info = lock(&t.trace).siginfo.ok_or(Errno::EINVAL)?;
            task.mm().write_obj(data, &info)?;
            Ok(0)
        }
        PTRACE_SETSIGINFO => {
            let info: SigInfo = task.mm().read_obj(data)?;
            let mut tr = lock(&t.trace);
            if tr.siginfo.is_none() {
                return Err(Errno::EINVAL);
            }
            tr.siginfo = Some(info);
            Ok(0)
        }
        PTRACE_GETSIGMASK | PTRACE_SETSIGMASK => {
            if addr != 8 {
                return Err(Errno::EINVAL);
            }
            if req == PTRACE_GETSIGMASK {
                task.mm().write_obj(data, &t.mask().0)?;
            } else {
                let m: u64 = task.mm().read_obj(data)?;
                t.mask.store(m & !SigSet::UNBLOCKABLE.0, Ordering::Relaxed);
                t.attention.store(true, Ordering::Release);
            }
            Ok(0)
        }
        PTRACE_GET_SYSCALL_INFO => {
            let info = syscall_info(&t);
            let n = (addr as usize).min(info.len());
            task.mm().copy_out(data, &info[..n])?;
            Ok(info.len() as u64)
        }
        _ => Err(Errno::EIO),
    }
}

/// `process_vm_readv`/`process_vm_writev`: copies between the caller's
/// iovecs and another process's, as far as both are mapped.
pub fn process_vm(
    task: &mut Task,
    pid: i32,
    local: &[(u64, u64)],
    remote: &[(u64, u64)],
    write: bool,
) -> SysResult<u64> {
    let target = task.find_group(pid).ok_or(Errno::ESRCH)?;
    let leader = target.lock().threads.first().cloned().ok_or(Errno::ESRCH)?;
    if !Arc::ptr_eq(&target, task.tg()) && !may_access(task, &leader) {
        return Err(Errno::EPERM);
    }
    let mm = target.lock().mm.clone().ok_or(Errno::ESRCH)?;
    let mut done = 0u64;
    let (mut li, mut loff) = (0usize, 0u64);
    let mut buf = Vec::new();
    for &(rbase, rlen) in remote {
        let mut roff = 0;
        while roff < rlen {
            while li < local.len() && loff >= local[li].1 {
                li += 1;
                loff = 0;
            }
            if li == local.len() {
                return Ok(done);
            }
            let n = (rlen - roff).min(local[li].1 - loff).min(1 << 20) as usize;
            buf.resize(n, 0);
            let laddr = local[li].0 + loff;
            let raddr = rbase + roff;
            let moved = if write {
                if task.mm().copy_in(laddr, &mut buf).is_err() {
                    return if done > 0 {
                        Ok(done)
                    } else {
                        Err(Errno::EFAULT)
                    };
                }
                lock(&mm).remote_write(raddr, &buf)
            } else {
                let got = lock(&mm).remote_read(raddr, &mut buf);
                if got > 0 && task.mm().copy_out(laddr, &buf[..got]).is_err() {
                    return if done > 0 {
                        Ok(done)
                    } else {
                        Err(Errno::EFAULT)
                    };
                }
                got
            };
            done += moved as u64;
            if moved < n {
                return if done > 0 {
                    Ok(done)
                } else {
                    Err(Errno::EFAULT)
                };
            }
            roff += n as u64;
            loff += n as u64;
        }
    }
    Ok(done)
}
