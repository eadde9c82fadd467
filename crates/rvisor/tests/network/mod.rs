//! The sandbox's network against the host's: `sandbox::network_*`.
//!
//! - `network_host_server`: with `--network=host` a server in the sandbox
//!   listens on a port of the host's loopback and a host client talks to
//!   it.
//! - `network_host_client`: with `--network=host` a client in the sandbox
//!   reaches a host TCP server and a host UDP socket.
//! - `network_none_refuses_host`: with the default `--network=none` a
//!   listener on the host's loopback is refused from inside
//!   (`ECONNREFUSED`: the sandbox's own loopback has nobody on that port)
//!   and never sees a connection.
//! - `network_sandbox_veth`: `--network=sandbox` in a network namespace
//!   the test makes, joined to the host by a veth pair: a client inside
//!   is refused by a closed port of the host's side (through `SO_ERROR`
//!   after a non-blocking connect) and reaches a server on the host's
//!   side, a wildcard listener inside is
//!   reached from its own loopback and from the host's side. The
//!   namespace and the pair go when the test ends, whichever way.
//! - `network_sandbox_udp_ping`: the same setup for UDP and ICMP: an
//!   unconnected and a connected client inside get their datagrams echoed
//!   by the host's side (senders, names and `select` readiness checked),
//!   a wildcard server inside answers the host's side, a ping socket and
//!   `ping -c1` reach the host's side, and `ip addr`, `/proc/net/dev` and
//!   `/proc/net/route` inside show the veth's address and routes; an
//!   IPv6 connect without an IPv6 address is `ENETUNREACH`; the host's
//!   ICMP port unreachable for a datagram to a closed port is
//!   `ECONNREFUSED` for a connected sender and one with `IP_RECVERR`,
//!   nothing for an unconnected one (over IPv6 too).
//! - `network_sandbox_ipv6`: the veth with IPv6 addresses too: a client
//!   inside (Python and `curl -6`) reaches an HTTP server on the host's
//!   side over IPv6, a dual-stack listener inside is reached from the
//!   host's side over IPv6 and IPv4 (v4-mapped peer) and from its own
//!   loopback, UDP over IPv6 both ways (a `v6only` and an IPv4 socket on
//!   one port each get their family's datagram), and `ip -6 addr`,
//!   `ip -6 route` and `/proc/net/if_inet6` show the address and routes.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use libtest_mimic::{Failed, Trial};

use super::{rvisor_bin, truncated, STDERR_LIMIT};

const DEADLINE: Duration = Duration::from_secs(20);

pub fn trials(platforms: &[String], trials: &mut Vec<Trial>) {
    type Case = fn(&str) -> Result<(), Failed>;
    let cases: [(&str, Case); 6] = [
        ("network_host_server", host_server),
        ("network_host_client", host_client),
        ("network_none_refuses_host", none_refuses_host),
        ("network_sandbox_veth", sandbox_veth),
        ("network_sandbox_udp_ping", sandbox_udp_ping),
        ("network_sandbox_ipv6", sandbox_ipv6),
    ];
    for platform in platforms {
        for (name, f) in cases {
            let p = platform.clone();
            trials.push(Trial::test(
                format!("sandbox::{name}::{platform}"),
                move || f(&p),
            ));
        }
    }
}

/// A sandbox started in the background, killed (with its process group)
/// if the test ends before it does.
struct Sandbox {
    child: Option<Child>,
}

impl Sandbox {
    fn start(platform: &str, network: &str, argv: &[&str]) -> Result<Sandbox, Failed> {
        Sandbox::start_in(None, platform, network, argv)
    }

