//! Process lifecycle: the init process, fork, execve, exit and wait.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use abi::misc::{wait, Rlimit, RLIM_INFINITY};
use abi::regs::{FpState, USER_CS, USER_EFLAGS, USER_SS};
use abi::signal::*;
use abi::{Errno, PtRegs, SysResult};
use loader::ExecArgs;
use mm::MemoryManager;
use vfs::{Creds, File};
use waiter::{events, Waiter};

use crate::fdtable::FdTable;
use crate::pidns;
use crate::signal::{send_to_group, SigQueue};
use crate::task::*;
use crate::{run_task, Kernel};

pub const CLONE_VM: u64 = 0x100;
pub const CLONE_FS: u64 = 0x200;
pub const CLONE_FILES: u64 = 0x400;
pub const CLONE_SIGHAND: u64 = 0x800;
pub const CLONE_PIDFD: u64 = 0x1000;
pub const CLONE_PTRACE: u64 = 0x2000;
pub const CLONE_VFORK: u64 = 0x4000;
pub const CLONE_PARENT: u64 = 0x8000;
pub const CLONE_THREAD: u64 = 0x10000;
pub const CLONE_NEWNS: u64 = 0x20000;
pub const CLONE_SYSVSEM: u64 = 0x40000;
pub const CLONE_SETTLS: u64 = 0x80000;
pub const CLONE_PARENT_SETTID: u64 = 0x100000;
pub const CLONE_CHILD_CLEARTID: u64 = 0x200000;
pub const CLONE_DETACHED: u64 = 0x400000;
pub const CLONE_UNTRACED: u64 = 0x800000;
pub const CLONE_CHILD_SETTID: u64 = 0x1000000;
pub const CLONE_NEWCGROUP: u64 = 0x2000000;
pub const CLONE_NEWUTS: u64 = 0x4000000;
pub const CLONE_NEWIPC: u64 = 0x8000000;
pub const CLONE_NEWUSER: u64 = 0x10000000;
pub const CLONE_NEWPID: u64 = 0x20000000;
pub const CLONE_NEWNET: u64 = 0x40000000;
pub const CLONE_IO: u64 = 0x80000000;
/// `clone3` only: the child starts with default handlers (ignored signals
/// stay ignored).
pub const CLONE_CLEAR_SIGHAND: u64 = 0x1_0000_0000;

fn default_rlimits() -> [Rlimit; 16] {
    let inf = Rlimit {
        cur: RLIM_INFINITY,
        max: RLIM_INFINITY,
    };
    let mut r = [inf; 16];
    r[abi::misc::RLIMIT_STACK as usize] = Rlimit {
        cur: 8 << 20,
        max: RLIM_INFINITY,
    };
    r[abi::misc::RLIMIT_CORE as usize] = Rlimit {
        cur: 0,
        max: RLIM_INFINITY,
    };
    r[abi::misc::RLIMIT_NOFILE as usize] = Rlimit {
        cur: 1024,
        max: 1 << 20,
    };
    r[abi::misc::RLIMIT_NPROC as usize] = Rlimit {
        cur: 1 << 20,
        max: 1 << 20,
    };
    r[abi::misc::RLIMIT_MEMLOCK as usize] = Rlimit {
        cur: 8 << 20,
        max: 8 << 20,
    };
    r[abi::misc::RLIMIT_MSGQUEUE as usize] = Rlimit {
        cur: 819200,
        max: 819200,
    };
    r[abi::misc::RLIMIT_SIGPENDING as usize] = Rlimit {
        cur: 1 << 16,
        max: 1 << 16,
    };
    r
}

/// A process with the given state.
fn new_group(pid: i32, pidns: Arc<crate::pidns::PidNs>, inner: TgInner) -> Arc<ThreadGroup> {
    Arc::new(ThreadGroup {
        pid,
        pidns,
        inner: Mutex::new(inner),
        child_events: waiter::Queue::new(),
        exit_events: waiter::Queue::new(),
        signal_events: waiter::Queue::new(),
        cpu_timers: AtomicBool::new(false),
        sysvsem_undo: AtomicBool::new(false),
        start: Instant::now(),
    })
}

/// Everything a task is made of except its platform context, which must be
/// created on the task's own host thread.
pub struct TaskParts {
    pub shared: Arc<TaskShared>,
    pub kernel: Arc<Kernel>,
    pub regs: PtRegs,
    pub fp: Option<FpState>,
    pub mm: Arc<Mutex<MemoryManager>>,
    pub fds: Arc<Mutex<FdTable>>,
    pub fs: Arc<Mutex<FsContext>>,
    pub sighand: Arc<Mutex<SigHandlers>>,
    pub creds: Creds,
    pub euid: u32,
    pub egid: u32,
    pub suid: u32,
    pub sgid: u32,
    pub fsuid: u32,
    pub fsgid: u32,
    pub clear_child_tid: u64,
    pub altstack: SigAltStack,
    pub vfork_done: Option<Arc<VforkDone>>,
    pub no_new_privs: bool,
    pub caps: Caps,
    pub seccomp: Vec<Arc<[crate::seccomp::Insn]>>,
    /// For a new thread: the platform thread made by the creating task.
    pub seed: Option<NewThread>,
}

/// A new thread's platform side, as its creator hands it over.
pub enum NewThread {
    /// To attach on the new task's host thread.
    Seed(platform::ThreadSeed),
    /// Attached and already running application code
    /// ([`platform::Platform::start_thread`]), counted in its address
    /// space's application threads, at that address space's patch epoch.
    Started {
        ctx: Box<dyn platform::Context>,
        in_application: mm::ApplicationEntry,
        patch_epoch: u64,
    },
}

/// Lets a `vfork` parent sleep until its child execs or exits.
#[derive(Default)]
pub struct VforkDone {
    done: Mutex<bool>,
    cv: Condvar,
    /// The parent thread of a `CLONE_THREAD | CLONE_VFORK` child sleeps
    /// here (see [`VforkDone::wait_killable`]).
    queue: waiter::Queue,
}

impl VforkDone {
    pub fn release(&self) {
        *lock(&self.done) = true;
        self.cv.notify_all();
        self.queue.notify(events::ALL);
    }

    /// Sleeps until released or until `task` must leave (killed, its
    /// process exiting, or another thread's exec ending it): a vfork
    /// child that is a thread of the caller's process execs only after
    /// ending every other thread, its sleeping parent included, as Linux's
    /// `de_thread` does. Returns whether the child released it.
    fn wait_killable(&self, task: &Task) -> bool {
        let waiter = task.shared.waiter.clone();
        let _reg = self.queue.register(&waiter, events::ALL);
        loop {
            if *lock(&self.done) {
                return true;
            }
            if task.shared.killed.load(Ordering::Relaxed)
                || task.shared.exec_exit.load(Ordering::Relaxed)
                || task.tg().lock().exiting.is_some()
            {
                return false;
            }
            waiter.wait(None);
        }
    }
    fn wait(&self) {
        let mut d = lock(&self.done);
        while !*d {
            d = self.cv.wait(d).unwrap_or_else(|p| p.into_inner());
        }
    }
}

fn new_shared(
    tid: i32,
    tg: Arc<ThreadGroup>,
    comm: Vec<u8>,
    mask: SigSet,
    sched: crate::sched::Sched,
    ns: Arc<crate::ns::Namespaces>,
) -> Arc<TaskShared> {
    let shared = Arc::new(TaskShared {
        tid,
        tg,
        waiter: Arc::new(Waiter::new()),
        pending: Mutex::new(SigQueue::default()),
        mask: AtomicU64::new(mask.0),
        killed: AtomicBool::new(false),
        interrupter: Mutex::new(None),
        comm: Mutex::new(comm),
        cpu_ns: AtomicU64::new(0),
        thread_keyring: Default::default(),
        io: Default::default(),
        sched: Mutex::new(sched),
        app_since: AtomicU64::new(0),
        sentry_since: AtomicU64::new(0),
        sentry_call: Default::default(),
        blocked: AtomicBool::new(false),
        vfork_done: Mutex::new(None),
        files: Mutex::new(None),
        fsctx: Mutex::new(None),
        ns: Mutex::new(ns),
        exec_exit: AtomicBool::new(false),
        attention: AtomicBool::new(true),
        shown_caps: [AtomicU64::new(0), AtomicU64::new(0)],
        ids: Default::default(),
        shown_no_new_privs: AtomicBool::new(false),
        shown_seccomp: Default::default(),
        seccomp_chain: Default::default(),
        seccomp_sync: AtomicBool::new(false),
        traced: AtomicBool::new(false),
        trace: Mutex::new(Default::default()),
        landlock: Mutex::new(None),
    });
    // Whatever platform thread runs the task hears when it blocks, and
    // when an exiting thread wakes it.
    shared
        .waiter
        .set_sleep_hook(interrupter_hook(&shared, |i| i.blocking()));
    shared
        .waiter
        .set_handover_hook(interrupter_hook(&shared, |i| i.prewake()));
    shared
}

