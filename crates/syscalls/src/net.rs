//! Sockets: `AF_UNIX` only (there is no network stack yet): `socket`,
//! `socketpair`, names (`bind` to a path or an abstract name,
//! `getsockname`, `getpeername`), connections (`listen`, `accept`,
//! `connect`), send/receive with flags, addresses, iovecs and
//! `SCM_RIGHTS`, `shutdown` and socket options.

use std::sync::Arc;
use std::time::{Duration, Instant};

use abi::fs::{AT_FDCWD, O_CLOEXEC, O_NONBLOCK, O_PATH, S_IFMT, S_IFSOCK, W_OK};
use abi::misc::IoVec;
use abi::{Errno, SysResult};
use kernel::Task;
use vfs::unix::{self, Addr, Cred, Received, Socket, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_STREAM};
use vfs::{File, Inode, Kind, Meta};
use waiter::events;

use crate::file::{sigpipe, MAX_RW};
use crate::inet::{self, Other};
use crate::util;

const AF_UNSPEC: i32 = 0;
const AF_UNIX: i32 = unix::AF_UNIX;
const AF_INET: i32 = 2;
const AF_INET6: i32 = 10;
const AF_NETLINK: i32 = 16;
const AF_PACKET: i32 = 17;
/// Number of address families Linux knows (`AF_MAX`).
const AF_MAX: i32 = 46;

const SOCK_RAW: i32 = 3;
/// Number of socket types (`SOCK_MAX`).
const SOCK_MAX: i32 = 11;
const SOCK_TYPE_MASK: i32 = 0xf;

const ESOCKTNOSUPPORT: Errno = Errno(94);
const EDOM: Errno = Errno(33);

pub(crate) const MSG_OOB: u32 = 0x1;
pub(crate) const MSG_PEEK: u32 = 0x2;
const MSG_CTRUNC: u32 = 0x8;
pub(crate) const MSG_TRUNC: u32 = 0x20;
pub(crate) const MSG_DONTWAIT: u32 = 0x40;
const MSG_WAITALL: u32 = 0x100;
pub(crate) const MSG_ERRQUEUE: u32 = 0x2000;
pub(crate) const MSG_NOSIGNAL: u32 = 0x4000;
pub(crate) const MSG_CMSG_CLOEXEC: u32 = 0x4000_0000;

pub(crate) const SOL_SOCKET: i32 = 1;
const SO_DEBUG: i32 = 1;
const SO_REUSEADDR: i32 = 2;
const SO_DONTROUTE: i32 = 5;
const SO_BROADCAST: i32 = 6;
const SO_KEEPALIVE: i32 = 9;
const SO_OOBINLINE: i32 = 10;
const SO_TYPE: i32 = 3;
const SO_ERROR: i32 = 4;
const SO_SNDBUF: i32 = 7;
const SO_RCVBUF: i32 = 8;
const SO_PASSCRED: i32 = 16;
const SO_PEERCRED: i32 = 17;
const SO_RCVLOWAT: i32 = 18;
const SO_SNDLOWAT: i32 = 19;
const SO_LINGER: i32 = 13;
const SO_RCVTIMEO: i32 = 20;
const SO_SNDTIMEO: i32 = 21;
const SO_ACCEPTCONN: i32 = 30;
const SO_PROTOCOL: i32 = 38;
const SO_DOMAIN: i32 = 39;
const SO_RCVTIMEO_NEW: i32 = 66;
const SO_SNDTIMEO_NEW: i32 = 67;

const SCM_RIGHTS: i32 = 1;
const SCM_CREDENTIALS: i32 = 2;

/// `struct msghdr` is 56 bytes, `struct cmsghdr` 16, `struct ucred` 12.
const MSGHDR_SIZE: usize = 56;
const CMSGHDR_SIZE: usize = 16;
const UCRED_SIZE: usize = 12;
/// `struct sockaddr_storage`.
pub(crate) const SOCKADDR_MAX: usize = 128;
/// `struct sockaddr_un`.
const SOCKADDR_UN_SIZE: usize = 110;
/// Most iovecs per message (`UIO_MAXIOV`).
const IOV_MAX: u64 = 1024;
/// Largest control buffer (`net.core.optmem_max`).
const CONTROL_MAX: u64 = 131_072;
/// Largest piece of a stream moved through the sentry per step.
const CHUNK: usize = 1 << 20;

pub(crate) fn nofile(t: &Task) -> u64 {
    t.rlimit(abi::misc::RLIMIT_NOFILE).cur
}

/// A unix socket, or one of the `net` crate.
type AnySock = Result<Arc<Socket>, Other>;

/// The socket behind `fd`: `EBADF`, or `ENOTSOCK` for other files.
fn sock_any(t: &Task, fd: u64) -> SysResult<(Arc<File>, AnySock)> {
    let f = util::file(t, fd)?;
    if f.flags() & O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    if let Some(s) = unix::from_file(&f) {
        return Ok((f, Ok(s)));
    }
    let o = inet::other_of(&f).ok_or(Errno::ENOTSOCK)?;
    Ok((f, Err(o)))
}

/// The unix socket behind `fd`, or the calling handler returns what
/// `$other` (a `net` socket's handler) gives.
macro_rules! unix_or {
    ($t:expr, $fd:expr, |$f:ident, $o:ident| $other:expr) => {
        match sock_any($t, $fd)? {
            (f, Ok(s)) => (f, s),
            #[allow(unused_variables)]
            ($f, Err($o)) => return $other,
        }
    };
}

fn cmsg_align(n: usize) -> usize {
    n.div_ceil(8) * 8
}

// ---------------------------------------------------------------------------
// socketpair
// ---------------------------------------------------------------------------

/// The error `socketpair` gives for a family other than `AF_UNIX`: the
/// socket types those families have, then `EOPNOTSUPP` because they cannot
/// make pairs, or `EAFNOSUPPORT` for families the sandbox does not have.
fn other_family_error(family: i32, ty: i32) -> Errno {
    match family {
        AF_INET | AF_INET6 => match ty {
            SOCK_STREAM | SOCK_DGRAM | SOCK_RAW => Errno::EOPNOTSUPP,
            _ => ESOCKTNOSUPPORT,
        },
        AF_NETLINK => match ty {
            SOCK_DGRAM | SOCK_RAW => Errno::EOPNOTSUPP,
            _ => ESOCKTNOSUPPORT,
        },
        AF_PACKET => match ty {
            SOCK_DGRAM | SOCK_RAW | 10 => Errno::EOPNOTSUPP,
            _ => ESOCKTNOSUPPORT,
        },
        _ => Errno::EAFNOSUPPORT,
    }
}

