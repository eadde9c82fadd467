//! The sentry's own seccomp allow-list, installed on every thread
//! (`TSYNC`) after the stub factory exists and before application code
//! runs. Anything not listed kills the sentry (and so the sandbox).
//!
//! The list was found by running the whole test suite with the filter in
//! logging mode (`RVISOR_SECCOMP_LOG=1`: calls outside the list are
//! allowed and logged by the host kernel as audit type 1326) on both
//! platforms. Arguments are pinned where they decide what a call can
//! reach: no executable memory (`mmap`/`mprotect` without `PROT_EXEC`),
//! only threads (`clone` with `CLONE_THREAD`; `clone3`, whose flags sit in
//! memory a filter cannot read, answers `ENOSYS` so the C library falls
//! back to `clone`), only `AF_UNIX` sockets, only the terminal `ioctl`s the
//! sentry forwards, only `PR_SET_NAME`/`PR_GET_NAME` of `prctl`. Both
//! platforms share one list; what only one platform needs is marked.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen as Len, SeccompCmpOp as Op, SeccompCondition,
    SeccompFilter, SeccompRule, TargetArch,
};

fn cond(arg: u8, len: Len, op: Op, value: u64) -> SeccompCondition {
    SeccompCondition::new(arg, len, op, value).expect("valid seccomp condition")
}

fn rule(conds: Vec<SeccompCondition>) -> SeccompRule {
    SeccompRule::new(conds).expect("non-empty seccomp rule")
}

/// `arg` has none of the bits of `mask`.
fn without(arg: u8, mask: u64) -> Vec<SeccompRule> {
    vec![rule(vec![cond(arg, Len::Qword, Op::MaskedEq(mask), 0)])]
}

/// `arg` is one of `values` (compared as 32-bit).
fn one_of(arg: u8, values: &[u64]) -> Vec<SeccompRule> {
    values
        .iter()
        .map(|&v| rule(vec![cond(arg, Len::Dword, Op::Eq, v)]))
        .collect()
}

/// Calls allowed whatever their arguments.
const ANY_ARGS: &[i64] = &[
    // descriptors: the memory file, host files the gofer donated, the
    // standard streams, pipes, the factory's and the gofer's sockets
    libc::SYS_read,
    libc::SYS_write,
    libc::SYS_readv,
    libc::SYS_writev,
    libc::SYS_pread64,
    libc::SYS_pwrite64,
    libc::SYS_preadv,
    libc::SYS_pwritev,
    libc::SYS_lseek,
    libc::SYS_close,
    libc::SYS_close_range,
    libc::SYS_fstat,
    libc::SYS_newfstatat,
    libc::SYS_statx,
    libc::SYS_fstatfs,
    // answered EACCES by the second filter
    libc::SYS_open,
    libc::SYS_openat,
    libc::SYS_fcntl,
    libc::SYS_dup,
    libc::SYS_dup3,
    libc::SYS_pipe2,
    libc::SYS_ftruncate,
    libc::SYS_fallocate,
    libc::SYS_fadvise64,
    libc::SYS_memfd_create,
    libc::SYS_sendmsg,
    libc::SYS_recvmsg,
    libc::SYS_sendto,
    libc::SYS_recvfrom,
    // a container's control socket (bound and listening before this)
    libc::SYS_accept4,
    libc::SYS_poll,
    libc::SYS_ppoll,
    libc::SYS_pselect6,
    // memory (mmap/mprotect below)
    libc::SYS_munmap,
    libc::SYS_mremap,
    libc::SYS_madvise,
    libc::SYS_brk,
    libc::SYS_membarrier,
    libc::SYS_mincore,
    // threads, signals, waiting
    libc::SYS_futex,
    libc::SYS_set_robust_list,
    libc::SYS_rseq,
    libc::SYS_clone3,
    libc::SYS_exit,
    libc::SYS_exit_group,
    libc::SYS_rt_sigaction,
    libc::SYS_rt_sigprocmask,
    libc::SYS_rt_sigreturn,
    libc::SYS_rt_sigtimedwait,
    libc::SYS_sigaltstack,
    libc::SYS_sched_yield,
    libc::SYS_sched_getaffinity,
    libc::SYS_sched_setaffinity,
    libc::SYS_getcpu,
    libc::SYS_nanosleep,
    libc::SYS_clock_nanosleep,
    libc::SYS_clock_gettime,
    libc::SYS_clock_getres,
    libc::SYS_gettimeofday,
    libc::SYS_getrandom,
    libc::SYS_sysinfo,
    // the host clock's state for the sandbox's read-only adjtimex (setting
    // it needs CAP_SYS_TIME, which the sentry does not have)
    libc::SYS_adjtimex,
    libc::SYS_clock_adjtime,
    libc::SYS_getrusage,
    libc::SYS_times,
    libc::SYS_uname,
    // identity (own process)
    libc::SYS_getpid,
    libc::SYS_gettid,
    libc::SYS_getuid,
    libc::SYS_geteuid,
    libc::SYS_getgid,
    libc::SYS_getegid,
    // stubs: signal, wait for, trace (ptrace platform; trap platform's
    // recovery of a thread that blocks the interrupt signal)
    libc::SYS_kill,
    libc::SYS_tgkill,
    libc::SYS_wait4,
    libc::SYS_waitid,
    libc::SYS_ptrace,
    libc::SYS_process_vm_readv,
    libc::SYS_process_vm_writev,
];

