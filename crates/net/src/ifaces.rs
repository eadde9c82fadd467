//! The network interfaces: `lo` only, as in a network namespace with
//! loopback only. Its state (up or down, addresses, counters) is what the
//! route netlink socket, the `SIOCGIF*` ioctls and `/proc/net` report, and
//! what `RTM_NEWADDR`/`RTM_NEWLINK` change.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use abi::{Errno, SysResult};
use mm::MemoryManager;

use crate::{lock, Stack};

pub const LO_INDEX: i32 = 1;
pub const LO_NAME: &[u8] = b"lo";
pub const LO_MTU: u32 = 65536;
pub const LO_TXQLEN: u32 = 1000;

pub const IFF_UP: u32 = 0x1;
pub const IFF_LOOPBACK: u32 = 0x8;
pub const IFF_RUNNING: u32 = 0x40;
pub const IFF_LOWER_UP: u32 = 0x10000;

/// An address on the interface with its prefix length.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct IfAddr {
    pub ip: IpAddr,
    pub prefix: u8,
}

pub struct LoState {
    pub up: bool,
    pub addrs: Vec<IfAddr>,
    pub mtu: u32,
}

/// The loopback interface.
pub struct Loopback {
    state: Mutex<LoState>,
    /// Bytes and packets through it (each is both sent and received).
    bytes: AtomicU64,
    packets: AtomicU64,
}

impl Loopback {
    /// `lo` as a sandbox starts with it: up, with `127.0.0.1/8` and
    /// `::1/128`.
    pub fn new() -> Loopback {
        Self::with(LoState {
            up: true,
            addrs: vec![
                IfAddr {
                    ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
                    prefix: 8,
                },
                IfAddr {
                    ip: IpAddr::V6(Ipv6Addr::LOCALHOST),
                    prefix: 128,
                },
            ],
            mtu: LO_MTU,
        })
    }

    /// `lo` of a new network namespace: down, no addresses.
    pub fn down() -> Loopback {
        Self::with(LoState {
            up: false,
            addrs: Vec::new(),
            mtu: LO_MTU,
        })
    }

    fn with(st: LoState) -> Loopback {
        Loopback {
            state: Mutex::new(st),
            bytes: AtomicU64::new(0),
            packets: AtomicU64::new(0),
        }
    }

    pub fn state(&self) -> std::sync::MutexGuard<'_, LoState> {
        lock(&self.state)
    }

    /// `ifi_flags`/`SIOCGIFFLAGS`.
    pub fn flags(&self) -> u32 {
        if self.state().up {
            IFF_UP | IFF_LOOPBACK | IFF_RUNNING | IFF_LOWER_UP
        } else {
            IFF_LOOPBACK
        }
    }

    /// Brings `lo` up or down. Up, it gets `127.0.0.1/8` and `::1/128`
    /// if it lacks them, as Linux gives a loopback device on `NETDEV_UP`
    /// (so `ip link set lo up` alone makes a new network namespace's
    /// loopback work).
    pub fn set_up(&self, up: bool) {
        let mut st = self.state();
        if up && !st.up {
            for a in Loopback::new().state().addrs.iter() {
                if !st.addrs.iter().any(|e| e.ip == a.ip) {
                    st.addrs.push(*a);
                }
            }
        }
        st.up = up;
    }

    /// Counts one packet of `n` bytes through the interface.
    pub fn count(&self, n: usize) {
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
        self.packets.fetch_add(1, Ordering::Relaxed);
    }

    /// (bytes, packets).
    pub fn counters(&self) -> (u64, u64) {
        (
            self.bytes.load(Ordering::Relaxed),
            self.packets.load(Ordering::Relaxed),
        )
    }

    /// Adds an address: `EEXIST` if present and `exclusive`.
    pub fn add_addr(&self, a: IfAddr, exclusive: bool) -> SysResult<()> {
        let mut st = self.state();
        if let Some(e) = st.addrs.iter_mut().find(|e| e.ip == a.ip) {
            if exclusive {
                return Err(Errno::EEXIST);
            }
            e.prefix = a.prefix;
            return Ok(());
        }
        st.addrs.push(a);
        Ok(())
    }

    /// Removes an address: `EADDRNOTAVAIL` if absent.
    pub fn del_addr(&self, ip: IpAddr) -> SysResult<()> {
        let mut st = self.state();
        let n = st.addrs.len();
        st.addrs.retain(|e| e.ip != ip);
        if st.addrs.len() == n {
            return Err(Errno::EADDRNOTAVAIL);
        }
        Ok(())
    }

    /// The first IPv4 address.
    pub fn ipv4(&self) -> Option<IfAddr> {
        self.state().addrs.iter().copied().find(|a| a.ip.is_ipv4())
    }
}

