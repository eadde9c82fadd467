//! The stub factory: a small process forked from the sentry before the
//! sentry confines itself, which starts every later stub process.
//!
//! Seccomp filters are inherited and stack, and the strictest action of
//! all of a thread's filters wins. A stub made by the sentry itself would
//! carry the sentry's own allow-list under its stub filter, so an
//! application syscall the stub filter turns into a `SIGSYS` (trap), or a
//! host call the sentry makes a ptrace stub perform, would be killed by
//! the sentry's list instead; and the stub's own `execveat` would be
//! refused. A process forked before the sentry installs anything keeps
//! none of that: the factory clones each stub with
//! `CLONE_PARENT` (so the stub is the sentry's child, as if the sentry had
//! made it: the sentry waits for it, kills it, and its
//! `PR_SET_PDEATHSIG` follows the sentry's thread that started the
//! factory) and `execveat`s the one stub image it was given at start.
//!
//! What the sentry can ask for: descriptors of its own, installed at the
//! numbers it names, in a new process running that image. The image is a
//! sealed memfd (no writes, no size change), so a sentry taken over by a
//! program cannot have the factory run code of its choosing: it gets a
//! stub, which it could already have. The factory blocks every signal
//! (terminal signals included), holds only its socket and the image, and dies with the thread that started it
//! (`PR_SET_PDEATHSIG`).
//!
//! Protocol (one `SOCK_SEQPACKET` socket; one request at a time under a
//! lock): a [`Request`] with up to [`MAX_FDS`] descriptors
//! (`SCM_RIGHTS`), answered by an `i32`: the stub's pid or `-errno`.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Mutex;

use abi::Errno;

/// The most descriptors one stub is given.
pub const MAX_FDS: usize = 4;
/// Request flag: the stub calls `setsid` (no terminal signals).
pub const SETSID: u32 = 1;

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Request {
    flags: u32,
    nfds: u32,
    /// The number each passed descriptor gets in the stub, in order.
    targets: [i32; MAX_FDS],
}

/// A running factory (killed and reaped on drop).
pub struct Factory {
    sock: Mutex<OwnedFd>,
    pid: libc::pid_t,
}

/// Writes `image` into a new memfd and seals it (no writes, no resizing,
/// no more seals), so that what is executed from it is exactly `image`.
pub fn sealed_image(name: &std::ffi::CStr, image: &[u8]) -> Result<OwnedFd, Errno> {
    // SAFETY: memfd_create with a NUL-terminated name; checked.
    let fd =
        unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) };
    if fd < 0 {
        return Err(Errno::last_host());
    }
    // SAFETY: fd was just created and is owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut off = 0;
    while off < image.len() {
        // SAFETY: writes from a live slice to an fd we own.
        let n = unsafe {
            libc::write(
                fd.as_raw_fd(),
                image[off..].as_ptr().cast(),
                image.len() - off,
            )
        };
        if n <= 0 {
            return Err(Errno::last_host());
        }
        off += n as usize;
    }
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // SAFETY: fcntl on our own fd.
    if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) } != 0 {
        return Err(Errno::last_host());
    }
    Ok(fd)
}