/// What `--network=host` adds: the sentry makes and drives host sockets
/// for the sandbox (`net::host`), watched by one epoll instance
/// (`net::notify`).
fn add_host_network(rules: &mut BTreeMap<i64, Vec<SeccompRule>>) {
    for nr in [
        libc::SYS_bind,
        libc::SYS_listen,
        libc::SYS_connect,
        libc::SYS_getsockname,
        libc::SYS_getpeername,
        libc::SYS_shutdown,
        libc::SYS_epoll_create1,
        libc::SYS_epoll_ctl,
        libc::SYS_epoll_wait,
    ] {
        rules.insert(nr, Vec::new());
    }
    // TCP, UDP and ping sockets of either family; route netlink sockets.
    let family = |f: i32| rule(vec![cond(0, Len::Dword, Op::Eq, f as u64)]);
    rules.insert(
        libc::SYS_socket,
        vec![
            family(libc::AF_UNIX),
            family(libc::AF_INET),
            family(libc::AF_INET6),
            rule(vec![
                cond(0, Len::Dword, Op::Eq, libc::AF_NETLINK as u64),
                cond(2, Len::Dword, Op::Eq, libc::NETLINK_ROUTE as u64),
            ]),
        ],
    );
    // Options of the levels net::host passes; of SOL_SOCKET only those
    // without pointers (no filters) that it passes.
    let mut opts: Vec<SeccompRule> = [
        libc::SOL_TCP,
        libc::SOL_UDP,
        libc::SOL_IP,
        libc::SOL_IPV6,
        libc::SOL_ICMPV6,
        libc::SOL_NETLINK,
    ]
    .iter()
    .map(|&l| rule(vec![cond(1, Len::Dword, Op::Eq, l as u64)]))
    .collect();
    opts.extend(net::host::SOCKET_OPTIONS.iter().map(|&n| {
        rule(vec![
            cond(1, Len::Dword, Op::Eq, libc::SOL_SOCKET as u64),
            cond(2, Len::Dword, Op::Eq, n as u64),
        ])
    }));
    rules.insert(libc::SYS_setsockopt, opts.clone());
    rules.insert(libc::SYS_getsockopt, opts);
    if let Some(ioctl) = rules.get_mut(&libc::SYS_ioctl) {
        ioctl.extend(
            net::host::ioctls()
                .into_iter()
                .map(|c| rule(vec![cond(1, Len::Dword, Op::Eq, c as u64)])),
        );
    }
}

