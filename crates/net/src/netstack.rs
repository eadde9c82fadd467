//! `--network=sandbox`: a TCP/IP stack in the sentry (smoltcp) on the
//! interface of the network namespace `rvisor` is started in.
//!
//! At boot, before the sentry confines itself, [`take_over`] finds the
//! namespace's first interface that is up, not loopback and has an IPv4
//! address, reads its address, prefix, MAC address, MTU and default
//! gateway, opens an `AF_PACKET` socket bound to it and removes the
//! address from the host's side, so the host kernel no longer answers
//! for it (no RST for the sandbox's connections, no ARP replies): from
//! then on the sandbox owns the address. [`start`] (after confinement)
//! builds the smoltcp interface on the packet socket and a sentry thread
//! that runs it: it waits for frames (or a timer, or a wake-up from a
//! socket call) with `poll`, lets smoltcp process them, and notifies the
//! queues of the sandbox's sockets. smoltcp answers ARP and ICMP echo.
//!
//! Loopback traffic stays on the in-sentry loopback (`inet`): a sandbox
//! TCP socket is an `InetSocket` until it connects to an address of the
//! link's network (or beyond), or listens on the wildcard address; then
//! the syscall layer swaps it for a [`StackSocket`] (a `Driven` socket).
//! A wildcard listener keeps its loopback side: it accepts from both.
//!
//! UDP sockets stay `InetSocket`s: one bound to the wildcard or the
//! link's address gets a smoltcp UDP socket on its port ([`udp_open`]),
//! whose datagrams are queued on it, and its datagrams beyond loopback
//! leave through it ([`udp_send`]). Ping sockets (`crate::ping`) use
//! smoltcp ICMP sockets (IPv4 only).
//!
//! IPv6: the interface's first global IPv6 address (if it has one) and
//! its IPv6 default route are taken over the same way (the address
//! removed from the host's side); smoltcp answers neighbour solicitations
//! for it. TCP and UDP work over either family.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicI64, AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use abi::fs::Stat;
use abi::{Errno, SysResult};
use mm::MemoryManager;
use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{Checksum, Device, DeviceCapabilities, Medium, RxToken, TxToken};
use smoltcp::socket::{icmp, tcp, udp};
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr, IpEndpoint};
use vfs::unix::Cred;
use vfs::File;
use waiter::{events, Queue};

use crate::driven::{Driven, Received, Timeouts};
use crate::inet::InetSocket;
use crate::lock;

/// The interface the sandbox took over, and its packet socket.
struct Link {
    info: LinkInfo,
    fd: OwnedFd,
}

static PENDING: Mutex<Option<Link>> = Mutex::new(None);

/// The link's interface index inside the sandbox (`lo` is 1).
pub const LINK_INDEX: i32 = 2;

/// The link as the sandbox sees it (`ip addr`, `/proc/net/dev`,
/// `SIOCGIF*`): what [`take_over`] read, and the frames counted since.
#[derive(Clone, Debug)]
pub struct LinkInfo {
    pub name: String,
    pub mac: [u8; 6],
    pub mtu: u32,
    pub addr: Ipv4Addr,
    pub prefix: u8,
    pub gateway: Option<Ipv4Addr>,
    /// The global IPv6 address and its prefix length, if it has one.
    pub addr6: Option<(Ipv6Addr, u8)>,
    /// The IPv6 default gateway.
    pub gateway6: Option<Ipv6Addr>,
    /// (bytes, packets) received and sent.
    pub rx: (u64, u64),
    pub tx: (u64, u64),
}

/// Frames through the link: rx bytes, rx packets, tx bytes, tx packets.
static COUNTERS: [AtomicU64; 4] = [
    AtomicU64::new(0),
    AtomicU64::new(0),
    AtomicU64::new(0),
    AtomicU64::new(0),
];

fn count(first: usize, len: usize) {
    COUNTERS[first].fetch_add(len as u64, Ordering::Relaxed);
    COUNTERS[first + 1].fetch_add(1, Ordering::Relaxed);
}

/// The sandbox's link, if it has the stack.
pub fn link() -> Option<LinkInfo> {
    let n = NET.get()?;
    let c = |i: usize| COUNTERS[i].load(Ordering::Relaxed);
    let mut l = n.info.clone();
    l.rx = (c(0), c(1));
    l.tx = (c(2), c(3));
    Some(l)
}

fn fail(what: &str) -> String {
    format!("{what}: {}", std::io::Error::last_os_error())
}

/// The default gateway through `name` (`/proc/net/route`).
fn gateway(name: &str) -> Option<Ipv4Addr> {
    let text = std::fs::read_to_string("/proc/net/route").ok()?;
    text.lines().skip(1).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() < 3 || f[0] != name || f[1] != "00000000" {
            return None;
        }
        let gw = u32::from_str_radix(f[2], 16).ok()?;
        Some(Ipv4Addr::from(gw.to_le_bytes()))
    })
}

/// The IPv6 default gateway through `name` (`/proc/net/ipv6_route`:
/// destination, length, source, length, next hop, metric, ..., device).
fn gateway6(name: &str) -> Option<Ipv6Addr> {
    let text = std::fs::read_to_string("/proc/net/ipv6_route").ok()?;
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() < 10 || f[9] != name || f[1] != "00" || f[0].bytes().any(|b| b != b'0') {
            return None;
        }
        let gw = Ipv6Addr::from(u128::from_str_radix(f[4], 16).ok()?);
        (!gw.is_unspecified()).then_some(gw)
    })
}

/// Whether `ip` is link-local (`fe80::/10`).
fn link_local(ip: Ipv6Addr) -> bool {
    ip.segments()[0] & 0xffc0 == 0xfe80
}

/// An `ifreq` for `name` (16 bytes of name, 24 of union).
fn ifreq(name: &str) -> [u8; 40] {
    let mut r = [0u8; 40];
    let n = name.len().min(15);
    r[..n].copy_from_slice(&name.as_bytes()[..n]);
    r
}

