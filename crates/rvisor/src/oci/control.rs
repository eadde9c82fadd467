//! The control protocol between the CLI and a container's sandbox
//! process: over a unix socket in the container's state directory (mode
//! 0600 in a 0700 directory; the sandbox's programs cannot reach it, the
//! sentry's root is empty), one request and one reply per connection,
//! each a 4-byte big-endian length and that many bytes of JSON.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The largest message either side accepts; a longer one is refused
/// without being read.
pub const MAX_MESSAGE: u32 = 64 << 10;

/// How long the CLI waits for a reply other than `wait`'s.
pub const REPLY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The socket's name in the state directory.
pub const SOCKET: &str = "ctl.sock";

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum Request {
    /// Answered once the kernel and init exist (create's handshake).
    Created,
    /// Lets init run.
    Start,
    /// created, running or stopped.
    State,
    /// `signal` to init, with `all` to every process, with `pid` to
    /// that process (an exec'd one).
    Signal {
        signal: i32,
        all: bool,
        #[serde(default)]
        pid: Option<i32>,
    },
    /// A new process in the container (`exec`): `process` is an OCI
    /// process description. The standard streams come with the message
    /// (`SCM_RIGHTS`): three descriptors, or with `tty` one host
    /// terminal. Answered with `{"pid"}` once it runs, then with
    /// `{"status"}` (its wait status) when it has ended.
    Exec {
        process: serde_json::Value,
        tty: bool,
    },
    /// Answered with init's wait status when it has exited.
    Wait,
    /// The sandbox's processes.
    Ps,
    /// Stops every task of the container (`pause`) or lets them run
    /// again (`resume`).
    Pause,
    Resume,
    /// CPU, memory and process counts (`events`).
    Stats,
    /// Ends the sandbox at once; for a pod's later container (`For`), ends
    /// its processes and lets go of its files.
    Destroy,
    /// A new container in this sandbox (a pod's; `pod.rs`), created and
    /// held until `start`: `process` is its OCI process, `mounts` what is
    /// mounted over its root. The descriptors: its standard streams
    /// (three, or with `tty` one host terminal), then the gofer socket of
    /// its root, then one per bind mount in `mounts`' order.
    Join {
        container: String,
        process: serde_json::Value,
        mounts: Vec<crate::sandbox::MountSpec>,
        tty: bool,
    },
    /// `request` for the pod container `container` (one `Join` made).
    For {
        container: String,
        request: Box<Request>,
    },
}

impl Request {
    /// Whether the reply comes only when a process has ended (`wait`).
    fn waits(&self) -> bool {
        match self {
            Request::Wait => true,
            Request::For { request, .. } => request.waits(),
            _ => false,
        }
    }
}

/// The most bind mounts a pod container may have (each comes with a
/// gofer socket).
pub const MAX_VOLUMES: usize = 16;

/// The most descriptors a message carries: `Join`'s standard streams,
/// root gofer and volume gofers.
pub const MAX_FDS: usize = 3 + 1 + MAX_VOLUMES;

pub fn write_msg(s: &mut UnixStream, v: &serde_json::Value) -> std::io::Result<()> {
    write_msg_fds(s, v, &[])
}

/// Writes a message with `fds` attached to its first byte.
pub fn write_msg_fds(
    s: &mut UnixStream,
    v: &serde_json::Value,
    fds: &[RawFd],
) -> std::io::Result<()> {
    let body = v.to_string().into_bytes();
    let mut buf = (body.len() as u32).to_be_bytes().to_vec();
    buf.extend_from_slice(&body);
    if fds.is_empty() {
        return s.write_all(&buf);
    }
    if fds.len() > MAX_FDS {
        return Err(std::io::Error::from_raw_os_error(libc::EINVAL));
    }
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: 1,
    };
    let mut cbuf = [0u64; 16];
    // SAFETY: CMSG_* are pure; the message points at live locals (iov,
    // cbuf: room for MAX_FDS descriptors) for the call.
    let sent = unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.as_mut_ptr().cast();
        let len = (4 * fds.len()) as u32;
        msg.msg_controllen = libc::CMSG_SPACE(len) as usize;
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN(len) as usize;
        for (i, fd) in fds.iter().enumerate() {
            std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<i32>().add(i), *fd);
        }
        libc::sendmsg(s.as_raw_fd(), &msg, libc::MSG_NOSIGNAL)
    };
    if sent != 1 {
        return Err(std::io::Error::last_os_error());
    }
    s.write_all(&buf[1..])
}