/// The sentry's filters, in the order to install them (the allow-list
/// last: it does not list `seccomp`). `log`: allow and log what is not
/// listed instead of killing (to find what is missing). `network`: the
/// sandbox's network mode (`--network=host` needs host sockets).
pub fn sentry_filter(log: bool, network: net::Mode) -> Result<Vec<BpfProgram>, String> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> =
        ANY_ARGS.iter().map(|&nr| (nr, Vec::new())).collect();
    let exec = libc::PROT_EXEC as u64;
    rules.insert(libc::SYS_mmap, without(2, exec));
    rules.insert(libc::SYS_mprotect, without(2, exec));
    rules.insert(
        libc::SYS_clone,
        vec![rule(vec![cond(
            0,
            Len::Qword,
            Op::MaskedEq(libc::CLONE_THREAD as u64),
            libc::CLONE_THREAD as u64,
        )])],
    );
    rules.insert(libc::SYS_socket, one_of(0, &[libc::AF_UNIX as u64]));
    rules.insert(libc::SYS_socketpair, one_of(0, &[libc::AF_UNIX as u64]));
    rules.insert(
        libc::SYS_ioctl,
        one_of(
            1,
            &[
                libc::FIONREAD,
                libc::TCGETS,
                libc::TCSETS,
                libc::TCSETSW,
                libc::TCSETSF,
                libc::TIOCGWINSZ,
                libc::TIOCSWINSZ,
            ],
        ),
    );
    rules.insert(
        libc::SYS_prctl,
        one_of(
            0,
            &[
                libc::PR_SET_NAME as u64,
                libc::PR_GET_NAME as u64,
                libc::PR_SET_VMA as u64,
            ],
        ),
    );
    if network == net::Mode::Host {
        add_host_network(&mut rules);
    }
    let mismatch = if log {
        SeccompAction::Log
    } else {
        SeccompAction::KillProcess
    };
    let arch = TargetArch::x86_64;
    let allow = SeccompFilter::new(rules, mismatch, SeccompAction::Allow, arch)
        .and_then(BpfProgram::try_from)
        .map_err(|e| format!("building the seccomp filter: {e}"))?;
    // Calls the list lets through to be answered here with an error
    // instead of killing: clone3's flags are in memory (the C library then
    // uses clone, whose flags the list checks), and opening by path (the
    // sentry opens no host path: the gofer does; a library probing a path
    // gets an error; `openat2`, which no library probes, kills).
    let answer = |nrs: &[i64], errno: i32| {
        SeccompFilter::new(
            nrs.iter().map(|&nr| (nr, Vec::new())).collect(),
            SeccompAction::Allow,
            SeccompAction::Errno(errno as u32),
            arch,
        )
        .and_then(BpfProgram::try_from)
        .map_err(|e| format!("building the seccomp filter: {e}"))
    };
    Ok(vec![
        answer(&[libc::SYS_clone3], libc::ENOSYS)?,
        answer(&[libc::SYS_open, libc::SYS_openat], libc::EACCES)?,
        allow,
    ])
}

/// Installs [`sentry_filter`] on every thread of this process.
pub fn install(log: bool, network: net::Mode) -> Result<(), String> {
    for prog in &sentry_filter(log, network)? {
        seccompiler::apply_filter_all_threads(prog)
            .map_err(|e| format!("installing the seccomp filter: {e}"))?;
    }
    Ok(())
}

/// Calls the gofer makes while it serves, whatever their arguments.
const GOFER_ANY_ARGS: &[i64] = &[
    // the protocol socket (sendmsg only on the socket it has: it holds no
    // other, and may not make one)
    libc::SYS_recvmsg,
    libc::SYS_sendmsg,
    // opening beneath its root (openat2's resolve flags are in memory,
    // where a filter cannot see them; the gofer's root is the container's
    // root, read-only, so they only keep it inside a mount)
    libc::SYS_openat2,
    libc::SYS_newfstatat,
    libc::SYS_fstat,
    libc::SYS_statx,
    libc::SYS_getdents64,
    libc::SYS_readlinkat,
    libc::SYS_close,
    libc::SYS_fstatfs,
    libc::SYS_fsync,
    libc::SYS_fdatasync,
    // getxattrat, listxattrat (reading a name's extended attributes)
    464,
    465,
    // its own identity (a new file's owner is set only when it differs)
    libc::SYS_geteuid,
    libc::SYS_getegid,
    // its own memory, and error messages to stderr
    libc::SYS_munmap,
    libc::SYS_mremap,
    libc::SYS_madvise,
    libc::SYS_brk,
    libc::SYS_write,
    libc::SYS_futex,
    libc::SYS_sched_yield,
    libc::SYS_rt_sigprocmask,
    libc::SYS_rt_sigreturn,
    libc::SYS_sigaltstack,
    libc::SYS_exit,
    libc::SYS_exit_group,
];