    /// [`Sandbox::start`] in network namespace `netns` (`ip netns exec`).
    fn start_in(
        netns: Option<&str>,
        platform: &str,
        network: &str,
        argv: &[&str],
    ) -> Result<Sandbox, Failed> {
        let mut cmd = match netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(rvisor_bin());
                c
            }
            None => Command::new(rvisor_bin()),
        };
        cmd.args(["do", "--platform", platform])
            .arg(format!("--network={network}"))
            .arg("--")
            .args(argv.iter().map(OsString::from))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start rvisor: {e}"))?;
        Ok(Sandbox { child: Some(child) })
    }

    /// Waits for the sandbox to end (killing it after [`DEADLINE`]):
    /// its exit status (`None` if killed), stdout and stderr.
    fn finish(mut self) -> (Option<i32>, String, String) {
        let Some(mut child) = self.child.take() else {
            return (None, String::new(), String::new());
        };
        let start = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(st)) => break st.code(),
                Ok(None) if start.elapsed() < DEADLINE => thread::sleep(Duration::from_millis(20)),
                _ => {
                    kill_group(&child);
                    let _ = child.wait();
                    break None;
                }
            }
        };
        let mut out = Vec::new();
        let mut err = Vec::new();
        if let Some(mut o) = child.stdout.take() {
            let _ = o.read_to_end(&mut out);
        }
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_end(&mut err);
        }
        (
            status,
            String::from_utf8_lossy(&out).into_owned(),
            truncated(&err, STDERR_LIMIT),
        )
    }
}

fn kill_group(child: &Child) {
    // SAFETY: kill of the process group we made for this child.
    unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            kill_group(&c);
            let _ = c.wait();
        }
    }
}

/// A port of the host's loopback nobody listens on (just now).
fn free_port() -> Result<u16, Failed> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    Ok(l.local_addr().map_err(|e| format!("{e}"))?.port())
}

fn expect(
    what: &str,
    status: Option<i32>,
    out: &str,
    err: &str,
    want_out: &str,
) -> Result<(), Failed> {
    if status == Some(0) && out == want_out {
        return Ok(());
    }
    Err(format!(
        "{what}: expected status 0 and stdout {want_out:?}\nstatus: {status:?}\nstdout: {out:?}\nstderr:\n{err}"
    )
    .into())
}

const SERVER: &str = "import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', int(sys.argv[1])))
s.listen(1)
c, peer = s.accept()
c.sendall(b'hello from the sandbox\\n')
line = c.makefile('rb').readline()
print('got', line.decode().strip(), 'from loopback', peer[0] == '127.0.0.1')
";

fn host_server(platform: &str) -> Result<(), Failed> {
    let port = free_port()?;
    let ps = port.to_string();
    let sb = Sandbox::start(platform, "host", &["python3", "-c", SERVER, &ps])?;
    // The sandbox's server comes up within the deadline.
    let start = Instant::now();
    let conn = loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(c) => break Some(c),
            Err(_) if start.elapsed() < DEADLINE => thread::sleep(Duration::from_millis(50)),
            Err(_) => break None,
        }
    };
    let mut greeting = String::new();
    if let Some(c) = conn {
        let _ = c.set_read_timeout(Some(DEADLINE));
        let mut r = BufReader::new(c.try_clone().map_err(|e| format!("{e}"))?);
        let _ = r.read_line(&mut greeting);
        let _ = (&c).write_all(b"ping\n");
    }
    let (status, out, err) = sb.finish();
    if greeting != "hello from the sandbox\n" {
        return Err(format!(
            "the host client got {greeting:?} from the sandbox's server on port {port}\nsandbox status: {status:?}\nstdout: {out:?}\nstderr:\n{err}"
        )
        .into());
    }
    expect(
        "sandbox server",
        status,
        &out,
        &err,
        "got ping from loopback True\n",
    )
}

const CLIENT: &str = "import socket, sys
c = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=10)
print(c.makefile('rb').readline().decode().strip())
c.sendall(b'hi from the sandbox\\n')
c.close()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(10)
u.sendto(b'udp ping', ('127.0.0.1', int(sys.argv[2])))
d, a = u.recvfrom(100)
print(d.decode(), a[1] == int(sys.argv[2]))
";