impl Default for Loopback {
    fn default() -> Self {
        Self::new()
    }
}

pub const SIOCGIFNAME: u32 = 0x8910;
pub const SIOCGIFCONF: u32 = 0x8912;
pub const SIOCGIFFLAGS: u32 = 0x8913;
pub const SIOCSIFFLAGS: u32 = 0x8914;
pub const SIOCGIFADDR: u32 = 0x8915;
pub const SIOCGIFBRDADDR: u32 = 0x8919;
pub const SIOCGIFNETMASK: u32 = 0x891b;
pub const SIOCGIFMTU: u32 = 0x8921;
pub const SIOCGIFHWADDR: u32 = 0x8927;
pub const SIOCGIFINDEX: u32 = 0x8933;
pub const SIOCGIFTXQLEN: u32 = 0x8942;

/// `struct ifreq`: a 16-byte name and a 24-byte union.
const IFREQ_SIZE: usize = 40;
const IFNAMSIZ: usize = 16;
const ARPHRD_LOOPBACK: u16 = 772;

fn sockaddr_in(ip: Ipv4Addr) -> [u8; 16] {
    let mut v = [0u8; 16];
    v[..2].copy_from_slice(&(crate::AF_INET as u16).to_le_bytes());
    v[4..8].copy_from_slice(&ip.octets());
    v
}

fn prefix_mask(prefix: u8) -> Ipv4Addr {
    Ipv4Addr::from(u32::MAX.checked_shl(32 - prefix as u32).unwrap_or(0))
}

/// The interface ioctls of inet and netlink sockets (`SIOCGIF*`,
/// `SIOCSIFFLAGS`); `ENOTTY` for others.
pub fn ioctl(stack: &Stack, cmd: u32, arg: u64, mm: &mut MemoryManager) -> SysResult<u64> {
    let lo = &stack.lo;
    if cmd == SIOCGIFCONF {
        // struct ifconf { int ifc_len; char *ifc_buf; }
        let mut ifc = [0u8; 16];
        mm.copy_in(arg, &mut ifc)?;
        let len = i32::from_le_bytes([ifc[0], ifc[1], ifc[2], ifc[3]]);
        let buf = u64::from_le_bytes(ifc[8..16].try_into().unwrap_or([0; 8]));
        let entry = |name: &[u8], v4: Ipv4Addr| {
            let mut r = [0u8; IFREQ_SIZE];
            let n = name.len().min(IFNAMSIZ - 1);
            r[..n].copy_from_slice(&name[..n]);
            r[16..32].copy_from_slice(&sockaddr_in(v4));
            r
        };
        let mut entries = Vec::new();
        if let Some(IfAddr {
            ip: IpAddr::V4(v4), ..
        }) = lo.ipv4()
        {
            entries.push(entry(LO_NAME, v4));
        }
        if let Some(l) = stack.link() {
            entries.push(entry(l.name.as_bytes(), l.addr));
        }
        let out_len = if buf == 0 {
            entries.len() * IFREQ_SIZE
        } else {
            let fit = (len.max(0) as usize / IFREQ_SIZE).min(entries.len());
            for (i, e) in entries.iter().take(fit).enumerate() {
                mm.copy_out(buf + (i * IFREQ_SIZE) as u64, e)?;
            }
            fit * IFREQ_SIZE
        };
        mm.copy_out(arg, &(out_len as i32).to_le_bytes())?;
        return Ok(0);
    }
    if !matches!(
        cmd,
        SIOCGIFNAME
            | SIOCGIFFLAGS
            | SIOCSIFFLAGS
            | SIOCGIFADDR
            | SIOCGIFBRDADDR
            | SIOCGIFNETMASK
            | SIOCGIFMTU
            | SIOCGIFHWADDR
            | SIOCGIFINDEX
            | SIOCGIFTXQLEN
    ) {
        return Err(Errno::ENOTTY);
    }
    let mut req = [0u8; IFREQ_SIZE];
    mm.copy_in(arg, &mut req)?;
    if cmd == SIOCGIFNAME {
        let index = i32::from_le_bytes([req[16], req[17], req[18], req[19]]);
        let name = match (index, stack.link()) {
            (LO_INDEX, _) => LO_NAME.to_vec(),
            (crate::netstack::LINK_INDEX, Some(l)) => l.name.into_bytes(),
            _ => return Err(Errno::ENODEV),
        };
        req[..IFNAMSIZ].fill(0);
        let n = name.len().min(IFNAMSIZ - 1);
        req[..n].copy_from_slice(&name[..n]);
        mm.copy_out(arg, &req)?;
        return Ok(0);
    }
    let name_end = req[..IFNAMSIZ]
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(IFNAMSIZ);
    if let Some(l) = stack
        .link()
        .filter(|l| l.name.as_bytes() == &req[..name_end])
    {
        link_ioctl(&l, cmd, &mut req[IFNAMSIZ..])?;
        mm.copy_out(arg, &req)?;
        return Ok(0);
    }
    if &req[..name_end] != LO_NAME {
        return Err(Errno::ENODEV);
    }
    let data = &mut req[IFNAMSIZ..];
    let put_i32 = |d: &mut [u8], v: i32| d[..4].copy_from_slice(&v.to_le_bytes());
    match cmd {
        SIOCGIFFLAGS => data[..2].copy_from_slice(&(lo.flags() as u16).to_le_bytes()),
        SIOCSIFFLAGS => {
            let flags = u16::from_le_bytes([data[0], data[1]]) as u32;
            lo.set_up(flags & IFF_UP != 0);
            return Ok(0);
        }
        SIOCGIFADDR | SIOCGIFNETMASK | SIOCGIFBRDADDR => {
            let a = lo.ipv4().ok_or(Errno::EADDRNOTAVAIL)?;
            let IpAddr::V4(v4) = a.ip else {
                return Err(Errno::EADDRNOTAVAIL);
            };
            let v = match cmd {
                SIOCGIFADDR => v4,
                SIOCGIFNETMASK => prefix_mask(a.prefix),
                // Loopback has no broadcast address configured.
                _ => Ipv4Addr::UNSPECIFIED,
            };
            data[..16].copy_from_slice(&sockaddr_in(v));
        }
        SIOCGIFMTU => put_i32(data, lo.state().mtu as i32),
        SIOCGIFHWADDR => {
            data[..2].copy_from_slice(&ARPHRD_LOOPBACK.to_le_bytes());
            data[2..16].fill(0);
        }
        SIOCGIFINDEX => put_i32(data, LO_INDEX),
        SIOCGIFTXQLEN => put_i32(data, LO_TXQLEN as i32),
        _ => return Err(Errno::ENOTTY),
    }
    mm.copy_out(arg, &req)?;
    Ok(0)
}