/// What a writable gofer adds: changing the tree beneath its root, one
/// name in a directory descriptor at a time.
const GOFER_WRITE_CALLS: &[i64] = &[
    libc::SYS_mkdirat,
    libc::SYS_mknodat,
    libc::SYS_symlinkat,
    libc::SYS_linkat,
    libc::SYS_unlinkat,
    libc::SYS_renameat2,
    libc::SYS_fchownat,
    libc::SYS_fchown,
    libc::SYS_utimensat,
    libc::SYS_ftruncate,
    // fchmodat2, setxattrat, removexattrat
    452,
    463,
    466,
];

/// The gofer's allow-list: file serving and nothing else (no process,
/// thread, socket, mount, `ptrace` or `execve`; no executable memory);
/// calls that change files only if it serves a `writable` mount.
pub fn gofer_filter(log: bool, writable: bool) -> Result<BpfProgram, String> {
    let writes: &[i64] = if writable { GOFER_WRITE_CALLS } else { &[] };
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = GOFER_ANY_ARGS
        .iter()
        .chain(writes)
        .map(|&nr| (nr, Vec::new()))
        .collect();
    let exec = libc::PROT_EXEC as u64;
    rules.insert(libc::SYS_mmap, without(2, exec));
    rules.insert(libc::SYS_mprotect, without(2, exec));
    let mismatch = if log {
        SeccompAction::Log
    } else {
        SeccompAction::KillProcess
    };
    SeccompFilter::new(rules, mismatch, SeccompAction::Allow, TargetArch::x86_64)
        .and_then(BpfProgram::try_from)
        .map_err(|e| format!("building the gofer's seccomp filter: {e}"))
}

