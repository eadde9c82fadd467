//! `AF_UNIX` sockets of type `SOCK_STREAM` (a byte stream), `SOCK_DGRAM`
//! (messages) or `SOCK_SEQPACKET` (messages over a connection), able to
//! carry open files (`SCM_RIGHTS`): connected pairs made by `socketpair`,
//! and sockets made by `socket` that are bound to a filesystem path or an
//! abstract name, listen, accept and connect.
//!
//! Every socket has a [`Pair`] of ends sharing one lock: its own end (its
//! receive queue and options) and the end its connected peer will use. A
//! `socketpair` fills both at once; a stream or seqpacket socket made by
//! `socket` gets its peer when it connects, the server-side socket that
//! `accept` later returns taking the other end of the connecting socket's
//! pair. Datagram sockets made by `socket` send into the receiving
//! socket's own end, whoever it is.
//!
//! What an end has sent waits in the peer's receive queue and counts
//! against the sender's send buffer, so a sender waits (`EAGAIN`) while the
//! peer has not read enough. Every operation is non-blocking; each end has
//! its own queue for the syscall layer to wait on, notified with `IN` when
//! data, an end-of-stream or a connection arrives and `OUT` when the peer
//! reads or a connection is accepted.
//!
//! Names: a socket bound to a path is found through the inode of its
//! socket file, an abstract name (`sun_path[0] == 0`) through a table of the
//! sentry; both hold the socket weakly, so a closed socket's name refuses
//! connections (`ECONNREFUSED`) and an abstract name becomes free again.
//!
//! Behaviour follows Linux's `af_unix.c`: the error-before-data ordering of
//! message sockets, `ECONNRESET` for a peer closed with unread data,
//! `ECONNREFUSED` then `ENOTCONN` when a datagram peer is gone.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use abi::fs::*;
use abi::{Errno, SysResult};
use mm::MemoryManager;
use waiter::{events, Queue};

use crate::file::{File, FileOps};
use crate::inode::{lock, next_ino, Inode};

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
/// Largest listen backlog (`net.core.somaxconn`).
pub const SOMAXCONN: usize = 4096;

const ESOCKTNOSUPPORT: Errno = Errno(94);

/// What a queued message costs its sender beyond its bytes (Linux charges
/// a buffer's true size).
const MSG_OVERHEAD: usize = 512;
/// Largest stream segment.
const MAX_SEGMENT: usize = 64 * 1024;

/// Device number of the socket filesystem.
pub const DEV_SOCK: u64 = 0x08;

/// A socket address: the bytes of a `sockaddr_un` (family included), as
/// `getsockname` reports them.
pub type Addr = Vec<u8>;

/// Who is at the other end (`SO_PEERCRED`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cred {
    pub pid: i32,
    pub uid: u32,
    pub gid: u32,
}

/// The peer credentials of a socket nobody connected to: no pid, the
/// overflow ids.
const NO_CRED: Cred = Cred {
    pid: 0,
    uid: 65534,
    gid: 65534,
};

struct Msg {
    data: Vec<u8>,
    /// Bytes already read (stream).
    off: usize,
    files: Vec<Arc<File>>,
    /// What the message counts against its sender's send buffer.
    charge: usize,
    /// The sender's name when it sent (`recvfrom`).
    from: Option<Addr>,
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
    sndbuf: usize,
    rcvbuf: usize,
    passcred: bool,
    /// Generic `SOL_SOCKET` on/off options Linux keeps for every socket
    /// (`SO_REUSEADDR`, `SO_KEEPALIVE`, ...): bit `1 << optname`.
    flags: u64,
    rcvtimeo: Option<Duration>,
    sndtimeo: Option<Duration>,
    /// `SO_LINGER`: on or off, and the seconds (kept while off, as Linux
    /// keeps `sk_lingertime`); reported only, a close never waits.
    linger: (bool, i32),
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
            sndbuf: DEFAULT_BUF,
            rcvbuf: DEFAULT_BUF,
            passcred: false,
            flags: 0,
            rcvtimeo: None,
            sndtimeo: None,
            linger: (false, 0),
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
}

impl Pair {
    fn new(ty: i32) -> Arc<Pair> {
        Arc::new(Pair {
            ty,
            ends: Mutex::new([End::new(), End::new()]),
            queues: [Queue::new(), Queue::new()],
        })
    }
}

/// Connections waiting for `accept`.
struct Listener {
    backlog: usize,
    pending: VecDeque<Arc<Socket>>,
}

/// Where a connection-oriented socket is in its life.
enum State {
    Unconnected,
    /// A `connect` is under way (the socket cannot be used meanwhile).
    Connecting,
    Listening(Listener),
    Connected,
}

/// Where a socket's name is registered.
enum Bound {
    Path(Weak<Inode>),
    Abstract(Addr),
}

/// A socket's names, peer and connection state. Lock order: a socket's
/// `naming`, then its pair's ends; a name table after `naming`. Never two
/// sockets' `naming` at once.
struct Naming {
    state: State,
    /// The bound name.
    local: Option<Addr>,
    bound: Option<Bound>,
    /// The connected peer (connection types), or the default destination
    /// (datagrams).
    peer: Option<Weak<Socket>>,
    /// The peer's name when the connection was made (`getpeername`).
    peer_addr: Option<Addr>,
    peer_cred: Cred,
    /// A server-side socket not accepted yet: closing it resets the client.
    embryo: bool,
}

impl Naming {
    fn new(state: State) -> Naming {
        Naming {
            state,
            local: None,
            bound: None,
            peer: None,
            peer_addr: None,
            peer_cred: NO_CRED,
            embryo: false,
        }
    }
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
    /// The sender's name, if it had one.
    pub from: Option<Addr>,
}

