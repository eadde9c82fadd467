//! `--network=host` (gVisor's hostinet): the sandbox's `AF_INET`,
//! `AF_INET6` and route netlink sockets are host sockets the sentry made
//! and drives. The host kernel's network stack does the work; what the
//! sandbox sees of the host is what these sockets see (its interfaces,
//! addresses, routes, ports).
//!
//! Every host socket is non-blocking and watched by [`crate::notify`]:
//! an operation here never blocks, it returns `EAGAIN` and the syscall
//! layer waits on [`HostSocket::queue`]. What may pass to the host is
//! allow-listed here: socket types, socket options (by level and name:
//! values without pointers only), `ioctl`s and control messages (no
//! `SCM_RIGHTS`: a sandbox descriptor number means nothing on the host).
//! The sentry's seccomp filter lets the same calls through in this mode
//! only (`docs/security.md`).

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Arc;

use abi::fs::Stat;
use abi::{Errno, SysResult};
use mm::MemoryManager;
use vfs::unix::Cred;
use vfs::File;

use crate::driven::{Driven, Received, Timeouts};
use waiter::Queue;

use crate::{AF_INET, AF_INET6, AF_NETLINK};

pub const SOCK_STREAM: i32 = 1;
pub const SOCK_DGRAM: i32 = 2;
pub const SOCK_RAW: i32 = 3;
const IPPROTO_ICMP: i32 = 1;
const IPPROTO_ICMPV6: i32 = 58;
const NETLINK_ROUTE: i32 = 0;
const ESOCKTNOSUPPORT: Errno = Errno(94);

/// Flags a sandbox may pass to a host send or receive; the rest are
/// dropped (Linux ignores flags a protocol does not use).
const MSG_ALLOWED: i32 = libc::MSG_OOB
    | libc::MSG_PEEK
    | libc::MSG_DONTROUTE
    | libc::MSG_CTRUNC
    | libc::MSG_TRUNC
    | libc::MSG_DONTWAIT
    | libc::MSG_EOR
    | libc::MSG_WAITALL
    | libc::MSG_CONFIRM
    | libc::MSG_ERRQUEUE
    | libc::MSG_NOSIGNAL
    | libc::MSG_MORE;

/// The host flags for a sandbox send or receive: the allowed ones, and
/// always non-blocking and without `SIGPIPE` (the sentry raises the
/// sandbox's own).
fn msg_flags(flags: u32) -> i32 {
    (flags as i32 & MSG_ALLOWED) | libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL
}

fn check(r: isize) -> SysResult<usize> {
    if r < 0 {
        Err(Errno::last_host())
    } else {
        Ok(r as usize)
    }
}

/// One host socket.
pub struct HostSocket {
    fd: OwnedFd,
    pub family: i32,
    /// `SOCK_STREAM`, `SOCK_DGRAM` or `SOCK_RAW` (netlink).
    pub ty: i32,
    pub protocol: i32,
    queue: Arc<Queue>,
    key: u64,
    ino: u64,
    owner: Cred,
    /// `SO_RCVTIMEO`/`SO_SNDTIMEO`: the host socket never blocks, so the
    /// sandbox's waits apply them.
    timeouts: Timeouts,
}

impl Drop for HostSocket {
    fn drop(&mut self) {
        crate::notify::remove(self.fd.as_raw_fd(), self.key);
    }
}

/// Whether the sandbox may make a host socket of this kind: TCP, UDP and
/// ICMP echo ("ping") sockets of `AF_INET`/`AF_INET6`, and route netlink
/// sockets. Others get the error Linux gives for an unknown protocol.
fn allowed(family: i32, ty: i32, protocol: i32) -> SysResult<i32> {
    match family {
        AF_INET | AF_INET6 => match (ty, protocol) {
            (SOCK_STREAM, 0 | libc::IPPROTO_TCP) => Ok(libc::IPPROTO_TCP),
            (SOCK_DGRAM, 0 | libc::IPPROTO_UDP) => Ok(libc::IPPROTO_UDP),
            (SOCK_DGRAM, IPPROTO_ICMP) if family == AF_INET => Ok(protocol),
            (SOCK_DGRAM, IPPROTO_ICMPV6) if family == AF_INET6 => Ok(protocol),
            (SOCK_STREAM | SOCK_DGRAM, _) => Err(Errno::EPROTONOSUPPORT),
            // Raw sockets need CAP_NET_RAW on the host, which the sentry
            // does not have.
            (SOCK_RAW, _) => Err(Errno::EPERM),
            _ => Err(ESOCKTNOSUPPORT),
        },
        AF_NETLINK => match (ty, protocol) {
            (SOCK_RAW | SOCK_DGRAM, NETLINK_ROUTE) => Ok(protocol),
            (SOCK_RAW | SOCK_DGRAM, _) => Err(Errno::EPROTONOSUPPORT),
            _ => Err(ESOCKTNOSUPPORT),
        },
        _ => Err(Errno::EAFNOSUPPORT),
    }
}

