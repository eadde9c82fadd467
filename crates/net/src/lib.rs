//! The sandbox's network: inet sockets (`AF_INET`, `AF_INET6`; TCP and
//! UDP), the route netlink socket (`AF_NETLINK`/`NETLINK_ROUTE`), the
//! interface ioctls and the `/proc/net` tables.
//!
//! Today the network is loopback only (`--network=none`): one interface,
//! `lo`, with `127.0.0.1/8` and `::1`. A connection between two sandbox
//! sockets runs no TCP/IP stack: its two ends are the two ends of an
//! `AF_UNIX` stream pair (`vfs::unix`), so the data path is the unix
//! socket's (no segments, no checksums), while everything a program can
//! observe (ports, addresses, states, errors, options) is TCP's or UDP's.
//!
//! All state lives in a [`Stack`]: the port tables, the interface and the
//! socket list `/proc/net` reads. Every socket holds the stack it was made
//! in. A sandbox starts with one ([`stack`]); a new network namespace
//! would get its own ([`Stack::isolated`]).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};

use abi::{Errno, SysResult};

pub mod driven;
pub mod host;
pub mod ifaces;
pub mod inet;
pub mod netlink;
pub mod netstack;
pub mod notify;
pub mod ping;
pub mod procnet;

pub const AF_UNSPEC: i32 = 0;
pub const AF_INET: i32 = 2;
pub const AF_INET6: i32 = 10;
pub const AF_NETLINK: i32 = 16;

pub const IPPROTO_IP: i32 = 0;
pub const IPPROTO_TCP: i32 = 6;
pub const IPPROTO_UDP: i32 = 17;
pub const IPPROTO_IPV6: i32 = 41;

/// `struct sockaddr_in` and `struct sockaddr_in6`.
pub const SOCKADDR_IN_SIZE: usize = 16;
pub const SOCKADDR_IN6_SIZE: usize = 28;
/// The shortest `sockaddr_in6` Linux accepts (RFC 2133's, without
/// `sin6_scope_id`).
const SIN6_LEN_RFC2133: usize = 24;

/// The ephemeral port range (`net.ipv4.ip_local_port_range`).
pub const EPHEMERAL_LOW: u16 = 32768;
pub const EPHEMERAL_HIGH: u16 = 60999;

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

// ---------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------

/// Decodes a `sockaddr_in`/`sockaddr_in6` as a socket of `family` takes it
/// for `bind`/`connect`/`sendto` (`inet_bind`, `inet6_bind`,
/// `tcp_v4_connect`...): `EINVAL` when too short, `EAFNOSUPPORT` for
/// another family. An `AF_INET` socket also takes `AF_UNSPEC` with
/// `INADDR_ANY` (`unspec_any`). The address comes back canonical: a
/// v4-mapped IPv6 address as IPv4.
pub fn parse_addr(family: i32, b: &[u8], unspec_any: bool) -> SysResult<SocketAddr> {
    let fam = match b {
        [a, b, ..] => u16::from_le_bytes([*a, *b]) as i32,
        _ => return Err(Errno::EINVAL),
    };
    if family == AF_INET {
        if b.len() < SOCKADDR_IN_SIZE {
            return Err(Errno::EINVAL);
        }
        let ip = Ipv4Addr::new(b[4], b[5], b[6], b[7]);
        if fam != AF_INET && !(unspec_any && fam == AF_UNSPEC && ip.is_unspecified()) {
            return Err(Errno::EAFNOSUPPORT);
        }
        let port = u16::from_be_bytes([b[2], b[3]]);
        return Ok(SocketAddr::new(IpAddr::V4(ip), port));
    }
    if b.len() < SIN6_LEN_RFC2133 {
        return Err(Errno::EINVAL);
    }
    if fam != AF_INET6 {
        return Err(Errno::EAFNOSUPPORT);
    }
    let mut a = [0u8; 16];
    a.copy_from_slice(&b[8..24]);
    let port = u16::from_be_bytes([b[2], b[3]]);
    Ok(SocketAddr::new(
        IpAddr::V6(Ipv6Addr::from(a)).to_canonical(),
        port,
    ))
}

