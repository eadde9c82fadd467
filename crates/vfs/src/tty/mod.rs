//! Pseudo-terminals: a [`Tty`] is one master/slave pair with its line
//! discipline ([`ldisc`]), its session and foreground process group, and
//! the job-control rules of Linux's `tty_io.c`/`tty_jobctrl.c`.
//!
//! The VFS knows nothing of processes: the kernel installs [`Sessions`]
//! on the devpts instance ([`devpts::Devpts::set_sessions`]), through
//! which a terminal learns who is calling (the task this host thread
//! runs) and sends signals. A terminal never calls it while holding its
//! own lock.

pub mod devpts;
pub mod ldisc;

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use abi::fs::*;
use abi::signal::{SIGCONT, SIGHUP, SIGINT, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU, SIGWINCH};
use abi::tty::*;
use abi::{Errno, SysResult};
use mm::MemoryManager;
use waiter::{events, Queue};

use crate::file::{File, FileOps};
use crate::inode::{lock, Inode};
use ldisc::Ldisc;

/// The calling process, as the kernel sees it.
pub struct Caller {
    pub pid: i32,
    pub pgid: i32,
    pub sid: i32,
    /// Its controlling terminal is this one.
    pub ctty_is_this: bool,
    pub has_ctty: bool,
    /// `CAP_SYS_ADMIN`.
    pub sys_admin: bool,
    /// `CAP_CHECKPOINT_RESTORE`.
    pub checkpoint_restore: bool,
}

/// What a terminal needs from the kernel, which owns processes.
pub trait Sessions: Send + Sync {
    /// The process this host thread runs (`None` for the sentry's own
    /// threads, e.g. the copy loop of a host terminal).
    fn caller(&self, tty: &Arc<Tty>) -> Option<Caller>;
    /// The calling process's controlling terminal.
    fn ctty(&self) -> Option<Arc<Tty>>;
    /// Makes `tty` (or nothing) the calling process's controlling
    /// terminal.
    fn set_ctty(&self, tty: Option<&Arc<Tty>>);
    /// Clears the controlling terminal of every process of `sid` whose
    /// terminal is `tty`.
    fn clear_ctty(&self, sid: i32, tty: &Arc<Tty>);
    fn signal_pgrp(&self, pgid: i32, sig: i32);
    fn signal_process(&self, pid: i32, sig: i32);
    /// Whether the calling thread blocks or ignores `sig`.
    fn caller_ignores(&self, sig: i32) -> bool;
    /// Whether process group `pgid` is orphaned (no member has a parent
    /// in another group of the same session).
    fn pgrp_orphaned(&self, pgid: i32) -> bool;
    /// The session of process group (or process) `pgid`.
    fn session_of(&self, pgid: i32) -> Option<i32>;
    /// Sandbox-wide id `id` as the caller's pid namespace numbers it (0
    /// when it has no number there).
    fn shown(&self, id: i32) -> i32;
    /// The sandbox-wide id of the caller's number `n`.
    fn global(&self, n: i32) -> Option<i32>;
}

struct State {
    ld: Ldisc,
    winsize: WinSize,
    /// Open slave files; the master has exactly one open file.
    slaves: usize,
    master_open: bool,
    /// `TIOCSPTLCK`: slaves cannot be opened while locked.
    locked: bool,
    /// The master closed: slave files are hung up.
    hung_up: bool,
    /// Controlling-terminal state: 0 for none.
    session: i32,
    pgrp: i32,
    /// A slave was open and every slave closed since (master reads EIO).
    other_closed: bool,
    /// When input last arrived (`VTIME` inter-byte timer).
    last_input: Instant,
    exclusive: bool,
    /// `TIOCSLCKTRMIOS`: bits (and control characters) set here keep
    /// their old value across `TCSETS*` (`unset_locked_termios`).
    locked_termios: Termios,
    /// The master is in packet mode (`TIOCPKT`).
    packet: bool,
    /// Status bits a packet-mode master read reports next (the slave's
    /// `ctrl.pktstatus`).
    pktstatus: u8,
}

impl State {
    /// A status change for a packet-mode master (nothing otherwise).
    fn pkt_status(&mut self, bits: u8) {
        if self.packet {
            self.pktstatus |= bits;
        }
    }

