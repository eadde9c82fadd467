//! The kernel: tasks and processes, signals, the task run loop, and the
//! glue between the platform, memory, the VFS and the syscall table.

pub mod fdtable;
pub mod futex;
mod host_threads;
pub mod ipc;
pub mod keys;
pub mod klog;
pub mod ns;
pub mod phases;
pub mod pidfd;
pub mod pidns;
pub mod process;
pub mod procfs;
pub mod ptrace;
pub mod sched;
pub mod seccomp;
pub mod sigio;
pub mod signal;
pub mod signalfd;
pub mod swap;
pub mod sysfs;
pub mod task;
pub mod timer;
pub mod tty;
mod userfault;
pub mod watchdog;

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use abi::signal::{SigInfo, SIGKILL};
use abi::{Errno, SysResult};
use loader::VdsoMapping;
use mm::MemoryFile;
use platform::{Event, Platform};
use vfs::Vfs;

use task::lock;
pub use task::{Exit, Task, TaskShared, ThreadGroup};

/// The syscall dispatcher the `syscalls` crate provides: decodes the call in
/// `task.regs` and serves it.
/// The release `uname` reports.
pub const UTS_RELEASE: &str = "6.1.0";
/// The version `uname` and `/proc/version` report.
pub const UTS_VERSION: &str = "#1 SMP rvisor";

pub type Dispatch = fn(&mut Task) -> SysResult<u64>;

/// Most tasks one sandbox may hold, whoever asks: each costs a host thread.
pub const MAX_TASKS: usize = 8192;

/// Every task and process, by global id (see [`pidns`]).
#[derive(Default)]
pub struct PidTable {
    next: i32,
    pub tasks: BTreeMap<i32, Arc<TaskShared>>,
    pub groups: BTreeMap<i32, Arc<ThreadGroup>>,
    /// The nested pid namespace of each id that has numbers in one.
    ns_of: std::collections::HashMap<i32, Arc<pidns::PidNs>>,
}

impl PidTable {
    /// A free id for a new task; `EAGAIN` once the sandbox holds
    /// [`MAX_TASKS`] tasks (each is a host thread and a stub thread).
    /// The id handed out last (`/proc/loadavg`'s last field).
    pub fn last_pid(&self) -> i32 {
        self.next.max(1)
    }

    /// Writes the first namespace's `ns_last_pid`.
    pub fn set_last_pid(&mut self, n: i32) {
        self.next = n;
    }

    pub fn alloc(&mut self) -> SysResult<i32> {
        if self.tasks.len() >= MAX_TASKS {
            return Err(Errno::EAGAIN);
        }
        loop {
            self.next = if self.next >= pidns::PID_MAX - 1 {
                2
            } else {
                self.next + 1
            };
            if !self.tasks.contains_key(&self.next)
                && !self.groups.contains_key(&self.next)
                && !self.ns_of.contains_key(&self.next)
            {
                return Ok(self.next);
            }
        }
    }

    /// A free global id that also has its numbers in `ns` and the
    /// namespaces above it (`ENOMEM` when `ns`'s init has exited).
    pub fn alloc_in(&mut self, ns: &Arc<pidns::PidNs>) -> SysResult<i32> {
        let g = self.alloc()?;
        if !ns.is_initial() {
            ns.alloc_chain(g)?;
            self.ns_of.insert(g, ns.clone());
        }
        Ok(g)
    }

    /// Frees id `g`'s numbers in nested namespaces once neither a task nor
    /// a process holds it.
    fn release(&mut self, g: i32) {
        if !self.tasks.contains_key(&g) && !self.groups.contains_key(&g) {
            if let Some(ns) = self.ns_of.remove(&g) {
                ns.free_chain(g);
            }
        }
    }

    /// Removes a task (its id is freed with the process's).
    pub fn remove_task(&mut self, g: i32) -> Option<Arc<TaskShared>> {
        let r = self.tasks.remove(&g);
        self.release(g);
        r
    }

