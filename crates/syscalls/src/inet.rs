//! The socket calls on inet (`AF_INET`, `AF_INET6`: TCP and UDP) and
//! route netlink sockets (`net` crate); `net.rs` sends them here after
//! finding the socket is not `AF_UNIX`. The data path of a TCP socket is
//! its unix data socket's, through the same send/receive code.

use std::net::SocketAddr;
use std::sync::Arc;

use abi::misc::IoVec;
use abi::{Errno, SysResult};
use kernel::Task;
use net::driven::Driven;
use net::inet::{self, Connected, InetSocket};
use net::netlink::{self, NetlinkSocket};
use net::netstack::StackSocket;
use net::{Proto, AF_INET, AF_INET6, AF_UNSPEC};
use vfs::File;

use crate::file::sigpipe;
use crate::net::{
    deadline, gather, put_addr, read_iovecs, read_msghdr, read_sockaddr, recv_common, scatter,
    send_common, total_len, wait_error, MSG_DONTWAIT, MSG_NOSIGNAL, MSG_OOB, MSG_PEEK, MSG_TRUNC,
    SEND_EVENTS,
};
use crate::util;

/// A socket of the `net` crate.
pub enum Other {
    Inet(Arc<InetSocket>),
    Netlink(Arc<NetlinkSocket>),
    /// A socket the sentry drives: a host socket (`--network=host`) or
    /// one of its TCP/IP stack (`--network=sandbox`).
    Host(Arc<dyn Driven>),
}

/// The `net` socket behind `f`, if it is one.
pub fn other_of(f: &File) -> Option<Other> {
    if let Some(s) = inet::from_file(f) {
        return Some(Other::Inet(s));
    }
    if let Some(s) = net::driven::from_file(f) {
        return Some(Other::Host(s));
    }
    netlink::from_file(f).map(Other::Netlink)
}

const SOCK_STREAM: i32 = 1;
const SOCK_DGRAM: i32 = 2;
const SOCK_RAW: i32 = 3;
const ESOCKTNOSUPPORT: Errno = Errno(94);

/// `socket(AF_INET/AF_INET6/AF_NETLINK, ...)`: the file, or the error
/// Linux gives for this type and protocol.
pub fn socket(t: &Task, family: i32, ty: i32, protocol: i32, flags: u32) -> SysResult<Arc<File>> {
    if net::mode() == net::Mode::Host {
        return crate::hostinet::socket(t, family, ty, protocol, flags);
    }
    let owner = crate::net::cred(t);
    if family == net::AF_NETLINK {
        if ty != SOCK_RAW && ty != SOCK_DGRAM {
            return Err(ESOCKTNOSUPPORT);
        }
        if protocol != netlink::NETLINK_ROUTE {
            // Other netlink families (sock_diag, audit, uevents) are absent.
            return Err(Errno::EPROTONOSUPPORT);
        }
        return Ok(netlink::new_file(
            NetlinkSocket::new(task_stack(t), owner),
            flags,
        ));
    }
    let proto = match (ty, protocol) {
        (SOCK_STREAM, 0 | net::IPPROTO_TCP) => Proto::Tcp,
        (SOCK_DGRAM, 0 | net::IPPROTO_UDP) => Proto::Udp,
        (SOCK_DGRAM, net::ping::IPPROTO_ICMP) if family == AF_INET => {
            let s = net::ping::PingSocket::new(task_stack(t), owner);
            return Ok(net::driven::new_file(s, flags));
        }
        (SOCK_STREAM | SOCK_DGRAM, _) => return Err(Errno::EPROTONOSUPPORT),
        // Raw and ICMP sockets need a packet layer the loopback does not
        // have yet.
        (SOCK_RAW, _) => return Err(Errno::EPROTONOSUPPORT),
        _ => return Err(ESOCKTNOSUPPORT),
    };
    let s = InetSocket::new(task_stack(t), family, proto, owner)?;
    Ok(inet::new_file(s, flags))
}

/// The network a socket made by `t` belongs to: its network
/// namespace's. A socket stays in it when its maker moves to another
/// (`setns`, `unshare`), as on Linux.
pub fn task_stack(t: &Task) -> Arc<net::Stack> {
    kernel::task::lock(&t.shared.ns).net.stack.clone()
}

/// Decodes the address of `bind`/`connect`/`sendto` for `s`.
fn addr_for(s: &InetSocket, b: &[u8], unspec_any: bool) -> SysResult<SocketAddr> {
    net::parse_addr(s.family, b, unspec_any)
}