/// Takes over the namespace's interface (see the module's comment).
/// Runs single-threaded, before confinement, with `CAP_NET_ADMIN` and
/// `CAP_NET_RAW`.
pub fn take_over() -> Result<(), String> {
    // The interface: up, not loopback, with an IPv4 address.
    let mut ifa: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills a list we free below.
    if unsafe { libc::getifaddrs(&mut ifa) } != 0 {
        return Err(fail("listing the interfaces"));
    }
    let mut found = None;
    // Global IPv6 addresses: (interface, address, prefix length).
    let mut v6 = Vec::new();
    let mut p = ifa;
    while !p.is_null() {
        // SAFETY: p is a node of the list getifaddrs made.
        let a = unsafe { &*p };
        p = a.ifa_next;
        let up = a.ifa_flags & libc::IFF_UP as u32 != 0;
        let lo = a.ifa_flags & libc::IFF_LOOPBACK as u32 != 0;
        if !up || lo || a.ifa_addr.is_null() || a.ifa_netmask.is_null() {
            continue;
        }
        // SAFETY: ifa_name is a NUL-terminated string.
        let name = unsafe { std::ffi::CStr::from_ptr(a.ifa_name) }
            .to_string_lossy()
            .into_owned();
        // SAFETY: ifa_addr points at a sockaddr of its family.
        let family = unsafe { (*a.ifa_addr).sa_family } as i32;
        if family == libc::AF_INET6 {
            // SAFETY: both are sockaddr_in6 for AF_INET6.
            let (addr, mask) = unsafe {
                (
                    *(a.ifa_addr as *const libc::sockaddr_in6),
                    *(a.ifa_netmask as *const libc::sockaddr_in6),
                )
            };
            let ip = Ipv6Addr::from(addr.sin6_addr.s6_addr);
            let prefix = u128::from_be_bytes(mask.sin6_addr.s6_addr).count_ones() as u8;
            if !link_local(ip) {
                v6.push((name, ip, prefix));
            }
            continue;
        }
        if family != libc::AF_INET || found.is_some() {
            continue;
        }
        // SAFETY: both are sockaddr_in for AF_INET.
        let (addr, mask) = unsafe {
            (
                *(a.ifa_addr as *const libc::sockaddr_in),
                *(a.ifa_netmask as *const libc::sockaddr_in),
            )
        };
        let ip = Ipv4Addr::from(u32::from_be(addr.sin_addr.s_addr));
        let prefix = u32::from_be(mask.sin_addr.s_addr).count_ones() as u8;
        found = Some((name, ip, prefix));
    }
    // SAFETY: frees the list getifaddrs made.
    unsafe { libc::freeifaddrs(ifa) };
    let (name, addr, prefix) = found.ok_or(
        "--network=sandbox: no interface that is up, not loopback and has an IPv4 address",
    )?;
    let cname = std::ffi::CString::new(name.clone()).map_err(|_| "bad interface name")?;
    // SAFETY: if_nametoindex reads a NUL-terminated string.
    let index = unsafe { libc::if_nametoindex(cname.as_ptr()) } as i32;
    // SAFETY: a datagram socket for the interface ioctls, closed below.
    let s = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if s < 0 {
        return Err(fail("socket"));
    }
    // SAFETY: s was just created and is ours alone.
    let s = unsafe { OwnedFd::from_raw_fd(s) };
    let mut req = ifreq(&name);
    // SAFETY: SIOCGIFHWADDR reads and writes one ifreq.
    if unsafe { libc::ioctl(s.as_raw_fd(), libc::SIOCGIFHWADDR, req.as_mut_ptr()) } != 0 {
        return Err(fail("reading the interface's MAC address"));
    }
    let mut mac = [0u8; 6];
    mac.copy_from_slice(&req[18..24]);
    let mut req = ifreq(&name);
    // SAFETY: SIOCGIFMTU reads and writes one ifreq.
    if unsafe { libc::ioctl(s.as_raw_fd(), libc::SIOCGIFMTU, req.as_mut_ptr()) } != 0 {
        return Err(fail("reading the interface's MTU"));
    }
    let mtu = u32::from_le_bytes([req[16], req[17], req[18], req[19]]);
    let gateway = gateway(&name);
    let addr6 = v6
        .into_iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, ip, prefix)| (ip, prefix));
    let gateway6 = addr6.and_then(|_| gateway6(&name));
    // The packet socket: every frame of the interface, both ways.
    let proto = (libc::ETH_P_ALL as u16).to_be();
    // SAFETY: socket makes a new descriptor we take ownership of.
    let fd = unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            proto as i32,
        )
    };
    if fd < 0 {
        return Err(fail("opening a packet socket"));
    }
    // SAFETY: fd was just created and is ours alone.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: a zeroed sockaddr_ll is valid; bind reads it.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = proto;
    sll.sll_ifindex = index;
    // SAFETY: bind reads one sockaddr_ll.
    let r = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&sll as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    if r != 0 {
        return Err(fail("binding the packet socket"));
    }
    // The host's side gives the address up (setting 0.0.0.0 deletes it,
    // and the routes through it), as runsc does.
    let mut req = ifreq(&name);
    req[16..18].copy_from_slice(&(libc::AF_INET as u16).to_le_bytes());
    // SAFETY: SIOCSIFADDR reads one ifreq.
    if unsafe { libc::ioctl(s.as_raw_fd(), libc::SIOCSIFADDR, req.as_mut_ptr()) } != 0 {
        return Err(fail("removing the address from the host's interface"));
    }
    if let Some((ip, prefix)) = addr6 {
        // The same for IPv6 (`SIOCDIFADDR` with an `in6_ifreq`: address,
        // prefix length, interface index).
        // SAFETY: a datagram socket for the ioctl, closed below.
        let s6 = unsafe { libc::socket(libc::AF_INET6, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        if s6 < 0 {
            return Err(fail("socket"));
        }
        // SAFETY: s6 was just created and is ours alone.
        let s6 = unsafe { OwnedFd::from_raw_fd(s6) };
        let mut req = [0u8; 24];
        req[..16].copy_from_slice(&ip.octets());
        req[16..20].copy_from_slice(&(prefix as u32).to_ne_bytes());
        req[20..24].copy_from_slice(&index.to_ne_bytes());
        // SAFETY: SIOCDIFADDR reads one in6_ifreq.
        if unsafe { libc::ioctl(s6.as_raw_fd(), libc::SIOCDIFADDR, req.as_mut_ptr()) } != 0 {
            return Err(fail("removing the IPv6 address from the host's interface"));
        }
    }
    *lock(&PENDING) = Some(Link {
        info: LinkInfo {
            name,
            mac,
            mtu,
            addr,
            prefix,
            gateway,
            addr6,
            gateway6,
            rx: (0, 0),
            tx: (0, 0),
        },
        fd,
    });
    Ok(())
}

/// The packet socket as smoltcp's device, with one buffer each way
/// (no allocation per frame).
struct PacketDev {
    fd: OwnedFd,
    mtu: usize,
    rx: Vec<u8>,
    tx: Vec<u8>,
    /// Port-unreachable errors that came for the sandbox's UDP datagrams
    /// (smoltcp gives ICMP errors to no socket): the sending port and the
    /// destination, for the next run of the stack to report.
    unreachable: Vec<(u16, SocketAddr)>,
}

/// The (source port, destination) of the UDP datagram an ICMP or ICMPv6
/// port-unreachable Ethernet frame `f` reports, if it is one.
fn port_unreachable(f: &[u8]) -> Option<(u16, SocketAddr)> {
    let be16 = |b: &[u8], at: usize| Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]));
    let ip = f.get(14..)?;
    let (dest, udp) = match be16(f, 12)? {
        0x0800 => {
            // IPv4, protocol ICMP, type 3 (unreachable) code 3 (port).
            let ihl = (*ip.first()? as usize & 0xf) * 4;
            let icmp = ip.get(ihl..)?;
            if *ip.get(9)? != 1 || icmp.get(..2)? != [3, 3] {
                return None;
            }
            let inner = icmp.get(8..)?;
            let ihl = (*inner.first()? as usize & 0xf) * 4;
            let dst: [u8; 4] = inner.get(16..20)?.try_into().ok()?;
            if *inner.get(9)? != 17 {
                return None;
            }
            (IpAddr::V4(Ipv4Addr::from(dst)), inner.get(ihl..)?)
        }
        0x86dd => {
            // IPv6, next header ICMPv6, type 1 (unreachable) code 4
            // (port); no extension headers on either.
            let icmp = ip.get(40..)?;
            if *ip.get(6)? != 58 || icmp.get(..2)? != [1, 4] {
                return None;
            }
            let inner = icmp.get(8..)?;
            let dst: [u8; 16] = inner.get(24..40)?.try_into().ok()?;
            if *inner.get(6)? != 17 {
                return None;
            }
            (IpAddr::V6(Ipv6Addr::from(dst)), inner.get(40..)?)
        }
        _ => return None,
    };
    Some((be16(udp, 0)?, SocketAddr::new(dest, be16(udp, 2)?)))
}

