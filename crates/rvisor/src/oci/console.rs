//! `terminal: true`: a host pseudo-terminal whose master goes to the
//! caller's `--console-socket` (runc's protocol: one `SCM_RIGHTS`
//! message carrying the descriptor, the payload its name) and whose slave
//! becomes the sandbox process's standard streams and controlling
//! terminal. The sentry puts it in raw mode and copies between it and the
//! sandbox's own terminal (`terminal.rs`), so line discipline, job
//! control and `/dev/pts` are the sandbox's.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

fn last_error(what: &str) -> String {
    format!("{what}: {}", std::io::Error::last_os_error())
}

/// A new host pty pair (master, slave), the window size set if given.
pub fn open_pty(size: Option<(u16, u16)>) -> Result<(OwnedFd, OwnedFd), String> {
    // SAFETY: posix_openpt/grantpt/unlockpt/ptsname_r/open/ioctl on
    // descriptors we own and a local buffer; every result is checked.
    unsafe {
        let m = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        if m < 0 {
            return Err(last_error("opening /dev/ptmx"));
        }
        let master = OwnedFd::from_raw_fd(m);
        if libc::grantpt(m) != 0 || libc::unlockpt(m) != 0 {
            return Err(last_error("unlocking the pty"));
        }
        let mut name = [0 as libc::c_char; 128];
        if libc::ptsname_r(m, name.as_mut_ptr(), name.len()) != 0 {
            return Err(last_error("naming the pty"));
        }
        let s = libc::open(
            name.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        );
        if s < 0 {
            return Err(last_error("opening the pty slave"));
        }
        let slave = OwnedFd::from_raw_fd(s);
        if let Some((rows, cols)) = size {
            let ws = libc::winsize {
                ws_row: rows,
                ws_col: cols,
                ws_xpixel: 0,
                ws_ypixel: 0,
            };
            libc::ioctl(m, libc::TIOCSWINSZ, &ws);
        }
        Ok((master, slave))
    }
}

/// Sends `fd` over the unix socket at `path` as runc does.
pub fn send_fd(path: &Path, fd: &OwnedFd) -> Result<(), String> {
    let sock = super::control::connect_path(path)
        .map_err(|e| format!("cannot connect to console socket {}: {e}", path.display()))?;
    let name = b"/dev/ptmx";
    let mut iov = libc::iovec {
        iov_base: name.as_ptr() as *mut libc::c_void,
        iov_len: name.len(),
    };
    // Room for one cmsghdr with one int, suitably aligned.
    let mut cbuf = [0u64; 4];
    // SAFETY: CMSG_SPACE/CMSG_LEN are pure; the message points at live
    // locals (iov, cbuf large enough for one descriptor) for the call.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = libc::CMSG_SPACE(4) as usize;
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN(4) as usize;
        std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<i32>(), fd.as_raw_fd());
        if libc::sendmsg(sock.as_raw_fd(), &msg, 0) < 0 {
            return Err(last_error("sending the console"));
        }
    }
    Ok(())
}