impl HostSocket {
    /// `socket(2)` on the host.
    pub fn new(family: i32, ty: i32, protocol: i32, owner: Cred) -> SysResult<Arc<HostSocket>> {
        let protocol = allowed(family, ty, protocol)?;
        let flags = libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
        // SAFETY: socket makes a new descriptor we take ownership of.
        let fd = unsafe { libc::socket(family, ty | flags, protocol) };
        if fd < 0 {
            return Err(Errno::last_host());
        }
        // SAFETY: fd was just created and is ours alone.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        HostSocket::wrap(fd, family, ty, protocol, owner)
    }

    fn wrap(
        fd: OwnedFd,
        family: i32,
        ty: i32,
        protocol: i32,
        owner: Cred,
    ) -> SysResult<Arc<HostSocket>> {
        // SAFETY: zeroed stat is a valid out-buffer for fstat on our fd.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let ino = if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } == 0 {
            st.st_ino
        } else {
            0
        };
        let queue = Arc::new(Queue::new());
        let key = crate::notify::add(fd.as_raw_fd(), &queue)?;
        Ok(Arc::new(HostSocket {
            fd,
            family,
            ty,
            protocol,
            queue,
            key,
            ino,
            owner,
            timeouts: Timeouts::default(),
        }))
    }

    fn raw(&self) -> i32 {
        self.fd.as_raw_fd()
    }

    fn name_with(
        &self,
        f: unsafe extern "C" fn(i32, *mut libc::sockaddr, *mut u32) -> i32,
    ) -> SysResult<Vec<u8>> {
        let mut buf = [0u8; 128];
        let mut len = buf.len() as u32;
        // SAFETY: the call writes at most len bytes to buf and the length.
        check(unsafe { f(self.raw(), buf.as_mut_ptr().cast(), &mut len) } as isize)?;
        Ok(buf[..(len as usize).min(buf.len())].to_vec())
    }

    /// The error for an option not passed to the host: Linux's for a
    /// level the socket does not have (an IPv4 socket's `getsockopt`
    /// says `EOPNOTSUPP`, the rest `ENOPROTOOPT`), else `ENOPROTOOPT`.
    fn refused(&self, level: i32, get: bool) -> Errno {
        let known = matches!(
            level,
            libc::SOL_SOCKET | libc::SOL_TCP | libc::SOL_UDP | libc::SOL_IP
        ) || (level == libc::SOL_IPV6 && self.family == AF_INET6);
        if get && self.family == AF_INET && !known {
            Errno::EOPNOTSUPP
        } else {
            Errno::ENOPROTOOPT
        }
    }
}

impl Driven for HostSocket {
    fn family(&self) -> i32 {
        self.family
    }

    fn stat(&self) -> Stat {
        vfs::unix::socket_stat(self.ino, self.owner)
    }

    fn queue(&self) -> &Queue {
        &self.queue
    }

    fn ino(&self) -> u64 {
        self.ino
    }

    fn is_stream(&self) -> bool {
        self.ty == SOCK_STREAM
    }

    fn timeouts(&self) -> &Timeouts {
        &self.timeouts
    }

    /// The host's readiness of the socket (the poll bits, which are the
    /// waiter's event bits).
    fn readiness(&self) -> u32 {
        let mut p = libc::pollfd {
            fd: self.raw(),
            events: libc::POLLIN | libc::POLLOUT | libc::POLLPRI | libc::POLLRDHUP,
            revents: 0,
        };
        // SAFETY: poll on one live pollfd, no waiting.
        if unsafe { libc::poll(&mut p, 1, 0) } < 0 {
            return 0;
        }
        p.revents as u16 as u32
    }

    fn bind(&self, addr: &[u8]) -> SysResult<()> {
        // SAFETY: bind reads addr.len() bytes of a live buffer.
        check(unsafe { libc::bind(self.raw(), addr.as_ptr().cast(), addr.len() as u32) } as isize)
            .map(|_| ())
    }