/// Large enough for what the host's side may hand over whole
/// (segmentation offload).
const FRAME_MAX: usize = 65536 + 14;

struct Rx<'a>(&'a [u8]);
struct Tx<'a>(&'a OwnedFd, &'a mut Vec<u8>);

impl RxToken for Rx<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.0)
    }
}

impl TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        if self.1.len() < len {
            self.1.resize(len, 0);
        }
        let buf = &mut self.1[..len];
        let r = f(buf);
        // A frame the host cannot take now is dropped, as on a wire.
        // SAFETY: send reads len bytes of our buffer.
        if unsafe { libc::send(self.0.as_raw_fd(), buf.as_ptr().cast(), len, 0) } > 0 {
            count(2, len);
        }
        r
    }
}

impl Device for PacketDev {
    type RxToken<'a> = Rx<'a>;
    type TxToken<'a> = Tx<'a>;

    fn receive(&mut self, _t: smoltcp::time::Instant) -> Option<(Rx<'_>, Tx<'_>)> {
        let PacketDev {
            fd,
            rx,
            tx,
            unreachable,
            ..
        } = self;
        rx.resize(FRAME_MAX, 0);
        let buf = rx;
        loop {
            // SAFETY: a zeroed sockaddr_ll is a valid out-buffer.
            let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
            let mut len = std::mem::size_of::<libc::sockaddr_ll>() as u32;
            // SAFETY: recvfrom writes at most buf.len() bytes and one
            // sockaddr_ll.
            let n = unsafe {
                libc::recvfrom(
                    fd.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_DONTWAIT,
                    (&mut sll as *mut libc::sockaddr_ll).cast(),
                    &mut len,
                )
            };
            if n < 0 {
                return None;
            }
            // Our own frames come back to a packet socket: skip them.
            if sll.sll_pkttype == libc::PACKET_OUTGOING {
                continue;
            }
            count(0, n as usize);
            if let Some(u) = port_unreachable(&buf[..n as usize]) {
                unreachable.push(u);
            }
            return Some((Rx(&buf[..n as usize]), Tx(fd, tx)));
        }
    }

    fn transmit(&mut self, _t: smoltcp::time::Instant) -> Option<Tx<'_>> {
        Some(Tx(&self.fd, &mut self.tx))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = self.mtu + 14;
        // Frames from the host's side of a veth carry checksums left for
        // offload: compute ours, do not check theirs.
        caps.checksum.ipv4 = Checksum::Tx;
        caps.checksum.tcp = Checksum::Tx;
        caps.checksum.udp = Checksum::Tx;
        caps.checksum.icmpv4 = Checksum::Tx;
        caps.checksum.icmpv6 = Checksum::Tx;
        caps
    }
}

/// A sandbox UDP socket's smoltcp side: the socket (an `InetSocket`,
/// whose loopback traffic stays in the sentry) is bound to the wildcard
/// or the link's address, so datagrams to its port on the link are
/// queued on it.
struct UdpBinding {
    port: u16,
    handle: SocketHandle,
    sock: Weak<InetSocket>,
}

struct State {
    iface: Interface,
    dev: PacketDev,
    sockets: SocketSet<'static>,
    /// Sandbox sockets to wake after each run of the stack.
    watchers: Vec<Weak<dyn Driven>>,
    udp: Vec<UdpBinding>,
    /// Connections closed by the sandbox, left to finish (FIN, TIME_WAIT)
    /// and removed when closed.
    orphans: Vec<SocketHandle>,
}

struct Net {
    state: Mutex<State>,
    /// Writing a byte wakes the stack's thread (its timers changed).
    wake: OwnedFd,
    /// When the stack's thread wakes next by itself (microseconds of
    /// [`Net::now`]), set under the state's lock before it sleeps: a
    /// socket call wakes it only for an earlier timer.
    sleep_until: AtomicI64,
    addr: Ipv4Addr,
    addr6: Option<Ipv6Addr>,
    mtu: u32,
    info: LinkInfo,
    epoch: std::time::Instant,
    next_port: AtomicU16,
}

static NET: OnceLock<Net> = OnceLock::new();

fn net() -> SysResult<&'static Net> {
    NET.get().ok_or(Errno::ENETUNREACH)
}

impl Net {
    fn now(&self) -> smoltcp::time::Instant {
        smoltcp::time::Instant::from_micros(self.epoch.elapsed().as_micros() as i64)
    }

