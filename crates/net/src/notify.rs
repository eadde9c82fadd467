//! Readiness of host descriptors the sentry drives (`--network=host`
//! sockets) delivered to the sandbox's wait queues, as gVisor's
//! `fdnotifier`: one host epoll instance, edge-triggered, watched by one
//! sentry thread that turns each host event into a [`Queue::notify`].
//!
//! Sandbox operations on such descriptors never block on the host: the
//! descriptors are non-blocking, an operation that would block returns
//! `EAGAIN` and the task waits on the descriptor's queue like on any
//! sandbox file (interruptible by signals and `SIGKILL`), and this thread
//! wakes it when the host says the descriptor changed.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use abi::{Errno, SysResult};
use waiter::Queue;

use crate::lock;

struct Notifier {
    epfd: OwnedFd,
    queues: Mutex<HashMap<u64, Weak<Queue>>>,
    next: AtomicU64,
}

static NOTIFIER: OnceLock<Result<Notifier, Errno>> = OnceLock::new();

/// Host events every watched descriptor reports (`EPOLLERR`/`EPOLLHUP`
/// come without asking).
const WATCHED: u32 =
    (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLPRI | libc::EPOLLRDHUP | libc::EPOLLET) as u32;

/// Makes the epoll instance and starts the thread that watches it. Called
/// once at boot in the modes that use host descriptors (before the
/// sentry's seccomp filter, which allows the epoll calls for those modes
/// only); later calls return the first result.
pub fn start() -> SysResult<()> {
    let n = NOTIFIER.get_or_init(|| {
        // SAFETY: epoll_create1 makes a new descriptor we take ownership of.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(Errno::last_host());
        }
        Ok(Notifier {
            // SAFETY: fd was just created and is ours alone.
            epfd: unsafe { OwnedFd::from_raw_fd(fd) },
            queues: Mutex::new(HashMap::new()),
            next: AtomicU64::new(1),
        })
    });
    let n = n.as_ref().map_err(|e| *e)?;
    static STARTED: OnceLock<()> = OnceLock::new();
    let mut spawn_err = None;
    STARTED.get_or_init(|| {
        let epfd = n.epfd.as_raw_fd();
        if let Err(e) = std::thread::Builder::new()
            .name("host-notify".into())
            .spawn(move || run(epfd))
        {
            spawn_err = Some(Errno::from_io(&e));
        }
    });
    spawn_err.map_or(Ok(()), Err)
}

fn notifier() -> SysResult<&'static Notifier> {
    match NOTIFIER.get() {
        Some(Ok(n)) => Ok(n),
        Some(Err(e)) => Err(*e),
        None => Err(Errno::EAFNOSUPPORT),
    }
}

/// The thread: waits for host events forever and wakes the queues.
fn run(epfd: i32) {
    // Signals meant for the sentry's task threads must not land here.
    // SAFETY: a full set blocks every signal this thread can block.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_BLOCK, &all, std::ptr::null_mut());
    }
    let Ok(n) = notifier() else { return };
    // SAFETY: zeroed epoll_event structs are valid out-buffers.
    let mut evs: [libc::epoll_event; 64] = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: epoll_wait into our array of the length given. (The raw
        // call: the sentry's filter lists epoll_wait, not epoll_pwait.)
        let r = unsafe {
            libc::syscall(
                libc::SYS_epoll_wait,
                epfd,
                evs.as_mut_ptr(),
                evs.len() as i32,
                -1i32,
            )
        };
        if r < 0 {
            if Errno::last_host() == Errno::EINTR {
                continue;
            }
            return;
        }
        let queues: Vec<(Arc<Queue>, u32)> = {
            let map = lock(&n.queues);
            evs[..r as usize]
                .iter()
                .filter_map(|e| {
                    let (key, ev) = (e.u64, e.events);
                    map.get(&key).and_then(Weak::upgrade).map(|q| (q, ev))
                })
                .collect()
        };
        // The poll bits are the waiter's event bits.
        for (q, ev) in queues {
            q.notify(ev & !(libc::EPOLLET as u32));
        }
    }
}

/// Watches host descriptor `fd` (non-blocking) for `queue`; returns the
/// key [`remove`] takes.
pub fn add(fd: i32, queue: &Arc<Queue>) -> SysResult<u64> {
    let n = notifier()?;
    let key = n.next.fetch_add(1, Ordering::Relaxed);
    lock(&n.queues).insert(key, Arc::downgrade(queue));
    let mut ev = libc::epoll_event {
        events: WATCHED,
        u64: key,
    };
    // SAFETY: epoll_ctl with a live event struct on descriptors we hold.
    if unsafe { libc::epoll_ctl(n.epfd.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) } != 0 {
        let e = Errno::last_host();
        lock(&n.queues).remove(&key);
        return Err(e);
    }
    Ok(key)
}

/// Stops watching `fd` (before it is closed).
pub fn remove(fd: i32, key: u64) {
    if let Ok(n) = notifier() {
        // SAFETY: epoll_ctl DEL takes no event pointer on kernels >= 2.6.9.
        unsafe {
            libc::epoll_ctl(
                n.epfd.as_raw_fd(),
                libc::EPOLL_CTL_DEL,
                fd,
                std::ptr::null_mut(),
            )
        };
        lock(&n.queues).remove(&key);
    }
}
