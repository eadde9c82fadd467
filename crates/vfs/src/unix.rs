//! `AF_UNIX` sockets: connected pairs made by `socketpair`, of type
//! `SOCK_STREAM` (a byte stream), `SOCK_DGRAM` (messages) or
//! `SOCK_SEQPACKET` (messages over a connection), able to carry open files
//! (`SCM_RIGHTS`).
//!
//! Both ends share one lock. What an end has sent waits in the peer's
//! receive queue and counts against the sender's send buffer, so a sender
//! waits (`EAGAIN`) while the peer has not read enough. Every operation is
//! non-blocking; each end has its own queue for the syscall layer to wait
//! on, notified with `IN` when data or an end-of-stream arrives and `OUT`
//! when the peer reads.
//!
//! Behaviour follows Linux's `af_unix.c`: the error-before-data ordering of
//! message sockets, `ECONNRESET` for a peer closed with unread data,
//! `ECONNREFUSED` then `ENOTCONN` when a datagram peer is gone.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use abi::fs::*;
use abi::{Errno, SysResult};
use mm::MemoryManager;
use waiter::{events, Queue};

use crate::file::{File, FileOps};
use crate::inode::{lock, next_ino};

pub const AF_UNIX: i32 = 1;
pub const SOCK_STREAM: i32 = 1;
pub const SOCK_DGRAM: i32 = 2;
pub const SOCK_SEQPACKET: i32 = 5;

pub const SHUT_RD: i32 = 0;
pub const SHUT_WR: i32 = 1;
pub const SHUT_RDWR: i32 = 2;

const RCV_SHUTDOWN: u8 = 1;
const SEND_SHUTDOWN: u8 = 2;
const SHUTDOWN_MASK: u8 = RCV_SHUTDOWN | SEND_SHUTDOWN;

/// Default send and receive buffer sizes (`net.core.wmem_default`).
pub const DEFAULT_BUF: usize = 212_992;
/// Largest value `SO_SNDBUF`/`SO_RCVBUF` accept before doubling
/// (`net.core.wmem_max`, `rmem_max`).
pub const BUF_MAX: usize = 212_992;
pub const MIN_SNDBUF: usize = 4608;
pub const MIN_RCVBUF: usize = 2304;
/// Most descriptors one `SCM_RIGHTS` message may carry.
pub const SCM_MAX_FD: usize = 253;

/// What a queued message costs its sender beyond its bytes (Linux charges
/// a buffer's true size).
const MSG_OVERHEAD: usize = 512;
/// Largest stream segment.
const MAX_SEGMENT: usize = 64 * 1024;

/// Device number of the socket filesystem.
const DEV_SOCK: u64 = 0x08;

/// Who created the pair (`SO_PEERCRED`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cred {
    pub pid: i32,
    pub uid: u32,
    pub gid: u32,
}

struct Msg {
    data: Vec<u8>,
    /// Bytes already read (stream).
    off: usize,
    files: Vec<Arc<File>>,
    /// What the message counts against its sender's send buffer.
    charge: usize,
}

impl Msg {
    fn remaining(&self) -> usize {
        self.data.len() - self.off
    }
}

struct End {
    rx: VecDeque<Msg>,
    /// Unread bytes in `rx`.
    rx_bytes: usize,
    /// Sum of the charges in `rx`: what the peer has in flight.
    rx_charge: usize,
    shutdown: u8,
    closed: bool,
    /// Pending error (`SO_ERROR`).
    err: Option<Errno>,
    /// A datagram socket whose peer went away and that has said so.
    disconnected: bool,
    sndbuf: usize,
    rcvbuf: usize,
    passcred: bool,
    rcvtimeo: Option<Duration>,
    sndtimeo: Option<Duration>,
}

impl End {
    fn new() -> End {
        End {
            rx: VecDeque::new(),
            rx_bytes: 0,
            rx_charge: 0,
            shutdown: 0,
            closed: false,
            err: None,
            disconnected: false,
            sndbuf: DEFAULT_BUF,
            rcvbuf: DEFAULT_BUF,
            passcred: false,
            rcvtimeo: None,
            sndtimeo: None,
        }
    }

