//! Inet sockets: TCP (`SOCK_STREAM`) and UDP (`SOCK_DGRAM`) over IPv4 and
//! IPv6 (dual-stack unless `IPV6_V6ONLY`), on the loopback interface.
//!
//! Each socket carries an `AF_UNIX` socket of the same type (its *data*
//! socket) that does the data path and the waiting: a TCP connection is a
//! unix stream connection made through the listener's data socket, so its
//! two ends share one buffer pair; a UDP datagram is a unix datagram sent
//! to the receiving socket's data socket. The data sockets are named with
//! the inet address they stand for (always as a `sockaddr_in6`, which
//! holds both families), so a receiver learns who sent a datagram and an
//! accepted connection who connected, and each side converts it to its
//! own family.
//!
//! This module keeps what is TCP's or UDP's own: ports (through the
//! [`Stack`]), addresses, connection state and its errors, and options.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use abi::{Errno, SysResult};
use vfs::unix::{self, Cred};
use waiter::{events, Queue};

use crate::{destination, encode_addr, lock, source_for, Binding, Proto, Stack, AF_INET, AF_INET6};

/// Linux's defaults: `tcp_wmem[1]`, `tcp_rmem[1]`, UDP's
/// `wmem_default`/`rmem_default`.
pub const TCP_SNDBUF: usize = 16384;
pub const TCP_RCVBUF: usize = 131_072;
pub const UDP_BUF: usize = 212_992;
/// How much a TCP sender may have in flight: what Linux's buffer
/// auto-tuning grows a loopback connection's send buffer to (its
/// `tcp_wmem[2]`), unless the program sets `SO_SNDBUF`.
const TCP_FLIGHT: usize = 4 << 20;
/// Largest UDP payload over IPv4 and IPv6 (65535 minus the headers).
pub const UDP_MAX_V4: usize = 65_507;
pub const UDP_MAX_V6: usize = 65_527;
/// The loopback MSS (MTU 65536 minus the IP and TCP headers).
pub const LOOPBACK_MSS: i32 = 65_483;

/// Where a socket is, as `connect`/`listen` see it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Conn {
    Closed,
    /// A non-blocking `connect` found the listener's backlog full: it is
    /// retried until the listener accepts (TCP's SYN retransmission).
    Connecting(SocketAddr),
    /// `reported`: the program has been told (a blocking `connect`
    /// returned 0, or a later `connect` after `EINPROGRESS` did).
    Connected {
        reported: bool,
    },
    /// A non-blocking `connect` was refused after `EINPROGRESS`: the next
    /// `connect` reports it (`ECONNREFUSED`, or `ECONNABORTED` if
    /// `SO_ERROR` took the error first).
    Failed,
    Listening,
}

/// Integer options kept and reported, Linux's defaults.
#[derive(Clone, Copy)]
pub struct Opts {
    pub nodelay: bool,
    pub cork: bool,
    pub keepidle: i32,
    pub keepintvl: i32,
    pub keepcnt: i32,
    pub syncnt: i32,
    pub linger2: i32,
    pub defer_accept: i32,
    pub window_clamp: i32,
    pub quickack: bool,
    pub user_timeout: i32,
    pub notsent_lowat: i32,
    pub maxseg: i32,
    pub fastopen: i32,
    pub tos: i32,
    pub ttl: i32,
    pub hops: i32,
    pub mc_ttl: i32,
    pub mc_loop: bool,
    pub pktinfo: bool,
    pub recvtos: bool,
    pub recvttl: bool,
    pub recverr: bool,
    pub mtu_discover: i32,
    pub freebind: bool,
    pub bind_no_port: bool,
    pub v6_pktinfo: bool,
    pub tclass: i32,
    pub v6_recverr: bool,
    /// `SO_LINGER`: `Some(seconds)` when on.
    pub linger: Option<i32>,
    pub reuseport: bool,
    pub rcvlowat: i32,
    pub priority: i32,
    pub mark: u32,
}

impl Default for Opts {
    fn default() -> Opts {
        Opts {
            nodelay: false,
            cork: false,
            keepidle: 7200,
            keepintvl: 75,
            keepcnt: 9,
            syncnt: 6,
            linger2: 60,
            defer_accept: 0,
            window_clamp: 0,
            quickack: true,
            user_timeout: 0,
            notsent_lowat: -1,
            maxseg: 536,
            fastopen: 0,
            tos: 0,
            ttl: 64,
            hops: 64,
            mc_ttl: 1,
            mc_loop: true,
            pktinfo: false,
            recvtos: false,
            recvttl: false,
            recverr: false,
            mtu_discover: 1,
            freebind: false,
            bind_no_port: false,
            v6_pktinfo: false,
            tclass: 0,
            v6_recverr: false,
            linger: None,
            reuseport: false,
            rcvlowat: 1,
            priority: 0,
            mark: 0,
        }
    }
}