    /// `TCSETS*` with Linux's rules: locked bits keep their old values,
    /// and a packet-mode master hears of a change of XON/XOFF flow
    /// control (`pty_set_termios`).
    fn set_termios(&mut self, mut t: Termios) {
        let old = self.ld.termios;
        let l = self.locked_termios;
        let keep = |new: u32, old: u32, mask: u32| (new & !mask) | (old & mask);
        t.iflag = keep(t.iflag, old.iflag, l.iflag);
        t.oflag = keep(t.oflag, old.oflag, l.oflag);
        t.cflag = keep(t.cflag, old.cflag, l.cflag);
        t.lflag = keep(t.lflag, old.lflag, l.lflag);
        if l.line != 0 {
            t.line = old.line;
        }
        for i in 0..t.cc.len() {
            if l.cc[i] != 0 {
                t.cc[i] = old.cc[i];
            }
        }
        let flow = |t: &Termios| t.iflag & IXON != 0 && t.cc[VSTOP] == 0o23 && t.cc[VSTART] == 0o21;
        let (was, now) = (flow(&old), flow(&t));
        if self.packet && was != now {
            self.pktstatus &= !(TIOCPKT_DOSTOP | TIOCPKT_NOSTOP);
            self.pktstatus |= if now { TIOCPKT_DOSTOP } else { TIOCPKT_NOSTOP };
        }
        self.ld.set_termios(t);
    }
}

pub struct Tty {
    pub index: u32,
    state: Mutex<State>,
    /// Slave readers/writers wait here; master readers/writers on `master_q`.
    pub slave_q: Queue,
    pub master_q: Queue,
    /// The `/dev/pts/N` node.
    pub inode: Arc<Inode>,
    sessions: Arc<OnceLock<Arc<dyn Sessions>>>,
}

fn ws_eq(a: &WinSize, b: &WinSize) -> bool {
    a.row == b.row && a.col == b.col && a.xpixel == b.xpixel && a.ypixel == b.ypixel
}

impl Tty {
    fn sessions(&self) -> Option<&Arc<dyn Sessions>> {
        self.sessions.get()
    }

    /// The slave's foreground process group and session (0: none).
    pub fn control(&self) -> (i32, i32) {
        let s = lock(&self.state);
        (s.pgrp, s.session)
    }

    /// Makes session `sid` (foreground group `pgrp`) own this terminal:
    /// `TIOCSCTTY`, or an open by a session leader without one.
    pub fn set_control(&self, sid: i32, pgrp: i32) {
        let mut s = lock(&self.state);
        s.session = sid;
        s.pgrp = pgrp;
    }

    fn signal_fg(&self, sigs: &[i32]) {
        let pgrp = lock(&self.state).pgrp;
        if let (Some(h), true) = (self.sessions(), pgrp > 0) {
            for &sig in sigs {
                h.signal_pgrp(pgrp, sig);
            }
        }
    }

    /// The session leader of `sid` is leaving (it exited or gave the
    /// terminal up with `TIOCNOTTY`): the foreground group gets `SIGHUP`
    /// (and `SIGCONT` unless the leader exited), and the terminal belongs
    /// to no session any more (`disassociate_ctty`).
    pub fn disassociate(self: &Arc<Tty>, on_exit: bool) {
        let (pgrp, sid) = {
            let mut s = lock(&self.state);
            let r = (s.pgrp, s.session);
            s.pgrp = 0;
            s.session = 0;
            r
        };
        if let Some(h) = self.sessions() {
            if pgrp > 0 {
                h.signal_pgrp(pgrp, SIGHUP);
                if !on_exit {
                    h.signal_pgrp(pgrp, SIGCONT);
                }
            }
            if sid > 0 {
                h.clear_ctty(sid, self);
            }
        }
    }

    /// Linux's `__tty_check_change`: a background process of the
    /// terminal's session touching it gets `sig` (its whole group), and the
    /// call restarts once it is continued; `EIO` if it ignores `SIGTTIN`
    /// or its group is orphaned.
    fn job_check(self: &Arc<Tty>, sig: i32) -> SysResult<()> {
        let Some(h) = self.sessions() else {
            return Ok(());
        };
        let Some(c) = h.caller(self) else {
            return Ok(());
        };
        if !c.ctty_is_this {
            return Ok(());
        }
        let fg = lock(&self.state).pgrp;
        if fg == 0 || fg == c.pgid {
            return Ok(());
        }
        if h.caller_ignores(sig) {
            return if sig == SIGTTIN {
                Err(Errno::EIO)
            } else {
                Ok(())
            };
        }
        if h.pgrp_orphaned(c.pgid) {
            return Err(Errno::EIO);
        }
        h.signal_pgrp(c.pgid, sig);
        Err(Errno::ERESTARTSYS)
    }