    /// Runs the stack now (from a socket call, with the state locked):
    /// sends what the call queued. Returns the sockets to wake and the
    /// datagrams to queue, for [`Woken::finish`] after unlocking (a
    /// socket's own locks come after the stack's, and a last reference
    /// may drop there).
    fn run(&self, st: &mut State) -> Woken {
        let now = self.now();
        let State {
            iface,
            dev,
            sockets,
            ..
        } = st;
        iface.poll(now, dev, sockets);
        let sockets = &mut st.sockets;
        st.orphans.retain(|&h| {
            let done = matches!(
                sockets.get::<tcp::Socket>(h).state(),
                tcp::State::Closed | tcp::State::TimeWait
            );
            if done {
                sockets.remove(h);
            }
            !done
        });
        let mut dgrams = Vec::new();
        for (i, b) in st.udp.iter().enumerate() {
            // Each shared smoltcp socket once (at its first binding).
            if st.udp[..i].iter().any(|o| o.handle == b.handle) {
                continue;
            }
            let u = sockets.get_mut::<udp::Socket>(b.handle);
            while let Ok((data, meta)) = u.recv() {
                let from = SocketAddr::new(ip_of(meta.endpoint.addr), meta.endpoint.port);
                let to = st
                    .udp
                    .iter()
                    .filter(|o| o.handle == b.handle)
                    .filter_map(|o| o.sock.upgrade())
                    .find(|s| s.takes_from_link(from.ip()));
                if let Some(s) = to {
                    dgrams.push((s, data.to_vec(), from));
                }
            }
        }
        let mut refused = Vec::new();
        for (port, dest) in st.dev.unreachable.drain(..) {
            let mut on_port = st.udp.iter().filter(|b| b.port == port);
            refused.extend(on_port.find_map(|b| b.sock.upgrade()).map(|s| (s, dest)));
        }
        st.watchers.retain(|w| w.strong_count() > 0);
        Woken {
            sockets: st.watchers.iter().filter_map(Weak::upgrade).collect(),
            dgrams,
            refused,
        }
    }

    fn kick(&self) {
        // SAFETY: write of one byte from a live buffer to our pipe.
        unsafe { libc::write(self.wake.as_raw_fd(), [1u8].as_ptr().cast(), 1) };
    }

    /// Runs `f` on the locked state, then the stack, then wakes sockets.
    /// The stack's thread is woken only when the stack now has a timer
    /// before the thread's own wake-up (a wake-up per call cost a
    /// context switch and a run of the stack per send and receive).
    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let (r, woken, kick) = {
            let mut st = lock(&self.state);
            let r = f(&mut st);
            let woken = self.run(&mut st);
            let now = self.now();
            let st = &mut *st;
            let at = st.iface.poll_at(now, &st.sockets);
            let kick =
                at.is_some_and(|at| at.total_micros() < self.sleep_until.load(Ordering::Relaxed));
            (r, woken, kick)
        };
        if kick {
            self.kick();
        }
        woken.finish();
        r
    }
}

/// What a run of the stack left to do once the stack is unlocked.
struct Woken {
    sockets: Vec<Arc<dyn Driven>>,
    /// Datagrams that came for sandbox UDP sockets, with their senders.
    dgrams: Vec<(Arc<InetSocket>, Vec<u8>, SocketAddr)>,
    /// UDP sockets whose datagram to a destination was refused (ICMP port
    /// unreachable).
    refused: Vec<(Arc<InetSocket>, SocketAddr)>,
}

impl Woken {
    fn finish(self) {
        for (s, data, from) in self.dgrams {
            s.deliver(data, from);
        }
        for (s, dest) in self.refused {
            s.port_unreachable(dest);
        }
        for s in self.sockets {
            s.queue().notify(events::ALL);
        }
    }
}

/// Starts the stack on the interface [`take_over`] took (no-op without
/// one). After confinement; its thread blocks every signal.
pub fn start() -> Result<(), String> {
    let Some(Link { info: link, fd }) = lock(&PENDING).take() else {
        return Ok(());
    };
    let mut dev = PacketDev {
        fd,
        mtu: link.mtu as usize,
        rx: vec![0u8; FRAME_MAX],
        tx: vec![0u8; FRAME_MAX],
        unreachable: Vec::new(),
    };
    let mut seed = [0u8; 8];
    // SAFETY: getrandom writes 8 bytes into our buffer.
    unsafe { libc::getrandom(seed.as_mut_ptr().cast(), 8, 0) };
    let mut config = Config::new(HardwareAddress::Ethernet(EthernetAddress(link.mac)));
    config.random_seed = u64::from_le_bytes(seed);
    let epoch = std::time::Instant::now();
    let mut iface = Interface::new(config, &mut dev, smoltcp::time::Instant::from_micros(0));
    iface.update_ip_addrs(|a| {
        let _ = a.push(IpCidr::new(IpAddress::Ipv4(link.addr), link.prefix));
        if let Some((ip, prefix)) = link.addr6 {
            let _ = a.push(IpCidr::new(IpAddress::Ipv6(ip), prefix));
        }
    });
    if let Some(gw) = link.gateway {
        let _ = iface.routes_mut().add_default_ipv4_route(gw);
    }
    if let Some(gw) = link.gateway6 {
        let _ = iface.routes_mut().add_default_ipv6_route(gw);
    }
    let mut p = [0i32; 2];
    // SAFETY: pipe2 writes two descriptors we take ownership of.
    if unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0 {
        return Err(fail("pipe2"));
    }
    // SAFETY: both were just created and are ours alone.
    let (rd, wr) = unsafe { (OwnedFd::from_raw_fd(p[0]), OwnedFd::from_raw_fd(p[1])) };
    let pfd = dev.fd.as_raw_fd();
    let n = Net {
        state: Mutex::new(State {
            iface,
            dev,
            sockets: SocketSet::new(Vec::new()),
            watchers: Vec::new(),
            udp: Vec::new(),
            orphans: Vec::new(),
        }),
        wake: wr,
        sleep_until: AtomicI64::new(0),
        addr: link.addr,
        addr6: link.addr6.map(|(ip, _)| ip),
        mtu: link.mtu,
        info: link,
        epoch,
        next_port: AtomicU16::new(49152),
    };
    if NET.set(n).is_err() {
        return Ok(());
    }
    std::thread::Builder::new()
        .name("netstack".into())
        .spawn(move || run_thread(pfd, rd))
        .map_err(|e| format!("starting the network stack: {e}"))?;
    Ok(())
}

