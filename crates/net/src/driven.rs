//! Sockets the sentry drives without a wait of their own: a host socket
//! (`--network=host`, [`crate::host`]) or a socket of the sentry's TCP/IP
//! stack (`--network=sandbox`, [`crate::netstack`]). Every operation
//! returns at once, `EAGAIN` (or `EINPROGRESS`/`EALREADY` for a
//! connection) when it would block; the syscall layer
//! (`syscalls/src/hostinet.rs`) waits on [`Driven::queue`], which the
//! socket's driver notifies when the socket changes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use abi::fs::{Stat, O_NONBLOCK, O_RDWR};
use abi::SysResult;
use mm::MemoryManager;
use vfs::{File, FileOps};
use waiter::Queue;

use crate::lock;

/// `SO_RCVTIMEO` and `SO_SNDTIMEO`: a driven socket never blocks, so the
/// sandbox's waits apply them.
#[derive(Default)]
pub struct Timeouts(Mutex<(Option<Duration>, Option<Duration>)>);

/// What one receive produced.
pub struct Received {
    pub len: usize,
    /// The sender's address (empty for a connected stream).
    pub from: Vec<u8>,
    pub control: Vec<u8>,
    pub flags: u32,
}

/// The operations of a driven socket (`sockaddr`s as the program passes
/// and gets them).
pub trait Driven: Send + Sync {
    fn family(&self) -> i32;
    fn is_stream(&self) -> bool;
    fn queue(&self) -> &Queue;
    /// The poll bits now (the waiter's event bits).
    fn readiness(&self) -> u32;
    fn ino(&self) -> u64;
    fn stat(&self) -> Stat;
    fn timeouts(&self) -> &Timeouts;
    fn rcvtimeo(&self) -> Option<Duration> {
        lock(&self.timeouts().0).0
    }
    fn sndtimeo(&self) -> Option<Duration> {
        lock(&self.timeouts().0).1
    }
    fn set_timeout(&self, recv: bool, d: Option<Duration>) {
        let mut t = lock(&self.timeouts().0);
        if recv {
            t.0 = d;
        } else {
            t.1 = d;
        }
    }
    fn bind(&self, addr: &[u8]) -> SysResult<()>;
    fn connect(&self, addr: &[u8]) -> SysResult<()>;
    fn listen(&self, backlog: i32) -> SysResult<()>;
    fn shutdown(&self, how: i32) -> SysResult<()>;
    fn name(&self) -> SysResult<Vec<u8>>;
    fn peer(&self) -> SysResult<Vec<u8>>;
    /// A connection, as a file with status `flags` (`O_NONBLOCK`), and
    /// the peer's address.
    fn accept(&self, flags: u32) -> SysResult<(Arc<File>, Vec<u8>)>;
    fn send(
        &self,
        data: &[u8],
        addr: Option<&[u8]>,
        control: &[u8],
        flags: u32,
    ) -> SysResult<usize>;
    fn recv(&self, buf: &mut [u8], flags: u32, control_len: usize) -> SysResult<Received>;
    fn getsockopt(&self, level: i32, name: i32, len: usize) -> SysResult<Vec<u8>>;
    fn setsockopt(&self, level: i32, name: i32, val: &[u8]) -> SysResult<()>;
    fn ioctl(&self, cmd: u32, arg: u64, mm: &mut MemoryManager) -> SysResult<u64>;
}

/// The file of a driven socket.
pub struct DrivenFile {
    pub sock: Arc<dyn Driven>,
}

impl FileOps for DrivenFile {
    /// `read(2)`: a receive without flags.
    fn read(&self, _f: &File, buf: &mut [u8], _off: u64) -> SysResult<usize> {
        self.sock.recv(buf, 0, 0).map(|r| r.len)
    }

    /// `write(2)`: a send without flags.
    fn write(&self, _f: &File, buf: &[u8], _off: u64) -> SysResult<usize> {
        self.sock.send(buf, None, &[], 0)
    }

    fn stat(&self, _f: &File) -> SysResult<Stat> {
        Ok(self.sock.stat())
    }

    fn readiness(&self) -> u32 {
        self.sock.readiness()
    }

    fn queue(&self) -> Option<&Queue> {
        Some(self.sock.queue())
    }

    fn ioctl(&self, _f: &File, cmd: u32, arg: u64, mm: &mut MemoryManager) -> SysResult<u64> {
        self.sock.ioctl(cmd, arg, mm)
    }

    fn anon_name(&self) -> Option<Vec<u8>> {
        Some(format!("socket:[{}]", self.sock.ino()).into_bytes())
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

pub fn from_file(f: &File) -> Option<Arc<dyn Driven>> {
    f.ops
        .as_any()
        .and_then(|x| x.downcast_ref::<DrivenFile>())
        .map(|s| s.sock.clone())
}

/// Wraps a driven socket in a file; `flags` are file status flags
/// (`O_NONBLOCK`).
pub fn new_file(sock: Arc<dyn Driven>, flags: u32) -> Arc<File> {
    File::new(
        None,
        O_RDWR | (flags & O_NONBLOCK),
        Box::new(DrivenFile { sock }),
    )
}