    /// An open of the slave (or of `/dev/tty`) by the caller: a session
    /// leader without a terminal acquires this one unless `O_NOCTTY`
    /// (`tty_open_proc_set_tty`).
    pub fn opened(self: &Arc<Tty>, flags: u32) {
        if flags & O_NOCTTY != 0 {
            return;
        }
        let Some(h) = self.sessions() else { return };
        let Some(c) = h.caller(self) else { return };
        if c.pid != c.sid || c.has_ctty {
            return;
        }
        {
            let mut s = lock(&self.state);
            if s.session != 0 {
                return;
            }
            s.session = c.sid;
            s.pgrp = c.pgid;
        }
        h.set_ctty(Some(self));
    }

    fn slave_read(self: &Arc<Tty>, buf: &mut [u8]) -> SysResult<usize> {
        if lock(&self.state).hung_up {
            return Ok(0);
        }
        self.job_check(SIGTTIN)?;
        let mut s = lock(&self.state);
        if s.hung_up {
            return Ok(0);
        }
        let n = if s.ld.canonical() {
            match s.ld.take_input(buf) {
                Some(n) => n,
                None => return Err(Errno::EAGAIN),
            }
        } else {
            let (vmin, vtime) = (s.ld.vmin(), s.ld.vtime());
            let have = s.ld.readable();
            let want = vmin.min(buf.len());
            if have == 0 && vmin == 0 && vtime == 0 {
                return Ok(0);
            }
            if have == 0 || (have < want && vtime == 0) {
                return Err(Errno::EAGAIN);
            }
            if have < want && s.last_input.elapsed() < Duration::from_millis(vtime as u64 * 100) {
                return Err(Errno::EAGAIN);
            }
            s.ld.take_input(buf).unwrap_or(0)
        };
        drop(s);
        self.master_q.notify(events::OUT);
        Ok(n)
    }

    /// When a waiting non-canonical read gives up (`VTIME`): `started` is
    /// when the read began.
    fn read_deadline(&self, started: Instant) -> Option<Instant> {
        let s = lock(&self.state);
        if s.ld.canonical() || s.ld.vtime() == 0 || s.hung_up {
            return None;
        }
        let t = Duration::from_millis(s.ld.vtime() as u64 * 100);
        if s.ld.vmin() == 0 {
            Some(started + t)
        } else if s.ld.readable() > 0 {
            Some(s.last_input + t)
        } else {
            None
        }
    }

    /// A `VTIME` timer ran out: whatever input there is (maybe nothing).
    fn read_expired(&self, buf: &mut [u8]) -> SysResult<usize> {
        let n = lock(&self.state).ld.take_input(buf).unwrap_or(0);
        self.master_q.notify(events::OUT);
        Ok(n)
    }

    fn slave_write(self: &Arc<Tty>, buf: &[u8]) -> SysResult<usize> {
        {
            let s = lock(&self.state);
            if s.hung_up {
                return Err(Errno::EIO);
            }
            if s.ld.termios.lflag & TOSTOP == 0 {
                drop(s);
            } else {
                drop(s);
                self.job_check(SIGTTOU)?;
            }
        }
        let mut s = lock(&self.state);
        let n = s.ld.write_output(buf);
        drop(s);
        if n == 0 {
            return Err(Errno::EAGAIN);
        }
        self.master_q.notify(events::IN);
        Ok(n)
    }

    /// What the slave wrote (and echoes); `EIO` once every slave closed.
    pub fn master_read(&self, buf: &mut [u8]) -> SysResult<usize> {
        let mut s = lock(&self.state);
        // Packet mode: a status change reads alone as one byte, data
        // comes after a `TIOCPKT_DATA` byte (`n_tty_read`).
        if s.packet && s.pktstatus != 0 && !buf.is_empty() {
            buf[0] = std::mem::take(&mut s.pktstatus);
            return Ok(1);
        }
        let (buf, head) = match (s.packet, buf.split_first_mut()) {
            (true, Some((first, rest))) if !s.ld.output.is_empty() => {
                *first = TIOCPKT_DATA;
                (rest, 1)
            }
            _ => (buf, 0),
        };
        if s.ld.output.is_empty() {
            return if s.other_closed {
                Err(Errno::EIO)
            } else {
                Err(Errno::EAGAIN)
            };
        }
        let n = buf.len().min(s.ld.output.len());
        for (i, b) in s.ld.output.drain(..n).enumerate() {
            buf[i] = b;
        }
        drop(s);
        self.slave_q.notify(events::OUT);
        Ok(head + n)
    }

