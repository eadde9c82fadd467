//! ICMP echo ("ping") sockets: `socket(AF_INET, SOCK_DGRAM,
//! IPPROTO_ICMP)`, what unprivileged `ping` uses (Linux's `ping.c`).
//!
//! The program sends echo requests (an ICMP header and payload; the
//! socket's identifier, its "port", replaces the header's and the
//! checksum is computed) and receives the echo replies for that
//! identifier, each with its sender. A request to an address of the
//! sandbox (loopback, or the link's own address) is answered here, as
//! Linux's loopback answers it; one beyond goes out through the sandbox's
//! TCP/IP stack ([`crate::netstack`], `--network=sandbox`), which hands
//! back the replies for the identifier. Without the stack those are
//! `ENETUNREACH`.

use std::collections::{BTreeSet, VecDeque};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex, Weak};

use abi::fs::Stat;
use abi::{Errno, SysResult};
use mm::MemoryManager;
use smoltcp::iface::SocketHandle;
use vfs::unix::Cred;
use waiter::{events, Queue};

use crate::driven::{Driven, Received, Timeouts};
use crate::{lock, netstack, Stack, AF_INET};

pub const IPPROTO_ICMP: i32 = 1;

const ICMP_ECHO: u8 = 8;
const ICMP_ECHOREPLY: u8 = 0;
const HEADER: usize = 8;
/// Replies kept for a reader (Linux's limit is the receive buffer's).
const QUEUE_MAX: usize = 64;
const BUF: usize = 212_992;

/// Identifiers in use (Linux's ping port table).
static IDENTS: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
static NEXT_IDENT: AtomicU16 = AtomicU16::new(0);

#[derive(Default)]
struct State {
    /// The bound address (unspecified: any) and identifier (`None`:
    /// unbound).
    local: Option<(Ipv4Addr, u16)>,
    peer: Option<Ipv4Addr>,
    /// The stack's socket for the identifier (`--network=sandbox`).
    handle: Option<SocketHandle>,
    /// Replies from the sandbox's own addresses (and a peeked one from
    /// the stack), with the TTL they came with when known.
    replies: VecDeque<(Vec<u8>, Ipv4Addr, Option<u8>)>,
    ttl: Option<u8>,
    /// Options kept and reported, with no effect on echo: (level, name,
    /// value).
    kept: Vec<(i32, i32, i32)>,
}

pub struct PingSocket {
    stack: Arc<Stack>,
    st: Mutex<State>,
    queue: Queue,
    owner: Cred,
    ino: u64,
    timeouts: Timeouts,
}

impl Drop for PingSocket {
    fn drop(&mut self) {
        let st = self.st.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Some((_, id)) = st.local {
            lock(&IDENTS).remove(&id);
        }
        if let Some(h) = st.handle.take() {
            netstack::icmp_close(h);
        }
    }
}

/// The checksum of RFC 1071 over `data`.
fn checksum(data: &[u8]) -> u16 {
    let mut sum = 0u32;
    for c in data.chunks(2) {
        let w = u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)]);
        sum += w as u32;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn sockaddr(ip: Ipv4Addr, port: u16) -> Vec<u8> {
    crate::encode_addr(AF_INET, SocketAddr::new(IpAddr::V4(ip), port))
}

impl PingSocket {
    pub fn new(stack: Arc<Stack>, owner: Cred) -> Arc<PingSocket> {
        let s = Arc::new(PingSocket {
            stack,
            st: Mutex::new(State::default()),
            queue: Queue::new(),
            owner,
            ino: vfs::inode::next_ino(),
            timeouts: Timeouts::default(),
        });
        let w: Weak<dyn Driven> = Arc::downgrade(&s) as Weak<PingSocket>;
        netstack::watch(w);
        s
    }

    fn parse(&self, b: &[u8]) -> SysResult<(Ipv4Addr, u16)> {
        match crate::parse_addr(AF_INET, b, false)? {
            SocketAddr::V4(a) => Ok((*a.ip(), a.port())),
            SocketAddr::V6(_) => Err(Errno::EAFNOSUPPORT),
        }
    }