    fn push(&mut self, m: Msg) {
        self.rx_bytes += m.remaining();
        self.rx_charge += m.charge;
        self.rx.push_back(m);
    }

    fn pop(&mut self) -> Option<Msg> {
        let m = self.rx.pop_front()?;
        self.rx_bytes -= m.remaining();
        self.rx_charge -= m.charge;
        Some(m)
    }
}

struct Pair {
    ty: i32,
    ends: Mutex<[End; 2]>,
    queues: [Queue; 2],
    cred: Cred,
}

/// What one receive got.
#[derive(Default)]
pub struct Received {
    /// Bytes copied.
    pub len: usize,
    /// Length of the message (message sockets; the bytes copied for a
    /// stream), for `MSG_TRUNC`.
    pub msg_len: usize,
    /// Files that came with the data (`SCM_RIGHTS`).
    pub files: Vec<Arc<File>>,
    /// End of stream (or of a shut-down message socket): nothing copied.
    pub eof: bool,
    /// No further data may be added to this receive: a message, or stream
    /// data that carried files.
    pub boundary: bool,
}

/// One end of a connected pair.
pub struct Socket {
    pair: Arc<Pair>,
    side: usize,
    ino: u64,
}

/// A connected pair of sockets of type `ty` (`SOCK_STREAM`, `SOCK_DGRAM` or
/// `SOCK_SEQPACKET`).
pub fn pair(ty: i32, cred: Cred) -> SysResult<(Arc<Socket>, Arc<Socket>)> {
    if !matches!(ty, SOCK_STREAM | SOCK_DGRAM | SOCK_SEQPACKET) {
        return Err(Errno(94)); // ESOCKTNOSUPPORT
    }
    let pair = Arc::new(Pair {
        ty,
        ends: Mutex::new([End::new(), End::new()]),
        queues: [Queue::new(), Queue::new()],
        cred,
    });
    let a = Arc::new(Socket {
        pair: pair.clone(),
        side: 0,
        ino: next_ino(),
    });
    let b = Arc::new(Socket {
        pair,
        side: 1,
        ino: next_ino(),
    });
    Ok((a, b))
}

fn split(ends: &mut [End; 2], side: usize) -> (&mut End, &mut End) {
    let [a, b] = ends;
    if side == 0 {
        (a, b)
    } else {
        (b, a)
    }
}

fn writable(sender: &End, receiver: &End) -> bool {
    receiver.rx_charge * 4 <= sender.sndbuf
}

