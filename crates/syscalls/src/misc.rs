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