fn host_client(platform: &str) -> Result<(), Failed> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    let u = UdpSocket::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    let tport = l.local_addr().map_err(|e| format!("{e}"))?.port();
    let uport = u.local_addr().map_err(|e| format!("{e}"))?.port();
    l.set_nonblocking(true).map_err(|e| format!("{e}"))?;
    // The host's side: one TCP exchange, one UDP echo, each given up
    // after the deadline.
    let host = thread::spawn(move || -> (String, String) {
        let start = Instant::now();
        let mut got = String::new();
        while start.elapsed() < DEADLINE {
            match l.accept() {
                Ok((c, _)) => {
                    let _ = c.set_nonblocking(false);
                    let _ = c.set_read_timeout(Some(DEADLINE));
                    let _ = (&c).write_all(b"hello from the host\n");
                    let _ = BufReader::new(&c).read_line(&mut got);
                    break;
                }
                Err(_) => thread::sleep(Duration::from_millis(20)),
            }
        }
        let _ = u.set_read_timeout(Some(DEADLINE));
        let mut buf = [0u8; 100];
        let mut echoed = String::new();
        if let Ok((n, from)) = u.recv_from(&mut buf) {
            let up = buf[..n].to_ascii_uppercase();
            let _ = u.send_to(&up, from);
            echoed = String::from_utf8_lossy(&buf[..n]).into_owned();
        }
        (got, echoed)
    });
    let (ts, us) = (tport.to_string(), uport.to_string());
    let sb = Sandbox::start(platform, "host", &["python3", "-c", CLIENT, &ts, &us])?;
    let (status, out, err) = sb.finish();
    let (got, echoed) = host.join().map_err(|_| "host thread panicked")?;
    if got != "hi from the sandbox\n" || echoed != "udp ping" {
        return Err(format!(
            "the host got {got:?} over TCP and {echoed:?} over UDP\nsandbox status: {status:?}\nstdout: {out:?}\nstderr:\n{err}"
        )
        .into());
    }
    expect(
        "sandbox client",
        status,
        &out,
        &err,
        "hello from the host\nUDP PING True\n",
    )
}

const CONNECT: &str = "import errno, socket, sys
s = socket.socket()
r = s.connect_ex(('127.0.0.1', int(sys.argv[1])))
print(errno.errorcode.get(r, r))
";

fn none_refuses_host(platform: &str) -> Result<(), Failed> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    let port = l.local_addr().map_err(|e| format!("{e}"))?.port();
    l.set_nonblocking(true).map_err(|e| format!("{e}"))?;
    let ps = port.to_string();
    let sb = Sandbox::start(platform, "none", &["python3", "-c", CONNECT, &ps])?;
    let (status, out, err) = sb.finish();
    if l.accept().is_ok() {
        return Err("the host's listener got a connection from a --network=none sandbox".into());
    }
    expect("connect to the host", status, &out, &err, "ECONNREFUSED\n")
}

/// A network namespace with one end of a veth pair (`10.N.0.2/24`, up,
/// default route via the other end) and the other end on the host
/// (`10.N.0.1/24`, up); deleted on drop.
struct VethNs {
    ns: String,
    host_if: String,
    host_ip: String,
    ns_ip: String,
    /// With [`VethNs::with_ipv6`]: `fd52:7276:N:M::1/64` on the host's
    /// end, `::2/64` inside, default route through the host's end.
    host_ip6: String,
    ns_ip6: String,
}

fn ip(args: &[&str]) -> Result<(), Failed> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run ip: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(())
}

impl VethNs {
    fn new(tag: u32) -> Result<VethNs, Failed> {
        VethNs::make(tag, false)
    }

    fn with_ipv6(tag: u32) -> Result<VethNs, Failed> {
        VethNs::make(tag, true)
    }