struct State {
    /// The bound (or, once connected, the source) address; the port is 0
    /// until one is claimed.
    local: SocketAddr,
    /// Whether `local`'s port is held in the stack's table by this socket
    /// (accepted sockets share their listener's).
    holds_port: bool,
    /// Bound by `bind` (not by a connect or send's implicit bind).
    user_bound: bool,
    peer: Option<SocketAddr>,
    conn: Conn,
    /// Pending error (`SO_ERROR`) of inet origin (refused connections,
    /// ICMP port unreachable on connected UDP).
    err: Option<Errno>,
    v6only: bool,
    opts: Opts,
    /// Reported `SO_SNDBUF`/`SO_RCVBUF`.
    sndbuf: usize,
    rcvbuf: usize,
    /// Connectors waiting for room in this listener's backlog.
    waiting: Vec<Weak<InetSocket>>,
    /// `shutdown` of a socket that is not connected fails with
    /// `ENOTCONN` yet marks it shut (Linux's `inet_shutdown`): a receive
    /// then finds the end of the stream.
    shut_rd: bool,
}

/// An `AF_INET` or `AF_INET6` socket.
pub struct InetSocket {
    pub family: i32,
    pub proto: Proto,
    data: Arc<unix::Socket>,
    pub owner: Cred,
    st: Mutex<State>,
    /// The network the socket belongs to.
    stack: Arc<Stack>,
}

/// Where a datagram goes.
enum Route {
    /// To a sandbox socket's data socket (`None`: nobody receives).
    Local(Option<Arc<unix::Socket>>),
    /// Out through the link, from this port.
    Link(u16, SocketAddr),
}

/// What one `connect` attempt did.
#[derive(Debug, PartialEq, Eq)]
pub enum Connected {
    /// Established now.
    Now,
    /// Already established by an earlier non-blocking `connect`: `0` now.
    Earlier,
}

fn data_name(a: SocketAddr) -> Vec<u8> {
    encode_addr(AF_INET6, a)
}

/// Decodes a data socket's name.
fn from_data_name(b: &[u8]) -> Option<SocketAddr> {
    crate::parse_addr(AF_INET6, b, false).ok()
}

fn unix_type(p: Proto) -> i32 {
    match p {
        Proto::Tcp => unix::SOCK_STREAM,
        Proto::Udp => unix::SOCK_DGRAM,
    }
}

impl InetSocket {
    /// A new socket (`socket(2)`) on `stack`, made by `owner`.
    pub fn new(
        stack: Arc<Stack>,
        family: i32,
        proto: Proto,
        owner: Cred,
    ) -> SysResult<Arc<InetSocket>> {
        let data = unix::new_data_socket(unix_type(proto), owner)?;
        let (sndbuf, rcvbuf) = match proto {
            Proto::Tcp => {
                data.set_sndbuf_bytes(TCP_FLIGHT);
                (TCP_SNDBUF, TCP_RCVBUF)
            }
            Proto::Udp => (UDP_BUF, UDP_BUF),
        };
        Ok(Self::wrap(
            stack, family, proto, data, owner, sndbuf, rcvbuf,
        ))
    }

    fn wrap(
        stack: Arc<Stack>,
        family: i32,
        proto: Proto,
        data: Arc<unix::Socket>,
        owner: Cred,
        sndbuf: usize,
        rcvbuf: usize,
    ) -> Arc<InetSocket> {
        let s = Arc::new(InetSocket {
            stack,
            family,
            proto,
            data,
            owner,
            st: Mutex::new(State {
                local: crate::any_addr(family),
                holds_port: false,
                user_bound: false,
                peer: None,
                conn: Conn::Closed,
                err: None,
                v6only: false,
                opts: Opts::default(),
                sndbuf,
                rcvbuf,
                waiting: Vec::new(),
                shut_rd: false,
            }),
        });
        s.stack().register(&s);
        s
    }