impl Factory {
    /// Forks the factory, which will start stubs from `image` (a sealed
    /// memfd, see [`sealed_image`]). Call it on a thread that lives as
    /// long as the stubs: they become its children, and the factory and
    /// the stubs die with it.
    pub fn start(image: RawFd) -> Result<Factory, Errno> {
        let mut sv = [0i32; 2];
        // SAFETY: socketpair into a live array; checked.
        if unsafe {
            libc::socketpair(
                libc::AF_UNIX,
                libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
                0,
                sv.as_mut_ptr(),
            )
        } != 0
        {
            return Err(Errno::last_host());
        }
        // SAFETY: both fds were just created and are ours.
        let (ours, theirs) = unsafe { (OwnedFd::from_raw_fd(sv[0]), OwnedFd::from_raw_fd(sv[1])) };
        // SAFETY: getpid has no preconditions.
        let parent = unsafe { libc::getpid() };
        // SAFETY: the child runs only `serve`, which makes raw system
        // calls on its own stack and never returns (safe after fork in a
        // multithreaded process).
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(Errno::last_host());
        }
        if pid == 0 {
            // SAFETY: in the forked child; see above.
            unsafe { serve(theirs.as_raw_fd(), image, parent) }
        }
        drop(theirs);
        Ok(Factory {
            sock: Mutex::new(ours),
            pid,
        })
    }

    /// Starts a stub with `fds` (descriptor here, number in the stub)
    /// installed and nothing else open; `flags`: [`SETSID`]. Returns its
    /// pid, a child of this process.
    pub fn spawn(&self, fds: &[(RawFd, i32)], flags: u32) -> Result<libc::pid_t, Errno> {
        if fds.len() > MAX_FDS {
            return Err(Errno::EINVAL);
        }
        let mut req = Request {
            flags,
            nfds: fds.len() as u32,
            targets: [0; MAX_FDS],
        };
        let mut passed = [0i32; MAX_FDS];
        for (i, &(fd, target)) in fds.iter().enumerate() {
            passed[i] = fd;
            req.targets[i] = target;
        }
        let mut cbuf = [0u64; 8];
        let data_len = std::mem::size_of_val(&passed[..fds.len()]);
        let mut iov = libc::iovec {
            iov_base: &mut req as *mut Request as *mut libc::c_void,
            iov_len: std::mem::size_of::<Request>(),
        };
        // SAFETY: an all-zero msghdr is valid; pointers set below are to
        // live locals, and the control buffer is large enough for
        // CMSG_SPACE(MAX_FDS * 4).
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        if !fds.is_empty() {
            msg.msg_control = cbuf.as_mut_ptr().cast();
            // SAFETY: CMSG_SPACE is arithmetic.
            msg.msg_controllen = unsafe { libc::CMSG_SPACE(data_len as u32) } as usize;
            // SAFETY: the control buffer holds one header plus data_len.
            unsafe {
                let c = libc::CMSG_FIRSTHDR(&msg);
                (*c).cmsg_level = libc::SOL_SOCKET;
                (*c).cmsg_type = libc::SCM_RIGHTS;
                (*c).cmsg_len = libc::CMSG_LEN(data_len as u32) as usize;
                std::ptr::copy_nonoverlapping(
                    passed.as_ptr().cast::<u8>(),
                    libc::CMSG_DATA(c),
                    data_len,
                );
            }
        }
        let sock = self.sock.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            // SAFETY: sends the message built above on our socket.
            let n = unsafe { libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) };
            if n >= 0 {
                break;
            }
            if Errno::last_host() != Errno::EINTR {
                return Err(Errno::EAGAIN);
            }
        }
        let mut answer = 0i32;
        loop {
            // SAFETY: receives 4 bytes into a live i32.
            let n = unsafe { libc::recv(sock.as_raw_fd(), (&mut answer as *mut i32).cast(), 4, 0) };
            if n == 4 {
                break;
            }
            if n < 0 && Errno::last_host() == Errno::EINTR {
                continue;
            }
            // The factory is gone.
            return Err(Errno::EAGAIN);
        }
        if answer < 0 {
            Err(Errno(-answer))
        } else {
            Ok(answer)
        }
    }
}

impl Drop for Factory {
    fn drop(&mut self) {
        // SAFETY: kills and reaps our own child, not reaped before.
        unsafe {
            libc::kill(self.pid, libc::SIGKILL);
            let mut st = 0;
            while libc::waitpid(self.pid, &mut st, 0) < 0 && Errno::last_host() == Errno::EINTR {}
        }
    }
}

/// What a stub's first moments need, on the factory's stack while it is
/// suspended (`CLONE_VFORK`).
struct Child {
    flags: u32,
    n: usize,
    fds: [i32; MAX_FDS],
    targets: [i32; MAX_FDS],
    image: i32,
    /// The sentry: the stub's parent (`CLONE_PARENT`).
    parent: libc::pid_t,
}

fn raw_errno() -> i32 {
    // SAFETY: reads this thread's errno.
    unsafe { *libc::__errno_location() }
}