/// Who the calling task is, for `SO_PEERCRED`.
pub(crate) fn cred(t: &Task) -> Cred {
    Cred {
        pid: t.pid(),
        uid: t.euid,
        gid: t.egid,
    }
}

/// Checks `socket`/`socketpair` arguments as Linux's `__sock_create` and
/// `unix_create`; returns the `AF_UNIX` type and the file flags. `pair`
/// selects `socketpair`'s errors for the other families.
fn socket_args(family: i32, raw_type: i32, protocol: i32, pair: bool) -> SysResult<(i32, u32)> {
    let flags = (raw_type & !SOCK_TYPE_MASK) as u32;
    if flags & !(O_CLOEXEC | O_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let ty = raw_type & SOCK_TYPE_MASK;
    if family <= AF_UNSPEC || family >= AF_MAX {
        return Err(Errno::EAFNOSUPPORT);
    }
    if ty >= SOCK_MAX {
        return Err(Errno::EINVAL);
    }
    if family != AF_UNIX {
        // Of the others only the `net` crate's families exist.
        if !pair && matches!(family, AF_INET | AF_INET6 | AF_NETLINK) {
            return Ok((ty, flags));
        }
        return Err(if pair {
            other_family_error(family, ty)
        } else {
            Errno::EAFNOSUPPORT
        });
    }
    if protocol != 0 && protocol != AF_UNIX {
        return Err(Errno::EPROTONOSUPPORT);
    }
    let ty = match ty {
        SOCK_STREAM => SOCK_STREAM,
        SOCK_DGRAM | SOCK_RAW => SOCK_DGRAM,
        SOCK_SEQPACKET => SOCK_SEQPACKET,
        _ => return Err(ESOCKTNOSUPPORT),
    };
    Ok((ty, flags))
}

/// The caller's network namespace, as unix sockets name it (abstract
/// names are per network namespace).
fn netns_id(t: &Task) -> u64 {
    kernel::task::lock(&t.shared.ns).net.ino
}

pub fn socket(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (ty, flags) = socket_args(a[0] as i32, a[1] as i32, a[2] as i32, false)?;
    let family = a[0] as i32;
    let f = if family == AF_UNIX {
        let s = unix::new_socket(ty, cred(t))?;
        s.set_netns(netns_id(t));
        unix::new_file(s, flags & O_NONBLOCK)
    } else {
        inet::socket(t, family, ty, a[2] as i32, flags & O_NONBLOCK)?
    };
    let lim = nofile(t);
    let fd = t.fds().install(f, flags & O_CLOEXEC != 0, 0, lim)?;
    Ok(fd as u64)
}

pub fn socketpair(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let sv = a[3];
    if (a[1] as i32 & !SOCK_TYPE_MASK) as u32 & !(O_CLOEXEC | O_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    // Linux writes the reserved descriptors before creating the sockets.
    t.mm().check_access(sv, 8, true)?;
    let (ty, flags) = socket_args(a[0] as i32, a[1] as i32, a[2] as i32, true)?;
    let cred = cred(t);
    let (f1, f2) = unix::pair_files(ty, flags & O_NONBLOCK, cred)?;
    for f in [&f1, &f2] {
        if let Some(s) = unix::from_file(f) {
            s.set_netns(netns_id(t));
        }
    }
    let cloexec = flags & O_CLOEXEC != 0;
    let lim = nofile(t);
    let fd1 = t.fds().install(f1, cloexec, 0, lim)?;
    let fd2 = match t.fds().install(f2, cloexec, 0, lim) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = t.fds().remove(fd1);
            return Err(e);
        }
    };
    if let Err(e) = util::write_obj(t, sv, &[fd1, fd2]) {
        let _ = t.fds().remove(fd1);
        let _ = t.fds().remove(fd2);
        return Err(e);
    }
    Ok(0)
}

// ---------------------------------------------------------------------------
// User buffers
// ---------------------------------------------------------------------------

/// Reads an iovec array: `EMSGSIZE` for more than `IOV_MAX` entries,
/// `EINVAL` for a negative length. The total is capped at `MAX_RW`.
pub(crate) fn read_iovecs(t: &Task, addr: u64, cnt: u64) -> SysResult<Vec<IoVec>> {
    if cnt > IOV_MAX {
        return Err(Errno::EMSGSIZE);
    }
    let mut v = Vec::with_capacity(cnt as usize);
    let mut total = 0u64;
    for i in 0..cnt {
        let mut iov: IoVec = util::read_obj(t, addr.wrapping_add(i * 16))?;
        if (iov.len as i64) < 0 {
            return Err(Errno::EINVAL);
        }
        iov.len = iov.len.min(MAX_RW as u64 - total);
        total += iov.len;
        v.push(iov);
    }
    Ok(v)
}

pub(crate) fn total_len(iovs: &[IoVec]) -> usize {
    iovs.iter().map(|v| v.len as usize).sum()
}

/// Copies `buf.len()` bytes starting `off` bytes into the iovecs' data.
pub(crate) fn gather(t: &Task, iovs: &[IoVec], off: usize, buf: &mut [u8]) -> SysResult<()> {
    if gather_prefix(t, iovs, off, buf) < buf.len() {
        return Err(Errno::EFAULT);
    }
    Ok(())
}

/// Copies the iovecs' data from `off` bytes in into `buf`, stopping at
/// the first fault; the bytes copied.
pub(crate) fn gather_prefix(t: &Task, iovs: &[IoVec], mut off: usize, buf: &mut [u8]) -> usize {
    let mut mm = t.mm();
    let mut done = 0;
    for v in iovs {
        if done == buf.len() {
            break;
        }
        let len = v.len as usize;
        if off >= len {
            off -= len;
            continue;
        }
        let n = (len - off).min(buf.len() - done);
        let got = mm.copy_in_prefix(v.base.wrapping_add(off as u64), &mut buf[done..done + n]);
        done += got;
        off = 0;
        if got < n {
            break;
        }
    }
    done
}

/// Copies `data` into the iovecs.
pub(crate) fn scatter(t: &Task, iovs: &[IoVec], data: &[u8]) -> SysResult<()> {
    scatter_at(t, iovs, 0, data)
}

