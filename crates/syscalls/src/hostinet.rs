//! The socket calls on host sockets (`--network=host`, `net::host`):
//! arguments are copied in, the host socket does the work without ever
//! blocking, and a call that must wait waits on the socket's queue like
//! on any sandbox file (woken by `net::notify`, interruptible by signals).

use std::sync::Arc;

use abi::misc::IoVec;
use abi::{Errno, SysResult};
use kernel::Task;
use net::driven::{self, Driven, Received};
use net::host::HostSocket;
use vfs::File;

use crate::file::{put_scratch, sigpipe, take_scratch};
use crate::net::{
    accept_wait, deadline, gather, install_accepted, put_addr, read_msghdr, read_sockaddr,
    total_len, wait_error, MSG_DONTWAIT, MSG_NOSIGNAL, MSG_TRUNC, RECV_EVENTS, SEND_EVENTS,
};
use crate::util;

/// Largest piece moved per host call (and largest datagram).
const CHUNK: usize = 1 << 20;
const MSG_WAITALL: u32 = 0x100;
const MSG_CTRUNC: u32 = 0x8;

pub fn socket(t: &Task, family: i32, ty: i32, protocol: i32, flags: u32) -> SysResult<Arc<File>> {
    let s = HostSocket::new(family, ty, protocol, crate::net::cred(t))?;
    Ok(driven::new_file(s, flags))
}

pub fn bind(t: &mut Task, s: &dyn Driven, a: [u64; 6]) -> SysResult<u64> {
    let b = read_sockaddr(t, a[1], a[2])?;
    s.bind(&b).map(|_| 0)
}

pub fn listen(s: &dyn Driven, a: [u64; 6]) -> SysResult<u64> {
    s.listen(a[1] as i32).map(|_| 0)
}

pub fn shutdown(s: &dyn Driven, a: [u64; 6]) -> SysResult<u64> {
    s.shutdown(a[1] as i32).map(|_| 0)
}

pub fn getsockname(t: &mut Task, s: &dyn Driven, a: [u64; 6]) -> SysResult<u64> {
    put_addr(t, &s.name()?, a[1], a[2]).map(|_| 0)
}

pub fn getpeername(t: &mut Task, s: &dyn Driven, a: [u64; 6]) -> SysResult<u64> {
    put_addr(t, &s.peer()?, a[1], a[2]).map(|_| 0)
}

/// `connect(2)`: a blocking socket waits while the host says the
/// handshake goes on (`EINPROGRESS`, `EALREADY`), asking again each time
/// the socket changes: the host's answer once it is done is the call's
/// (0 once, then `EISCONN`; or the connection's error).
pub fn connect(t: &mut Task, f: &File, s: &dyn Driven, a: [u64; 6]) -> SysResult<u64> {
    let b = read_sockaddr(t, a[1], a[2])?;
    match s.connect(&b) {
        Err(Errno::EINPROGRESS | Errno::EALREADY) if !f.nonblocking() => {}
        r => return r.map(|_| 0),
    }
    let timeout = s.sndtimeo();
    let r = t.block_on(
        Some(s.queue()),
        SEND_EVENTS,
        deadline(timeout),
        |_| match s.connect(&b) {
            Err(Errno::EINPROGRESS | Errno::EALREADY) => Err(Errno::EAGAIN),
            r => r,
        },
    );
    match r {
        // A wait that timed out leaves the handshake going, as Linux.
        Err(Errno::ETIMEDOUT) => Err(Errno::EINPROGRESS),
        r => r.map(|_| 0).map_err(|e| wait_error(e, timeout)),
    }
}

pub fn accept4(t: &mut Task, f: &File, s: &dyn Driven, a: [u64; 6], flags: u32) -> SysResult<u64> {
    let nonblock = flags & abi::fs::O_NONBLOCK;
    let (file, peer) = accept_wait(t, f, s.queue(), s.rcvtimeo(), || s.accept(nonblock))?;
    if a[1] != 0 {
        put_addr(t, &peer, a[1], a[2])?;
    }
    install_accepted(t, file, flags)
}