    /// Removes a process (reaped).
    pub fn remove_group(&mut self, g: i32) -> Option<Arc<ThreadGroup>> {
        let r = self.groups.remove(&g);
        self.release(g);
        r
    }
}

/// `nr_open`'s value at boot (Linux's `NR_OPEN`, 1 << 20), and its
/// bounds (`sysctl_nr_open_min`, `sysctl_nr_open_max` on 64-bit).
pub const NR_OPEN_DEFAULT: u64 = 1 << 20;
pub const NR_OPEN_MIN: u64 = 64;
pub const NR_OPEN_MAX: u64 = (i32::MAX as u64) & !63;

pub struct Kernel {
    pub platform: Arc<dyn Platform>,
    pub mf: Arc<MemoryFile>,
    pub vfs: Arc<Vfs>,
    pub vdso: Option<VdsoMapping>,
    pub hwcap: (u64, u64, u64),
    /// The namespaces of the first process (`/proc/sys` shows these).
    pub init_ns: Arc<ns::Namespaces>,
    pub table: Mutex<PidTable>,
    dispatch: Dispatch,
    /// Where `--strace` lines and one-time notices go.
    pub log: Option<Mutex<Box<dyn Write + Send>>>,
    pub strace: bool,
    exit: Mutex<Option<i32>>,
    exit_cv: Condvar,
    pub start: Instant,
    /// Keys [`Kernel::report_once`] logged: below 512 (syscall numbers)
    /// one bit each, tested without a lock; the rest in the set.
    reported_bits: [AtomicU64; 8],
    reported: Mutex<HashSet<u64>>,
    pub futexes: futex::FutexTable,
    pub timers: Arc<timer::TimerService>,
    /// CPU time of every task that has exited, for `/proc/stat`.
    pub exited_cpu_ns: std::sync::atomic::AtomicU64,
    /// The first IPC namespace (`/proc/sys/kernel/shm*` and the like
    /// show its limits).
    pub ipc: Arc<ipc::IpcNamespace>,
    /// Test only (`RVISOR_TEST_STUCK_SYSCALL`): this syscall first sleeps
    /// uninterruptibly on the host for this long, for the watchdog's tests.
    pub stuck_test: std::sync::OnceLock<(u64, std::time::Duration)>,
    /// The kernel log `syslog(2)` and `dmesg` read.
    pub klog: klog::KernelLog,
    /// The swap areas `swapon` enabled.
    pub swaps: swap::SwapAreas,
    /// The sandbox's keys and keyrings.
    pub keys: keys::KeyStore,
    /// `/proc/sys/fs/nr_open`: the highest hard `RLIMIT_NOFILE` a process
    /// may set.
    pub nr_open: AtomicU64,
    /// Paused (`rvisor pause`): no task runs application code or leaves
    /// the run loop until [`Kernel::thaw`].
    frozen: std::sync::atomic::AtomicBool,
}