    /// Takes identifier `id` (0: a free one) on `ip`.
    fn claim(&self, st: &mut State, ip: Ipv4Addr, id: u16) -> SysResult<()> {
        let mut ids = lock(&IDENTS);
        let id = if id != 0 {
            if !ids.insert(id) {
                return Err(Errno::EADDRINUSE);
            }
            id
        } else {
            let start = NEXT_IDENT.fetch_add(1, Ordering::Relaxed);
            let free = (0..=u16::MAX)
                .map(|i| start.wrapping_add(i))
                .find(|&i| i != 0 && !ids.contains(&i))
                .ok_or(Errno::EAGAIN)?;
            ids.insert(free);
            free
        };
        drop(ids);
        st.local = Some((ip, id));
        if self.stack.uplink {
            st.handle = netstack::icmp_open(id);
            if let (Some(h), Some(_)) = (st.handle, st.ttl) {
                netstack::icmp_set_ttl(h, st.ttl);
            }
        }
        Ok(())
    }

    /// Whether `ip` is the sandbox's own: answered here.
    fn local(&self, ip: Ipv4Addr) -> bool {
        self.stack.has_addr(IpAddr::V4(ip)) || ip.is_unspecified()
    }
}

impl Driven for PingSocket {
    fn family(&self) -> i32 {
        AF_INET
    }

    fn is_stream(&self) -> bool {
        false
    }

    fn queue(&self) -> &Queue {
        &self.queue
    }

    fn readiness(&self) -> u32 {
        let st = lock(&self.st);
        let mut r = events::OUT | events::WRNORM;
        if !st.replies.is_empty() || st.handle.is_some_and(netstack::icmp_ready) {
            r |= events::IN | events::RDNORM;
        }
        r
    }

    fn ino(&self) -> u64 {
        self.ino
    }

    fn stat(&self) -> Stat {
        vfs::unix::socket_stat(self.ino, self.owner)
    }

    fn timeouts(&self) -> &Timeouts {
        &self.timeouts
    }

    fn bind(&self, addr: &[u8]) -> SysResult<()> {
        let (ip, id) = self.parse(addr)?;
        if !ip.is_unspecified() && !self.stack.has_addr(IpAddr::V4(ip)) {
            return Err(Errno::EADDRNOTAVAIL);
        }
        let mut st = lock(&self.st);
        if st.local.is_some() {
            return Err(Errno::EINVAL);
        }
        self.claim(&mut st, ip, id)
    }

    fn connect(&self, addr: &[u8]) -> SysResult<()> {
        if addr.len() >= 2 && u16::from_le_bytes([addr[0], addr[1]]) as i32 == crate::AF_UNSPEC {
            lock(&self.st).peer = None;
            return Ok(());
        }
        let (ip, _) = self.parse(addr)?;
        let mut st = lock(&self.st);
        if !self.local(ip) && !self.stack.via_link(IpAddr::V4(ip)) {
            return Err(Errno::ENETUNREACH);
        }
        if st.local.is_none() {
            self.claim(&mut st, Ipv4Addr::UNSPECIFIED, 0)?;
        }
        st.peer = Some(ip);
        Ok(())
    }

    fn listen(&self, _backlog: i32) -> SysResult<()> {
        Err(Errno::EOPNOTSUPP)
    }

    fn shutdown(&self, how: i32) -> SysResult<()> {
        if !(0..=2).contains(&how) {
            return Err(Errno::EINVAL);
        }
        if lock(&self.st).peer.is_none() {
            return Err(Errno::ENOTCONN);
        }
        Ok(())
    }

    fn name(&self) -> SysResult<Vec<u8>> {
        let (ip, id) = lock(&self.st).local.unwrap_or((Ipv4Addr::UNSPECIFIED, 0));
        Ok(sockaddr(ip, id))
    }