pub fn bind(t: &mut Task, o: Other, a: [u64; 6]) -> SysResult<u64> {
    let b = read_sockaddr(t, a[1], a[2])?;
    match o {
        Other::Inet(s) => {
            let addr = addr_for(&s, &b, true)?;
            s.bind(addr).map(|_| 0)
        }
        // The port a netlink socket binds itself to is the caller's pid as
        // its pid namespace numbers it (Linux's `task_tgid_vnr`).
        Other::Netlink(n) => n.bind(&b, t.vpid(t.pid())).map(|_| 0),
        Other::Host(h) => h.bind(&b).map(|_| 0),
    }
}

/// Makes descriptor `fd` (now `old`) a driven socket's file, keeping its
/// status flags; other descriptors of the old file keep the old socket.
fn replace_file(t: &mut Task, fd: u64, old: &File, s: Arc<dyn Driven>) -> SysResult<Arc<File>> {
    let file = net::driven::new_file(s, old.flags() & abi::fs::O_NONBLOCK);
    let prev = {
        let mut fds = t.fds();
        let e = fds.entry_mut(fd as i32)?;
        std::mem::replace(&mut e.file, file.clone())
    };
    drop(prev);
    Ok(file)
}

pub fn listen(t: &mut Task, o: Other, a: [u64; 6]) -> SysResult<u64> {
    match o {
        Other::Inet(s) => {
            let backlog = a[1] as i32;
            s.listen(backlog)?;
            // A listener on the wildcard (with a link address of a family
            // it takes) or on the link's address listens on the stack too,
            // its loopback side kept.
            let ip = s.local_addr().ip();
            let v4 = s.family == AF_INET || !s.v6only();
            let v6 = s.family != AF_INET && net::netstack::link_addr6().is_some();
            let on_link = if ip.is_unspecified() {
                v4 || v6
            } else {
                net::netstack::link_addr_for(ip) == Some(ip)
            };
            if net::netstack::active() && s.proto == Proto::Tcp && on_link {
                let f = t.fds().get(a[0] as i32)?;
                let st = StackSocket::for_listen(s, f.clone(), backlog)?;
                replace_file(t, a[0], &f, st)?;
            }
            Ok(0)
        }
        Other::Netlink(_) => Err(Errno::EOPNOTSUPP),
        Other::Host(h) => crate::hostinet::listen(&*h, a),
    }
}

pub fn getsockname(t: &mut Task, o: Other, a: [u64; 6]) -> SysResult<u64> {
    let name = match o {
        Other::Inet(s) => net::encode_addr(s.family, s.local_addr()),
        Other::Netlink(n) => n.name(),
        Other::Host(h) => return crate::hostinet::getsockname(t, &*h, a),
    };
    put_addr(t, &name, a[1], a[2]).map(|_| 0)
}

pub fn getpeername(t: &mut Task, o: Other, a: [u64; 6]) -> SysResult<u64> {
    let name = match o {
        Other::Inet(s) => net::encode_addr(s.family, s.peer_addr()?),
        // The kernel is every route socket's peer.
        Other::Netlink(_) => netlink::sockaddr_nl(0, 0),
        Other::Host(h) => return crate::hostinet::getpeername(t, &*h, a),
    };
    put_addr(t, &name, a[1], a[2]).map(|_| 0)
}

pub fn shutdown(_t: &mut Task, o: Other, a: [u64; 6]) -> SysResult<u64> {
    match o {
        Other::Inet(s) => s.shutdown(a[1] as i32).map(|_| 0),
        Other::Netlink(_) => Err(Errno::EOPNOTSUPP),
        Other::Host(h) => crate::hostinet::shutdown(&*h, a),
    }
}