    /// `connect(2)`, non-blocking: `EINPROGRESS` while a TCP handshake
    /// goes on (the caller waits for `OUT` and reads [`Self::take_error`]).
    fn connect(&self, addr: &[u8]) -> SysResult<()> {
        // SAFETY: connect reads addr.len() bytes of a live buffer.
        check(
            unsafe { libc::connect(self.raw(), addr.as_ptr().cast(), addr.len() as u32) } as isize,
        )
        .map(|_| ())
    }

    fn listen(&self, backlog: i32) -> SysResult<()> {
        // SAFETY: listen on our descriptor.
        check(unsafe { libc::listen(self.raw(), backlog) } as isize).map(|_| ())
    }

    fn shutdown(&self, how: i32) -> SysResult<()> {
        // SAFETY: shutdown on our descriptor.
        check(unsafe { libc::shutdown(self.raw(), how) } as isize).map(|_| ())
    }

    fn name(&self) -> SysResult<Vec<u8>> {
        self.name_with(libc::getsockname)
    }

    fn peer(&self) -> SysResult<Vec<u8>> {
        self.name_with(libc::getpeername)
    }

    /// `accept4(2)`, non-blocking: the new socket and the peer's address.
    fn accept(&self, file_flags: u32) -> SysResult<(Arc<File>, Vec<u8>)> {
        let mut buf = [0u8; 128];
        let mut len = buf.len() as u32;
        let flags = libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
        // SAFETY: accept4 writes at most len bytes to buf and the length;
        // the new descriptor is ours.
        let fd = unsafe { libc::accept4(self.raw(), buf.as_mut_ptr().cast(), &mut len, flags) };
        if fd < 0 {
            return Err(Errno::last_host());
        }
        // SAFETY: fd was just created and is ours alone.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let s = HostSocket::wrap(fd, self.family, self.ty, self.protocol, self.owner)?;
        let peer = buf[..(len as usize).min(buf.len())].to_vec();
        Ok((crate::driven::new_file(s, file_flags), peer))
    }

    /// One host `sendmsg` of `data` to `addr` (or the connected peer) with
    /// control messages `control` (checked by [`check_control`]).
    fn send(
        &self,
        data: &[u8],
        addr: Option<&[u8]>,
        control: &[u8],
        flags: u32,
    ) -> SysResult<usize> {
        check_control(control)?;
        let mut iov = libc::iovec {
            iov_base: data.as_ptr() as *mut libc::c_void,
            iov_len: data.len(),
        };
        // SAFETY: a zeroed msghdr is valid; the fields set point at live
        // buffers of the lengths given.
        let mut mh: libc::msghdr = unsafe { std::mem::zeroed() };
        mh.msg_iov = &mut iov;
        mh.msg_iovlen = 1;
        if let Some(a) = addr {
            mh.msg_name = a.as_ptr() as *mut libc::c_void;
            mh.msg_namelen = a.len() as u32;
        }
        if !control.is_empty() {
            mh.msg_control = control.as_ptr() as *mut libc::c_void;
            mh.msg_controllen = control.len();
        }
        // SAFETY: as above.
        check(unsafe { libc::sendmsg(self.raw(), &mh, msg_flags(flags)) })
    }

    /// One host `recvmsg` into `buf`, with room for `control_len` bytes of
    /// control messages: (bytes, sender's address, control, msg_flags).
    fn recv(&self, buf: &mut [u8], flags: u32, control_len: usize) -> SysResult<Received> {
        let mut name = [0u8; 128];
        let mut control = vec![0u8; control_len.min(64 << 10)];
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: a zeroed msghdr is valid; the fields set point at live
        // buffers of the lengths given.
        let mut mh: libc::msghdr = unsafe { std::mem::zeroed() };
        mh.msg_iov = &mut iov;
        mh.msg_iovlen = 1;
        mh.msg_name = name.as_mut_ptr().cast();
        mh.msg_namelen = name.len() as u32;
        if !control.is_empty() {
            mh.msg_control = control.as_mut_ptr().cast();
            mh.msg_controllen = control.len();
        }
        // SAFETY: as above.
        let n = check(unsafe { libc::recvmsg(self.raw(), &mut mh, msg_flags(flags)) })?;
        control.truncate(mh.msg_controllen);
        let namelen = (mh.msg_namelen as usize).min(name.len());
        Ok(Received {
            len: n,
            from: name[..namelen].to_vec(),
            control,
            flags: mh.msg_flags as u32,
        })
    }

