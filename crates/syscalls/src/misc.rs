//! System information, randomness and scheduling.

use abi::misc::{SysInfo, UtsName};
use abi::{Errno, SysResult};
use std::sync::Arc;

use kernel::task::lock;
use kernel::{Task, TaskShared};

use crate::util;

fn field(dst: &mut [u8; 65], s: &[u8]) {
    let n = s.len().min(64);
    dst[..n].copy_from_slice(&s[..n]);
}

pub fn uname(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let mut u = UtsName {
        sysname: [0; 65],
        nodename: [0; 65],
        release: [0; 65],
        version: [0; 65],
        machine: [0; 65],
        domainname: [0; 65],
    };
    field(&mut u.sysname, b"Linux");
    {
        let ns = lock(&t.shared.ns).clone();
        let uts = lock(&ns.uts.names);
        field(&mut u.nodename, &uts.hostname);
        field(&mut u.domainname, &uts.domainname);
    }
    field(&mut u.release, kernel::UTS_RELEASE.as_bytes());
    field(&mut u.version, kernel::UTS_VERSION.as_bytes());
    field(&mut u.machine, b"x86_64");
    util::write_obj(t, a[0], &u).map(|_| 0)
}

fn set_name(t: &mut Task, a: [u64; 6], host: bool) -> SysResult<u64> {
    let len = a[1] as i64;
    if !(0..=64).contains(&len) {
        return Err(Errno::EINVAL);
    }
    if !t.capable(kernel::task::CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    let mut b = vec![0u8; len as usize];
    t.mm().copy_in(a[0], &mut b)?;
    let ns = lock(&t.shared.ns).clone();
    let mut uts = lock(&ns.uts.names);
    if host {
        uts.hostname = b;
    } else {
        uts.domainname = b;
    }
    Ok(0)
}

pub fn sethostname(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    set_name(t, a, true)
}

pub fn setdomainname(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    set_name(t, a, false)
}

/// `sysinfo`: the figures `/proc/meminfo`, `/proc/uptime` and
/// `/proc/loadavg` show, from the same sources.
pub fn sysinfo(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let m = t.kernel.memory();
    let procs = lock(&t.kernel.table).tasks.len().min(u16::MAX as usize) as u16;
    let si = SysInfo {
        uptime: t.kernel.start.elapsed().as_secs() as i64,
        totalram: m.total,
        freeram: m.free,
        sharedram: m.shared,
        bufferram: m.buffers,
        totalswap: t.kernel.swaps.total_kb() * 1024,
        freeswap: t.kernel.swaps.total_kb() * 1024,
        procs,
        mem_unit: 1,
        ..Default::default()
    };
    util::write_obj(t, a[0], &si).map(|_| 0)
}

pub fn getrandom(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    const FLAGS: u64 = 1 | 2 | 4; // NONBLOCK | RANDOM | INSECURE
    if a[2] & !FLAGS != 0 || (a[2] & 2 != 0 && a[2] & 4 != 0) {
        return Err(Errno::EINVAL);
    }
    let len = (a[1] as usize).min(32 << 20);
    if len == 0 {
        return Ok(0);
    }
    t.mm().check_access(a[0], len as u64, true)?;
    let mut b = vec![0u8; len];
    vfs::dev::random_bytes(&mut b)?;
    t.mm().copy_out(a[0], &b)?;
    Ok(len as u64)
}

pub fn sched_yield(_t: &mut Task, _a: [u64; 6]) -> SysResult<u64> {
    std::thread::yield_now();
    Ok(0)
}

/// What `membarrier(MEMBARRIER_CMD_QUERY)` reports: every command but the
/// rseq ones (there is no `rseq`).
const MEMBARRIER_SUPPORTED: u64 = 1 | 2 | 4 | 8 | 16 | 32 | 64 | 512;

/// `membarrier(cmd, flags, cpu_id)`: a barrier on other threads is made
/// by having each one running application code leave it
/// (`MemoryManager::barrier`); registrations are kept per address space.
pub fn membarrier(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    const GLOBAL: u64 = 1;
    const GLOBAL_EXPEDITED: u64 = 2;
    const REGISTER_GLOBAL_EXPEDITED: u32 = 4;
    const PRIVATE_EXPEDITED: u64 = 8;
    const PRIVATE_EXPEDITED_SYNC_CORE: u64 = 32;
    const GET_REGISTRATIONS: u64 = 512;
    let cmd = a[0] as i32 as i64 as u64;
    // MEMBARRIER_CMD_FLAG_CPU only goes with the rseq command.
    if a[1] as u32 != 0 {
        return Err(Errno::EINVAL);
    }
    match cmd {
        0 => Ok(MEMBARRIER_SUPPORTED),
        GLOBAL | GLOBAL_EXPEDITED => {
            // Every address space of the sandbox (GLOBAL) or those that
            // registered for it; not under the table's or a process's lock.
            let groups: Vec<_> = lock(&t.kernel.table).groups.values().cloned().collect();
            for g in groups {
                let Some(mm) = g.lock().mm.clone() else {
                    continue;
                };
                let mm = lock(&mm);
                if cmd == GLOBAL || mm.membarrier & REGISTER_GLOBAL_EXPEDITED != 0 {
                    mm.barrier();
                }
            }
            Ok(0)
        }
        4 | 16 | 64 => {
            t.mm().membarrier |= cmd as u32;
            Ok(0)
        }
        PRIVATE_EXPEDITED | PRIVATE_EXPEDITED_SYNC_CORE => {
            let mm = t.mm();
            // Each command needs its registration (the next bit up).
            if mm.membarrier & (cmd as u32) << 1 == 0 {
                return Err(Errno::EPERM);
            }
            mm.barrier();
            Ok(0)
        }
        GET_REGISTRATIONS => Ok(t.mm().membarrier as u64),
        _ => Err(Errno::EINVAL),
    }
}

/// `kcmp(pid1, pid2, type, idx1, idx2)`: whether two tasks share a kernel
/// object: 0 if they do, else 1 or 2 by an order of the objects that
/// says nothing of their addresses (each kind's order is scrambled by a
/// random key, as Linux does).
pub fn kcmp(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    const KCMP_FILE: u64 = 0;
    const KCMP_VM: u64 = 1;
    const KCMP_FILES: u64 = 2;
    const KCMP_FS: u64 = 3;
    const KCMP_SIGHAND: u64 = 4;
    const KCMP_IO: u64 = 5;
    const KCMP_SYSVSEM: u64 = 6;
    const KCMP_EPOLL_TFD: u64 = 7;
    let find = |pid: i32| {
        if pid == 0 {
            return Err(Errno::ESRCH);
        }
        t.find_task(pid).ok_or(Errno::ESRCH)
    };
    let (p1, p2) = (find(a[0] as i32)?, find(a[1] as i32)?);
    for p in [&p1, &p2] {
        may_inspect(t, p)?;
    }
    let ty = a[2];
    let ptr = |x: *const ()| x as usize;
    let (v1, v2) = match ty {
        KCMP_FILE => (ptr(task_file(t, &p1, a[3])?), ptr(task_file(t, &p2, a[4])?)),
        KCMP_EPOLL_TFD => {
            let f1 = task_file(t, &p1, a[3])?;
            let slot: [u32; 3] = util::read_obj(t, a[4])?;
            let ep = fd_file(t, &p2, slot[0] as u64).map_err(|_| Errno::EBADF)?;
            let ep = vfs::epoll::from_file(&ep).ok_or(Errno::EINVAL)?;
            let f2 = ep
                .target(slot[1] as i32, slot[2] as usize)
                .ok_or(Errno::ENOENT)?;
            (ptr(f1), ptr(Arc::as_ptr(&f2) as *const ()))
        }
        KCMP_VM => (ptr(mm_of(&p1)), ptr(mm_of(&p2))),
        KCMP_FILES => (
            ptr(files_of(t, &p1).map_or(std::ptr::null(), |f| Arc::as_ptr(&f) as *const ())),
            ptr(files_of(t, &p2).map_or(std::ptr::null(), |f| Arc::as_ptr(&f) as *const ())),
        ),
        KCMP_FS => {
            let fs = |p: &Arc<TaskShared>| {
                if Arc::ptr_eq(p, &t.shared) {
                    return Arc::as_ptr(&t.fs) as *const ();
                }
                lock(&p.fsctx)
                    .as_ref()
                    .map_or(std::ptr::null(), |f| Arc::as_ptr(f) as *const ())
            };
            (ptr(fs(&p1)), ptr(fs(&p2)))
        }
        KCMP_SIGHAND => {
            let sh = |p: &Arc<TaskShared>| Arc::as_ptr(&p.tg.lock().sighand) as *const ();
            (ptr(sh(&p1)), ptr(sh(&p2)))
        }
        // Every task has its own I/O context (CLONE_IO is not modelled);
        // a process's threads share their SysV semaphore undo list.
        KCMP_IO => (
            ptr(Arc::as_ptr(&p1) as *const ()),
            ptr(Arc::as_ptr(&p2) as *const ()),
        ),
        // None (equal) until a process's first SEM_UNDO operation or
        // CLONE_SYSVSEM clone (glibc's threads are made with it).
        KCMP_SYSVSEM => {
            let undo = |p: &Arc<TaskShared>| {
                let ns = lock(&p.ns).ipc.ns.clone();
                if p.tg.sysvsem_undo.load(std::sync::atomic::Ordering::Relaxed)
                    || kernel::ipc::sem::has_undo_list(&ns, p.tg.pid)
                {
                    Arc::as_ptr(&p.tg) as *const ()
                } else {
                    std::ptr::null()
                }
            };
            (ptr(undo(&p1)), ptr(undo(&p2)))
        }
        _ => return Err(Errno::EINVAL),
    };
    let key = kcmp_key(ty as usize);
    let (k1, k2) = (v1 ^ key, v2 ^ key);
    Ok(u64::from(k1 < k2) | u64::from(k1 > k2) << 1)
}

/// The per-kind keys that scramble `kcmp`'s order.
fn kcmp_key(ty: usize) -> usize {
    static KEYS: std::sync::OnceLock<[usize; 8]> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        let mut b = [0u8; 64];
        let _ = vfs::dev::random_bytes(&mut b);
        std::array::from_fn(|i| {
            usize::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or_default())
        })
    })[ty % 8]
}

