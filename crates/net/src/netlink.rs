//! `AF_NETLINK` sockets of protocol `NETLINK_ROUTE`: the requests `ip
//! link`, `ip addr`, `ip route`, `getifaddrs()` and bwrap make about the
//! sandbox's interface (`RTM_GETLINK`, `RTM_GETADDR`, `RTM_GETROUTE`,
//! `RTM_NEWADDR`/`RTM_DELADDR`, `RTM_NEWLINK`/`RTM_SETLINK` to bring `lo`
//! up or down). A request is answered when it is sent: the replies wait
//! in the socket's receive queue as datagrams.

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use abi::fs::{Stat, O_NONBLOCK, O_RDWR};
use abi::{Errno, SysResult};
use mm::MemoryManager;
use vfs::{File, FileOps};
use waiter::{events, Queue};

use crate::ifaces::{IfAddr, LO_INDEX, LO_NAME, LO_TXQLEN};
use crate::netstack::{LinkInfo, LINK_INDEX};
use crate::{lock, Stack, AF_INET, AF_INET6, AF_NETLINK, AF_UNSPEC};

pub const NETLINK_ROUTE: i32 = 0;
pub const SOL_NETLINK: i32 = 270;

const NLMSG_HDRLEN: usize = 16;
const NLMSG_NOOP: u16 = 1;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;

const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_MULTI: u16 = 0x2;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_ROOT: u16 = 0x100;
const NLM_F_MATCH: u16 = 0x200;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_DUMP: u16 = NLM_F_ROOT | NLM_F_MATCH;

const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTM_GETLINK: u16 = 18;
const RTM_SETLINK: u16 = 19;
const RTM_NEWADDR: u16 = 20;
const RTM_DELADDR: u16 = 21;
const RTM_GETADDR: u16 = 22;
const RTM_NEWROUTE: u16 = 24;
const RTM_GETROUTE: u16 = 26;

const IFLA_ADDRESS: u16 = 1;
const IFLA_BROADCAST: u16 = 2;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_QDISC: u16 = 6;
const IFLA_STATS: u16 = 7;
const IFLA_TXQLEN: u16 = 13;
const IFLA_MAP: u16 = 14;
const IFLA_OPERSTATE: u16 = 16;
const IFLA_LINKMODE: u16 = 17;
const IFLA_STATS64: u16 = 23;
const IFLA_GROUP: u16 = 27;
const IFLA_PROMISCUITY: u16 = 30;
const IFLA_NUM_TX_QUEUES: u16 = 31;
const IFLA_NUM_RX_QUEUES: u16 = 32;
const IFLA_CARRIER: u16 = 33;
const IFLA_CARRIER_CHANGES: u16 = 35;
const IFLA_PROTO_DOWN: u16 = 39;
const IFLA_GSO_MAX_SEGS: u16 = 40;
const IFLA_GSO_MAX_SIZE: u16 = 41;
const IFLA_MIN_MTU: u16 = 50;
const IFLA_MAX_MTU: u16 = 51;

const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_LABEL: u16 = 3;
const IFA_CACHEINFO: u16 = 6;
const IFA_BROADCAST: u16 = 4;
const IFA_FLAGS: u16 = 8;
const IFA_F_PERMANENT: u32 = 0x80;

const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_PRIORITY: u16 = 6;
const RTA_PREFSRC: u16 = 7;
const RTA_TABLE: u16 = 15;
const RTA_PREF: u16 = 20;

const RT_TABLE_MAIN: u8 = 254;
const RT_TABLE_LOCAL: u8 = 255;
const RTPROT_KERNEL: u8 = 2;
const RTPROT_BOOT: u8 = 3;
const RT_SCOPE_UNIVERSE: u8 = 0;
const RT_SCOPE_LINK: u8 = 253;
const RT_SCOPE_HOST: u8 = 254;
const RTN_UNICAST: u8 = 1;
const RTN_LOCAL: u8 = 2;
const RTN_BROADCAST: u8 = 3;

const ARPHRD_LOOPBACK: u16 = 772;
/// `IF_OPER_UNKNOWN`, `IF_OPER_DOWN`.
const OPER_UNKNOWN: u8 = 0;
const OPER_DOWN: u8 = 2;

/// Receive buffer limit (`SO_RCVBUF` default).
const RCVBUF: usize = 212_992;

/// The next port id for a socket whose process already has one
/// (Linux's counts down from -4096).
static NEXT_PORTID: AtomicU32 = AtomicU32::new(0xFFFF_F000);
/// Port ids in use.
static PORTIDS: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// A message under construction: header, fixed part, attributes.
struct Msg(Vec<u8>);

impl Msg {
    fn new(ty: u16, flags: u16, seq: u32, pid: u32) -> Msg {
        let mut v = vec![0u8; NLMSG_HDRLEN];
        v[4..6].copy_from_slice(&ty.to_le_bytes());
        v[6..8].copy_from_slice(&flags.to_le_bytes());
        v[8..12].copy_from_slice(&seq.to_le_bytes());
        v[12..16].copy_from_slice(&pid.to_le_bytes());
        Msg(v)
    }

    fn raw(mut self, b: &[u8]) -> Msg {
        self.0.extend_from_slice(b);
        self
    }