    /// `getsockopt` of an allowed option, with room for `len` bytes.
    fn getsockopt(&self, level: i32, name: i32, len: usize) -> SysResult<Vec<u8>> {
        if !option_allowed(self.family, level, name) {
            return Err(self.refused(level, true));
        }
        let mut buf = vec![0u8; len.min(OPT_MAX)];
        let mut l = buf.len() as u32;
        let p = buf.as_mut_ptr().cast();
        // SAFETY: getsockopt writes at most l bytes to buf and the length.
        let r = unsafe { libc::getsockopt(self.raw(), level, name, p, &mut l) };
        check(r as isize)?;
        buf.truncate(l as usize);
        Ok(buf)
    }

    /// `setsockopt` of an allowed option.
    fn setsockopt(&self, level: i32, name: i32, val: &[u8]) -> SysResult<()> {
        if !option_allowed(self.family, level, name) {
            return Err(self.refused(level, false));
        }
        if val.len() > OPT_MAX {
            return Err(Errno::EINVAL);
        }
        // SAFETY: setsockopt reads val.len() bytes of a live buffer.
        check(unsafe {
            libc::setsockopt(
                self.raw(),
                level,
                name,
                val.as_ptr().cast(),
                val.len() as u32,
            )
        } as isize)
        .map(|_| ())
    }

    /// The allowed `ioctl`s, passed to the host socket.
    fn ioctl(&self, cmd: u32, arg: u64, mm: &mut MemoryManager) -> SysResult<u64> {
        host_ioctl(self.raw(), cmd, arg, mm)
    }
}

/// The `SOL_SOCKET` options passed to the host (integers and `linger`).
pub const SOCKET_OPTIONS: &[i32] = &[
    libc::SO_DEBUG,
    libc::SO_REUSEADDR,
    libc::SO_TYPE,
    libc::SO_ERROR,
    libc::SO_DONTROUTE,
    libc::SO_BROADCAST,
    libc::SO_SNDBUF,
    libc::SO_RCVBUF,
    libc::SO_KEEPALIVE,
    libc::SO_OOBINLINE,
    libc::SO_PRIORITY,
    libc::SO_LINGER,
    libc::SO_REUSEPORT,
    libc::SO_PASSCRED,
    libc::SO_PEERCRED,
    libc::SO_RCVLOWAT,
    libc::SO_SNDLOWAT,
    libc::SO_TIMESTAMP,
    libc::SO_ACCEPTCONN,
    libc::SO_PROTOCOL,
    libc::SO_DOMAIN,
    libc::SO_TIMESTAMPNS,
    libc::SO_INCOMING_CPU,
    libc::SO_MARK,
];

/// Largest option value passed either way (`TCP_INFO` is ~250 bytes).
const OPT_MAX: usize = 1024;

/// The options a sandbox may read and set on a host socket: values are
/// plain integers or structs without pointers, and none reaches beyond
/// the socket (no BPF filters, no device binding beyond what the host's
/// capability checks allow the sentry, which has none).
fn option_allowed(family: i32, level: i32, name: i32) -> bool {
    match level {
        libc::SOL_SOCKET => SOCKET_OPTIONS.contains(&name),
        libc::SOL_TCP if family != AF_NETLINK => {
            matches!(name, 1..=14 | 16..=19 | 23 | 25 | 30 | 36)
        }
        libc::SOL_UDP if family != AF_NETLINK => matches!(name, 1 | 100..=104),
        libc::SOL_IP if family != AF_NETLINK => matches!(
            name,
            // TOS TTL PKTINFO MTU_DISCOVER RECVERR RECVTTL RECVTOS MTU
            // FREEBIND RECVORIGDSTADDR BIND_ADDRESS_NO_PORT
            // MULTICAST_IF/TTL/LOOP ADD/DROP_MEMBERSHIP
            1 | 2 | 8 | 10..=15 | 20 | 24 | 32..=36
        ),
        libc::SOL_IPV6 if family == AF_INET6 => matches!(
            name,
            // UNICAST_HOPS MULTICAST_IF/HOPS/LOOP JOIN/LEAVE_GROUP
            // MTU_DISCOVER MTU RECVERR V6ONLY RECVPKTINFO PKTINFO
            // RECVHOPLIMIT RECVTCLASS TCLASS
            16..=21 | 23..=26 | 49..=52 | 66 | 67
        ),
        // ICMP6_FILTER of ping sockets.
        58 if family == AF_INET6 => name == 1,
        // SOL_NETLINK: membership and the flag options.
        270 if family == AF_NETLINK => matches!(name, 1..=12),
        _ => false,
    }
}