    fn st(&self) -> MutexGuard<'_, State> {
        lock(&self.st)
    }

    pub fn stack(&self) -> &Stack {
        &self.stack
    }

    /// The unix socket that carries the data.
    pub fn data(&self) -> &Arc<unix::Socket> {
        &self.data
    }

    pub fn queue(&self) -> &Queue {
        self.data.queue()
    }

    pub fn ino(&self) -> u64 {
        self.data.ino()
    }

    /// `IPPROTO_TCP` or `IPPROTO_UDP` (`SO_PROTOCOL`).
    pub fn protocol(&self) -> i32 {
        match self.proto {
            Proto::Tcp => crate::IPPROTO_TCP,
            Proto::Udp => crate::IPPROTO_UDP,
        }
    }

    /// Whether `ip` (canonical) is an address this socket may use: an IPv4
    /// socket takes IPv4 only, a `v6only` one IPv6 only.
    fn family_ok(&self, ip: IpAddr, v6only: bool) -> bool {
        match self.family {
            AF_INET => ip.is_ipv4(),
            _ => !(v6only && ip.is_ipv4()),
        }
    }

    // -- names --------------------------------------------------------------

    /// Claims `port` on `ip` (both may be 0/unspecified). The caller holds
    /// the state lock.
    fn claim(
        self: &Arc<Self>,
        st: &mut State,
        ip: IpAddr,
        port: u16,
        listening: bool,
    ) -> SysResult<()> {
        let b = Binding {
            sock: Arc::downgrade(self),
            id: self.ino(),
            ip,
            family: self.family,
            v6only: st.v6only,
            reuseaddr: self.data.flag(SO_REUSEADDR),
            reuseport: st.opts.reuseport,
            listening,
        };
        let port = self.stack.bind_port(self.proto, port, b)?;
        st.local = SocketAddr::new(ip, port);
        st.holds_port = true;
        // A UDP socket on the wildcard or the link's address receives
        // from the link too (`deliver` drops the other family's).
        let link = crate::netstack::link_addr_for(ip);
        if self.proto == Proto::Udp
            && self.stack.uplink
            && (ip.is_unspecified() || link == Some(ip))
        {
            crate::netstack::udp_open(port, Arc::downgrade(self));
        }
        Ok(())
    }

    fn unclaim(&self, st: &mut State) {
        if st.holds_port {
            self.stack
                .unbind_port(self.proto, st.local.port(), self.ino());
            st.holds_port = false;
        }
    }

    /// `bind(2)` to `addr` (canonical): `EINVAL` if already bound,
    /// `EADDRNOTAVAIL` for an address not on this host, `EADDRINUSE`.
    pub fn bind(self: &Arc<Self>, addr: SocketAddr) -> SysResult<()> {
        let mut st = self.st();
        let ip = addr.ip();
        if self.family == AF_INET6 && st.v6only && ip.is_ipv4() {
            return Err(Errno::EINVAL);
        }
        if !ip.is_unspecified() && !self.stack.has_addr(ip) && !st.opts.freebind {
            return Err(Errno::EADDRNOTAVAIL);
        }
        if st.holds_port || st.user_bound || !matches!(st.conn, Conn::Closed) {
            return Err(Errno::EINVAL);
        }
        // `IP_BIND_ADDRESS_NO_PORT` defers the port to `connect`.
        if addr.port() == 0 && st.opts.bind_no_port && self.proto == Proto::Tcp {
            st.local = SocketAddr::new(ip, 0);
            st.user_bound = true;
            return Ok(());
        }
        self.claim(&mut st, ip, addr.port(), false)?;
        st.user_bound = true;
        // An IPv6 socket bound to an IPv6 address (not the wildcard, not
        // a v4-mapped one) can only ever use IPv6: Linux's `__inet6_bind`
        // makes it `IPV6_V6ONLY`.
        if self.family == AF_INET6 && ip.is_ipv6() && !ip.is_unspecified() {
            st.v6only = true;
        }
        let src = if ip.is_unspecified() {
            source_for(ip)
        } else {
            ip
        };
        self.data
            .set_name(data_name(SocketAddr::new(src, st.local.port())));
        Ok(())
    }

    /// Binds to an ephemeral port (a send or connect from an unbound
    /// socket) with the source address for `dest`.
    fn autobind(self: &Arc<Self>, st: &mut State, dest: IpAddr) -> SysResult<()> {
        let src = if st.local.ip().is_unspecified() {
            self.stack.source_for(dest)
        } else {
            st.local.ip()
        };
        if st.holds_port {
            // Bound to a wildcard: connections take the source address.
            if self.proto == Proto::Tcp {
                st.local = SocketAddr::new(src, st.local.port());
            }
        } else {
            let ip = match self.proto {
                Proto::Tcp => src,
                Proto::Udp => st.local.ip(),
            };
            // Only a port bound with IP_BIND_ADDRESS_NO_PORT is kept.
            let port = if st.user_bound { st.local.port() } else { 0 };
            self.claim(st, ip, port, false)?;
        }
        self.data
            .set_name(data_name(SocketAddr::new(src, st.local.port())));
        Ok(())
    }

    /// `getsockname`.
    pub fn local_addr(&self) -> SocketAddr {
        self.st().local
    }

    /// `getpeername`: `ENOTCONN` without a peer.
    pub fn peer_addr(&self) -> SysResult<SocketAddr> {
        let st = self.st();
        match (self.proto, st.conn, st.peer) {
            (Proto::Tcp, Conn::Connected { .. }, Some(p)) => Ok(p),
            (Proto::Udp, _, Some(p)) => Ok(p),
            _ => Err(Errno::ENOTCONN),
        }
    }

    // -- TCP connections ----------------------------------------------------

    /// `listen(2)`: `EINVAL` when connected, `EADDRINUSE` if another
    /// socket listens on the port; an unbound socket gets an ephemeral
    /// port. Listening again changes the backlog.
    pub fn listen(self: &Arc<Self>, backlog: i32) -> SysResult<()> {
        if self.proto != Proto::Tcp {
            return Err(Errno::EOPNOTSUPP);
        }
        let mut st = self.st();
        match st.conn {
            Conn::Closed => {}
            Conn::Listening => {
                drop(st);
                return self.data.listen(backlog, self.owner);
            }
            _ => return Err(Errno::EINVAL),
        }
        if !st.holds_port {
            let ip = st.local.ip();
            self.claim(&mut st, ip, 0, false)?;
            let name = data_name(SocketAddr::new(destination(ip), st.local.port()));
            self.data.set_name(name);
        }
        self.stack
            .set_listening(self.proto, st.local.port(), self.ino())?;
        self.data.listen(backlog, self.owner)?;
        st.conn = Conn::Listening;
        Ok(())
    }

    /// Whether `connect` may start: `EISCONN`, `EALREADY`, and the report
    /// of an earlier non-blocking one. `Ok(None)`: go ahead.
    pub fn connect_state(&self) -> SysResult<Option<Connected>> {
        let mut st = self.st();
        match st.conn {
            Conn::Closed => Ok(None),
            Conn::Listening => Err(Errno::EISCONN),
            Conn::Connecting(_) => Err(Errno::EALREADY),
            Conn::Connected { reported: true } => Err(Errno::EISCONN),
            Conn::Connected { reported: false } => {
                st.conn = Conn::Connected { reported: true };
                Ok(Some(Connected::Earlier))
            }
            Conn::Failed => {
                st.conn = Conn::Closed;
                Err(st
                    .err
                    .take()
                    .or(self.data.take_error())
                    .unwrap_or(Errno::ECONNABORTED))
            }
        }
    }

    /// One attempt to connect a TCP socket to `dest` (canonical).
    /// `ECONNREFUSED` when nobody listens there, `EAGAIN` while the
    /// listener's backlog is full (the caller waits on `listener`'s queue,
    /// or, not blocking, calls [`InetSocket::connect_later`]).
    pub fn connect(self: &Arc<Self>, dest: SocketAddr) -> SysResult<Connected> {
        let dest = SocketAddr::new(destination(dest.ip()), dest.port());
        let mut st = self.st();
        if !self.family_ok(dest.ip(), st.v6only) {
            return Err(Errno::ENETUNREACH);
        }
        if !self.stack.reachable(dest.ip()) {
            // IPv6 picks a source address first, and without one on the
            // way there (`lo` down in a new namespace) that fails first.
            let v6_source = self.stack.lo.state().addrs.iter().any(|a| a.ip.is_ipv6());
            return Err(if dest.is_ipv6() && !v6_source {
                Errno::EADDRNOTAVAIL
            } else {
                Errno::ENETUNREACH
            });
        }
        if dest.port() == 0 {
            return Err(Errno::ECONNREFUSED);
        }
        let fresh_port = !st.holds_port;
        self.autobind(&mut st, dest.ip())?;
        // A refused connection gives its port back, yet getsockname
        // still shows it (Linux clears inet_num, not inet_sport).
        let fail = |st: &mut State, e: Errno| {
            if fresh_port && !st.user_bound {
                self.unclaim(st);
            }
            e
        };
        let Some(listener) = self.stack.lookup(Proto::Tcp, dest) else {
            return Err(fail(&mut st, Errno::ECONNREFUSED));
        };
        let server_name = data_name(dest);
        match self
            .data
            .connect_named(&listener.data, self.owner, Some(server_name))
        {
            Ok(()) => {}
            Err(Errno::EAGAIN) => {
                // Wait for room, keeping the port.
                return Err(Errno::EAGAIN);
            }
            Err(e) => return Err(fail(&mut st, e)),
        }
        st.peer = Some(dest);
        st.conn = Conn::Connected { reported: true };
        Ok(Connected::Now)
    }

    /// A non-blocking `connect` found the backlog full: the connection is
    /// made when the listener has room (`EINPROGRESS` for the caller).
    pub fn connect_later(self: &Arc<Self>, dest: SocketAddr) {
        let dest = SocketAddr::new(destination(dest.ip()), dest.port());
        self.st().conn = Conn::Connecting(dest);
        if let Some(l) = self.stack.lookup(Proto::Tcp, dest) {
            l.st().waiting.push(Arc::downgrade(self));
        }
    }

    /// Takes over a connection still waiting for the listener's room (a
    /// blocking `connect` after an interrupted or non-blocking one waits
    /// for it, as Linux's does): its destination.
    pub fn take_pending(&self) -> Option<SocketAddr> {
        let mut st = self.st();
        match st.conn {
            Conn::Connecting(dest) => {
                st.conn = Conn::Closed;
                Some(dest)
            }
            _ => None,
        }
    }

    /// The connection of a non-blocking `connect` was made, or refused:
    /// marks it not yet reported to `connect`.
    pub fn connect_started(&self, r: SysResult<Connected>) {
        let mut st = self.st();
        match r {
            Ok(_) => st.conn = Conn::Connected { reported: false },
            Err(e) => {
                st.err = Some(e);
                st.conn = Conn::Failed;
            }
        }
        drop(st);
        self.queue().notify(events::ALL);
    }

    /// Retries a pending connection (see [`Conn::Connecting`]).
    fn retry_connect(self: &Arc<Self>) {
        let Conn::Connecting(dest) = self.st().conn else {
            return;
        };
        self.st().conn = Conn::Closed;
        match self.connect(dest) {
            Err(Errno::EAGAIN) => self.connect_later(dest),
            r => self.connect_started(r),
        }
    }

    /// The listener that `dest` reaches, for a blocking connect to wait on.
    pub fn listener_for(&self, dest: SocketAddr) -> Option<Arc<InetSocket>> {
        self.stack.lookup(
            Proto::Tcp,
            SocketAddr::new(destination(dest.ip()), dest.port()),
        )
    }

    /// One attempt to take a connection: `EAGAIN` when none waits,
    /// `EINVAL` when not listening.
    pub fn accept(&self) -> SysResult<Arc<InetSocket>> {
        if self.proto != Proto::Tcp {
            return Err(Errno::EOPNOTSUPP);
        }
        if !matches!(self.st().conn, Conn::Listening) {
            return Err(Errno::EINVAL);
        }
        let server = self.data.accept()?;
        // Room in the backlog: connectors waiting without blocking go in.
        let waiting = std::mem::take(&mut self.st().waiting);
        for w in waiting.iter().filter_map(Weak::upgrade) {
            w.retry_connect();
        }
        let local = server
            .local_addr()
            .and_then(|b| from_data_name(&b))
            .unwrap_or_else(|| self.local_addr());
        let peer = server
            .peer_addr()
            .ok()
            .flatten()
            .and_then(|b| from_data_name(&b));
        let (sndbuf, rcvbuf, opts) = {
            let st = self.st();
            (st.sndbuf, st.rcvbuf, st.opts)
        };
        let s = Self::wrap(
            self.stack.clone(),
            self.family,
            self.proto,
            server,
            self.owner,
            sndbuf,
            rcvbuf,
        );
        {
            let mut st = s.st();
            st.local = local;
            st.peer = peer;
            st.conn = Conn::Connected { reported: true };
            // Accepted sockets inherit the listener's options.
            st.opts = opts;
            st.opts.maxseg = LOOPBACK_MSS;
        }
        Ok(s)
    }

    /// Whether this TCP socket is connected (`ENOTCONN` otherwise for
    /// receives).
    pub fn connected(&self) -> bool {
        match self.proto {
            Proto::Tcp => matches!(self.st().conn, Conn::Connected { .. }),
            Proto::Udp => self.st().peer.is_some(),
        }
    }

    /// Whether a receive on this unconnected socket finds the end of the
    /// stream (see `State::shut_rd`).
    pub fn shut_rd(&self) -> bool {
        self.st().shut_rd
    }

    pub fn listening(&self) -> bool {
        matches!(self.st().conn, Conn::Listening)
    }

    /// `shutdown(2)`: `ENOTCONN` unless connected; on a listener, `SHUT_RD`
    /// stops listening.
    pub fn shutdown(&self, how: i32) -> SysResult<()> {
        if !(0..=2).contains(&how) {
            return Err(Errno::EINVAL);
        }
        let conn = self.st().conn;
        match (self.proto, conn) {
            (Proto::Tcp, Conn::Connected { .. }) => self.data.shutdown(how),
            (Proto::Tcp, Conn::Listening) => {
                if how != unix::SHUT_WR {
                    self.stop_listening();
                }
                Ok(())
            }
            (Proto::Udp, _) if self.st().peer.is_some() => self.data.shutdown(how),
            (Proto::Udp, _) => {
                self.data.shutdown(how)?;
                Err(Errno::ENOTCONN)
            }
            _ => {
                if how != unix::SHUT_WR {
                    self.st().shut_rd = true;
                }
                Err(Errno::ENOTCONN)
            }
        }
    }

    fn stop_listening(&self) {
        let mut st = self.st();
        self.data.release();
        st.conn = Conn::Closed;
        let port = st.local.port();
        drop(st);
        let mut ports = self.stack.ports(self.proto);
        if let Some(v) = ports.map.get_mut(&port) {
            for b in v.iter_mut().filter(|b| b.id == self.ino()) {
                b.listening = false;
            }
        }
    }

    /// The last descriptor is gone: a listener stops listening at once;
    /// a connection with `SO_LINGER` 0 is reset rather than closed.
    pub fn release(&self) {
        if self.proto == Proto::Udp {
            crate::netstack::udp_close(self);
        }
        if self.listening() {
            self.stop_listening();
        }
        if self.proto == Proto::Tcp && self.opts().linger == Some(0) {
            self.data.reset_peer();
        }
    }

    // -- UDP ----------------------------------------------------------------

    /// `connect(2)` of a UDP socket: `None` (`AF_UNSPEC`) dissolves the
    /// association.
    pub fn connect_udp(self: &Arc<Self>, dest: Option<SocketAddr>) -> SysResult<()> {
        let mut st = self.st();
        let Some(dest) = dest else {
            st.peer = None;
            if !st.user_bound {
                // Linux keeps the port but forgets the source address.
                st.local = SocketAddr::new(crate::any_addr(self.family).ip(), st.local.port());
            }
            return Ok(());
        };
        let dest = SocketAddr::new(destination(dest.ip()), dest.port());
        let reachable = self.stack.reachable(dest.ip()) || self.stack.via_link(dest.ip());
        if !self.family_ok(dest.ip(), st.v6only) || !reachable {
            return Err(Errno::ENETUNREACH);
        }
        if !st.holds_port {
            self.autobind(&mut st, dest.ip())?;
        }
        if st.local.ip().is_unspecified() {
            st.local = SocketAddr::new(self.stack.source_for(dest.ip()), st.local.port());
        }
        st.peer = Some(dest);
        st.err = None;
        Ok(())
    }

    /// Where a datagram goes: to `dest`, or the connected peer
    /// (`EDESTADDRREQ` without either). Binds an unbound sender. Returns
    /// the receiving data socket, `None` if nobody receives there (the
    /// datagram is lost; the sender may learn `ECONNREFUSED` on its
    /// next call, as from an ICMP port unreachable), or the sender's
    /// port and the destination when it goes out through the link.
    fn udp_route(self: &Arc<Self>, dest: Option<SocketAddr>) -> SysResult<Route> {
        let mut st = self.st();
        if let Some(e) = st.err.take() {
            return Err(e);
        }
        let dest = match dest.or(st.peer) {
            Some(d) => SocketAddr::new(destination(d.ip()), d.port()),
            None => return Err(Errno::EDESTADDRREQ),
        };
        let link = self.stack.via_link(dest.ip());
        if !self.family_ok(dest.ip(), st.v6only) || !(link || self.stack.reachable(dest.ip())) {
            return Err(Errno::ENETUNREACH);
        }
        // An IPv6 socket with a v4-mapped source (bound or connected to
        // one) cannot send to an IPv6 address (Linux's `udpv6_sendmsg`,
        // `EINVAL` since 6.x; `EAFNOSUPPORT` before).
        if self.family == AF_INET6 && st.local.ip().is_ipv4() && dest.ip().is_ipv6() {
            return Err(Errno::EINVAL);
        }
        if dest.port() == 0 {
            return Err(Errno::EINVAL);
        }
        if !st.holds_port {
            self.autobind(&mut st, dest.ip())?;
        }
        if link {
            return Ok(Route::Link(st.local.port(), dest));
        }
        let me = if st.local.ip().is_unspecified() {
            // A wildcard sender's datagrams come from the address of the
            // destination's family.
            let me = SocketAddr::new(source_for(dest.ip()), st.local.port());
            self.data.set_name(data_name(me));
            me
        } else {
            st.local
        };
        drop(st);
        let Some(target) = self.stack.lookup(Proto::Udp, dest) else {
            // Loopback's ICMP port unreachable, at once.
            self.port_unreachable(dest);
            return Ok(Route::Local(None));
        };
        // A connected receiver takes datagrams from its peer only.
        if let Some(p) = target.st().peer {
            if p != me && !(p.port() == me.port() && p.ip().is_unspecified()) {
                return Ok(Route::Local(None));
            }
        }
        Ok(Route::Local(Some(target.data.clone())))
    }

    /// Queues a datagram that came through the link from `from`
    /// (dropped if the socket is connected to another peer or its
    /// receive buffer is full, as Linux drops it).
    pub fn deliver(&self, data: Vec<u8>, from: SocketAddr) {
        let (peer, rcvbuf) = {
            let st = self.st();
            (st.peer, st.rcvbuf)
        };
        if peer.is_some_and(|p| p != from) {
            return;
        }
        let _ = self.data.deliver(data, data_name(from), rcvbuf);
    }

    /// Whether this socket, bound on the link's port, takes a datagram
    /// from `from` (canonical): an IPv4 socket takes IPv4, a `v6only` or
    /// IPv6-bound one IPv6, a dual-stack wildcard both.
    pub fn takes_from_link(&self, from: IpAddr) -> bool {
        let st = self.st();
        let local = st.local.ip();
        self.family_ok(from, st.v6only)
            && (local.is_unspecified() || local.is_ipv4() == from.is_ipv4())
    }

    /// An ICMP port unreachable for a datagram this socket sent to `dest`
    /// (through the link): as `__udp4_lib_err`, a socket connected to
    /// `dest`, or one with `IP_RECVERR`/`IPV6_RECVERR`, gets
    /// `ECONNREFUSED` as its pending error; others ignore it.
    pub fn port_unreachable(&self, dest: SocketAddr) {
        let report = {
            let st = self.st();
            st.peer == Some(dest) || st.opts.recverr || st.opts.v6_recverr
        };
        if report {
            self.set_error(Errno::ECONNREFUSED);
        }
    }

    fn set_error(&self, e: Errno) {
        self.st().err = Some(e);
        self.queue().notify(events::ERR);
    }

    /// The largest datagram this socket sends.
    pub fn udp_max(&self) -> usize {
        if self.family == AF_INET {
            UDP_MAX_V4
        } else {
            UDP_MAX_V6
        }
    }

    /// Converts a sender's data-socket name into this socket's family.
    pub fn sender(&self, name: &[u8]) -> Option<Vec<u8>> {
        from_data_name(name).map(|a| encode_addr(self.family, a))
    }

    // -- state for the syscall layer ----------------------------------------

    /// Takes the pending error (`SO_ERROR`), retrying a pending connect
    /// first.
    pub fn take_error(self: &Arc<Self>) -> Option<Errno> {
        self.retry_connect();
        let mut st = self.st();
        st.err.take().or_else(|| self.data.take_error())
    }

    /// Takes the pending error for a send or receive (UDP's ICMP errors).
    pub fn take_udp_error(&self) -> Option<Errno> {
        self.st().err.take()
    }

    /// Poll bits, as `tcp_poll`/`udp_poll`.
    pub fn readiness(self: &Arc<Self>) -> u32 {
        self.retry_connect();
        let (conn, err) = {
            let st = self.st();
            (st.conn, st.err.is_some())
        };
        let mut r = match (self.proto, conn) {
            (Proto::Tcp, Conn::Connecting(_)) => 0,
            // A reset connection is shut down both ways.
            (Proto::Tcp, Conn::Failed) => {
                self.data.readiness() | events::IN | events::RDNORM | events::RDHUP
            }
            _ => self.data.readiness(),
        };
        if self.proto == Proto::Udp {
            // An unconnected UDP socket never hangs up.
            r &= !events::HUP;
        }
        if err {
            r |= events::ERR;
        }
        r
    }

    pub fn opts(&self) -> Opts {
        self.st().opts
    }

    pub fn set_opts(&self, f: impl FnOnce(&mut Opts)) {
        f(&mut self.st().opts)
    }

    pub fn v6only(&self) -> bool {
        self.st().v6only
    }

    /// `IPV6_V6ONLY`: `EINVAL` once bound.
    pub fn set_v6only(&self, on: bool) -> SysResult<()> {
        let mut st = self.st();
        if st.holds_port {
            return Err(Errno::EINVAL);
        }
        st.v6only = on;
        Ok(())
    }

    pub fn sndbuf(&self) -> usize {
        self.st().sndbuf
    }

    pub fn rcvbuf(&self) -> usize {
        self.st().rcvbuf
    }

    /// `SO_SNDBUF` as Linux: doubled, within `wmem_max`; the flow-control
    /// window follows it.
    pub fn set_sndbuf(&self, v: u32) {
        let v = (v as usize)
            .min(unix::BUF_MAX)
            .saturating_mul(2)
            .max(unix::MIN_SNDBUF);
        self.st().sndbuf = v;
        if self.proto == Proto::Tcp {
            self.data.set_sndbuf_bytes(v);
        } else {
            self.data.set_sndbuf(v as u32 / 2);
        }
    }

    pub fn set_rcvbuf(&self, v: u32) {
        let v = (v as usize)
            .min(unix::BUF_MAX)
            .saturating_mul(2)
            .max(unix::MIN_RCVBUF);
        self.st().rcvbuf = v;
        self.data.set_rcvbuf(v as u32 / 2);
    }

    /// `FIONREAD`: unread bytes (the next datagram's size for UDP).
    pub fn inq(&self) -> usize {
        self.data.inq()
    }

    /// `SIOCOUTQ`: bytes sent and not yet acknowledged (TCP) or not yet
    /// handed to the device (UDP): a loopback peer acknowledges what it
    /// queued at once and the loopback device takes datagrams at once,
    /// so nothing is ever outstanding.
    pub fn outq(&self) -> usize {
        0
    }

    /// `/proc/net/tcp` state number and queues: (state, tx_queue, rx_queue).
    pub fn proc_state(&self) -> (u8, usize, usize) {
        let st = self.st();
        match (self.proto, st.conn) {
            // A listener shows its backlog as the send queue and the
            // connections waiting as the receive queue.
            (Proto::Tcp, Conn::Listening) => {
                let (waiting, backlog) = self.data.backlog().unwrap_or((0, 0));
                (0x0A, backlog, waiting)
            }
            (Proto::Tcp, Conn::Connected { .. }) => {
                let ready = self.data.readiness();
                let state = if ready & events::RDHUP != 0 {
                    0x08 // CLOSE_WAIT
                } else {
                    0x01 // ESTABLISHED
                };
                (state, 0, self.data.inq())
            }
            (Proto::Tcp, Conn::Connecting(_)) => (0x02, 0, 0),
            (Proto::Tcp, _) => (0x07, 0, 0),
            (Proto::Udp, _) => (
                if st.peer.is_some() { 0x01 } else { 0x07 },
                0,
                self.data.inq(),
            ),
        }
    }

    /// The peer for `/proc/net` (unspecified when none).
    pub fn proc_peer(&self) -> SocketAddr {
        let st = self.st();
        st.peer.unwrap_or_else(|| crate::any_addr(self.family))
    }

    /// Whether the socket has a port (appears in `/proc/net`).
    pub fn has_port(&self) -> bool {
        self.st().local.port() != 0
    }
}