    fn make(tag: u32, ipv6: bool) -> Result<VethNs, Failed> {
        let id = std::process::id() % 100_000;
        // A /24 per test run and platform: 10.(200 + tag).(id % 250).0.
        let net = format!("10.{}.{}", 200 + tag, id % 250);
        let v = VethNs {
            ns: format!("rvisor-t{id}-{tag}"),
            host_if: format!("rvh{id}x{tag}"),
            host_ip: format!("{net}.1"),
            ns_ip: format!("{net}.2"),
            host_ip6: String::new(),
            ns_ip6: String::new(),
        };
        let mut v = v;
        let ns_if = format!("rvs{id}x{tag}");
        let host_cidr = format!("{}/24", v.host_ip);
        let ns_cidr = format!("{}/24", v.ns_ip);
        ip(&["netns", "add", &v.ns])?;
        ip(&[
            "link", "add", &v.host_if, "type", "veth", "peer", "name", &ns_if,
        ])?;
        ip(&["link", "set", &ns_if, "netns", &v.ns])?;
        ip(&["addr", "add", &host_cidr, "dev", &v.host_if])?;
        ip(&["link", "set", &v.host_if, "up"])?;
        let n = v.ns.as_str();
        ip(&["-n", n, "addr", "add", &ns_cidr, "dev", &ns_if])?;
        ip(&["-n", n, "link", "set", &ns_if, "up"])?;
        ip(&["-n", n, "link", "set", "lo", "up"])?;
        ip(&["-n", n, "route", "add", "default", "via", &v.host_ip])?;
        if ipv6 {
            // No duplicate address detection: usable at once.
            let net6 = format!("fd52:7276:{tag}:{}", id % 250);
            v.host_ip6 = format!("{net6}::1");
            v.ns_ip6 = format!("{net6}::2");
            let (h6, n6) = (format!("{}/64", v.host_ip6), format!("{}/64", v.ns_ip6));
            ip(&["addr", "add", &h6, "dev", &v.host_if, "nodad"])?;
            ip(&["-n", n, "addr", "add", &n6, "dev", &ns_if, "nodad"])?;
            ip(&["-n", n, "-6", "route", "add", "default", "via", &v.host_ip6])?;
        }
        Ok(v)
    }
}

impl Drop for VethNs {
    fn drop(&mut self) {
        // Deleting the namespace deletes its end of the pair, and so the
        // pair; the host's end is deleted too in case that failed.
        let _ = ip(&["netns", "del", &self.ns]);
        let _ = Command::new("ip")
            .args(["link", "del", &self.host_if])
            .stderr(Stdio::null())
            .status();
    }
}

const VETH: &str = "import socket, sys
host, hport, lport, closed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
# A connect with a timeout is non-blocking + poll + SO_ERROR.
try:
    socket.create_connection((host, closed), timeout=10)
    print('closed port: connected')
except ConnectionRefusedError:
    print('closed port: refused')
c = socket.create_connection((host, hport), timeout=10)
print(c.makefile('rb').readline().decode().strip())
c.sendall(b'hi from the sandbox\\n')
c.close()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', lport))
s.listen(4)
l = socket.create_connection(('127.0.0.1', lport), timeout=10)
a, peer = s.accept()
print('loopback peer', peer[0])
a.close()
l.close()
a, peer = s.accept()
a.sendall(b'hello from inside\\n')
print('outside peer is the host side', peer[0] == host)
a.close()
";

