//! `/proc/net`: the tables of the sandbox's network (`tcp`, `tcp6`,
//! `udp`, `udp6`, `dev`, `if_inet6`, `route`), in Linux's formats, so `ss`,
//! `netstat` and `ip` read the sandbox's view.

use std::fmt::Write;
use std::net::{IpAddr, SocketAddr};
use std::sync::OnceLock;

use crate::inet::InetSocket;
use crate::{Proto, Stack, AF_INET, AF_INET6};

/// The files of `/proc/net` this module serves.
pub const FILES: &[&str] = &[
    "dev", "if_inet6", "route", "tcp", "tcp6", "udp", "udp6", "unix",
];

/// An address as `/proc/net/tcp` prints it: the 32-bit words of the
/// address as the host reads them from memory.
fn hex_addr(family: i32, a: SocketAddr) -> String {
    let words = |b: &[u8]| -> String {
        b.chunks(4)
            .map(|w| format!("{:08X}", u32::from_le_bytes([w[0], w[1], w[2], w[3]])))
            .collect()
    };
    let ip = match (family, a.ip()) {
        (AF_INET, IpAddr::V4(v4)) => words(&v4.octets()),
        (AF_INET, IpAddr::V6(v6)) => {
            words(&v6.to_ipv4_mapped().unwrap_or([0, 0, 0, 0].into()).octets())
        }
        (_, IpAddr::V4(v4)) if v4.is_unspecified() => words(&[0u8; 16]),
        (_, IpAddr::V4(v4)) => words(&v4.to_ipv6_mapped().octets()),
        (_, IpAddr::V6(v6)) => words(&v6.octets()),
    };
    format!("{ip}:{:04X}", a.port())
}

fn sockets(stack: &Stack, proto: Proto, family: i32) -> Vec<std::sync::Arc<InetSocket>> {
    stack
        .sockets()
        .into_iter()
        .filter(|s| s.proto == proto && s.family == family && s.has_port())
        .collect()
}

/// `/proc/net/tcp` (`family` `AF_INET`) or `tcp6`.
pub fn tcp(stack: &Stack, family: i32) -> String {
    let mut out = String::new();
    if family == AF_INET {
        let _ = writeln!(out, "{:<149}", "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode");
    } else {
        out.push_str("  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n");
    }
    for (i, s) in sockets(stack, Proto::Tcp, family).iter().enumerate() {
        let (st, tx, rx) = s.proc_state();
        let tail = if st == 0x0A {
            "1 0000000000000000 100 0 0 10 0"
        } else {
            "2 0000000000000000 20 4 30 10 -1"
        };
        let line = format!(
            "{i:4}: {} {} {st:02X} {tx:08X}:{rx:08X} 00:00000000 00000000 {:5} {:8} {} {tail}",
            hex_addr(family, s.local_addr()),
            hex_addr(family, s.proc_peer()),
            s.owner.uid,
            0,
            s.ino(),
        );
        if family == AF_INET {
            let _ = writeln!(out, "{line:<149}");
        } else {
            let _ = writeln!(out, "{line}");
        }
    }
    out
}

/// `/proc/net/udp` or `udp6`.
pub fn udp(stack: &Stack, family: i32) -> String {
    let mut out = String::new();
    if family == AF_INET {
        let _ = writeln!(out, "{:<127}", "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops");
    } else {
        out.push_str("  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n");
    }
    for s in sockets(stack, Proto::Udp, family) {
        let (st, tx, rx) = s.proc_state();
        let local = s.local_addr();
        // Linux numbers UDP lines by the port's hash slot.
        let slot = local.port() as usize % 128;
        let line = format!(
            "{slot:5}: {} {} {st:02X} {tx:08X}:{rx:08X} 00:00000000 00000000 {:5} {:8} {} 2 0000000000000000 0",
            hex_addr(family, local),
            hex_addr(family, s.proc_peer()),
            s.owner.uid,
            0,
            s.ino(),
        );
        if family == AF_INET {
            let _ = writeln!(out, "{line:<127}");
        } else {
            let _ = writeln!(out, "{line}");
        }
    }
    out
}

/// `/proc/net/dev`.
pub fn dev(stack: &Stack) -> String {
    let (bytes, packets) = stack.lo.counters();
    let mut out = String::from(
        "Inter-|   Receive                                                |  Transmit\n \
         face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n",
    );
    let mut line = |name: &str, (rb, rp): (u64, u64), (tb, tp): (u64, u64)| {
        let _ = writeln!(
            out,
            "{name:>6}:{rb:8} {rp:7} {:4} {:4} {:4} {:5} {:10} {:9} {tb:8} {tp:7} {:4} {:4} {:4} {:5} {:7} {:10}",
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
        );
    };
    line("lo", (bytes, packets), (bytes, packets));
    if let Some(l) = stack.link() {
        line(&l.name, l.rx, l.tx);
    }
    out
}

