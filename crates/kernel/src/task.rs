//! Tasks and thread groups.
//!
//! A [`Task`] is owned by the host thread that runs it; what other tasks may
//! see or change (pending signals, the waiter, the kill flag) lives in the
//! shared [`TaskShared`]. A [`ThreadGroup`] is a process.
//!
//! Lock order: `Kernel::tasks` → `ThreadGroup::inner` → `TaskShared`
//! fields. No lock is held across a blocking wait.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use abi::misc::Rlimit;
use abi::signal::{SigAction, SigAltStack, SigInfo, SigSet};
use abi::{Errno, PtRegs, SysResult};
use mm::MemoryManager;
use platform::{Context, Interrupter};
use vfs::{Creds, Dentry};
use waiter::{Queue, Waiter};

use crate::fdtable::FdTable;
use crate::signal::SigQueue;
use crate::Kernel;

pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Root, working directory and umask (`CLONE_FS` shares these).
#[derive(Clone)]
pub struct FsContext {
    pub root: Arc<Dentry>,
    pub cwd: Arc<Dentry>,
    pub umask: u32,
}

/// Signal dispositions (`CLONE_SIGHAND` shares these).
pub struct SigHandlers {
    pub actions: [SigAction; 64],
}

impl SigHandlers {
    pub fn action(&self, sig: i32) -> SigAction {
        self.actions[(sig - 1) as usize]
    }
}

pub struct TgInner {
    pub parent: Option<Arc<ThreadGroup>>,
    pub children: Vec<Arc<ThreadGroup>>,
    pub pgid: i32,
    pub sid: i32,
    /// Set when the whole group has exited: the wait status. A group with
    /// an exit status and still in its parent's children is a zombie.
    pub exit_status: Option<i32>,
    /// An exit_group in progress: every thread must leave.
    pub exiting: Option<i32>,
    pub threads: Vec<Arc<TaskShared>>,
    pub pending: SigQueue,
    pub rlimits: [Rlimit; 16],
    pub exe: Option<Arc<Dentry>>,
    pub mm: Option<Arc<Mutex<MemoryManager>>>,
    pub sighand: Arc<Mutex<SigHandlers>>,
    /// CPU time of reaped children (and theirs), for `times`/`getrusage`.
    pub child_utime_ns: u64,
    /// CPU time of this process's threads that have exited.
    pub exited_threads_ns: u64,
    /// `/proc/pid/io` counts of this process's threads that have exited.
    pub exited_io: [u64; 4],
    /// The process's session keyring (inherited across fork) and process
    /// keyring (not inherited), 0 until first used (`kernel::keys`).
    pub session_keyring: i32,
    pub process_keyring: i32,
    /// `PR_SET_CHILD_SUBREAPER`: orphaned descendants are reparented here.
    pub subreaper: bool,
    /// `PR_SET_PDEATHSIG`: signal sent when the parent dies (0: none).
    pub pdeathsig: i32,
    /// The thread of the parent that created this process: its exit
    /// sends `pdeathsig`, as Linux parents children to threads.
    pub parent_thread: i32,
    /// CPU time (ns) at which the next `RLIMIT_CPU` SIGXCPU is due past
    /// the soft limit (0: at the soft limit).
    pub xcpu_next_ns: u64,
    /// `PR_SET_DUMPABLE`.
    pub dumpable: bool,
    /// `/proc/pid/oom_score_adj` (-1000..=1000) and `coredump_filter`:
    /// kept, inherited by children and across exec.
    pub oom_score_adj: i32,
    pub coredump_filter: u32,
    /// `PR_SET_KEEPCAPS` and `PR_SET_THP_DISABLE`: recorded and reported
    /// (capabilities are not modelled; huge pages are never used).
    pub keepcaps: bool,
    pub thp_disable: bool,
    /// A zombie's last thread as `getpriority`/`setpriority` still see it
    /// (Linux keeps the task until it is reaped).
    pub zombie: Option<ZombieTask>,
    /// `ITIMER_REAL`/`alarm`: id in the timer service.
    pub itimer_real: Option<u64>,
    /// `ITIMER_VIRTUAL` and `ITIMER_PROF`.
    pub itimer_virtual: crate::timer::CpuTimer,
    pub itimer_prof: crate::timer::CpuTimer,
    /// POSIX timers: user-visible id -> timer-service id.
    pub posix_timers: std::collections::BTreeMap<i32, u64>,
    /// The POSIX timers on a CPU-time clock, by user-visible id: charged
    /// in the run loop like `ITIMER_PROF`, fired through the timer
    /// service's entry (its target and siginfo).
    pub cpu_posix_timers: std::collections::BTreeMap<i32, crate::timer::CpuPosixTimer>,
    /// Job control: the group is stopped by a stop signal.
    pub stopped: bool,
    /// Real user id, for `RLIMIT_NPROC` accounting.
    pub uid: u32,
    /// A stop or continue not yet reported to a `WUNTRACED`/`WCONTINUED`
    /// waiter: the wait status to report.
    pub wait_report: Option<i32>,
    /// Tasks this process traces (`ptrace`).
    pub tracees: Vec<Arc<TaskShared>>,
    /// The leader exited while traced by a process other than its parent,
    /// and that tracer has not collected the exit yet: until it does, the
    /// parent cannot reap the group (Linux's delayed parent notification).
    pub exit_held_by_tracer: bool,
    /// The leader exited while its parent traced it: the zombie stays the
    /// parent's tracee, which a `wait` finds whatever its `__WCLONE`.
    pub exit_traced_by_parent: bool,
    /// The signal the parent gets when the process ends (`clone`'s low
    /// byte; `SIGCHLD` for `fork`). A "clone child" (any other signal) is
    /// waited for only with `__WCLONE` or `__WALL`.
    pub exit_signal: i32,
    /// `personality(2)` flags: kept and inherited; the address-space
    /// layout is never randomised, so `ADDR_NO_RANDOMIZE` changes nothing.
    pub personality: u32,
    /// The controlling terminal (shared with the session; inherited).
    pub ctty: Option<Arc<vfs::tty::Tty>>,
}