impl Kernel {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        platform: Arc<dyn Platform>,
        mf: Arc<MemoryFile>,
        vfs: Arc<Vfs>,
        vdso: Option<VdsoMapping>,
        hostname: &str,
        dispatch: Dispatch,
        log: Option<Box<dyn Write + Send>>,
        strace: bool,
    ) -> Arc<Kernel> {
        // SAFETY: getauxval only reads the process's auxiliary vector.
        let hwcap = unsafe {
            (
                libc::getauxval(libc::AT_HWCAP),
                libc::getauxval(libc::AT_HWCAP2),
                libc::getauxval(51),
            )
        };
        // The sandbox's CPUs are the sentry's at start, before any of its
        // threads changes its own affinity.
        sched::host_cpus();
        let start = Instant::now();
        let ipc = ipc::IpcNamespace::new(mf.clone());
        let init_mnt = vfs.init_mnt.clone();
        let k = Arc::new(Kernel {
            platform,
            mf: mf.clone(),
            vfs,
            vdso,
            hwcap,
            init_ns: ns::Namespaces::initial(hostname, ipc.clone(), init_mnt),
            table: Mutex::new(PidTable::default()),
            dispatch,
            log: log.map(Mutex::new),
            strace,
            exit: Mutex::new(None),
            exit_cv: Condvar::new(),
            start,
            reported_bits: Default::default(),
            reported: Mutex::new(HashSet::new()),
            futexes: futex::FutexTable::default(),
            timers: Arc::new(timer::TimerService::default()),
            exited_cpu_ns: Default::default(),
            ipc,
            stuck_test: std::sync::OnceLock::new(),
            klog: klog::KernelLog::new(start),
            swaps: swap::SwapAreas::default(),
            keys: keys::KeyStore::default(),
            nr_open: AtomicU64::new(NR_OPEN_DEFAULT),
            frozen: Default::default(),
        });
        k.boot_log();
        procfs::mount(&k);
        sysfs::mount(&k);
        sigio::install(&k);
        k.vfs
            .devpts
            .set_sessions(Arc::new(tty::KernelSessions(Arc::downgrade(&k))));
        k
    }

    /// A pod container's namespaces ([`ns::for_container`]) over `root`,
    /// the top of host layer `dev` ([`Vfs::add_host`]), with its own
    /// `/dev`, `/proc` (showing its pid namespace) and `/sys`.
    pub fn container_namespaces(
        self: &Arc<Self>,
        root: Arc<vfs::dentry::Dentry>,
        dev: u64,
    ) -> SysResult<(Arc<ns::Namespaces>, vfs::Tree)> {
        let tree = self.vfs.new_tree(root, dev, ns::new_ino())?;
        let n = ns::for_container(&self.init_ns, tree.ns.clone())?;
        procfs::mount_in(self, &tree, n.pid.clone());
        sysfs::mount_in(self, &tree);
        Ok((n, tree))
    }

    /// The lines `dmesg` shows in a fresh sandbox.
    fn boot_log(&self) {
        self.klog.log(
            5,
            &format!("Linux version {UTS_RELEASE} (rvisor) {UTS_VERSION}"),
        );
        self.klog.log(
            6,
            &format!(
                "rvisor: starting the sentry, platform {}",
                self.platform.name()
            ),
        );
        self.klog.log(
            6,
            &format!(
                "rvisor: {} CPUs, {} MiB of memory",
                sched::ncpus(),
                self.memory().total >> 20
            ),
        );
        self.klog.log(6, "rvisor: ready");
    }

    /// Writes a line to the log (if any).
    pub fn log_line(&self, line: &str) {
        if let Some(l) = &self.log {
            let mut w = lock(l);
            let _ = writeln!(w, "{line}");
            let _ = w.flush();
        }
    }

    /// Logs `msg()` once per `key` (an unimplemented syscall, say). A
    /// key already reported costs one atomic load: a program may call an
    /// unimplemented syscall in a loop (stress-ng's resources stressor
    /// makes thousands of `pkey_free` calls in each of ~150 processes),
    /// and a global lock plus a formatted message per call made each
    /// such call ~3x the cost of a trivial one.
    pub fn report_once(&self, key: u64, msg: impl FnOnce() -> String) {
        let first = match self.reported_bits.get((key / 64) as usize) {
            Some(word) => {
                let bit = 1u64 << (key % 64);
                word.load(Ordering::Relaxed) & bit == 0
                    && word.fetch_or(bit, Ordering::Relaxed) & bit == 0
            }
            None => lock(&self.reported).insert(key),
        };
        if first {
            self.log_line(&msg());
        }
    }

    /// Records the sandbox's exit status (init's) and wakes the waiter.
    pub fn set_exit(&self, status: i32) {
        let mut e = lock(&self.exit);
        if e.is_none() {
            *e = Some(status);
            self.exit_cv.notify_all();
        }
    }

    /// Blocks until the init process exits; returns its wait status.
    pub fn wait_exit(&self) -> i32 {
        let mut e = lock(&self.exit);
        loop {
            if let Some(s) = *e {
                return s;
            }
            e = self.exit_cv.wait(e).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Sends SIGKILL to every process of the sandbox.
    pub fn kill_all(&self) {
        let groups: Vec<_> = lock(&self.table).groups.values().cloned().collect();
        for g in groups {
            signal::send_to_group(&g, SigInfo::new(SIGKILL, abi::signal::SI_KERNEL));
        }
    }

    /// Stops every task (a container's `pause`, as the cgroup freezer):
    /// each one, out of application code or woken from its wait, parks
    /// in its run loop before it would next run application code; tasks
    /// made meanwhile park before their first instruction. Asleep, they
    /// use no CPU. SIGKILL still ends them.
    pub fn freeze(&self) {
        self.frozen.store(true, Ordering::SeqCst);
        self.kick_all();
    }

    /// Lets every task run again.
    pub fn thaw(&self) {
        self.frozen.store(false, Ordering::SeqCst);
        self.kick_all();
    }

    pub fn frozen(&self) -> bool {
        self.frozen.load(Ordering::SeqCst)
    }

    fn kick_all(&self) {
        let tasks: Vec<_> = lock(&self.table).tasks.values().cloned().collect();
        for t in tasks {
            t.kick();
        }
    }

    pub fn find_group(&self, pid: i32) -> Option<Arc<ThreadGroup>> {
        lock(&self.table).groups.get(&pid).cloned()
    }

    /// Whether some live process is in process group `pgid`.
    pub fn pgrp_exists(&self, pgid: i32) -> bool {
        lock(&self.table)
            .groups
            .values()
            .any(|g| !g.is_zombie() && g.lock().pgid == pgid)
    }

    pub fn find_task(&self, tid: i32) -> Option<Arc<TaskShared>> {
        lock(&self.table).tasks.get(&tid).cloned()
    }

    /// CPU time every task of the sandbox has used, live or exited.
    pub fn cpu_total_ns(&self) -> u64 {
        let live: u64 = lock(&self.table)
            .tasks
            .values()
            .map(|t| t.cpu_ns.load(Ordering::Relaxed))
            .sum();
        live + self.exited_cpu_ns.load(Ordering::Relaxed)
    }

    /// The host's memory, as `sysinfo` and `/proc/meminfo` both report it.
    pub fn memory(&self) -> Memory {
        // SAFETY: sysinfo fills the zeroed struct.
        let mut si: libc::sysinfo = unsafe { std::mem::zeroed() };
        // SAFETY: valid out-pointer.
        unsafe { libc::sysinfo(&mut si) };
        let unit = si.mem_unit.max(1) as u64;
        let host = Memory {
            total: si.totalram * unit,
            free: si.freeram * unit,
            shared: si.sharedram * unit,
            buffers: si.bufferram * unit,
        };
        match MEMORY_LIMIT.load(Ordering::Relaxed) {
            0 => host,
            limit => host.limited(limit, self.memory_in_use()),
        }
    }

    /// Bytes of the memory file that hold pages (every application page
    /// and the sandbox's in-memory files are there).
    pub fn memory_in_use(&self) -> u64 {
        // SAFETY: zeroed stat is a valid out-buffer.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: fstat of the memory file, open as long as the kernel.
        if unsafe { libc::fstat(self.mf.fd(), &mut st) } != 0 {
            return 0;
        }
        st.st_blocks as u64 * 512
    }
}

/// The sandbox's memory limit in bytes (0: none), as its container's
/// cgroup enforces it on the host: `sysinfo` and `/proc/meminfo` show it
/// as the total, as gVisor's boot loader sets its total memory from the
/// spec.
static MEMORY_LIMIT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Sets the sandbox's memory limit (before the kernel runs anything).
pub fn limit_memory(bytes: u64) {
    MEMORY_LIMIT.store(bytes, Ordering::Relaxed);
}

/// Most tasks (threads) the sandbox may have (0: no limit): a container's
/// pids limit, which the sentry enforces on its own tasks (`clone` fails
/// with `EAGAIN`), as the host's pids cgroup counts the sandbox's host
/// threads, not its tasks.
static TASK_LIMIT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Sets the sandbox's task limit (before the kernel runs anything).
pub fn limit_tasks(n: u64) {
    TASK_LIMIT.store(n, Ordering::Relaxed);
}

pub fn task_limit() -> u64 {
    TASK_LIMIT.load(Ordering::Relaxed)
}

impl Memory {
    /// The host's figures seen through a limit of `limit` bytes of which
    /// `used` are in use: the total is the limit (if below the host's),
    /// free is what is left of it (if below the host's free memory).
    pub fn limited(self, limit: u64, used: u64) -> Memory {
        if limit >= self.total {
            return self;
        }
        Memory {
            total: limit,
            free: self.free.min(limit.saturating_sub(used)),
            // The host's buffers and shared memory are not the sandbox's
            // (and would make `used` negative).
            shared: self.shared.min(used),
            buffers: 0,
        }
    }
}

/// Memory sizes in bytes (see [`Kernel::memory`]). The sandbox has no
/// swap: its memory file is the host's to page.
#[derive(Clone, Copy, Debug)]
pub struct Memory {
    pub total: u64,
    pub free: u64,
    pub shared: u64,
    pub buffers: u64,
}

/// Charges CPU time to the process's `ITIMER_VIRTUAL`/`ITIMER_PROF`.
fn charge_cpu_timers(task: &Task, ns: u64) {
    let tg = task.tg();
    if !tg.cpu_timers.load(Ordering::Relaxed) {
        return;
    }
    let mut posix = Vec::new();
    let (virt, prof, xcpu) = {
        let mut g = tg.lock();
        let xcpu = rlimit_cpu_due(&mut g);
        for c in g.cpu_posix_timers.values_mut() {
            if c.counts(&task.shared) && c.timer.charge(ns) {
                posix.push(c.id);
            }
        }
        if g.itimer_virtual.left == 0 && g.itimer_prof.left == 0 {
            (false, false, xcpu)
        } else {
            (g.itimer_virtual.charge(ns), g.itimer_prof.charge(ns), xcpu)
        }
    };
    for id in posix {
        task.kernel.timers.fire_now(id);
    }
    if let Some(sig) = xcpu {
        signal::send_to_group_from(
            tg,
            SigInfo::new(sig, abi::signal::SI_KERNEL),
            Some(&*task.shared),
        );
    }
    let me = Some(&*task.shared);
    if virt {
        let info = SigInfo::new(abi::signal::SIGVTALRM, abi::signal::SI_KERNEL);
        signal::send_to_group_from(tg, info, me);
    }
    if prof {
        let info = SigInfo::new(abi::signal::SIGPROF, abi::signal::SI_KERNEL);
        signal::send_to_group_from(tg, info, me);
    }
}

/// `RLIMIT_CPU`'s signal if the process has used up a limit: SIGKILL at
/// the hard limit, SIGXCPU at the soft one and each second past it.
fn rlimit_cpu_due(g: &mut task::TgInner) -> Option<i32> {
    if g.rlimit_cpu_left()? > 0 {
        return None;
    }
    let rl = g.rlimits[abi::misc::RLIMIT_CPU as usize];
    let used = g.cpu_ns();
    if used >= rl.max.saturating_mul(1_000_000_000) {
        return Some(SIGKILL);
    }
    g.xcpu_next_ns = used + 1_000_000_000;
    Some(abi::signal::SIGXCPU)
}

/// Syscalls that can take the syscall trampolines away.
const REMAPPING_SYSCALLS: [i64; 6] = [
    libc::SYS_mmap,
    libc::SYS_mprotect,
    libc::SYS_munmap,
    libc::SYS_brk,
    libc::SYS_mremap,
    libc::SYS_madvise,
];

/// Rewrites the `syscall` the task just trapped from into a jump to the
/// platform's fast path, when the site allows it (`mm`'s patching rules).
fn patch_syscall_site(task: &mut Task, target: u64) {
    // rt_sigreturn loads FP state, which only the signal path can: the
    // fast path would just take a detour.
    if task.regs.orig_rax == libc::SYS_rt_sigreturn as u64 || task.traced() {
        return;
    }
    // Only while no thread runs the code being rewritten; none can start
    // while the lock is held.
    let mut mm = lock(&task.mm);
    if !mm.application_stopped() {
        return;
    }
    if let Some(rip) = mm.patch_syscall(task.regs.rip, task.regs.orig_rax, target) {
        task.regs.rip = rip;
    }
}

/// A `SIGILL` at a patched site's former `syscall` byte is that syscall
/// (made by code that jumped there, or restarted by stepping back over
/// the instruction): it continues after the site.
fn patched_site_fault(task: &mut Task, ev: Event) -> Event {
    match ev {
        Event::Signal(info) if info.signo == abi::signal::SIGILL => {
            let rip = task.regs.rip;
            match lock(&task.mm).patched_syscall_at(rip, &mut task.regs) {
                Some(after) => {
                    task.regs.orig_rax = task.regs.rax;
                    task.regs.rax = Errno::ENOSYS.as_ret();
                    task.regs.rip = after;
                    Event::Syscall
                }
                None => ev,
            }
        }
        ev => ev,
    }
}

/// The run loop of one task, on its own host thread.
/// `started`: the task's application code already runs
/// ([`process::NewThread::Started`]), entered and at that patch epoch.
pub fn run_task(mut task: Task, started: Option<(mm::ApplicationEntry, u64)>) {
    *lock(&task.shared.interrupter) = Some(task.ctx.interrupter());
    procfs::set_current(&task);
    let mut restart: Option<Errno> = None;
    let (mut in_application, mut patch_epoch) = match started {
        Some((entry, epoch)) => {
            // A signal sent before the interrupter was in place must
            // still interrupt it.
            if task.shared.attention.load(Ordering::Acquire) {
                task.ctx.interrupter().interrupt();
            }
            (entry, epoch)
        }
        None => (mm::ApplicationEntry::default(), u64::MAX),
    };
    let awake = waiter::TaskRunning::start();
    let exit = loop {
        // Already inside only when started by the creating task: its
        // first event is all there is to wait for.
        if !in_application.inside() {
            if let Some(exit) = task.deliver_signals(restart.take()) {
                break exit;
            }
            let mm = task.mm.clone();
            let mut mm = lock(&mm);
            if mm.patch_epoch() != patch_epoch {
                // Another thread patched code while this one was stopped.
                patch_epoch = mm.patch_epoch();
                task.regs.rip = mm.resume_address(task.regs.rip);
            }
            if mm.sync_host(&mut *task.ctx).is_err() {
                break Exit::Group(abi::misc::wait::signaled(SIGKILL, false));
            }
            mm.enter_application(&mut in_application);
        }
        let started = Instant::now();
        task.shared
            .app_since
            .store(timer::clock_ns_at(started), Ordering::Relaxed);
        task.shared.sentry_since.store(0, Ordering::Relaxed);
        let ev = task.ctx.switch(&mut task.regs);
        let back = Instant::now();
        task.shared.app_since.store(0, Ordering::Relaxed);
        task.shared
            .sentry_since
            .store(timer::clock_ns_at(back), Ordering::Relaxed);
        in_application.leave();
        let ev = patched_site_fault(&mut task, ev);
        let ran = back.saturating_duration_since(started).as_nanos() as u64;
        task.shared.cpu_ns.fetch_add(ran, Ordering::Relaxed);
        charge_cpu_timers(&task, ran);
        if task.watch.step.is_some() && task.finish_watch_step(&ev) {
            continue;
        }
        match ev {
            Event::Syscall => {
                watchdog::note_call(&task.shared, task.regs.orig_rax, task.regs.syscall_args());
                if let Some(target) = task.ctx.syscall_patch_target() {
                    patch_syscall_site(&mut task, target);
                }
                task.regs_replaced = false;
                let traced = task.traced();
                let timed = phases::start();
                let nr = task.regs.orig_rax;
                let r = if traced && task.ptrace_syscall_entry() {
                    Ok(task.regs.rax)
                } else {
                    (task.kernel.dispatch)(&mut task)
                };
                phases::syscall(timed, nr);
                if let Some(exit) = task.exit {
                    break exit;
                }
                if !task.regs_replaced {
                    match r {
                        Ok(v) => task.regs.rax = v,
                        Err(e) if e.0 >= 512 => {
                            task.regs.rax = Errno::EINTR.as_ret();
                            restart = Some(e);
                        }
                        // A bad pointer given to a vsyscall kills with
                        // SIGSEGV, as Linux's emulate_vsyscall does.
                        Err(Errno::EFAULT) if task.ctx.syscall_from_vsyscall() => {
                            task.force_signal(SigInfo::fault(
                                abi::signal::SIGSEGV,
                                abi::signal::SI_KERNEL,
                                0,
                            ));
                        }
                        Err(e) => task.regs.rax = e.as_ret(),
                    }
                }
                if (mm::PATCH_AREA..mm::PATCH_AREA_END).contains(&task.regs.rip)
                    && REMAPPING_SYSCALLS.contains(&(task.regs.orig_rax as i64))
                {
                    // The trampoline it returns through may be gone.
                    let rip = lock(&task.mm).resume_address(task.regs.rip);
                    task.regs.rip = rip;
                }
                if traced {
                    task.ptrace_syscall_exit(&mut restart);
                    task.ptrace_step_over_syscall();
                }
            }
            Event::Fault {
                signo,
                code,
                addr,
                write,
            } => {
                watchdog::note_call(&task.shared, task::SENTRY_FAULT, [addr, 0, 0, 0, 0, 0]);
                // A general-protection fault (privileged or over-long
                // instruction, non-canonical address, bad `int n`) is no
                // page fault: Linux reports it as SI_KERNEL with si_addr 0,
                // and there is nothing to map in.
                if code == abi::signal::SI_KERNEL {
                    task.force_signal(SigInfo::fault(signo, code, 0));
                    continue;
                }
                // An alignment check (EFLAGS.AC set by the application) is
                // no page fault either: SIGBUS/BUS_ADRALN, as Linux's #AC
                // handler sends.
                if signo == abi::signal::SIGBUS && code == abi::signal::BUS_ADRALN {
                    task.force_signal(SigInfo::fault(signo, code, addr));
                    continue;
                }
                let accerr = code == abi::signal::SEGV_ACCERR;
                if accerr && task.begin_watch_step(addr) {
                    continue;
                }
                let timed = phases::start();
                let mm = task.mm.clone();
                let mut mm = lock(&mm);
                if !accerr && mm.userfaults() {
                    match userfault::serve(&mut task, mm, addr, write) {
                        Ok(()) => continue,
                        Err(back) => mm = back,
                    }
                }
                let r = mm.handle_fault(&mut *task.ctx, addr, accerr);
                if timed.is_some() {
                    let class = match (r.is_ok(), accerr, mm.mapping_kind(addr)) {
                        (false, _, _) | (_, _, None) => phases::Fault::Signal,
                        (true, true, _) => phases::Fault::Cow,
                        (true, false, Some((_, _, true))) => phases::Fault::Stack,
                        (true, false, Some((true, _, _))) => phases::Fault::File,
                        (true, false, Some((false, true, _))) => phases::Fault::Shared,
                        (true, false, Some(_)) => phases::Fault::Anon,
                    };
                    phases::fault(timed, class);
                }
                drop(mm);
                if let Err(f) = r {
                    task.force_signal(SigInfo::fault(f.signo, f.code, addr));
                }
            }
            Event::Signal(info) => task.force_signal(info),
            Event::Interrupted => {}
            Event::Died => break Exit::Group(abi::misc::wait::signaled(SIGKILL, false)),
        }
    };
    drop(awake);
    task.shared.sentry_since.store(0, Ordering::Relaxed);
    process::exit_task(task, exit);
}