    fn peer(&self) -> SysResult<Vec<u8>> {
        let p = lock(&self.st).peer.ok_or(Errno::ENOTCONN)?;
        Ok(sockaddr(p, 0))
    }

    fn accept(&self, _flags: u32) -> SysResult<(Arc<vfs::File>, Vec<u8>)> {
        Err(Errno::EOPNOTSUPP)
    }

    fn send(
        &self,
        data: &[u8],
        addr: Option<&[u8]>,
        _control: &[u8],
        _flags: u32,
    ) -> SysResult<usize> {
        let dest = match addr {
            Some(b) if !b.is_empty() => Some(self.parse(b)?.0),
            _ => None,
        };
        let mut st = lock(&self.st);
        let dest = dest.or(st.peer).ok_or(Errno::EDESTADDRREQ)?;
        // Linux's ping_common_sendmsg: an echo request, nothing else.
        if data.len() < HEADER || data[0] != ICMP_ECHO || data[1] != 0 {
            return Err(Errno::EINVAL);
        }
        if data.len() > 65535 - 20 {
            return Err(Errno::EMSGSIZE);
        }
        let local = self.local(dest);
        if !local && !self.stack.via_link(IpAddr::V4(dest)) {
            return Err(Errno::ENETUNREACH);
        }
        if st.local.is_none() {
            self.claim(&mut st, Ipv4Addr::UNSPECIFIED, 0)?;
        }
        let id = st.local.map_or(0, |l| l.1);
        let mut msg = data.to_vec();
        msg[4..6].copy_from_slice(&id.to_be_bytes());
        msg[2..4].fill(0);
        if local {
            // The sandbox answers itself: the same message as a reply.
            msg[0] = ICMP_ECHOREPLY;
            let c = checksum(&msg);
            msg[2..4].copy_from_slice(&c.to_be_bytes());
            let from = if dest.is_unspecified() {
                Ipv4Addr::LOCALHOST
            } else {
                dest
            };
            if st.replies.len() < QUEUE_MAX {
                // Linux's loopback reply leaves with the default TTL.
                st.replies.push_back((msg, from, Some(64)));
            }
            drop(st);
            self.queue.notify(events::IN | events::RDNORM);
            return Ok(data.len());
        }
        let h = st.handle.ok_or(Errno::ENETUNREACH)?;
        drop(st);
        netstack::icmp_send(h, &msg, dest)?;
        Ok(data.len())
    }

    fn recv(&self, buf: &mut [u8], flags: u32, control_len: usize) -> SysResult<Received> {
        let peek = flags & libc::MSG_PEEK as u32 != 0;
        let mut st = lock(&self.st);
        let got = match st.replies.front() {
            Some(r) if peek => Some(r.clone()),
            Some(_) => st.replies.pop_front(),
            // (The stack's queue cannot be peeked: a peek takes the
            // reply back into this socket's own queue.)
            // (The stack's socket gives no TTL.)
            None => match st.handle.and_then(netstack::icmp_recv) {
                Some((m, f)) if peek => {
                    st.replies.push_back((m.clone(), f, None));
                    Some((m, f, None))
                }
                r => r.map(|(m, f)| (m, f, None)),
            },
        };
        let (msg, from, ttl) = got.ok_or(Errno::EAGAIN)?;
        let recvttl = st
            .kept
            .iter()
            .any(|k| (k.0, k.1) == (libc::SOL_IP, libc::IP_RECVTTL) && k.2 != 0);
        drop(st);
        let mut control = Vec::new();
        if let (true, Some(ttl)) = (recvttl, ttl) {
            // One cmsghdr (len, level, type) with an int, padded to 8.
            if control_len >= 24 {
                control.extend_from_slice(&20u64.to_le_bytes());
                control.extend_from_slice(&libc::SOL_IP.to_le_bytes());
                control.extend_from_slice(&libc::IP_TTL.to_le_bytes());
                control.extend_from_slice(&(ttl as i32).to_le_bytes());
                control.extend_from_slice(&[0u8; 4]);
            }
        }
        let n = msg.len().min(buf.len());
        buf[..n].copy_from_slice(&msg[..n]);
        let trunc = n < msg.len();
        Ok(Received {
            len: if flags & libc::MSG_TRUNC as u32 != 0 {
                msg.len()
            } else {
                n
            },
            from: sockaddr(from, 0),
            control,
            flags: if trunc { libc::MSG_TRUNC as u32 } else { 0 },
        })
    }

