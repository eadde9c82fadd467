//! `rvisor do` on a host terminal: the program gets a sandbox pty slave as
//! its controlling terminal (and as each standard stream that is the host
//! terminal), and the sentry copies bytes between the pty's master and the
//! host terminal, which is in raw mode meanwhile so that the sandbox's
//! line discipline does the editing, echo and `^C`.

use std::os::fd::RawFd;
use std::sync::{Arc, Mutex};

use abi::fs::{WinSize, O_NOCTTY, O_RDWR};
use abi::Errno;
use vfs::tty::{MasterOps, Tty};
use vfs::{Creds, File, Vfs};
use waiter::{events, Waiter};

/// The host terminal's settings, put back when dropped (every way `run`
/// returns, unwinding included).
pub struct HostTerminal {
    fd: RawFd,
    /// `fd`'s settings to put back on drop, for a terminal that is not
    /// the process's own (`exec -t`: no panic hook knows it); `None`:
    /// the global [`restore`] does.
    saved: Option<libc::termios>,
    /// Set when the program is done: the output thread ends.
    stop: Arc<std::sync::atomic::AtomicBool>,
    /// `fd` itself when this owns it: the copy threads hold it open (a
    /// descriptor closed under a blocked `read` could be reused).
    owned: Option<Arc<std::os::fd::OwnedFd>>,
    /// The sandbox pair; the master stays open as long as this lives.
    master: MasterOps,
    pub slave: Arc<File>,
    /// Held while output moves from the master to the host, so the final
    /// drain cannot overtake the copy thread.
    out_lock: Arc<Mutex<()>>,
    out_fd: RawFd,
}

/// The settings to put back, for the panic hook (which aborts: no drop
/// runs after it).
static SAVED: Mutex<Option<(RawFd, libc::termios)>> = Mutex::new(None);

/// Puts the host terminal back as it was, if it was taken over.
pub fn restore() {
    let saved = SAVED.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some((fd, t)) = saved {
        // SAFETY: tcsetattr on our own descriptor with the saved settings.
        unsafe { libc::tcsetattr(fd, libc::TCSADRAIN, &t) };
    }
}

impl Drop for HostTerminal {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Release);
        self.master.tty.master_q.notify(events::HUP);
        match &self.saved {
            // SAFETY: tcsetattr on the descriptor (still open: its owner
            // outlives this) with the settings it had.
            Some(t) => unsafe {
                libc::tcsetattr(self.fd, libc::TCSADRAIN, t);
            },
            None => restore(),
        }
    }
}

fn isatty(fd: RawFd) -> bool {
    // SAFETY: isatty only queries the descriptor.
    unsafe { libc::isatty(fd) == 1 }
}

/// The host terminal's window size.
pub fn host_winsize(fd: RawFd) -> Option<WinSize> {
    let mut w = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one struct winsize.
    if unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut w) } != 0 {
        return None;
    }
    Some(WinSize {
        row: w.ws_row,
        col: w.ws_col,
        xpixel: w.ws_xpixel,
        ypixel: w.ws_ypixel,
    })
}

fn write_all(fd: RawFd, mut data: &[u8]) {
    while !data.is_empty() {
        // SAFETY: write from a live buffer of the given length.
        let n = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
        if n < 0 && Errno::last_host() == Errno::EINTR {
            continue;
        }
        if n <= 0 {
            return;
        }
        data = &data[n as usize..];
    }
}

impl HostTerminal {
    /// Takes the host terminal on stdin over, if stdin is one and this
    /// process is in its foreground (a background `rvisor do` would be
    /// stopped by `SIGTTOU` for changing it: it keeps today's pass-through).
    pub fn take_over(vfs: &Arc<Vfs>, uid: u32) -> Option<HostTerminal> {
        let fd = 0;
        // SAFETY: tcgetpgrp/getpgrp only query.
        if !isatty(fd) || unsafe { libc::tcgetpgrp(fd) != libc::getpgrp() } {
            return None;
        }
        let mut t = Self::on_fd(vfs, uid, fd)?;
        *SAVED.lock().unwrap_or_else(|p| p.into_inner()) = t.saved.take().map(|s| (fd, s));
        // Output goes to the first standard stream that is the terminal.
        t.out_fd = [1, 2, 0].into_iter().find(|&f| isatty(f)).unwrap_or(fd);
        Some(t)
    }

    /// A sandbox terminal relayed to the host terminal `fd` (which the
    /// caller keeps open as long as this lives), put in raw mode until
    /// this is dropped.
    pub fn on_fd(vfs: &Arc<Vfs>, uid: u32, fd: RawFd) -> Option<HostTerminal> {
        Self::relay(vfs, uid, fd, None)
    }