/// Encodes `addr` as a socket of `family` reports it: IPv4 addresses as
/// v4-mapped ones for `AF_INET6`.
pub fn encode_addr(family: i32, addr: SocketAddr) -> Vec<u8> {
    let port = addr.port().to_be_bytes();
    if family == AF_INET {
        let ip = match addr.ip() {
            IpAddr::V4(v4) => v4,
            IpAddr::V6(v6) => v6.to_ipv4_mapped().unwrap_or(Ipv4Addr::LOCALHOST),
        };
        let mut v = vec![0u8; SOCKADDR_IN_SIZE];
        v[..2].copy_from_slice(&(AF_INET as u16).to_le_bytes());
        v[2..4].copy_from_slice(&port);
        v[4..8].copy_from_slice(&ip.octets());
        return v;
    }
    let ip = match addr.ip() {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    };
    let mut v = vec![0u8; SOCKADDR_IN6_SIZE];
    v[..2].copy_from_slice(&(AF_INET6 as u16).to_le_bytes());
    v[2..4].copy_from_slice(&port);
    v[8..24].copy_from_slice(&ip.octets());
    v
}

/// The unspecified address of `family` (what an unbound socket reports).
pub fn any_addr(family: i32) -> SocketAddr {
    if family == AF_INET {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0)
    } else {
        SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0)
    }
}

/// Where a packet to `ip` goes: the unspecified address means this host.
pub fn destination(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    }
}

/// The source address a socket sending to `dest` (canonical) uses: the
/// loopback address of the destination's family.
pub fn source_for(dest: IpAddr) -> IpAddr {
    match dest {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
    }
}

// ---------------------------------------------------------------------------
// Ports
// ---------------------------------------------------------------------------

/// TCP or UDP.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Proto {
    Tcp,
    Udp,
}

/// One socket's claim on a port.
pub(crate) struct Binding {
    pub sock: Weak<inet::InetSocket>,
    pub id: u64,
    /// Canonical: an IPv6 socket bound to a v4-mapped address holds the
    /// IPv4 address.
    pub ip: IpAddr,
    /// The socket's family: an `AF_INET6` wildcard also covers IPv4
    /// unless `v6only`.
    pub family: i32,
    pub v6only: bool,
    pub reuseaddr: bool,
    pub reuseport: bool,
    pub listening: bool,
}

impl Binding {
    /// Whether this binding receives what is sent to `ip` (canonical).
    fn covers(&self, ip: IpAddr) -> bool {
        if self.ip == ip {
            return true;
        }
        if !self.ip.is_unspecified() {
            return false;
        }
        match (self.family, ip) {
            (AF_INET, IpAddr::V4(_)) => true,
            (AF_INET6, IpAddr::V6(_)) => !self.ip.is_ipv4(),
            (AF_INET6, IpAddr::V4(_)) => !self.v6only,
            _ => false,
        }
    }

    /// Whether two bindings' addresses overlap (`inet_rcv_saddr_equal`).
    fn overlaps(&self, o: &Binding) -> bool {
        // What each side covers: a v4 range, a v6 range, or one address.
        let v4_any = |b: &Binding| {
            b.ip.is_unspecified() && (b.family == AF_INET || !b.v6only || b.ip.is_ipv4())
        };
        let v6_any = |b: &Binding| b.ip.is_unspecified() && b.family == AF_INET6 && b.ip.is_ipv6();
        let covers_v4 = |b: &Binding, ip: IpAddr| ip.is_ipv4() && (v4_any(b) || b.ip == ip);
        let covers_v6 = |b: &Binding, ip: IpAddr| ip.is_ipv6() && (v6_any(b) || b.ip == ip);
        if self.ip.is_unspecified() && o.ip.is_unspecified() {
            return (v4_any(self) && v4_any(o)) || (v6_any(self) && v6_any(o));
        }
        if self.ip.is_unspecified() {
            return covers_v4(self, o.ip) || covers_v6(self, o.ip);
        }
        if o.ip.is_unspecified() {
            return covers_v4(o, self.ip) || covers_v6(o, self.ip);
        }
        self.ip == o.ip
    }
}