/// An `AF_UNIX` socket.
pub struct Socket {
    pair: Arc<Pair>,
    side: usize,
    ino: u64,
    /// Who made the socket (`stat`).
    owner: Cred,
    naming: Mutex<Naming>,
    /// Listed in `/proc/net/unix`: not the data socket of an inet one.
    listed: bool,
    /// The network namespace the socket was made in (an identity, 0 by
    /// default): abstract names are per network namespace.
    netns: AtomicU64,
    /// Permission bits of the socket's own inode (`fchmod` of its
    /// descriptor): what `stat` shows and what a path bound later gets,
    /// less the umask.
    mode: AtomicU32,
}

/// Socket files (by inode number) and the sockets bound to them.
type PathTable = BTreeMap<u64, (Weak<Inode>, Weak<Socket>)>;

/// Sockets bound to a path, by the inode number of their socket file.
static PATHS: Mutex<PathTable> = Mutex::new(BTreeMap::new());
/// Sockets bound to an abstract name, by their network namespace, type and
/// full address: as in Linux, each network namespace has its own names,
/// sockets of different types may share a name, and a connect or send
/// finds only its own namespace's and type's (`ECONNREFUSED` otherwise).
type AbstractKey = (u64, i32, Addr);
static ABSTRACT: Mutex<BTreeMap<AbstractKey, Weak<Socket>>> = Mutex::new(BTreeMap::new());
/// The next autobind name.
static AUTOBIND: AtomicU32 = AtomicU32::new(0);
/// Every socket made, for `/proc/net/unix` (pruned as the list grows).
static ALL: Mutex<Vec<Weak<Socket>>> = Mutex::new(Vec::new());

fn register(s: &Arc<Socket>) {
    let mut all = lock(&ALL);
    if all.len() >= 64 && all.len().is_power_of_two() {
        all.retain(|w| w.strong_count() > 0);
    }
    all.push(Arc::downgrade(s));
}

/// The live sockets, oldest first (`/proc/net/unix`).
pub fn all_sockets() -> Vec<Arc<Socket>> {
    let mut all = lock(&ALL);
    all.retain(|w| w.strong_count() > 0);
    all.iter().filter_map(Weak::upgrade).collect()
}

fn check_type(ty: i32) -> SysResult<()> {
    if matches!(ty, SOCK_STREAM | SOCK_DGRAM | SOCK_SEQPACKET) {
        Ok(())
    } else {
        Err(ESOCKTNOSUPPORT)
    }
}

/// A connected pair of sockets of type `ty` (`SOCK_STREAM`, `SOCK_DGRAM` or
/// `SOCK_SEQPACKET`), each with `cred` as its peer's credentials.
pub fn pair(ty: i32, cred: Cred) -> SysResult<(Arc<Socket>, Arc<Socket>)> {
    check_type(ty)?;
    let pair = Pair::new(ty);
    let mk = |side| {
        let mut n = Naming::new(State::Connected);
        n.peer_cred = cred;
        Arc::new(Socket {
            pair: pair.clone(),
            side,
            ino: next_ino(),
            owner: cred,
            naming: Mutex::new(n),
            listed: true,
            netns: AtomicU64::new(0),
            mode: AtomicU32::new(0o777),
        })
    };
    let (a, b) = (mk(0), mk(1));
    register(&a);
    register(&b);
    lock(&a.naming).peer = Some(Arc::downgrade(&b));
    lock(&b.naming).peer = Some(Arc::downgrade(&a));
    Ok((a, b))
}

/// A new unbound, unconnected socket (`socket(2)`) made by `owner`.
pub fn new_socket(ty: i32, owner: Cred) -> SysResult<Arc<Socket>> {
    new_socket_as(ty, owner, true)
}

/// [`new_socket`] for the data path of another family's socket: not
/// listed as a unix socket, nor are the connections it accepts.
pub fn new_data_socket(ty: i32, owner: Cred) -> SysResult<Arc<Socket>> {
    new_socket_as(ty, owner, false)
}

fn new_socket_as(ty: i32, owner: Cred, listed: bool) -> SysResult<Arc<Socket>> {
    check_type(ty)?;
    let s = Arc::new(Socket {
        pair: Pair::new(ty),
        side: 0,
        ino: next_ino(),
        owner,
        naming: Mutex::new(Naming::new(State::Unconnected)),
        listed,
        netns: AtomicU64::new(0),
        mode: AtomicU32::new(0o777),
    });
    if listed {
        register(&s);
    }
    Ok(s)
}

/// The socket bound to the socket file `inode`: `ECONNREFUSED` if none
/// (never bound, or closed since).
pub fn find_by_inode(inode: &Arc<Inode>) -> SysResult<Arc<Socket>> {
    let paths = lock(&PATHS);
    match paths.get(&inode.ino) {
        Some((i, s)) if std::ptr::eq(i.as_ptr(), Arc::as_ptr(inode)) => {
            s.upgrade().ok_or(Errno::ECONNREFUSED)
        }
        _ => Err(Errno::ECONNREFUSED),
    }
}

