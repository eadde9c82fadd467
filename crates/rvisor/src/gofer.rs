//! `rvisor gofer`: the sandbox's only process that opens host paths, and
//! how `rvisor do` starts it and notices it going away.
//!
//! The gofer serves the container's root over the socket it inherits
//! (`--fd N`), after confining itself (`docs/security.md`, "The gofer"): a
//! private mount namespace whose root is the container's root, read-only;
//! no capability; `no_new_privs`; its own seccomp allow-list. It ends
//! when the sentry closes its end, and at once with the process that
//! started it (`PR_SET_PDEATHSIG`).

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use crate::confine;

/// `rvisor gofer --fd N --root DIR [--writable] [--unconfined]`.
pub fn main(args: &[String]) -> u8 {
    let mut fd = None;
    let mut root = None;
    let mut unconfined = false;
    let mut writable = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--fd" => fd = it.next().and_then(|v| v.parse::<RawFd>().ok()),
            "--root" => root = it.next().cloned(),
            "--unconfined" => unconfined = true,
            "--writable" => writable = true,
            _ => {
                eprintln!("rvisor gofer: unexpected argument {a:?}");
                return 2;
            }
        }
    }
    let (Some(fd), Some(root)) = (fd, root) else {
        eprintln!(
            "rvisor gofer: usage: rvisor gofer --fd N --root DIR [--writable] [--unconfined]"
        );
        return 2;
    };
    run(fd, &root, unconfined, writable)
}

/// Confines this process as the gofer and serves `root` on socket `fd`
/// (with writes if `writable`) until the sentry hangs up; the exit status.
fn run(fd: RawFd, root: &str, unconfined: bool, writable: bool) -> u8 {
    // SAFETY: reads the socket's type; an invalid number fails.
    let is_socket = unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        fd > 2 && libc::fstat(fd, &mut st) == 0 && st.st_mode & libc::S_IFMT == libc::S_IFSOCK
    };
    if !is_socket {
        eprintln!("rvisor gofer: --fd {fd} is not a socket");
        return 2;
    }
    // SAFETY: the socket was handed to us for this; nothing else owns it.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: close_range/fcntl/prctl on this process only.
    unsafe {
        libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
        libc::prctl(libc::PR_SET_NAME, c"rvisor-gofer".as_ptr(), 0, 0, 0);
        // Whatever else was inherited is not the gofer's business.
        if fd > 3 {
            libc::syscall(libc::SYS_close_range, 3u32, (fd - 1) as u32, 0);
        }
        libc::syscall(libc::SYS_close_range, (fd + 1) as u32, u32::MAX, 0);
    }
    // Modes of new files are the sandbox's, its umask already applied.
    // SAFETY: umask cannot fail.
    unsafe { libc::umask(0) };
    // A single file's gofer serves a directory holding only that file
    // (`confine::pivot_to_container_root`); unconfined, its host
    // directory, where the sentry looks up only that name.
    let parent = std::path::Path::new(root)
        .parent()
        .and_then(|p| p.to_str())
        .filter(|_| !std::path::Path::new(root).is_dir());
    let served = match (unconfined, parent) {
        (false, _) => "/",
        (true, Some(p)) => p,
        (true, None) => root,
    };
    let confined = if unconfined {
        Ok(())
    } else {
        confine::pivot_to_container_root(root, writable)
    };
    let root_fd = confined.and_then(|_| {
        gofer::server::open_root(served).map_err(|e| {
            format!(
                "opening the root: {}",
                std::io::Error::from_raw_os_error(e.0)
            )
        })
    });
    let root_fd = match root_fd.and_then(|r| {
        if !unconfined {
            let caps = if writable {
                confine::GOFER_WRITE_CAPS
            } else {
                0
            };
            confine::keep_only_caps(caps)?;
            let log = std::env::var_os("RVISOR_SECCOMP_LOG").is_some();
            confine::seccomp::install_gofer(log, writable)?;
        }
        Ok(r)
    }) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("rvisor gofer: cannot confine the gofer: {e}");
            return 125;
        }
    };
    match gofer::server::Server::new(root_fd, sock)
        .writable(writable)
        .serve()
    {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("rvisor gofer: {e}");
            125
        }
    }
}