fn run_thread(pfd: i32, wake: OwnedFd) {
    // SAFETY: a full set blocks every signal this thread can block.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_BLOCK, &all, std::ptr::null_mut());
    }
    let Ok(n) = net() else { return };
    loop {
        let (woken, ms) = {
            let mut st = lock(&n.state);
            let woken = n.run(&mut st);
            let now = n.now();
            let st = &mut *st;
            let delay = st.iface.poll_delay(now, &st.sockets);
            // Rounded up: waking before the timer would only sleep again.
            let ms = delay.map_or(1000, |d| d.total_micros().div_ceil(1000).min(1000) as i32);
            let until = now.total_micros() + ms as i64 * 1000;
            n.sleep_until.store(until, Ordering::Relaxed);
            (woken, ms)
        };
        woken.finish();
        let mut fds = [
            libc::pollfd {
                fd: pfd,
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: wake.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: poll on our two pollfds.
        unsafe { libc::poll(fds.as_mut_ptr(), 2, ms) };
        if fds[1].revents != 0 {
            let mut b = [0u8; 64];
            // SAFETY: read into our buffer from our pipe.
            while unsafe { libc::read(wake.as_raw_fd(), b.as_mut_ptr().cast(), b.len()) } > 0 {}
        }
    }
}

/// Whether the sandbox has this stack and `ip` is beyond it: not
/// loopback and not the link's own address (which, as on Linux, is
/// reached through loopback). Traffic to it goes through the stack.
pub fn routes(ip: IpAddr) -> bool {
    NET.get().is_some_and(|n| match ip {
        IpAddr::V4(v4) => !v4.is_loopback() && !v4.is_unspecified() && v4 != n.addr,
        // An IPv6 destination needs an IPv6 address of our own.
        IpAddr::V6(v6) => n.addr6.is_some_and(|me| {
            !v6.is_loopback() && !v6.is_unspecified() && !v6.is_multicast() && v6 != me
        }),
    })
}

/// The link's IPv4 address, if the sandbox has the stack.
pub fn link_addr() -> Option<Ipv4Addr> {
    NET.get().map(|n| n.addr)
}

/// The link's IPv6 address, if the sandbox has the stack and the link
/// has one.
pub fn link_addr6() -> Option<Ipv6Addr> {
    NET.get().and_then(|n| n.addr6)
}

/// The link's address of `ip`'s family, if any.
pub fn link_addr_for(ip: IpAddr) -> Option<IpAddr> {
    match ip {
        IpAddr::V4(_) => link_addr().map(IpAddr::V4),
        IpAddr::V6(_) => link_addr6().map(IpAddr::V6),
    }
}

fn ip_of(a: IpAddress) -> IpAddr {
    match a {
        IpAddress::Ipv4(v4) => IpAddr::V4(v4),
        IpAddress::Ipv6(v6) => IpAddr::V6(v6),
    }
}

// ---------------------------------------------------------------------------
// ICMP echo (ping sockets, `crate::ping`)
// ---------------------------------------------------------------------------

/// Wakes `w`'s queue after each run of the stack.
pub(crate) fn watch(w: Weak<dyn Driven>) {
    if let Ok(n) = net() {
        lock(&n.state).watchers.push(w);
    }
}

/// An ICMP socket receiving the echo replies for `ident` (`None`
/// without the stack).
pub(crate) fn icmp_open(ident: u16) -> Option<SocketHandle> {
    let n = net().ok()?;
    let buf = || {
        icmp::PacketBuffer::new(
            vec![icmp::PacketMetadata::EMPTY; UDP_PACKETS],
            vec![0u8; UDP_PACKETS * 1024],
        )
    };
    let mut s = icmp::Socket::new(buf(), buf());
    s.bind(icmp::Endpoint::Ident(ident)).ok()?;
    Some(lock(&n.state).sockets.add(s))
}

pub(crate) fn icmp_close(h: SocketHandle) {
    if let Ok(n) = net() {
        lock(&n.state).sockets.remove(h);
    }
}

/// Sends ICMP message `data` (its checksum is computed) to `dest`.
pub(crate) fn icmp_send(h: SocketHandle, data: &[u8], dest: Ipv4Addr) -> SysResult<()> {
    let n = net()?;
    if data.len() + 20 > n.mtu as usize {
        return Err(Errno::EMSGSIZE);
    }
    n.with(|st| {
        let s = st.sockets.get_mut::<icmp::Socket>(h);
        s.send_slice(data, IpAddress::Ipv4(dest))
            .map_err(|_| Errno::EAGAIN)
    })
}

/// The next echo reply `h` got, with its sender (other messages for the
/// identifier are dropped).
pub(crate) fn icmp_recv(h: SocketHandle) -> Option<(Vec<u8>, Ipv4Addr)> {
    let n = net().ok()?;
    let mut st = lock(&n.state);
    let s = st.sockets.get_mut::<icmp::Socket>(h);
    while let Ok((data, from)) = s.recv() {
        // Echo replies over IPv4 only (ICMPv6 messages share the
        // identifier's socket and are dropped).
        if let (IpAddress::Ipv4(from), Some(0)) = (from, data.first()) {
            return Some((data.to_vec(), from));
        }
    }
    None
}

pub(crate) fn icmp_ready(h: SocketHandle) -> bool {
    net().is_ok_and(|n| lock(&n.state).sockets.get::<icmp::Socket>(h).can_recv())
}

pub(crate) fn icmp_set_ttl(h: SocketHandle, ttl: Option<u8>) {
    if let Ok(n) = net() {
        let mut st = lock(&n.state);
        st.sockets.get_mut::<icmp::Socket>(h).set_hop_limit(ttl);
    }
}

// ---------------------------------------------------------------------------
// UDP
// ---------------------------------------------------------------------------

const UDP_PACKETS: usize = 64;
const UDP_BYTES: usize = 256 << 10;

/// Datagrams to `port` on the link go to `sock` (bound to the wildcard
/// or the link's address). Sockets on one port (an IPv4 and a `v6only`
/// one, or a `SO_REUSEPORT` group) share one smoltcp socket, whose
/// datagrams each run of the stack hands to the first of them that
/// takes the sender's family.
pub fn udp_open(port: u16, sock: Weak<InetSocket>) {
    let Ok(n) = net() else { return };
    n.with(|st| {
        prune_udp(st);
        if let Some(b) = st.udp.iter().find(|b| b.port == port) {
            let handle = b.handle;
            st.udp.push(UdpBinding { port, handle, sock });
            return;
        }
        let buf = || {
            udp::PacketBuffer::new(
                vec![udp::PacketMetadata::EMPTY; UDP_PACKETS],
                vec![0u8; UDP_BYTES],
            )
        };
        let mut u = udp::Socket::new(buf(), buf());
        if u.bind(port).is_ok() {
            let handle = st.sockets.add(u);
            st.udp.push(UdpBinding { port, handle, sock });
        }
    });
}

/// `sock` no longer receives from the link (closed or unbound).
pub fn udp_close(sock: &InetSocket) {
    let Ok(n) = net() else { return };
    let mut st = lock(&n.state);
    st.udp.retain(|b| !std::ptr::eq(b.sock.as_ptr(), sock));
    prune_udp(&mut st);
}

/// Drops the bindings of sockets that are gone, and the smoltcp sockets
/// no binding uses any more.
fn prune_udp(st: &mut State) {
    let mut gone = Vec::new();
    st.udp.retain(|b| {
        let live = b.sock.strong_count() > 0;
        if !live {
            gone.push(b.handle);
        }
        live
    });
    gone.sort_unstable();
    gone.dedup();
    for h in gone {
        if !st.udp.iter().any(|b| b.handle == h) {
            st.sockets.remove(h);
        }
    }
}

/// Sends a datagram from `port` (a port with a binding: `EINVAL`
/// otherwise, as Linux for a loopback source) to `dest` through the
/// link. A datagram that does not fit an unfragmented frame is
/// `EMSGSIZE` (the stack does not fragment); one the full send queue
/// cannot take is dropped, as by a full device queue.
pub fn udp_send(port: u16, dest: SocketAddr, data: &[u8]) -> SysResult<usize> {
    let n = net()?;
    // IP and UDP headers.
    let headers = if dest.is_ipv4() { 28 } else { 48 };
    if data.len() + headers > n.mtu as usize {
        return Err(Errno::EMSGSIZE);
    }
    let to = endpoint(dest)?;
    n.with(|st| {
        let b = st
            .udp
            .iter()
            .find(|b| b.port == port)
            .ok_or(Errno::EINVAL)?;
        let u = st.sockets.get_mut::<udp::Socket>(b.handle);
        let _ = u.send_slice(data, to);
        Ok(data.len())
    })
}

/// Whether a wildcard listener also listens on the stack.
pub fn active() -> bool {
    NET.get().is_some()
}

const BUF: usize = 256 << 10;

fn new_tcp() -> tcp::Socket<'static> {
    tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0u8; BUF]),
        tcp::SocketBuffer::new(vec![0u8; BUF]),
    )
}