impl Socket {
    fn ends(&self) -> MutexGuard<'_, [End; 2]> {
        lock(&self.pair.ends)
    }

    fn peer_queue(&self) -> &Queue {
        &self.pair.queues[1 - self.side]
    }

    pub fn sock_type(&self) -> i32 {
        self.pair.ty
    }

    pub fn ino(&self) -> u64 {
        self.ino
    }

    /// The queue this end's waiters sleep on.
    pub fn queue(&self) -> &Queue {
        &self.pair.queues[self.side]
    }

    /// Sends `data`; `files` go with the first byte sent and are taken only
    /// if something is. A stream may send part of `data` (never nothing:
    /// `EAGAIN` when the peer's queue is full); a message goes whole or not
    /// at all. `EPIPE` is the caller's cue for `SIGPIPE` on streams only.
    pub fn send(&self, data: &[u8], files: &mut Vec<Arc<File>>) -> SysResult<usize> {
        let mut ends = self.ends();
        let (me, peer) = split(&mut ends, self.side);
        let n = if self.pair.ty == SOCK_STREAM {
            send_stream(me, peer, data, files)?
        } else {
            send_message(self.pair.ty, me, peer, data, files)?
        };
        drop(ends);
        self.peer_queue().notify(events::IN | events::RDNORM);
        Ok(n)
    }

    /// Receives into `buf` (up to its length). `peek` leaves the data
    /// queued (files are then shared, not moved). `nonblock` only matters
    /// for a shut-down datagram socket, which reports end-of-file to a
    /// blocking reader and `EAGAIN` to a non-blocking one.
    pub fn recv(&self, buf: &mut [u8], peek: bool, nonblock: bool) -> SysResult<Received> {
        let mut ends = self.ends();
        let (me, peer) = split(&mut ends, self.side);
        let before = me.rx_charge;
        let r = if self.pair.ty == SOCK_STREAM {
            recv_stream(me, buf, peek)
        } else {
            recv_message(self.pair.ty, me, buf, peek, nonblock)
        };
        let wake = me.rx_charge < before && writable(peer, me);
        drop(ends);
        if wake {
            self.peer_queue()
                .notify(events::OUT | events::WRNORM | EPOLLWRBAND);
        }
        r
    }

    /// `shutdown(2)`; on connected types the peer sees the other half.
    pub fn shutdown(&self, how: i32) -> SysResult<()> {
        let mode = match how {
            SHUT_RD => RCV_SHUTDOWN,
            SHUT_WR => SEND_SHUTDOWN,
            SHUT_RDWR => SHUTDOWN_MASK,
            _ => return Err(Errno::EINVAL),
        };
        let mut ends = self.ends();
        let (me, peer) = split(&mut ends, self.side);
        me.shutdown |= mode;
        if self.pair.ty != SOCK_DGRAM {
            let mut peer_mode = 0;
            if mode & RCV_SHUTDOWN != 0 {
                peer_mode |= SEND_SHUTDOWN;
            }
            if mode & SEND_SHUTDOWN != 0 {
                peer_mode |= RCV_SHUTDOWN;
            }
            peer.shutdown |= peer_mode;
        }
        drop(ends);
        self.queue().notify(events::ALL);
        self.peer_queue().notify(events::ALL);
        Ok(())
    }

    /// Poll bits, as Linux's `unix_poll`/`unix_dgram_poll`.
    pub fn readiness(&self) -> u32 {
        let mut ends = self.ends();
        let (me, peer) = split(&mut ends, self.side);
        let mut r = 0;
        if me.err.is_some() {
            r |= events::ERR;
        }
        if me.shutdown == SHUTDOWN_MASK {
            r |= events::HUP;
        }
        if me.shutdown & RCV_SHUTDOWN != 0 {
            r |= events::RDHUP | events::IN | events::RDNORM;
        }
        if !me.rx.is_empty() {
            r |= events::IN | events::RDNORM;
        }
        if writable(me, peer) {
            r |= events::OUT | events::WRNORM | EPOLLWRBAND;
        }
        r
    }

    /// Takes the pending error (`SO_ERROR`).
    pub fn take_error(&self) -> Option<Errno> {
        self.ends()[self.side].err.take()
    }

    pub fn sndbuf(&self) -> usize {
        self.ends()[self.side].sndbuf
    }

    pub fn rcvbuf(&self) -> usize {
        self.ends()[self.side].rcvbuf
    }

    /// `SO_SNDBUF`: doubled, within Linux's limits.
    pub fn set_sndbuf(&self, v: u32) {
        let v = (v as usize).min(BUF_MAX).saturating_mul(2).max(MIN_SNDBUF);
        self.ends()[self.side].sndbuf = v;
        self.queue().notify(events::OUT | events::WRNORM);
    }

    /// `SO_RCVBUF`: doubled, within Linux's limits.
    pub fn set_rcvbuf(&self, v: u32) {
        let v = (v as usize).min(BUF_MAX).saturating_mul(2).max(MIN_RCVBUF);
        self.ends()[self.side].rcvbuf = v;
    }

    pub fn passcred(&self) -> bool {
        self.ends()[self.side].passcred
    }

    pub fn set_passcred(&self, on: bool) {
        self.ends()[self.side].passcred = on;
    }

    /// `SO_RCVTIMEO`: `None` waits forever.
    pub fn rcvtimeo(&self) -> Option<Duration> {
        self.ends()[self.side].rcvtimeo
    }

    pub fn set_rcvtimeo(&self, t: Option<Duration>) {
        self.ends()[self.side].rcvtimeo = t;
    }

    /// `SO_SNDTIMEO`: `None` waits forever.
    pub fn sndtimeo(&self) -> Option<Duration> {
        self.ends()[self.side].sndtimeo
    }

    pub fn set_sndtimeo(&self, t: Option<Duration>) {
        self.ends()[self.side].sndtimeo = t;
    }

    /// `SO_PEERCRED`: the creator of the pair.
    pub fn peer_cred(&self) -> Cred {
        self.pair.cred
    }

    /// Whether the socket still has a peer (`getpeername`).
    pub fn connected(&self) -> bool {
        !self.ends()[self.side].disconnected
    }

    /// `FIONREAD`/`SIOCINQ`: unread bytes (of the next datagram for
    /// `SOCK_DGRAM`).
    pub fn inq(&self) -> usize {
        let ends = self.ends();
        let me = &ends[self.side];
        if self.pair.ty == SOCK_DGRAM {
            me.rx.front().map_or(0, |m| m.data.len())
        } else {
            me.rx_bytes
        }
    }

    /// `SIOCOUTQ`: what this end has in flight.
    pub fn outq(&self) -> usize {
        self.ends()[1 - self.side].rx_charge
    }
}