fn sandbox_veth(platform: &str) -> Result<(), Failed> {
    let tag = if platform == "trap" { 1 } else { 2 };
    let v = VethNs::new(tag)?;
    let l = TcpListener::bind((v.host_ip.as_str(), 0)).map_err(|e| format!("bind: {e}"))?;
    let hport = l.local_addr().map_err(|e| format!("{e}"))?.port();
    l.set_nonblocking(true).map_err(|e| format!("{e}"))?;
    let host = thread::spawn(move || -> String {
        let start = Instant::now();
        let mut got = String::new();
        while start.elapsed() < DEADLINE {
            if let Ok((c, _)) = l.accept() {
                let _ = c.set_nonblocking(false);
                let _ = c.set_read_timeout(Some(DEADLINE));
                let _ = (&c).write_all(b"hello from the host side\n");
                let _ = BufReader::new(&c).read_line(&mut got);
                break;
            }
            thread::sleep(Duration::from_millis(20));
        }
        got
    });
    let lport = 8080u16;
    // A port of the host's side nobody listens on (just now).
    let closed = TcpListener::bind((v.host_ip.as_str(), 0))
        .and_then(|c| c.local_addr())
        .map_err(|e| format!("bind: {e}"))?
        .port();
    let (hp, lp, cp) = (hport.to_string(), lport.to_string(), closed.to_string());
    let sb = Sandbox::start_in(
        Some(&v.ns),
        platform,
        "sandbox",
        &["python3", "-c", VETH, &v.host_ip, &hp, &lp, &cp],
    )?;
    // The server inside: reached from the host's side once it listens.
    let start = Instant::now();
    let mut greeting = String::new();
    while start.elapsed() < DEADLINE {
        match TcpStream::connect_timeout(
            &format!("{}:{lport}", v.ns_ip)
                .parse()
                .map_err(|e| format!("{e}"))?,
            Duration::from_secs(2),
        ) {
            Ok(c) => {
                let _ = c.set_read_timeout(Some(DEADLINE));
                let _ = BufReader::new(&c).read_line(&mut greeting);
                break;
            }
            Err(_) => thread::sleep(Duration::from_millis(50)),
        }
    }
    let (status, out, err) = sb.finish();
    let got = host.join().map_err(|_| "host thread panicked")?;
    if got != "hi from the sandbox\n" || greeting != "hello from inside\n" {
        return Err(format!(
            "the host's side got {got:?} from the sandbox's client and {greeting:?} from its server\nsandbox status: {status:?}\nstdout: {out:?}\nstderr:\n{err}"
        )
        .into());
    }
    expect(
        "sandbox over the veth",
        status,
        &out,
        &err,
        "closed port: refused\nhello from the host side\nloopback peer 127.0.0.1\noutside peer is the host side True\n",
    )
}

/// Python defining `unreachable(host, closed)`: UDP datagrams to closed
/// port `closed` of the host's side, whose ICMP port unreachable reaches
/// a connected socket and one with `IP_RECVERR` as `ECONNREFUSED`, and an
/// unconnected one not at all (as on Linux).
const UNREACHABLE: &str = "import socket
def unreachable(host, closed):
    fam = socket.AF_INET6 if ':' in host else socket.AF_INET
    recverr = (socket.IPPROTO_IPV6, 25) if fam == socket.AF_INET6 else (socket.IPPROTO_IP, 11)
    def outcome(s, t):
        s.settimeout(t)
        try:
            s.recv(10)
            return 'answered'
        except ConnectionRefusedError:
            return 'refused'
        except socket.timeout:
            return 'nothing'
    z = socket.socket(fam, socket.SOCK_DGRAM)
    z.connect((host, closed))
    z.send(b'x')
    print('connected to a closed port:', outcome(z, 10), 'then send', z.send(b'y'))
    w = socket.socket(fam, socket.SOCK_DGRAM)
    w.setsockopt(*recverr, 1)
    w.sendto(b'x', (host, closed))
    print('IP_RECVERR unconnected:', outcome(w, 10))
    u = socket.socket(fam, socket.SOCK_DGRAM)
    u.sendto(b'x', (host, closed))
    print('unconnected:', outcome(u, 0.5))
";

/// A UDP port of `ip` nobody has (just now).
fn closed_udp_port(ip: &str) -> Result<String, Failed> {
    let u = UdpSocket::bind((ip, 0)).map_err(|e| format!("bind: {e}"))?;
    Ok(u.local_addr()
        .map_err(|e| format!("{e}"))?
        .port()
        .to_string())
}

const UNREACHABLE_OUT: &str = "connected to a closed port: refused then send 1\n\
    IP_RECVERR unconnected: refused\n\
    unconnected: nothing\n";