/// Control messages a sandbox may send on a host socket: `SOL_IP`,
/// `SOL_IPV6` and `SOL_UDP` ones (packet info, TOS, TTL, GSO size);
/// `SOL_SOCKET` ones are `EINVAL`, as on a Linux inet socket (and
/// `SCM_RIGHTS` would name the sentry's descriptors).
fn check_control(ctl: &[u8]) -> SysResult<()> {
    let mut off = 0;
    while off + 16 <= ctl.len() {
        let len = u64::from_le_bytes(ctl[off..off + 8].try_into().unwrap_or([0; 8])) as usize;
        let level = i32::from_le_bytes([ctl[off + 8], ctl[off + 9], ctl[off + 10], ctl[off + 11]]);
        if !matches!(level, libc::SOL_IP | libc::SOL_IPV6 | libc::SOL_UDP) {
            return Err(Errno::EINVAL);
        }
        if len < 16 {
            break;
        }
        off += len.next_multiple_of(8);
    }
    Ok(())
}

const FIONREAD: u32 = 0x541B;
const SIOCOUTQ: u32 = 0x5411;
const SIOCATMARK: u32 = 0x8905;
const SIOCOUTQNSD: u32 = 0x894B;
const SIOCGIFCONF: u32 = 0x8912;
/// `struct ifreq`.
const IFREQ_SIZE: usize = 40;

/// The interface ioctls that read the host's interfaces (`struct ifreq`
/// in and out): NAME, FLAGS, ADDR, DSTADDR, BRDADDR, NETMASK, METRIC,
/// MTU, HWADDR, INDEX, TXQLEN.
pub const IFREQ_IOCTLS: &[u32] = &[
    0x8910, 0x8913, 0x8915, 0x8917, 0x8919, 0x891b, 0x891d, 0x8921, 0x8927, 0x8933, 0x8942,
];

/// Every `ioctl` request passed to a host socket (for the sentry's
/// seccomp filter).
pub fn ioctls() -> Vec<u32> {
    let mut v = vec![FIONREAD, SIOCOUTQ, SIOCATMARK, SIOCOUTQNSD, SIOCGIFCONF];
    v.extend_from_slice(IFREQ_IOCTLS);
    v
}

/// An allowed `ioctl` on host socket `fd`.
pub fn host_ioctl(fd: i32, cmd: u32, arg: u64, mm: &mut MemoryManager) -> SysResult<u64> {
    match cmd {
        FIONREAD | SIOCOUTQ | SIOCATMARK | SIOCOUTQNSD => {
            let mut v: i32 = 0;
            // SAFETY: these requests write one int.
            check(unsafe { libc::ioctl(fd, cmd as libc::c_ulong, &mut v) } as isize)?;
            mm.write_obj(arg, &v)?;
            Ok(0)
        }
        SIOCGIFCONF => {
            // struct ifconf { int len; (pad) ; char *buf; }
            let mut hdr = [0u8; 16];
            mm.copy_in(arg, &mut hdr)?;
            let len = i32::from_le_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]);
            let ubuf = u64::from_le_bytes(hdr[8..16].try_into().unwrap_or([0; 8]));
            let cap = if ubuf == 0 {
                0
            } else {
                len.clamp(0, 64 << 10) as usize
            };
            let mut buf = vec![0u8; cap];
            let mut ifc = libc::ifconf {
                ifc_len: cap as i32,
                ifc_ifcu: libc::__c_anonymous_ifc_ifcu {
                    ifcu_buf: if cap == 0 {
                        std::ptr::null_mut()
                    } else {
                        buf.as_mut_ptr().cast()
                    },
                },
            };
            // SAFETY: SIOCGIFCONF writes at most ifc_len bytes to our
            // buffer (none with a null one) and the length.
            check(unsafe { libc::ioctl(fd, libc::SIOCGIFCONF, &mut ifc) } as isize)?;
            let n = ifc.ifc_len.max(0) as usize;
            if cap > 0 {
                mm.copy_out(ubuf, &buf[..n.min(cap)])?;
            }
            mm.write_obj(arg, &(n as i32))?;
            Ok(0)
        }
        c if IFREQ_IOCTLS.contains(&c) => {
            let mut req = [0u8; IFREQ_SIZE];
            mm.copy_in(arg, &mut req)?;
            // SAFETY: these requests read and write one struct ifreq.
            check(unsafe { libc::ioctl(fd, cmd as libc::c_ulong, req.as_mut_ptr()) } as isize)?;
            mm.copy_out(arg, &req)?;
            Ok(0)
        }
        _ => Err(Errno::ENOTTY),
    }
}