/// `sendto`/`sendmsg`: a blocking stream socket sends everything (what
/// went before a signal or error counts); a datagram is one host send.
pub fn send(
    t: &mut Task,
    f: &File,
    s: &dyn Driven,
    iovs: &[IoVec],
    flags: u32,
    addr: Option<Vec<u8>>,
    control: &[u8],
) -> SysResult<u64> {
    let total = total_len(iovs);
    if !s.is_stream() && total > CHUNK {
        return Err(Errno::EMSGSIZE);
    }
    let addr = addr.filter(|a| !a.is_empty());
    let nonblock = f.nonblocking() || flags & MSG_DONTWAIT != 0;
    let timeout = s.sndtimeo();
    let dl = deadline(timeout);
    let mut buf = take_scratch(t, total.min(CHUNK));
    let mut done = 0usize;
    let r = loop {
        let want = (total - done).min(CHUNK);
        if let Err(e) = gather(t, iovs, done, &mut buf[..want]) {
            break if done > 0 { Ok(done) } else { Err(e) };
        }
        let ctl = if done == 0 { control } else { &[][..] };
        let data = &buf[..want];
        let r = if nonblock {
            s.send(data, addr.as_deref(), ctl, flags)
        } else {
            t.block_on(Some(s.queue()), SEND_EVENTS, dl, |_| {
                s.send(data, addr.as_deref(), ctl, flags)
            })
        };
        match r {
            Ok(n) => {
                done += n;
                if !s.is_stream() || done >= total || (nonblock && n < want) {
                    break Ok(done);
                }
            }
            Err(_) if done > 0 => break Ok(done),
            Err(Errno::EPIPE) => {
                if flags & MSG_NOSIGNAL == 0 {
                    sigpipe(t);
                }
                break Err(Errno::EPIPE);
            }
            Err(e) => break Err(wait_error(e, timeout)),
        }
    };
    put_scratch(t, buf);
    r.map(|n| n as u64)
}

/// What a receive produced.
pub struct Got {
    pub ret: usize,
    pub flags: u32,
    pub from: Vec<u8>,
    pub control: Vec<u8>,
}

/// `recvfrom`/`recvmsg` into `iovs` with room for `control_len` bytes of
/// control messages. `MSG_WAITALL` on a blocking stream keeps receiving
/// until the buffer is full, the peer closes, or a signal or error comes
/// after some data.
pub fn recv(
    t: &mut Task,
    f: &File,
    s: &dyn Driven,
    iovs: &[IoVec],
    flags: u32,
    control_len: usize,
) -> SysResult<Got> {
    let want = total_len(iovs).min(CHUNK);
    let nonblock = f.nonblocking() || flags & MSG_DONTWAIT != 0;
    let waitall = s.is_stream() && flags & MSG_WAITALL != 0 && !nonblock;
    let timeout = s.rcvtimeo();
    let dl = deadline(timeout);
    let mut buf = take_scratch(t, want);
    let mut done = 0usize;
    let mut first: Option<Received> = None;
    let r = loop {
        let b = &mut buf[done..want];
        let r = if nonblock {
            s.recv(b, flags, control_len)
        } else {
            t.block_on(Some(s.queue()), RECV_EVENTS, dl, |_| {
                s.recv(b, flags, control_len)
            })
        };
        match r {
            Ok(got) => {
                let n = got.len;
                done += n.min(want - done);
                let more = waitall && n > 0 && done < want && flags & MSG_TRUNC == 0;
                if first.is_none() {
                    first = Some(got);
                }
                if !more {
                    break Ok(());
                }
            }
            Err(_) if done > 0 => break Ok(()),
            Err(e) => break Err(wait_error(e, timeout)),
        }
    };
    let out = r.and_then(|_| {
        let got = first.take().ok_or(Errno::EAGAIN)?;
        // A stream with MSG_TRUNC discards: nothing was copied.
        let copied = if s.is_stream() && flags & MSG_TRUNC != 0 {
            0
        } else {
            done
        };
        crate::net::scatter(t, iovs, &buf[..copied])?;
        Ok(Got {
            // A datagram's MSG_TRUNC reports its full length.
            ret: if s.is_stream() { done } else { got.len },
            flags: got.flags,
            from: got.from,
            control: got.control,
        })
    });
    put_scratch(t, buf);
    out
}