/// What a task made by `task` starts with.
fn forked_sched(task: &Task) -> crate::sched::Sched {
    lock(&task.shared.sched).forked()
}

/// A waiter hook calling `f` on the interrupter of whatever platform
/// thread runs the task at the time.
fn interrupter_hook(
    shared: &Arc<TaskShared>,
    f: fn(&dyn platform::Interrupter),
) -> waiter::WaiterHook {
    let task = Arc::downgrade(shared);
    Arc::new(move || {
        if let Some(t) = task.upgrade() {
            if let Some(i) = lock(&t.interrupter).as_ref() {
                f(i.as_ref());
            }
        }
    })
}

/// Starts a task's host thread.
fn spawn(parts: TaskParts) -> SysResult<()> {
    // Visible to /proc and pidfd_getfd before the thread even starts.
    *lock(&parts.shared.files) = Some(parts.fds.clone());
    *lock(&parts.shared.fsctx) = Some(parts.fs.clone());
    crate::host_threads::run(Box::new(move || {
        let fork_child = parts.seed.is_none();
        // A new process on a platform thread: it borrows its vfork
        // parent's address space (CLONE_VM) until it execs.
        let borrowed_vm = !fork_child && parts.shared.tid == parts.shared.tg.pid;
        let mut started = None;
        let made = match parts.seed {
            Some(NewThread::Seed(seed)) => parts.kernel.platform.attach_thread(seed),
            Some(NewThread::Started {
                ctx,
                in_application,
                patch_epoch,
            }) => {
                started = Some((in_application, patch_epoch));
                Ok(ctx)
            }
            None => {
                let _stub =
                    crate::phases::span("fork child: stub process for the new address space");
                parts.kernel.platform.new_context()
            }
        };
        let ctx = match made {
            Ok(c) => c,
            Err(e) => {
                parts.kernel.log_line(&format!(
                    "rvisor: cannot start task {}: {e}",
                    parts.shared.tid
                ));
                let status = wait::signaled(SIGKILL, false);
                // Its files go before it shows as dead, as on the normal
                // exit path: whoever reaps it sees the pipe ends it held
                // closed.
                *lock(&parts.shared.files) = None;
                *lock(&parts.shared.fsctx) = None;
                drop(parts.fds);
                drop(parts.fs);
                finish_group(&parts.kernel, &parts.shared, status, true);
                return;
            }
        };
        let mut task = Task {
            shared: parts.shared,
            kernel: parts.kernel,
            regs: parts.regs,
            ctx,
            mm: parts.mm,
            fds: parts.fds,
            fs: parts.fs,
            sighand: parts.sighand,
            creds: parts.creds,
            euid: parts.euid,
            egid: parts.egid,
            suid: parts.suid,
            sgid: parts.sgid,
            fsuid: parts.fsuid,
            fsgid: parts.fsgid,
            clear_child_tid: parts.clear_child_tid,
            robust_list: (0, 0),
            altstack: parts.altstack,
            saved_mask: None,
            regs_replaced: false,
            exit: None,
            no_new_privs: parts.no_new_privs,
            caps: parts.caps,
            seccomp: parts.seccomp,
            user_dispatch: None,
            restart_deadline: None,
            restart_cpu: None,
            borrowed_vm,
            watch: Default::default(),
            scratch: Vec::new(),
            name_buf: Vec::new(),
        };
        if let (Some(fp), None) = (parts.fp, &started) {
            let _ = task.ctx.set_fp_state(&fp);
        }
        if fork_child {
            // Failing here only means faulting the pages in later.
            let mm = task.mm.clone();
            let _mapping = crate::phases::span("fork child: resident memory mapped");
            let _ = lock(&mm).map_resident(&mut *task.ctx);
        }
        task.publish_creds();
        *lock(&task.shared.vfork_done) = parts.vfork_done;
        run_task(task, started);
    }))
    .map_err(|_| Errno::EAGAIN)
}

fn initial_regs(entry: u64, sp: u64) -> PtRegs {
    PtRegs {
        rip: entry,
        rsp: sp,
        cs: USER_CS,
        ss: USER_SS,
        eflags: USER_EFLAGS,
        ..Default::default()
    }
}

/// Who runs `execve`: the credentials that open the file, and the IDs
/// that set-id bits may change.
struct Invoker {
    creds: Creds,
    ids: loader::ExecIds,
    no_new_privs: bool,
}

/// Lets the address space `mm` of process `tg` stop the process's threads
/// before it puts back patched code they may be running.
fn set_quiesce_hook(mm: &mut MemoryManager, tg: &Arc<ThreadGroup>) {
    let tg = Arc::downgrade(tg);
    mm.set_quiesce_hook(Arc::new(move || {
        let Some(tg) = tg.upgrade() else { return };
        let threads = tg.lock().threads.clone();
        for t in threads {
            match lock(&t.interrupter).as_ref() {
                Some(i) => i.interrupt(),
                // A thread started before its host thread took over: that
                // interrupts it once it installs the interrupter.
                None => t
                    .attention
                    .store(true, std::sync::atomic::Ordering::Release),
            }
        }
    }));
}

/// A fresh address space with `path` loaded into it (as `execve` sees
/// the file system from `root`/`cwd`).
fn load_image(
    kernel: &Arc<Kernel>,
    root: &Arc<vfs::Dentry>,
    cwd: &Arc<vfs::Dentry>,
    invoker: &Invoker,
    path: &[u8],
    argv: Vec<Vec<u8>>,
    envp: Vec<Vec<u8>>,
) -> SysResult<(MemoryManager, loader::Loaded)> {
    let mut mm = MemoryManager::new(
        kernel.mf.clone(),
        kernel.platform.max_user_address(),
        kernel.platform.reserved_ranges(),
    );
    let args = ExecArgs {
        vfs: &kernel.vfs,
        root,
        cwd,
        creds: &invoker.creds,
        vdso: kernel.vdso.as_ref(),
        hwcap: kernel.hwcap,
        ids: invoker.ids,
        no_new_privs: invoker.no_new_privs,
    };
    let loaded = loader::load(&args, &mut mm, path, argv, envp)?;
    Ok((mm, loaded))
}

/// Standard streams for init.
pub struct Stdio {
    pub files: Vec<Arc<File>>,
    /// The controlling terminal init starts with (its session's, with init
    /// as the foreground process group).
    pub ctty: Option<Arc<vfs::tty::Tty>>,
}

/// Creates the init process (pid 1) running `argv[0]` and starts it. An
/// error means the program could not be executed (as `execve` reports).
pub fn start_init(
    kernel: &Arc<Kernel>,
    path: &[u8],
    argv: Vec<Vec<u8>>,
    envp: Vec<Vec<u8>>,
    cwd: &[u8],
    stdio: Stdio,
    creds: Creds,
) -> SysResult<()> {
    let spec = InitSpec {
        path,
        argv,
        envp,
        cwd,
        stdio,
        creds,
        extras: InitExtras::default(),
    };
    prepare_init(kernel, spec)?.start()
}

/// What a container's process description sets beyond `start_init`'s
/// defaults (rlimits, `no_new_privs`, capability sets, umask).
#[derive(Default, Clone)]
pub struct InitExtras {
    /// (resource, limit) pairs replacing the defaults.
    pub rlimits: Vec<(u32, Rlimit)>,
    pub no_new_privs: bool,
    /// `None`: what the uid gets (`Caps::for_uid`).
    pub caps: Option<Caps>,
    pub umask: Option<u32>,
}

/// The file-system credentials of a process run as `uid`/`gid`/`groups`
/// with capability sets `caps` (`None`: what the uid gets).
pub fn creds_for(uid: u32, gid: u32, groups: Vec<u32>, caps: Option<&Caps>) -> Creds {
    let fs_cap = |c: u32| match caps {
        Some(caps) => caps.effective & (1 << c) != 0,
        None => uid == 0,
    };
    Creds {
        uid,
        gid,
        groups: Arc::from(groups),
        dac_override: fs_cap(CAP_DAC_OVERRIDE),
        dac_read_search: fs_cap(CAP_DAC_READ_SEARCH),
        fowner: fs_cap(CAP_FOWNER),
        landlock: None,
    }
}

/// The init process to build: program, arguments, environment, working
/// directory, standard streams, credentials and extras.
pub struct InitSpec<'a> {
    pub path: &'a [u8],
    pub argv: Vec<Vec<u8>>,
    pub envp: Vec<Vec<u8>>,
    pub cwd: &'a [u8],
    pub stdio: Stdio,
    pub creds: Creds,
    pub extras: InitExtras,
}