const UDP_PING: &str = "import errno, select, socket, struct, subprocess, sys
host, me, eport = sys.argv[1], sys.argv[2], int(sys.argv[3])
# The server first, so the host's side can reach it while the rest runs.
srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
srv.bind(('0.0.0.0', 7000))
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(10)
u.sendto(b'query', (host, eport))
d, a = u.recvfrom(100)
print('unconnected', d.decode(), a == (host, eport), u.getsockname()[0])
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.connect((host, eport))
print('connected name', c.getsockname()[0] == me, c.getpeername() == (host, eport))
c.send(b'again')
r, _, _ = select.select([c], [], [], 10)
print('readable', r == [c], c.recv(100).decode())
r, _, _ = select.select([srv], [], [], 10)
d, a = srv.recvfrom(100)
srv.sendto(d.upper(), a)
print('server got', d.decode(), 'from the host side', a[0] == host)
p = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
p.settimeout(10)
p.sendto(struct.pack('!BBHHH', 8, 0, 0, 0, 7) + b'payload', (host, 0))
d, a = p.recvfrom(100)
print('echo reply', d[0], struct.unpack('!H', d[6:8])[0], d[8:].decode(), a[0] == host)
r = subprocess.run(['ping', '-c1', '-W5', host], capture_output=True, text=True)
print('ping', r.returncode, '1 received' in r.stdout)
out = subprocess.run(['ip', '-4', 'addr'], capture_output=True, text=True).stdout
print('ip addr', ('inet ' + me + '/24') in out)
dev = open('/proc/net/dev').read()
route = open('/proc/net/route').read().splitlines()
print('interfaces', len(dev.splitlines()) - 2, 'routes', len(route) - 1)
s6 = socket.socket(socket.AF_INET6)
print('ipv6 without an address', errno.errorcode[s6.connect_ex(('fd52:7276::1', 80))])
unreachable(host, int(sys.argv[4]))
";

fn sandbox_udp_ping(platform: &str) -> Result<(), Failed> {
    let tag = if platform == "trap" { 3 } else { 4 };
    let v = VethNs::new(tag)?;
    // The host's side: an echo server (upper case) for the clients
    // inside, and a client of the server inside, both bounded.
    let echo = UdpSocket::bind((v.host_ip.as_str(), 0)).map_err(|e| format!("bind: {e}"))?;
    let eport = echo.local_addr().map_err(|e| format!("{e}"))?.port();
    let _ = echo.set_read_timeout(Some(Duration::from_millis(200)));
    let cl = UdpSocket::bind((v.host_ip.as_str(), 0)).map_err(|e| format!("bind: {e}"))?;
    let _ = cl.set_read_timeout(Some(Duration::from_millis(200)));
    let inside = format!("{}:7000", v.ns_ip);
    let host = thread::spawn(move || -> (usize, String) {
        let start = Instant::now();
        let (mut echoed, mut answer) = (0, String::new());
        let mut buf = [0u8; 100];
        while start.elapsed() < DEADLINE && (echoed < 2 || answer.is_empty()) {
            if let Ok((n, from)) = echo.recv_from(&mut buf) {
                let _ = echo.send_to(&buf[..n].to_ascii_uppercase(), from);
                echoed += 1;
            }
            if answer.is_empty() {
                let _ = cl.send_to(b"hello inside", &inside);
                if let Ok(n) = cl.recv(&mut buf) {
                    answer = String::from_utf8_lossy(&buf[..n]).into_owned();
                }
            }
        }
        (echoed, answer)
    });
    let ep = eport.to_string();
    let closed = closed_udp_port(&v.host_ip)?;
    let script = format!("{UNREACHABLE}{UDP_PING}");
    let sb = Sandbox::start_in(
        Some(&v.ns),
        platform,
        "sandbox",
        &["python3", "-c", &script, &v.host_ip, &v.ns_ip, &ep, &closed],
    )?;
    let (status, out, err) = sb.finish();
    let (echoed, answer) = host.join().map_err(|_| "host thread panicked")?;
    if echoed < 2 || answer != "HELLO INSIDE" {
        return Err(format!(
            "the host's side echoed {echoed} datagrams and got {answer:?} from the server inside\nsandbox status: {status:?}\nstdout: {out:?}\nstderr:\n{err}"
        )
        .into());
    }
    let want = "unconnected QUERY True 0.0.0.0\n\
        connected name True True\n\
        readable True AGAIN\n\
        server got hello inside from the host side True\n\
        echo reply 0 7 payload True\n\
        ping 0 True\n\
        ip addr True\n\
        interfaces 2 routes 2\n\
        ipv6 without an address ENETUNREACH\n";
    let want = format!("{want}{UNREACHABLE_OUT}");
    expect("UDP and ICMP over the veth", status, &out, &err, &want)
}