/// The socket of type `ty` bound to the abstract address `addr` in network
/// namespace `netns`: `ECONNREFUSED` if none.
pub fn find_abstract(addr: &[u8], ty: i32, netns: u64) -> SysResult<Arc<Socket>> {
    let table = lock(&ABSTRACT);
    table
        .get(&(netns, ty, addr.to_vec()))
        .and_then(Weak::upgrade)
        .ok_or(Errno::ECONNREFUSED)
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

fn is_self(w: &Weak<Socket>, s: &Socket) -> bool {
    std::ptr::eq(w.as_ptr(), s)
}

impl Socket {
    fn ends(&self) -> MutexGuard<'_, [End; 2]> {
        lock(&self.pair.ends)
    }

    fn naming(&self) -> MutexGuard<'_, Naming> {
        lock(&self.naming)
    }

    fn peer_queue(&self) -> &Queue {
        &self.pair.queues[1 - self.side]
    }

    pub fn sock_type(&self) -> i32 {
        self.pair.ty
    }

    /// The network namespace the socket belongs to (see [`Socket::set_netns`]).
    pub fn netns(&self) -> u64 {
        self.netns.load(Ordering::Relaxed)
    }

    /// The permission bits of the socket's inode.
    pub fn mode(&self) -> u32 {
        self.mode.load(Ordering::Relaxed)
    }

    /// `fchmod` of the socket's descriptor.
    pub fn set_mode(&self, mode: u32) {
        self.mode.store(mode & 0o7777, Ordering::Relaxed);
    }

    /// Who made the socket (the owner `fchmod` checks).
    pub fn owner(&self) -> Cred {
        self.owner
    }

    /// Puts a new socket in network namespace `ns` (its maker's), before
    /// it has a name.
    pub fn set_netns(&self, ns: u64) {
        self.netns.store(ns, Ordering::Relaxed);
    }

    pub fn ino(&self) -> u64 {
        self.ino
    }

    /// `/proc/net/unix`'s state: `SS_CONNECTED` (3) with a peer,
    /// `SS_UNCONNECTED` (1) otherwise.
    pub fn proc_state(&self) -> u8 {
        if self.connected() {
            3
        } else {
            1
        }
    }

    /// The queue this end's waiters sleep on.
    pub fn queue(&self) -> &Queue {
        &self.pair.queues[self.side]
    }

    fn connection(&self) -> bool {
        self.pair.ty != SOCK_DGRAM
    }

    /// Whether a connection-oriented socket has (had) a peer.
    fn established(&self) -> bool {
        matches!(self.naming().state, State::Connected)
    }

    /// Sends `data`; `files` go with the first byte sent and are taken only
    /// if something is. A stream may send part of `data` (never nothing:
    /// `EAGAIN` when the peer's queue is full); a message goes whole or not
    /// at all. `EPIPE` is the caller's cue for `SIGPIPE` on streams only.
    pub fn send(&self, data: &[u8], files: &mut Vec<Arc<File>>) -> SysResult<usize> {
        self.send_to(data, files, None)
    }

    /// [`Socket::send`] with a destination (`sendto`); only datagram
    /// sockets use it, the others ignore it.
    pub fn send_to(
        &self,
        data: &[u8],
        files: &mut Vec<Arc<File>>,
        dest: Option<&Arc<Socket>>,
    ) -> SysResult<usize> {
        if self.pair.ty == SOCK_DGRAM {
            return self.send_dgram(data, files, dest);
        }
        if !self.established() {
            return Err(Errno::ENOTCONN);
        }
        let from = self.naming().local.clone();
        let mut ends = self.ends();
        let (me, peer) = split(&mut ends, self.side);
        let n = if self.pair.ty == SOCK_STREAM {
            send_stream(me, peer, data, files, from)?
        } else {
            send_message(me, peer, data, files, from)?
        };
        drop(ends);
        self.peer_queue().notify(events::IN | events::RDNORM);
        Ok(n)
    }

    /// The socket a datagram sent without an address goes to.
    pub fn dgram_peer(&self) -> Option<Arc<Socket>> {
        self.naming().peer.as_ref().and_then(Weak::upgrade)
    }

    fn send_dgram(
        &self,
        data: &[u8],
        files: &mut Vec<Arc<File>>,
        dest: Option<&Arc<Socket>>,
    ) -> SysResult<usize> {
        let (target, from) = {
            let mut n = self.naming();
            let target = match dest {
                Some(d) => d.clone(),
                None => match n.peer.as_ref().map(Weak::upgrade) {
                    None => return Err(Errno::ENOTCONN),
                    Some(Some(t)) => t,
                    Some(None) => {
                        n.peer = None;
                        n.peer_addr = None;
                        drop(n);
                        self.dgram_disconnected(None);
                        return Err(Errno::ECONNREFUSED);
                    }
                },
            };
            (target, n.local.clone())
        };
        let sndbuf = {
            let mut ends = self.ends();
            let me = &mut ends[self.side];
            if data.len() + 32 > me.sndbuf {
                return Err(Errno::EMSGSIZE);
            }
            if let Some(e) = me.err.take() {
                return Err(e);
            }
            if me.shutdown & SEND_SHUTDOWN != 0 {
                return Err(Errno::EPIPE);
            }
            me.sndbuf
        };
        // A connected receiver takes datagrams from its peer only.
        let allowed = match &target.naming().peer {
            Some(p) => is_self(p, self),
            None => true,
        };
        if !allowed {
            return Err(Errno::EPERM);
        }
        {
            let mut ends = target.ends();
            let rx = &mut ends[target.side];
            if rx.closed {
                return Err(Errno::ECONNREFUSED);
            }
            if rx.shutdown & RCV_SHUTDOWN != 0 {
                return Err(Errno::EPIPE);
            }
            if rx.rx_charge >= sndbuf {
                return Err(Errno::EAGAIN);
            }
            rx.push(Msg {
                data: data.to_vec(),
                off: 0,
                files: std::mem::take(files),
                charge: data.len() + MSG_OVERHEAD,
                from,
            });
        }
        target.queue().notify(events::IN | events::RDNORM);
        Ok(data.len())
    }

    /// Queues a datagram that came from outside the sandbox's sockets (a
    /// network stack's) on this datagram socket, as sent by `from`:
    /// `EAGAIN` when the receive queue is over `limit` bytes (the caller
    /// drops it, as a full socket buffer does).
    pub fn deliver(&self, data: Vec<u8>, from: Addr, limit: usize) -> SysResult<()> {
        {
            let mut ends = self.ends();
            let rx = &mut ends[self.side];
            if rx.closed || rx.shutdown & RCV_SHUTDOWN != 0 {
                return Err(Errno::EPIPE);
            }
            if rx.rx_charge >= limit {
                return Err(Errno::EAGAIN);
            }
            let charge = data.len() + MSG_OVERHEAD;
            rx.push(Msg {
                data,
                off: 0,
                files: Vec::new(),
                charge,
                from: Some(from),
            });
        }
        self.queue().notify(events::IN | events::RDNORM);
        Ok(())
    }

    /// Receives into `buf` (up to its length). `peek` leaves the data
    /// queued (files are then shared, not moved). `nonblock` only matters
    /// for a shut-down datagram socket, which reports end-of-file to a
    /// blocking reader and `EAGAIN` to a non-blocking one.
    pub fn recv(&self, buf: &mut [u8], peek: bool, nonblock: bool) -> SysResult<Received> {
        if self.connection() && !self.established() {
            return Err(if self.pair.ty == SOCK_STREAM {
                Errno::EINVAL
            } else {
                Errno::ENOTCONN
            });
        }
        let mut ends = self.ends();
        let (me, peer) = split(&mut ends, self.side);
        let before = me.rx_charge;
        let r = if self.pair.ty == SOCK_STREAM {
            recv_stream(me, buf, peek)
        } else {
            recv_message(self.pair.ty, me, buf, peek, nonblock)
        };
        let freed = me.rx_charge < before;
        let wake = freed && writable(peer, me);
        drop(ends);
        let out = events::OUT | events::WRNORM | EPOLLWRBAND;
        if wake {
            self.peer_queue().notify(out);
        }
        if freed && self.pair.ty == SOCK_DGRAM {
            // Senders to this socket's name wait on its queue.
            self.queue().notify(out);
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
        let (listening, pending, unconnected) = {
            let n = self.naming();
            match &n.state {
                State::Listening(l) => (true, !l.pending.is_empty(), false),
                State::Connected => (false, false, false),
                _ => (false, false, self.connection()),
            }
        };
        let mut ends = self.ends();
        let (me, peer) = split(&mut ends, self.side);
        let mut r = 0;
        if me.err.is_some() {
            r |= events::ERR;
        }
        if me.shutdown == SHUTDOWN_MASK || unconnected {
            r |= events::HUP;
        }
        if me.shutdown & RCV_SHUTDOWN != 0 {
            r |= events::RDHUP | events::IN | events::RDNORM;
        }
        if !me.rx.is_empty() || pending {
            r |= events::IN | events::RDNORM;
        }
        if !listening && writable(me, peer) {
            r |= events::OUT | events::WRNORM | EPOLLWRBAND;
        }
        r
    }

    /// Resets a connection (TCP's abortive close, `SO_LINGER` 0): the
    /// peer reads what it has, then `ECONNRESET`, and can send no more.
    pub fn reset_peer(&self) {
        if !self.connection() || !self.established() {
            return;
        }
        let mut ends = self.ends();
        let (_, peer) = split(&mut ends, self.side);
        peer.err = Some(Errno::ECONNRESET);
        peer.shutdown = SHUTDOWN_MASK;
        drop(ends);
        self.peer_queue().notify(events::ALL);
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

    /// A generic on/off socket option (`optname` below 64); it changes
    /// nothing about how a unix socket behaves, as on Linux.
    pub fn flag(&self, optname: u32) -> bool {
        self.ends()[self.side].flags & (1u64 << (optname & 63)) != 0
    }

    pub fn set_flag(&self, optname: u32, on: bool) {
        let bit = 1u64 << (optname & 63);
        let e = &mut self.ends()[self.side];
        e.flags = if on { e.flags | bit } else { e.flags & !bit };
    }

    /// `SO_LINGER`: (on, seconds).
    pub fn linger(&self) -> (bool, i32) {
        self.ends()[self.side].linger
    }

    /// Sets `SO_LINGER`; turning it off keeps the seconds.
    pub fn set_linger(&self, on: bool, secs: i32) {
        let e = &mut self.ends()[self.side];
        e.linger = if on {
            (true, secs)
        } else {
            (false, e.linger.1)
        };
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

    /// `SO_PEERCRED`: who was at the other end when the connection was made
    /// (for a listener, who called `listen`).
    pub fn peer_cred(&self) -> Cred {
        self.naming().peer_cred
    }

    /// Whether the socket has a peer (`getpeername`).
    pub fn connected(&self) -> bool {
        let n = self.naming();
        if self.connection() {
            matches!(n.state, State::Connected)
        } else {
            n.peer.is_some()
        }
    }

    /// A listener's (connections waiting, backlog).
    pub fn backlog(&self) -> Option<(usize, usize)> {
        match &self.naming().state {
            State::Listening(l) => Some((l.pending.len(), l.backlog)),
            _ => None,
        }
    }

    /// `SO_ACCEPTCONN`.
    pub fn listening(&self) -> bool {
        matches!(self.naming().state, State::Listening(_))
    }

    /// The bound name (`getsockname`); `None` when unbound.
    pub fn local_addr(&self) -> Option<Addr> {
        self.naming().local.clone()
    }

    /// The peer's name (`getpeername`): `ENOTCONN` without a peer, `None`
    /// for an unnamed one.
    pub fn peer_addr(&self) -> SysResult<Option<Addr>> {
        if !self.connected() {
            return Err(Errno::ENOTCONN);
        }
        Ok(self.naming().peer_addr.clone())
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

    // -- names --------------------------------------------------------------

    /// Names the socket `addr` without registering the name anywhere: the
    /// socket is found by whoever keeps it (inet sockets by port). It is
    /// what `getsockname` reports and what datagrams and connections from
    /// this socket carry as their sender.
    pub fn set_name(&self, addr: Addr) {
        self.naming().local = Some(addr);
    }

    /// Sets the send buffer's flow-control size in bytes as is (no
    /// doubling, no limits): inet streams report Linux's figures but
    /// let more bytes be in flight, as TCP's buffer auto-tuning does.
    pub fn set_sndbuf_bytes(&self, v: usize) {
        self.ends()[self.side].sndbuf = v.max(MIN_SNDBUF);
        self.queue().notify(events::OUT | events::WRNORM);
    }

    /// Binds to the socket file `inode`, whose name is `addr` (the caller
    /// made the file). `EINVAL` if the socket already has a name.
    pub fn bind_path(self: &Arc<Self>, addr: Addr, inode: &Arc<Inode>) -> SysResult<()> {
        let mut n = self.naming();
        if n.local.is_some() {
            return Err(Errno::EINVAL);
        }
        let me = Arc::downgrade(self);
        lock(&PATHS).insert(inode.ino, (Arc::downgrade(inode), me));
        n.local = Some(addr.clone());
        n.bound = Some(Bound::Path(Arc::downgrade(inode)));
        drop(n);
        self.rename_sent(&addr);
        Ok(())
    }

    /// Binds to the abstract address `addr`: `EINVAL` if the socket already
    /// has a name, `EADDRINUSE` if another socket has this one.
    pub fn bind_abstract(self: &Arc<Self>, addr: Addr) -> SysResult<()> {
        let mut n = self.naming();
        if n.local.is_some() {
            return Err(Errno::EINVAL);
        }
        let me = Arc::downgrade(self);
        let mut table = lock(&ABSTRACT);
        let key = (self.netns(), self.pair.ty, addr.clone());
        if table.get(&key).is_some_and(|w| w.strong_count() > 0) {
            return Err(Errno::EADDRINUSE);
        }
        table.insert(key, me);
        drop(table);
        n.local = Some(addr.clone());
        n.bound = Some(Bound::Abstract(addr.clone()));
        drop(n);
        self.rename_sent(&addr);
        Ok(())
    }

    /// A connected socket that binds after sending: what it sent and the
    /// peer has not read is now from `addr`, as Linux's receiver reports
    /// its sender's address as it is when read, not when sent (`recvfrom`
    /// on the accepted side, `AllSocketPairTest.BoundSenderAddrCoalesced`).
    fn rename_sent(&self, addr: &Addr) {
        if self.pair.ty == SOCK_DGRAM {
            return;
        }
        let mut ends = self.ends();
        let (_, peer) = split(&mut ends, self.side);
        for m in peer.rx.iter_mut() {
            m.from = Some(addr.clone());
        }
    }

    /// Binds to a fresh abstract name (`"\0" + 5 hex digits`), unless the
    /// socket has a name already.
    pub fn autobind(self: &Arc<Self>) -> SysResult<()> {
        if self.naming().local.is_some() {
            return Ok(());
        }
        for _ in 0..=0xfffff {
            let k = AUTOBIND.fetch_add(1, Ordering::Relaxed) & 0xfffff;
            let mut addr = vec![AF_UNIX as u8, 0, 0];
            addr.extend_from_slice(format!("{k:05x}").as_bytes());
            match self.bind_abstract(addr) {
                Err(Errno::EADDRINUSE) => continue,
                Err(Errno::EINVAL) => return Ok(()),
                r => return r,
            }
        }
        Err(Errno::ENOSPC)
    }

    // -- connections --------------------------------------------------------

    /// The last descriptor of the socket is closed: a listener stops
    /// listening at once (connectors waiting for room are refused, the
    /// connections it had not accepted are reset), even if a connector
    /// still holds it.
    pub fn release(&self) {
        let pending = {
            let mut n = self.naming();
            if !matches!(n.state, State::Listening(_)) {
                return;
            }
            match std::mem::replace(&mut n.state, State::Unconnected) {
                State::Listening(l) => l.pending,
                _ => VecDeque::new(),
            }
        };
        drop(pending);
        self.queue().notify(events::ALL);
    }

    /// `listen(2)`: `EOPNOTSUPP` for datagram sockets, `EINVAL` unbound or
    /// connected. Listening again changes the backlog. `cred` is who
    /// listens: what connecting sockets see as `SO_PEERCRED`.
    pub fn listen(&self, backlog: i32, cred: Cred) -> SysResult<()> {
        if !self.connection() {
            return Err(Errno::EOPNOTSUPP);
        }
        let backlog = if backlog < 0 {
            SOMAXCONN
        } else {
            (backlog as usize).min(SOMAXCONN)
        };
        let mut n = self.naming();
        if n.local.is_none() {
            return Err(Errno::EINVAL);
        }
        match &mut n.state {
            State::Unconnected => {
                n.state = State::Listening(Listener {
                    backlog,
                    pending: VecDeque::new(),
                });
                n.peer_cred = cred;
            }
            State::Listening(l) => l.backlog = backlog,
            _ => return Err(Errno::EINVAL),
        }
        drop(n);
        // A larger backlog may let waiting connectors in.
        self.queue().notify(events::OUT | events::WRNORM);
        Ok(())
    }

    /// One attempt to connect to `listener` (found by name) as `cred`:
    /// `EAGAIN` while its backlog is full. On success the connection waits
    /// in the listener's backlog and this socket is connected.
    pub fn connect(self: &Arc<Self>, listener: &Arc<Socket>, cred: Cred) -> SysResult<()> {
        self.connect_named(listener, cred, None)
    }

    /// [`Socket::connect`] where the connection's server side is named
    /// `server_name` rather than after the listener: an inet listener bound
    /// to a wildcard address accepts connections named by the address the
    /// client asked for.
    pub fn connect_named(
        self: &Arc<Self>,
        listener: &Arc<Socket>,
        cred: Cred,
        server_name: Option<Addr>,
    ) -> SysResult<()> {
        if !self.connection() {
            return Err(Errno::EINVAL);
        }
        if listener.pair.ty != self.pair.ty {
            return Err(Errno::EPROTOTYPE);
        }
        // Linux looks at the listener before at this socket's state.
        listener.room()?;
        let local = {
            let mut n = self.naming();
            match n.state {
                State::Unconnected => {}
                State::Connected => return Err(Errno::EISCONN),
                State::Connecting => return Err(Errno::EALREADY),
                State::Listening(_) => return Err(Errno::EINVAL),
            }
            n.state = State::Connecting;
            n.local.clone()
        };
        let r = self.enqueue(listener, cred, local, server_name);
        let mut n = self.naming();
        match r {
            Ok((server, server_addr, listener_cred)) => {
                n.state = State::Connected;
                n.peer = Some(Arc::downgrade(&server));
                n.peer_addr = server_addr;
                n.peer_cred = listener_cred;
                drop(n);
                listener.queue().notify(events::IN | events::RDNORM);
                self.queue().notify(events::OUT | events::WRNORM);
                Ok(())
            }
            Err(e) => {
                n.state = State::Unconnected;
                Err(e)
            }
        }
    }

    /// Whether a connection could be queued now: `ECONNREFUSED` when not
    /// listening, `EAGAIN` when the backlog is full.
    fn room(&self) -> SysResult<()> {
        match &self.naming().state {
            State::Listening(l) if l.pending.len() > l.backlog => Err(Errno::EAGAIN),
            State::Listening(_) => Ok(()),
            _ => Err(Errno::ECONNREFUSED),
        }
    }

    /// Makes the server side of a connection from `self` and queues it on
    /// `listener`. Returns it with the listener's name and credentials.
    fn enqueue(
        self: &Arc<Self>,
        listener: &Arc<Socket>,
        cred: Cred,
        local: Option<Addr>,
        server_name: Option<Addr>,
    ) -> SysResult<(Arc<Socket>, Option<Addr>, Cred)> {
        let mut ln = listener.naming();
        let laddr = server_name.or_else(|| ln.local.clone());
        let lcred = ln.peer_cred;
        let State::Listening(l) = &mut ln.state else {
            return Err(Errno::ECONNREFUSED);
        };
        if l.pending.len() > l.backlog {
            return Err(Errno::EAGAIN);
        }
        let mut sn = Naming::new(State::Connected);
        sn.local = laddr.clone();
        sn.peer = Some(Arc::downgrade(self));
        sn.peer_addr = local;
        sn.peer_cred = cred;
        sn.embryo = true;
        let server = Arc::new(Socket {
            pair: self.pair.clone(),
            side: 1 - self.side,
            ino: next_ino(),
            owner: listener.owner,
            naming: Mutex::new(sn),
            listed: listener.listed,
            netns: AtomicU64::new(listener.netns()),
            mode: AtomicU32::new(0o777),
        });
        l.pending.push_back(server.clone());
        drop(ln);
        if server.listed {
            register(&server);
        }
        Ok((server, laddr, lcred))
    }

    /// One attempt to take a connection from a listening socket: `EAGAIN`
    /// when there is none, `EINVAL` when not listening, `EOPNOTSUPP` for
    /// datagram sockets.
    pub fn accept(&self) -> SysResult<Arc<Socket>> {
        if !self.connection() {
            return Err(Errno::EOPNOTSUPP);
        }
        let mut n = self.naming();
        let State::Listening(l) = &mut n.state else {
            return Err(Errno::EINVAL);
        };
        let s = l.pending.pop_front().ok_or(Errno::EAGAIN)?;
        drop(n);
        s.naming().embryo = false;
        // Room in the backlog for a waiting connector.
        self.queue().notify(events::OUT | events::WRNORM);
        Ok(s)
    }

    /// `connect(2)` of a datagram socket: `target` becomes the default
    /// destination and the only sender accepted; `None` (`AF_UNSPEC`)
    /// dissolves the association.
    pub fn connect_dgram(&self, target: Option<&Arc<Socket>>) -> SysResult<()> {
        if self.connection() {
            return Err(Errno::EINVAL);
        }
        let addr = target.and_then(|t| t.local_addr());
        let old = {
            let mut n = self.naming();
            n.peer_addr = addr;
            std::mem::replace(&mut n.peer, target.map(Arc::downgrade))
        };
        if let Some(old) = old {
            if target.is_none_or(|t| !is_self(&old, t)) {
                self.dgram_disconnected(old.upgrade());
            }
        }
        Ok(())
    }

    /// A datagram socket leaves its peer `old` (`unix_dgram_disconnected`):
    /// what it had received is dropped, and a peer connected back learns
    /// of the loss by `ECONNRESET`.
    fn dgram_disconnected(&self, old: Option<Arc<Socket>>) {
        let purged: Vec<Msg> = {
            let mut ends = self.ends();
            let me = &mut ends[self.side];
            me.rx_bytes = 0;
            me.rx_charge = 0;
            me.rx.drain(..).collect()
        };
        if purged.is_empty() {
            return;
        }
        drop(purged);
        self.queue().notify(events::OUT | events::WRNORM);
        if let Some(o) = old {
            let back = o.naming().peer.as_ref().is_some_and(|p| is_self(p, self));
            if back {
                o.ends()[o.side].err = Some(Errno::ECONNRESET);
                o.queue().notify(events::ERR);
            }
        }
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
    from: Option<Addr>,
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
                from: from.clone(),
            }),
        }
        sent += chunk;
    }
    Ok(sent)
}