/// `SIOCGIF*` for the sandbox's link; `data` is the `ifreq`'s union.
fn link_ioctl(l: &crate::netstack::LinkInfo, cmd: u32, data: &mut [u8]) -> SysResult<()> {
    const ARPHRD_ETHER: u16 = 1;
    const IFF_BROADCAST: u32 = 0x2;
    const IFF_MULTICAST: u32 = 0x1000;
    let put_i32 = |d: &mut [u8], v: i32| d[..4].copy_from_slice(&v.to_le_bytes());
    let mask = prefix_mask(l.prefix);
    match cmd {
        SIOCGIFFLAGS => {
            let f = IFF_UP | IFF_BROADCAST | IFF_RUNNING | IFF_MULTICAST;
            data[..2].copy_from_slice(&(f as u16).to_le_bytes());
        }
        // The stack owns the link: it stays up as it was taken over.
        SIOCSIFFLAGS => return Err(Errno::EPERM),
        SIOCGIFADDR => data[..16].copy_from_slice(&sockaddr_in(l.addr)),
        SIOCGIFNETMASK => data[..16].copy_from_slice(&sockaddr_in(mask)),
        SIOCGIFBRDADDR => {
            let b = Ipv4Addr::from(u32::from(l.addr) | !u32::from(mask));
            data[..16].copy_from_slice(&sockaddr_in(b));
        }
        SIOCGIFMTU => put_i32(data, l.mtu as i32),
        SIOCGIFHWADDR => {
            data[..2].copy_from_slice(&ARPHRD_ETHER.to_le_bytes());
            data[2..8].copy_from_slice(&l.mac);
            data[8..16].fill(0);
        }
        SIOCGIFINDEX => put_i32(data, crate::netstack::LINK_INDEX),
        SIOCGIFTXQLEN => put_i32(data, LO_TXQLEN as i32),
        _ => return Err(Errno::ENOTTY),
    }
    Ok(())
}