const IPV6: &str = "import errno, socket, subprocess, sys, time
host, me, hport, uport = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
# The servers first, so the host's side can reach them while the rest runs.
srv = socket.socket(socket.AF_INET6)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(('::', 8081))
srv.listen(4)
u4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u4.bind(('0.0.0.0', 7001))
u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
u6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
u6.bind(('::', 7001))
c = socket.create_connection((host, hport), timeout=10)
print('client', c.getsockname()[0] == me, c.getpeername()[:2] == (host, hport))
c.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n')
print(c.makefile('rb').read().split(b'\\r\\n\\r\\n')[1].decode().strip())
c.close()
r = subprocess.run(['curl', '-6', '-s', '-m', '10', 'http://[%s]:%d/' % (host, hport)],
                   capture_output=True, text=True)
print('curl -6', r.returncode, r.stdout.strip())
l = socket.create_connection(('::1', 8081), timeout=10)
a, peer = srv.accept()
print('loopback peer', peer[0])
a.close()
l.close()
peers = set()
for _ in range(2):
    a, peer = srv.accept()
    a.sendall(b'hello from inside\\n')
    peers.add('v4-mapped' if peer[0] == '::ffff:' + sys.argv[5] else 'v6' if peer[0] == host else peer[0])
    a.close()
print('outside peers', sorted(peers))
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
u.settimeout(10)
u.sendto(b'query', (host, uport))
d, a = u.recvfrom(100)
print('udp6', d.decode(), a[:2] == (host, uport), u.getsockname()[0])
u6.settimeout(10)
u4.settimeout(10)
d, a = u6.recvfrom(100)
print('v6only socket got', d.decode(), a[0] == host)
d, a = u4.recvfrom(100)
print('ipv4 socket got', d.decode(), a[0] == sys.argv[5])
out = subprocess.run(['ip', '-6', 'addr'], capture_output=True, text=True).stdout
print('ip -6 addr', ('inet6 ' + me + '/64 scope global') in out)
out = subprocess.run(['ip', '-6', 'route'], capture_output=True, text=True).stdout
print('ip -6 route', ('default via ' + host) in out)
hexme = ''.join('%02x' % b for b in socket.inet_pton(socket.AF_INET6, me))
print('if_inet6', any(l.startswith(hexme + ' ') for l in open('/proc/net/if_inet6')))
unreachable(host, int(sys.argv[6]))
";

/// An HTTP server on the host's side answering `hello` to up to `n`
/// requests, each given up after the deadline.
fn http_once(l: TcpListener, n: usize) -> thread::JoinHandle<usize> {
    thread::spawn(move || {
        let _ = l.set_nonblocking(true);
        let start = Instant::now();
        let mut served = 0;
        while served < n && start.elapsed() < DEADLINE {
            let Ok((c, _)) = l.accept() else {
                thread::sleep(Duration::from_millis(20));
                continue;
            };
            let _ = c.set_nonblocking(false);
            let _ = c.set_read_timeout(Some(DEADLINE));
            let mut r = BufReader::new(&c);
            let mut line = String::new();
            while r.read_line(&mut line).is_ok_and(|k| k > 0) && line != "\r\n" {
                line.clear();
            }
            let _ = (&c).write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 6\r\n\r\nhello\n");
            served += 1;
        }
        served
    })
}