/// A message over a connection (`SOCK_SEQPACKET`).
fn send_message(
    me: &mut End,
    peer: &mut End,
    data: &[u8],
    files: &mut Vec<Arc<File>>,
    from: Option<Addr>,
) -> SysResult<usize> {
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
    if peer.closed || peer.shutdown & RCV_SHUTDOWN != 0 {
        return Err(Errno::EPIPE);
    }
    peer.push(Msg {
        data: data.to_vec(),
        off: 0,
        files: std::mem::take(files),
        charge: data.len() + MSG_OVERHEAD,
        from,
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
    let mut r = Received {
        from: me.rx.front().and_then(|m| m.from.clone()),
        ..Default::default()
    };
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
        from: m.from.clone(),
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
    /// Closing: queued data and connections not accepted are discarded; a
    /// connected peer can no longer send or receive more, and learns of
    /// unread data (or of a connection never accepted) by `ECONNRESET`; the
    /// name is released.
    fn drop(&mut self) {
        let (pending, bound, embryo) = {
            let n = self.naming.get_mut().unwrap_or_else(|p| p.into_inner());
            let pending = match &mut n.state {
                State::Listening(l) => std::mem::take(&mut l.pending),
                _ => VecDeque::new(),
            };
            (pending, n.bound.take(), n.embryo)
        };
        match bound {
            Some(Bound::Path(inode)) => {
                let mut paths = lock(&PATHS);
                if let Some(ino) = inode.upgrade().map(|i| i.ino) {
                    if paths.get(&ino).is_some_and(|(_, s)| is_self(s, self)) {
                        paths.remove(&ino);
                    }
                }
                // Entries of removed files whose sockets are gone.
                paths.retain(|_, (i, s)| i.strong_count() > 0 && s.strong_count() > 0);
            }
            Some(Bound::Abstract(addr)) => {
                let mut t = lock(&ABSTRACT);
                let key = (self.netns(), self.pair.ty, addr);
                if t.get(&key).is_some_and(|s| is_self(s, self)) {
                    t.remove(&key);
                }
            }
            None => {}
        }
        let mut ends = self.ends();
        let (me, peer) = split(&mut ends, self.side);
        me.closed = true;
        let purged: Vec<Msg> = me.rx.drain(..).collect();
        me.rx_bytes = 0;
        me.rx_charge = 0;
        if self.pair.ty != SOCK_DGRAM {
            peer.shutdown = SHUTDOWN_MASK;
            if !purged.is_empty() || embryo {
                peer.err = Some(Errno::ECONNRESET);
            }
        }
        drop(ends);
        // Files in flight and pending connections may be sockets
        // themselves: drop them unlocked.
        drop(purged);
        drop(pending);
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

impl Drop for SocketFile {
    fn drop(&mut self) {
        self.sock.release();
    }
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

    /// `SO_RCVTIMEO` bounds `read(2)` too, as every receive.
    fn read_deadline(&self, started: Instant) -> Option<Instant> {
        self.sock.rcvtimeo().map(|d| started + d)
    }

    fn read_expired(&self, _f: &File, _buf: &mut [u8]) -> SysResult<usize> {
        Err(Errno::EAGAIN)
    }

    fn write_deadline(&self, started: Instant) -> Option<Instant> {
        self.sock.sndtimeo().map(|d| started + d)
    }

    fn stat(&self, _f: &File) -> SysResult<Stat> {
        let mut st = socket_stat(self.sock.ino, self.sock.owner);
        st.mode = S_IFSOCK | self.sock.mode();
        Ok(st)
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

/// What `fstat` says of a socket of any family: inode `ino` on the socket
/// filesystem, owned by who made it.
pub fn socket_stat(ino: u64, owner: Cred) -> Stat {
    Stat {
        dev: DEV_SOCK,
        ino,
        nlink: 1,
        mode: S_IFSOCK | 0o777,
        uid: owner.uid,
        gid: owner.gid,
        blksize: 4096,
        ..Default::default()
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

    fn abs(name: &str) -> Addr {
        let mut a = vec![AF_UNIX as u8, 0, 0];
        a.extend_from_slice(format!("{name}-{}", std::process::id()).as_bytes());
        a
    }

    fn cred(pid: i32) -> Cred {
        Cred {
            pid,
            uid: 1000,
            gid: 100,
        }
    }

    #[test]
    fn listen_connect_accept() {
        let l = new_socket(SOCK_STREAM, cred(1)).unwrap();
        assert_eq!(l.listen(1, cred(1)), Err(Errno::EINVAL));
        assert_eq!(l.accept().err(), Some(Errno::EINVAL));
        let name = abs("lca");
        l.bind_abstract(name.clone()).unwrap();
        assert_eq!(l.bind_abstract(abs("other")), Err(Errno::EINVAL));
        let l2 = new_socket(SOCK_STREAM, cred(1)).unwrap();
        assert_eq!(l2.bind_abstract(name.clone()), Err(Errno::EADDRINUSE));
        let c = new_socket(SOCK_STREAM, cred(2)).unwrap();
        assert_eq!(c.connect(&l, cred(2)), Err(Errno::ECONNREFUSED));
        assert_eq!(c.readiness(), OUT | events::HUP);
        l.listen(0, cred(1)).unwrap();
        assert!(l.listening());
        assert_eq!(l.readiness(), 0);
        assert_eq!(l.accept().err(), Some(Errno::EAGAIN));
        assert!(Arc::ptr_eq(
            &find_abstract(&name, SOCK_STREAM, 0).unwrap(),
            &l
        ));
        c.connect(&l, cred(2)).unwrap();
        assert_eq!(l.readiness(), IN);
        let c2 = new_socket(SOCK_STREAM, cred(3)).unwrap();
        assert_eq!(c2.connect(&l, cred(3)), Err(Errno::EAGAIN));
        // The backlog is looked at before this socket's own state.
        assert_eq!(c.connect(&l, cred(2)), Err(Errno::EAGAIN));
        assert_eq!(send(&c, b"early"), Ok(5));
        let s = l.accept().unwrap();
        assert_eq!(l.readiness(), 0);
        assert_eq!(c.connect(&l, cred(2)), Err(Errno::EISCONN));
        assert_eq!(recv(&s, 16).unwrap(), b"early");
        assert_eq!(send(&s, b"back"), Ok(4));
        let mut buf = [0u8; 8];
        let r = c.recv(&mut buf, false, true).unwrap();
        assert_eq!((r.len, r.from), (4, Some(name.clone())));
        assert_eq!(c.peer_cred(), cred(1));
        assert_eq!(s.peer_cred(), cred(2));
        assert_eq!(c.peer_addr(), Ok(Some(name.clone())));
        assert_eq!(s.local_addr(), Some(name.clone()));
        assert_eq!(s.peer_addr(), Ok(None));
        assert_eq!(c.local_addr(), None);
        drop(s);
        assert_eq!(recv(&c, 8).unwrap(), b"");
        // Closing the listener resets connections it had not accepted and
        // frees the name.
        c2.connect(&l, cred(3)).unwrap();
        drop(l);
        assert_eq!(recv(&c2, 8), Err(Errno::ECONNRESET));
        assert_eq!(
            find_abstract(&name, SOCK_STREAM, 0).err(),
            Some(Errno::ECONNREFUSED)
        );
        l2.bind_abstract(name).unwrap();
    }

    #[test]
    fn unconnected_errors() {
        let s = new_socket(SOCK_STREAM, cred(1)).unwrap();
        assert_eq!(send(&s, b"x"), Err(Errno::ENOTCONN));
        assert_eq!(recv(&s, 8), Err(Errno::EINVAL));
        assert_eq!(s.peer_addr(), Err(Errno::ENOTCONN));
        assert_eq!(s.peer_cred(), NO_CRED);
        let q = new_socket(SOCK_SEQPACKET, cred(1)).unwrap();
        assert_eq!(recv(&q, 8), Err(Errno::ENOTCONN));
        let d = new_socket(SOCK_DGRAM, cred(1)).unwrap();
        assert_eq!(d.listen(1, cred(1)), Err(Errno::EOPNOTSUPP));
        assert_eq!(d.accept().err(), Some(Errno::EOPNOTSUPP));
        assert_eq!(send(&d, b"x"), Err(Errno::ENOTCONN));
        let l = new_socket(SOCK_STREAM, cred(1)).unwrap();
        l.autobind().unwrap();
        l.listen(1, cred(1)).unwrap();
        assert_eq!(d.connect(&l, cred(1)), Err(Errno::EINVAL));
        let q2 = new_socket(SOCK_SEQPACKET, cred(1)).unwrap();
        assert_eq!(q2.connect(&l, cred(1)), Err(Errno::EPROTOTYPE));
        assert!(new_socket(4, cred(1)).is_err());
    }

    #[test]
    fn autobind_names() {
        let s = new_socket(SOCK_DGRAM, cred(1)).unwrap();
        s.autobind().unwrap();
        let a = s.local_addr().unwrap();
        assert_eq!(a.len(), 8);
        assert_eq!(&a[..3], &[AF_UNIX as u8, 0, 0]);
        s.autobind().unwrap();
        assert_eq!(s.local_addr(), Some(a.clone()));
        assert!(Arc::ptr_eq(&find_abstract(&a, SOCK_DGRAM, 0).unwrap(), &s));
        let t = new_socket(SOCK_DGRAM, cred(1)).unwrap();
        t.autobind().unwrap();
        assert_ne!(t.local_addr(), Some(a));
    }

    #[test]
    fn datagrams_by_name() {
        let a = new_socket(SOCK_DGRAM, cred(1)).unwrap();
        let b = new_socket(SOCK_DGRAM, cred(1)).unwrap();
        let c = new_socket(SOCK_DGRAM, cred(1)).unwrap();
        a.bind_abstract(abs("dga")).unwrap();
        b.bind_abstract(abs("dgb")).unwrap();
        let mut none = Vec::new();
        assert_eq!(b.send_to(b"hi", &mut none, Some(&a)), Ok(2));
        assert_eq!(c.send_to(b"anon", &mut none, Some(&a)), Ok(4));
        assert_eq!(a.readiness(), IN | OUT);
        let mut buf = [0u8; 8];
        let r = a.recv(&mut buf, false, true).unwrap();
        assert_eq!((&buf[..r.len], r.from), (&b"hi"[..], Some(abs("dgb"))));
        let r = a.recv(&mut buf, false, true).unwrap();
        assert_eq!((&buf[..r.len], r.from), (&b"anon"[..], None));
        // A connected socket takes datagrams from its peer only.
        a.connect_dgram(Some(&b)).unwrap();
        assert_eq!(a.peer_addr(), Ok(Some(abs("dgb"))));
        assert_eq!(c.send_to(b"x", &mut none, Some(&a)), Err(Errno::EPERM));
        assert_eq!(b.send_to(b"y", &mut none, Some(&a)), Ok(1));
        assert_eq!(send(&a, b"to b"), Ok(4));
        assert_eq!(recv(&b, 8).unwrap(), b"to b");
        // Leaving a peer drops what was received; the peer, connected
        // back, is told.
        b.connect_dgram(Some(&a)).unwrap();
        assert_eq!(b.send_to(b"lost", &mut none, None), Ok(4));
        a.connect_dgram(None).unwrap();
        assert_eq!(a.peer_addr(), Err(Errno::ENOTCONN));
        assert_eq!(recv(&a, 8), Err(Errno::EAGAIN));
        assert_eq!(b.take_error(), Some(Errno::ECONNRESET));
        c.connect_dgram(Some(&a)).unwrap();
        assert_eq!(send(&c, b"z"), Ok(1));
        drop(a);
        assert_eq!(send(&c, b"z"), Err(Errno::ECONNREFUSED));
        assert_eq!(send(&c, b"z"), Err(Errno::ENOTCONN));
    }

    #[test]
    fn bound_to_an_inode() {
        use crate::inode::{Kind, Meta, DEV_ROOT};
        let ino = Inode::new(
            next_ino(),
            DEV_ROOT,
            Meta::new(S_IFSOCK | 0o755, 0, 0),
            Kind::Socket,
        );
        assert_eq!(find_by_inode(&ino).err(), Some(Errno::ECONNREFUSED));
        let s = new_socket(SOCK_STREAM, cred(1)).unwrap();
        let mut name = vec![AF_UNIX as u8, 0];
        name.extend_from_slice(b"x.sock\0");
        s.bind_path(name.clone(), &ino).unwrap();
        assert_eq!(s.bind_path(name.clone(), &ino), Err(Errno::EINVAL));
        assert!(Arc::ptr_eq(&find_by_inode(&ino).unwrap(), &s));
        assert_eq!(s.local_addr(), Some(name));
        drop(s);
        assert_eq!(find_by_inode(&ino).err(), Some(Errno::ECONNREFUSED));
    }

    #[test]
    fn released_listener_refuses() {
        let l = new_socket(SOCK_SEQPACKET, cred(1)).unwrap();
        l.autobind().unwrap();
        l.listen(5, cred(1)).unwrap();
        let c = new_socket(SOCK_SEQPACKET, cred(2)).unwrap();
        c.connect(&l, cred(2)).unwrap();
        let held = l.clone();
        drop(new_file(l, 0));
        assert!(!held.listening());
        assert_eq!(recv(&c, 8), Err(Errno::ECONNRESET));
        let c2 = new_socket(SOCK_SEQPACKET, cred(2)).unwrap();
        assert_eq!(c2.connect(&held, cred(2)), Err(Errno::ECONNREFUSED));
    }
}