    fn attr(mut self, ty: u16, data: &[u8]) -> Msg {
        let len = 4 + data.len();
        self.0.extend_from_slice(&(len as u16).to_le_bytes());
        self.0.extend_from_slice(&ty.to_le_bytes());
        self.0.extend_from_slice(data);
        self.0.resize(self.0.len().next_multiple_of(4), 0);
        self
    }

    fn u32(self, ty: u16, v: u32) -> Msg {
        self.attr(ty, &v.to_le_bytes())
    }

    fn u8(self, ty: u16, v: u8) -> Msg {
        self.attr(ty, &[v])
    }

    fn done(mut self) -> Vec<u8> {
        let len = self.0.len() as u32;
        self.0[..4].copy_from_slice(&len.to_le_bytes());
        self.0
    }
}

fn ip_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

fn family_of(ip: IpAddr) -> u8 {
    if ip.is_ipv4() {
        AF_INET as u8
    } else {
        AF_INET6 as u8
    }
}

/// `RTM_NEWLINK` for `lo`.
fn link_msg(stack: &Stack, seq: u32, pid: u32, flags: u16) -> Vec<u8> {
    let lo = &stack.lo;
    let (up, mtu) = {
        let st = lo.state();
        (st.up, st.mtu)
    };
    let mut ifi = [0u8; 16];
    ifi[2..4].copy_from_slice(&ARPHRD_LOOPBACK.to_le_bytes());
    ifi[4..8].copy_from_slice(&LO_INDEX.to_le_bytes());
    ifi[8..12].copy_from_slice(&lo.flags().to_le_bytes());
    let (bytes, packets) = lo.counters();
    // rtnl_link_stats64: rx_packets, tx_packets, rx_bytes, tx_bytes, then
    // errors and drops (0).
    let mut s64 = vec![0u8; 24 * 8];
    s64[0..8].copy_from_slice(&packets.to_le_bytes());
    s64[8..16].copy_from_slice(&packets.to_le_bytes());
    s64[16..24].copy_from_slice(&bytes.to_le_bytes());
    s64[24..32].copy_from_slice(&bytes.to_le_bytes());
    let mut s32 = vec![0u8; 24 * 4];
    for i in 0..4 {
        let v = u64::from_le_bytes(s64[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
        s32[i * 4..i * 4 + 4].copy_from_slice(&(v as u32).to_le_bytes());
    }
    let mut name = LO_NAME.to_vec();
    name.push(0);
    Msg::new(RTM_NEWLINK, flags, seq, pid)
        .raw(&ifi)
        .attr(IFLA_IFNAME, &name)
        .u32(IFLA_TXQLEN, LO_TXQLEN)
        .u8(IFLA_OPERSTATE, if up { OPER_UNKNOWN } else { OPER_DOWN })
        .u8(IFLA_LINKMODE, 0)
        .u32(IFLA_MTU, mtu)
        .u32(IFLA_MIN_MTU, 0)
        .u32(IFLA_MAX_MTU, 0)
        .u32(IFLA_GROUP, 0)
        .u32(IFLA_PROMISCUITY, 0)
        .u32(IFLA_NUM_TX_QUEUES, 1)
        .u32(IFLA_GSO_MAX_SEGS, 65535)
        .u32(IFLA_GSO_MAX_SIZE, 65536)
        .u32(IFLA_NUM_RX_QUEUES, 1)
        .u8(IFLA_CARRIER, 1)
        .attr(IFLA_QDISC, b"noqueue\0")
        .u32(IFLA_CARRIER_CHANGES, 0)
        .u8(IFLA_PROTO_DOWN, 0)
        .attr(IFLA_MAP, &[0u8; 32])
        .attr(IFLA_ADDRESS, &[0u8; 6])
        .attr(IFLA_BROADCAST, &[0u8; 6])
        .attr(IFLA_STATS64, &s64)
        .attr(IFLA_STATS, &s32)
        .done()
}

/// `RTM_NEWADDR` for one address of `lo`.
fn addr_msg(a: IfAddr, seq: u32, pid: u32, flags: u16) -> Vec<u8> {
    addr_msg_on(a, LO_INDEX, "lo", RT_SCOPE_HOST, None, seq, pid, flags)
}

/// `RTM_NEWADDR` for an address of interface `index` named `label`.
#[allow(clippy::too_many_arguments)]
fn addr_msg_on(
    a: IfAddr,
    index: i32,
    label: &str,
    scope: u8,
    broadcast: Option<IpAddr>,
    seq: u32,
    pid: u32,
    flags: u16,
) -> Vec<u8> {
    let mut ifa = [0u8; 8];
    ifa[0] = family_of(a.ip);
    ifa[1] = a.prefix;
    ifa[2] = IFA_F_PERMANENT as u8;
    ifa[3] = scope;
    ifa[4..8].copy_from_slice(&(index as u32).to_le_bytes());
    let mut cache = [0u8; 16];
    cache[..8].fill(0xff);
    let ip = ip_bytes(a.ip);
    let m = Msg::new(RTM_NEWADDR, flags, seq, pid)
        .raw(&ifa)
        .attr(IFA_ADDRESS, &ip);
    let m = if a.ip.is_ipv4() {
        let mut l = label.as_bytes().to_vec();
        l.push(0);
        let m = m.attr(IFA_LOCAL, &ip);
        let m = match broadcast {
            Some(b) => m.attr(IFA_BROADCAST, &ip_bytes(b)),
            None => m,
        };
        m.attr(IFA_LABEL, &l)
    } else {
        m
    };
    m.u32(IFA_FLAGS, IFA_F_PERMANENT)
        .attr(IFA_CACHEINFO, &cache)
        .done()
}

/// `RTM_NEWLINK` for the sandbox's link (`--network=sandbox`).
fn link_msg_eth(l: &LinkInfo, seq: u32, pid: u32, flags: u16) -> Vec<u8> {
    const ARPHRD_ETHER: u16 = 1;
    const IFF_BROADCAST: u32 = 0x2;
    const IFF_MULTICAST: u32 = 0x1000;
    const OPER_UP: u8 = 6;
    let mut ifi = [0u8; 16];
    ifi[2..4].copy_from_slice(&ARPHRD_ETHER.to_le_bytes());
    ifi[4..8].copy_from_slice(&LINK_INDEX.to_le_bytes());
    let f = crate::ifaces::IFF_UP
        | IFF_BROADCAST
        | crate::ifaces::IFF_RUNNING
        | IFF_MULTICAST
        | crate::ifaces::IFF_LOWER_UP;
    ifi[8..12].copy_from_slice(&f.to_le_bytes());
    let mut s64 = vec![0u8; 24 * 8];
    s64[0..8].copy_from_slice(&l.rx.1.to_le_bytes());
    s64[8..16].copy_from_slice(&l.tx.1.to_le_bytes());
    s64[16..24].copy_from_slice(&l.rx.0.to_le_bytes());
    s64[24..32].copy_from_slice(&l.tx.0.to_le_bytes());
    let mut s32 = vec![0u8; 24 * 4];
    for i in 0..4 {
        let v = u64::from_le_bytes(s64[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
        s32[i * 4..i * 4 + 4].copy_from_slice(&(v as u32).to_le_bytes());
    }
    let mut name = l.name.as_bytes().to_vec();
    name.push(0);
    Msg::new(RTM_NEWLINK, flags, seq, pid)
        .raw(&ifi)
        .attr(IFLA_IFNAME, &name)
        .u32(IFLA_TXQLEN, LO_TXQLEN)
        .u8(IFLA_OPERSTATE, OPER_UP)
        .u8(IFLA_LINKMODE, 0)
        .u32(IFLA_MTU, l.mtu)
        .u32(IFLA_GROUP, 0)
        .u32(IFLA_PROMISCUITY, 0)
        .u32(IFLA_NUM_TX_QUEUES, 1)
        .u32(IFLA_NUM_RX_QUEUES, 1)
        .u8(IFLA_CARRIER, 1)
        .attr(IFLA_QDISC, b"noqueue\0")
        .attr(IFLA_ADDRESS, &l.mac)
        .attr(IFLA_BROADCAST, &[0xff; 6])
        .attr(IFLA_STATS64, &s64)
        .attr(IFLA_STATS, &s32)
        .done()
}

/// The link's address as `RTM_NEWADDR`.
fn link_addr_msg(l: &LinkInfo, seq: u32, pid: u32, flags: u16) -> Vec<u8> {
    let a = IfAddr {
        ip: IpAddr::V4(l.addr),
        prefix: l.prefix,
    };
    let mask = u32::MAX.checked_shl(32 - l.prefix as u32).unwrap_or(0);
    let bcast = IpAddr::V4(Ipv4Addr::from(u32::from(l.addr) | !mask));
    let scope = RT_SCOPE_UNIVERSE;
    addr_msg_on(a, LINK_INDEX, &l.name, scope, Some(bcast), seq, pid, flags)
}

/// The link's IPv6 address as `RTM_NEWADDR`, if it has one.
fn link_addr6_msg(l: &LinkInfo, seq: u32, pid: u32, flags: u16) -> Vec<u8> {
    let Some((ip, prefix)) = l.addr6 else {
        return Vec::new();
    };
    let a = IfAddr {
        ip: IpAddr::V6(ip),
        prefix,
    };
    addr_msg_on(
        a,
        LINK_INDEX,
        &l.name,
        RT_SCOPE_UNIVERSE,
        None,
        seq,
        pid,
        flags,
    )
}

/// Whether `dst` is in the link's subnet of its family.
fn on_link(l: &LinkInfo, dst: IpAddr) -> bool {
    match dst {
        IpAddr::V4(v4) => {
            let mask = u32::MAX.checked_shl(32 - l.prefix as u32).unwrap_or(0);
            u32::from(v4) & mask == u32::from(l.addr) & mask
        }
        IpAddr::V6(v6) => l.addr6.is_some_and(|(me, prefix)| {
            let mask = u128::MAX.checked_shl(128 - prefix as u32).unwrap_or(0);
            u128::from(v6) & mask == u128::from(me) & mask
        }),
    }
}

/// The link's routes: the default route through its gateway and its
/// subnet in the main table, its address and broadcast in the local one.
fn link_routes(stack: &Stack) -> Vec<Route> {
    let Some(l) = stack.link() else {
        return Vec::new();
    };
    let mask = u32::MAX.checked_shl(32 - l.prefix as u32).unwrap_or(0);
    let net = Ipv4Addr::from(u32::from(l.addr) & mask);
    let bcast = Ipv4Addr::from(u32::from(l.addr) | !mask);
    let me = IpAddr::V4(l.addr);
    let route = |dst: Ipv4Addr, len, table, scope, ty, proto| Route {
        family: AF_INET as u8,
        dst: IpAddr::V4(dst),
        dst_len: len,
        table,
        scope,
        ty,
        prefsrc: (len > 0).then_some(me),
        priority: None,
        oif: LINK_INDEX,
        gateway: None,
        proto,
    };
    let mut v = Vec::new();
    if let Some(gw) = l.gateway {
        let mut r = route(
            Ipv4Addr::UNSPECIFIED,
            0,
            RT_TABLE_MAIN,
            RT_SCOPE_UNIVERSE,
            RTN_UNICAST,
            RTPROT_BOOT,
        );
        r.gateway = Some(IpAddr::V4(gw));
        v.push(r);
    }
    let (main, local) = (RT_TABLE_MAIN, RT_TABLE_LOCAL);
    let (link, host) = (RT_SCOPE_LINK, RT_SCOPE_HOST);
    v.push(route(net, l.prefix, main, link, RTN_UNICAST, RTPROT_KERNEL));
    v.push(route(l.addr, 32, local, host, RTN_LOCAL, RTPROT_KERNEL));
    if l.prefix < 31 {
        v.push(route(bcast, 32, local, link, RTN_BROADCAST, RTPROT_KERNEL));
    }
    // IPv6: the subnet and the default route in the main table (metrics
    // 256 and 1024, as Linux gives them), the address in the local one.
    if let Some((me, prefix)) = l.addr6 {
        let mask = u128::MAX.checked_shl(128 - prefix as u32).unwrap_or(0);
        let route6 = |dst: Ipv6Addr, len, table, ty, proto, priority| Route {
            family: AF_INET6 as u8,
            dst: IpAddr::V6(dst),
            dst_len: len,
            table,
            scope: RT_SCOPE_UNIVERSE,
            ty,
            prefsrc: None,
            priority: Some(priority),
            oif: LINK_INDEX,
            gateway: None,
            proto,
        };
        let net6 = Ipv6Addr::from(u128::from(me) & mask);
        v.push(route6(net6, prefix, main, RTN_UNICAST, RTPROT_KERNEL, 256));
        if let Some(gw) = l.gateway6 {
            let mut r = route6(
                Ipv6Addr::UNSPECIFIED,
                0,
                main,
                RTN_UNICAST,
                RTPROT_BOOT,
                1024,
            );
            r.gateway = Some(IpAddr::V6(gw));
            v.push(r);
        }
        v.push(route6(me, 128, local, RTN_LOCAL, RTPROT_KERNEL, 0));
    }
    v
}

/// A route of the sandbox's tables.
struct Route {
    family: u8,
    dst: IpAddr,
    dst_len: u8,
    table: u8,
    scope: u8,
    ty: u8,
    prefsrc: Option<IpAddr>,
    priority: Option<u32>,
    oif: i32,
    gateway: Option<IpAddr>,
    proto: u8,
}

fn routes(stack: &Stack) -> Vec<Route> {
    let mut v = link_routes(stack);
    let lo = &stack.lo;
    let st = lo.state();
    if !st.up {
        return v;
    }
    for a in &st.addrs {
        match a.ip {
            IpAddr::V4(v4) => {
                let mask = u32::MAX.checked_shl(32 - a.prefix as u32).unwrap_or(0);
                let net = Ipv4Addr::from(u32::from(v4) & mask);
                let bcast = Ipv4Addr::from(u32::from(v4) | !mask);
                let local = |dst: Ipv4Addr, len, ty, scope| Route {
                    family: AF_INET as u8,
                    dst: IpAddr::V4(dst),
                    dst_len: len,
                    table: RT_TABLE_LOCAL,
                    scope,
                    ty,
                    prefsrc: Some(a.ip),
                    priority: None,
                    oif: LO_INDEX,
                    gateway: None,
                    proto: RTPROT_KERNEL,
                };
                if a.prefix < 32 {
                    v.push(local(net, a.prefix, RTN_LOCAL, RT_SCOPE_HOST));
                }
                v.push(local(v4, 32, RTN_LOCAL, RT_SCOPE_HOST));
                if a.prefix < 31 {
                    v.push(local(bcast, 32, RTN_BROADCAST, RT_SCOPE_LINK));
                }
            }
            IpAddr::V6(_) => {
                // Linux 6.x keeps no main-table prefix route for a /128.
                if a.prefix < 128 {
                    v.push(Route {
                        family: AF_INET6 as u8,
                        dst: a.ip,
                        dst_len: a.prefix,
                        table: RT_TABLE_MAIN,
                        scope: RT_SCOPE_UNIVERSE,
                        ty: RTN_UNICAST,
                        prefsrc: None,
                        priority: Some(256),
                        oif: LO_INDEX,
                        gateway: None,
                        proto: RTPROT_KERNEL,
                    });
                }
                v.push(Route {
                    family: AF_INET6 as u8,
                    dst: a.ip,
                    dst_len: 128,
                    table: RT_TABLE_LOCAL,
                    scope: RT_SCOPE_UNIVERSE,
                    ty: RTN_LOCAL,
                    prefsrc: None,
                    priority: Some(0),
                    oif: LO_INDEX,
                    gateway: None,
                    proto: RTPROT_KERNEL,
                });
            }
        }
    }
    v
}

fn route_msg(r: &Route, seq: u32, pid: u32, flags: u16) -> Vec<u8> {
    let rtm = [
        r.family, r.dst_len, 0, 0, r.table, r.proto, r.scope, r.ty, 0, 0, 0, 0,
    ];
    let mut m = Msg::new(RTM_NEWROUTE, flags, seq, pid)
        .raw(&rtm)
        .u32(RTA_TABLE, r.table as u32);
    if r.dst_len > 0 {
        m = m.attr(RTA_DST, &ip_bytes(r.dst));
    }
    if let Some(p) = r.priority {
        m = m.u32(RTA_PRIORITY, p);
    }
    if let Some(s) = r.prefsrc {
        m = m.attr(RTA_PREFSRC, &ip_bytes(s));
    }
    if let Some(g) = r.gateway {
        m = m.attr(RTA_GATEWAY, &ip_bytes(g));
    }
    m = m.u32(RTA_OIF, r.oif as u32);
    if r.family == AF_INET6 as u8 {
        m = m.u8(RTA_PREF, 0);
    }
    m.done()
}

/// Attributes of a request after its fixed part of `fixed` bytes.
fn attrs(body: &[u8], fixed: usize) -> Vec<(u16, &[u8])> {
    let mut v = Vec::new();
    let mut off = fixed;
    while off + 4 <= body.len() {
        let len = u16::from_le_bytes([body[off], body[off + 1]]) as usize;
        let ty = u16::from_le_bytes([body[off + 2], body[off + 3]]) & 0x3fff;
        if len < 4 || off + len > body.len() {
            break;
        }
        v.push((ty, &body[off + 4..off + len]));
        off += len.next_multiple_of(4);
    }
    v
}

fn ip_from(family: u8, b: &[u8]) -> Option<IpAddr> {
    match (family as i32, b.len()) {
        (AF_INET, 4) => Some(IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))),
        (AF_INET6, 16) => {
            let mut a = [0u8; 16];
            a.copy_from_slice(b);
            Some(IpAddr::V6(Ipv6Addr::from(a)))
        }
        _ => None,
    }
}

/// The interface a link request names: its index and `IFLA_IFNAME`
/// (`None` for a request too short).
fn link_named(body: &[u8]) -> Option<(i32, Option<Vec<u8>>)> {
    if body.len() < 16 {
        return None;
    }
    let index = i32::from_le_bytes([body[4], body[5], body[6], body[7]]);
    let name = attrs(body, 16)
        .into_iter()
        .find(|(t, _)| *t == IFLA_IFNAME)
        .map(|(_, d)| d.split(|&b| b == 0).next().unwrap_or(&[]).to_vec());
    Some((index, name))
}

/// Whether a link request names `lo` (by index or `IFLA_IFNAME`).
fn names_lo(body: &[u8]) -> SysResult<()> {
    let (index, name) = link_named(body).ok_or(Errno::EINVAL)?;
    match (index, name) {
        (LO_INDEX, _) => Ok(()),
        (0, Some(n)) if n == LO_NAME => Ok(()),
        _ => Err(Errno::ENODEV),
    }
}

/// The sandbox's link, if a link request names it (by index or
/// `IFLA_IFNAME`).
fn names_link(stack: &Stack, body: &[u8]) -> Option<LinkInfo> {
    let l = stack.link()?;
    let (index, name) = link_named(body)?;
    match (index, name) {
        (LINK_INDEX, _) => Some(l),
        (0, Some(n)) if n == l.name.as_bytes() => Some(l),
        _ => None,
    }
}

/// A route netlink socket.
pub struct NetlinkSocket {
    /// The network it describes and changes.
    stack: Arc<Stack>,
    ino: u64,
    owner: vfs::unix::Cred,
    queue: Queue,
    inner: Mutex<Inner>,
}

struct Inner {
    portid: u32,
    groups: u32,
    rx: VecDeque<Vec<u8>>,
    rx_bytes: usize,
    rcvbuf: usize,
    sndbuf: usize,
    /// `SOL_NETLINK` on/off options by number (`NETLINK_CAP_ACK`,
    /// `NETLINK_EXT_ACK`, `NETLINK_GET_STRICT_CHK`, ...).
    flags: u32,
    /// An error to report on the next receive (`ENOBUFS` after an
    /// overrun).
    err: Option<Errno>,
}

pub const NETLINK_CAP_ACK: i32 = 10;

impl NetlinkSocket {
    pub fn new(stack: Arc<Stack>, owner: vfs::unix::Cred) -> Arc<NetlinkSocket> {
        Arc::new(NetlinkSocket {
            stack,
            ino: vfs::inode::next_ino(),
            owner,
            queue: Queue::new(),
            inner: Mutex::new(Inner {
                portid: 0,
                groups: 0,
                rx: VecDeque::new(),
                rx_bytes: 0,
                rcvbuf: RCVBUF,
                sndbuf: RCVBUF,
                flags: 0,
                err: None,
            }),
        })
    }

    pub fn ino(&self) -> u64 {
        self.ino
    }

    pub fn queue(&self) -> &Queue {
        &self.queue
    }

    /// Gives the socket a port id: `pid` (the process's id) if free, else
    /// a negative one (`netlink_autobind`).
    fn autobind(&self, inner: &mut Inner, pid: i32) {
        if inner.portid != 0 {
            return;
        }
        let mut ids = lock(&PORTIDS);
        let id = if pid > 0 && !ids.contains(&(pid as u32)) {
            pid as u32
        } else {
            loop {
                let id = NEXT_PORTID.fetch_sub(1, Ordering::Relaxed);
                if !ids.contains(&id) {
                    break id;
                }
            }
        };
        ids.push(id);
        inner.portid = id;
    }

    /// `bind(2)`: `sockaddr_nl` (`EINVAL` if short or not `AF_NETLINK`).
    pub fn bind(&self, addr: &[u8], pid: i32) -> SysResult<()> {
        if addr.len() < 12 || u16::from_le_bytes([addr[0], addr[1]]) as i32 != AF_NETLINK {
            return Err(Errno::EINVAL);
        }
        let want = u32::from_le_bytes([addr[4], addr[5], addr[6], addr[7]]);
        let groups = u32::from_le_bytes([addr[8], addr[9], addr[10], addr[11]]);
        let mut inner = lock(&self.inner);
        if want != 0 {
            if inner.portid != 0 && inner.portid != want {
                return Err(Errno::EINVAL);
            }
            if inner.portid == 0 {
                let mut ids = lock(&PORTIDS);
                if ids.contains(&want) {
                    return Err(Errno::EADDRINUSE);
                }
                ids.push(want);
                inner.portid = want;
            }
        } else {
            self.autobind(&mut inner, pid);
        }
        inner.groups = groups;
        Ok(())
    }

    /// The `sockaddr_nl` of this socket (`getsockname`).
    pub fn name(&self) -> Vec<u8> {
        let inner = lock(&self.inner);
        sockaddr_nl(inner.portid, inner.groups)
    }

    /// Handles the requests in `data` (sent by process `pid`) and queues
    /// the replies. Returns the bytes taken.
    pub fn send(&self, data: &[u8], pid: i32) -> SysResult<usize> {
        let mut replies: Vec<Vec<u8>> = Vec::new();
        let portid = {
            let mut inner = lock(&self.inner);
            self.autobind(&mut inner, pid);
            if data.len() > inner.sndbuf {
                return Err(Errno::EMSGSIZE);
            }
            inner.portid
        };
        let cap_ack = lock(&self.inner).flags & (1 << NETLINK_CAP_ACK) != 0;
        let mut off = 0;
        while off + NLMSG_HDRLEN <= data.len() {
            let h = &data[off..];
            let len = u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize;
            if len < NLMSG_HDRLEN || off + len > data.len() {
                break;
            }
            let ty = u16::from_le_bytes([h[4], h[5]]);
            let flags = u16::from_le_bytes([h[6], h[7]]);
            let seq = u32::from_le_bytes([h[8], h[9], h[10], h[11]]);
            let msg = &h[..len];
            let body = &msg[NLMSG_HDRLEN..];
            if flags & NLM_F_REQUEST != 0 {
                let r = handle(&self.stack, ty, flags, seq, portid, body, &mut replies);
                if r.is_err() || flags & NLM_F_ACK != 0 {
                    let code = r.err().map_or(0, |e| -e.0);
                    // The error carries the request (its header only for
                    // an ack or with NETLINK_CAP_ACK).
                    let echo = if code == 0 || cap_ack {
                        &msg[..NLMSG_HDRLEN]
                    } else {
                        msg
                    };
                    let capped = if code == 0 || cap_ack { 0x100 } else { 0 };
                    replies.push(
                        Msg::new(NLMSG_ERROR, capped, seq, portid)
                            .raw(&code.to_le_bytes())
                            .raw(echo)
                            .done(),
                    );
                }
            }
            off += len.next_multiple_of(4);
        }
        if !replies.is_empty() {
            let mut inner = lock(&self.inner);
            for r in replies {
                if inner.rx_bytes + r.len() > inner.rcvbuf.max(r.len()) * 2 {
                    inner.err = Some(Errno::ENOBUFS);
                    break;
                }
                inner.rx_bytes += r.len();
                inner.rx.push_back(r);
            }
            drop(inner);
            self.queue.notify(events::IN | events::RDNORM);
        }
        Ok(data.len())
    }

    /// Takes (or with `peek` copies) the next datagram into `buf`: returns
    /// (bytes copied, datagram length). `EAGAIN` when empty.
    pub fn recv(&self, buf: &mut [u8], peek: bool) -> SysResult<(usize, usize)> {
        let mut inner = lock(&self.inner);
        if let Some(e) = inner.err.take() {
            return Err(e);
        }
        let Some(d) = inner.rx.front() else {
            return Err(Errno::EAGAIN);
        };
        let n = buf.len().min(d.len());
        buf[..n].copy_from_slice(&d[..n]);
        let total = d.len();
        if !peek {
            inner.rx.pop_front();
            inner.rx_bytes -= total;
        }
        Ok((n, total))
    }

    pub fn readiness(&self) -> u32 {
        let inner = lock(&self.inner);
        let mut r = events::OUT | events::WRNORM;
        if !inner.rx.is_empty() {
            r |= events::IN | events::RDNORM;
        }
        if inner.err.is_some() {
            r |= events::ERR;
        }
        r
    }

    pub fn inq(&self) -> usize {
        lock(&self.inner).rx.front().map_or(0, |d| d.len())
    }

    pub fn sndbuf(&self) -> usize {
        lock(&self.inner).sndbuf
    }

    pub fn rcvbuf(&self) -> usize {
        lock(&self.inner).rcvbuf
    }

    pub fn set_sndbuf(&self, v: u32) {
        lock(&self.inner).sndbuf = (v as usize).min(vfs::unix::BUF_MAX) * 2;
    }

    pub fn set_rcvbuf(&self, v: u32) {
        lock(&self.inner).rcvbuf = (v as usize).min(vfs::unix::BUF_MAX) * 2;
    }

    /// A `SOL_NETLINK` on/off option.
    pub fn flag(&self, opt: i32) -> bool {
        lock(&self.inner).flags & (1u32 << (opt & 31)) != 0
    }

    pub fn set_flag(&self, opt: i32, on: bool) {
        let mut inner = lock(&self.inner);
        let bit = 1u32 << (opt & 31);
        inner.flags = if on {
            inner.flags | bit
        } else {
            inner.flags & !bit
        };
    }

    /// `NETLINK_ADD_MEMBERSHIP`/`DROP_MEMBERSHIP` for groups 1..=32.
    pub fn set_group(&self, group: u32, on: bool) -> SysResult<()> {
        if group == 0 || group > 32 {
            return Err(Errno::EINVAL);
        }
        let mut inner = lock(&self.inner);
        let bit = 1u32 << (group - 1);
        inner.groups = if on {
            inner.groups | bit
        } else {
            inner.groups & !bit
        };
        Ok(())
    }
}

impl Drop for NetlinkSocket {
    fn drop(&mut self) {
        let id = self.inner.get_mut().map(|i| i.portid).unwrap_or(0);
        if id != 0 {
            lock(&PORTIDS).retain(|&p| p != id);
        }
    }
}

/// A `sockaddr_nl`.
pub fn sockaddr_nl(pid: u32, groups: u32) -> Vec<u8> {
    let mut v = vec![0u8; 12];
    v[..2].copy_from_slice(&(AF_NETLINK as u16).to_le_bytes());
    v[4..8].copy_from_slice(&pid.to_le_bytes());
    v[8..12].copy_from_slice(&groups.to_le_bytes());
    v
}

fn done_msg(seq: u32, pid: u32) -> Vec<u8> {
    Msg::new(NLMSG_DONE, NLM_F_MULTI, seq, pid)
        .raw(&0i32.to_le_bytes())
        .done()
}

/// Serves one request, pushing its replies (a dump is one datagram of
/// messages, then `NLMSG_DONE`).
fn handle(
    stack: &Stack,
    ty: u16,
    flags: u16,
    seq: u32,
    pid: u32,
    body: &[u8],
    out: &mut Vec<Vec<u8>>,
) -> SysResult<()> {
    let lo = &stack.lo;
    let dump = flags & NLM_F_DUMP == NLM_F_DUMP;
    let family = body.first().copied().unwrap_or(0) as i32;
    match ty {
        NLMSG_NOOP => Ok(()),
        RTM_GETLINK if dump => {
            // Every family without a link dump of its own falls back to
            // the generic one (`ip -4 addr` asks with AF_INET); bridges
            // list their ports (none here).
            if family != libc::AF_BRIDGE {
                out.push(link_msg(stack, seq, pid, NLM_F_MULTI));
                if let Some(l) = stack.link() {
                    out.push(link_msg_eth(&l, seq, pid, NLM_F_MULTI));
                }
            }
            out.push(done_msg(seq, pid));
            Ok(())
        }
        RTM_GETLINK => {
            if let Some(l) = names_link(stack, body) {
                out.push(link_msg_eth(&l, seq, pid, 0));
                return Ok(());
            }
            names_lo(body)?;
            out.push(link_msg(stack, seq, pid, 0));
            Ok(())
        }
        RTM_NEWLINK | RTM_SETLINK => {
            if names_link(stack, body).is_some() {
                // The stack owns the link as it was taken over.
                return Err(Errno::EPERM);
            }
            names_lo(body)?;
            let ifi_flags = u32::from_le_bytes([body[8], body[9], body[10], body[11]]);
            let change = u32::from_le_bytes([body[12], body[13], body[14], body[15]]);
            // A change mask of 0 means every flag (the older ABI).
            if change & crate::ifaces::IFF_UP != 0 || change == 0 {
                lo.set_up(ifi_flags & crate::ifaces::IFF_UP != 0);
            }
            for (t, d) in attrs(body, 16) {
                if t == IFLA_MTU && d.len() == 4 {
                    let mtu = u32::from_le_bytes([d[0], d[1], d[2], d[3]]);
                    if mtu < 68 {
                        return Err(Errno::EINVAL);
                    }
                    lo.state().mtu = mtu;
                }
            }
            Ok(())
        }
        RTM_DELLINK => {
            names_lo(body)?;
            Err(Errno::EOPNOTSUPP)
        }
        RTM_GETADDR if dump => {
            let addrs = lo.state().addrs.clone();
            let mut batch = Vec::new();
            for a in addrs {
                if family == AF_UNSPEC || family == family_of(a.ip) as i32 {
                    batch.extend(addr_msg(a, seq, pid, NLM_F_MULTI));
                }
            }
            if let Some(l) = stack.link() {
                if family == AF_UNSPEC || family == AF_INET {
                    batch.extend(link_addr_msg(&l, seq, pid, NLM_F_MULTI));
                }
                if family == AF_UNSPEC || family == AF_INET6 {
                    batch.extend(link_addr6_msg(&l, seq, pid, NLM_F_MULTI));
                }
            }
            if !batch.is_empty() {
                out.push(batch);
            }
            out.push(done_msg(seq, pid));
            Ok(())
        }
        RTM_NEWADDR | RTM_DELADDR => {
            if body.len() < 8 {
                return Err(Errno::EINVAL);
            }
            let (fam, prefix) = (body[0], body[1]);
            let index = u32::from_le_bytes([body[4], body[5], body[6], body[7]]) as i32;
            let at = attrs(body, 8);
            let ip = at
                .iter()
                .find(|(t, _)| *t == IFA_LOCAL)
                .or_else(|| at.iter().find(|(t, _)| *t == IFA_ADDRESS))
                .and_then(|(_, d)| ip_from(fam, d));
            if index == LINK_INDEX && stack.link().is_some() {
                return Err(Errno::EPERM);
            }
            if index != LO_INDEX {
                return Err(Errno::ENODEV);
            }
            let Some(ip) = ip else {
                return Err(Errno::EINVAL);
            };
            let max = if ip.is_ipv4() { 32 } else { 128 };
            if prefix > max {
                return Err(Errno::EINVAL);
            }
            if ty == RTM_NEWADDR {
                lo.add_addr(IfAddr { ip, prefix }, flags & NLM_F_EXCL != 0)
            } else {
                lo.del_addr(ip)
            }
        }
        RTM_GETROUTE if dump => {
            let mut batch = Vec::new();
            for r in routes(stack) {
                if family == AF_UNSPEC || family == r.family as i32 {
                    batch.extend(route_msg(&r, seq, pid, NLM_F_MULTI));
                }
            }
            if !batch.is_empty() {
                out.push(batch);
            }
            out.push(done_msg(seq, pid));
            Ok(())
        }
        RTM_GETROUTE => {
            // `ip route get ADDR`: the local route that reaches it.
            let fam = body.first().copied().unwrap_or(0);
            let dst = attrs(body, 12)
                .into_iter()
                .find(|(t, _)| *t == RTA_DST)
                .and_then(|(_, d)| ip_from(fam, d))
                .ok_or(Errno::EINVAL)?;
            if let (true, Some(l)) = (stack.via_link(dst), stack.link()) {
                let direct = on_link(&l, dst);
                let (len, src, gw) = match dst {
                    IpAddr::V4(_) => (32, IpAddr::V4(l.addr), l.gateway.map(IpAddr::V4)),
                    IpAddr::V6(_) => (128, stack.source_for(dst), l.gateway6.map(IpAddr::V6)),
                };
                let r = Route {
                    family: fam,
                    dst,
                    dst_len: len,
                    table: RT_TABLE_MAIN,
                    scope: RT_SCOPE_UNIVERSE,
                    ty: RTN_UNICAST,
                    prefsrc: Some(src),
                    priority: None,
                    oif: LINK_INDEX,
                    gateway: gw.filter(|_| !direct),
                    proto: RTPROT_BOOT,
                };
                out.push(route_msg(&r, seq, pid, 0));
                return Ok(());
            }
            if !stack.reachable(dst) {
                return Err(Errno::ENETUNREACH);
            }
            let r = Route {
                family: fam,
                dst,
                dst_len: if dst.is_ipv4() { 32 } else { 128 },
                table: RT_TABLE_LOCAL,
                scope: RT_SCOPE_HOST,
                ty: RTN_LOCAL,
                prefsrc: Some(crate::source_for(dst)),
                priority: None,
                oif: LO_INDEX,
                gateway: None,
                proto: RTPROT_KERNEL,
            };
            out.push(route_msg(&r, seq, pid, 0));
            Ok(())
        }
        _ => Err(Errno::EOPNOTSUPP),
    }
}

// ---------------------------------------------------------------------------
// Socket files
// ---------------------------------------------------------------------------

struct NetlinkFile {
    sock: Arc<NetlinkSocket>,
}

impl FileOps for NetlinkFile {
    fn read(&self, _f: &File, buf: &mut [u8], _off: u64) -> SysResult<usize> {
        self.sock.recv(buf, false).map(|(n, _)| n)
    }

    fn write(&self, _f: &File, buf: &[u8], _off: u64) -> SysResult<usize> {
        self.sock.send(buf, 0)
    }

    fn stat(&self, _f: &File) -> SysResult<Stat> {
        Ok(vfs::unix::socket_stat(self.sock.ino, self.sock.owner))
    }

    fn readiness(&self) -> u32 {
        self.sock.readiness()
    }

    fn queue(&self) -> Option<&Queue> {
        Some(&self.sock.queue)
    }

    fn ioctl(&self, _f: &File, cmd: u32, arg: u64, mm: &mut MemoryManager) -> SysResult<u64> {
        if cmd == crate::inet::FIONREAD {
            mm.write_obj(arg, &(self.sock.inq() as i32))?;
            return Ok(0);
        }
        crate::ifaces::ioctl(&self.sock.stack, cmd, arg, mm)
    }

    fn anon_name(&self) -> Option<Vec<u8>> {
        Some(format!("socket:[{}]", self.sock.ino).into_bytes())
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

pub fn from_file(f: &File) -> Option<Arc<NetlinkSocket>> {
    f.ops
        .as_any()
        .and_then(|x| x.downcast_ref::<NetlinkFile>())
        .map(|s| s.sock.clone())
}

pub fn new_file(sock: Arc<NetlinkSocket>, flags: u32) -> Arc<File> {
    File::new(
        None,
        O_RDWR | (flags & O_NONBLOCK),
        Box::new(NetlinkFile { sock }),
    )
}