/// An init process whose image is loaded and whose pid 1 exists in the
/// kernel's table, but which has not run an instruction yet (a
/// container between `create` and `start`). Signals sent meanwhile are
/// queued and delivered when it starts.
pub struct PreparedInit(TaskParts);

impl PreparedInit {
    /// Lets the init process run.
    pub fn start(self) -> SysResult<()> {
        spawn(self.0)
    }

    /// Its process (in the table already, not running yet).
    pub fn group(&self) -> Arc<ThreadGroup> {
        self.0.shared.tg.clone()
    }

    /// Lets a parentless process ([`prepare_process`]) run; if it cannot,
    /// it is ended and removed from the table.
    pub fn start_orphan(self, kernel: &Arc<Kernel>) -> SysResult<Arc<ThreadGroup>> {
        let tg = self.group();
        let shared = self.0.shared.clone();
        if let Err(e) = spawn(self.0) {
            finish_group(kernel, &shared, wait::signaled(SIGKILL, false), true);
            reap_orphan(kernel, &tg);
            return Err(e);
        }
        Ok(tg)
    }

    /// Ends a parentless process that never ran (a pod container
    /// killed or deleted before `start`) and removes it from the table;
    /// its wait status is `status`.
    pub fn abandon(self, kernel: &Arc<Kernel>, status: i32) {
        let tg = self.group();
        finish_group(kernel, &self.0.shared, status, true);
        reap_orphan(kernel, &tg);
    }
}

/// Builds the init process (pid 1) without starting it.
pub fn prepare_init(kernel: &Arc<Kernel>, spec: InitSpec) -> SysResult<PreparedInit> {
    build_process(kernel, spec, None, None).map(PreparedInit)
}

/// Builds, without starting it, a process no process of the sandbox
/// made, in namespaces `ns` with `root` as its root: a pod container's
/// init (the first process of a new pid namespace is its pid 1), or an
/// exec'd process ([`spawn_process`]). As the latter, it has no parent
/// and leads a new session. The calling thread's mount namespace
/// becomes `ns`'s, as the process's paths are resolved in it.
pub fn prepare_process(
    kernel: &Arc<Kernel>,
    spec: InitSpec,
    ns: Arc<crate::ns::Namespaces>,
    root: Arc<vfs::dentry::Dentry>,
) -> SysResult<PreparedInit> {
    vfs::mount::set_current(ns.mnt.ns.clone());
    build_process(kernel, spec, Some(ns), Some(root)).map(PreparedInit)
}

/// Creates and starts a process that no process of the sandbox made: a
/// container's `exec` (runc's process joined to the container from
/// outside). It has no parent (`getppid` is 0, as for a process whose
/// parent is outside the pid namespace), leads a new session (with
/// `stdio.ctty` as its controlling terminal, if any), and is in init's
/// namespaces. As it has no parent it stays a zombie once it has exited
/// until the caller reaps it ([`reap_orphan`]); its own children pass to
/// init when it exits.
pub fn spawn_process(kernel: &Arc<Kernel>, spec: InitSpec) -> SysResult<Arc<ThreadGroup>> {
    let init = kernel.find_task(1).ok_or(Errno::ESRCH)?;
    let ns = lock(&init.ns).clone();
    let root = kernel.vfs.root.clone();
    prepare_process(kernel, spec, ns, root)?.start_orphan(kernel)
}

/// Removes a parentless process ([`spawn_process`]) that has exited from
/// the pid table; `None` (and nothing done) while it runs, else its wait
/// status.
pub fn reap_orphan(kernel: &Kernel, tg: &Arc<ThreadGroup>) -> Option<i32> {
    let status = tg.lock().exit_status?;
    let mut t = lock(&kernel.table);
    if t.groups.get(&tg.pid).is_some_and(|g| Arc::ptr_eq(g, tg)) {
        t.groups.remove(&tg.pid);
    }
    Some(status)
}

/// Builds a process from `spec`: pid 1 in the kernel's first namespaces
/// when `ns` is `None` (init), else a new pid leading a new session in
/// `ns` (`spawn_process`).
fn build_process(
    kernel: &Arc<Kernel>,
    spec: InitSpec,
    ns: Option<Arc<crate::ns::Namespaces>>,
    root: Option<Arc<vfs::dentry::Dentry>>,
) -> SysResult<TaskParts> {
    let InitSpec {
        path,
        argv,
        envp,
        cwd,
        stdio,
        creds,
        extras,
    } = spec;
    let root = root.unwrap_or_else(|| kernel.vfs.root.clone());
    let cwd = kernel.vfs.resolve(&root, &root, cwd, true, &creds)?;
    if !cwd.inode.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    let invoker = Invoker {
        ids: loader::ExecIds {
            uid: creds.uid,
            euid: creds.uid,
            gid: creds.gid,
            egid: creds.gid,
        },
        creds: creds.clone(),
        no_new_privs: extras.no_new_privs,
    };
    let (mm, loaded) = load_image(kernel, &root, &cwd, &invoker, path, argv, envp)?;
    let mut rlimits = default_rlimits();
    for &(r, l) in &extras.rlimits {
        if let Some(slot) = rlimits.get_mut(r as usize) {
            *slot = l;
        }
    }
    let mm = Arc::new(Mutex::new(mm));
    let sighand = Arc::new(Mutex::new(SigHandlers {
        actions: [SigAction::default(); 64],
    }));
    // The standard streams are installed before the process is visible.
    let mut fds = FdTable::default();
    for f in stdio.files {
        fds.install(f, false, 0, u64::MAX)?;
    }
    let pidns = ns
        .as_ref()
        .map_or_else(|| kernel.init_ns.pid.clone(), |n| n.pid.clone());
    let pid = match ns {
        None => 1,
        // Taken now, inserted below: a concurrent `clone` allocates past
        // it, so no one else can take it meanwhile.
        Some(_) => lock(&kernel.table).alloc_in(&pidns)?,
    };
    let tg = new_group(
        pid,
        pidns,
        TgInner::new(
            None,
            (pid, pid),
            rlimits,
            Some(loaded.exe.clone()),
            mm.clone(),
            sighand.clone(),
            creds.uid,
        ),
    );
    set_quiesce_hook(&mut lock(&mm), &tg);
    let shared = new_shared(
        pid,
        tg.clone(),
        loaded.comm.clone(),
        SigSet::EMPTY,
        crate::sched::Sched::initial(),
        ns.unwrap_or_else(|| kernel.init_ns.clone()),
    );
    if let Some(tty) = &stdio.ctty {
        tty.set_control(pid, pid);
        tg.lock().ctty = Some(tty.clone());
    }
    tg.lock().threads.push(shared.clone());
    {
        let mut t = lock(&kernel.table);
        if pid == 1 {
            t.next = 1;
        }
        t.tasks.insert(pid, shared.clone());
        t.groups.insert(pid, tg);
    }
    let (uid, gid) = (creds.uid, creds.gid);
    Ok(TaskParts {
        shared,
        kernel: kernel.clone(),
        regs: initial_regs(loaded.entry, loaded.sp),
        fp: None,
        mm,
        fds: Arc::new(Mutex::new(fds)),
        fs: Arc::new(Mutex::new(FsContext {
            root,
            cwd,
            umask: extras.umask.unwrap_or(0o022) & 0o777,
        })),
        sighand,
        creds,
        euid: uid,
        egid: gid,
        suid: uid,
        sgid: gid,
        fsuid: uid,
        fsgid: gid,
        clear_child_tid: 0,
        no_new_privs: extras.no_new_privs,
        caps: extras.caps.unwrap_or_else(|| Caps::for_uid(uid)),
        seccomp: Vec::new(),
        seed: None,
        altstack: SigAltStack {
            flags: SS_DISABLE,
            ..Default::default()
        },
        vfork_done: None,
    })
}