const EPOLLWRBAND: u32 = 0x200;

fn segment_max(sndbuf: usize) -> usize {
    (sndbuf / 2).saturating_sub(64).clamp(1, MAX_SEGMENT)
}

fn send_stream(
    me: &mut End,
    peer: &mut End,
    data: &[u8],
    files: &mut Vec<Arc<File>>,
) -> SysResult<usize> {
    if me.shutdown & SEND_SHUTDOWN != 0 {
        return Err(Errno::EPIPE);
    }
    let mut sent = 0;
    while sent < data.len() {
        let stop = if let Some(e) = me.err.take() {
            Some(e)
        } else if peer.rx_charge >= me.sndbuf {
            Some(Errno::EAGAIN)
        } else if peer.closed || peer.shutdown & RCV_SHUTDOWN != 0 {
            Some(Errno::EPIPE)
        } else {
            None
        };
        if let Some(e) = stop {
            return if sent > 0 { Ok(sent) } else { Err(e) };
        }
        let chunk = (data.len() - sent).min(segment_max(me.sndbuf));
        let bytes = &data[sent..sent + chunk];
        let tail = peer
            .rx
            .back_mut()
            .filter(|m| files.is_empty() && m.files.is_empty());
        match tail {
            Some(m) if m.data.len() + chunk <= MAX_SEGMENT => {
                m.data.extend_from_slice(bytes);
                m.charge += chunk;
                peer.rx_bytes += chunk;
                peer.rx_charge += chunk;
            }
            _ => peer.push(Msg {
                data: bytes.to_vec(),
                off: 0,
                files: std::mem::take(files),
                charge: chunk + MSG_OVERHEAD,
            }),
        }
        sent += chunk;
    }
    Ok(sent)
}

fn send_message(
    ty: i32,
    me: &mut End,
    peer: &mut End,
    data: &[u8],
    files: &mut Vec<Arc<File>>,
) -> SysResult<usize> {
    if me.disconnected {
        return Err(Errno::ENOTCONN);
    }
    if data.len() + 32 > me.sndbuf {
        return Err(Errno::EMSGSIZE);
    }
    if let Some(e) = me.err.take() {
        return Err(e);
    }
    if me.shutdown & SEND_SHUTDOWN != 0 {
        return Err(Errno::EPIPE);
    }
    if peer.rx_charge >= me.sndbuf {
        return Err(Errno::EAGAIN);
    }
    if peer.closed {
        if ty == SOCK_DGRAM {
            me.disconnected = true;
            return Err(Errno::ECONNREFUSED);
        }
        return Err(Errno::EPIPE);
    }
    if peer.shutdown & RCV_SHUTDOWN != 0 {
        return Err(Errno::EPIPE);
    }
    peer.push(Msg {
        data: data.to_vec(),
        off: 0,
        files: std::mem::take(files),
        charge: data.len() + MSG_OVERHEAD,
    });
    Ok(data.len())
}