/// Installs [`gofer_filter`] on this (single-threaded) process.
pub fn install_gofer(log: bool, writable: bool) -> Result<(), String> {
    seccompiler::apply_filter(&gofer_filter(log, writable)?)
        .map_err(|e| format!("installing the seccomp filter: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `f` in a child process that installed the sentry's filter
    /// first; returns how the child ended (`Ok(exit code)`, `Err(signal)`).
    fn in_filtered_child(f: impl FnOnce() -> i32) -> Result<i32, i32> {
        in_child_with(sentry_filter(false, net::Mode::None).unwrap(), f)
    }

    /// [`in_filtered_child`] with the given filters.
    fn in_child_with(progs: Vec<BpfProgram>, f: impl FnOnce() -> i32) -> Result<i32, i32> {
        // SAFETY: the child only makes raw calls (no allocation: the
        // programs were built before the fork) and exits.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            // SAFETY: prctl/seccomp with live programs; then the test
            // body; the child never returns into the test harness.
            unsafe {
                libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
                for prog in &progs {
                    let fprog = libc::sock_fprog {
                        len: prog.len() as u16,
                        filter: prog.as_ptr() as *mut libc::sock_filter,
                    };
                    if libc::syscall(libc::SYS_seccomp, 1, 0, &fprog) != 0 {
                        libc::_exit(100);
                    }
                }
                libc::_exit(f());
            }
        }
        let mut st = 0;
        // SAFETY: waits for our own child.
        unsafe { libc::waitpid(pid, &mut st, 0) };
        if libc::WIFEXITED(st) {
            Ok(libc::WEXITSTATUS(st))
        } else {
            Err(libc::WTERMSIG(st))
        }
    }

    /// A raw system call (made in the filtered child only).
    fn raw(nr: i64, a: [usize; 5]) -> i64 {
        // SAFETY: the calls below pass integers, static strings or null
        // pointers; whatever they do happens in the forked child.
        unsafe { libc::syscall(nr, a[0], a[1], a[2], a[3], a[4]) }
    }

    /// The call is refused by killing the sentry.
    fn killed(nr: i64, a: [usize; 5]) {
        assert_eq!(
            in_filtered_child(|| raw(nr, a) as i32),
            Err(libc::SIGSYS),
            "syscall {nr}"
        );
    }

    #[test]
    fn refuses_what_the_sentry_never_needs() {
        let passwd = c"/etc/passwd".as_ptr() as usize;
        // Opening by path is answered EACCES, never executed.
        for (nr, a) in [
            (libc::SYS_open, [passwd, 0, 0, 0, 0]),
            (libc::SYS_openat, [libc::AT_FDCWD as usize, passwd, 0, 0, 0]),
        ] {
            let r = in_filtered_child(|| {
                let r = raw(nr, a);
                // SAFETY: reads this thread's errno.
                let e = unsafe { *libc::__errno_location() };
                i32::from(!(r == -1 && e == libc::EACCES))
            });
            assert_eq!(r, Ok(0), "syscall {nr}");
        }
        let tmpfs = c"tmpfs".as_ptr() as usize;
        let x = c"x".as_ptr() as usize;
        let prot_rx = (libc::PROT_READ | libc::PROT_EXEC) as usize;
        let anon = (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS) as usize;
        killed(
            libc::SYS_execve,
            [c"/bin/true".as_ptr() as usize, 0, 0, 0, 0],
        );
        killed(
            libc::SYS_execveat,
            [libc::AT_FDCWD as usize, passwd, 0, 0, 0],
        );
        killed(
            libc::SYS_socket,
            [libc::AF_INET as usize, libc::SOCK_STREAM as usize, 0, 0, 0],
        );
        killed(
            libc::SYS_socket,
            [libc::AF_NETLINK as usize, libc::SOCK_RAW as usize, 0, 0, 0],
        );
        killed(
            libc::SYS_mount,
            [tmpfs, c"/mnt".as_ptr() as usize, tmpfs, 0, 0],
        );
        killed(libc::SYS_mmap, [0, 4096, prot_rx, anon, usize::MAX]);
        killed(libc::SYS_mprotect, [0x1000, 4096, prot_rx, 0, 0]);
        killed(libc::SYS_fork, [0; 5]);
        killed(libc::SYS_clone, [libc::SIGCHLD as usize, 0, 0, 0, 0]);
        killed(libc::SYS_ioctl, [0, libc::TIOCSTI as usize, x, 0, 0]);
        killed(
            libc::SYS_unshare,
            [libc::CLONE_NEWUSER as usize, 0, 0, 0, 0],
        );
        killed(libc::SYS_open_by_handle_at, [0, 0, 0, 0, 0]);
        // Host files come from the gofer only.
        let how = [0u64; 3];
        killed(
            libc::SYS_openat2,
            [
                libc::AT_FDCWD as usize,
                passwd,
                how.as_ptr() as usize,
                24,
                0,
            ],
        );
        killed(
            libc::SYS_prctl,
            [libc::PR_SET_DUMPABLE as usize, 0, 0, 0, 0],
        );
    }

    /// The gofer's filter refuses what file serving never needs, and
    /// lets it open, stat and list files.
    #[test]
    fn gofer_serves_files_and_nothing_else() {
        let gofer = || vec![gofer_filter(false, false).unwrap()];
        let ok = in_child_with(gofer(), || {
            // SAFETY: raw calls on static strings and our own buffers.
            unsafe {
                let how: [u64; 3] = [(libc::O_RDONLY | libc::O_DIRECTORY) as u64, 0, 0];
                let fd = libc::syscall(
                    libc::SYS_openat2,
                    libc::AT_FDCWD,
                    c"/".as_ptr(),
                    how.as_ptr(),
                    24usize,
                );
                let mut st: libc::stat = std::mem::zeroed();
                if fd < 0 || libc::fstatat(fd as i32, c"etc".as_ptr(), &mut st, 0) != 0 {
                    return 1;
                }
                let mut buf = [0u8; 4096];
                if libc::syscall(libc::SYS_getdents64, fd, buf.as_mut_ptr(), buf.len()) <= 0 {
                    return 2;
                }
                0
            }
        });
        assert_eq!(ok, Ok(0));
        let passwd = c"/etc/passwd".as_ptr() as usize;
        let tmpfs = c"tmpfs".as_ptr() as usize;
        for (nr, a) in [
            (libc::SYS_openat, [libc::AT_FDCWD as usize, passwd, 0, 0, 0]),
            (
                libc::SYS_execve,
                [c"/bin/true".as_ptr() as usize, 0, 0, 0, 0],
            ),
            (
                libc::SYS_socket,
                [libc::AF_UNIX as usize, libc::SOCK_STREAM as usize, 0, 0, 0],
            ),
            (
                libc::SYS_socket,
                [libc::AF_INET as usize, libc::SOCK_STREAM as usize, 0, 0, 0],
            ),
            (libc::SYS_ptrace, [libc::PTRACE_ATTACH as usize, 1, 0, 0, 0]),
            (
                libc::SYS_mount,
                [tmpfs, c"/mnt".as_ptr() as usize, tmpfs, 0, 0],
            ),
            (libc::SYS_clone, [libc::SIGCHLD as usize, 0, 0, 0, 0]),
            (libc::SYS_kill, [1, 0, 0, 0, 0]),
            (
                libc::SYS_unlinkat,
                [libc::AT_FDCWD as usize, passwd, 0, 0, 0],
            ),
            (libc::SYS_open_by_handle_at, [0, 0, 0, 0, 0]),
        ] {
            assert_eq!(
                in_child_with(gofer(), || raw(nr, a) as i32),
                Err(libc::SIGSYS),
                "syscall {nr}"
            );
        }
    }

    /// A writable gofer's filter adds the calls that change files and
    /// nothing else; the read-only one refuses them.
    #[test]
    fn writable_gofer_changes_files_and_nothing_else() {
        let dir = std::env::temp_dir().join(format!("rvisor-gofer-w-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sub = std::ffi::CString::new(dir.join("sub").to_str().unwrap()).unwrap();
        let subp = sub.as_ptr() as usize;
        let ok = in_child_with(vec![gofer_filter(false, true).unwrap()], || {
            // SAFETY: raw calls on a path of our own test directory.
            unsafe {
                if libc::mkdirat(libc::AT_FDCWD, sub.as_ptr(), 0o700) != 0
                    || libc::unlinkat(libc::AT_FDCWD, sub.as_ptr(), libc::AT_REMOVEDIR) != 0
                {
                    return 1;
                }
                0
            }
        });
        assert_eq!(ok, Ok(0));
        assert_eq!(
            in_child_with(vec![gofer_filter(false, false).unwrap()], || raw(
                libc::SYS_mkdirat,
                [libc::AT_FDCWD as usize, subp, 0o700, 0, 0]
            )
                as i32),
            Err(libc::SIGSYS)
        );
        let tmpfs = c"tmpfs".as_ptr() as usize;
        for (nr, a) in [
            (
                libc::SYS_execve,
                [c"/bin/true".as_ptr() as usize, 0, 0, 0, 0],
            ),
            (
                libc::SYS_socket,
                [libc::AF_UNIX as usize, libc::SOCK_STREAM as usize, 0, 0, 0],
            ),
            (
                libc::SYS_mount,
                [tmpfs, c"/mnt".as_ptr() as usize, tmpfs, 0, 0],
            ),
            (libc::SYS_openat, [libc::AT_FDCWD as usize, subp, 0, 0, 0]),
            (libc::SYS_open_by_handle_at, [0, 0, 0, 0, 0]),
            (libc::SYS_clone, [libc::SIGCHLD as usize, 0, 0, 0, 0]),
        ] {
            assert_eq!(
                in_child_with(vec![gofer_filter(false, true).unwrap()], || raw(nr, a)
                    as i32),
                Err(libc::SIGSYS),
                "syscall {nr}"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// `--network=host` lets through inet and route netlink sockets and
    /// the options `net::host` passes, and nothing more; the default mode
    /// none of it.
    #[test]
    fn host_network_widens_exactly_for_host_mode() {
        let host = || sentry_filter(false, net::Mode::Host).unwrap();
        let ok = in_child_with(host(), || {
            // SAFETY: raw calls on our own descriptors and integers.
            unsafe {
                let s = libc::socket(libc::AF_INET6, libc::SOCK_STREAM, 0);
                let one = 1i32;
                let p = (&one as *const i32).cast();
                if s < 0 || libc::setsockopt(s, libc::SOL_SOCKET, libc::SO_REUSEADDR, p, 4) != 0 {
                    return 1;
                }
                if libc::setsockopt(s, libc::SOL_TCP, libc::TCP_NODELAY, p, 4) != 0 {
                    return 2;
                }
                let nl = libc::socket(libc::AF_NETLINK, libc::SOCK_RAW, libc::NETLINK_ROUTE);
                if nl < 0 || libc::epoll_create1(0) < 0 {
                    return 3;
                }
                0
            }
        });
        assert_eq!(ok, Ok(0));
        let filter = c"".as_ptr() as usize;
        for (nr, a) in [
            (
                libc::SYS_socket,
                [libc::AF_PACKET as usize, libc::SOCK_RAW as usize, 0, 0, 0],
            ),
            (
                libc::SYS_socket,
                [
                    libc::AF_NETLINK as usize,
                    libc::SOCK_RAW as usize,
                    libc::NETLINK_SOCK_DIAG as usize,
                    0,
                    0,
                ],
            ),
            // A BPF filter (a pointer the host would follow).
            (
                libc::SYS_setsockopt,
                [
                    0,
                    libc::SOL_SOCKET as usize,
                    libc::SO_ATTACH_FILTER as usize,
                    filter,
                    16,
                ],
            ),
            (libc::SYS_ioctl, [0, libc::SIOCSIFFLAGS as usize, 0, 0, 0]),
        ] {
            assert_eq!(
                in_child_with(host(), || raw(nr, a) as i32),
                Err(libc::SIGSYS),
                "syscall {nr}"
            );
        }
        for (nr, a) in [
            (
                libc::SYS_socket,
                [libc::AF_INET as usize, libc::SOCK_STREAM as usize, 0, 0, 0],
            ),
            (libc::SYS_bind, [0, 0, 0, 0, 0]),
            (libc::SYS_epoll_create1, [0, 0, 0, 0, 0]),
        ] {
            killed(nr, a);
        }
    }

    #[test]
    fn allows_what_the_sentry_needs() {
        let ok = in_filtered_child(|| {
            // SAFETY: raw calls on our own objects, checked.
            unsafe {
                let m = libc::mmap(
                    std::ptr::null_mut(),
                    4096,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                );
                if m == libc::MAP_FAILED || libc::mprotect(m, 4096, libc::PROT_READ) != 0 {
                    return 1;
                }
                let fd = libc::memfd_create(c"t".as_ptr(), libc::MFD_CLOEXEC);
                if fd < 0 || libc::ftruncate(fd, 4096) != 0 {
                    return 2;
                }
                let mut sv = [0; 2];
                if libc::socketpair(libc::AF_UNIX, libc::SOCK_SEQPACKET, 0, sv.as_mut_ptr()) != 0 {
                    return 3;
                }
                let mut p = [0; 2];
                if libc::pipe2(p.as_mut_ptr(), 0) != 0
                    || libc::write(p[1], c"x".as_ptr().cast(), 1) != 1
                {
                    return 4;
                }
                // clone3 answers ENOSYS (glibc then uses clone).
                if libc::syscall(libc::SYS_clone3, 0usize, 0usize) != -1
                    || *libc::__errno_location() != libc::ENOSYS
                {
                    return 5;
                }
                if libc::kill(libc::getpid(), 0) != 0 {
                    return 6;
                }
                0
            }
        });
        assert_eq!(ok, Ok(0));
        // Threads (clone with CLONE_THREAD) work.
        let threads = in_filtered_child(|| {
            let t = std::thread::spawn(|| 7);
            t.join().unwrap_or(1)
        });
        assert_eq!(threads, Ok(7));
    }
}