/// Copies `data` into the iovecs' data starting `off` bytes in.
pub(crate) fn scatter_at(t: &Task, iovs: &[IoVec], mut off: usize, data: &[u8]) -> SysResult<()> {
    let mut mm = t.mm();
    let mut done = 0;
    for v in iovs {
        if done == data.len() {
            break;
        }
        let len = v.len as usize;
        if off >= len {
            off -= len;
            continue;
        }
        let n = (len - off).min(data.len() - done);
        mm.copy_out(v.base.wrapping_add(off as u64), &data[done..done + n])?;
        done += n;
        off = 0;
    }
    Ok(())
}

/// Whether the iovecs can take a copy-out (checked before consuming stream
/// data, which a fault must not lose).
fn check_writable(t: &Task, iovs: &[IoVec]) -> SysResult<()> {
    let mm = t.mm();
    for v in iovs {
        mm.check_access(v.base, v.len, true)?;
    }
    Ok(())
}

/// `move_addr_to_user`: copies as much of `addr` as `*ulen` allows and
/// stores the full length in `*ulen`.
pub(crate) fn put_addr(t: &Task, addr: &[u8], uaddr: u64, ulen: u64) -> SysResult<()> {
    let len: i32 = util::read_obj(t, ulen)?;
    let len = len.min(addr.len() as i32);
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    if len > 0 {
        t.mm().copy_out(uaddr, &addr[..len as usize])?;
    }
    util::write_obj(t, ulen, &(addr.len() as i32))
}

/// The name of an unbound socket: just the family.
const UNNAMED: [u8; 2] = [AF_UNIX as u8, 0];

// ---------------------------------------------------------------------------
// Sending
// ---------------------------------------------------------------------------

fn family(addr: &[u8]) -> i32 {
    match addr {
        [a, b, ..] => u16::from_le_bytes([*a, *b]) as i32,
        _ => -1,
    }
}

/// Checks a `sockaddr_un` naming a socket (`unix_validate_addr`): `EINVAL`
/// unless it is `AF_UNIX` with something after the family.
fn check_addr(addr: &[u8]) -> SysResult<()> {
    if addr.len() <= 2 || addr.len() > SOCKADDR_UN_SIZE || family(addr) != AF_UNIX {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// The path of a checked filesystem address: up to the first NUL.
fn addr_path(addr: &[u8]) -> &[u8] {
    let p = &addr[2..];
    let end = p.iter().position(|&b| b == 0).unwrap_or(p.len());
    &p[..end]
}

/// The socket a checked address names, as Linux's `unix_find_other`: for a
/// path, the lookup's error, `EACCES` without write permission, then
/// `ECONNREFUSED` if no socket is bound there, `EPROTOTYPE` if one of
/// another type is; `ECONNREFUSED` for an abstract name no socket of this
/// type has (each type has its own abstract names).
/// `me` is the socket looking: its type, and its network namespace for an
/// abstract name.
fn find_peer(t: &Task, addr: &[u8], me: &Socket) -> SysResult<Arc<Socket>> {
    let ty = me.sock_type();
    let s = if addr[2] == 0 {
        unix::find_abstract(addr, ty, me.netns())?
    } else {
        let d = util::lookup(t, AT_FDCWD as u64, addr_path(addr), true, false)?;
        let c = t.vfs_creds();
        if !vfs::inode::may_access(&d.inode.meta(), &c, W_OK) {
            return Err(Errno::EACCES);
        }
        if d.inode.mode() & S_IFMT != S_IFSOCK {
            return Err(Errno::ECONNREFUSED);
        }
        unix::find_by_inode(&d.inode)?
    };
    if s.sock_type() != ty {
        return Err(Errno::EPROTOTYPE);
    }
    Ok(s)
}

/// Reads the `sockaddr` argument of `bind`/`connect`
/// (`move_addr_to_kernel`): `EINVAL` for a negative or oversized length.
pub(crate) fn read_sockaddr(t: &Task, addr: u64, len: u64) -> SysResult<Vec<u8>> {
    let len = len as i32;
    if len < 0 || len as usize > SOCKADDR_MAX {
        return Err(Errno::EINVAL);
    }
    let mut b = vec![0u8; len as usize];
    if len > 0 {
        t.mm().copy_in(addr, &mut b)?;
    }
    Ok(b)
}

/// Reads the `sockaddr` of `sendto`/`sendmsg`.
fn read_addr(t: &Task, addr: u64, len: u64) -> SysResult<Option<Vec<u8>>> {
    if addr == 0 || len == 0 {
        return Ok(None);
    }
    let len = len as i32;
    if len < 0 || len as usize > SOCKADDR_MAX {
        return Err(Errno::EINVAL);
    }
    let mut b = vec![0u8; len as usize];
    t.mm().copy_in(addr, &mut b)?;
    Ok(Some(b))
}

/// When a wait with `timeout` ends; `None` (forever) for a timeout beyond
/// what the clock can represent.
pub(crate) fn deadline(timeout: Option<Duration>) -> Option<Instant> {
    timeout.and_then(|d| Instant::now().checked_add(d))
}

/// Maps the end of a wait: a timeout is `EAGAIN`; a signal restarts the
/// call unless the socket has a timeout (`sock_intr_errno`).
pub(crate) fn wait_error(e: Errno, timeout: Option<Duration>) -> Errno {
    match e {
        Errno::ETIMEDOUT => Errno::EAGAIN,
        Errno::ERESTARTSYS if timeout.is_some() => Errno::EINTR,
        e => e,
    }
}

pub(crate) const SEND_EVENTS: u32 = events::OUT | events::WRNORM | events::ERR | events::HUP;
pub(crate) const RECV_EVENTS: u32 =
    events::IN | events::RDNORM | events::ERR | events::HUP | events::RDHUP;

/// Sends `data` with `files`, waiting for room unless `nonblock`. A stream
/// keeps going until all is sent; what was sent before an error counts.
fn send_data(
    t: &mut Task,
    s: &Socket,
    data: &[u8],
    files: &mut Vec<Arc<File>>,
    dest: Option<&Arc<Socket>>,
    nonblock: bool,
) -> SysResult<usize> {
    // A datagram sender waits for room at its destination.
    let target = match dest {
        Some(d) => Some(d.clone()),
        None if s.sock_type() == SOCK_DGRAM => s.dgram_peer(),
        None => None,
    };
    let queue = target.as_ref().map_or(s.queue(), |d| d.queue());
    let timeout = s.sndtimeo();
    let until = deadline(timeout);
    let stream = s.sock_type() == SOCK_STREAM;
    let mut done = 0;
    loop {
        let r = if nonblock {
            s.send_to(&data[done..], files, dest)
        } else {
            t.block_on(Some(queue), SEND_EVENTS, until, |_| {
                s.send_to(&data[done..], files, dest)
            })
        };
        match r {
            Ok(n) => {
                done += n;
                if done == data.len() || !stream || nonblock {
                    return Ok(done);
                }
            }
            Err(_) if done > 0 => return Ok(done),
            Err(e) => return Err(wait_error(e, timeout)),
        }
    }
}

/// The common part of `sendto` and `sendmsg`.
pub(crate) fn send_common(
    t: &mut Task,
    f: &File,
    s: &Socket,
    iovs: &[IoVec],
    flags: u32,
    addr: Option<Vec<u8>>,
    mut files: Vec<Arc<File>>,
) -> SysResult<u64> {
    let ty = s.sock_type();
    if flags & MSG_OOB != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    let dest = match addr {
        Some(addr) => match ty {
            SOCK_STREAM if s.connected() => return Err(Errno::EISCONN),
            SOCK_STREAM => return Err(Errno::EOPNOTSUPP),
            SOCK_DGRAM => {
                check_addr(&addr)?;
                Some(find_peer(t, &addr, s)?)
            }
            // A seqpacket socket ignores the address.
            _ => None,
        },
        None => None,
    };
    let dest = dest.as_ref();
    let nonblock = f.nonblocking() || flags & MSG_DONTWAIT != 0;
    let total = total_len(iovs);
    let r = if ty == SOCK_STREAM {
        let mut sent = 0;
        let mut buf = vec![0u8; total.min(CHUNK)];
        loop {
            let n = (total - sent).min(CHUNK);
            if let Err(e) = gather(t, iovs, sent, &mut buf[..n]) {
                break if sent > 0 { Ok(sent) } else { Err(e) };
            }
            match send_data(t, s, &buf[..n], &mut files, dest, nonblock) {
                Ok(k) => {
                    sent += k;
                    if k < n || sent == total {
                        break Ok(sent);
                    }
                }
                Err(_) if sent > 0 => break Ok(sent),
                Err(e) => break Err(e),
            }
        }
    } else {
        if total + 32 > s.sndbuf() {
            return Err(Errno::EMSGSIZE);
        }
        let mut buf = vec![0u8; total];
        gather(t, iovs, 0, &mut buf)?;
        send_data(t, s, &buf, &mut files, dest, nonblock)
    };
    if ty == SOCK_STREAM && r == Err(Errno::EPIPE) && flags & MSG_NOSIGNAL == 0 {
        sigpipe(t);
    }
    r.map(|n| n as u64)
}

pub fn sendto(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let len = (a[2] as usize).min(MAX_RW);
    let iov = [IoVec {
        base: a[1],
        len: len as u64,
    }];
    let (f, s) = unix_or!(t, a[0], |f, o| {
        let addr = read_addr(t, a[4], a[5])?;
        inet::send(t, &f, o, &iov, a[3] as u32, addr, &[])
    });
    let addr = read_addr(t, a[4], a[5])?;
    send_common(t, &f, &s, &iov, a[3] as u32, addr, Vec::new())
}

/// A decoded `struct msghdr`.
pub(crate) struct MsgHdr {
    pub name: u64,
    pub namelen: u32,
    pub iov: u64,
    pub iovlen: u64,
    pub control: u64,
    pub controllen: u64,
}

pub(crate) fn read_msghdr(t: &Task, addr: u64) -> SysResult<MsgHdr> {
    let mut b = [0u8; MSGHDR_SIZE];
    t.mm().copy_in(addr, &mut b)?;
    let u64_at = |o: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[o..o + 8]);
        u64::from_le_bytes(w)
    };
    Ok(MsgHdr {
        name: u64_at(0),
        namelen: u64_at(8) as u32,
        iov: u64_at(16),
        iovlen: u64_at(24),
        control: u64_at(32),
        controllen: u64_at(40),
    })
}