/// A gofer process serving `root`, started by `rvisor do`.
pub struct Gofer {
    pub pid: i32,
    /// The sentry's end of the protocol socket.
    pub sock: OwnedFd,
}

/// Starts the gofer for `root` (serving writes if `writable`), as `rvisor
/// gofer` would run (before the sentry confines itself: it needs the
/// host's tree). It dies with the thread calling this (the sentry's main
/// thread, which lives as long as the sandbox).
pub fn start(root: &str, unconfined: bool, writable: bool) -> Result<Gofer, String> {
    let (ours, theirs) = gofer::server::socket_pair()
        .map_err(|e| format!("socketpair: {}", std::io::Error::from_raw_os_error(e.0)))?;
    let fd = theirs.as_raw_fd();
    // SAFETY: opens /dev/null; checked.
    let null = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
    if null < 0 {
        return Err(format!("/dev/null: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: getpid cannot fail.
    let parent = unsafe { libc::getpid() };
    // A fork without an exec: this process is still single-threaded and
    // holds nothing yet but its options, and `rvisor gofer` would only
    // load this same binary again (~2 ms of a CPU the sandbox's start
    // needs). The sentry goes on setting itself up meanwhile.
    // SAFETY: fork of a single-threaded process; the child serves and
    // exits, never returning into the caller.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        // SAFETY: closes our own descriptor.
        unsafe { libc::close(null) };
        return Err(format!(
            "cannot start the gofer: {}",
            std::io::Error::last_os_error()
        ));
    }
    if pid == 0 {
        // SAFETY: the child: its own copies of the descriptors; `run`
        // closes every one but the socket (the sentry's end included).
        unsafe {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0
                || libc::getppid() != parent
                || libc::dup2(null, 0) < 0
                || libc::dup2(null, 1) < 0
            {
                libc::_exit(125);
            }
            libc::_exit(i32::from(run(fd, root, unconfined, writable)));
        }
    }
    // SAFETY: closes our own descriptor.
    unsafe { libc::close(null) };
    drop(theirs);
    Ok(Gofer { pid, sock: ours })
}

/// Ends the sandbox with a clear error when the gofer goes away while
/// the sandbox runs: a thread waits for the gofer's end of the socket to
/// hang up, then reaps it and exits (`on_death` restores the terminal).
pub fn watch(g_pid: i32, sock: RawFd, on_death: impl FnOnce() + Send + 'static) {
    // A descriptor of its own, so the number stays valid whatever the
    // VFS does with the original.
    // SAFETY: dup of a live descriptor; checked.
    let own = unsafe { libc::fcntl(sock, libc::F_DUPFD_CLOEXEC, 0) };
    if own < 0 {
        return;
    }
    // SAFETY: a fresh descriptor we own.
    let own = unsafe { OwnedFd::from_raw_fd(own) };
    let _ = std::thread::Builder::new()
        .name("gofer-watch".into())
        .spawn(move || {
            let mut p = libc::pollfd {
                fd: own.as_raw_fd(),
                events: 0,
                revents: 0,
            };
            // Only a hang-up or an error wakes this (no events asked).
            // SAFETY: polls one live pollfd.
            while unsafe { libc::poll(&mut p, 1, -1) } <= 0 || p.revents == 0 {}
            let mut st = 0;
            // SAFETY: reaps our own child.
            while unsafe { libc::waitpid(g_pid, &mut st, 0) } < 0
                && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR)
            {}
            let how = if libc::WIFSIGNALED(st) {
                format!("was killed by signal {}", libc::WTERMSIG(st))
            } else {
                format!("exited with status {}", libc::WEXITSTATUS(st))
            };
            on_death();
            eprintln!(
                "rvisor: the gofer (pid {g_pid}) {how}: the sandbox has lost its files and is ended"
            );
            std::process::exit(125);
        });
}