/// `clone`/`fork`/`vfork`: a new process. Threads (`CLONE_THREAD`) are not
/// supported yet and fail with `ENOSYS`.
/// `pidfd_out`: where `CLONE_PIDFD` stores the new pidfd.
#[allow(clippy::too_many_arguments)]
pub fn clone(
    task: &mut Task,
    flags: u64,
    stack: u64,
    ptid: u64,
    ctid: u64,
    tls: u64,
    pidfd_out: u64,
) -> SysResult<i32> {
    // A TLS base at or past the top of user space is EPERM, as for
    // `arch_prctl(ARCH_SET_FS)` (Linux's `do_set_thread_area_64`).
    if flags & CLONE_SETTLS != 0 && tls >= (1 << 47) - 4096 {
        return Err(Errno::EPERM);
    }
    if flags & CLONE_SYSVSEM != 0 {
        task.tg().sysvsem_undo.store(true, Ordering::Relaxed);
    }
    if flags & CLONE_THREAD != 0 {
        if flags & CLONE_SIGHAND == 0 || flags & CLONE_VM == 0 {
            return Err(Errno::EINVAL);
        }
        // A thread shares its process's pid namespace.
        if flags & (CLONE_NEWUSER | CLONE_NEWPID) != 0
            || !Arc::ptr_eq(&lock(&task.shared.ns).pid, task.pidns())
        {
            return Err(Errno::EINVAL);
        }
        return clone_thread(task, flags, stack, ptid, ctid, tls);
    }
    if flags & CLONE_SIGHAND != 0 && flags & CLONE_VM == 0 {
        return Err(Errno::EINVAL);
    }
    // A namespace's init may not make siblings (they would have no reaper
    // inside).
    if flags & CLONE_PARENT != 0 && task.tg().is_ns_init() {
        return Err(Errno::EINVAL);
    }
    if flags & CLONE_NEWIPC != 0 && flags & CLONE_SYSVSEM != 0 {
        return Err(Errno::EINVAL);
    }
    // A new mount namespace cannot share a root and working directory
    // with the parent, nor a new user namespace its file-system context.
    if flags & (CLONE_NEWNS | CLONE_NEWUSER) != 0 && flags & CLONE_FS != 0 {
        return Err(Errno::EINVAL);
    }
    let (ns, new_user) = crate::ns::for_child(task, flags)?;
    let child_caps = if new_user {
        Caps {
            effective: ALL_CAPS,
            permitted: ALL_CAPS,
            inheritable: 0,
        }
    } else {
        task.caps
    };
    if flags & CLONE_PIDFD != 0 && flags & (CLONE_THREAD | CLONE_PARENT_SETTID) != 0 {
        return Err(Errno::EINVAL);
    }
    let kernel = task.kernel.clone();
    // The container's pids limit bounds the sandbox's tasks, as the pids
    // cgroup bounds a container's on Linux.
    let max_tasks = crate::task_limit();
    if max_tasks > 0 && lock(&kernel.table).tasks.len() as u64 >= max_tasks {
        return Err(Errno::EAGAIN);
    }
    // RLIMIT_NPROC bounds the caller's user's tasks (root is exempt).
    if task.euid != 0 {
        let limit = task.rlimit(abi::misc::RLIMIT_NPROC).cur;
        let uid = task.creds.uid;
        let count = lock(&kernel.table)
            .tasks
            .values()
            .filter(|t| t.tg.lock().uid == uid)
            .count() as u64;
        if count >= limit {
            return Err(Errno::EAGAIN);
        }
    }
    // CLONE_VM without CLONE_THREAD (vfork, posix_spawn) shares the
    // address space: the child runs as another thread of the parent's stub
    // until it execs. Otherwise the child gets a copy-on-write fork.
    let vm_seed = if flags & CLONE_VM != 0 {
        Some(task.ctx.new_thread()?)
    } else {
        None
    };
    let child_mm = if vm_seed.is_some() {
        task.mm.clone()
    } else {
        let mm = task.mm.clone();
        let mut parent = lock(&mm);
        let child = parent.fork()?;
        // Memory now shared copy-on-write is write-protected in this
        // process before any of its threads runs on.
        parent
            .sync_host(&mut *task.ctx)
            .map_err(|_| Errno::EAGAIN)?;
        Arc::new(Mutex::new(child))
    };
    let parent_tg = task.tg().clone();
    let (parent_link, pgid, sid, rlimits, exe, persona, oom, ctty, session_keyring) = {
        let g = parent_tg.lock();
        let parent = if flags & CLONE_PARENT != 0 {
            g.parent.clone()
        } else {
            Some(parent_tg.clone())
        };
        (
            parent,
            g.pgid,
            g.sid,
            g.rlimits,
            g.exe.clone(),
            g.personality,
            (g.oom_score_adj, g.coredump_filter),
            g.ctty.clone(),
            g.session_keyring,
        )
    };
    let sighand = if flags & CLONE_SIGHAND != 0 {
        task.sighand.clone()
    } else {
        let mut actions = lock(&task.sighand).actions;
        if flags & CLONE_CLEAR_SIGHAND != 0 {
            for a in actions.iter_mut() {
                let ignored = a.handler == SIG_IGN;
                *a = SigAction::default();
                if ignored {
                    a.handler = SIG_IGN;
                }
            }
        }
        Arc::new(Mutex::new(SigHandlers { actions }))
    };
    // A sibling (CLONE_PARENT) ends with its creator's signal.
    let exit_signal = if flags & CLONE_PARENT != 0 {
        parent_tg.lock().exit_signal
    } else {
        (flags & 0xff) as i32
    };
    let pid = lock(&kernel.table).alloc_in(&ns.pid)?;
    let child_ns = ns.pid.clone();
    let tg = new_group(
        pid,
        ns.pid.clone(),
        TgInner::new(
            parent_link.clone(),
            (pgid, sid),
            rlimits,
            exe,
            child_mm.clone(),
            sighand.clone(),
            task.creds.uid,
        ),
    );
    {
        let mut g = tg.lock();
        g.personality = persona;
        (g.oom_score_adj, g.coredump_filter) = oom;
        g.ctty = ctty;
        g.session_keyring = session_keyring;
        g.exit_signal = exit_signal;
    }
    if vm_seed.is_none() {
        set_quiesce_hook(&mut lock(&child_mm), &tg);
    }
    let comm = lock(&task.shared.comm).clone();
    let shared = new_shared(pid, tg.clone(), comm, task.mask(), forked_sched(task), ns);
    *lock(&shared.landlock) = task.creds.landlock.clone();
    shared.inherit_seccomp(&task.shared);
    shared.inherit_creds(&task.shared);
    tg.lock().threads.push(shared.clone());
    let regs = child_regs(task, flags, stack, tls);
    let event = task.ptrace_clone_event(flags, (flags & 0xff) as i32);
    if event.is_some() {
        task.ptrace_attach_child(&shared);
    }
    // The parent's view of the new id, and the child's own.
    let vpid = task.vpid(pid);
    if flags & CLONE_PARENT_SETTID != 0 {
        task.mm().write_obj(ptid, &vpid)?;
    }
    if flags & CLONE_CHILD_SETTID != 0 {
        lock(&child_mm).write_obj(ctid, &child_ns.shown(pid))?;
    }
    let fds = if flags & CLONE_FILES != 0 {
        task.fds.clone()
    } else {
        Arc::new(Mutex::new(task.fds().clone()))
    };
    let fs = if flags & CLONE_FS != 0 {
        task.fs.clone()
    } else {
        Arc::new(Mutex::new(task.fs().clone()))
    };
    let vfork = if flags & CLONE_VFORK != 0 {
        Some(Arc::new(VforkDone::default()))
    } else {
        None
    };
    {
        let mut t = lock(&kernel.table);
        t.tasks.insert(pid, shared.clone());
        t.groups.insert(pid, tg.clone());
    }
    if tg.lock().rlimit_cpu_left().is_some() {
        // An inherited RLIMIT_CPU binds the child from its first
        // instruction: the run loop and the sampler enforce it.
        tg.cpu_timers.store(true, Ordering::Relaxed);
        kernel.timers.watch_cpu(&tg);
    }
    if let Some(p) = &parent_link {
        // With CLONE_PARENT the creating thread is not the parent's.
        tg.lock().parent_thread = if Arc::ptr_eq(p, task.tg()) {
            task.tid()
        } else {
            p.pid
        };
        p.lock().children.push(tg.clone());
    }
    let fp = task.ctx.fp_state().ok();
    let r = spawn(TaskParts {
        shared,
        kernel: kernel.clone(),
        regs,
        fp,
        mm: child_mm,
        fds,
        fs,
        sighand,
        creds: task.creds.clone(),
        euid: task.euid,
        egid: task.egid,
        suid: task.suid,
        sgid: task.sgid,
        fsuid: task.fsuid,
        fsgid: task.fsgid,
        clear_child_tid: if flags & CLONE_CHILD_CLEARTID != 0 {
            ctid
        } else {
            0
        },
        altstack: task.altstack,
        vfork_done: vfork.clone(),
        no_new_privs: task.no_new_privs,
        caps: child_caps,
        seccomp: task.seccomp.clone(),
        seed: vm_seed.map(NewThread::Seed),
    });
    if let Err(e) = r {
        let mut t = lock(&kernel.table);
        t.remove_task(pid);
        t.remove_group(pid);
        drop(t);
        if let Some(p) = &parent_link {
            p.lock().children.retain(|c| c.pid != pid);
        }
        return Err(e);
    }
    if flags & CLONE_PIDFD != 0 {
        let f = File::new(
            None,
            abi::fs::O_RDWR,
            Box::new(crate::pidfd::PidFd::new(tg.clone())),
        );
        let lim = task.rlimit(abi::misc::RLIMIT_NOFILE).cur;
        let fd = task.fds().install(f, true, 0, lim)?;
        task.mm().write_obj(pidfd_out, &fd)?;
    }
    if let Some(ev) = event {
        task.ptrace_event(ev, vpid as u64);
    }
    if let Some(v) = vfork {
        task.shared.blocked.store(true, Ordering::Relaxed);
        v.wait();
        task.shared.blocked.store(false, Ordering::Relaxed);
        task.ptrace_event(crate::ptrace::PTRACE_EVENT_VFORK_DONE, vpid as u64);
    }
    Ok(vpid)
}