#[derive(Default)]
pub(crate) struct Ports {
    pub map: BTreeMap<u16, Vec<Binding>>,
}

impl Ports {
    /// Whether `b` may take `port` beside the sockets there
    /// (`inet_csk_bind_conflict`, `udp_lib_lport_inuse`).
    fn conflicts(&self, proto: Proto, port: u16, b: &Binding) -> bool {
        let Some(v) = self.map.get(&port) else {
            return false;
        };
        v.iter().filter(|o| o.id != b.id).any(|o| {
            if b.reuseport && o.reuseport {
                return false;
            }
            let reuse = b.reuseaddr && o.reuseaddr;
            // TCP shares a port with SO_REUSEADDR unless the other
            // socket listens (sk2->sk_state != TCP_LISTEN).
            let reuse_ok = match proto {
                Proto::Tcp => reuse && !o.listening,
                Proto::Udp => reuse,
            };
            !reuse_ok && b.overlaps(o)
        })
    }

    fn prune(&mut self, port: u16) {
        if let Some(v) = self.map.get_mut(&port) {
            v.retain(|b| b.sock.strong_count() > 0);
            if v.is_empty() {
                self.map.remove(&port);
            }
        }
    }
}

/// A sandbox's network: its port tables, its sockets and its interface.
pub struct Stack {
    pub(crate) tcp: Mutex<Ports>,
    pub(crate) udp: Mutex<Ports>,
    /// Where the next ephemeral port search starts.
    next_port: AtomicU32,
    /// Round-robin counter spreading connections over `SO_REUSEPORT`
    /// groups.
    spread: AtomicU32,
    /// Every inet socket made, for `/proc/net` (pruned as they go).
    sockets: Mutex<Vec<Weak<inet::InetSocket>>>,
    /// The loopback interface.
    pub lo: ifaces::Loopback,
    /// Whether this network has the sandbox's link (`--network=sandbox`,
    /// [`netstack`]): the sandbox's first network does, a network
    /// namespace made inside does not.
    pub uplink: bool,
}

impl Stack {
    /// A sandbox's network: `lo` up with its addresses.
    pub fn new() -> Stack {
        Stack {
            uplink: true,
            ..Self::with_lo(ifaces::Loopback::new())
        }
    }

    /// A new network namespace's: `lo` down, without addresses (what
    /// `unshare(CLONE_NEWNET)` gives; bwrap then adds `127.0.0.1/8` and
    /// brings it up).
    pub fn isolated() -> Stack {
        Self::with_lo(ifaces::Loopback::down())
    }

    fn with_lo(lo: ifaces::Loopback) -> Stack {
        // Start the ephemeral search somewhere different per sandbox and
        // per network namespace, as Linux's hashed offsets do.
        static MADE: AtomicU32 = AtomicU32::new(0);
        let n = MADE.fetch_add(1, Ordering::Relaxed);
        let seed = std::process::id()
            .wrapping_mul(2_654_435_761)
            .wrapping_add(n.wrapping_mul(40_503));
        Stack {
            tcp: Mutex::new(Ports::default()),
            udp: Mutex::new(Ports::default()),
            next_port: AtomicU32::new(seed),
            spread: AtomicU32::new(0),
            sockets: Mutex::new(Vec::new()),
            lo,
            uplink: false,
        }
    }

    /// Whether `ip` (canonical) is an address of this host: one of `lo`'s,
    /// or in an IPv4 address's prefix (lo's `127.0.0.1/8` makes all of
    /// 127/8 local, as its local route does).
    pub fn has_addr(&self, ip: IpAddr) -> bool {
        if self.uplink && netstack::link_addr_for(ip) == Some(ip) {
            return true;
        }
        self.lo.state().addrs.iter().any(|a| match (a.ip, ip) {
            (IpAddr::V4(mine), IpAddr::V4(v4)) => {
                let mask = u32::MAX.checked_shl(32 - a.prefix as u32).unwrap_or(0);
                u32::from(mine) & mask == u32::from(v4) & mask
            }
            (mine, ip) => mine == ip,
        })
    }