/// Whether the sender may claim `cred` (`SCM_CREDENTIALS`).
fn creds_allowed(t: &Task, b: &[u8]) -> bool {
    let word = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
    let (pid, uid, gid) = (word(0) as i32, word(4), word(8));
    let root = t.euid == 0;
    (t.global_id(pid) == Some(t.pid()) || root)
        && (uid == t.creds.uid || uid == t.euid || root)
        && (gid == t.creds.gid || gid == t.egid || root)
}

/// Parses the control messages of `sendmsg`: the files of `SCM_RIGHTS`;
/// `SCM_CREDENTIALS` is checked and dropped; other `SOL_SOCKET` types are
/// `EINVAL`, other levels ignored.
fn parse_control(t: &Task, ctl: &[u8]) -> SysResult<Vec<Arc<File>>> {
    let mut files = Vec::new();
    let mut off = 0;
    while off + CMSGHDR_SIZE <= ctl.len() {
        let h = &ctl[off..off + CMSGHDR_SIZE];
        let mut w = [0u8; 8];
        w.copy_from_slice(&h[..8]);
        let len = u64::from_le_bytes(w);
        let level = i32::from_le_bytes([h[8], h[9], h[10], h[11]]);
        let kind = i32::from_le_bytes([h[12], h[13], h[14], h[15]]);
        if len < CMSGHDR_SIZE as u64 || len > (ctl.len() - off) as u64 {
            return Err(Errno::EINVAL);
        }
        let len = len as usize;
        let data = &ctl[off + CMSGHDR_SIZE..off + len];
        if level == SOL_SOCKET {
            match kind {
                SCM_RIGHTS => {
                    let n = data.len() / 4;
                    if files.len() + n > unix::SCM_MAX_FD {
                        return Err(Errno::EINVAL);
                    }
                    for fd in data.chunks_exact(4) {
                        let fd = i32::from_le_bytes([fd[0], fd[1], fd[2], fd[3]]);
                        files.push(t.fds().get(fd).map_err(|_| Errno::EBADF)?);
                    }
                }
                SCM_CREDENTIALS => {
                    if data.len() != UCRED_SIZE {
                        return Err(Errno::EINVAL);
                    }
                    if !creds_allowed(t, data) {
                        return Err(Errno::EPERM);
                    }
                }
                _ => return Err(Errno::EINVAL),
            }
        }
        off += cmsg_align(len);
    }
    Ok(files)
}