pub fn read_msg(s: &mut UnixStream) -> Result<serde_json::Value, String> {
    read_msg_fds(s).map(|(v, _)| v)
}

/// Reads a message and the descriptors (at most [`MAX_FDS`]; more are
/// closed by the host) that came with its first byte.
pub fn read_msg_fds(s: &mut UnixStream) -> Result<(serde_json::Value, Vec<OwnedFd>), String> {
    let mut len = [0u8; 4];
    let mut iov = libc::iovec {
        iov_base: len.as_mut_ptr().cast(),
        iov_len: 1,
    };
    let mut cbuf = [0u64; 16];
    let mut fds = Vec::new();
    // SAFETY: recvmsg into live locals; each descriptor the host put in
    // the control data is ours, owned once and only once below.
    let got = unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = libc::CMSG_SPACE((4 * MAX_FDS) as u32) as usize;
        let n = libc::recvmsg(s.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC);
        if n > 0 {
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                    let data = libc::CMSG_DATA(c).cast::<i32>();
                    let count = ((*c).cmsg_len - libc::CMSG_LEN(0) as usize) / 4;
                    for i in 0..count {
                        fds.push(OwnedFd::from_raw_fd(std::ptr::read_unaligned(data.add(i))));
                    }
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
        }
        n
    };
    if got < 0 {
        return Err(format!(
            "reading a message: {}",
            std::io::Error::last_os_error()
        ));
    }
    if got == 0 {
        return Err("reading a message: the connection closed".into());
    }
    s.read_exact(&mut len[1..])
        .map_err(|e| format!("reading a message: {e}"))?;
    let len = u32::from_be_bytes(len);
    if len > MAX_MESSAGE {
        return Err(format!(
            "message of {len} bytes refused (limit {MAX_MESSAGE})"
        ));
    }
    let mut body = vec![0u8; len as usize];
    s.read_exact(&mut body)
        .map_err(|e| format!("reading a message: {e}"))?;
    let v = serde_json::from_slice(&body).map_err(|e| format!("malformed message: {e}"))?;
    Ok((v, fds))
}

/// Sends `req` to the sandbox whose state directory is `dir` and returns
/// its reply's fields; a reply with `error` is an `Err`.
pub fn call(dir: &Path, req: &Request) -> Result<serde_json::Value, String> {
    let mut s = connect(dir)?;
    // A hung sandbox must not hang `state`, `list` or `delete --force`;
    // only `wait` waits as long as init runs.
    if !req.waits() {
        s.set_read_timeout(Some(REPLY_TIMEOUT))
            .and_then(|_| s.set_write_timeout(Some(REPLY_TIMEOUT)))
            .map_err(|e| format!("control socket: {e}"))?;
    }
    let v = serde_json::to_value(req).map_err(|e| e.to_string())?;
    write_msg(&mut s, &v).map_err(|e| format!("sending to the sandbox: {e}"))?;
    let reply = read_msg(&mut s)?;
    match reply.get("error").and_then(|e| e.as_str()) {
        Some(e) => Err(e.to_string()),
        None => Ok(reply),
    }
}

pub fn connect(dir: &Path) -> Result<UnixStream, String> {
    connect_path(&dir.join(SOCKET)).map_err(|e| format!("cannot reach the sandbox: {e}"))
}

/// Connects to the unix socket at `path`, however long: a socket address
/// holds 107 bytes, and an engine's state directories are deep (Docker's
/// `--exec-root/runtime-runc/moby/<64 hex digits>/ctl.sock`), so a longer
/// path is reached through a descriptor of its directory
/// (`/proc/self/fd/N/NAME`), as the sandbox binds it relative to its
/// working directory.
pub fn connect_path(path: &Path) -> std::io::Result<UnixStream> {
    const SUN_PATH_MAX: usize = 107;
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return UnixStream::connect(path);
    };
    if path.as_os_str().len() <= SUN_PATH_MAX {
        return UnixStream::connect(path);
    }
    use std::os::unix::fs::OpenOptionsExt;
    let d = std::fs::File::options()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
        .open(if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        })?;
    UnixStream::connect(Path::new(&format!("/proc/self/fd/{}", d.as_raw_fd())).join(name))
}