    /// Whether a packet to `ip` can be delivered: to an address of this
    /// host with `lo` up (`ENETUNREACH` otherwise). (Addresses beyond
    /// the sandbox's link are [`Stack::via_link`].)
    pub fn reachable(&self, ip: IpAddr) -> bool {
        self.lo.state().up && self.has_addr(ip)
    }

    /// The sandbox's link, if this network has it.
    pub fn link(&self) -> Option<netstack::LinkInfo> {
        self.uplink.then(netstack::link).flatten()
    }

    /// Whether packets to `ip` go out through the sandbox's link.
    pub fn via_link(&self, ip: IpAddr) -> bool {
        self.uplink && netstack::routes(ip)
    }

    /// The source address a socket of this network sending to `dest`
    /// (canonical) uses: the link's address through the link, else the
    /// loopback address of the destination's family.
    pub fn source_for(&self, dest: IpAddr) -> IpAddr {
        match netstack::link_addr_for(dest) {
            Some(a) if self.via_link(dest) => a,
            _ => source_for(dest),
        }
    }

    pub(crate) fn ports(&self, p: Proto) -> MutexGuard<'_, Ports> {
        lock(match p {
            Proto::Tcp => &self.tcp,
            Proto::Udp => &self.udp,
        })
    }

    pub(crate) fn register(&self, s: &Arc<inet::InetSocket>) {
        let mut v = lock(&self.sockets);
        if v.len() >= 64 && v.len().is_power_of_two() {
            v.retain(|w| w.strong_count() > 0);
        }
        v.push(Arc::downgrade(s));
    }

    /// The live inet sockets, oldest first.
    pub fn sockets(&self) -> Vec<Arc<inet::InetSocket>> {
        let mut v = lock(&self.sockets);
        v.retain(|w| w.strong_count() > 0);
        v.iter().filter_map(Weak::upgrade).collect()
    }

    /// Claims `port` (0: an ephemeral one) for `b`: `EADDRINUSE` if taken
    /// (or no ephemeral port is free). Returns the port.
    pub(crate) fn bind_port(&self, proto: Proto, port: u16, b: Binding) -> SysResult<u16> {
        let mut ports = self.ports(proto);
        let port = if port != 0 {
            ports.prune(port);
            if ports.conflicts(proto, port, &b) {
                return Err(Errno::EADDRINUSE);
            }
            port
        } else {
            let n = (EPHEMERAL_HIGH - EPHEMERAL_LOW) as u32 + 1;
            let start = self.next_port.fetch_add(1, Ordering::Relaxed);
            let mut found = None;
            for i in 0..n {
                let p = EPHEMERAL_LOW + ((start.wrapping_add(i)) % n) as u16;
                ports.prune(p);
                // An ephemeral port is one nobody holds at all.
                if !ports.map.contains_key(&p) {
                    found = Some(p);
                    self.next_port.fetch_add(i, Ordering::Relaxed);
                    break;
                }
            }
            found.ok_or(Errno::EADDRINUSE)?
        };
        ports.map.entry(port).or_default().push(b);
        Ok(port)
    }

    pub(crate) fn unbind_port(&self, proto: Proto, port: u16, id: u64) {
        let mut ports = self.ports(proto);
        if let Some(v) = ports.map.get_mut(&port) {
            v.retain(|b| b.id != id);
            if v.is_empty() {
                ports.map.remove(&port);
            }
        }
    }

    /// Updates the binding `id` holds on `port`: marks it listening,
    /// `EADDRINUSE` if that now conflicts (two `SO_REUSEADDR` sockets may
    /// share a port, not listen on it together).
    pub(crate) fn set_listening(&self, proto: Proto, port: u16, id: u64) -> SysResult<()> {
        let mut ports = self.ports(proto);
        ports.prune(port);
        let Some(v) = ports.map.get_mut(&port) else {
            return Err(Errno::EINVAL);
        };
        let Some(i) = v.iter().position(|b| b.id == id) else {
            return Err(Errno::EINVAL);
        };
        v[i].listening = true;
        let b = v.remove(i);
        let conflict = ports.conflicts(proto, port, &b);
        let v = ports.map.entry(port).or_default();
        if conflict {
            let mut b = b;
            b.listening = false;
            v.push(b);
            return Err(Errno::EADDRINUSE);
        }
        v.push(b);
        Ok(())
    }

    /// The socket that receives what is sent to `dest`: the most specific
    /// binding covering it (for TCP, listening ones only), spread over a
    /// `SO_REUSEPORT` group.
    pub(crate) fn lookup(&self, proto: Proto, dest: SocketAddr) -> Option<Arc<inet::InetSocket>> {
        let ports = self.ports(proto);
        let v = ports.map.get(&dest.port())?;
        let live = |b: &&Binding| {
            b.covers(dest.ip()) && (proto == Proto::Udp || b.listening) && b.sock.strong_count() > 0
        };
        // The exact address beats a wildcard; no allocation (UDP looks
        // up every datagram's receiver).
        let exact = v.iter().filter(live).any(|b| b.ip == dest.ip());
        let pool = || {
            v.iter()
                .filter(live)
                .filter(move |b| !exact || b.ip == dest.ip())
        };
        let n = pool().count();
        let pick = if n > 1 && pool().all(|b| b.reuseport) {
            self.spread.fetch_add(1, Ordering::Relaxed) as usize % n
        } else {
            // Otherwise the most recently bound wins, as Linux's hash
            // chains put new sockets first.
            n.checked_sub(1)?
        };
        pool().nth(pick)?.sock.upgrade()
    }
}