pub fn recvfrom(t: &mut Task, f: &File, s: &dyn Driven, a: [u64; 6]) -> SysResult<u64> {
    let len = (a[2] as usize).min(crate::file::MAX_RW);
    let iov = [IoVec {
        base: a[1],
        len: len as u64,
    }];
    let got = recv(t, f, s, &iov, a[3] as u32, 0)?;
    if a[4] != 0 {
        put_addr(t, &got.from, a[4], a[5])?;
    }
    Ok(got.ret as u64)
}

pub fn recvmsg(t: &mut Task, f: &File, s: &dyn Driven, a: [u64; 6]) -> SysResult<u64> {
    let flags = a[2] as u32;
    let hdr = a[1];
    let mh = read_msghdr(t, hdr)?;
    if mh.name != 0 && (mh.namelen as i32) < 0 {
        return Err(Errno::EINVAL);
    }
    let iovs = crate::net::read_iovecs(t, mh.iov, mh.iovlen)?;
    let control_len = if mh.control == 0 {
        0
    } else {
        mh.controllen as usize
    };
    let got = recv(t, f, s, &iovs, flags, control_len)?;
    if mh.name != 0 {
        put_addr(t, &got.from, mh.name, hdr.wrapping_add(8))?;
    }
    let mut msg_flags = got.flags | (flags & crate::net::MSG_CMSG_CLOEXEC);
    let n = got.control.len().min(control_len);
    if n > 0 {
        t.mm().copy_out(mh.control, &got.control[..n])?;
    }
    if n < got.control.len() {
        msg_flags |= MSG_CTRUNC;
    }
    util::write_obj(t, hdr.wrapping_add(40), &(n as u64))?;
    util::write_obj(t, hdr.wrapping_add(48), &msg_flags)?;
    Ok(got.ret as u64)
}

const SOL_SOCKET: i32 = 1;
const SO_RCVTIMEO: i32 = 20;
const SO_SNDTIMEO: i32 = 21;
const SO_RCVTIMEO_NEW: i32 = 66;
const SO_SNDTIMEO_NEW: i32 = 67;

/// `getsockopt`: the timeouts are the sandbox's (its waits apply them);
/// allowed options come from the host.
pub fn getsockopt(t: &mut Task, s: &dyn Driven, a: [u64; 6]) -> SysResult<u64> {
    let (level, name, optval, optlen) = (a[1] as i32, a[2] as i32, a[3], a[4]);
    let len: i32 = util::read_obj(t, optlen)?;
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    let value = match (level, name) {
        (SOL_SOCKET, SO_RCVTIMEO | SO_RCVTIMEO_NEW) => crate::net::timeval_bytes(s.rcvtimeo()),
        (SOL_SOCKET, SO_SNDTIMEO | SO_SNDTIMEO_NEW) => crate::net::timeval_bytes(s.sndtimeo()),
        _ => s.getsockopt(level, name, len as usize)?,
    };
    let n = (len as usize).min(value.len());
    t.mm().copy_out(optval, &value[..n])?;
    util::write_obj(t, optlen, &(n as i32))?;
    Ok(0)
}

pub fn setsockopt(t: &mut Task, s: &dyn Driven, a: [u64; 6]) -> SysResult<u64> {
    let (level, name, optval, optlen) = (a[1] as i32, a[2] as i32, a[3], a[4] as i32);
    if optlen < 0 {
        return Err(Errno::EINVAL);
    }
    if level == SOL_SOCKET && matches!(name, SO_RCVTIMEO | SO_RCVTIMEO_NEW) {
        s.set_timeout(true, crate::net::read_timeout(t, optval, optlen)?);
        return Ok(0);
    }
    if level == SOL_SOCKET && matches!(name, SO_SNDTIMEO | SO_SNDTIMEO_NEW) {
        s.set_timeout(false, crate::net::read_timeout(t, optval, optlen)?);
        return Ok(0);
    }
    let mut raw = vec![0u8; (optlen as usize).min(1024)];
    t.mm().copy_in(optval, &mut raw)?;
    s.setsockopt(level, name, &raw).map(|_| 0)
}