enum Conn {
    /// Not connected: the port it is bound to (0: none).
    Idle(u16),
    /// A connect sent, not reported yet.
    Connecting(SocketHandle),
    Connected(SocketHandle),
    /// Sockets listening on `port` (one per connection to come).
    Listening {
        port: u16,
        pending: Vec<SocketHandle>,
    },
}

/// A TCP socket of the stack.
pub struct StackSocket {
    /// `AF_INET`, or `AF_INET6` for a dual-stack socket (IPv4 peers as
    /// v4-mapped addresses).
    family: i32,
    /// The address it was bound to before it came to the stack (canonical;
    /// unspecified for the wildcard or none).
    local_ip: IpAddr,
    /// Where a listener takes connections: `None` for any address of
    /// either family (a dual-stack wildcard), else one address of the link.
    listen_on: Option<IpAddress>,
    conn: Mutex<Conn>,
    /// A wildcard listener's loopback side (its queue is this socket's),
    /// and its file, which keeps it listening.
    loopback: Option<Arc<InetSocket>>,
    _loopback_file: Option<Arc<File>>,
    own_queue: Queue,
    owner: Cred,
    ino: u64,
    timeouts: Timeouts,
    error: Mutex<Option<Errno>>,
}

impl Drop for StackSocket {
    fn drop(&mut self) {
        let Ok(n) = net() else { return };
        let conn = std::mem::replace(
            self.conn.get_mut().unwrap_or_else(|p| p.into_inner()),
            Conn::Idle(0),
        );
        let mut st = lock(&n.state);
        match conn {
            Conn::Connecting(h) | Conn::Connected(h) => {
                st.sockets.get_mut::<tcp::Socket>(h).close();
                st.orphans.push(h);
            }
            Conn::Listening { pending, .. } => {
                for h in pending {
                    st.sockets.get_mut::<tcp::Socket>(h).abort();
                    st.orphans.push(h);
                }
            }
            Conn::Idle(_) => {}
        }
        drop(st);
        n.kick();
    }
}

/// The outcome of the connect in progress in `conn`: `EALREADY` while
/// the handshake runs, then 0 (connected) or `ECONNREFUSED` (the socket
/// is unconnected again).
fn settle(n: &Net, conn: &mut Conn) -> SysResult<()> {
    let Conn::Connecting(h) = *conn else {
        return Ok(());
    };
    let state = lock(&n.state).sockets.get::<tcp::Socket>(h).state();
    match state {
        tcp::State::SynSent | tcp::State::SynReceived => Err(Errno::EALREADY),
        tcp::State::Closed => {
            *conn = Conn::Idle(0);
            lock(&n.state).sockets.remove(h);
            Err(Errno::ECONNREFUSED)
        }
        _ => {
            *conn = Conn::Connected(h);
            Ok(())
        }
    }
}

fn endpoint(a: SocketAddr) -> SysResult<IpEndpoint> {
    match a.ip() {
        IpAddr::V4(v4) => Ok(IpEndpoint::new(IpAddress::Ipv4(v4), a.port())),
        IpAddr::V6(v6) if link_addr6().is_some() => {
            Ok(IpEndpoint::new(IpAddress::Ipv6(v6), a.port()))
        }
        IpAddr::V6(_) => Err(Errno::ENETUNREACH),
    }
}

fn sockaddr(family: i32, e: IpEndpoint) -> Vec<u8> {
    crate::encode_addr(family, SocketAddr::new(ip_of(e.addr), e.port))
}

impl StackSocket {
    fn make(
        family: i32,
        local_ip: IpAddr,
        conn: Conn,
        loopback: Option<(Arc<InetSocket>, Arc<File>)>,
        owner: Cred,
    ) -> Arc<StackSocket> {
        let (loopback, loopback_file) = loopback.unzip();
        let v6only = loopback.as_ref().is_some_and(|l| l.v6only());
        // A listener on the wildcard of one family takes that family's
        // link address only (smoltcp's wildcard takes both).
        let listen_on = match local_ip {
            IpAddr::V4(v4) if v4.is_unspecified() => link_addr().map(IpAddress::Ipv4),
            IpAddr::V6(v6) if v6.is_unspecified() && v6only => {
                Some(link_addr6().map_or(IpAddress::Ipv6(Ipv6Addr::LOCALHOST), IpAddress::Ipv6))
            }
            IpAddr::V6(v6) if v6.is_unspecified() => None,
            IpAddr::V4(v4) => Some(IpAddress::Ipv4(v4)),
            IpAddr::V6(v6) => Some(IpAddress::Ipv6(v6)),
        };
        let s = Arc::new(StackSocket {
            family,
            local_ip,
            listen_on,
            conn: Mutex::new(conn),
            loopback,
            _loopback_file: loopback_file,
            own_queue: Queue::new(),
            owner,
            ino: vfs::inode::next_ino(),
            timeouts: Timeouts::default(),
            error: Mutex::new(None),
        });
        if let Ok(n) = net() {
            let w: Weak<dyn Driven> = Arc::downgrade(&s) as Weak<StackSocket>;
            lock(&n.state).watchers.push(w);
        }
        s
    }