fn sandbox_ipv6(platform: &str) -> Result<(), Failed> {
    let tag = if platform == "trap" { 5 } else { 6 };
    let v = VethNs::with_ipv6(tag)?;
    let l = TcpListener::bind((v.host_ip6.as_str(), 0)).map_err(|e| format!("bind: {e}"))?;
    let hport = l.local_addr().map_err(|e| format!("{e}"))?.port();
    let http = http_once(l, 2);
    // The host's side of UDP: an echo server (upper case) for the client
    // inside, and one datagram of each family to the servers inside.
    let echo = UdpSocket::bind((v.host_ip6.as_str(), 0)).map_err(|e| format!("bind: {e}"))?;
    let uport = echo.local_addr().map_err(|e| format!("{e}"))?.port();
    let _ = echo.set_read_timeout(Some(Duration::from_millis(200)));
    let (in4, in6) = (format!("{}:7001", v.ns_ip), format!("[{}]:7001", v.ns_ip6));
    let udp = thread::spawn(move || -> usize {
        let start = Instant::now();
        let mut echoed = 0;
        let mut buf = [0u8; 100];
        let four = UdpSocket::bind("0.0.0.0:0");
        while start.elapsed() < DEADLINE && echoed < 1 {
            if let Ok((n, from)) = echo.recv_from(&mut buf) {
                let _ = echo.send_to(&buf[..n].to_ascii_uppercase(), from);
                echoed += 1;
            }
        }
        // The servers inside are bound by now (before their client ran).
        let _ = echo.send_to(b"six", &in6);
        if let Ok(f) = four {
            let _ = f.send_to(b"four", &in4);
        }
        echoed
    });
    let (hp, up) = (hport.to_string(), uport.to_string());
    let closed = closed_udp_port(&v.host_ip6)?;
    let script = format!("{UNREACHABLE}{IPV6}");
    let argv = [&v.host_ip6, &v.ns_ip6, &hp, &up, &v.host_ip, &closed];
    let mut args = vec!["python3", "-c", &script];
    args.extend(argv.iter().map(|a| a.as_str()));
    let sb = Sandbox::start_in(Some(&v.ns), platform, "sandbox", &args)?;
    // The dual-stack server inside: reached from the host's side over
    // IPv6, then IPv4.
    let mut greetings = Vec::new();
    for to in [format!("[{}]:8081", v.ns_ip6), format!("{}:8081", v.ns_ip)] {
        let to: std::net::SocketAddr = to.parse().map_err(|e| format!("{e}"))?;
        let start = Instant::now();
        let mut greeting = String::new();
        while start.elapsed() < DEADLINE {
            if let Ok(c) = TcpStream::connect_timeout(&to, Duration::from_secs(2)) {
                let _ = c.set_read_timeout(Some(DEADLINE));
                let _ = BufReader::new(&c).read_line(&mut greeting);
                break;
            }
            thread::sleep(Duration::from_millis(50));
        }
        greetings.push(greeting);
    }
    let (status, out, err) = sb.finish();
    let served = http.join().map_err(|_| "http thread panicked")?;
    let echoed = udp.join().map_err(|_| "udp thread panicked")?;
    if served != 2 || echoed != 1 || greetings.iter().any(|g| g != "hello from inside\n") {
        return Err(format!(
            "the host's side served {served} HTTP requests, echoed {echoed} datagrams and got {greetings:?} from the server inside\nsandbox status: {status:?}\nstdout: {out:?}\nstderr:\n{err}"
        )
        .into());
    }
    let want = "client True True\n\
        hello\n\
        curl -6 0 hello\n\
        loopback peer ::1\n\
        outside peers ['v4-mapped', 'v6']\n\
        udp6 QUERY True ::\n\
        v6only socket got six True\n\
        ipv4 socket got four True\n\
        ip -6 addr True\n\
        ip -6 route True\n\
        if_inet6 True\n";
    let want = format!("{want}{UNREACHABLE_OUT}");
    expect("IPv6 over the veth", status, &out, &err, &want)
}