    /// What the master writes is the slave's input.
    pub fn master_write(&self, buf: &[u8]) -> SysResult<usize> {
        let mut sigs = Vec::new();
        let mut s = lock(&self.state);
        let echoed = s.ld.output.len();
        let n = s.ld.receive(buf, &mut sigs);
        if n > 0 {
            s.last_input = Instant::now();
        }
        let echo = s.ld.output.len() != echoed;
        drop(s);
        if n == 0 && !buf.is_empty() {
            return Err(Errno::EAGAIN);
        }
        self.slave_q.notify(events::IN);
        if echo {
            self.master_q.notify(events::IN);
        }
        self.signal_fg(&sigs);
        Ok(n)
    }

    fn slave_readiness(&self) -> u32 {
        let s = lock(&self.state);
        if s.hung_up {
            return events::IN
                | events::OUT
                | events::ERR
                | events::HUP
                | events::RDNORM
                | events::WRNORM;
        }
        let mut r = 0;
        let min = if s.ld.vtime() == 0 { s.ld.vmin() } else { 1 };
        if s.ld.input_available(min) {
            r |= events::IN | events::RDNORM;
        }
        if ldisc::OUTPUT_CAP - s.ld.output.len() >= 2 && !s.ld.stopped && !s.ld.tco_stopped {
            r |= events::OUT | events::WRNORM;
        }
        r
    }

    fn master_readiness(&self) -> u32 {
        let s = lock(&self.state);
        let mut r = 0;
        if !s.ld.output.is_empty() {
            r |= events::IN | events::RDNORM;
        }
        if s.packet && s.pktstatus != 0 {
            r |= events::PRI | events::IN | events::RDNORM;
        }
        if s.other_closed {
            r |= events::HUP;
        }
        r | events::OUT | events::WRNORM
    }

