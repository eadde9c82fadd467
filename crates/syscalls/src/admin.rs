//! System administration calls: the kernel log (`syslog`), `reboot`,
//! `swapon`/`swapoff`. Each checks its arguments and privileges in
//! Linux's order and acts on the sandbox only.

use std::sync::Arc;

use abi::fs::{O_LARGEFILE, O_RDWR, S_IFMT, S_IFREG};
use abi::{Errno, SysResult};
use kernel::klog::*;
use kernel::swap::SWAP_FLAGS_VALID;
use kernel::task::{CAP_SYSLOG, CAP_SYS_ADMIN, CAP_SYS_BOOT};
use kernel::Task;
use vfs::{File, Inode};

use crate::util::{at, path};

/// `syslog(type, buf, len)` (glibc's `klogctl`).
pub fn syslog(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let action = a[0] as i32;
    let (buf, len) = (a[1], a[2] as i32);
    let kernel = t.kernel.clone();
    let log = &kernel.klog;
    if log.restricted(action) && !t.capable(CAP_SYSLOG) && !t.capable(CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    match action {
        SYSLOG_ACTION_CLOSE | SYSLOG_ACTION_OPEN => Ok(0),
        SYSLOG_ACTION_READ => {
            if buf == 0 || len < 0 {
                return Err(Errno::EINVAL);
            }
            if len == 0 {
                return Ok(0);
            }
            let out = t.block_on(Some(log.queue()), waiter::events::IN, None, |_| {
                log.read_new(len as usize)
            })?;
            t.mm().copy_out(buf, &out)?;
            Ok(out.len() as u64)
        }
        SYSLOG_ACTION_READ_ALL | SYSLOG_ACTION_READ_CLEAR => {
            if buf == 0 || len < 0 {
                return Err(Errno::EINVAL);
            }
            if len == 0 {
                return Ok(0);
            }
            let out = log.read_all(len as usize, action == SYSLOG_ACTION_READ_CLEAR);
            t.mm().copy_out(buf, &out)?;
            Ok(out.len() as u64)
        }
        SYSLOG_ACTION_CLEAR => {
            log.clear();
            Ok(0)
        }
        SYSLOG_ACTION_CONSOLE_OFF => {
            log.console_off();
            Ok(0)
        }
        SYSLOG_ACTION_CONSOLE_ON => {
            log.console_on();
            Ok(0)
        }
        SYSLOG_ACTION_CONSOLE_LEVEL => log.set_console_level(len as i64).map(|_| 0),
        SYSLOG_ACTION_SIZE_UNREAD => Ok(log.unread() as u64),
        SYSLOG_ACTION_SIZE_BUFFER => Ok(LOG_BUF_LEN as u64),
        _ => Err(Errno::EINVAL),
    }
}

const LINUX_REBOOT_MAGIC1: u32 = 0xfee1_dead;
const LINUX_REBOOT_MAGIC2: [u32; 4] = [0x2812_1969, 0x0512_1996, 0x1604_1998, 0x2011_2000];
const LINUX_REBOOT_CMD_RESTART: u32 = 0x0123_4567;
const LINUX_REBOOT_CMD_HALT: u32 = 0xcdef_0123;
const LINUX_REBOOT_CMD_POWER_OFF: u32 = 0x4321_fedc;
const LINUX_REBOOT_CMD_RESTART2: u32 = 0xa1b2_c3d4;

/// `reboot(magic1, magic2, cmd, arg)`. The sandbox is a container: its
/// processes are a pid namespace below the host's, where Linux
/// (`reboot_pid_ns`) ends the namespace instead of the machine: its init
/// dies "killed by SIGHUP" for a restart, "by SIGINT" for a halt or power
/// off, every other process with it; any other command (Ctrl-Alt-Del
/// on/off, suspend, kexec) is `EINVAL` there.
pub fn reboot(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    if !t.capable(CAP_SYS_BOOT) {
        return Err(Errno::EPERM);
    }
    if a[0] as u32 != LINUX_REBOOT_MAGIC1 || !LINUX_REBOOT_MAGIC2.contains(&(a[1] as u32)) {
        return Err(Errno::EINVAL);
    }
    let sig = match a[2] as u32 {
        LINUX_REBOOT_CMD_RESTART | LINUX_REBOOT_CMD_RESTART2 => abi::signal::SIGHUP,
        LINUX_REBOOT_CMD_HALT | LINUX_REBOOT_CMD_POWER_OFF => abi::signal::SIGINT,
        _ => return Err(Errno::EINVAL),
    };
    // In a nested pid namespace only that namespace ends, as Linux's
    // `reboot_pid_ns`: its init is killed and reported dead of `sig`, and
    // the caller exits.
    let ns = t.pidns().clone();
    if !ns.is_initial() {
        ns.set_reboot(sig);
        if let Some(init) = ns.init().and_then(|g| t.kernel.find_group(g)) {
            let info = abi::signal::SigInfo::new(abi::signal::SIGKILL, abi::signal::SI_KERNEL);
            kernel::signal::send_to_group(&init, info);
        }
        t.exit = Some(kernel::Exit::Thread(0));
        return Ok(0);
    }
    // The status first: init's own death by SIGKILL must not replace it.
    t.kernel.set_exit(abi::misc::wait::signaled(sig, false));
    // The caller is among the killed: it never returns to user space.
    t.kernel.kill_all();
    Ok(0)
}

/// Opens the file a `swapon`/`swapoff` path names, read-write as Linux
/// does (so a directory is `EISDIR`, a missing file `ENOENT`).
fn open_swap_file(t: &Task, ptr: u64) -> SysResult<(Arc<File>, Arc<Inode>, Vec<u8>)> {
    let p = path(t, ptr)?;
    let (root, base) = at(t, abi::fs::AT_FDCWD as u64, &p)?;
    let creds = t.vfs_creds();
    let f = t
        .kernel
        .vfs
        .open_in(&root, &base, &p, O_RDWR | O_LARGEFILE, 0, None, &creds)?;
    let d = f.dentry.clone().ok_or(Errno::EINVAL)?;
    let name = d.path_under(&root).0;
    Ok((f, d.inode.clone(), name))
}

/// `swapon(path, flags)`: enables a swap file whose header checks out
/// (see `kernel::swap`).
pub fn swapon(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let flags = a[1] as u32;
    if flags & !SWAP_FLAGS_VALID != 0 {
        return Err(Errno::EINVAL);
    }
    if !t.capable(CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    t.kernel.swaps.room()?;
    let (f, inode, name) = open_swap_file(t, a[0])?;
    // Only regular files: the sandbox has no block devices.
    if inode.mode() & S_IFMT != S_IFREG {
        return Err(Errno::EINVAL);
    }
    let mut header = [0u8; 4096];
    let mut got = 0;
    while got < header.len() {
        match f.ops.read(&f, &mut header[got..], got as u64)? {
            0 => break,
            n => got += n,
        }
    }
    let (kb, prio) = t
        .kernel
        .swaps
        .enable(&inode, name.clone(), &header, flags)?;
    t.kernel.klog.log(
        6,
        &format!(
            "Adding {kb}k swap on {}.  Priority:{prio} extents:1 across:{kb}k",
            String::from_utf8_lossy(&name)
        ),
    );
    Ok(0)
}

/// `swapoff(path)`: `EINVAL` unless the file is an enabled area.
pub fn swapoff(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    if !t.capable(CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    let (_, inode, _) = open_swap_file(t, a[0])?;
    t.kernel.swaps.disable(&inode)?;
    Ok(0)
}