/// What is left of a zombie's last thread: its nice value (which
/// `setpriority` may still change) and its real and effective uids.
#[derive(Clone, Copy, Debug)]
pub struct ZombieTask {
    pub nice: i32,
    pub ruid: u32,
    pub euid: u32,
}

/// A process.
pub struct ThreadGroup {
    /// Global id ([`crate::pidns`]).
    pub pid: i32,
    /// The pid namespace the process is in (its threads too).
    pub pidns: Arc<crate::pidns::PidNs>,
    pub inner: Mutex<TgInner>,
    /// Notified when a child changes state (`wait4` sleeps here).
    pub child_events: Queue,
    /// Notified when this process exits (pidfd readers wait here).
    pub exit_events: Queue,
    /// Notified whenever a signal is queued for the process or any of its
    /// threads: a `signalfd` reads the signals of whichever thread reads
    /// it, so its waiters wait on the process (Linux's `signalfd_wqh`).
    pub signal_events: Queue,
    /// A CPU-time interval timer was ever armed: the run loop charges it.
    pub cpu_timers: AtomicBool,
    /// A `CLONE_SYSVSEM` clone gave it a System V undo list (Linux makes
    /// one then, as at the first `SEM_UNDO` operation): `kcmp` sees it.
    pub sysvsem_undo: AtomicBool,
    pub start: Instant,
}

impl TgInner {
    /// CPU time the process has used (ns): its ended threads and, as
    /// charged so far, its live ones.
    pub fn cpu_ns(&self) -> u64 {
        self.exited_threads_ns
            + self
                .threads
                .iter()
                .map(|t| t.cpu_ns.load(Ordering::Relaxed))
                .sum::<u64>()
    }

    /// [`TgInner::cpu_ns`] with the slices its threads are running now.
    pub fn cpu_ns_now(&self) -> u64 {
        self.exited_threads_ns + self.threads.iter().map(|t| t.cpu_ns_now()).sum::<u64>()
    }

    /// CPU time left before `RLIMIT_CPU` acts (SIGXCPU at the soft limit
    /// and each second past it, SIGKILL at the hard one), if limited.
    pub fn rlimit_cpu_left(&self) -> Option<u64> {
        let rl = self.rlimits[abi::misc::RLIMIT_CPU as usize];
        let secs = |s: u64| s.saturating_mul(1_000_000_000);
        if rl.cur == abi::misc::RLIM_INFINITY && rl.max == abi::misc::RLIM_INFINITY {
            return None;
        }
        let soft = self.xcpu_next_ns.max(secs(rl.cur));
        let next = soft.min(secs(rl.max));
        Some(next.saturating_sub(self.cpu_ns()))
    }