fn recv_stream(me: &mut End, buf: &mut [u8], peek: bool) -> SysResult<Received> {
    if me.rx.is_empty() {
        if let Some(e) = me.err.take() {
            return Err(e);
        }
        if me.shutdown & RCV_SHUTDOWN != 0 {
            return Ok(Received {
                eof: true,
                ..Default::default()
            });
        }
        return Err(Errno::EAGAIN);
    }
    let mut r = Received::default();
    if peek {
        for m in me.rx.iter() {
            if r.len == buf.len() {
                break;
            }
            let n = (buf.len() - r.len).min(m.remaining());
            buf[r.len..r.len + n].copy_from_slice(&m.data[m.off..m.off + n]);
            r.len += n;
            if !m.files.is_empty() {
                r.files.extend(m.files.iter().cloned());
                r.boundary = true;
                break;
            }
        }
    } else {
        while r.len < buf.len() {
            let Some(m) = me.rx.front_mut() else { break };
            let n = (buf.len() - r.len).min(m.remaining());
            buf[r.len..r.len + n].copy_from_slice(&m.data[m.off..m.off + n]);
            m.off += n;
            r.len += n;
            me.rx_bytes -= n;
            let carried = !m.files.is_empty();
            r.files.append(&mut m.files);
            if m.remaining() == 0 {
                let charge = m.charge;
                me.rx.pop_front();
                me.rx_charge -= charge;
            }
            if carried {
                r.boundary = true;
                break;
            }
        }
    }
    r.msg_len = r.len;
    Ok(r)
}

fn recv_message(
    ty: i32,
    me: &mut End,
    buf: &mut [u8],
    peek: bool,
    nonblock: bool,
) -> SysResult<Received> {
    if let Some(e) = me.err.take() {
        return Err(e);
    }
    let Some(m) = me.rx.front() else {
        if me.shutdown & RCV_SHUTDOWN != 0 && (!nonblock || ty == SOCK_SEQPACKET) {
            return Ok(Received {
                eof: true,
                boundary: true,
                ..Default::default()
            });
        }
        return Err(Errno::EAGAIN);
    };
    let n = buf.len().min(m.data.len());
    buf[..n].copy_from_slice(&m.data[..n]);
    let mut r = Received {
        len: n,
        msg_len: m.data.len(),
        boundary: true,
        ..Default::default()
    };
    if peek {
        r.files = m.files.clone();
    } else if let Some(m) = me.pop() {
        r.files = m.files;
    }
    Ok(r)
}

impl Drop for Socket {
    /// Closing: queued data is discarded; a connected peer can no longer
    /// send or receive more, and learns of unread data by `ECONNRESET`.
    fn drop(&mut self) {
        let mut ends = self.ends();
        let (me, peer) = split(&mut ends, self.side);
        me.closed = true;
        let purged: Vec<Msg> = me.rx.drain(..).collect();
        me.rx_bytes = 0;
        me.rx_charge = 0;
        if self.pair.ty != SOCK_DGRAM {
            peer.shutdown = SHUTDOWN_MASK;
            if !purged.is_empty() {
                peer.err = Some(Errno::ECONNRESET);
            }
        }
        drop(ends);
        // Files in flight may be sockets themselves: drop them unlocked.
        drop(purged);
        self.peer_queue().notify(events::ALL);
    }
}

// ---------------------------------------------------------------------------
// Socket files
// ---------------------------------------------------------------------------

/// The socket behind `f`, if it is one.
pub fn from_file(f: &File) -> Option<Arc<Socket>> {
    f.ops
        .as_any()
        .and_then(|x| x.downcast_ref::<SocketFile>())
        .map(|s| s.sock.clone())
}