pub fn sendmsg(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (f, s) = sock_any(t, a[0])?;
    let mh = read_msghdr(t, a[1])?;
    let addr = if mh.name == 0 {
        None
    } else {
        let len = (mh.namelen as i32).min(SOCKADDR_MAX as i32);
        read_addr(t, mh.name, len as u32 as u64)?
    };
    let iovs = read_iovecs(t, mh.iov, mh.iovlen)?;
    if mh.controllen > i32::MAX as u64 || mh.controllen > CONTROL_MAX {
        return Err(Errno::ENOBUFS);
    }
    let mut ctl = vec![0u8; mh.controllen as usize];
    if !ctl.is_empty() {
        t.mm().copy_in(mh.control, &mut ctl)?;
    }
    let s = match s {
        Ok(s) => s,
        Err(o) => return inet::send(t, &f, o, &iovs, a[2] as u32, addr, &ctl),
    };
    let files = parse_control(t, &ctl)?;
    send_common(t, &f, &s, &iovs, a[2] as u32, addr, files)
}

// ---------------------------------------------------------------------------
// Receiving
// ---------------------------------------------------------------------------

/// What a receive produced for the caller.
pub(crate) struct RecvOut {
    /// The return value.
    pub ret: usize,
    /// `msg_flags` bits (`MSG_TRUNC`).
    pub flags: u32,
    pub files: Vec<Arc<File>>,
    /// The sender's name (empty when unnamed).
    pub from: Addr,
}

/// One receive, waiting for data unless `nonblock`.
fn recv_once(
    t: &mut Task,
    s: &Socket,
    buf: &mut [u8],
    peek: bool,
    nonblock: bool,
    until: Option<Instant>,
    iovs: &[IoVec],
) -> SysResult<Received> {
    let stream = s.sock_type() == SOCK_STREAM;
    let mut attempt = |t: &mut Task| {
        // Stream data stays queued if the caller's buffer is bad.
        if stream && s.inq() > 0 {
            check_writable(t, iovs)?;
        }
        s.recv(buf, peek, nonblock)
    };
    if nonblock {
        attempt(t)
    } else {
        t.block_on(Some(s.queue()), RECV_EVENTS, until, attempt)
    }
}

pub(crate) fn recv_common(
    t: &mut Task,
    f: &File,
    s: &Socket,
    iovs: &[IoVec],
    flags: u32,
) -> SysResult<RecvOut> {
    let ty = s.sock_type();
    if flags & MSG_OOB != 0 {
        return Err(if ty == SOCK_STREAM {
            Errno::EINVAL
        } else {
            Errno::EOPNOTSUPP
        });
    }
    let nonblock = f.nonblocking() || flags & MSG_DONTWAIT != 0;
    let peek = flags & MSG_PEEK != 0;
    let timeout = s.rcvtimeo();
    let until = deadline(timeout);
    let mut buf = vec![0u8; total_len(iovs).min(CHUNK)];
    if ty == SOCK_STREAM {
        let waitall = flags & MSG_WAITALL != 0 && !peek;
        let mut got = 0;
        let mut files = Vec::new();
        let mut from = None;
        loop {
            let r = recv_once(t, s, &mut buf[got..], peek, nonblock, until, iovs);
            match r {
                Ok(rcv) => {
                    if got == 0 {
                        from = rcv.from;
                    }
                    got += rcv.len;
                    files.extend(rcv.files);
                    if rcv.eof || rcv.boundary || !waitall || nonblock || got == buf.len() {
                        break;
                    }
                }
                Err(_) if got > 0 => break,
                Err(e) => return Err(wait_error(e, timeout)),
            }
        }
        scatter(t, iovs, &buf[..got])?;
        Ok(RecvOut {
            ret: got,
            flags: 0,
            files,
            from: from.unwrap_or_default(),
        })
    } else {
        let rcv = recv_once(t, s, &mut buf, peek, nonblock, until, &[])
            .map_err(|e| wait_error(e, timeout))?;
        // A datagram is gone once taken, even if copying it out fails.
        scatter(t, iovs, &buf[..rcv.len])?;
        let truncated = rcv.msg_len > rcv.len;
        Ok(RecvOut {
            ret: if flags & MSG_TRUNC != 0 {
                rcv.msg_len
            } else {
                rcv.len
            },
            flags: if truncated { MSG_TRUNC } else { 0 },
            files: rcv.files,
            from: rcv.from.unwrap_or_default(),
        })
    }
}

pub fn recvfrom(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (f, s) = unix_or!(t, a[0], |f, o| inet::recvfrom(t, &f, o, a));
    let len = (a[2] as usize).min(MAX_RW);
    let iov = [IoVec {
        base: a[1],
        len: len as u64,
    }];
    // Files that arrive without a control buffer are closed.
    let out = recv_common(t, &f, &s, &iov, a[3] as u32)?;
    if a[4] != 0 {
        put_addr(t, &out.from, a[4], a[5])?;
    }
    Ok(out.ret as u64)
}

/// Installs received files and writes the `SCM_RIGHTS` message into the
/// caller's control buffer, as Linux's `scm_detach_fds`: as many as fit,
/// `MSG_CTRUNC` for the rest (which are closed). Returns the control bytes
/// used and the flags to add.
fn put_rights(
    t: &mut Task,
    files: Vec<Arc<File>>,
    control: u64,
    controllen: u64,
    cloexec: bool,
) -> (u64, u32) {
    if files.is_empty() {
        return (0, 0);
    }
    let room = if control == 0 { 0 } else { controllen };
    let fdmax = (room.saturating_sub(CMSGHDR_SIZE as u64) / 4).min(files.len() as u64) as usize;
    let lim = nofile(t);
    let mut fds: Vec<i32> = Vec::new();
    for f in files.iter().take(fdmax) {
        let fd = match t.fds().install(f.clone(), cloexec, 0, lim) {
            Ok(fd) => fd,
            Err(_) => break,
        };
        let at = control.wrapping_add((CMSGHDR_SIZE + 4 * fds.len()) as u64);
        if util::write_obj(t, at, &fd).is_err() {
            let _ = t.fds().remove(fd);
            break;
        }
        fds.push(fd);
    }
    let mut flags = 0;
    if fds.len() < files.len() {
        flags |= MSG_CTRUNC;
    }
    if fds.is_empty() {
        return (0, flags);
    }
    let cmsg_len = (CMSGHDR_SIZE + 4 * fds.len()) as u64;
    let mut h = [0u8; CMSGHDR_SIZE];
    h[..8].copy_from_slice(&cmsg_len.to_le_bytes());
    h[8..12].copy_from_slice(&SOL_SOCKET.to_le_bytes());
    h[12..].copy_from_slice(&SCM_RIGHTS.to_le_bytes());
    if t.mm().copy_out(control, &h).is_err() {
        return (0, flags);
    }
    let used = (cmsg_align(cmsg_len as usize) as u64).min(controllen);
    (used, flags)
}