/// The factory's life: set itself apart, then answer requests until the
/// sentry closes its end.
///
/// # Safety
///
/// Only in the child of `fork`: it makes raw system calls only (no
/// allocation, no locks) and never returns.
unsafe fn serve(sock: RawFd, image: RawFd, parent: libc::pid_t) -> ! {
    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
    // A sentry that died before the line above sent no signal.
    if libc::getppid() != parent {
        libc::_exit(0);
    }
    // No setsid here: a new session is a new scheduler autogroup, and
    // ptrace stubs (which keep the factory's session) scheduled apart
    // from the sentry threads that drive them made thread create+join
    // ~2x slower. Terminal signals are blocked like all others.
    let full: u64 = !0;
    libc::syscall(
        libc::SYS_rt_sigprocmask,
        libc::SIG_SETMASK,
        &full as *const u64,
        0usize,
        8usize,
    );
    // Keep only the socket and the image.
    let (lo, hi) = (sock.min(image) as u32, sock.max(image) as u32);
    if lo > 0 {
        libc::syscall(libc::SYS_close_range, 0u32, lo - 1, 0);
    }
    if hi > lo + 1 {
        libc::syscall(libc::SYS_close_range, lo + 1, hi - 1, 0);
    }
    libc::syscall(libc::SYS_close_range, hi + 1, u32::MAX, 0);
    let mut stack = [0u64; 4096];
    loop {
        let mut req = Request::default();
        let mut cbuf = [0u64; 8];
        let mut iov = libc::iovec {
            iov_base: &mut req as *mut Request as *mut libc::c_void,
            iov_len: std::mem::size_of::<Request>(),
        };
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&cbuf);
        let n = libc::recvmsg(sock, &mut msg, libc::MSG_CMSG_CLOEXEC);
        if n == 0 {
            libc::_exit(0);
        }
        if n < 0 {
            if raw_errno() == libc::EINTR {
                continue;
            }
            libc::_exit(1);
        }
        // Every descriptor received, whether the request is valid or not.
        let mut fds = [-1i32; MAX_FDS];
        let mut nfds = 0usize;
        let mut excess = false;
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                let bytes = (*c).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
                let data = libc::CMSG_DATA(c) as *const i32;
                for i in 0..bytes / 4 {
                    let fd = data.add(i).read_unaligned();
                    if nfds < MAX_FDS {
                        fds[nfds] = fd;
                        nfds += 1;
                    } else {
                        libc::close(fd);
                        excess = true;
                    }
                }
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
        let valid = n as usize == std::mem::size_of::<Request>()
            && !excess
            && msg.msg_flags & libc::MSG_CTRUNC == 0
            && req.nfds as usize == nfds
            && (0..nfds).all(|i| {
                let t = req.targets[i];
                (0..1 << 20).contains(&t) && (0..i).all(|j| req.targets[j] != t)
            });
        let answer = if valid {
            let child = Child {
                flags: req.flags,
                n: nfds,
                fds,
                targets: req.targets,
                image,
                parent,
            };
            let top = stack.as_mut_ptr().add(stack.len());
            let pid = libc::clone(
                stub_child,
                top.cast(),
                libc::CLONE_VM | libc::CLONE_VFORK | libc::CLONE_PARENT | libc::SIGCHLD,
                &child as *const Child as *mut libc::c_void,
            );
            if pid < 0 {
                -raw_errno()
            } else {
                pid
            }
        } else {
            -libc::EINVAL
        };
        for &fd in &fds[..nfds] {
            libc::close(fd);
        }
        if libc::send(sock, (&answer as *const i32).cast(), 4, libc::MSG_NOSIGNAL) != 4 {
            libc::_exit(1);
        }
    }
}