pub fn connect(t: &mut Task, f: &File, o: Other, a: [u64; 6]) -> SysResult<u64> {
    if let Other::Host(h) = &o {
        return crate::hostinet::connect(t, f, &**h, a);
    }
    let b = read_sockaddr(t, a[1], a[2])?;
    let s = match o {
        Other::Inet(s) => s,
        Other::Host(_) => return Err(Errno::ENOTSOCK),
        // Connecting a route socket names the kernel: nothing to do.
        Other::Netlink(_) => return Ok(0),
    };
    if b.len() >= 2 && u16::from_le_bytes([b[0], b[1]]) as i32 == AF_UNSPEC {
        // AF_UNSPEC dissolves a UDP association; TCP has none to dissolve
        // unless connected.
        return match s.proto {
            Proto::Udp => s.connect_udp(None).map(|_| 0),
            Proto::Tcp => Ok(0),
        };
    }
    let mut dest = addr_for(&s, &b, false)?;
    if s.proto == Proto::Udp {
        return s.connect_udp(Some(dest)).map(|_| 0);
    }
    // (A `v6only` socket's v4-mapped destination fails on loopback.)
    let family_ok = dest.is_ipv6() || s.family == AF_INET || !s.v6only();
    if family_ok && net::netstack::routes(dest.ip()) && !s.connected() {
        // Beyond loopback: the sentry's TCP/IP stack takes the socket over.
        let st = StackSocket::for_connect(&s)?;
        let file = replace_file(t, a[0], f, st.clone())?;
        return crate::hostinet::connect(t, &file, &*st, a);
    }
    match s.take_pending() {
        Some(pending) if !f.nonblocking() => dest = pending,
        Some(pending) => {
            s.connect_later(pending);
            return Err(Errno::EALREADY);
        }
        None => {
            if let Some(Connected::Earlier) = s.connect_state()? {
                return Ok(0);
            }
        }
    }
    if f.nonblocking() {
        // Linux's loopback connect completes after the call returns.
        match s.connect(dest) {
            Err(Errno::EAGAIN) => s.connect_later(dest),
            Err(e @ (Errno::ECONNREFUSED | Errno::ECONNRESET)) => {
                s.connect_started(Err(e));
            }
            Err(e) => return Err(e),
            Ok(c) => s.connect_started(Ok(c)),
        }
        return Err(Errno::EINPROGRESS);
    }
    let timeout = s.data().sndtimeo();
    let mut r = s.connect(dest);
    if r == Err(Errno::EAGAIN) {
        // The backlog is full: wait for the listener to accept.
        if let Some(l) = s.listener_for(dest) {
            r = t.block_on(Some(l.queue()), SEND_EVENTS, deadline(timeout), |_| {
                s.connect(dest)
            });
        }
        match r {
            Err(Errno::ERESTARTSYS | Errno::ETIMEDOUT | Errno::EINTR) => {
                // The connection goes on (SYN retransmission): a later
                // connect says EALREADY.
                s.connect_later(dest);
                // A wait with a timeout is EINPROGRESS when it expires.
                return Err(match r {
                    Err(Errno::ETIMEDOUT) => Errno::EINPROGRESS,
                    Err(e) => wait_error(e, timeout),
                    _ => Errno::EINTR,
                });
            }
            Err(Errno::EAGAIN) => return Err(Errno::ECONNREFUSED),
            _ => {}
        }
    }
    r.map(|_| 0)
}

pub fn accept4(t: &mut Task, f: &File, o: Other, a: [u64; 6], flags: u32) -> SysResult<u64> {
    let s = match o {
        Other::Inet(s) => s,
        Other::Netlink(_) => return Err(Errno::EOPNOTSUPP),
        Other::Host(h) => return crate::hostinet::accept4(t, f, &*h, a, flags),
    };
    let new = crate::net::accept_wait(t, f, s.queue(), s.data().rcvtimeo(), || s.accept())?;
    if a[1] != 0 {
        let peer = new
            .peer_addr()
            .unwrap_or_else(|_| net::any_addr(new.family));
        put_addr(t, &net::encode_addr(new.family, peer), a[1], a[2])?;
    }
    let file = inet::new_file(new, flags & abi::fs::O_NONBLOCK);
    crate::net::install_accepted(t, file, flags)
}

// ---------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------

/// `sendto`/`sendmsg` on a `net` socket. `control` holds the `sendmsg`
/// control messages: inet takes no `SOL_SOCKET` ones (`EINVAL`), others
/// are ignored.
pub fn send(
    t: &mut Task,
    f: &File,
    o: Other,
    iovs: &[IoVec],
    flags: u32,
    addr: Option<Vec<u8>>,
    control: &[u8],
) -> SysResult<u64> {
    let s = match o {
        Other::Inet(s) => s,
        Other::Netlink(n) => {
            let mut buf = vec![0u8; total_len(iovs)];
            gather(t, iovs, 0, &mut buf)?;
            return n.send(&buf, t.vpid(t.pid())).map(|n| n as u64);
        }
        Other::Host(h) => return crate::hostinet::send(t, f, &*h, iovs, flags, addr, control),
    };
    if has_socket_cmsg(control) {
        return Err(Errno::EINVAL);
    }
    match s.proto {
        Proto::Tcp => {
            if flags & MSG_OOB != 0 {
                return Err(Errno::EOPNOTSUPP);
            }
            // TCP ignores a destination once connected, and a socket that
            // never connected cannot send (EPIPE).
            if !s.connected() {
                if flags & MSG_NOSIGNAL == 0 {
                    sigpipe(t);
                }
                return Err(Errno::EPIPE);
            }
            let r = send_common(t, f, s.data(), iovs, flags, None, Vec::new());
            if let Ok(n) = r {
                s.stack().lo.count(n as usize);
            }
            r
        }
        Proto::Udp => {
            if flags & MSG_OOB != 0 {
                return Err(Errno::EOPNOTSUPP);
            }
            let dest = match addr {
                Some(b) if !b.is_empty() => Some(addr_for(&s, &b, false)?),
                _ => None,
            };
            let total = total_len(iovs);
            if total > s.udp_max() {
                return Err(Errno::EMSGSIZE);
            }
            let mut buf = vec![0u8; total];
            gather(t, iovs, 0, &mut buf)?;
            let n = inet::udp_send(&s, &buf, dest)?;
            s.stack().lo.count(n);
            Ok(n as u64)
        }
    }
}