impl Drop for InetSocket {
    fn drop(&mut self) {
        let st = self.st.get_mut().unwrap_or_else(|p| p.into_inner());
        if st.holds_port {
            self.stack
                .unbind_port(self.proto, st.local.port(), self.data.ino());
        }
    }
}

/// `SO_REUSEADDR`, kept among the data socket's generic flags.
pub const SO_REUSEADDR: u32 = 2;

/// `TCP_INFO`: a `struct tcp_info` (232 bytes) with the state, the
/// timers and segment sizes of a loopback connection; counters are 0.
pub fn tcp_info(s: &InetSocket) -> Vec<u8> {
    let mut v = vec![0u8; 232];
    let (state, _, _) = s.proc_state();
    v[0] = state;
    // tcpi_options, snd/rcv wscale: none. tcpi_rto (8), ato (12),
    // snd_mss (16), rcv_mss (20).
    let mss = s.opts().maxseg.max(0) as u32;
    let put =
        |v: &mut Vec<u8>, off: usize, x: u32| v[off..off + 4].copy_from_slice(&x.to_le_bytes());
    put(&mut v, 8, 200_000);
    put(&mut v, 12, 40_000);
    put(&mut v, 16, mss);
    put(&mut v, 20, mss);
    // tcpi_pmtu (68), tcpi_rcv_ssthresh (72), tcpi_rtt (76), rttvar
    // (80), snd_ssthresh (84), snd_cwnd (88), advmss (92), reordering
    // (96).
    put(&mut v, 68, 65_535);
    put(&mut v, 72, 65_483);
    put(&mut v, 76, 10);
    put(&mut v, 80, 5);
    put(&mut v, 84, 0x7fff_ffff);
    put(&mut v, 88, 10);
    put(&mut v, 92, mss);
    put(&mut v, 96, 3);
    v
}