/// A new thread in the caller's process.
fn clone_thread(
    task: &mut Task,
    flags: u64,
    stack: u64,
    ptid: u64,
    ctid: u64,
    tls: u64,
) -> SysResult<i32> {
    let kernel = task.kernel.clone();
    let tg = task.tg().clone();
    if tg.lock().exiting.is_some() {
        return Err(Errno::EAGAIN);
    }
    let seed = task.ctx.new_thread()?;
    let tid = lock(&kernel.table).alloc_in(&tg.pidns)?;
    let vtid = task.vpid(tid);
    let comm = lock(&task.shared.comm).clone();
    let ns = lock(&task.shared.ns).clone();
    let shared = new_shared(tid, tg.clone(), comm, task.mask(), forked_sched(task), ns);
    *lock(&shared.landlock) = task.creds.landlock.clone();
    shared.inherit_creds(&task.shared);
    let regs = child_regs(task, flags, stack, tls);
    let event = task.ptrace_clone_event(flags, (flags & 0xff) as i32);
    if flags & CLONE_PARENT_SETTID != 0 {
        task.mm().write_obj(ptid, &vtid)?;
    }
    if flags & CLONE_CHILD_SETTID != 0 {
        task.mm().write_obj(ctid, &vtid)?;
    }
    let fds = if flags & CLONE_FILES != 0 {
        task.fds.clone()
    } else {
        Arc::new(Mutex::new(task.fds().clone()))
    };
    let fs = if flags & CLONE_FS != 0 {
        task.fs.clone()
    } else {
        Arc::new(Mutex::new(task.fs().clone()))
    };
    {
        let mut g = tg.lock();
        shared.inherit_seccomp(&task.shared);
        g.threads.push(shared.clone());
    }
    lock(&kernel.table).tasks.insert(tid, shared.clone());
    if event.is_some() {
        task.ptrace_attach_child(&shared);
    }
    let vfork = if flags & CLONE_VFORK != 0 {
        Some(Arc::new(VforkDone::default()))
    } else {
        None
    };
    let fp = task.ctx.fp_state().ok();
    let thread = start_thread(task, &shared, seed, &regs, fp.as_ref(), event.is_none());
    let started = matches!(thread, NewThread::Started { .. });
    let r = spawn(TaskParts {
        shared: shared.clone(),
        kernel: kernel.clone(),
        regs,
        fp,
        mm: task.mm.clone(),
        fds,
        fs,
        sighand: task.sighand.clone(),
        creds: task.creds.clone(),
        euid: task.euid,
        egid: task.egid,
        suid: task.suid,
        sgid: task.sgid,
        fsuid: task.fsuid,
        fsgid: task.fsgid,
        clear_child_tid: if flags & CLONE_CHILD_CLEARTID != 0 {
            ctid
        } else {
            0
        },
        altstack: SigAltStack {
            flags: SS_DISABLE,
            ..Default::default()
        },
        vfork_done: vfork.clone(),
        no_new_privs: task.no_new_privs,
        caps: task.caps,
        seccomp: task.seccomp.clone(),
        seed: Some(thread),
    });
    if let Err(e) = r {
        tg.lock().threads.retain(|t| t.tid != tid);
        lock(&kernel.table).remove_task(tid);
        if started {
            // Its application code runs with no task to serve it.
            crate::signal::send_to_group(&tg, SigInfo::new(SIGKILL, abi::signal::SI_KERNEL));
        }
        return Err(e);
    }
    if let Some(ev) = event {
        task.ptrace_event(ev, vtid as u64);
    }
    if let Some(v) = vfork {
        task.shared.blocked.store(true, Ordering::Relaxed);
        let released = v.wait_killable(task);
        task.shared.blocked.store(false, Ordering::Relaxed);
        if released {
            task.ptrace_event(crate::ptrace::PTRACE_EVENT_VFORK_DONE, vtid as u64);
        }
    }
    Ok(vtid)
}

/// Starts a new thread's application code from its creator's host thread
/// where the platform allows it (and no tracer needs to see it first), so
/// that it runs while its own host thread wakes up. The address space's
/// pending host changes are applied first, as before any entry into
/// application code.
fn start_thread(
    task: &mut Task,
    shared: &TaskShared,
    seed: platform::ThreadSeed,
    regs: &PtRegs,
    fp: Option<&FpState>,
    untraced: bool,
) -> NewThread {
    if !untraced {
        return NewThread::Seed(seed);
    }
    // Nothing can be pending for it yet: from now on the flag says that
    // something came before its run loop could interrupt it.
    shared
        .attention
        .store(false, std::sync::atomic::Ordering::Release);
    let mm = task.mm.clone();
    let mut mm = lock(&mm);
    if mm.sync_host(&mut *task.ctx).is_err() {
        return NewThread::Seed(seed);
    }
    let mut in_application = mm::ApplicationEntry::default();
    mm.enter_application(&mut in_application);
    // The creator's own stub thread would spin for the answer on a CPU the
    // new thread needs; woken while it still spins, the new thread would
    // preempt this one instead (~20 us here).
    if let Some(i) = lock(&task.shared.interrupter).as_ref() {
        i.quiet();
    }
    match task.kernel.platform.start_thread(seed, regs, fp) {
        Ok(ctx) => NewThread::Started {
            ctx,
            in_application,
            patch_epoch: mm.patch_epoch(),
        },
        Err(seed) => NewThread::Seed(seed),
    }
}