impl Default for Stack {
    fn default() -> Self {
        Self::new()
    }
}

/// The stack the sandbox starts with.
pub fn stack() -> Arc<Stack> {
    static STACK: OnceLock<Arc<Stack>> = OnceLock::new();
    STACK.get_or_init(|| Arc::new(Stack::new())).clone()
}

/// Which network the sandbox has (`rvisor do --network=`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Mode {
    /// Loopback only, inside the sentry.
    #[default]
    None,
    /// The host's network: inet sockets are host sockets ([`host`]).
    Host,
    /// A TCP/IP stack in the sentry on the interface of the network
    /// namespace `rvisor` starts in ([`netstack`]).
    Sandbox,
}

static MODE: OnceLock<Mode> = OnceLock::new();

/// Sets the sandbox's network mode, once, at boot (before any socket).
pub fn set_mode(m: Mode) {
    let _ = MODE.set(m);
}

pub fn mode() -> Mode {
    MODE.get().copied().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(ip: &str, family: i32, v6only: bool) -> Binding {
        Binding {
            sock: Weak::new(),
            id: 0,
            ip: ip.parse::<IpAddr>().unwrap().to_canonical(),
            family,
            v6only,
            reuseaddr: false,
            reuseport: false,
            listening: false,
        }
    }

    #[test]
    fn addresses_round_trip() {
        let a: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let v4 = encode_addr(AF_INET, a);
        assert_eq!(parse_addr(AF_INET, &v4, false), Ok(a));
        let v6 = encode_addr(AF_INET6, a);
        assert_eq!(v6.len(), SOCKADDR_IN6_SIZE);
        assert_eq!(parse_addr(AF_INET6, &v6, false), Ok(a));
        assert_eq!(parse_addr(AF_INET6, &v4, false), Err(Errno::EINVAL));
        assert_eq!(parse_addr(AF_INET, &v6, false), Err(Errno::EAFNOSUPPORT));
        let mut unspec = encode_addr(AF_INET, "0.0.0.0:5".parse().unwrap());
        unspec[0] = 0;
        assert!(parse_addr(AF_INET, &unspec, true).is_ok());
        assert_eq!(
            parse_addr(AF_INET, &unspec, false),
            Err(Errno::EAFNOSUPPORT)
        );
    }

    #[test]
    fn overlap_rules() {
        let any4 = b("0.0.0.0", AF_INET, false);
        let any6 = b("::", AF_INET6, false);
        let any6only = b("::", AF_INET6, true);
        let lo4 = b("127.0.0.1", AF_INET, false);
        let lo6 = b("::1", AF_INET6, false);
        assert!(any4.overlaps(&any6));
        assert!(!any4.overlaps(&any6only));
        assert!(any4.overlaps(&lo4));
        assert!(!any4.overlaps(&lo6));
        assert!(any6only.overlaps(&lo6));
        assert!(!any6only.overlaps(&lo4));
        assert!(any6.overlaps(&lo4));
        assert!(!lo4.overlaps(&b("127.0.0.2", AF_INET, false)));
        assert!(any6.covers("127.0.0.1".parse().unwrap()));
        assert!(!any6only.covers("127.0.0.1".parse().unwrap()));
        assert!(lo6.covers("::1".parse().unwrap()));
    }
}