    /// A live process's state: `(pgid, sid)`, inherited limits, image and
    /// handlers; everything else starts empty.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        parent: Option<Arc<ThreadGroup>>,
        (pgid, sid): (i32, i32),
        rlimits: [Rlimit; 16],
        exe: Option<Arc<Dentry>>,
        mm: Arc<Mutex<MemoryManager>>,
        sighand: Arc<Mutex<SigHandlers>>,
        uid: u32,
    ) -> TgInner {
        TgInner {
            parent,
            children: Vec::new(),
            pgid,
            sid,
            exit_status: None,
            exiting: None,
            threads: Vec::new(),
            pending: SigQueue::default(),
            rlimits,
            exe,
            mm: Some(mm),
            sighand,
            child_utime_ns: 0,
            exited_threads_ns: 0,
            exited_io: [0; 4],
            session_keyring: 0,
            process_keyring: 0,
            subreaper: false,
            pdeathsig: 0,
            parent_thread: 0,
            xcpu_next_ns: 0,
            dumpable: true,
            oom_score_adj: 0,
            coredump_filter: 0x33,
            keepcaps: false,
            thp_disable: false,
            zombie: None,
            itimer_real: None,
            itimer_virtual: Default::default(),
            itimer_prof: Default::default(),
            posix_timers: Default::default(),
            cpu_posix_timers: Default::default(),
            stopped: false,
            uid,
            wait_report: None,
            tracees: Vec::new(),
            exit_held_by_tracer: false,
            exit_traced_by_parent: false,
            exit_signal: abi::signal::SIGCHLD,
            personality: 0,
            ctty: None,
        }
    }
}

impl ThreadGroup {
    pub fn lock(&self) -> MutexGuard<'_, TgInner> {
        lock(&self.inner)
    }

    pub fn is_zombie(&self) -> bool {
        self.lock().exit_status.is_some()
    }

    /// Whether it is the init (pid 1) of its pid namespace.
    pub fn is_ns_init(&self) -> bool {
        self.pidns.local(self.pid) == Some(1)
    }

    /// Whether, being its pid namespace's init, it ignores `sig` sent by
    /// the process with global id `from`: a signal it has no handler for
    /// and does not block, unless SIGKILL or SIGSTOP from an ancestor
    /// namespace (Linux's `SIGNAL_UNKILLABLE`).
    pub fn init_ignores(&self, sig: i32, from: i32) -> bool {
        use abi::signal::{SIGKILL, SIGSTOP, SIG_DFL};
        if !self.is_ns_init() {
            return false;
        }
        let from_above = self.pidns.local(from).is_none();
        if from_above && (sig == SIGKILL || sig == SIGSTOP) {
            return false;
        }
        let inner = self.lock();
        let act = lock(&inner.sighand).action(sig);
        let blocked = inner.threads.iter().all(|t| t.mask().has(sig));
        sig == SIGKILL || sig == SIGSTOP || (act.handler == SIG_DFL && !blocked)
    }
}

/// [`TaskShared::sentry_call`]'s number while the task serves a fault.
pub const SENTRY_FAULT: u64 = u64::MAX;