pub fn recvmsg(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (f, s) = unix_or!(t, a[0], |f, o| inet::recvmsg(t, &f, o, a));
    let flags = a[2] as u32;
    let mh = read_msghdr(t, a[1])?;
    if mh.name != 0 && (mh.namelen as i32) < 0 {
        return Err(Errno::EINVAL);
    }
    let iovs = read_iovecs(t, mh.iov, mh.iovlen)?;
    let mut out = recv_common(t, &f, &s, &iovs, flags)?;
    let (used, ctl_flags) = put_rights(
        t,
        std::mem::take(&mut out.files),
        mh.control,
        mh.controllen,
        flags & MSG_CMSG_CLOEXEC != 0,
    );
    if mh.name != 0 {
        put_addr(t, &out.from, mh.name, a[1].wrapping_add(8))?;
    }
    let msg_flags = (flags & MSG_CMSG_CLOEXEC) | out.flags | ctl_flags;
    util::write_obj(t, a[1].wrapping_add(48), &msg_flags)?;
    util::write_obj(t, a[1].wrapping_add(40), &used)?;
    Ok(out.ret as u64)
}

// ---------------------------------------------------------------------------
// shutdown, names and options
// ---------------------------------------------------------------------------

pub fn shutdown(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (_f, s) = unix_or!(t, a[0], |f, o| inet::shutdown(t, o, a));
    s.shutdown(a[1] as i32).map(|_| 0)
}

pub fn getsockname(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (_f, s) = unix_or!(t, a[0], |f, o| inet::getsockname(t, o, a));
    let addr = s.local_addr().unwrap_or_else(|| UNNAMED.to_vec());
    put_addr(t, &addr, a[1], a[2]).map(|_| 0)
}

pub fn getpeername(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (_f, s) = unix_or!(t, a[0], |f, o| inet::getpeername(t, o, a));
    let addr = s.peer_addr()?.unwrap_or_else(|| UNNAMED.to_vec());
    put_addr(t, &addr, a[1], a[2]).map(|_| 0)
}

pub fn bind(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (_f, s) = unix_or!(t, a[0], |f, o| inet::bind(t, o, a));
    let addr = read_sockaddr(t, a[1], a[2])?;
    if addr.len() == 2 && family(&addr) == AF_UNIX {
        return s.autobind().map(|_| 0);
    }
    check_addr(&addr)?;
    if addr[2] == 0 {
        return s.bind_abstract(addr).map(|_| 0);
    }
    let path = addr_path(&addr).to_vec();
    // The name as getsockname reports it: family, path, NUL.
    let mut name = addr[..2 + path.len()].to_vec();
    name.push(0);
    let (root, cwd, umask) = {
        let fs = t.fs();
        (fs.root.clone(), fs.cwd.clone(), fs.umask)
    };
    let creds = t.vfs_creds();
    let vfs = t.kernel.vfs.clone();
    let (dir, last, trailing) = vfs.resolve_parent(&root, &cwd, &path, &creds)?;
    match vfs.lookup_child(&dir, &last) {
        Ok(_) => return Err(Errno::EADDRINUSE),
        Err(Errno::ENOENT) => {}
        Err(e) => return Err(e),
    }
    if trailing {
        return Err(Errno::ENOENT);
    }
    if !vfs::may_write_dir(&dir, &creds) {
        return Err(Errno::EACCES);
    }
    vfs::landlock::check(&creds, &dir, vfs::landlock::ACCESS_FS_MAKE_SOCK)?;
    let inode = Inode::new(
        vfs::inode::next_ino(),
        vfs::inode::DEV_ROOT,
        Meta::new(S_IFSOCK | (s.mode() & 0o777 & !umask), creds.uid, creds.gid),
        Kind::Socket,
    );
    vfs.create_child(&dir, &last, inode.clone()).map_err(|e| {
        if e == Errno::EEXIST {
            Errno::EADDRINUSE
        } else {
            e
        }
    })?;
    if let Err(e) = s.bind_path(name, &inode) {
        // Already bound: Linux removes the file it made.
        let _ = vfs.unlink(&root, &dir, &last, &vfs::Creds::root());
        return Err(e);
    }
    Ok(0)
}

pub fn listen(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (_f, s) = unix_or!(t, a[0], |f, o| inet::listen(t, o, a));
    s.listen(a[1] as i32, cred(t)).map(|_| 0)
}