/// Makes the caller the only thread of its process (exec from a
/// multithreaded process): the others leave, and the caller takes the
/// process id as its thread id, as Linux does.
fn become_sole_thread(task: &mut Task) {
    let tg = task.tg().clone();
    let others: Vec<Arc<TaskShared>> = tg
        .lock()
        .threads
        .iter()
        .filter(|t| t.tid != task.tid())
        .cloned()
        .collect();
    if others.is_empty() {
        return;
    }
    for o in &others {
        o.exec_exit
            .store(true, std::sync::atomic::Ordering::Relaxed);
        o.kick();
    }
    // They leave through their run loops; none can block for long because
    // every wait checks `exec_exit`.
    while tg.lock().threads.len() > 1 {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    if task.tid() == tg.pid {
        return;
    }
    let old = task.shared.clone();
    let new = new_shared(
        tg.pid,
        tg.clone(),
        lock(&old.comm).clone(),
        old.mask(),
        *lock(&old.sched),
        lock(&old.ns).clone(),
    );
    *lock(&new.interrupter) = lock(&old.interrupter).take();
    new.inherit_seccomp(&old);
    *lock(&new.landlock) = task.creds.landlock.clone();
    new.inherit_creds(&old);
    *lock(&new.files) = lock(&old.files).take();
    *lock(&new.fsctx) = lock(&old.fsctx).take();
    std::mem::swap(&mut *lock(&new.pending), &mut *lock(&old.pending));
    std::mem::swap(&mut *lock(&new.trace), &mut *lock(&old.trace));
    let traced = old.traced.swap(false, std::sync::atomic::Ordering::Relaxed);
    new.traced
        .store(traced, std::sync::atomic::Ordering::Relaxed);
    let tracer = lock(&new.trace).tracer.clone();
    if let Some(tracer) = tracer {
        for t in tracer.lock().tracees.iter_mut() {
            if Arc::ptr_eq(t, &old) {
                *t = new.clone();
            }
        }
    }
    {
        let mut t = lock(&task.kernel.table);
        t.remove_task(old.tid);
        t.tasks.insert(tg.pid, new.clone());
    }
    tg.lock().threads = vec![new.clone()];
    task.shared = new;
    crate::procfs::set_current(task);
}

/// `execve`: replaces the image. On error the old image is untouched.
pub fn execve(
    task: &mut Task,
    path: &[u8],
    argv: Vec<Vec<u8>>,
    envp: Vec<Vec<u8>>,
) -> SysResult<u64> {
    let kernel = task.kernel.clone();
    let (root, cwd) = {
        let fs = task.fs();
        (fs.root.clone(), fs.cwd.clone())
    };
    let invoker = Invoker {
        creds: task.vfs_creds(),
        ids: loader::ExecIds {
            uid: task.creds.uid,
            euid: task.euid,
            gid: task.creds.gid,
            egid: task.egid,
        },
        no_new_privs: task.no_new_privs,
    };
    let loading =
        crate::phases::span("execve: ELF load (new address space, binary, interpreter, stack)");
    let (mm, loaded) = load_image(&kernel, &root, &cwd, &invoker, path, argv, envp)?;
    drop(loading);
    let _replacing =
        crate::phases::span("execve: old image dropped, host address space emptied or new stub");
    // Past this point the old image is gone.
    let old_tid = task.tid();
    become_sole_thread(task);
    // A process still running in its vfork parent's address space moves
    // to a host address space of its own; any other one empties its own.
    let emptied = if task.borrowed_vm {
        kernel.platform.new_context().map(|ctx| {
            task.ctx = ctx;
            *lock(&task.shared.interrupter) = Some(task.ctx.interrupter());
            task.borrowed_vm = false;
        })
    } else {
        task.ctx.unmap_all()
    };
    if emptied.is_err() {
        task.exit = Some(Exit::Group(wait::signaled(SIGKILL, false)));
        return Ok(0);
    }
    let mut mm = mm;
    set_quiesce_hook(&mut mm, task.tg());
    let mm = Arc::new(Mutex::new(mm));
    task.mm = mm.clone();
    {
        let mut g = task.tg().lock();
        g.mm = Some(mm);
        g.exe = Some(loaded.exe.clone());
    }
    // The descriptor table stops being shared, then close-on-exec applies.
    let mut fds = task.fds().clone();
    let closed = fds.close_on_exec();
    task.fds = Arc::new(Mutex::new(fds));
    *lock(&task.shared.files) = Some(task.fds.clone());
    drop(closed);
    {
        let mut h = lock(&task.sighand);
        let mut fresh = SigHandlers { actions: h.actions };
        for a in fresh.actions.iter_mut() {
            if a.handler != SIG_IGN {
                *a = SigAction::default();
            }
        }
        *h = fresh;
    }
    task.altstack = SigAltStack {
        flags: SS_DISABLE,
        ..Default::default()
    };
    // The saved IDs take the new effective ones; gaining IDs makes the
    // process undumpable and drops the parent-death signal, as on Linux.
    if loaded.ids.euid != task.euid || loaded.ids.egid != task.egid {
        let mut g = task.tg().lock();
        g.dumpable = false;
        g.pdeathsig = 0;
        // PER_CLEAR_ON_SETID.
        g.personality &= !0x0074_0000;
    }
    (task.euid, task.egid) = (loaded.ids.euid, loaded.ids.egid);
    (task.suid, task.sgid) = (task.euid, task.egid);
    (task.fsuid, task.fsgid) = (task.euid, task.egid);
    // Without file capabilities: root keeps everything, others nothing.
    task.caps = if task.euid == 0 || task.creds.uid == 0 {
        Caps {
            effective: if task.euid == 0 { ALL_CAPS } else { 0 },
            permitted: ALL_CAPS,
            inheritable: task.caps.inheritable,
        }
    } else {
        Caps {
            inheritable: task.caps.inheritable,
            ..Caps::default()
        }
    };
    task.publish_creds();
    *lock(&task.shared.comm) = loaded.comm;
    task.regs = initial_regs(loaded.entry, loaded.sp);
    let _ = task.ctx.set_fp_state(&FpState::default());
    task.robust_list = (0, 0);
    task.user_dispatch = None;
    task.regs_replaced = true;
    if let Some(v) = lock(&task.shared.vfork_done).take() {
        v.release();
    }
    // Exec drops a debugger's watchpoints, as Linux flushes them.
    task.watch = Default::default();
    lock(&task.shared.trace).debugreg = [0; 8];
    task.ptrace_exec(old_tid);
    Ok(0)
}

/// A new task's registers: the parent's, returning 0 from `clone`, on
/// the given stack and TLS.
fn child_regs(task: &Task, flags: u64, stack: u64, tls: u64) -> PtRegs {
    let mut regs = task.regs;
    regs.rax = 0;
    if stack != 0 {
        regs.rsp = stack;
    }
    if flags & CLONE_SETTLS != 0 {
        regs.fs_base = tls;
    }
    regs
}

/// Tears a task down after its run loop ends.
pub fn exit_task(mut task: Task, exit: Exit) {
    let _exiting = crate::phases::span("exit: task torn down");
    let status = match exit {
        Exit::Thread(code) => wait::exited(code),
        Exit::Group(s) => s,
    };
    if task.traced()
        && !task
            .shared
            .killed
            .load(std::sync::atomic::Ordering::Relaxed)
    {
        task.ptrace_event(crate::ptrace::PTRACE_EVENT_EXIT, status as u64);
    }
    crate::futex::exit_robust_list(&task);
    // The joiner is woken last, once this thread is done with its work
    // here: woken now, it would compete for this CPU with that work.
    let mut join_wake = None;
    if task.clear_child_tid != 0 {
        let addr = task.clear_child_tid;
        let mut mm = task.mm();
        let _ = mm.write_obj(addr, &0i32);
        join_wake = mm.futex_key(addr).ok();
    }
    if let Some(v) = lock(&task.shared.vfork_done).take() {
        v.release();
    }
    *lock(&task.shared.interrupter) = None;
    *lock(&task.shared.files) = None;
    *lock(&task.shared.fsctx) = None;
    let kernel = task.kernel.clone();
    let shared = task.shared.clone();
    // The last thread out releases the process's POSIX record locks.
    if task.tg().lock().threads.len() <= 1 {
        let pid = task.pid();
        for (_, e) in task.fds().iter() {
            e.file.release_posix_locks(pid);
        }
    }
    // Drop the stub and our references to memory and files first.
    drop(std::mem::replace(
        &mut task.fds,
        Arc::new(Mutex::new(FdTable::default())),
    ));
    drop(task);
    finish_group(&kernel, &shared, status, matches!(exit, Exit::Group(_)));
    if let Some(k) = join_wake {
        kernel.futexes.wake_handing_over(k, 1);
    }
}

/// Reports a task's exit to its tracer when dropped (at the end of
/// [`finish_group`], whichever way it returns).
struct TracerReport<'a> {
    shared: &'a Arc<TaskShared>,
    status: i32,
    last: bool,
}

impl Drop for TracerReport<'_> {
    fn drop(&mut self) {
        crate::ptrace::task_exited(self.shared, self.status, self.last);
    }
}