struct SocketFile {
    sock: Arc<Socket>,
}

impl FileOps for SocketFile {
    /// `read(2)`: a receive without flags; files that came along are
    /// closed, as on Linux.
    fn read(&self, f: &File, buf: &mut [u8], _off: u64) -> SysResult<usize> {
        self.sock.recv(buf, false, f.nonblocking()).map(|r| r.len)
    }

    fn write(&self, _f: &File, buf: &[u8], _off: u64) -> SysResult<usize> {
        self.sock.send(buf, &mut Vec::new())
    }

    fn stat(&self, _f: &File) -> SysResult<Stat> {
        let cred = self.sock.pair.cred;
        Ok(Stat {
            dev: DEV_SOCK,
            ino: self.sock.ino,
            nlink: 1,
            mode: S_IFSOCK | 0o777,
            uid: cred.uid,
            gid: cred.gid,
            blksize: 4096,
            ..Default::default()
        })
    }

    fn readiness(&self) -> u32 {
        self.sock.readiness()
    }

    fn queue(&self) -> Option<&Queue> {
        Some(self.sock.queue())
    }

    fn ioctl(&self, _f: &File, cmd: u32, arg: u64, mm: &mut MemoryManager) -> SysResult<u64> {
        let v = match cmd {
            FIONREAD => self.sock.inq(),
            TIOCOUTQ => self.sock.outq(),
            _ => return Err(Errno::ENOTTY),
        };
        mm.write_obj(arg, &(v.min(i32::MAX as usize) as i32))?;
        Ok(0)
    }