/// The address a loopback socket of `family` reports for the wildcard.
pub fn unspecified(family: i32) -> IpAddr {
    if family == AF_INET {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    } else {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    }
}

// ---------------------------------------------------------------------------
// Socket files
// ---------------------------------------------------------------------------

use abi::fs::{Stat, O_NONBLOCK, O_RDWR};
use mm::MemoryManager;
use std::time::Instant;
use vfs::{File, FileOps};

/// `SIOCINQ`/`FIONREAD`, `SIOCOUTQ`/`TIOCOUTQ`, `SIOCOUTQNSD`.
pub const FIONREAD: u32 = 0x541B;
pub const SIOCOUTQ: u32 = 0x5411;
pub const SIOCOUTQNSD: u32 = 0x894B;

struct InetFile {
    sock: Arc<InetSocket>,
}

impl Drop for InetFile {
    fn drop(&mut self) {
        self.sock.release();
    }
}

impl FileOps for InetFile {
    /// `read(2)`: a receive without flags.
    fn read(&self, f: &File, buf: &mut [u8], _off: u64) -> SysResult<usize> {
        let s = &self.sock;
        if s.proto == Proto::Tcp && !s.connected() {
            return if s.shut_rd() {
                Ok(0)
            } else {
                Err(Errno::ENOTCONN)
            };
        }
        if let Some(e) = s.take_udp_error() {
            return Err(e);
        }
        s.data.recv(buf, false, f.nonblocking()).map(|r| r.len)
    }