/// Whether control messages include a `SOL_SOCKET` one.
fn has_socket_cmsg(ctl: &[u8]) -> bool {
    let mut off = 0;
    while off + 16 <= ctl.len() {
        let len = u64::from_le_bytes(ctl[off..off + 8].try_into().unwrap_or([0; 8])) as usize;
        let level = i32::from_le_bytes([ctl[off + 8], ctl[off + 9], ctl[off + 10], ctl[off + 11]]);
        if level == crate::net::SOL_SOCKET {
            return true;
        }
        if len < 16 {
            break;
        }
        off += len.next_multiple_of(8);
    }
    false
}

/// What a receive on a `net` socket produced.
pub struct Got {
    pub ret: usize,
    pub flags: u32,
    /// The sender's address in the socket's family (`None`: no address,
    /// as TCP reports none).
    pub from: Option<Vec<u8>>,
}

pub fn recv(t: &mut Task, f: &File, o: Other, iovs: &[IoVec], flags: u32) -> SysResult<Got> {
    let s = match o {
        Other::Inet(s) => s,
        Other::Netlink(n) => return recv_netlink(t, f, &n, iovs, flags),
        Other::Host(h) => {
            let got = crate::hostinet::recv(t, f, &*h, iovs, flags, 0)?;
            return Ok(Got {
                ret: got.ret,
                flags: got.flags,
                from: Some(got.from),
            });
        }
    };
    // The error queue: the sandbox's inet sockets queue no errors (a port
    // unreachable surfaces as `SO_ERROR`/`ECONNREFUSED` only), so it is
    // always empty, and reading it never blocks (Linux's `ip_recv_error`).
    if flags & crate::net::MSG_ERRQUEUE != 0 {
        return Err(Errno::EAGAIN);
    }
    match s.proto {
        Proto::Tcp => {
            if flags & MSG_OOB != 0 {
                return Err(Errno::EINVAL);
            }
            if !s.connected() {
                if s.shut_rd() {
                    return Ok(Got {
                        ret: 0,
                        flags: 0,
                        from: None,
                    });
                }
                return Err(Errno::ENOTCONN);
            }
            let out = recv_common(t, f, s.data(), iovs, flags)?;
            Ok(Got {
                ret: out.ret,
                flags: out.flags,
                from: None,
            })
        }
        Proto::Udp => {
            if flags & MSG_OOB != 0 {
                return Err(Errno::EOPNOTSUPP);
            }
            if let Some(e) = s.take_udp_error() {
                return Err(e);
            }
            let out = recv_common(t, f, s.data(), iovs, flags)?;
            Ok(Got {
                ret: out.ret,
                flags: out.flags,
                from: s.sender(&out.from),
            })
        }
    }
}

fn recv_netlink(
    t: &mut Task,
    f: &File,
    n: &NetlinkSocket,
    iovs: &[IoVec],
    flags: u32,
) -> SysResult<Got> {
    let peek = flags & MSG_PEEK != 0;
    let mut buf = vec![0u8; total_len(iovs).min(1 << 20)];
    let r = if f.nonblocking() || flags & MSG_DONTWAIT != 0 {
        n.recv(&mut buf, peek)
    } else {
        t.block_on(Some(n.queue()), crate::net::RECV_EVENTS, None, |_| {
            n.recv(&mut buf, peek)
        })
    };
    let (len, total) = r?;
    scatter(t, iovs, &buf[..len])?;
    Ok(Got {
        ret: if flags & MSG_TRUNC != 0 { total } else { len },
        flags: if total > len { MSG_TRUNC } else { 0 },
        from: Some(netlink::sockaddr_nl(0, 0)),
    })
}

/// `recvmsg`'s parts after the data: the name and the flags.
pub fn finish_recvmsg(t: &mut Task, hdr: u64, got: &Got, in_flags: u32) -> SysResult<()> {
    let mh = read_msghdr(t, hdr)?;
    if mh.name != 0 {
        match &got.from {
            Some(b) => put_addr(t, b, mh.name, hdr.wrapping_add(8))?,
            None => util::write_obj(t, hdr.wrapping_add(8), &0u32)?,
        }
    }
    let msg_flags = (in_flags & crate::net::MSG_CMSG_CLOEXEC) | got.flags;
    util::write_obj(t, hdr.wrapping_add(48), &msg_flags)?;
    util::write_obj(t, hdr.wrapping_add(40), &0u64)?;
    Ok(())
}

