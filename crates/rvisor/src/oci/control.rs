//! The control protocol between the CLI and a container's sandbox
//! process: over a unix socket in the container's state directory (mode
//! 0600 in a 0700 directory; the sandbox's programs cannot reach it, the
//! sentry's root is empty), one request and one reply per connection,
//! each a 4-byte big-endian length and that many bytes of JSON.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The largest message either side accepts; a longer one is refused
/// without being read.
pub const MAX_MESSAGE: u32 = 64 << 10;

/// How long the CLI waits for a reply other than `wait`'s.
const REPLY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

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
    /// `signal` to init, or with `all` to every process.
    Signal { signal: i32, all: bool },
    /// Answered with init's wait status when it has exited.
    Wait,
    /// The sandbox's processes.
    Ps,
    /// Ends the sandbox at once.
    Destroy,
}

pub fn write_msg(s: &mut UnixStream, v: &serde_json::Value) -> std::io::Result<()> {
    let body = v.to_string().into_bytes();
    let mut buf = (body.len() as u32).to_be_bytes().to_vec();
    buf.extend_from_slice(&body);
    s.write_all(&buf)
}

pub fn read_msg(s: &mut UnixStream) -> Result<serde_json::Value, String> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len)
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
    serde_json::from_slice(&body).map_err(|e| format!("malformed message: {e}"))
}

/// Sends `req` to the sandbox whose state directory is `dir` and returns
/// its reply's fields; a reply with `error` is an `Err`.
pub fn call(dir: &Path, req: &Request) -> Result<serde_json::Value, String> {
    let mut s = connect(dir)?;
    // A hung sandbox must not hang `state`, `list` or `delete --force`;
    // only `wait` waits as long as init runs.
    if !matches!(req, Request::Wait) {
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
    UnixStream::connect(dir.join(SOCKET)).map_err(|e| format!("cannot reach the sandbox: {e}"))
}
