//! System information, randomness and scheduling.

use abi::misc::{SysInfo, UtsName};
use abi::{Errno, SysResult};
use kernel::task::lock;
use kernel::Task;

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
        let uts = lock(&t.kernel.uts);
        field(&mut u.nodename, &uts.hostname);
        field(&mut u.domainname, &uts.domainname);
    }
    field(&mut u.release, kernel::UTS_RELEASE.as_bytes());
    field(&mut u.version, b"#1 SMP rvisor");
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
    let mut uts = lock(&t.kernel.uts);
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

pub fn sysinfo(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    // SAFETY: sysinfo fills the zeroed struct.
    let mut h: libc::sysinfo = unsafe { std::mem::zeroed() };
    // SAFETY: valid out-pointer.
    unsafe { libc::sysinfo(&mut h) };
    let procs = lock(&t.kernel.table).tasks.len() as u16;
    let si = SysInfo {
        uptime: t.kernel.start.elapsed().as_secs() as i64,
        totalram: h.totalram * h.mem_unit as u64,
        freeram: h.freeram * h.mem_unit as u64,
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

fn host_cpus() -> u64 {
    // SAFETY: zeroed cpu_set_t is valid; sched_getaffinity fills it.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer and size.
    let r = unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    if r != 0 {
        return 1;
    }
    let mut m = 0u64;
    for i in 0..64 {
        // SAFETY: CPU_ISSET reads the set.
        if unsafe { libc::CPU_ISSET(i, &set) } {
            m |= 1 << i;
        }
    }
    m.max(1)
}

fn check_pid(t: &Task, pid: i32) -> SysResult<()> {
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    if pid != 0 && t.kernel.find_task(pid).is_none() {
        return Err(Errno::ESRCH);
    }
    Ok(())
}

pub fn sched_getaffinity(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    check_pid(t, a[0] as i32)?;
    let size = a[1] as usize;
    if size < 8 || !size.is_multiple_of(8) {
        return Err(Errno::EINVAL);
    }
    util::write_obj(t, a[2], &host_cpus())?;
    Ok(8)
}

pub fn sched_setaffinity(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    check_pid(t, a[0] as i32)?;
    if (a[1] as usize) < 8 {
        return Err(Errno::EINVAL);
    }
    let m: u64 = util::read_obj(t, a[2])?;
    if m & host_cpus() == 0 {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

pub fn getcpu(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    if a[0] != 0 {
        util::write_obj(t, a[0], &0u32)?;
    }
    if a[1] != 0 {
        util::write_obj(t, a[1], &0u32)?;
    }
    Ok(0)
}

pub fn sched_getscheduler(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    check_pid(t, a[0] as i32)?;
    Ok(0)
}

pub fn sched_getparam(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    check_pid(t, a[0] as i32)?;
    util::write_obj(t, a[1], &0i32).map(|_| 0)
}

pub fn sched_get_priority_max(_t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    match a[0] {
        0 | 3 | 5 => Ok(0),
        1 | 2 => Ok(99),
        _ => Err(Errno::EINVAL),
    }
}

pub fn sched_get_priority_min(_t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    match a[0] {
        0 | 3 | 5 => Ok(0),
        1 | 2 => Ok(1),
        _ => Err(Errno::EINVAL),
    }
}

pub fn sched_setscheduler(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    check_pid(t, a[0] as i32)?;
    let policy = a[1] as i32 & !0x4000_0000; // SCHED_RESET_ON_FORK
    let prio: i32 = util::read_obj(t, a[2])?;
    match policy {
        0 | 3 | 5 if prio == 0 => Ok(0),
        0 | 3 | 5 => Err(Errno::EINVAL),
        // Real-time scheduling is not modelled.
        1 | 2 if (1..=99).contains(&prio) => Err(Errno::EPERM),
        _ => Err(Errno::EINVAL),
    }
}

pub fn sched_rr_get_interval(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    check_pid(t, a[0] as i32)?;
    util::write_obj(
        t,
        a[1],
        &abi::time::Timespec {
            sec: 0,
            nsec: 100_000_000,
        },
    )
    .map(|_| 0)
}