/// `PTRACE_MODE_READ_REALCREDS`: the caller's real ids are all of the
/// target's, and the target is dumpable, or the caller has
/// `CAP_SYS_PTRACE`.
pub(crate) fn may_inspect(t: &Task, p: &TaskShared) -> SysResult<()> {
    if t.capable(kernel::task::CAP_SYS_PTRACE) {
        return Ok(());
    }
    let ids = p
        .ids
        .each_ref()
        .map(|v| v.load(std::sync::atomic::Ordering::Relaxed));
    let uid_ok = ids[..3].iter().all(|&u| u == t.creds.uid);
    let gid_ok = ids[4..7].iter().all(|&g| g == t.creds.gid);
    if uid_ok && gid_ok && p.tg.lock().dumpable {
        Ok(())
    } else {
        Err(Errno::EPERM)
    }
}

fn mm_of(p: &TaskShared) -> *const () {
    p.tg.lock()
        .mm
        .as_ref()
        .map_or(std::ptr::null(), |m| Arc::as_ptr(m) as *const ())
}

fn files_of(
    t: &Task,
    p: &Arc<TaskShared>,
) -> Option<Arc<std::sync::Mutex<kernel::fdtable::FdTable>>> {
    if Arc::ptr_eq(p, &t.shared) {
        return Some(t.fds.clone());
    }
    lock(&p.files).clone()
}

fn fd_file(t: &Task, p: &Arc<TaskShared>, fd: u64) -> SysResult<Arc<vfs::File>> {
    let files = files_of(t, p).ok_or(Errno::EBADF)?;
    let f = lock(&files).get(fd as i32);
    f
}

fn task_file(t: &Task, p: &Arc<TaskShared>, fd: u64) -> SysResult<*const ()> {
    fd_file(t, p, fd)
        .map(|f| Arc::as_ptr(&f) as *const ())
        .map_err(|_| Errno::EBADF)
}