/// `/proc/net/if_inet6`: the IPv6 addresses.
pub fn if_inet6(stack: &Stack) -> String {
    let st = stack.lo.state();
    let mut out = String::new();
    for a in &st.addrs {
        if let IpAddr::V6(v6) = a.ip {
            let hex: String = v6.octets().iter().map(|b| format!("{b:02x}")).collect();
            // Scope 0x10 is host; flags 0x80 permanent.
            let _ = writeln!(
                out,
                "{hex} {:02x} {:02x} 10 80 {:>8}",
                crate::ifaces::LO_INDEX,
                a.prefix,
                "lo"
            );
        }
    }
    // The link's: global scope (0x00).
    if let Some(((ip, prefix), name)) = stack.link().and_then(|l| Some((l.addr6?, l.name))) {
        let hex: String = ip.octets().iter().map(|b| format!("{b:02x}")).collect();
        let index = crate::netstack::LINK_INDEX;
        let _ = writeln!(out, "{hex} {index:02x} {prefix:02x} 00 80 {name:>8}");
    }
    out
}

/// `/proc/net/route`: the IPv4 main table: the link's default route and
/// its subnet (a loopback-only sandbox has none: `lo`'s routes are in the
/// local table).
pub fn route(stack: &Stack) -> String {
    let mut out = format!(
        "{:<127}\n",
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT"
    );
    let Some(l) = stack.link() else {
        return out;
    };
    // Addresses in the kernel's byte order, printed as one hex word.
    let hex = |a: std::net::Ipv4Addr| format!("{:08X}", u32::from_le_bytes(a.octets()));
    let mask = std::net::Ipv4Addr::from(u32::MAX.checked_shl(32 - l.prefix as u32).unwrap_or(0));
    let net = std::net::Ipv4Addr::from(u32::from(l.addr) & u32::from(mask));
    let any = std::net::Ipv4Addr::UNSPECIFIED;
    let mut line = |dst, gw, flags: u32, mask| {
        let text = format!(
            "{}\t{}\t{}\t{flags:04X}\t0\t0\t0\t{}\t0\t0\t0",
            l.name,
            hex(dst),
            hex(gw),
            hex(mask)
        );
        let _ = writeln!(out, "{text:<127}");
    };
    // RTF_UP 1, RTF_GATEWAY 2.
    if let Some(gw) = l.gateway {
        line(any, gw, 3, any);
    }
    line(net, any, 1, mask);
    out
}

/// The contents of `/proc/net/NAME` for `stack`.
pub fn file(stack: &Stack, name: &str) -> Option<String> {
    if crate::mode() == crate::Mode::Host {
        if let Some(text) = host_file(name) {
            return Some(text);
        }
    }
    Some(match name {
        "tcp" => tcp(stack, AF_INET),
        "tcp6" => tcp(stack, AF_INET6),
        "udp" => udp(stack, AF_INET),
        "udp6" => udp(stack, AF_INET6),
        "dev" => dev(stack),
        "if_inet6" => if_inet6(stack),
        "route" => route(stack),
        "unix" => unix(),
        _ => return None,
    })
}

/// `--network=host`: the host's own tables (of the network namespace
/// `rvisor` was started in), opened by [`open_host_files`] before the
/// sentry gives up the host's tree. `unix` stays the sandbox's.
static HOST_FILES: OnceLock<Vec<(&'static str, std::fs::File)>> = OnceLock::new();

/// Opens the host's `/proc/net` files for `--network=host`.
pub fn open_host_files() {
    HOST_FILES.get_or_init(|| {
        FILES
            .iter()
            .filter(|&&n| n != "unix")
            .filter_map(|&n| {
                let f = std::fs::File::open(format!("/proc/net/{n}")).ok()?;
                Some((n, f))
            })
            .collect()
    });
}

/// The host's `/proc/net/NAME` now (read from its start with `pread`,
/// which the host's sequence files restart for).
fn host_file(name: &str) -> Option<String> {
    use std::os::unix::fs::FileExt;
    let (_, f) = HOST_FILES.get()?.iter().find(|(n, _)| *n == name)?;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        match f.read_at(&mut buf, out.len() as u64) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// `/proc/net/unix`: every unix socket, with its name (abstract names
/// with `@` for their NULs).
pub fn unix() -> String {
    let mut out = String::from("Num       RefCount Protocol Flags    Type St Inode Path\n");
    for s in vfs::unix::all_sockets() {
        let listening = s.listening();
        let _ = write!(
            out,
            "0000000000000000: {:08X} 00000000 {:08X} {:04X} {:02X} {:5}",
            if listening { 2 } else { 3 },
            if listening { 0x10000 } else { 0 },
            s.sock_type(),
            s.proc_state(),
            s.ino(),
        );
        if let Some(name) = s.local_addr() {
            let path = &name[2..];
            let path = if path.first() == Some(&0) {
                path.iter()
                    .map(|&b| if b == 0 { b'@' } else { b })
                    .collect()
            } else {
                path.split(|&b| b == 0).next().unwrap_or(&[]).to_vec()
            };
            out.push(' ');
            out.push_str(&String::from_utf8_lossy(&path));
        }
        out.push('\n');
    }
    out
}