/// The parts of a task other tasks may touch.
pub struct TaskShared {
    pub tid: i32,
    pub tg: Arc<ThreadGroup>,
    pub waiter: Arc<Waiter>,
    pub pending: Mutex<SigQueue>,
    /// The blocked-signal mask, readable by senders choosing a thread.
    pub mask: AtomicU64,
    pub killed: AtomicBool,
    pub interrupter: Mutex<Option<Arc<dyn Interrupter>>>,
    pub comm: Mutex<Vec<u8>>,
    pub cpu_ns: AtomicU64,
    /// The thread keyring's serial, 0 until first used (`kernel::keys`).
    pub thread_keyring: std::sync::atomic::AtomicI32,
    /// `/proc/pid/io` counters.
    pub io: IoCounts,
    /// Affinity, nice value, policy, I/O priority, memory policy.
    pub sched: Mutex<crate::sched::Sched>,
    /// When the task last entered application code
    /// ([`crate::timer::clock_ns`]), 0 while it is in the sentry: the CPU
    /// timer sampler sees how long it has been running without a trap.
    pub app_since: AtomicU64,
    /// When the task last left application code, 0 while it runs it: the
    /// watchdog sees how long it has been in the sentry.
    pub sentry_since: AtomicU64,
    /// What it entered the sentry for, for the watchdog's report: the
    /// syscall number and arguments ([`SENTRY_FAULT`] and the address for
    /// a fault).
    pub sentry_call: [AtomicU64; 7],
    /// Waits, not interruptibly, for another task (a `vfork` parent): not
    /// stuck itself.
    pub blocked: AtomicBool,
    /// Released when a `vfork` child execs or exits.
    pub vfork_done: Mutex<Option<Arc<crate::process::VforkDone>>>,
    /// The task's descriptor table and fs context, for `/proc`.
    pub files: Mutex<Option<Arc<Mutex<FdTable>>>>,
    pub fsctx: Mutex<Option<Arc<Mutex<FsContext>>>>,
    /// The namespaces the task is in (`unshare` replaces them).
    pub ns: Mutex<Arc<crate::ns::Namespaces>>,
    /// Another thread is exec'ing: this one must leave quietly.
    pub exec_exit: AtomicBool,
    /// The task's effective and permitted capabilities, mirrored for
    /// `/proc/pid/status`.
    pub shown_caps: [AtomicU64; 2],
    /// The task's credentials as other tasks check them (Linux reads the
    /// target's `struct cred`): its real, effective, saved and
    /// file-system uids then gids ([`TaskShared::uid`]). Not a display
    /// cache: the task's own id setters ([`Task::set_uids`],
    /// [`Task::set_gids`], [`Task::set_fsuid`]) write them (through
    /// [`Task::publish_creds`]) before the syscall that changed its
    /// private copy returns, and a new task has its creator's before
    /// anyone can find it.
    pub ids: [std::sync::atomic::AtomicU32; 8],
    pub shown_no_new_privs: AtomicBool,
    /// Seccomp mode for `/proc/pid/status`: 0 none, 1 strict, 2 filter.
    pub shown_seccomp: std::sync::atomic::AtomicU8,
    /// The task's seccomp filters and `no_new_privs` as other threads see
    /// them (`SECCOMP_FILTER_FLAG_TSYNC` compares and replaces them).
    /// Written under the thread group's lock by a synchronising thread.
    pub seccomp_chain: Mutex<(Vec<Arc<[crate::seccomp::Insn]>>, bool)>,
    /// Another thread synchronised its filters into `seccomp_chain`: the
    /// task takes them before its next syscall.
    pub seccomp_sync: AtomicBool,
    /// The task's Landlock domain as other tasks see it (ptrace scoping).
    pub landlock: Mutex<Option<Arc<vfs::landlock::Domain>>>,
    /// Something may need the run loop's attention (a signal queued, a
    /// mask change, a stop, a kill): set before waking the task, cleared
    /// by the run loop, so the loop skips signal bookkeeping otherwise.
    pub attention: AtomicBool,
    /// Traced by another process: the run loop checks this one flag
    /// before looking at `trace`.
    pub traced: AtomicBool,
    pub trace: Mutex<crate::ptrace::Tracing>,
}

/// Indexes of [`TaskShared::ids`].
pub const RUID: usize = 0;
pub const EUID: usize = 1;
pub const SUID: usize = 2;

impl TaskShared {
    /// One of the task's current ids ([`RUID`], [`EUID`], [`SUID`], ...).
    pub fn uid(&self, which: usize) -> u32 {
        self.ids[which].load(Ordering::Acquire)
    }