/// Removes a thread from its group; the last one out makes the group a
/// zombie and tells the parent.
/// `group`: the whole process is exiting (exit_group, fatal signal), so the
/// other threads must leave too.
fn finish_group(kernel: &Arc<Kernel>, shared: &Arc<TaskShared>, status: i32, group: bool) {
    let tg = shared.tg.clone();
    let (last, status, children, parent, ns_init) = {
        let mut g = tg.lock();
        g.threads.retain(|t| t.tid != shared.tid);
        let ns = shared.cpu_ns.load(std::sync::atomic::Ordering::Relaxed);
        g.exited_threads_ns += ns;
        for (sum, v) in g.exited_io.iter_mut().zip(shared.io.get()) {
            *sum += v;
        }
        kernel
            .exited_cpu_ns
            .fetch_add(ns, std::sync::atomic::Ordering::Relaxed);
        let status = g.exiting.unwrap_or(status);
        if !g.threads.is_empty() {
            if group {
                g.exiting.get_or_insert(status);
                for t in &g.threads {
                    t.kick();
                }
            }
            // Children this thread created (zombies too: a `__WNOTHREAD`
            // wait looks for them) pass to a remaining thread, and the
            // living hear of the parent's death if they asked to.
            let heir = g.threads[0].tid;
            let mut orphans = Vec::new();
            for c in &g.children {
                let mut cg = c.lock();
                if cg.parent_thread == shared.tid {
                    cg.parent_thread = heir;
                    if cg.pdeathsig != 0 && cg.exit_status.is_none() {
                        orphans.push((c.clone(), cg.pdeathsig));
                    }
                }
            }
            drop(g);
            for (c, sig) in orphans {
                send_to_group(&c, SigInfo::new(sig, SI_KERNEL));
            }
            (false, status, Vec::new(), None, false)
        } else {
            // Set before the zombie shows: a parent's wait must not reap
            // what a tracer has yet to collect.
            g.exit_held_by_tracer = crate::ptrace::holds_exit(shared, g.parent.as_ref());
            g.exit_traced_by_parent = crate::ptrace::traced_by(shared, g.parent.as_ref());
            g.zombie = Some(crate::task::ZombieTask {
                nice: lock(&shared.sched).nice,
                ruid: shared.uid(crate::task::RUID),
                euid: shared.uid(crate::task::EUID),
            });
            // A nested namespace's init becomes a zombie only once the
            // namespace is empty (below): its parent must not reap it,
            // nor see it dead, before then.
            let ns_init = tg.pid != 1 && tg.is_ns_init();
            if !ns_init {
                g.exit_status = Some(status);
            }
            g.mm = None;
            if let Some(id) = g.itimer_real.take() {
                kernel.timers.delete(id);
            }
            for (_, id) in std::mem::take(&mut g.posix_timers) {
                kernel.timers.delete(id);
            }
            (
                true,
                status,
                std::mem::take(&mut g.children),
                g.parent.clone(),
                ns_init,
            )
        }
    };
    // The thread's keyring, and with the last thread the process's, go
    // (taken out of the process first: the key store is locked before it).
    let thread_keyring = shared.thread_keyring.swap(0, Ordering::Relaxed);
    let process_keyring = if last {
        std::mem::take(&mut tg.lock().process_keyring)
    } else {
        0
    };
    for r in [thread_keyring, process_keyring] {
        if r != 0 {
            kernel.keys.lock().release(r);
        }
    }
    lock(&kernel.table).remove_task(shared.tid);
    // The tracer hears of the exit last, after the parent's SIGCHLD is
    // queued, as on Linux (where the parent is told when the tracer
    // reaps): whatever the tracer does next, the parent already has it.
    let _tracer_report = TracerReport {
        shared,
        status,
        last,
    };
    if !last {
        return;
    }
    // Semaphore undos live in the process's IPC namespace.
    let ipc = lock(&_tracer_report.shared.ns).ipc.ns.clone();
    crate::ipc::exit_process(&ipc, tg.pid);
    crate::tty::process_exited(&tg);
    let mut status = status;
    let mut children = children;
    if ns_init {
        zap_pid_ns(kernel, &tg, std::mem::take(&mut children));
        // After `reboot(2)` inside, init shows as killed by its signal.
        if let Some(sig) = tg.pidns.reboot_signal() {
            status = wait::signaled(sig, false);
        }
        tg.lock().exit_status = Some(status);
    }
    tg.exit_events.notify(events::ALL);
    if tg.pid == 1 {
        kernel.set_exit(status);
        for c in &children {
            send_to_group(c, SigInfo::new(SIGKILL, SI_KERNEL));
        }
        return;
    }
    if !ns_init && !children.is_empty() {
        reparent_orphans(kernel, &tg, parent.clone(), children);
    }
    notify_parent(kernel, &tg, parent, status);
}

/// Orphans go to the nearest live subreaper above in the same pid
/// namespace, else to that namespace's init; those that asked are told of
/// their parent's death.
fn reparent_orphans(
    kernel: &Arc<Kernel>,
    tg: &Arc<ThreadGroup>,
    parent: Option<Arc<ThreadGroup>>,
    children: Vec<Arc<ThreadGroup>>,
) {
    {
        let mut reaper = parent;
        while let Some(r) = reaper.clone() {
            if !Arc::ptr_eq(&r.pidns, &tg.pidns) || r.is_ns_init() {
                reaper = None;
                break;
            }
            let g = r.lock();
            if g.subreaper && g.exit_status.is_none() {
                break;
            }
            let up = g.parent.clone();
            drop(g);
            reaper = up;
        }
        let init = || kernel.find_group(tg.pidns.init()?);
        if let Some(new_parent) = reaper.or_else(init) {
            let mut zombies = false;
            for c in &children {
                let sig = {
                    let mut g = c.lock();
                    g.parent = Some(new_parent.clone());
                    g.parent_thread = new_parent.pid;
                    g.pdeathsig
                };
                if sig != 0 {
                    send_to_group(c, SigInfo::new(sig, SI_KERNEL));
                }
                zombies |= c.is_zombie();
            }
            new_parent.lock().children.extend(children);
            if zombies {
                new_parent.child_events.notify(events::ALL);
            }
        }
    }
}