extern "C" fn stub_child(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` points at the factory's Child, alive until we exec or
    // exit because the factory is suspended by CLONE_VFORK; only raw
    // system calls follow, each failure ends the child (which the sentry
    // observes as a stub that never became ready).
    unsafe {
        let a = &*(arg as *const Child);
        let empty: u64 = 0;
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &empty as *const u64,
            0usize,
            8usize,
        );
        if a.flags & SETSID != 0 {
            libc::setsid();
        }
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
        if libc::getppid() != a.parent {
            libc::_exit(5);
        }
        // Move everything above every target first, so that installing
        // one never clobbers another still needed.
        let hi = a.targets[..a.n]
            .iter()
            .copied()
            .max()
            .unwrap_or(0)
            .max(a.image)
            + 1;
        let mut moved = [0i32; MAX_FDS];
        for (m, &fd) in moved.iter_mut().zip(&a.fds[..a.n]) {
            *m = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, hi);
            if *m < 0 {
                libc::_exit(4);
            }
        }
        let image = libc::fcntl(a.image, libc::F_DUPFD_CLOEXEC, hi);
        if image < 0 {
            libc::_exit(4);
        }
        for (&m, &target) in moved.iter().zip(&a.targets[..a.n]) {
            // dup2's copy is not close-on-exec.
            if libc::dup2(m, target) < 0 {
                libc::_exit(4);
            }
        }
        // Everything else is closed by the exec.
        libc::syscall(
            libc::SYS_close_range,
            0u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC as libc::c_int,
        );
        for i in 0..a.n {
            libc::fcntl(a.targets[i], libc::F_SETFD, 0);
        }
        let argv: [*const libc::c_char; 1] = [std::ptr::null()];
        libc::syscall(
            libc::SYS_execveat,
            image,
            c"".as_ptr(),
            argv.as_ptr(),
            argv.as_ptr(),
            libc::AT_EMPTY_PATH,
        );
        libc::_exit(3);
    }
}

#[cfg(test)]
mod tests {
    use abi::PtRegs;

    use crate::Event;

    /// Set in the environment of the process that runs
    /// [`filtered_child`].
    const CHILD_ENV: &str = "RVISOR_FACTORY_TEST_CHILD";

    /// Installs, for every thread of this process, a filter that refuses
    /// `execve`/`execveat` (`EPERM`) and kills the process on `getppid`:
    /// what a confined sentry's allow-list does to calls it never makes.
    fn install_filter() {
        const LD_NR: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
        const JEQ: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
        const RET: u16 = 0x06; // BPF_RET | BPF_K
        let ins = |code, jt, jf, k| libc::sock_filter { code, jt, jf, k };
        let eperm = libc::SECCOMP_RET_ERRNO | libc::EPERM as u32;
        let prog = [
            ins(LD_NR, 0, 0, 0),
            ins(JEQ, 3, 0, libc::SYS_execve as u32),
            ins(JEQ, 2, 0, libc::SYS_execveat as u32),
            ins(JEQ, 2, 0, libc::SYS_getppid as u32),
            ins(RET, 0, 0, libc::SECCOMP_RET_ALLOW),
            ins(RET, 0, 0, eperm),
            ins(RET, 0, 0, libc::SECCOMP_RET_KILL_PROCESS),
        ];
        let fprog = libc::sock_fprog {
            len: prog.len() as u16,
            filter: prog.as_ptr() as *mut libc::sock_filter,
        };
        // SAFETY: prctl and seccomp with a live program; checked.
        unsafe {
            assert_eq!(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
            assert_eq!(
                libc::syscall(
                    libc::SYS_seccomp,
                    libc::SECCOMP_SET_MODE_FILTER,
                    libc::SECCOMP_FILTER_FLAG_TSYNC,
                    &fprog as *const libc::sock_fprog,
                ),
                0
            );
        }
    }

    /// Stubs started by a factory made before this process installs a
    /// seccomp filter carry nothing of it, on both platforms: their
    /// `execveat` works, and the application's `getppid` (which the
    /// filter would answer by killing) is reported to the sentry. The
    /// same platforms without a factory cannot start a stub at all.
    /// Runs [`filtered_child`] in a process of its own (the filter
    /// cannot be removed).
    #[test]
    fn stubs_from_the_factory_escape_a_later_filter() {
        let exe = std::env::current_exe().unwrap();
        let out = std::process::Command::new(exe)
            .args([
                "--exact",
                "factory::tests::filtered_child",
                "--include-ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, "1")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("1 passed"), "{text}");
    }

    #[test]
    #[ignore = "run by stubs_from_the_factory_escape_a_later_filter"]
    fn filtered_child() {
        if std::env::var_os(CHILD_ENV).is_none() {
            return;
        }
        // mov eax, SYS_getppid; syscall; jmp .
        let code: [u8; 9] = [0xb8, 110, 0, 0, 0, 0x0f, 0x05, 0xeb, 0xfe];
        // SAFETY: test-only memfd; results checked.
        let memfd = unsafe {
            let fd = libc::memfd_create(c"t".as_ptr(), libc::MFD_CLOEXEC);
            assert!(fd >= 0);
            assert_eq!(libc::ftruncate(fd, 0x10000), 0);
            assert_eq!(libc::pwrite(fd, code.as_ptr().cast(), code.len(), 0), 9);
            fd
        };
        let opts = crate::Options::default();
        let mut with = Vec::new();
        let mut without = Vec::new();
        for name in crate::PLATFORMS {
            let p = crate::by_name(name, memfd, opts).unwrap();
            p.use_stub_factory().unwrap();
            with.push(p);
            without.push(crate::by_name(name, memfd, opts).unwrap());
        }
        install_filter();
        for p in &without {
            assert!(p.new_context().is_err(), "{} started a stub", p.name());
        }
        for p in &with {
            for _ in 0..3 {
                let mut ctx = p.new_context().unwrap();
                let rx = (libc::PROT_READ | libc::PROT_EXEC) as u32;
                ctx.map_file(0x400000, 0x1000, 0, rx).unwrap();
                let mut regs = PtRegs {
                    rip: 0x400000,
                    cs: 0x33,
                    ss: 0x2b,
                    eflags: 0x202,
                    ..PtRegs::default()
                };
                let ev = ctx.switch(&mut regs);
                assert!(matches!(ev, Event::Syscall), "{}: {ev:?}", p.name());
                assert_eq!(regs.orig_rax, 110, "{}", p.name());
            }
        }
    }
}