    /// Like [`HostTerminal::on_fd`] on a descriptor this then owns.
    pub fn on_owned(vfs: &Arc<Vfs>, uid: u32, fd: std::os::fd::OwnedFd) -> Option<HostTerminal> {
        use std::os::fd::AsRawFd;
        let raw = fd.as_raw_fd();
        Self::relay(vfs, uid, raw, Some(Arc::new(fd)))
    }

    fn relay(
        vfs: &Arc<Vfs>,
        uid: u32,
        fd: RawFd,
        owned: Option<Arc<std::os::fd::OwnedFd>>,
    ) -> Option<HostTerminal> {
        // SAFETY: a zeroed termios is a valid out-buffer for tcgetattr.
        let mut saved: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: tcgetattr on stdin into our buffer.
        if unsafe { libc::tcgetattr(fd, &mut saved) } != 0 {
            return None;
        }
        let master = vfs.devpts.open_master(uid).ok()?;
        master.tty.unlock();
        if let Some(w) = host_winsize(fd) {
            master.tty.set_winsize(w);
        }
        let path = format!("/dev/pts/{}", master.tty.index);
        let root = vfs.root.clone();
        let slave = vfs
            .open(
                &root,
                &root,
                path.as_bytes(),
                O_RDWR | O_NOCTTY,
                0,
                &Creds::root(),
            )
            .ok()?;
        let mut raw = saved;
        // SAFETY: cfmakeraw edits our copy; tcsetattr applies it to stdin.
        unsafe {
            libc::cfmakeraw(&mut raw);
            if libc::tcsetattr(fd, libc::TCSADRAIN, &raw) != 0 {
                return None;
            }
        }
        Some(HostTerminal {
            fd,
            saved: Some(saved),
            stop: Default::default(),
            owned,
            master,
            slave,
            out_lock: Arc::new(Mutex::new(())),
            out_fd: fd,
        })
    }

    pub fn tty(&self) -> &Arc<Tty> {
        &self.master.tty
    }

    /// Starts the two copy threads: host input to the master, the
    /// master's output to the host.
    pub fn start_copying(&self) {
        let tty = self.master.tty.clone();
        let (fd, owned) = (self.fd, self.owned.clone());
        let _ = std::thread::Builder::new()
            .name("tty-in".into())
            .spawn(move || {
                copy_in(fd, &tty);
                drop(owned);
            });
        let tty = self.master.tty.clone();
        let (out_fd, out_lock) = (self.out_fd, self.out_lock.clone());
        let (stop, owned) = (self.stop.clone(), self.owned.clone());
        let _ = std::thread::Builder::new()
            .name("tty-out".into())
            .spawn(move || {
                copy_out(&tty, out_fd, &out_lock, &stop);
                drop(owned);
            });
    }

    /// Writes out what the program left in the pty when it ended.
    pub fn drain(&self) {
        let _g = self.out_lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut buf = [0u8; 4096];
        while let Ok(n) = self.master.tty.master_read(&mut buf) {
            if n == 0 {
                break;
            }
            write_all(self.out_fd, &buf[..n]);
        }
    }
}

/// Sleeps until the master's queue says something. Counted as a running
/// task for the moment, so that the sleep it adds to the waiters' count
/// does not make the platform think tasks are asleep that are not.
fn sleep(waiter: &Waiter) {
    let _running = waiter::TaskRunning::start();
    waiter.wait(None);
}

fn copy_in(fd: RawFd, tty: &Arc<Tty>) {
    let waiter = Arc::new(Waiter::new());
    let _reg = tty.master_q.register(&waiter, events::OUT);
    let mut buf = [0u8; 4096];
    loop {
        // SAFETY: read into a live buffer of the given length.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 && Errno::last_host() == Errno::EINTR {
            continue;
        }
        if n <= 0 {
            return;
        }
        let mut data = &buf[..n as usize];
        while !data.is_empty() {
            match tty.master_write(data) {
                Ok(k) => data = &data[k..],
                // The slave's input is full: wait until it reads.
                Err(Errno::EAGAIN) => sleep(&waiter),
                Err(_) => return,
            }
        }
    }
}

fn copy_out(
    tty: &Arc<Tty>,
    out_fd: RawFd,
    out_lock: &Mutex<()>,
    stop: &std::sync::atomic::AtomicBool,
) {
    let waiter = Arc::new(Waiter::new());
    let _reg = tty.master_q.register(&waiter, events::IN | events::HUP);
    let mut buf = [0u8; 4096];
    while !stop.load(std::sync::atomic::Ordering::Acquire) {
        let g = out_lock.lock().unwrap_or_else(|p| p.into_inner());
        match tty.master_read(&mut buf) {
            Ok(n) => write_all(out_fd, &buf[..n]),
            Err(Errno::EAGAIN) | Err(Errno::EIO) => {
                drop(g);
                // EIO: no slave is open right now; one may be again.
                sleep(&waiter);
            }
            Err(_) => return,
        }
    }
}