    fn getsockopt(&self, level: i32, name: i32, _len: usize) -> SysResult<Vec<u8>> {
        let int = |v: i32| v.to_le_bytes().to_vec();
        let st = lock(&self.st);
        match (level, name) {
            (libc::SOL_SOCKET, libc::SO_ERROR) => Ok(int(0)),
            (libc::SOL_SOCKET, libc::SO_TYPE) => Ok(int(libc::SOCK_DGRAM)),
            (libc::SOL_SOCKET, libc::SO_DOMAIN) => Ok(int(AF_INET)),
            (libc::SOL_SOCKET, libc::SO_PROTOCOL) => Ok(int(IPPROTO_ICMP)),
            (libc::SOL_SOCKET, libc::SO_ACCEPTCONN) => Ok(int(0)),
            (libc::SOL_IP, libc::IP_TTL) => Ok(int(st.ttl.map_or(64, i32::from))),
            _ => st
                .kept
                .iter()
                .find(|k| (k.0, k.1) == (level, name))
                .map(|k| int(k.2))
                .or_else(|| match (level, name) {
                    (libc::SOL_SOCKET, libc::SO_SNDBUF | libc::SO_RCVBUF) => Some(int(BUF as i32)),
                    _ => None,
                })
                .ok_or(Errno::ENOPROTOOPT),
        }
    }

    fn setsockopt(&self, level: i32, name: i32, val: &[u8]) -> SysResult<()> {
        let v = match val {
            [a, b, c, d, ..] => i32::from_le_bytes([*a, *b, *c, *d]),
            [a] => *a as i32,
            _ => return Err(Errno::EINVAL),
        };
        let mut st = lock(&self.st);
        match (level, name) {
            (libc::SOL_IP, libc::IP_TTL) => {
                let ttl = match v {
                    -1 => None,
                    1..=255 => Some(v as u8),
                    _ => return Err(Errno::EINVAL),
                };
                st.ttl = ttl;
                if let Some(h) = st.handle {
                    netstack::icmp_set_ttl(h, ttl);
                }
                Ok(())
            }
            // What ping sets: kept and reported (no error queue, no
            // timestamps are produced).
            (libc::SOL_SOCKET, libc::SO_SNDBUF | libc::SO_RCVBUF)
            | (libc::SOL_SOCKET, libc::SO_TIMESTAMP | libc::SO_BROADCAST | libc::SO_DEBUG)
            | (libc::SOL_SOCKET, libc::SO_MARK | libc::SO_PRIORITY)
            | (libc::SOL_IP, libc::IP_RECVERR | libc::IP_RECVTTL | libc::IP_TOS)
            | (libc::SOL_IP, libc::IP_MTU_DISCOVER | libc::IP_MULTICAST_LOOP)
            | (libc::SOL_IP, libc::IP_MULTICAST_TTL | libc::IP_RETOPTS) => {
                st.kept.retain(|k| (k.0, k.1) != (level, name));
                st.kept.push((level, name, v));
                Ok(())
            }
            _ => Err(Errno::ENOPROTOOPT),
        }
    }

    fn ioctl(&self, cmd: u32, arg: u64, mm: &mut MemoryManager) -> SysResult<u64> {
        const FIONREAD: u32 = 0x541B;
        if cmd != FIONREAD {
            return Err(Errno::ENOTTY);
        }
        let st = lock(&self.st);
        let n = st.replies.front().map_or(0, |r| r.0.len());
        mm.write_obj(arg, &(n as i32))?;
        Ok(0)
    }
}
