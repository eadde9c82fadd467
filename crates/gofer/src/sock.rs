//! Sending and receiving one message, with at most one descriptor, on a
//! `SOCK_SEQPACKET` socket. `EINTR` is retried: an exchange is never left
//! half done.

use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use abi::Errno;

/// Space for one `SCM_RIGHTS` descriptor (`CMSG_SPACE(sizeof(int))`).
const CMSG_BUF: usize = 24;

/// Sends `msg`, donating `fd` with it if given.
pub fn send(sock: RawFd, msg: &[u8], fd: Option<RawFd>) -> Result<(), Errno> {
    let mut iov = libc::iovec {
        iov_base: msg.as_ptr() as *mut libc::c_void,
        iov_len: msg.len(),
    };
    let mut cbuf = [0u64; CMSG_BUF / 8];
    // SAFETY: all-zero is a valid msghdr.
    let mut mh: libc::msghdr = unsafe { std::mem::zeroed() };
    mh.msg_iov = &mut iov;
    mh.msg_iovlen = 1;
    if let Some(fd) = fd {
        mh.msg_control = cbuf.as_mut_ptr().cast();
        // SAFETY: CMSG_SPACE only computes a size.
        mh.msg_controllen = unsafe { libc::CMSG_SPACE(4) } as usize;
        // SAFETY: the control buffer is large enough for one header with
        // one int (CMSG_SPACE(4) <= CMSG_BUF), and aligned (u64 array).
        unsafe {
            let c = libc::CMSG_FIRSTHDR(&mh);
            (*c).cmsg_level = libc::SOL_SOCKET;
            (*c).cmsg_type = libc::SCM_RIGHTS;
            (*c).cmsg_len = libc::CMSG_LEN(4) as usize;
            std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<i32>(), fd);
        }
    }
    loop {
        // SAFETY: msghdr points at live buffers of the lengths given.
        let n = unsafe { libc::sendmsg(sock, &mh, libc::MSG_NOSIGNAL) };
        if n >= 0 {
            return Ok(());
        }
        let e = Errno::last_host();
        if e != Errno::EINTR {
            return Err(e);
        }
    }
}

/// Receives one message into `buf`: its length (0: the peer is gone) and
/// the descriptor that came with it, if any (close-on-exec).
pub fn recv(sock: RawFd, buf: &mut [u8]) -> Result<(usize, Option<OwnedFd>), Errno> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut cbuf = [0u64; CMSG_BUF / 8];
    // SAFETY: all-zero is a valid msghdr.
    let mut mh: libc::msghdr = unsafe { std::mem::zeroed() };
    mh.msg_iov = &mut iov;
    mh.msg_iovlen = 1;
    mh.msg_control = cbuf.as_mut_ptr().cast();
    mh.msg_controllen = CMSG_BUF;
    let n = loop {
        // SAFETY: msghdr points at live buffers of the lengths given.
        let n = unsafe { libc::recvmsg(sock, &mut mh, libc::MSG_CMSG_CLOEXEC) };
        if n >= 0 {
            break n as usize;
        }
        let e = Errno::last_host();
        if e != Errno::EINTR {
            return Err(e);
        }
    };
    let mut fd = None;
    // SAFETY: walks the control messages the kernel wrote into cbuf.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&mh);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                let count = ((*c).cmsg_len as usize - libc::CMSG_LEN(0) as usize) / 4;
                for i in 0..count {
                    let raw = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<i32>().add(i));
                    // The first is ours; any other (a confused peer) is
                    // closed by dropping it.
                    let owned = OwnedFd::from_raw_fd(raw);
                    if fd.is_none() {
                        fd = Some(owned);
                    }
                }
            }
            c = libc::CMSG_NXTHDR(&mh, c);
        }
    }
    if mh.msg_flags & (libc::MSG_TRUNC | libc::MSG_CTRUNC) != 0 {
        return Err(Errno::EIO);
    }
    Ok((n, fd))
}