    fn anon_name(&self) -> Option<Vec<u8>> {
        Some(format!("socket:[{}]", self.sock.ino).into_bytes())
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

/// Wraps a socket in a file; `flags` are file status flags (`O_NONBLOCK`).
pub fn new_file(sock: Arc<Socket>, flags: u32) -> Arc<File> {
    File::new(
        None,
        O_RDWR | (flags & O_NONBLOCK),
        Box::new(SocketFile { sock }),
    )
}

/// `socketpair(AF_UNIX, ty, 0)` as two files.
pub fn pair_files(ty: i32, flags: u32, cred: Cred) -> SysResult<(Arc<File>, Arc<File>)> {
    let (a, b) = pair(ty, cred)?;
    Ok((new_file(a, flags), new_file(b, flags)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipe::Pipe;

    fn mk(ty: i32) -> (Arc<Socket>, Arc<Socket>) {
        pair(ty, Cred::default()).unwrap()
    }

    fn send(s: &Socket, d: &[u8]) -> SysResult<usize> {
        s.send(d, &mut Vec::new())
    }

    fn recv(s: &Socket, n: usize) -> SysResult<Vec<u8>> {
        let mut b = vec![0u8; n];
        let r = s.recv(&mut b, false, true)?;
        b.truncate(r.len);
        Ok(b)
    }

    const IN: u32 = events::IN | events::RDNORM;
    const OUT: u32 = events::OUT | events::WRNORM | EPOLLWRBAND;

    #[test]
    fn stream_merges_and_shuts_down() {
        let (a, b) = mk(SOCK_STREAM);
        assert_eq!(b.readiness(), OUT);
        assert_eq!(send(&a, b"hello"), Ok(5));
        assert_eq!(send(&a, b" world"), Ok(6));
        assert_eq!(b.readiness(), IN | OUT);
        assert_eq!(b.inq(), 11);
        let mut peek = [0u8; 3];
        assert_eq!(b.recv(&mut peek, true, true).map(|r| r.len), Ok(3));
        assert_eq!(recv(&b, 64).unwrap(), b"hello world");
        assert_eq!(recv(&b, 64), Err(Errno::EAGAIN));
        assert_eq!(recv(&b, 0), Err(Errno::EAGAIN));
        a.shutdown(SHUT_WR).unwrap();
        assert_eq!(b.readiness(), IN | OUT | events::RDHUP);
        assert_eq!(recv(&b, 64).unwrap(), b"");
        assert_eq!(send(&a, b"x"), Err(Errno::EPIPE));
        assert_eq!(send(&b, b"back"), Ok(4));
        assert_eq!(recv(&a, 64).unwrap(), b"back");
        assert_eq!(a.shutdown(7), Err(Errno::EINVAL));
        b.shutdown(SHUT_WR).unwrap();
        assert_eq!(a.readiness(), IN | OUT | events::RDHUP | events::HUP);
    }

    #[test]
    fn stream_close_with_unread_data_resets_the_peer() {
        let (a, b) = mk(SOCK_STREAM);
        send(&a, b"z").unwrap();
        send(&b, b"abc").unwrap();
        drop(b);
        assert_eq!(send(&a, b"x"), Err(Errno::EPIPE));
        assert_eq!(
            a.readiness(),
            IN | OUT | events::RDHUP | events::HUP | events::ERR
        );
        assert_eq!(recv(&a, 64).unwrap(), b"abc");
        assert_eq!(recv(&a, 64), Err(Errno::ECONNRESET));
        assert_eq!(recv(&a, 64).unwrap(), b"");
        assert_eq!(a.readiness(), IN | OUT | events::RDHUP | events::HUP);
    }

    #[test]
    fn stream_fills_up() {
        let (a, b) = mk(SOCK_STREAM);
        let chunk = vec![7u8; 100_000];
        let mut total = 0;
        loop {
            match send(&a, &chunk) {
                Ok(n) => total += n,
                Err(e) => {
                    assert_eq!(e, Errno::EAGAIN);
                    break;
                }
            }
        }
        assert!((DEFAULT_BUF..2 * DEFAULT_BUF).contains(&total), "{total}");
        assert_eq!(a.readiness() & events::OUT, 0);
        assert_eq!(b.inq(), total);
        assert_eq!(recv(&b, total - 1000).unwrap().len(), total - 1000);
        assert_eq!(recv(&b, 5000).unwrap().len(), 1000);
        assert_eq!(a.readiness() & events::OUT, events::OUT);
        assert_eq!(a.outq(), 0);
    }

    #[test]
    fn datagrams_keep_boundaries() {
        let (a, b) = mk(SOCK_DGRAM);
        assert_eq!(send(&a, b"first"), Ok(5));
        assert_eq!(send(&a, b"second"), Ok(6));
        assert_eq!(send(&a, b""), Ok(0));
        assert_eq!(b.inq(), 5);
        assert_eq!(recv(&b, 64).unwrap(), b"first");
        let mut buf = [0u8; 3];
        let r = b.recv(&mut buf, false, true).unwrap();
        assert_eq!((r.len, r.msg_len, &buf), (3, 6, b"sec"));
        assert_eq!(recv(&b, 64).unwrap(), b"");
        assert_eq!(recv(&b, 64), Err(Errno::EAGAIN));
        let big = vec![0u8; DEFAULT_BUF];
        assert_eq!(send(&a, &big), Err(Errno::EMSGSIZE));
        assert_eq!(send(&a, &big[..DEFAULT_BUF - 32]), Ok(DEFAULT_BUF - 32));
    }

    #[test]
    fn datagram_shutdown_is_local() {
        let (a, b) = mk(SOCK_DGRAM);
        a.shutdown(SHUT_WR).unwrap();
        assert_eq!(send(&a, b"x"), Err(Errno::EPIPE));
        assert_eq!(send(&b, b"x"), Ok(1));
        b.shutdown(SHUT_RD).unwrap();
        assert_eq!(recv(&b, 8), Err(Errno::EAGAIN));
        let mut buf = [0u8; 8];
        assert!(b.recv(&mut buf, false, false).unwrap().eof);
        assert_eq!(send(&a, b"x"), Err(Errno::EPIPE));
        assert_eq!(b.readiness(), IN | OUT | events::RDHUP);
        assert_eq!(a.readiness(), IN | OUT);
    }

    #[test]
    fn datagram_peer_gone() {
        let (a, b) = mk(SOCK_DGRAM);
        drop(b);
        assert_eq!(send(&a, b"x"), Err(Errno::ECONNREFUSED));
        assert_eq!(send(&a, b"x"), Err(Errno::ENOTCONN));
        assert!(!a.connected());
        assert_eq!(recv(&a, 8), Err(Errno::EAGAIN));
        assert_eq!(a.readiness(), OUT);
    }

    #[test]
    fn seqpacket() {
        let (a, b) = mk(SOCK_SEQPACKET);
        send(&a, b"abcdef").unwrap();
        let mut buf = [0u8; 3];
        let r = b.recv(&mut buf, false, true).unwrap();
        assert_eq!((r.len, r.msg_len), (3, 6));
        assert_eq!(recv(&b, 8), Err(Errno::EAGAIN));
        a.shutdown(SHUT_WR).unwrap();
        assert_eq!(send(&a, b"x"), Err(Errno::EPIPE));
        assert!(b.recv(&mut buf, false, true).unwrap().eof);
        drop(b);
        assert!(a.recv(&mut buf, false, true).unwrap().eof);
        assert_eq!(a.readiness(), IN | OUT | events::RDHUP | events::HUP);
    }

    #[test]
    fn files_travel_and_bound_stream_reads() {
        let (a, b) = mk(SOCK_STREAM);
        let p = Pipe::new();
        let f = File::new(None, O_RDONLY, Box::new(p.open_end(true, false)));
        send(&a, b"ab").unwrap();
        let mut files = vec![f.clone()];
        assert_eq!(a.send(b"c", &mut files), Ok(1));
        assert!(files.is_empty());
        send(&a, b"de").unwrap();
        let mut buf = [0u8; 16];
        let r = b.recv(&mut buf, true, true).unwrap();
        assert_eq!((r.len, r.files.len(), r.boundary), (3, 1, true));
        drop(r);
        let r = b.recv(&mut buf, false, true).unwrap();
        assert_eq!((&buf[..r.len], r.files.len()), (&b"abc"[..], 1));
        assert!(Arc::ptr_eq(&r.files[0], &f));
        drop(r);
        assert_eq!(recv(&b, 16).unwrap(), b"de");
        // Files left unread are released with the socket.
        let mut files = vec![f.clone()];
        a.send(b"x", &mut files).unwrap();
        assert_eq!(Arc::strong_count(&f), 2);
        drop(b);
        assert_eq!(Arc::strong_count(&f), 1);
    }

    #[test]
    fn socket_files() {
        let (a, b) = pair_files(SOCK_STREAM, O_NONBLOCK, Cred::default()).unwrap();
        assert!(from_file(&a).is_some());
        assert!(a.nonblocking());
        let st = a.stat().unwrap();
        assert_eq!(st.mode, S_IFSOCK | 0o777);
        assert_eq!(
            a.display_path(),
            format!("socket:[{}]", st.ino).into_bytes()
        );
        assert_eq!(a.write(b"hi"), Ok(2));
        let mut buf = [0u8; 4];
        assert_eq!(b.read(&mut buf), Ok(2));
        assert_eq!(b.read(&mut buf), Err(Errno::EAGAIN));
        assert_eq!(a.seek(0, SEEK_SET), Err(Errno::ESPIPE));
        assert_eq!(from_file(&b).map(|s| s.sock_type()), Some(SOCK_STREAM));
        assert!(pair(3, Cred::default()).is_err());
    }

    #[test]
    fn buffer_options() {
        let (a, _b) = mk(SOCK_STREAM);
        assert_eq!(a.sndbuf(), DEFAULT_BUF);
        a.set_sndbuf(1000);
        assert_eq!(a.sndbuf(), MIN_SNDBUF);
        a.set_sndbuf(100_000);
        assert_eq!(a.sndbuf(), 200_000);
        a.set_rcvbuf(u32::MAX);
        assert_eq!(a.rcvbuf(), 2 * BUF_MAX);
        assert_eq!(a.take_error(), None);
    }
}