#[cfg(test)]
mod namespace_tests {
    use super::*;
    use vfs::unix::Cred;

    fn nlmsg(ty: u16, flags: u16, body: &[u8]) -> Vec<u8> {
        let mut v = ((16 + body.len()) as u32).to_le_bytes().to_vec();
        v.extend_from_slice(&ty.to_le_bytes());
        v.extend_from_slice(&(flags | 1).to_le_bytes());
        v.extend_from_slice(&[0u8; 8]);
        v.extend_from_slice(body);
        v
    }

    /// The first reply's error code (0: ack).
    fn ack(n: &netlink::NetlinkSocket) -> i32 {
        let mut b = [0u8; 256];
        let (len, _) = n.recv(&mut b, false).unwrap();
        assert!(len >= 20);
        assert_eq!(u16::from_le_bytes([b[4], b[5]]), 2);
        i32::from_le_bytes([b[16], b[17], b[18], b[19]])
    }

    /// A new network namespace's stack works once lo has its address and
    /// is up, as bwrap sets it up (RTM_NEWADDR, then RTM_NEWLINK).
    #[test]
    fn isolated_stack_brought_up_like_bwrap() {
        let stack = Arc::new(Stack::isolated());
        let cred = Cred::default();
        let lo: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let s = inet::InetSocket::new(stack.clone(), AF_INET, Proto::Tcp, cred).unwrap();
        assert_eq!(s.bind(lo), Err(Errno::EADDRNOTAVAIL));
        let n = netlink::NetlinkSocket::new(stack.clone(), cred);
        // ifaddrmsg {AF_INET, /8, 0, host scope, lo} + IFA_LOCAL.
        let mut addr = vec![AF_INET as u8, 8, 0, 254, 1, 0, 0, 0];
        addr.extend_from_slice(&[8, 0, 2, 0, 127, 0, 0, 1]);
        n.send(&nlmsg(20, 0x4 | 0x400 | 0x200, &addr), 1).unwrap();
        assert_eq!(ack(&n), 0);
        n.send(&nlmsg(20, 0x4 | 0x400 | 0x200, &addr), 1).unwrap();
        assert_eq!(ack(&n), -Errno::EEXIST.0);
        s.bind(lo).unwrap();
        s.listen(1).unwrap();
        let c = inet::InetSocket::new(stack.clone(), AF_INET, Proto::Tcp, cred).unwrap();
        assert_eq!(c.connect(s.local_addr()).err(), Some(Errno::ENETUNREACH));
        // ifinfomsg {AF_UNSPEC, type, index 1, IFF_UP, change IFF_UP}.
        let mut link = vec![0u8; 16];
        link[4] = 1;
        link[8] = 1;
        link[12] = 1;
        n.send(&nlmsg(16, 0x4, &link), 1).unwrap();
        assert_eq!(ack(&n), 0);
        assert_eq!(c.connect(s.local_addr()), Ok(inet::Connected::Now));
        assert!(s.accept().is_ok());
        // The sandbox's own stack is not touched.
        assert!(super::stack().reachable("127.0.0.1".parse().unwrap()));
    }
}