pub fn accept4(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let flags = a[3] as u32;
    if flags & !(O_CLOEXEC | O_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let (f, s) = unix_or!(t, a[0], |f, o| inet::accept4(t, &f, o, a, flags));
    let new = accept_wait(t, &f, s.queue(), s.rcvtimeo(), || s.accept())?;
    if a[1] != 0 {
        let addr = new
            .peer_addr()
            .ok()
            .flatten()
            .unwrap_or_else(|| UNNAMED.to_vec());
        put_addr(t, &addr, a[1], a[2])?;
    }
    install_accepted(t, unix::new_file(new, flags & O_NONBLOCK), flags)
}

/// `accept` now, or on a blocking socket once a connection comes (woken
/// by `queue`), giving up after the receive `timeout`.
pub(crate) fn accept_wait<T>(
    t: &mut Task,
    f: &File,
    queue: &waiter::Queue,
    timeout: Option<Duration>,
    accept: impl Fn() -> SysResult<T>,
) -> SysResult<T> {
    let r = if f.nonblocking() {
        accept()
    } else {
        t.block_on(Some(queue), RECV_EVENTS, deadline(timeout), |_| accept())
    };
    r.map_err(|e| wait_error(e, timeout))
}

/// Gives the accepted socket's `file` a descriptor (`accept4`'s `flags`
/// choose `O_CLOEXEC`).
pub(crate) fn install_accepted(t: &mut Task, file: Arc<File>, flags: u32) -> SysResult<u64> {
    let lim = nofile(t);
    let fd = t.fds().install(file, flags & O_CLOEXEC != 0, 0, lim)?;
    Ok(fd as u64)
}

pub fn accept(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    accept4(t, [a[0], a[1], a[2], 0, 0, 0])
}

pub fn connect(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (f, s) = unix_or!(t, a[0], |f, o| inet::connect(t, &f, o, a));
    let addr = read_sockaddr(t, a[1], a[2])?;
    if s.sock_type() == SOCK_DGRAM {
        if addr.len() < 2 {
            return Err(Errno::EINVAL);
        }
        if family(&addr) == AF_UNSPEC {
            return s.connect_dgram(None).map(|_| 0);
        }
        check_addr(&addr)?;
        let target = find_peer(t, &addr, &s)?;
        if s.passcred() {
            s.autobind()?;
        }
        return s.connect_dgram(Some(&target)).map(|_| 0);
    }
    check_addr(&addr)?;
    if s.passcred() {
        s.autobind()?;
    }
    let target = find_peer(t, &addr, &s)?;
    let me = cred(t);
    let timeout = s.sndtimeo();
    let r = if f.nonblocking() {
        s.connect(&target, me)
    } else {
        // Wait for room in the listener's backlog.
        t.block_on(Some(target.queue()), SEND_EVENTS, deadline(timeout), |_| {
            s.connect(&target, me)
        })
    };
    r.map(|_| 0).map_err(|e| wait_error(e, timeout))
}

pub(crate) fn timeval_bytes(d: Option<Duration>) -> Vec<u8> {
    let (sec, usec) = d.map_or((0, 0), |d| (d.as_secs() as i64, d.subsec_micros() as i64));
    let mut v = sec.to_le_bytes().to_vec();
    v.extend_from_slice(&usec.to_le_bytes());
    v
}

/// The `SOL_SOCKET` options every socket has, of unix socket `s` (an
/// inet socket's data socket): `None` for others.
fn common_sockopt(s: &Socket, name: i32) -> Option<Vec<u8>> {
    let int = |v: i64| (v as i32).to_le_bytes().to_vec();
    Some(match name {
        SO_PASSCRED => int(s.passcred() as i64),
        SO_DEBUG | SO_REUSEADDR | SO_DONTROUTE | SO_BROADCAST | SO_KEEPALIVE | SO_OOBINLINE => {
            int(s.flag(name as u32) as i64)
        }
        SO_RCVLOWAT | SO_SNDLOWAT => int(1),
        SO_RCVTIMEO | SO_RCVTIMEO_NEW => timeval_bytes(s.rcvtimeo()),
        SO_SNDTIMEO | SO_SNDTIMEO_NEW => timeval_bytes(s.sndtimeo()),
        SO_LINGER => {
            let (on, secs) = s.linger();
            let mut v = int(on as i64);
            v.extend_from_slice(&secs.to_le_bytes());
            v
        }
        _ => return None,
    })
}

pub fn getsockopt(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (_f, s) = sock_any(t, a[0])?;
    if let Err(inet::Other::Host(h)) = &s {
        return crate::hostinet::getsockopt(t, &**h, a);
    }
    let (level, name, optval, optlen) = (a[1] as i32, a[2] as i32, a[3], a[4]);
    let len: i32 = util::read_obj(t, optlen)?;
    let value = match s {
        Err(o) => {
            if len < 0 {
                return Err(Errno::EINVAL);
            }
            match inet::getsockopt(&o, level, name)? {
                Some(v) => v,
                None => match &o {
                    inet::Other::Inet(i) => {
                        common_sockopt(i.data(), name).ok_or(Errno::ENOPROTOOPT)?
                    }
                    inet::Other::Netlink(_) | inet::Other::Host(_) => {
                        return Err(Errno::ENOPROTOOPT)
                    }
                },
            }
        }
        Ok(s) => {
            if level != SOL_SOCKET {
                return Err(Errno::EOPNOTSUPP);
            }
            if len < 0 {
                return Err(Errno::EINVAL);
            }
            let int = |v: i64| (v as i32).to_le_bytes().to_vec();
            match name {
                SO_TYPE => int(s.sock_type() as i64),
                SO_DOMAIN => int(AF_UNIX as i64),
                SO_PROTOCOL => int(0),
                SO_ACCEPTCONN => int(s.listening() as i64),
                SO_ERROR => int(s.take_error().map_or(0, |e| e.0 as i64)),
                SO_SNDBUF => int(s.sndbuf() as i64),
                SO_RCVBUF => int(s.rcvbuf() as i64),
                SO_PEERCRED => {
                    let c = s.peer_cred();
                    // The peer as the caller's pid namespace shows it.
                    let mut v = t.vpid(c.pid).to_le_bytes().to_vec();
                    let user = kernel::task::lock(&t.shared.ns).user.clone();
                    v.extend_from_slice(&user.uid_of(c.uid).to_le_bytes());
                    v.extend_from_slice(&user.gid_of(c.gid).to_le_bytes());
                    v
                }
                _ => common_sockopt(&s, name).ok_or(Errno::ENOPROTOOPT)?,
            }
        }
    };
    let n = (len as usize).min(value.len());
    t.mm().copy_out(optval, &value[..n])?;
    util::write_obj(t, optlen, &(n as i32))?;
    Ok(0)
}

/// `SO_RCVTIMEO`/`SO_SNDTIMEO`: `None` (wait forever) for zero, zero for a
/// negative time.
pub(crate) fn read_timeout(t: &Task, addr: u64, len: i32) -> SysResult<Option<Duration>> {
    if len < 16 {
        return Err(Errno::EINVAL);
    }
    let tv: [i64; 2] = util::read_obj(t, addr)?;
    let (sec, usec) = (tv[0], tv[1]);
    if !(0..1_000_000).contains(&usec) {
        return Err(EDOM);
    }
    if sec < 0 {
        return Ok(Some(Duration::ZERO));
    }
    if sec == 0 && usec == 0 {
        return Ok(None);
    }
    Ok(Some(
        Duration::from_secs(sec as u64) + Duration::from_micros(usec as u64),
    ))
}

/// Sets a `SOL_SOCKET` option every socket has on unix socket `s` (an
/// inet socket's data socket): `ENOPROTOOPT` for others.
fn set_common_sockopt(t: &Task, s: &Socket, name: i32, optval: u64, optlen: i32) -> SysResult<()> {
    if optlen < 4 {
        return Err(Errno::EINVAL);
    }
    let val: i32 = util::read_obj(t, optval)?;
    match name {
        SO_PASSCRED => s.set_passcred(val != 0),
        // CAP_NET_ADMIN (12) to turn debugging on.
        SO_DEBUG if val != 0 && !t.capable(12) => return Err(Errno::EACCES),
        SO_DEBUG | SO_REUSEADDR | SO_DONTROUTE | SO_BROADCAST | SO_KEEPALIVE | SO_OOBINLINE => {
            s.set_flag(name as u32, val != 0)
        }
        SO_RCVTIMEO | SO_RCVTIMEO_NEW => s.set_rcvtimeo(read_timeout(t, optval, optlen)?),
        SO_SNDTIMEO | SO_SNDTIMEO_NEW => s.set_sndtimeo(read_timeout(t, optval, optlen)?),
        // `struct linger`: kept and reported (a unix socket's close never
        // waits for its peer to read).
        SO_LINGER => {
            if optlen < 8 {
                return Err(Errno::EINVAL);
            }
            let secs: i32 = util::read_obj(t, optval.wrapping_add(4))?;
            s.set_linger(val != 0, secs)
        }
        _ => return Err(Errno::ENOPROTOOPT),
    }
    Ok(())
}

pub fn setsockopt(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (_f, s) = sock_any(t, a[0])?;
    if let Err(inet::Other::Host(h)) = &s {
        return crate::hostinet::setsockopt(t, &**h, a);
    }
    let (level, name, optval, optlen) = (a[1] as i32, a[2] as i32, a[3], a[4] as i32);
    if optlen < 0 {
        return Err(Errno::EINVAL);
    }
    let s = match s {
        Ok(s) => s,
        Err(o) => {
            // Options are small; a longer value is read in part.
            let mut raw = vec![0u8; (optlen as usize).min(256)];
            t.mm().copy_in(optval, &mut raw)?;
            if inet::setsockopt(t, &o, level, name, &raw)? {
                return Ok(0);
            }
            return match &o {
                inet::Other::Inet(i) => {
                    set_common_sockopt(t, i.data(), name, optval, optlen).map(|_| 0)
                }
                inet::Other::Netlink(_) | inet::Other::Host(_) => Err(Errno::ENOPROTOOPT),
            };
        }
    };
    if level != SOL_SOCKET {
        return Err(Errno::EOPNOTSUPP);
    }
    if optlen < 4 {
        return Err(Errno::EINVAL);
    }
    let val: i32 = util::read_obj(t, optval)?;
    match name {
        SO_SNDBUF => s.set_sndbuf(val as u32),
        SO_RCVBUF => s.set_rcvbuf(val as u32),
        _ => set_common_sockopt(t, &s, name, optval, optlen)?,
    }
    Ok(0)
}

// ---------------------------------------------------------------------------
// sendmmsg, recvmmsg
// ---------------------------------------------------------------------------

/// `struct mmsghdr`: a `msghdr` and the `msg_len` the call fills in.
const MMSGHDR_SIZE: u64 = 64;
const MSG_WAITFORONE: u32 = 0x10000;

/// `sendmmsg(2)`: `sendmsg` for each entry (at most `UIO_MAXIOV`) until one
/// fails; the messages sent count, the error only if none was.
pub fn sendmmsg(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (fd, vec, vlen, flags) = (a[0], a[1], (a[2] as u32 as u64).min(IOV_MAX), a[3]);
    let _ = sock_any(t, fd)?;
    let mut sent = 0u64;
    while sent < vlen {
        let hdr = vec.wrapping_add(sent * MMSGHDR_SIZE);
        match sendmsg(t, [fd, hdr, flags, 0, 0, 0]) {
            Ok(n) => {
                if let Err(e) = util::write_obj(t, hdr.wrapping_add(56), &(n as u32)) {
                    return if sent > 0 { Ok(sent) } else { Err(e) };
                }
                sent += 1;
            }
            Err(_) if sent > 0 => break,
            Err(e) => return Err(e),
        }
    }
    Ok(sent)
}

/// `recvmmsg(2)`: `recvmsg` for each entry; `MSG_WAITFORONE` stops
/// waiting after the first; the timeout is looked at after each message
/// (as Linux does).
pub fn recvmmsg(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (fd, vec, vlen, mut flags, tsp) = (
        a[0],
        a[1],
        (a[2] as u32 as u64).min(IOV_MAX),
        a[3] as u32,
        a[4],
    );
    let _ = sock_any(t, fd)?;
    let end = if tsp != 0 {
        let ts: [i64; 2] = util::read_obj(t, tsp)?;
        if ts[0] < 0 || !(0..1_000_000_000).contains(&ts[1]) {
            return Err(Errno::EINVAL);
        }
        Some(Instant::now() + Duration::new(ts[0] as u64, ts[1] as u32))
    } else {
        None
    };
    let mut got = 0u64;
    while got < vlen {
        let hdr = vec.wrapping_add(got * MMSGHDR_SIZE);
        match recvmsg(t, [fd, hdr, (flags & !MSG_WAITFORONE) as u64, 0, 0, 0]) {
            Ok(n) => {
                if let Err(e) = util::write_obj(t, hdr.wrapping_add(56), &(n as u32)) {
                    return if got > 0 { Ok(got) } else { Err(e) };
                }
                got += 1;
            }
            Err(_) if got > 0 => break,
            Err(e) => return Err(e),
        }
        if flags & MSG_WAITFORONE != 0 {
            flags |= MSG_DONTWAIT;
        }
        if end.is_some_and(|e| Instant::now() >= e) {
            break;
        }
    }
    if let (Some(e), true) = (end, tsp != 0) {
        let left = e.saturating_duration_since(Instant::now());
        util::write_obj(t, tsp, &[left.as_secs() as i64, left.subsec_nanos() as i64])?;
    }
    Ok(got)
}
