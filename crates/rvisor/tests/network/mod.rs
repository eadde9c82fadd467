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
    let cases: [(&str, Case); 3] = [
        ("network_host_server", host_server),
        ("network_host_client", host_client),
        ("network_none_refuses_host", none_refuses_host),
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
        let mut cmd = Command::new(rvisor_bin());
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