    /// A new task starts with its creator's credentials (Linux's
    /// `copy_creds`): other tasks' permission checks (`kill`) may look
    /// at it before it first runs.
    pub fn inherit_creds(&self, from: &TaskShared) {
        for (to, from) in self.ids.iter().zip(&from.ids) {
            to.store(from.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        for (to, from) in self.shown_caps.iter().zip(&from.shown_caps) {
            to.store(from.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        self.shown_no_new_privs.store(
            from.shown_no_new_privs.load(Ordering::Relaxed),
            Ordering::Relaxed,
        );
    }

    /// Gives a new task its creator's filters, including any a
    /// synchronising thread just handed it. For a thread, call with the
    /// thread group locked, so a concurrent TSYNC sees it either before
    /// (and syncs it) or not at all.
    pub fn inherit_seccomp(&self, from: &TaskShared) {
        let chain = lock(&from.seccomp_chain).clone();
        *lock(&self.seccomp_chain) = chain;
        let pending = from.seccomp_sync.load(Ordering::Acquire);
        self.seccomp_sync.store(pending, Ordering::Release);
    }

    /// Wakes the task from a blocking wait and out of application code.
    pub fn kick(&self) {
        self.attention.store(true, Ordering::Release);
        self.waiter.notify();
        self.tg.signal_events.notify(waiter::events::IN);
        if let Some(i) = lock(&self.interrupter).as_ref() {
            i.interrupt();
        }
    }

    pub fn mask(&self) -> SigSet {
        SigSet(self.mask.load(Ordering::Relaxed))
    }

    /// Takes the lowest unblocked pending signal, the thread's own first,
    /// then the process's. Never holds the thread's queue while taking the
    /// process lock: senders take them in the other order.
    pub fn take_pending(&self, mask: SigSet) -> Option<SigInfo> {
        let own = lock(&self.pending).take(mask);
        own.or_else(|| self.tg.lock().pending.take(mask))
    }

    /// Whether a signal outside `mask` is pending for the thread or its
    /// process (same lock order as [`TaskShared::take_pending`]).
    pub fn pending_deliverable(&self, mask: SigSet) -> bool {
        let own = lock(&self.pending).deliverable(mask);
        own || self.tg.lock().pending.deliverable(mask)
    }

    /// The signals pending for the thread and its process.
    pub fn pending_set(&self) -> SigSet {
        let own = lock(&self.pending).set();
        SigSet(own.0 | self.tg.lock().pending.set().0)
    }

    /// Tells the task that `sig` was queued for it: kicked if it can take
    /// it; if it blocks it, only a wait for it (`rt_sigtimedwait`,
    /// `signalfd`) is woken. Interrupting application code for a signal it
    /// cannot take would only cut its run short, and a timer signal
    /// re-queued on each return would then stop it running at all.
    pub fn signal_queued(&self, sig: i32) {
        if !self.mask().has(sig) {
            self.kick();
            return;
        }
        self.attention.store(true, Ordering::Release);
        self.waiter.notify();
        self.tg.signal_events.notify(waiter::events::IN);
    }
}

/// A task's read and write counts for `/proc/pid/io`: bytes read and
/// written (`rchar`, `wchar`) and calls (`syscr`, `syscw`). Only the task
/// itself adds, so the adds need no atomic read-modify-write.
#[derive(Default)]
pub struct IoCounts(pub [AtomicU64; 4]);

impl IoCounts {
    pub fn add(&self, write: bool, bytes: u64) {
        let (b, c) = if write { (1, 3) } else { (0, 2) };
        for (i, v) in [(b, bytes), (c, 1)] {
            let x = &self.0[i];
            x.store(x.load(Ordering::Relaxed).wrapping_add(v), Ordering::Relaxed);
        }
    }

    pub fn get(&self) -> [u64; 4] {
        self.0.each_ref().map(|v| v.load(Ordering::Relaxed))
    }
}

/// Capability sets (bit N = capability N).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Caps {
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
}

/// Every capability this kernel knows (`CAP_LAST_CAP` = 40).
pub const ALL_CAPS: u64 = (1 << 41) - 1;

pub const CAP_CHOWN: u32 = 0;
/// The capabilities a file-system uid of 0 carries (Linux's
/// `CAP_FS_MASK`): CHOWN, DAC_OVERRIDE, DAC_READ_SEARCH, FOWNER, FSETID,
/// MKNOD and MAC_OVERRIDE.
pub const CAP_FS_MASK: u64 = 0b1_1111 | 1 << 27 | 1 << 32;
pub const CAP_DAC_OVERRIDE: u32 = 1;
pub const CAP_DAC_READ_SEARCH: u32 = 2;
pub const CAP_FOWNER: u32 = 3;
pub const CAP_KILL: u32 = 5;
pub const CAP_SETGID: u32 = 6;
pub const CAP_SETUID: u32 = 7;
pub const CAP_SETPCAP: u32 = 8;
pub const CAP_SYS_CHROOT: u32 = 18;
pub const CAP_SYS_PTRACE: u32 = 19;
pub const CAP_SYS_ADMIN: u32 = 21;
pub const CAP_SYS_BOOT: u32 = 22;
pub const CAP_SYS_NICE: u32 = 23;
pub const CAP_SYS_RESOURCE: u32 = 24;
pub const CAP_CHECKPOINT_RESTORE: u32 = 40;
pub const CAP_SYSLOG: u32 = 34;

impl Caps {
    /// What a process of effective uid `euid` starts with (no file caps).
    pub fn for_uid(euid: u32) -> Caps {
        if euid == 0 {
            Caps {
                effective: ALL_CAPS,
                permitted: ALL_CAPS,
                inheritable: 0,
            }
        } else {
            Caps::default()
        }
    }
}

/// How a task leaves its run loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// `exit(2)`: this thread only.
    Thread(i32),
    /// `exit_group(2)` or a fatal signal: the wait status for the group.
    Group(i32),
}

/// Syscall user dispatch (`PR_SET_SYSCALL_USER_DISPATCH`): a syscall made
/// from outside `[offset, offset + len)` while the selector byte says
/// BLOCK is not run but turned into `SIGSYS` (`SYS_USER_DISPATCH`).
#[derive(Clone, Copy, Debug)]
pub struct UserDispatch {
    pub offset: u64,
    pub len: u64,
    /// Address of the selector byte; 0 = always dispatch.
    pub selector: u64,
}

pub struct Task {
    pub shared: Arc<TaskShared>,
    pub kernel: Arc<Kernel>,
    pub regs: PtRegs,
    pub ctx: Box<dyn Context>,
    pub mm: Arc<Mutex<MemoryManager>>,
    pub fds: Arc<Mutex<FdTable>>,
    pub fs: Arc<Mutex<FsContext>>,
    pub sighand: Arc<Mutex<SigHandlers>>,
    pub creds: Creds,
    pub euid: u32,
    pub egid: u32,
    /// Saved set-user and set-group IDs (`setresuid`'s third argument).
    pub suid: u32,
    pub sgid: u32,
    /// File-system IDs: what file permission checks use. They follow the
    /// effective IDs unless `setfsuid`/`setfsgid` moved them.
    pub fsuid: u32,
    pub fsgid: u32,
    pub clear_child_tid: u64,
    pub robust_list: (u64, u64),
    pub altstack: SigAltStack,
    /// Mask to restore after a `rt_sigsuspend`-style temporary mask.
    pub saved_mask: Option<SigSet>,
    /// Set by a handler that replaced the registers (execve, sigreturn).
    pub regs_replaced: bool,
    pub exit: Option<Exit>,
    /// `PR_SET_NO_NEW_PRIVS`: sticky, inherited.
    pub no_new_privs: bool,
    pub caps: Caps,
    /// Seccomp filters, oldest first; inherited by children and kept
    /// across exec.
    pub seccomp: Vec<Arc<[crate::seccomp::Insn]>>,
    /// `PR_SET_SYSCALL_USER_DISPATCH`: not inherited, cleared by exec.
    pub user_dispatch: Option<UserDispatch>,
    /// Remaining time for a restarted `nanosleep`.
    pub restart_deadline: Option<Instant>,
    /// A restarted `clock_nanosleep` on a CPU-time clock: the clock id
    /// and the CPU time it sleeps until.
    pub restart_cpu: Option<(i32, u64)>,
    /// The platform context is a thread of another process's host address
    /// space (a `CLONE_VM` child before it execs).
    pub borrowed_vm: bool,
    /// Debugger watchpoints (empty unless traced with some set).
    pub watch: crate::ptrace::WatchState,
    /// Reusable buffer for I/O, so the hot path does not allocate.
    pub scratch: Vec<u8>,
    pub name_buf: Vec<u8>,
}

impl TaskShared {
    /// CPU time used so far, with the slice it is running now (its
    /// `cpu_ns` is charged only when it comes back to the sentry), for a
    /// clock read from another thread. The two loads are not one atomic
    /// snapshot: a read racing the end of a slice may miss it once.
    pub fn cpu_ns_now(&self) -> u64 {
        let since = self.app_since.load(Ordering::Relaxed);
        let done = self.cpu_ns.load(Ordering::Relaxed);
        if since == 0 {
            return done;
        }
        let now = crate::timer::clock_ns_at(Instant::now());
        done + now.saturating_sub(since)
    }
}

impl Task {
    pub fn tid(&self) -> i32 {
        self.shared.tid
    }

    pub fn pid(&self) -> i32 {
        self.shared.tg.pid
    }

    /// The caller's pid namespace.
    pub fn pidns(&self) -> &Arc<crate::pidns::PidNs> {
        &self.shared.tg.pidns
    }

    /// Global id `g` as the caller sees it (0 when it cannot).
    pub fn vpid(&self, g: i32) -> i32 {
        self.shared.tg.pidns.shown(g)
    }

    /// The process the caller calls `pid`.
    pub fn find_group(&self, pid: i32) -> Option<Arc<ThreadGroup>> {
        let g = self.pidns().global(pid)?;
        self.kernel.find_group(g)
    }

    /// The task the caller calls `tid`.
    pub fn find_task(&self, tid: i32) -> Option<Arc<TaskShared>> {
        let g = self.pidns().global(tid)?;
        self.kernel.find_task(g)
    }

    /// The global id of what the caller calls `n` (a pid or a process
    /// group): `None` when there is none in its namespace.
    pub fn global_id(&self, n: i32) -> Option<i32> {
        self.pidns().global(n)
    }

    pub fn tg(&self) -> &Arc<ThreadGroup> {
        &self.shared.tg
    }

    pub fn mm(&self) -> MutexGuard<'_, MemoryManager> {
        lock(&self.mm)
    }

    pub fn fds(&self) -> MutexGuard<'_, FdTable> {
        lock(&self.fds)
    }