pub fn recvfrom(t: &mut Task, f: &File, o: Other, a: [u64; 6]) -> SysResult<u64> {
    if let Other::Host(h) = &o {
        return crate::hostinet::recvfrom(t, f, &**h, a);
    }
    let len = (a[2] as usize).min(crate::file::MAX_RW);
    let iov = [IoVec {
        base: a[1],
        len: len as u64,
    }];
    let got = recv(t, f, o, &iov, a[3] as u32)?;
    if a[4] != 0 {
        match &got.from {
            Some(b) => put_addr(t, b, a[4], a[5])?,
            None => util::write_obj(t, a[5], &0u32)?,
        }
    }
    Ok(got.ret as u64)
}

pub fn recvmsg(t: &mut Task, f: &File, o: Other, a: [u64; 6]) -> SysResult<u64> {
    if let Other::Host(h) = &o {
        return crate::hostinet::recvmsg(t, f, &**h, a);
    }
    let flags = a[2] as u32;
    let mh = read_msghdr(t, a[1])?;
    if mh.name != 0 && (mh.namelen as i32) < 0 {
        return Err(Errno::EINVAL);
    }
    let iovs = read_iovecs(t, mh.iov, mh.iovlen)?;
    let got = recv(t, f, o, &iovs, flags)?;
    finish_recvmsg(t, a[1], &got, flags)?;
    Ok(got.ret as u64)
}

// ---------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------

const SOL_SOCKET: i32 = 1;
const SOL_TCP: i32 = 6;
const SOL_IP: i32 = 0;
const SOL_IPV6: i32 = 41;

const SO_TYPE: i32 = 3;
const SO_ERROR: i32 = 4;
const SO_SNDBUF: i32 = 7;
const SO_RCVBUF: i32 = 8;
const SO_PRIORITY: i32 = 12;
const SO_LINGER: i32 = 13;
const SO_REUSEPORT: i32 = 15;
const SO_PEERCRED: i32 = 17;
const SO_RCVLOWAT: i32 = 18;
const SO_SNDLOWAT: i32 = 19;
const SO_BINDTODEVICE: i32 = 25;
const SO_ACCEPTCONN: i32 = 30;
const SO_SNDBUFFORCE: i32 = 32;
const SO_RCVBUFFORCE: i32 = 33;
const SO_MARK: i32 = 36;
const SO_PROTOCOL: i32 = 38;
const SO_DOMAIN: i32 = 39;
const SO_INCOMING_CPU: i32 = 49;

const TCP_NODELAY: i32 = 1;
const TCP_MAXSEG: i32 = 2;
const TCP_CORK: i32 = 3;
const TCP_KEEPIDLE: i32 = 4;
const TCP_KEEPINTVL: i32 = 5;
const TCP_KEEPCNT: i32 = 6;
const TCP_SYNCNT: i32 = 7;
const TCP_LINGER2: i32 = 8;
const TCP_DEFER_ACCEPT: i32 = 9;
const TCP_WINDOW_CLAMP: i32 = 10;
const TCP_INFO: i32 = 11;
const TCP_QUICKACK: i32 = 12;
const TCP_CONGESTION: i32 = 13;
const TCP_USER_TIMEOUT: i32 = 18;
const TCP_FASTOPEN: i32 = 23;
const TCP_NOTSENT_LOWAT: i32 = 25;

const IP_TOS: i32 = 1;
const IP_TTL: i32 = 2;
const IP_PKTINFO: i32 = 8;
const IP_MTU_DISCOVER: i32 = 10;
const IP_RECVERR: i32 = 11;
const IP_RECVTTL: i32 = 12;
const IP_RECVTOS: i32 = 13;
const IP_MTU: i32 = 14;
const IP_FREEBIND: i32 = 15;
const IP_BIND_ADDRESS_NO_PORT: i32 = 24;
const IP_MULTICAST_TTL: i32 = 33;
const IP_MULTICAST_LOOP: i32 = 34;

const IPV6_UNICAST_HOPS: i32 = 16;
const IPV6_MULTICAST_LOOP: i32 = 19;
const IPV6_RECVERR: i32 = 25;
const IPV6_V6ONLY: i32 = 26;
const IPV6_RECVPKTINFO: i32 = 49;
const IPV6_TCLASS: i32 = 67;

const NETLINK_ADD_MEMBERSHIP: i32 = 1;
const NETLINK_DROP_MEMBERSHIP: i32 = 2;

fn int(v: i64) -> Vec<u8> {
    (v as i32).to_le_bytes().to_vec()
}