    /// The stack's side of an unconnected loopback socket about to
    /// connect beyond loopback (its bound port, if any, carries over).
    pub fn for_connect(s: &InetSocket) -> SysResult<Arc<StackSocket>> {
        net()?;
        let port = s.local_addr().port();
        let any = crate::any_addr(s.family).ip();
        Ok(StackSocket::make(
            s.family,
            any,
            Conn::Idle(port),
            None,
            s.owner,
        ))
    }

    /// A listener on the stack for wildcard listener `s` (already
    /// listening on loopback, the socket of `file`), which stays its
    /// loopback side.
    pub fn for_listen(
        s: Arc<InetSocket>,
        file: Arc<File>,
        backlog: i32,
    ) -> SysResult<Arc<StackSocket>> {
        net()?;
        let local = s.local_addr();
        let owner = s.owner;
        let conn = Conn::Idle(local.port());
        let st = StackSocket::make(s.family, local.ip(), conn, Some((s, file)), owner);
        st.listen(backlog)?;
        Ok(st)
    }

    /// A smoltcp socket listening for this listener on `port`.
    fn listener(&self, port: u16) -> Option<tcp::Socket<'static>> {
        let mut t = new_tcp();
        let at = smoltcp::wire::IpListenEndpoint {
            addr: self.listen_on,
            port,
        };
        t.listen(at).ok()?;
        Some(t)
    }

    /// Settles a connect in progress (see [`settle`]), keeping a refusal
    /// for `SO_ERROR`: for callers that learn the outcome without calling
    /// `connect` again (a non-blocking connect polled for writability).
    fn settle_quietly(&self) {
        let Ok(n) = net() else { return };
        let mut conn = lock(&self.conn);
        if matches!(*conn, Conn::Connecting(_)) {
            if let Err(e @ Errno::ECONNREFUSED) = settle(n, &mut conn) {
                *lock(&self.error) = Some(e);
            }
        }
    }

    fn handle(&self) -> Option<SocketHandle> {
        match &*lock(&self.conn) {
            Conn::Connecting(h) | Conn::Connected(h) => Some(*h),
            _ => None,
        }
    }

    fn with_tcp<R>(&self, f: impl FnOnce(&mut tcp::Socket) -> R) -> SysResult<R> {
        let h = self.handle().ok_or(Errno::ENOTCONN)?;
        Ok(net()?.with(|st| f(st.sockets.get_mut::<tcp::Socket>(h))))
    }
}

impl Driven for StackSocket {
    fn family(&self) -> i32 {
        self.family
    }

    fn is_stream(&self) -> bool {
        true
    }

    fn queue(&self) -> &Queue {
        match &self.loopback {
            Some(l) => l.queue(),
            None => &self.own_queue,
        }
    }