    pub fn fs(&self) -> MutexGuard<'_, FsContext> {
        lock(&self.fs)
    }

    pub fn mask(&self) -> SigSet {
        self.shared.mask()
    }

    pub fn set_mask(&self, m: SigSet) {
        let m = SigSet(m.0 & !SigSet::UNBLOCKABLE.0);
        self.shared.mask.store(m.0, Ordering::Relaxed);
        // Unblocking may make a pending signal deliverable.
        self.shared.attention.store(true, Ordering::Release);
    }

    pub fn rlimit(&self, r: u32) -> Rlimit {
        self.tg().lock().rlimits[r as usize]
    }

    /// Whether a signal (or a kill) should interrupt a blocking call.
    pub fn interrupted(&self) -> bool {
        if self.shared.killed.load(Ordering::Relaxed)
            || self.shared.exec_exit.load(Ordering::Relaxed)
        {
            return true;
        }
        let mask = self.mask();
        if lock(&self.shared.pending).deliverable(mask) || self.ptrace_interrupt_due() {
            return true;
        }
        let tg = self.tg().lock();
        tg.exiting.is_some() || tg.pending.deliverable(mask)
    }

    /// Runs `attempt` until it stops returning `EAGAIN`, sleeping on
    /// `queue` between attempts. A signal ends the wait with `ERESTARTSYS`
    /// (the caller may map it), the deadline with `ETIMEDOUT`.
    pub fn block_on<T>(
        &mut self,
        queue: Option<&Queue>,
        mask: u32,
        deadline: Option<Instant>,
        mut attempt: impl FnMut(&mut Task) -> SysResult<T>,
    ) -> SysResult<T> {
        let waiter = self.shared.waiter.clone();
        let _reg = queue.map(|q| q.register(&waiter, mask));
        loop {
            match attempt(self) {
                Err(Errno::EAGAIN) => {}
                r => return r,
            }
            if self.interrupted() {
                return Err(Errno::ERESTARTSYS);
            }
            if !waiter.wait(deadline) {
                return Err(Errno::ETIMEDOUT);
            }
        }
    }

    /// Sleeps until `deadline` or a signal (`ERESTARTSYS`).
    pub fn sleep_until(&mut self, deadline: Instant) -> SysResult<()> {
        let waiter = self.shared.waiter.clone();
        loop {
            if self.interrupted() {
                return Err(Errno::ERESTARTSYS);
            }
            if Instant::now() >= deadline || !waiter.wait(Some(deadline)) {
                return Ok(());
            }
        }
    }

    /// Whether the task holds capability `cap` in its effective set.
    /// Capabilities count for the sandbox's own objects only in its first
    /// user namespace (`kernel::ns`).
    pub fn capable(&self, cap: u32) -> bool {
        self.caps.effective & (1 << cap) != 0 && lock(&self.shared.ns).user.is_initial()
    }

    /// Whether the task holds `cap` in its own user namespace (changing
    /// its own ids, as Linux's `ns_capable_setid`).
    pub fn capable_here(&self, cap: u32) -> bool {
        self.caps.effective & (1 << cap) != 0
    }

    /// Whether the task holds `cap` over an object owned by user
    /// namespace `owner`.
    pub fn ns_capable(&self, owner: &Arc<crate::ns::UserNs>, cap: u32) -> bool {
        lock(&self.shared.ns).ns_capable(self.caps.effective, owner, cap)
    }

    /// Applies Linux's capability rules to a change of user ids (the saved
    /// id is taken as the effective one).
    /// Sets the real, effective and saved user IDs, adjusting
    /// capabilities as Linux does: leaving uid 0 in all three drops them
    /// (unless `PR_SET_KEEPCAPS`), and the effective set follows the
    /// effective uid in and out of 0.
    pub fn set_uids(&mut self, ruid: u32, euid: u32, suid: u32) {
        let was_root = self.creds.uid == 0 || self.euid == 0 || self.suid == 0;
        let (old_euid, keep) = (self.euid, self.tg().lock().keepcaps);
        self.creds.uid = ruid;
        self.euid = euid;
        self.suid = suid;
        self.tg().lock().uid = ruid;
        if was_root && ruid != 0 && euid != 0 && suid != 0 && !keep {
            self.caps.permitted = 0;
            self.caps.effective = 0;
        }
        if old_euid == 0 && euid != 0 {
            self.caps.effective = 0;
        } else if old_euid != 0 && euid == 0 {
            self.caps.effective = self.caps.permitted;
        }
        self.set_fsuid(euid);
    }

    /// Sets the real, effective and saved group IDs; the file-system group
    /// follows the effective one.
    pub fn set_gids(&mut self, rgid: u32, egid: u32, sgid: u32) {
        (self.creds.gid, self.egid, self.sgid, self.fsgid) = (rgid, egid, sgid, egid);
        self.publish_creds();
    }

    /// Moves the file-system uid. Leaving 0 drops the file-system
    /// capabilities from the effective set; returning to 0 restores those
    /// still permitted.
    pub fn set_fsuid(&mut self, fsuid: u32) {
        let old = self.fsuid;
        self.fsuid = fsuid;
        if old == 0 && fsuid != 0 {
            self.caps.effective &= !CAP_FS_MASK;
        } else if old != 0 && fsuid == 0 {
            self.caps.effective |= self.caps.permitted & CAP_FS_MASK;
        }
        self.publish_creds();
    }

    /// Mirrors credentials into the shared task state for `/proc`.
    pub fn publish_creds(&self) {
        self.shared.shown_caps[0].store(self.caps.effective, Ordering::Relaxed);
        self.shared.shown_caps[1].store(self.caps.permitted, Ordering::Relaxed);
        let ids = [
            self.creds.uid,
            self.euid,
            self.suid,
            self.fsuid,
            self.creds.gid,
            self.egid,
            self.sgid,
            self.fsgid,
        ];
        for (shown, id) in self.shared.ids.iter().zip(ids) {
            shown.store(id, Ordering::Release);
        }
        self.shared
            .shown_no_new_privs
            .store(self.no_new_privs, Ordering::Relaxed);
        // A strict-mode task cannot clone or exec, so only the task that
        // entered strict mode ever shows 1.
        let mode = match (
            self.seccomp.is_empty(),
            self.shared.shown_seccomp.load(Ordering::Relaxed),
        ) {
            (true, _) => 0,
            (false, 1) => 1,
            (false, _) => 2,
        };
        self.shared.shown_seccomp.store(mode, Ordering::Relaxed);
    }

    /// Credentials for file access: the file-system IDs and the effective
    /// capabilities.
    pub fn vfs_creds(&self) -> Creds {
        self.creds_as(self.fsuid, self.fsgid, self.caps.effective)
    }

    /// What `access`/`faccessat` check with: the real IDs, and as
    /// capabilities all permitted ones for a real uid of 0, else none.
    pub fn access_creds(&self) -> Creds {
        let caps = if self.creds.uid == 0 {
            self.caps.permitted
        } else {
            0
        };
        self.creds_as(self.creds.uid, self.creds.gid, caps)
    }

    fn creds_as(&self, uid: u32, gid: u32, caps: u64) -> Creds {
        // In a user namespace that does not map the sandbox's root, the
        // file capabilities do not reach the sandbox's files.
        let caps = if caps & CAP_FS_MASK != 0
            && !lock(&self.shared.ns).user.maps_root.load(Ordering::Relaxed)
        {
            caps & !CAP_FS_MASK
        } else {
            caps
        };
        let has = |cap: u32| caps & 1 << cap != 0;
        Creds {
            uid,
            gid,
            groups: self.creds.groups.clone(),
            dac_override: has(CAP_DAC_OVERRIDE),
            dac_read_search: has(CAP_DAC_READ_SEARCH),
            fowner: has(CAP_FOWNER),
            landlock: self.creds.landlock.clone(),
        }
    }
}