/// The value of an option of a `net` socket; `None` for options of
/// `SOL_SOCKET` that every socket shares (the caller serves those).
pub fn getsockopt(s: &Other, level: i32, name: i32) -> SysResult<Option<Vec<u8>>> {
    let s = match s {
        Other::Inet(s) => s,
        Other::Netlink(n) => {
            return Ok(Some(match (level, name) {
                (SOL_SOCKET, SO_TYPE) => int(SOCK_RAW as i64),
                (SOL_SOCKET, SO_DOMAIN) => int(net::AF_NETLINK as i64),
                (SOL_SOCKET, SO_PROTOCOL) => int(netlink::NETLINK_ROUTE as i64),
                (SOL_SOCKET, SO_SNDBUF) => int(n.sndbuf() as i64),
                (SOL_SOCKET, SO_RCVBUF) => int(n.rcvbuf() as i64),
                (SOL_SOCKET, SO_ERROR) => int(0),
                (SOL_SOCKET, _) => return Ok(None),
                (netlink::SOL_NETLINK, 3..=12) => int(n.flag(name) as i64),
                _ => return Err(Errno::ENOPROTOOPT),
            }));
        }
        // Served by hostinet before this.
        Other::Host(_) => return Err(Errno::ENOPROTOOPT),
    };
    let o = s.opts();
    let tcp = s.proto == Proto::Tcp;
    Ok(Some(match level {
        SOL_SOCKET => match name {
            SO_TYPE => int(if tcp { SOCK_STREAM } else { SOCK_DGRAM } as i64),
            SO_DOMAIN => int(s.family as i64),
            SO_PROTOCOL => int(s.protocol() as i64),
            SO_ERROR => int(s.take_error().map_or(0, |e| e.0 as i64)),
            SO_SNDBUF => int(s.sndbuf() as i64),
            SO_RCVBUF => int(s.rcvbuf() as i64),
            SO_ACCEPTCONN => int(s.listening() as i64),
            SO_REUSEPORT => int(o.reuseport as i64),
            SO_PRIORITY => int(o.priority as i64),
            SO_MARK => int(o.mark as i64),
            SO_RCVLOWAT => int(o.rcvlowat as i64),
            SO_SNDLOWAT => int(1),
            SO_INCOMING_CPU => int(-1),
            SO_LINGER => {
                let mut v = (o.linger.is_some() as i32).to_le_bytes().to_vec();
                v.extend_from_slice(&o.linger.unwrap_or(0).to_le_bytes());
                v
            }
            // An inet peer has no credentials: no pid, the overflow ids.
            SO_PEERCRED => {
                let mut v = 0i32.to_le_bytes().to_vec();
                v.extend_from_slice(&u32::MAX.to_le_bytes());
                v.extend_from_slice(&u32::MAX.to_le_bytes());
                v
            }
            SO_BINDTODEVICE => Vec::new(),
            _ => return Ok(None),
        },
        SOL_TCP if tcp => match name {
            TCP_NODELAY => int(o.nodelay as i64),
            TCP_CORK => int(o.cork as i64),
            TCP_MAXSEG => int(o.maxseg as i64),
            TCP_KEEPIDLE => int(o.keepidle as i64),
            TCP_KEEPINTVL => int(o.keepintvl as i64),
            TCP_KEEPCNT => int(o.keepcnt as i64),
            TCP_SYNCNT => int(o.syncnt as i64),
            TCP_LINGER2 => int(o.linger2 as i64),
            TCP_DEFER_ACCEPT => int(o.defer_accept as i64),
            TCP_WINDOW_CLAMP => int(o.window_clamp as i64),
            TCP_QUICKACK => int(o.quickack as i64),
            TCP_USER_TIMEOUT => int(o.user_timeout as i64),
            TCP_NOTSENT_LOWAT => int(o.notsent_lowat as i64),
            TCP_FASTOPEN => int(o.fastopen as i64),
            TCP_INFO => inet::tcp_info(s),
            TCP_CONGESTION => {
                let mut v = b"cubic".to_vec();
                v.resize(16, 0);
                v
            }
            _ => return Err(Errno::ENOPROTOOPT),
        },
        SOL_IP => match name {
            IP_TOS => int(o.tos as i64),
            IP_TTL => int(o.ttl as i64),
            IP_PKTINFO => int(o.pktinfo as i64),
            IP_RECVTOS => int(o.recvtos as i64),
            IP_RECVTTL => int(o.recvttl as i64),
            IP_RECVERR => int(o.recverr as i64),
            IP_MTU_DISCOVER => int(o.mtu_discover as i64),
            IP_FREEBIND => int(o.freebind as i64),
            IP_BIND_ADDRESS_NO_PORT => int(o.bind_no_port as i64),
            IP_MULTICAST_TTL => int(o.mc_ttl as i64),
            IP_MULTICAST_LOOP => int(o.mc_loop as i64),
            IP_MTU if s.connected() => int(65536),
            IP_MTU => return Err(Errno::ENOTCONN),
            _ => return Err(Errno::ENOPROTOOPT),
        },
        SOL_IPV6 if s.family == AF_INET6 => match name {
            IPV6_V6ONLY => int(s.v6only() as i64),
            IPV6_UNICAST_HOPS => int(o.hops as i64),
            IPV6_MULTICAST_LOOP => int(o.mc_loop as i64),
            IPV6_RECVPKTINFO => int(o.v6_pktinfo as i64),
            IPV6_TCLASS => int(o.tclass as i64),
            IPV6_RECVERR => int(o.v6_recverr as i64),
            _ => return Err(Errno::ENOPROTOOPT),
        },
        // ip_getsockopt refuses other levels with EOPNOTSUPP,
        // ipv6_getsockopt with ENOPROTOOPT.
        _ if s.family == AF_INET => return Err(Errno::EOPNOTSUPP),
        _ => return Err(Errno::ENOPROTOOPT),
    }))
}