    fn readiness(&self) -> u32 {
        let Ok(n) = net() else { return events::ERR };
        let lo = self.loopback.as_ref().map_or(0, |l| l.readiness());
        let conn = lock(&self.conn);
        let st = lock(&n.state);
        let r = match &*conn {
            Conn::Idle(_) => events::OUT | events::HUP,
            Conn::Listening { pending, .. } => {
                let ready = pending.iter().any(|&h| {
                    matches!(
                        st.sockets.get::<tcp::Socket>(h).state(),
                        tcp::State::Established | tcp::State::CloseWait
                    )
                });
                if ready {
                    events::IN
                } else {
                    0
                }
            }
            Conn::Connecting(h) | Conn::Connected(h) => {
                let t = st.sockets.get::<tcp::Socket>(*h);
                let mut r = 0;
                if t.can_recv() || (!t.may_recv() && t.state() != tcp::State::SynSent) {
                    r |= events::IN | events::RDNORM;
                }
                if !t.may_recv() && t.state() != tcp::State::SynSent {
                    r |= events::RDHUP;
                }
                if t.can_send() {
                    r |= events::OUT | events::WRNORM;
                }
                if t.state() == tcp::State::Closed {
                    r |= events::HUP | events::OUT;
                    if matches!(*conn, Conn::Connecting(_)) {
                        r |= events::ERR;
                    }
                }
                r
            }
        };
        r | lo
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

    fn bind(&self, _addr: &[u8]) -> SysResult<()> {
        // Bound on loopback before it came to the stack.
        Err(Errno::EINVAL)
    }

    fn connect(&self, addr: &[u8]) -> SysResult<()> {
        let n = net()?;
        let dest = endpoint(crate::parse_addr(self.family, addr, false)?)?;
        let mut conn = lock(&self.conn);
        match &*conn {
            Conn::Idle(port) => {
                let port = if *port != 0 {
                    *port
                } else {
                    n.next_port.fetch_add(1, Ordering::Relaxed).max(49152)
                };
                let h = n.with(|st| {
                    let mut t = new_tcp();
                    let r = t.connect(st.iface.context(), dest, port);
                    r.map(|_| st.sockets.add(t))
                });
                let h = h.map_err(|_| Errno::ENETUNREACH)?;
                *conn = Conn::Connecting(h);
                Err(Errno::EINPROGRESS)
            }
            Conn::Connecting(_) => settle(n, &mut conn),
            Conn::Connected(_) => Err(Errno::EISCONN),
            Conn::Listening { .. } => Err(Errno::EINVAL),
        }
    }

    fn listen(&self, backlog: i32) -> SysResult<()> {
        let n = net()?;
        let mut conn = lock(&self.conn);
        let port = match &*conn {
            Conn::Idle(p) if *p != 0 => *p,
            Conn::Listening { .. } => return Ok(()),
            _ => return Err(Errno::EINVAL),
        };
        let count = backlog.clamp(1, 16) as usize;
        let pending = n.with(|st| {
            (0..count)
                .filter_map(|_| Some(st.sockets.add(self.listener(port)?)))
                .collect()
        });
        *conn = Conn::Listening { port, pending };
        Ok(())
    }

    fn shutdown(&self, how: i32) -> SysResult<()> {
        if !(0..=2).contains(&how) {
            return Err(Errno::EINVAL);
        }
        // SHUT_WR and SHUT_RDWR send our FIN; SHUT_RD has nothing to send.
        if how != 0 {
            self.with_tcp(|t| t.close())?;
        }
        Ok(())
    }

    fn name(&self) -> SysResult<Vec<u8>> {
        let n = net()?;
        let local = match &*lock(&self.conn) {
            Conn::Idle(p) => SocketAddr::new(self.local_ip, *p),
            Conn::Listening { port, .. } => SocketAddr::new(self.local_ip, *port),
            Conn::Connecting(h) | Conn::Connected(h) => {
                let st = lock(&n.state);
                let e = st.sockets.get::<tcp::Socket>(*h).local_endpoint();
                return Ok(e.map_or_else(
                    || crate::encode_addr(self.family, SocketAddr::new(IpAddr::V4(n.addr), 0)),
                    |e| sockaddr(self.family, e),
                ));
            }
        };
        Ok(crate::encode_addr(self.family, local))
    }

    fn peer(&self) -> SysResult<Vec<u8>> {
        let n = net()?;
        self.settle_quietly();
        let Conn::Connected(h) = &*lock(&self.conn) else {
            return Err(Errno::ENOTCONN);
        };
        let st = lock(&n.state);
        let e = st.sockets.get::<tcp::Socket>(*h).remote_endpoint();
        e.map(|e| sockaddr(self.family, e)).ok_or(Errno::ENOTCONN)
    }

    fn accept(&self, flags: u32) -> SysResult<(Arc<File>, Vec<u8>)> {
        if let Some(l) = &self.loopback {
            match l.accept() {
                Ok(new) => {
                    let peer = new
                        .peer_addr()
                        .unwrap_or_else(|_| crate::any_addr(new.family));
                    let peer = crate::encode_addr(new.family, peer);
                    return Ok((crate::inet::new_file(new, flags), peer));
                }
                Err(Errno::EAGAIN) => {}
                Err(e) => return Err(e),
            }
        }
        let n = net()?;
        let mut conn = lock(&self.conn);
        let Conn::Listening { port, pending } = &mut *conn else {
            return Err(Errno::EINVAL);
        };
        let port = *port;
        let taken = n.with(|st| {
            let i = pending.iter().position(|&h| {
                matches!(
                    st.sockets.get::<tcp::Socket>(h).state(),
                    tcp::State::Established | tcp::State::CloseWait
                )
            })?;
            let h = pending.swap_remove(i);
            if let Some(t) = self.listener(port) {
                pending.push(st.sockets.add(t));
            }
            let peer = st.sockets.get::<tcp::Socket>(h).remote_endpoint();
            Some((h, peer))
        });
        drop(conn);
        let (h, peer) = taken.ok_or(Errno::EAGAIN)?;
        let any = crate::any_addr(self.family).ip();
        let s = StackSocket::make(self.family, any, Conn::Connected(h), None, self.owner);
        let peer = peer.map(|e| sockaddr(self.family, e)).unwrap_or_default();
        Ok((crate::driven::new_file(s, flags), peer))
    }

    fn send(
        &self,
        data: &[u8],
        _addr: Option<&[u8]>,
        _control: &[u8],
        _flags: u32,
    ) -> SysResult<usize> {
        let r = self.with_tcp(|t| {
            if !t.may_send() {
                return Err(Errno::EPIPE);
            }
            match t.send_slice(data) {
                Ok(0) if !data.is_empty() => Err(Errno::EAGAIN),
                Ok(n) => Ok(n),
                Err(_) => Err(Errno::EPIPE),
            }
        });
        match r {
            Err(Errno::ENOTCONN) => Err(Errno::EPIPE),
            r => r?,
        }
    }

    fn recv(&self, buf: &mut [u8], flags: u32, _control_len: usize) -> SysResult<Received> {
        let peek = flags & libc::MSG_PEEK as u32 != 0;
        let n = self.with_tcp(|t| {
            if t.can_recv() {
                let r = if peek {
                    t.peek_slice(buf)
                } else {
                    t.recv_slice(buf)
                };
                return r.map_err(|_| Errno::ECONNRESET);
            }
            if !t.may_recv() && t.state() != tcp::State::SynSent {
                return Ok(0);
            }
            Err(Errno::EAGAIN)
        })??;
        Ok(Received {
            len: n,
            from: Vec::new(),
            control: Vec::new(),
            flags: 0,
        })
    }

    fn getsockopt(&self, level: i32, name: i32, _len: usize) -> SysResult<Vec<u8>> {
        let int = |v: i32| v.to_le_bytes().to_vec();
        match (level, name) {
            (libc::SOL_SOCKET, libc::SO_ERROR) => {
                self.settle_quietly();
                Ok(int(lock(&self.error).take().map_or(0, |e| e.0)))
            }
            (libc::SOL_SOCKET, libc::SO_TYPE) => Ok(int(libc::SOCK_STREAM)),
            (libc::SOL_SOCKET, libc::SO_DOMAIN) => Ok(int(self.family)),
            (libc::SOL_SOCKET, libc::SO_PROTOCOL) => Ok(int(libc::IPPROTO_TCP)),
            (libc::SOL_SOCKET, libc::SO_ACCEPTCONN) => Ok(int(matches!(
                *lock(&self.conn),
                Conn::Listening { .. }
            ) as i32)),
            (libc::SOL_SOCKET, libc::SO_SNDBUF | libc::SO_RCVBUF) => Ok(int(BUF as i32)),
            _ => Err(Errno::ENOPROTOOPT),
        }
    }

    fn setsockopt(&self, level: i32, name: i32, val: &[u8]) -> SysResult<()> {
        let v = match val {
            [a, b, c, d, ..] => i32::from_le_bytes([*a, *b, *c, *d]),
            _ => return Err(Errno::EINVAL),
        };
        match (level, name) {
            (libc::SOL_TCP, libc::TCP_NODELAY) => {
                // Before a connection there is nothing to set yet.
                let _ = self.with_tcp(|t| t.set_nagle_enabled(v == 0));
                Ok(())
            }
            (libc::SOL_SOCKET, libc::SO_KEEPALIVE) => {
                let every = (v != 0).then(|| smoltcp::time::Duration::from_secs(75));
                let _ = self.with_tcp(|t| t.set_keep_alive(every));
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
        let q = self.with_tcp(|t| t.recv_queue()).unwrap_or(0);
        mm.write_obj(arg, &(q.min(i32::MAX as usize) as i32))?;
        Ok(0)
    }
}