/// A pid namespace's init has exited: nothing may enter the namespace any
/// more, every process left in it is killed, and init reaps them (its own
/// children and the orphans that come to it) before its parent hears of
/// its death, as Linux's `zap_pid_ns_processes`. Processes whose parent
/// is outside (they entered with `setns`) are left for that parent to
/// reap.
fn zap_pid_ns(kernel: &Arc<Kernel>, tg: &Arc<ThreadGroup>, children: Vec<Arc<ThreadGroup>>) {
    let ns = tg.pidns.clone();
    ns.set_dead();
    tg.lock().children.extend(children);
    loop {
        let live: Vec<Arc<ThreadGroup>> = lock(&kernel.table)
            .groups
            .values()
            .filter(|g| !Arc::ptr_eq(g, tg) && ns.local(g.pid).is_some() && !g.is_zombie())
            .cloned()
            .collect();
        for g in &live {
            send_to_group(g, SigInfo::new(SIGKILL, SI_KERNEL));
        }
        // Reap what has died among init's children.
        let reaped: Vec<Arc<ThreadGroup>> = {
            let mut g = tg.lock();
            let (dead, alive): (Vec<_>, Vec<_>) = std::mem::take(&mut g.children)
                .into_iter()
                .partition(|c| c.is_zombie());
            g.children = alive;
            dead
        };
        {
            let mut t = lock(&kernel.table);
            for c in &reaped {
                t.remove_group(c.pid);
            }
        }
        if live.is_empty() && tg.lock().children.is_empty() {
            break;
        }
        // Killed tasks leave within a few scheduling rounds: their deaths
        // are polled rather than waited for, the exit path having no
        // queue to sleep on that every one of them would wake.
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// Tells the parent of a process that has become a zombie (SIGCHLD), or
/// reaps it at once when the parent ignores SIGCHLD.
fn notify_parent(
    kernel: &Arc<Kernel>,
    tg: &Arc<ThreadGroup>,
    parent: Option<Arc<ThreadGroup>>,
    status: i32,
) {
    let Some(parent) = parent else { return };
    let (code, st) = if status & 0x7f == 0 {
        (CLD_EXITED, (status >> 8) & 0xff)
    } else if status & 0x80 != 0 {
        (CLD_DUMPED, status & 0x7f)
    } else {
        (CLD_KILLED, status & 0x7f)
    };
    let sig = tg.lock().exit_signal;
    let act = lock(&parent.lock().sighand).action(SIGCHLD);
    if sig == SIGCHLD && (act.handler == SIG_IGN || act.flags & SA_NOCLDWAIT != 0) {
        // Auto-reap.
        parent.lock().children.retain(|c| !Arc::ptr_eq(c, tg));
        lock(&kernel.table).remove_group(tg.pid);
        parent.child_events.notify(events::ALL);
        return;
    }
    let pid = parent.pidns.shown(tg.pid);
    if (1..=NSIG).contains(&sig) {
        let mut info = SigInfo::child(code, pid, 0, st);
        info.signo = sig;
        send_to_group(&parent, info);
    }
    parent.child_events.notify(events::ALL);
}

/// `wait4`: the pid and status of a reaped (or, with `WNOHANG`, no) child.
/// `wait4`: the pid, status and CPU time of a reaped (or, with `WNOHANG`,
/// no) child.
pub fn wait4(task: &mut Task, pid: i32, options: i32) -> SysResult<Option<(i32, i32, u64)>> {
    let known = wait::WNOHANG
        | wait::WUNTRACED
        | wait::WCONTINUED
        | wait::WNOTHREAD
        | wait::WALL
        | wait::WCLONE;
    if options & !known != 0 {
        return Err(Errno::EINVAL);
    }
    let r = wait_child(task, pid, options | wait::WEXITED, true)?;
    Ok(r.map(|w| (w.pid, w.status, w.cpu_ns)))
}

/// What a `wait` found.
#[derive(Clone, Copy)]
pub struct WaitFound {
    pub pid: i32,
    pub status: i32,
    /// A ptrace stop (`CLD_TRAPPED`).
    pub trapped: bool,
    /// Reported by a tracee rather than a child: nothing to reap.
    pub tracee: bool,
    /// CPU time of a reaped child and its reaped descendants (`rusage`).
    pub cpu_ns: u64,
}

/// Waits for a child (or a tracee) selected as `wait4`'s `pid` argument
/// does; reaps it unless `reap` is false (`WNOWAIT`).
pub fn wait_child(
    task: &mut Task,
    pid: i32,
    options: i32,
    reap: bool,
) -> SysResult<Option<WaitFound>> {
    let tg = task.tg().clone();
    let kernel = task.kernel.clone();
    let my_pgid = tg.lock().pgid;
    let my_tid = task.tid();
    // The selection in global ids (one no process has when the caller's
    // namespace has no such number).
    let none = pidns::PID_MAX;
    let pid = match pid {
        p if p > 0 => task.global_id(p).unwrap_or(none),
        p if p < -1 && p != i32::MIN => -task.global_id(-p).unwrap_or(none),
        p => p,
    };
    let r = task.block_on(Some(&tg.child_events), events::ALL, None, |_| {
        // Tracees' stops are reported whatever the options; their exits
        // need WEXITED.
        let mut traced = false;
        if let Some(rep) = crate::ptrace::take_report(&tg, pid, my_pgid, reap, &mut traced) {
            if rep.trapped || options & wait::WEXITED != 0 {
                return Ok(Some(WaitFound {
                    pid: rep.tid,
                    status: rep.status,
                    trapped: rep.trapped,
                    tracee: true,
                    cpu_ns: 0,
                }));
            }
        }
        let mut g = tg.lock();
        let mine: Vec<(i32, *const ThreadGroup)> = g
            .tracees
            .iter()
            .map(|t| (t.tid, Arc::as_ptr(&t.tg)))
            .collect();
        // Without __WALL, __WCLONE picks the children that signal their
        // end with something other than SIGCHLD, its absence the others;
        // a child this process traces counts whatever its signal.
        let kind_ok = |c: &Arc<ThreadGroup>| -> bool {
            if options & wait::WALL != 0 {
                return true;
            }
            let (clone_child, traced_zombie) = {
                let cg = c.lock();
                (cg.exit_signal != SIGCHLD, cg.exit_traced_by_parent)
            };
            clone_child == (options & wait::WCLONE != 0)
                || traced_zombie
                || mine
                    .iter()
                    .any(|&(tid, tp)| tid == c.pid && std::ptr::eq(tp, Arc::as_ptr(c)))
        };
        // __WNOTHREAD: only the children the calling thread created.
        let thread_ok = |c: &Arc<ThreadGroup>| -> bool {
            options & wait::WNOTHREAD == 0 || c.lock().parent_thread == my_tid
        };
        let matches = |c: &Arc<ThreadGroup>| -> bool {
            let sel = match pid {
                p if p > 0 => c.pid == p,
                0 => c.lock().pgid == my_pgid,
                -1 => true,
                p => c.lock().pgid == -p,
            };
            sel && kind_ok(c) && thread_ok(c)
        };
        let want_exited =
            options & wait::WEXITED != 0 || options & (wait::WSTOPPED | wait::WCONTINUED) == 0;
        // A zombie can only ever report its exit: without WEXITED it is no
        // candidate at all, and a caller with nothing else to wait for gets
        // ECHILD rather than blocking forever (as Linux's do_wait).
        if !traced
            && !g
                .children
                .iter()
                .any(|c| matches(c) && (want_exited || !c.is_zombie()))
        {
            return Err(Errno::ECHILD);
        }
        let found = g.children.iter().position(|c| {
            matches(c) && {
                let cg = c.lock();
                cg.exit_status.is_some() && !cg.exit_held_by_tracer
            }
        });
        let found = if want_exited { found } else { None };
        // Job-control reports: stopped (WUNTRACED) or continued (WCONTINUED).
        if found.is_none() {
            for c in g.children.iter().filter(|c| matches(c)) {
                let mut cg = c.lock();
                let Some(st) = cg.wait_report else { continue };
                let stopped = st & 0xff == 0x7f;
                let wanted = if stopped {
                    options & wait::WUNTRACED != 0
                } else {
                    options & wait::WCONTINUED != 0
                };
                if wanted {
                    if reap {
                        cg.wait_report = None;
                    }
                    return Ok(Some(WaitFound {
                        pid: c.pid,
                        status: st,
                        trapped: false,
                        tracee: false,
                        cpu_ns: 0,
                    }));
                }
            }
        }
        if let Some(i) = found {
            let c = if reap {
                g.children.remove(i)
            } else {
                g.children[i].clone()
            };
            let (status, cpu, io) = {
                let cg = c.lock();
                (
                    cg.exit_status.unwrap_or(0),
                    cg.exited_threads_ns + cg.child_utime_ns,
                    cg.exited_io,
                )
            };
            if reap {
                g.child_utime_ns += cpu;
                // A reaped child's I/O counts join the parent's, as on
                // Linux.
                for (sum, v) in g.exited_io.iter_mut().zip(io) {
                    *sum += v;
                }
            }
            return Ok(Some(WaitFound {
                pid: c.pid,
                status,
                trapped: false,
                tracee: false,
                cpu_ns: cpu,
            }));
        }
        if options & wait::WNOHANG != 0 {
            return Ok(None);
        }
        Err(Errno::EAGAIN)
    })?;
    let Some(mut w) = r else { return Ok(None) };
    let global = w.pid;
    w.pid = task.vpid(global);
    if reap && !(w.tracee || w.status & 0x7f == 0x7f || w.status == wait::CONTINUED) {
        lock(&kernel.table).remove_group(global);
    }
    Ok(Some(w))
}

/// `kill`: sends `sig` (0: only checks) to processes selected by `pid`.
pub fn kill(task: &Task, pid: i32, sig: i32) -> SysResult<()> {
    if !(0..=NSIG).contains(&sig) {
        return Err(Errno::EINVAL);
    }
    let kernel = &task.kernel;
    let me = task.pid();
    let ns = task.pidns().clone();
    let targets: Vec<Arc<ThreadGroup>> = {
        let t = lock(&kernel.table);
        match pid {
            // A thread's id names its process too (Linux's
            // `kill_pid_info` finds the task, then signals its group).
            p if p > 0 => ns
                .global(p)
                .and_then(|g| {
                    t.groups
                        .get(&g)
                        .cloned()
                        .or_else(|| t.tasks.get(&g).map(|s| s.tg.clone()))
                })
                .into_iter()
                .collect(),
            0 => {
                let pg = task.tg().lock().pgid;
                t.groups
                    .values()
                    .filter(|g| g.lock().pgid == pg)
                    .cloned()
                    .collect()
            }
            // Every process the caller's namespace shows but its init and
            // the caller.
            -1 => t
                .groups
                .values()
                .filter(|g| ns.local(g.pid).is_some_and(|v| v > 1) && g.pid != me)
                .cloned()
                .collect(),
            p if p == i32::MIN => return Err(Errno::ESRCH),
            p => match ns.global(-p) {
                Some(pg) => t
                    .groups
                    .values()
                    .filter(|g| g.lock().pgid == pg)
                    .cloned()
                    .collect(),
                None => Vec::new(),
            },
        }
    };
    if targets.is_empty() {
        return Err(Errno::ESRCH);
    }
    // Linux: one process is EPERM when refused; a group succeeds if any
    // member took the signal; `kill(-1)` never reports EPERM.
    let single = pid > 0;
    let mut sent = false;
    let mut refused = false;
    for g in targets {
        if !may_signal(task, &g, sig) {
            refused = true;
            continue;
        }
        sent = true;
        // A namespace's init only receives signals it handles, or blocks
        // (they stay pending for it to take), never SIGKILL/SIGSTOP from
        // inside its namespace.
        if sig == 0 || g.init_ignores(sig, me) {
            continue;
        }
        let from = g.pidns.shown(me);
        send_to_group(&g, SigInfo::from_user(sig, SI_USER, from, task.creds.uid));
    }
    if refused && !sent && (single || pid < -1 || pid == 0) {
        return Err(Errno::EPERM);
    }
    Ok(())
}

/// Linux's `check_kill_permission`: the sender's real or effective uid
/// is the target's real or saved uid, or the sender has `CAP_KILL`;
/// `SIGCONT` within a session is always allowed. A zombie (no threads
/// left) is not checked.
pub fn may_signal(task: &Task, g: &ThreadGroup, sig: i32) -> bool {
    if task.capable_here(crate::task::CAP_KILL) || std::ptr::eq(g, &**task.tg()) {
        return true;
    }
    let my_sid = task.tg().lock().sid;
    let inner = g.lock();
    if sig == SIGCONT && inner.sid == my_sid {
        return true;
    }
    let Some(th) = inner.threads.first() else {
        return true;
    };
    let ruid = th.uid(crate::task::RUID);
    let suid = th.uid(crate::task::SUID);
    [task.creds.uid, task.euid]
        .iter()
        .any(|&u| u == ruid || u == suid)
}