/// Sets an option of a `net` socket from its value `val` (the first int
/// of the option, when it has at least 4 bytes) and raw bytes `raw`.
/// `Ok(false)`: a `SOL_SOCKET` option every socket shares (the caller
/// serves it).
pub fn setsockopt(t: &Task, s: &Other, level: i32, name: i32, raw: &[u8]) -> SysResult<bool> {
    let val = || -> SysResult<i32> {
        if raw.len() < 4 {
            return Err(Errno::EINVAL);
        }
        Ok(i32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]))
    };
    let s = match s {
        Other::Inet(s) => s,
        Other::Netlink(n) => {
            match (level, name) {
                (SOL_SOCKET, SO_SNDBUF | SO_SNDBUFFORCE) => n.set_sndbuf(val()? as u32),
                (SOL_SOCKET, SO_RCVBUF | SO_RCVBUFFORCE) => n.set_rcvbuf(val()? as u32),
                (SOL_SOCKET, _) => return Ok(false),
                (netlink::SOL_NETLINK, NETLINK_ADD_MEMBERSHIP | NETLINK_DROP_MEMBERSHIP) => {
                    n.set_group(val()? as u32, name == NETLINK_ADD_MEMBERSHIP)?
                }
                (netlink::SOL_NETLINK, 3..=12) => n.set_flag(name, val()? != 0),
                _ => return Err(Errno::ENOPROTOOPT),
            }
            return Ok(true);
        }
        // Served by hostinet before this.
        Other::Host(_) => return Err(Errno::ENOPROTOOPT),
    };
    let tcp = s.proto == Proto::Tcp;
    match level {
        SOL_SOCKET => match name {
            SO_SNDBUF => s.set_sndbuf(val()? as u32),
            SO_RCVBUF => s.set_rcvbuf(val()? as u32),
            // CAP_NET_ADMIN (12) forces past the limits.
            SO_SNDBUFFORCE | SO_RCVBUFFORCE if !t.capable(12) => return Err(Errno::EPERM),
            SO_SNDBUFFORCE => s.set_sndbuf(val()? as u32),
            SO_RCVBUFFORCE => s.set_rcvbuf(val()? as u32),
            SO_REUSEPORT => {
                let v = val()? != 0;
                s.set_opts(|o| o.reuseport = v)
            }
            SO_PRIORITY => {
                let v = val()?;
                if !(0..=6).contains(&v) && !t.capable(12) {
                    return Err(Errno::EPERM);
                }
                s.set_opts(|o| o.priority = v)
            }
            SO_MARK => {
                if !t.capable(12) {
                    return Err(Errno::EPERM);
                }
                let v = val()? as u32;
                s.set_opts(|o| o.mark = v)
            }
            SO_RCVLOWAT => {
                let v = val()?.max(1);
                s.set_opts(|o| o.rcvlowat = v)
            }
            SO_LINGER => {
                if raw.len() < 8 {
                    return Err(Errno::EINVAL);
                }
                let on = val()? != 0;
                let secs = i32::from_le_bytes([raw[4], raw[5], raw[6], raw[7]]);
                s.set_opts(|o| o.linger = on.then_some(secs))
            }
            SO_BINDTODEVICE => {
                // Only `lo` (or "" to unbind) exists.
                let n = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
                if n != 0 && &raw[..n] != b"lo" {
                    return Err(Errno::ENODEV);
                }
            }
            _ => return Ok(false),
        },
        SOL_TCP if tcp => {
            let v = if name == TCP_CONGESTION { 0 } else { val()? };
            match name {
                TCP_NODELAY => s.set_opts(|o| o.nodelay = v != 0),
                TCP_CORK => s.set_opts(|o| o.cork = v != 0),
                TCP_QUICKACK => s.set_opts(|o| o.quickack = v != 0),
                TCP_MAXSEG if !(88..=65535).contains(&v) && v != 0 => return Err(Errno::EINVAL),
                TCP_MAXSEG => s.set_opts(|o| o.maxseg = v),
                TCP_KEEPIDLE | TCP_KEEPINTVL if !(1..=32767).contains(&v) => {
                    return Err(Errno::EINVAL)
                }
                TCP_KEEPIDLE => s.set_opts(|o| o.keepidle = v),
                TCP_KEEPINTVL => s.set_opts(|o| o.keepintvl = v),
                TCP_KEEPCNT if !(1..=127).contains(&v) => return Err(Errno::EINVAL),
                TCP_KEEPCNT => s.set_opts(|o| o.keepcnt = v),
                TCP_SYNCNT if !(1..=127).contains(&v) => return Err(Errno::EINVAL),
                TCP_SYNCNT => s.set_opts(|o| o.syncnt = v),
                TCP_LINGER2 => s.set_opts(|o| o.linger2 = v.clamp(-1, 120)),
                TCP_DEFER_ACCEPT => s.set_opts(|o| o.defer_accept = v.max(0)),
                TCP_WINDOW_CLAMP if v != 0 && v < 2304 / 2 => {
                    s.set_opts(|o| o.window_clamp = 2304 / 2)
                }
                TCP_WINDOW_CLAMP => s.set_opts(|o| o.window_clamp = v),
                TCP_USER_TIMEOUT if v < 0 => return Err(Errno::EINVAL),
                TCP_USER_TIMEOUT => s.set_opts(|o| o.user_timeout = v),
                TCP_NOTSENT_LOWAT => s.set_opts(|o| o.notsent_lowat = v),
                TCP_FASTOPEN => s.set_opts(|o| o.fastopen = v),
                // The only algorithm there is.
                TCP_CONGESTION if raw.starts_with(b"cubic") => {}
                TCP_CONGESTION => return Err(Errno::ENOENT),
                _ => return Err(Errno::ENOPROTOOPT),
            }
        }
        SOL_IP => {
            // Linux takes a byte for these too.
            let v = if raw.is_empty() {
                return Err(Errno::EINVAL);
            } else if raw.len() < 4 {
                raw[0] as i32
            } else {
                val()?
            };
            match name {
                IP_TOS => s.set_opts(|o| o.tos = v & 0xff & !3),
                IP_TTL if v == -1 => s.set_opts(|o| o.ttl = 64),
                IP_TTL if !(1..=255).contains(&v) => return Err(Errno::EINVAL),
                IP_TTL => s.set_opts(|o| o.ttl = v),
                IP_PKTINFO => s.set_opts(|o| o.pktinfo = v != 0),
                IP_RECVTOS => s.set_opts(|o| o.recvtos = v != 0),
                IP_RECVTTL => s.set_opts(|o| o.recvttl = v != 0),
                IP_RECVERR => s.set_opts(|o| o.recverr = v != 0),
                IP_MTU_DISCOVER if !(0..=5).contains(&v) => return Err(Errno::EINVAL),
                IP_MTU_DISCOVER => s.set_opts(|o| o.mtu_discover = v),
                IP_FREEBIND => s.set_opts(|o| o.freebind = v != 0),
                IP_BIND_ADDRESS_NO_PORT => s.set_opts(|o| o.bind_no_port = v != 0),
                IP_MULTICAST_TTL if v == -1 => s.set_opts(|o| o.mc_ttl = 1),
                IP_MULTICAST_TTL if !(0..=255).contains(&v) => return Err(Errno::EINVAL),
                IP_MULTICAST_TTL => s.set_opts(|o| o.mc_ttl = v),
                IP_MULTICAST_LOOP => s.set_opts(|o| o.mc_loop = v != 0),
                _ => return Err(Errno::ENOPROTOOPT),
            }
        }
        SOL_IPV6 if s.family == AF_INET6 => {
            let v = val()?;
            match name {
                IPV6_V6ONLY => s.set_v6only(v != 0)?,
                IPV6_UNICAST_HOPS if !(-1..=255).contains(&v) => return Err(Errno::EINVAL),
                IPV6_UNICAST_HOPS => s.set_opts(|o| o.hops = if v == -1 { 64 } else { v }),
                IPV6_MULTICAST_LOOP => s.set_opts(|o| o.mc_loop = v != 0),
                IPV6_RECVPKTINFO => s.set_opts(|o| o.v6_pktinfo = v != 0),
                IPV6_TCLASS if !(-1..=255).contains(&v) => return Err(Errno::EINVAL),
                IPV6_TCLASS => s.set_opts(|o| o.tclass = v.max(0)),
                IPV6_RECVERR => s.set_opts(|o| o.v6_recverr = v != 0),
                _ => return Err(Errno::ENOPROTOOPT),
            }
        }
        _ => return Err(Errno::ENOPROTOOPT),
    }
    Ok(true)
}