    /// `write(2)`: a send without flags (`EPIPE` on an unconnected
    /// stream, `EDESTADDRREQ` on an unconnected datagram socket).
    fn write(&self, _f: &File, buf: &[u8], _off: u64) -> SysResult<usize> {
        let s = &self.sock;
        match s.proto {
            Proto::Tcp => {
                if !s.connected() {
                    return Err(Errno::EPIPE);
                }
                s.data.send(buf, &mut Vec::new())
            }
            Proto::Udp => udp_send(s, buf, None),
        }
    }

    /// `SO_RCVTIMEO` bounds `read(2)` too, as every receive.
    fn read_deadline(&self, started: Instant) -> Option<Instant> {
        self.sock.data.rcvtimeo().map(|d| started + d)
    }

    fn read_expired(&self, _f: &File, _buf: &mut [u8]) -> SysResult<usize> {
        Err(Errno::EAGAIN)
    }

    fn write_deadline(&self, started: Instant) -> Option<Instant> {
        self.sock.data.sndtimeo().map(|d| started + d)
    }

    fn stat(&self, _f: &File) -> SysResult<Stat> {
        Ok(unix::socket_stat(self.sock.ino(), self.sock.owner))
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
            SIOCOUTQ | SIOCOUTQNSD => self.sock.outq(),
            _ => return crate::ifaces::ioctl(&self.sock.stack, cmd, arg, mm),
        };
        mm.write_obj(arg, &(v.min(i32::MAX as usize) as i32))?;
        Ok(0)
    }

    fn anon_name(&self) -> Option<Vec<u8>> {
        Some(format!("socket:[{}]", self.sock.ino()).into_bytes())
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

/// Sends one datagram from `s` to `dest` (or its peer). A datagram
/// nobody can take (no receiver, or its queue full) is dropped, as the
/// network would.
pub fn udp_send(s: &Arc<InetSocket>, data: &[u8], dest: Option<SocketAddr>) -> SysResult<usize> {
    if data.len() > s.udp_max() {
        return Err(Errno::EMSGSIZE);
    }
    let target = match s.udp_route(dest)? {
        Route::Local(Some(t)) => t,
        Route::Local(None) => return Ok(data.len()),
        Route::Link(port, to) => return crate::netstack::udp_send(port, to, data),
    };
    match s.data.send_to(data, &mut Vec::new(), Some(&target)) {
        Err(Errno::EAGAIN) | Err(Errno::ECONNREFUSED) => Ok(data.len()),
        r => r,
    }
}

/// The inet socket behind `f`, if it is one.
pub fn from_file(f: &File) -> Option<Arc<InetSocket>> {
    f.ops
        .as_any()
        .and_then(|x| x.downcast_ref::<InetFile>())
        .map(|s| s.sock.clone())
}

/// Wraps a socket in a file; `flags` are file status flags (`O_NONBLOCK`).
pub fn new_file(sock: Arc<InetSocket>, flags: u32) -> Arc<File> {
    File::new(
        None,
        O_RDWR | (flags & O_NONBLOCK),
        Box::new(InetFile { sock }),
    )
}