    /// The termios, window-size and flow requests both ends serve (the
    /// master acting on its slave, as Linux's `tty_pair_get_tty`).
    fn common_ioctl(
        self: &Arc<Tty>,
        slave: bool,
        cmd: u32,
        arg: u64,
        mm: &mut MemoryManager,
    ) -> SysResult<u64> {
        match cmd {
            TCGETS => {
                let t = lock(&self.state).ld.termios;
                mm.write_obj(arg, &t)?;
                Ok(0)
            }
            TCGETA => {
                let t = Termio::from_termios(&lock(&self.state).ld.termios);
                mm.write_obj(arg, &t)?;
                Ok(0)
            }
            TCSETS | TCSETSW | TCSETSF | TCSETA | TCSETAW | TCSETAF => {
                if slave {
                    self.job_check(SIGTTOU)?;
                }
                let t = match cmd {
                    TCSETA | TCSETAW | TCSETAF => {
                        let legacy: Termio = mm.read_obj(arg)?;
                        let mut t = lock(&self.state).ld.termios;
                        legacy.apply_to(&mut t);
                        t
                    }
                    _ => mm.read_obj::<Termios>(arg)?,
                };
                let mut s = lock(&self.state);
                if cmd == TCSETSF || cmd == TCSETAF {
                    s.ld.flush_input();
                    s.pkt_status(TIOCPKT_FLUSHREAD);
                }
                s.set_termios(t);
                drop(s);
                self.slave_q.notify(events::ALL);
                self.master_q.notify(events::ALL);
                Ok(0)
            }
            TIOCGLCKTRMIOS => {
                let t = lock(&self.state).locked_termios;
                mm.write_obj(arg, &t)?;
                Ok(0)
            }
            TIOCSLCKTRMIOS => {
                let admin = self
                    .sessions()
                    .and_then(|h| h.caller(self))
                    .is_some_and(|c| c.sys_admin || c.checkpoint_restore);
                if !admin {
                    return Err(Errno::EPERM);
                }
                let t: Termios = mm.read_obj(arg)?;
                lock(&self.state).locked_termios = t;
                Ok(0)
            }
            TIOCGWINSZ => {
                let w = lock(&self.state).winsize;
                mm.write_obj(arg, &w)?;
                Ok(0)
            }
            TIOCSWINSZ => {
                let w: WinSize = mm.read_obj(arg)?;
                self.set_winsize(w);
                Ok(0)
            }
            FIONREAD => {
                let n = if slave {
                    lock(&self.state).ld.readable()
                } else {
                    lock(&self.state).ld.output.len()
                };
                mm.write_obj(arg, &(n as i32))?;
                Ok(0)
            }
            TIOCOUTQ => {
                // A pty driver buffers nothing of its own: Linux says 0.
                mm.write_obj(arg, &0i32)?;
                Ok(0)
            }
            TCFLSH => {
                if slave {
                    self.job_check(SIGTTOU)?;
                }
                let (inq, outq) = match arg {
                    TCIFLUSH => (true, false),
                    TCOFLUSH => (false, true),
                    TCIOFLUSH => (true, true),
                    _ => return Err(Errno::EINVAL),
                };
                // The master's input is the slave's output.
                let (flush_in, flush_out) = if slave { (inq, outq) } else { (outq, inq) };
                let mut s = lock(&self.state);
                if flush_in {
                    s.ld.flush_input();
                }
                if flush_out {
                    s.ld.flush_output();
                }
                // Only the slave's flushes are news to a packet-mode
                // master (`n_tty_packet_mode_flush`, `pty_flush_buffer`).
                if slave {
                    let bits = if inq { TIOCPKT_FLUSHREAD } else { 0 }
                        | if outq { TIOCPKT_FLUSHWRITE } else { 0 };
                    s.pkt_status(bits);
                }
                drop(s);
                self.slave_q.notify(events::OUT);
                self.master_q.notify(events::OUT | events::IN | events::PRI);
                Ok(0)
            }
            TCXONC => {
                if slave {
                    self.job_check(SIGTTOU)?;
                }
                let mut s = lock(&self.state);
                match arg {
                    TCOOFF => {
                        if !s.ld.tco_stopped && slave {
                            s.pkt_status(TIOCPKT_STOP);
                            s.pktstatus &= !TIOCPKT_START;
                        }
                        s.ld.tco_stopped = true;
                    }
                    TCOON => {
                        if s.ld.tco_stopped && slave {
                            s.pkt_status(TIOCPKT_START);
                            s.pktstatus &= !TIOCPKT_STOP;
                        }
                        s.ld.tco_stopped = false;
                        s.ld.stopped = false;
                    }
                    TCIOFF | TCION => {}
                    _ => return Err(Errno::EINVAL),
                }
                drop(s);
                self.slave_q.notify(events::OUT);
                self.master_q.notify(events::IN | events::PRI);
                Ok(0)
            }
            TCSBRK | TCSBRKP => {
                if slave {
                    self.job_check(SIGTTOU)?;
                }
                // Output reaches the master at once: nothing to drain.
                Ok(0)
            }
            TIOCGETD => {
                mm.write_obj(arg, &0i32)?;
                Ok(0)
            }
            TIOCEXCL | TIOCNXCL => {
                lock(&self.state).exclusive = cmd == TIOCEXCL;
                Ok(0)
            }
            TIOCGEXCL => {
                let e = lock(&self.state).exclusive as i32;
                mm.write_obj(arg, &e)?;
                Ok(0)
            }
            TIOCSCTTY => self.tiocsctty(arg),
            TIOCGPGRP | TIOCGSID => {
                let c = self.sessions().and_then(|h| h.caller(self));
                // On the slave, only its own processes may ask.
                if slave && !c.as_ref().is_some_and(|c| c.ctty_is_this) {
                    return Err(Errno::ENOTTY);
                }
                let (pgrp, sid) = self.control();
                let v = if cmd == TIOCGPGRP { pgrp } else { sid };
                if cmd == TIOCGSID && sid == 0 {
                    return Err(Errno::ENOTTY);
                }
                let v = self.sessions().map_or(v, |h| h.shown(v));
                mm.write_obj(arg, &v)?;
                Ok(0)
            }
            TIOCSPGRP => self.tiocspgrp(arg, mm),
            TIOCNOTTY => {
                if !slave {
                    return Err(Errno::ENOTTY);
                }
                let Some(h) = self.sessions() else {
                    return Err(Errno::ENOTTY);
                };
                let Some(c) = h.caller(self).filter(|c| c.ctty_is_this) else {
                    return Err(Errno::ENOTTY);
                };
                if c.pid == c.sid {
                    self.disassociate(false);
                } else {
                    h.set_ctty(None);
                }
                Ok(0)
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    pub fn set_winsize(&self, w: WinSize) {
        let changed = {
            let mut s = lock(&self.state);
            let changed = !ws_eq(&s.winsize, &w);
            s.winsize = w;
            changed
        };
        if changed {
            self.signal_fg(&[SIGWINCH]);
        }
    }

    fn tiocsctty(self: &Arc<Tty>, arg: u64) -> SysResult<u64> {
        let h = self.sessions().ok_or(Errno::EPERM)?;
        let c = h.caller(self).ok_or(Errno::EPERM)?;
        let (_, sid) = self.control();
        if c.pid == c.sid && sid == c.sid {
            return Ok(0);
        }
        if c.pid != c.sid || c.has_ctty {
            return Err(Errno::EPERM);
        }
        if sid != 0 {
            if arg == 1 && c.sys_admin {
                h.clear_ctty(sid, self);
            } else {
                return Err(Errno::EPERM);
            }
        }
        self.set_control(c.sid, c.pgid);
        h.set_ctty(Some(self));
        Ok(0)
    }

    fn tiocspgrp(self: &Arc<Tty>, arg: u64, mm: &mut MemoryManager) -> SysResult<u64> {
        match self.job_check(SIGTTOU) {
            Err(Errno::EIO) => return Err(Errno::ENOTTY),
            Err(e) => return Err(e),
            Ok(()) => {}
        }
        let pgrp: i32 = mm.read_obj(arg)?;
        if pgrp < 0 {
            return Err(Errno::EINVAL);
        }
        let h = self.sessions().ok_or(Errno::ENOTTY)?;
        let c = h.caller(self).ok_or(Errno::ENOTTY)?;
        // A group the caller's pid namespace cannot name does not exist
        // for it.
        let pgrp = h.global(pgrp).ok_or(Errno::ESRCH)?;
        let (_, sid) = self.control();
        if !c.ctty_is_this || sid != c.sid {
            return Err(Errno::ENOTTY);
        }
        match h.session_of(pgrp) {
            None => Err(Errno::ESRCH),
            Some(s) if s != c.sid => Err(Errno::EPERM),
            Some(_) => {
                lock(&self.state).pgrp = pgrp;
                Ok(0)
            }
        }
    }

    fn slave_closed(&self) {
        let mut s = lock(&self.state);
        s.slaves -= 1;
        if s.slaves == 0 {
            s.other_closed = true;
        }
        drop(s);
        self.master_q.notify(events::ALL);
    }

    /// The master closed: the slave hangs up. Its session leader gets
    /// `SIGHUP` and `SIGCONT`, and no process keeps it as its terminal
    /// (`__tty_hangup`).
    fn master_closed(self: &Arc<Tty>) {
        let sid = {
            let mut s = lock(&self.state);
            s.master_open = false;
            s.hung_up = true;
            let sid = s.session;
            s.session = 0;
            s.pgrp = 0;
            sid
        };
        self.slave_q.notify(events::ALL);
        if let (Some(h), true) = (self.sessions(), sid > 0) {
            h.clear_ctty(sid, self);
            h.signal_process(sid, SIGHUP);
            h.signal_process(sid, SIGCONT);
        }
    }

    /// `unlockpt` for a pair the sentry made itself.
    pub fn unlock(&self) {
        lock(&self.state).locked = false;
    }

    pub fn is_hung_up(&self) -> bool {
        lock(&self.state).hung_up
    }

    /// Opens one more slave file. `EIO` while locked or after hang-up.
    fn open_slave(self: &Arc<Tty>) -> SysResult<SlaveOps> {
        let mut s = lock(&self.state);
        if s.locked || s.hung_up || !s.master_open {
            return Err(Errno::EIO);
        }
        s.slaves += 1;
        s.other_closed = false;
        drop(s);
        Ok(SlaveOps { tty: self.clone() })
    }
}

/// An open `/dev/pts/N` (or `/dev/tty`, which the caller's terminal is).
pub struct SlaveOps {
    pub tty: Arc<Tty>,
}

impl Drop for SlaveOps {
    fn drop(&mut self) {
        self.tty.slave_closed();
    }
}

impl FileOps for SlaveOps {
    fn read(&self, _f: &File, buf: &mut [u8], _off: u64) -> SysResult<usize> {
        self.tty.slave_read(buf)
    }
    fn write(&self, _f: &File, buf: &[u8], _off: u64) -> SysResult<usize> {
        self.tty.slave_write(buf)
    }
    fn stat(&self, f: &File) -> SysResult<Stat> {
        match &f.dentry {
            Some(d) => Ok(d.inode.stat()),
            None => Ok(self.tty.inode.stat()),
        }
    }
    fn readiness(&self) -> u32 {
        self.tty.slave_readiness()
    }
    fn queue(&self) -> Option<&Queue> {
        Some(&self.tty.slave_q)
    }
    fn ioctl(&self, _f: &File, cmd: u32, arg: u64, mm: &mut MemoryManager) -> SysResult<u64> {
        if self.tty.is_hung_up() {
            return Err(if cmd == TIOCSPGRP {
                Errno::ENOTTY
            } else {
                Errno::EIO
            });
        }
        self.tty.common_ioctl(true, cmd, arg, mm)
    }
    fn read_deadline(&self, started: Instant) -> Option<Instant> {
        self.tty.read_deadline(started)
    }
    fn read_expired(&self, _f: &File, buf: &mut [u8]) -> SysResult<usize> {
        self.tty.read_expired(buf)
    }
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

/// The open `/dev/ptmx` of one pair.
pub struct MasterOps {
    pub tty: Arc<Tty>,
    devpts: Arc<devpts::Devpts>,
}

impl MasterOps {
    /// `TIOCGPTPEER`: a new slave file for this master (the caller
    /// installs it).
    pub fn open_peer(&self, flags: u32) -> SysResult<(Arc<Inode>, SlaveOps)> {
        let ops = self.tty.open_slave()?;
        self.tty.opened(flags);
        Ok((self.tty.inode.clone(), ops))
    }
}

impl Drop for MasterOps {
    fn drop(&mut self) {
        self.tty.master_closed();
        self.devpts.remove(self.tty.index);
    }
}

impl FileOps for MasterOps {
    fn read(&self, _f: &File, buf: &mut [u8], _off: u64) -> SysResult<usize> {
        self.tty.master_read(buf)
    }
    fn write(&self, _f: &File, buf: &[u8], _off: u64) -> SysResult<usize> {
        self.tty.master_write(buf)
    }
    fn stat(&self, f: &File) -> SysResult<Stat> {
        match &f.dentry {
            Some(d) => Ok(d.inode.stat()),
            None => Err(Errno::EBADF),
        }
    }
    fn readiness(&self) -> u32 {
        self.tty.master_readiness()
    }
    fn queue(&self) -> Option<&Queue> {
        Some(&self.tty.master_q)
    }
    fn ioctl(&self, _f: &File, cmd: u32, arg: u64, mm: &mut MemoryManager) -> SysResult<u64> {
        match cmd {
            TIOCGPTN => {
                mm.write_obj(arg, &self.tty.index)?;
                Ok(0)
            }
            TIOCSPTLCK => {
                let v: i32 = mm.read_obj(arg)?;
                lock(&self.tty.state).locked = v != 0;
                Ok(0)
            }
            TIOCGPTLCK => {
                let v = lock(&self.tty.state).locked as i32;
                mm.write_obj(arg, &v)?;
                Ok(0)
            }
            TIOCPKT => {
                let on: i32 = mm.read_obj(arg)?;
                let mut s = lock(&self.tty.state);
                if on != 0 {
                    if !s.packet {
                        s.pktstatus = 0;
                        s.packet = true;
                    }
                } else {
                    s.packet = false;
                }
                Ok(0)
            }
            TIOCGPKT => {
                let v = lock(&self.tty.state).packet as i32;
                mm.write_obj(arg, &v)?;
                Ok(0)
            }
            TIOCSIG => {
                // Only what the slave's own special characters could send.
                if ![SIGINT, SIGQUIT, SIGTSTP].contains(&(arg as i32)) {
                    return Err(Errno::EINVAL);
                }
                self.tty.signal_fg(&[arg as i32]);
                Ok(0)
            }
            TIOCNOTTY => Err(Errno::ENOTTY),
            _ => self.tty.common_ioctl(false, cmd, arg, mm),
        }
    }
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}
