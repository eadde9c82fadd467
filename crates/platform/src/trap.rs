//! The trap platform (`--platform=trap`, gVisor's "systrap" design):
//! application code runs in stub processes under a seccomp filter that
//! turns every system call into a `SIGSYS`, handled inside the stub by a
//! handler that hands the registers to the sentry through shared memory.
//! No ptrace is involved, so a syscall round trip is one signal delivery +
//! `rt_sigreturn` + a shared-memory hand-off instead of four ptrace stops.
//!
//! Measured on the 2-core development VM (`round_trip_benchmark`, noisy:
//! other builds share the cores): `getppid` round trip 3.1-5 us (median
//! ~3.1 us when a core is free) for trap against 11-24 us for ptrace;
//! `map_file` 4-15 us against 20-35 us; a program making 100 000 raw
//! `getppid` calls runs in 0.46 s under `rvisor do --platform trap`
//! against 2.14 s under ptrace. When both cores are busy with other work
//! the spinning rarely pays and trap falls back to futex hand-offs, about
//! as slow as ptrace (~12-20 us). The
//! floor is the host's signal delivery: a `SIGSYS` trap + empty handler +
//! `rt_sigreturn` inside one process already costs 3.3-3.7 us there (a
//! plain syscall ~0.24 us), so the hand-off adds ~0.5 us when both sides
//! spin. A futex-only hand-off (no spinning) costs ~20 us on this VM
//! (cross-CPU wake-ups), which is why both sides spin first.
//!
//! Patched syscall sites (see `mm`'s syscall patching) skip the signal:
//! they jump to the stub's *fast path*, which saves the registers (through
//! `gs`, which points at the thread's slot) and FP state (`xsave`) into
//! the context page itself and does the same hand-off; a `getppid` round
//! trip then costs 0.4-0.7 us. A resume loads registers and flags
//! directly; state only `rt_sigreturn` can load makes the thread trap from
//! the park site into its handler first ([`TrapContext::move_to_handler`]).
//!
//! # Layout
//!
//! - The stub image: a two-page static ELF built in memory
//!   (`stub::image`) at [`STUB_BASE`]: ELF headers and the code in the
//!   first page (assembled by `global_asm!` into the sentry and copied, see
//!   `trap/stub.rs`: no libc, no Rust runtime, position-independent except
//!   for the stub's own fixed addresses), data in the second (descriptor
//!   numbers, the three seccomp programs, signal lists and masks).
//! - The context area: a memfd of its own per stub process,
//!   [`CTX_SIZE`] bytes at [`CTX_BASE`] in the stub and anywhere in the
//!   sentry, cut into 64 KiB slots aligned to their size. Slot 0 is the mm
//!   thread's: the request page (mapped *read-only* in the stub) and a
//!   response page. Slots 1.. (1 = the leader) belong to application
//!   threads: a context page (state word, sleep flags, spin budget,
//!   siginfo, `sigcontext`, FPU state, fs/gs base, `stack_t`, clear-tid
//!   word) followed by the thread's signal stack.
//! - `reserved_ranges()` returns `[STUB_BASE, CTX_BASE + CTX_SIZE)`;
//!   `map_file` refuses to touch it and `unmap`/`unmap_all` cut around it.
//!
//! # Start-up
//!
//! Stubs are started by the stub factory (`crate::factory`) once
//! [`Platform::use_stub_factory`] was called, else by one process-wide
//! *spawner thread*; either way they are children of a thread that lives
//! as long as the sentry, so their `PR_SET_PDEATHSIG(SIGKILL)` fires when
//! the sentry dies, not when the task thread that asked for them ends. The
//! child calls `setsid` (no terminal signals), keeps only the memory file,
//! the context memfd and the write end of a completion pipe (at the first
//! two of fds 3, 4, 5 that are not the memory file's), and `execveat`s the
//! stub. The stub's entry code unmaps everything but its image, maps the
//! context area, closes the context memfd, installs handlers for `SIGSYS
//! SIGSEGV SIGBUS SIGFPE SIGILL SIGTRAP SIGURG`
//! (`SA_SIGINFO|SA_ONSTACK`, all seven in `sa_mask`, so handlers
//! never nest: an interrupt that arrives during a hand-off is delivered
//! right after the thread resumes and is reported then), sets `SIG_IGN`
//! for the other catchable signals that would end or stop it, blocks all
//! signals, sets `PR_SET_NO_NEW_PRIVS` and clones the *mm thread*. The mm
//! thread installs the *base* filter and serves requests. The leader runs
//! the *thread start* code with the *leader* filter: `sigaltstack` on its
//! slot, `seccomp` (the application filter without `exit`), unblock
//! signals, and a trapped syscall: the handler reports that first event,
//! which the sentry takes as "ready". Later threads are clones of the mm
//! thread (so they carry the base filter) that run the same thread start
//! with the *application* filter. Filter installation is the slow part of
//! start-up here (~100-300 us each on this VM), hence one per thread and
//! the mm thread's in parallel with the leader's. The platform keeps one
//! ready stub process in a pool (refilled by the spawner thread after each
//! `new_context` that emptied it), and a process that ends gives its stub
//! back to the pool, emptied (`TrapContext::recycle`); killed stubs are
//! reaped by the spawner thread, so fork/exec rarely wait for a stub's
//! exec and set-up.
//!
//! # Hand-off
//!
//! The handler (on the slot's signal stack; the slot is `rsp & ~0xffff`)
//! copies siginfo, the `sigcontext` and the frame's FP state (the XSAVE
//! prefix through the AVX component, or only the FXSAVE area on a host
//! without XSAVE frames) into the context page, reads fs/gs base (`rdfsbase`/`rdgsbase`
//! when the kernel allows them, else the last values it set), `xchg`s the
//! state word to 1 (event) and `FUTEX_WAKE`s the sentry if its sleep flag
//! is set (a shared futex: the page is `MAP_SHARED` in both processes). It
//! spins for a budget the sentry sets, then sets its own sleep flag and
//! `FUTEX_WAIT`s, until the state is 2 (resume) or 3 (exit). On resume it
//! copies the registers (through cs/ss) back into the frame, and the FP
//! state if the sentry changed it (without the kernel's software-reserved
//! bytes 464..512; it sets the x87/SSE bits of `xstate_bv`), clears the
//! frame's signal mask, sets fs/gs base if they changed (`wrfsbase` or
//! `arch_prctl`), and returns through its own `rt_sigreturn` restorer.
//! [`TrapContext::switch`] is the mirror image: write the registers,
//! `xchg` state to 2, wake the stub if its flag is set, spin, then sleep
//! on the state word with a 50 ms timeout, checking on each timeout that
//! the thread (clear-tid word) and process (`waitid(WNOWAIT)`) live. Each
//! sleep flag is set with an atomic exchange before the state is checked
//! again, so a wake-up is never lost. Spin budgets adapt per thread (grow
//! while the other side answers within the spin, shrink by a quarter when
//! it had to sleep, 16..4000 `pause`s), so a thread whose partner runs
//! long stops burning a core the partner may need. Neither side spins
//! while more tasks are awake than there are CPUs, and spins are cut to
//! ~4 us while more than half as many are ([`spin_cap`]: a spinning pair
//! holds two CPUs; the sentry re-checks while spinning, and tells the
//! process's other waiting threads to sleep). A stub thread whose task
//! blocks in the sentry is told to sleep at once (its spin budget word
//! set to 0, which the stub's loop re-reads: [`Interrupter::blocking`]),
//! and so is a thread parked as a spare. A thread creating another first waits (a
//! few microseconds) until its own stub thread sleeps
//! ([`Interrupter::quiet`]), so that the new thread gets that CPU instead
//! of preempting its creator, and wakes the new thread with the creator's
//! CPU taken out of its affinity for the moment of the wake-up
//! ([`away_from_this_cpu`]). A sentry wait that follows the waking of a
//! sleeping stub thread does not shrink the sentry's budget when it
//! outlasts the spin: the wake-up, not the application, took that long.
//! A task woken by a thread that exits next
//! (the clear-tid wake-up of `pthread_join`) gets its stub thread woken
//! with a budget at the same time as its host thread
//! ([`Interrupter::prewake`]), so the two wake-ups overlap instead of
//! following each other. The stub's budget is written before the
//! resume, as the thread may trap again at once. A syscall is reported
//! with `orig_rax` = number and `rax = -ENOSYS`, as `PTRACE_SYSEMU` does;
//! `SIGSEGV`/`SIGBUS` as [`Event::Fault`] with the host's code and
//! address; `SIGTRAP`/`SIGFPE`/`SIGILL` as [`Event::Signal`]; our
//! `SIGURG` (`tgkill` from [`Interrupter::interrupt`]) and anything a host
//! process sent as [`Event::Interrupted`].
//!
//! # Address-space operations and threads
//!
//! Executed by the mm thread, which sleeps (after a short spin) on the
//! request page's sequence word. The sentry (one request at a time, under
//! a mutex) writes up to [`REQ_MAX`] entries `nr, args[6], aux` and their
//! count, bumps the sequence and wakes it; the mm thread makes the calls in
//! order, stopping at the first failure, and reports the last result by
//! `write`ing 8 bytes to the completion pipe, which the sentry reads (after spinning on a
//! shared-memory hint). A new thread is a `clone` by the mm thread
//! (`aux` = the new slot); the child runs the thread start code and parks;
//! the sentry waits for its "ready" before handing out the [`ThreadSeed`].
//! A non-leader thread whose application thread ended stays parked in its
//! handler as a *spare* (up to four per process), which the next
//! `new_thread` hands out without a clone or a filter installation; its
//! registers, FP state and bases are all rewritten before it runs, and
//! every resume through the handler resets its signal mask and signal
//! stack. Beyond that (or an unattached seed) a thread is told to exit
//! (state 3) and its slot is reused once the kernel clears its tid word;
//! the leader stays parked until the process ends.
//!
//! # Security argument
//!
//! The application can read and write every context slot, jump anywhere
//! into the stub code with any registers, and use `rt_sigreturn` to set any
//! register and signal mask. It cannot:
//!
//! - *Change the stub's code or data, or the request page*: they are
//!   mapped without write permission and no application thread may call
//!   `mmap`, `mprotect`, `munmap`, `mremap` or anything else that could
//!   change that.
//! - *Make a host syscall outside its filter*: every filter traps calls of
//!   another ABI (`int 0x80`, so also x32 numbers never match) and calls
//!   whose instruction pointer is outside the stub image, and traps
//!   everything not listed. Filters only ever add restrictions. The
//!   application filter (every application thread) allows exactly:
//!   - `futex` with op WAIT or WAKE (private or shared): waits on or wakes
//!     words of its own address space. It can wake the sentry or the mm
//!     thread spuriously; both re-check their condition.
//!   - `rt_sigreturn`, `rt_sigprocmask`: set its own registers, signal
//!     mask and signal stack, which only affect itself. Blocking the
//!     interrupt signal is countered below. If it blocks `SIGSYS`, its next
//!     syscall kills the stub (the kernel forces the signal with the
//!     default action): `Died`.
//!   - `arch_prctl(ARCH_SET_FS | ARCH_SET_GS)`: its own TLS bases
//!     (`wrfsbase` does the same).
//!   - `exit` (not for the leader, whose filter leaves it out): ends its
//!     own thread; the sentry sees the cleared tid word and reports
//!     `Died`.
//! - *Use the mm thread*: it runs only stub code that uses no stack and no
//!   writable memory except its result words, has all signals blocked, and
//!   takes requests only from the read-only request page, so its calls are
//!   exactly those the sentry asked for. Its completion is a `write` to a
//!   pipe, not a shared-memory word, because application threads cannot
//!   `write`: a forged completion could otherwise make the sentry reuse
//!   the request page while the mm thread still reads it, mixing two
//!   requests (e.g. a read-only page's offset with another request's
//!   `PROT_WRITE`). The base filter (mm thread, and under the application
//!   filter every non-leader application thread) pins its calls further:
//!   `mmap` only `MAP_SHARED|MAP_FIXED` (perhaps `|MAP_POPULATE`) of the memory file, `write` only 8
//!   bytes to the pipe's fd, `clone` only with the fixed thread flags (no
//!   namespaces, no `CLONE_SETTLS`, no new process), `seccomp` only
//!   `SET_MODE_FILTER` without flags, `futex` and `arch_prctl` as above;
//!   `munmap`, `rt_sigprocmask`, `rt_sigreturn`, `sigaltstack`, `exit`,
//!   `exit_group` only affect the stub itself.
//! - *Hijack a thread before its filter is on*: the leader's start-up and
//!   every thread start run with all signals blocked, use no stack, and
//!   read their filter programs from the read-only data page; signals are
//!   unblocked only after the thread's filter is installed. The mm thread
//!   installs its filter before it reads any request.
//! - *Attack the sentry through the context area*: the sentry reads it
//!   only with volatile/atomic accesses and treats every value as
//!   untrusted: registers are the application's own anyway; a state other
//!   than "resume" counts as an event; signal numbers and codes are only
//!   classified; nothing read is used as a length, index or pointer. A
//!   thread can forge another thread's events, which only confuses the
//!   application about itself.
//! - Two host syscalls bypass seccomp altogether on Linux >= 6.11:
//!   `uretprobe` (335) and `uprobe` (336). Called from anywhere but the
//!   host's own trampolines they do nothing but raise `SIGILL` (335,
//!   reported here as `Event::Syscall` with `orig_rax = 335`) or return
//!   `-ENXIO` (336, which the application then sees instead of the
//!   sentry's `-ENOSYS`).
//!
//! # Interrupts the application tries to block
//!
//! `rt_sigreturn` (needed) also restores the signal mask and the
//! `sigaltstack` from the frame, so a hostile program can block the
//! interrupt signal or move its signal stack. If an interrupt goes
//! unanswered for 200 ms, the sentry seizes the thread with ptrace: if it
//! runs application code, it is moved to the park site with an empty
//! signal mask and detached; it traps at once and the sentry reports
//! [`Event::Interrupted`] with the registers ptrace saw. If it is inside
//! stub code on two such rounds in a row (the handler never takes that
//! long; e.g. a host `futex` wait the program made through the stub, or a
//! handler running on a stack it moved), the sentry reports
//! [`Event::Died`]. If ptrace is unavailable the thread just keeps running
//! until it traps.
//!
//! # Gaps
//!
//! - At most 1023 application threads per address space (`EAGAIN` after).
//! - [`AddressSpace::map_files`] and [`AddressSpace::unmap_many`] batch
//!   (a fork child's resident set, a process's queued unmaps); a fault
//!   still maps its one piece per request (~4-10 us here).
//! - FP state is exchanged through AVX (x87, SSE, YMM); AVX-512 and PKRU
//!   state pass through the host's signal frame untouched.
//! - Start-up of a stub (exec + filters) is slower than ptrace's
//!   (~0.3-0.4 ms against ~0.2 ms here); the pool hides it unless
//!   processes are created faster than one per ~0.4 ms.
//! - A host under extreme load that keeps a thread off the CPU for 400 ms
//!   while it is inside its handler with an interrupt pending would make
//!   the sentry take it for hostile (`Died`).

mod layout;
mod stub;

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use abi::regs::{FpState, FP_LEGACY_SIZE, FP_SW_BYTES, FP_XSAVE_SIZE, FP_XSTATE_MAGIC1, FP_YMM_HI};
use abi::signal::SigInfo;
use abi::{Errno, PtRegs};

use crate::factory::{self, sealed_image, Factory};
use crate::{AddressSpace, Context, Event, Interrupter, Platform, ThreadSeed};
use layout::*;

pub use layout::{CTX_BASE, CTX_SIZE, STUB_BASE, STUB_SIZE};

const ENOSYS_RET: u64 = (-38i64) as u64;
const SYS_SECCOMP: i32 = 1;
const SI_KERNEL: i32 = 0x80;
const SYS_URETPROBE: u64 = 335;
/// The fixed address of x86-64's legacy vsyscall page.
const VSYSCALL_PAGE: u64 = 0xffff_ffff_ff60_0000;

pub struct TrapPlatform {
    memfd: i32,
    /// Whether contexts offer syscall patching ([`Context::syscall_patch_target`]).
    patching: bool,
    stub_fd: Arc<OwnedFd>,
    reserved: [(u64, u64); 1],
    fsgsbase: bool,
    pool: Arc<Pool>,
    /// Set by [`Platform::use_stub_factory`]: where stubs come from.
    factory: OnceLock<Arc<Factory>>,
}

/// One stub process made ahead of time (by the spawner thread, after each
/// `new_context`), so that fork and exec do not wait for a stub's exec
/// and set-up.
#[derive(Default)]
struct Pool {
    /// Stub processes ready for a new context: made ahead of time, or
    /// left by a process that ended (emptied, see
    /// [`TrapContext::recycle`]).
    ready: Mutex<Vec<Arc<TrapProcess>>>,
    refilling: std::sync::atomic::AtomicBool,
    /// Notified (under `ready`'s lock) when a refill ends.
    refilled: std::sync::Condvar,
}

impl TrapPlatform {
    pub fn new(memfd: i32) -> Result<TrapPlatform, Errno> {
        let img = stub::image(memfd).map_err(|_| Errno::ENOEXEC)?;
        let stub_fd = sealed_image(c"rvisor-trap-stub", &img)?;
        // SAFETY: getauxval has no preconditions.
        let hwcap2 = unsafe { libc::getauxval(libc::AT_HWCAP2) };
        Ok(TrapPlatform {
            memfd,
            stub_fd: Arc::new(stub_fd),
            reserved: [(STUB_BASE, RESERVED_END)],
            fsgsbase: hwcap2 & 2 != 0,
            pool: Arc::new(Pool::default()),
            patching: true,
            factory: OnceLock::new(),
        })
    }

    /// Turns syscall patching on or off for contexts made from now on.
    pub fn with_syscall_patching(mut self, on: bool) -> TrapPlatform {
        self.patching = on;
        self
    }

    /// Starts the start-up probe: a stub process made in the background
    /// (by the spawner thread, as a refill of the pool), so the caller can
    /// go on (fork the stub factory) while it starts. [`probed`] waits
    /// for its outcome. The stub then serves the first context.
    ///
    /// [`probed`]: TrapPlatform::probed
    pub fn start_probe(&self) {
        self.refill();
    }

    /// Whether the probe's stub process started and reached its first
    /// event: if not, this host cannot run the trap platform.
    pub fn probed(&self) -> bool {
        let deadline = Instant::now() + READY_TIMEOUT + Duration::from_secs(1);
        let mut ready = self.pool.ready.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if ready.iter().any(|p| !p.exited()) {
                return true;
            }
            let now = Instant::now();
            if !self.pool.refilling.load(Ordering::Acquire) || now > deadline {
                return false;
            }
            ready = self
                .pool
                .refilled
                .wait_timeout(ready, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Asks the spawner thread to refill the pool unless it is full or
    /// being filled.
    fn refill(&self) {
        let full = !self
            .pool
            .ready
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty();
        if full || self.pool.refilling.swap(true, Ordering::AcqRel) {
            return;
        }
        let job = Job::Refill {
            memfd: self.memfd,
            stub: self.stub_fd.clone(),
            fsgsbase: self.fsgsbase,
            pool: Arc::downgrade(&self.pool),
            factory: self.factory.get().cloned(),
        };
        if spawner()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(job)
            .is_err()
        {
            self.pool.refilling.store(false, Ordering::Release);
        }
    }
}

impl Platform for TrapPlatform {
    fn name(&self) -> &'static str {
        "trap"
    }

    fn new_context(&self) -> Result<Box<dyn Context>, Errno> {
        let pre = self
            .pool
            .ready
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop();
        // Ours first, the pool's refill after: without a factory both are
        // made on the spawner thread, one job at a time, and a refill
        // queued first would make this caller wait for a second stub's
        // start-up too (the start-up probe did, at every sandbox start).
        let process = match pre {
            Some(p) if !p.exited() => Ok(p),
            _ => TrapProcess::spawn(
                self.memfd,
                self.stub_fd.as_raw_fd(),
                self.fsgsbase,
                false,
                self.factory.get(),
            ),
        };
        self.refill();
        let process = process?;
        let mut ctx = process.leader_context()?;
        ctx.patching = self.patching;
        ctx.pool = Arc::downgrade(&self.pool);
        Ok(Box::new(ctx))
    }

    fn use_stub_factory(&self) -> Result<(), Errno> {
        let f = Factory::start(self.stub_fd.as_raw_fd())?;
        self.factory.set(Arc::new(f)).map_err(|_| Errno::EBUSY)
    }

    fn attach_thread(&self, seed: ThreadSeed) -> Result<Box<dyn Context>, Errno> {
        let mut seed = seed.0.downcast::<TrapSeed>().map_err(|_| Errno::EINVAL)?;
        let (process, slot, tid) = seed.0.take().ok_or(Errno::EINVAL)?;
        let mut ctx = TrapContext::new(process, slot, tid, false);
        ctx.patching = self.patching;
        Ok(Box::new(ctx))
    }

    fn start_thread(
        &self,
        seed: ThreadSeed,
        regs: &PtRegs,
        fp: Option<&FpState>,
    ) -> Result<Box<dyn Context>, ThreadSeed> {
        let mut inner = match seed.0.downcast::<TrapSeed>() {
            Ok(s) => s,
            Err(other) => return Err(ThreadSeed(other)),
        };
        let Some((process, slot, tid)) = inner.0.take() else {
            return Err(ThreadSeed(inner));
        };
        let mut ctx = TrapContext::new(process, slot, tid, false);
        ctx.patching = self.patching;
        if let Some(fp) = fp {
            if ctx.set_fp_state(fp).is_err() {
                // Attached but not started: the driving thread's first
                // switch starts it (without that FP state).
                return Ok(Box::new(ctx));
            }
        }
        ctx.write_regs(regs);
        let cap = spin_cap();
        let tid = ctx.state.tid;
        away_from_this_cpu(tid, || {
            ctx.resume(cap);
        });
        ctx.started = true;
        Ok(Box::new(ctx))
    }

    fn max_user_address(&self) -> u64 {
        HOST_TASK_SIZE
    }

    fn reserved_ranges(&self) -> &[(u64, u64)] {
        &self.reserved
    }
}

fn memfd_create(name: &std::ffi::CStr) -> Result<OwnedFd, Errno> {
    // SAFETY: memfd_create with a NUL-terminated name; checked.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(Errno::last_host());
    }
    // SAFETY: fd was just created and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

// ---- the context area, seen from the sentry --------------------------

/// The sentry's mapping of one stub process's context area. The stub (and
/// so the application) can change any byte at any time: only atomic and
/// volatile accesses, and every value read is untrusted.
struct Area {
    base: *mut u8,
}

// SAFETY: the mapping is plain shared memory, accessed only atomically or
// volatilely; it is unmapped only on drop.
unsafe impl Send for Area {}
// SAFETY: as above.
unsafe impl Sync for Area {}

impl Area {
    fn new(fd: i32) -> Result<Area, Errno> {
        // SAFETY: maps a memfd we own (sized to CTX_SIZE) anywhere in our
        // address space; checked.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                CTX_SIZE as usize,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(Errno::last_host());
        }
        Ok(Area { base: p.cast() })
    }

    /// Pointer to `size` bytes at stub address `addr`, which must lie in
    /// the area (callers pass layout constants and slot bases).
    fn ptr(&self, addr: u64, size: u64) -> *mut u8 {
        assert!(addr >= CTX_BASE && addr + size <= CTX_BASE + CTX_SIZE);
        // SAFETY: in bounds of our mapping, checked above.
        unsafe { self.base.add((addr - CTX_BASE) as usize) }
    }

    fn word(&self, addr: u64) -> &AtomicU32 {
        let p = self.ptr(addr, 4);
        assert!((p as usize).is_multiple_of(4));
        // SAFETY: aligned, in bounds, valid for the lifetime of &self; all
        // accesses to this word from our side are atomic.
        unsafe { AtomicU32::from_ptr(p.cast()) }
    }

    fn read64(&self, addr: u64) -> u64 {
        // SAFETY: in bounds and 8-aligned (layout offsets); volatile
        // because another process writes it.
        unsafe { std::ptr::read_volatile(self.ptr(addr, 8).cast::<u64>()) }
    }

    fn write64(&self, addr: u64, v: u64) {
        // SAFETY: as in read64.
        unsafe { std::ptr::write_volatile(self.ptr(addr, 8).cast::<u64>(), v) }
    }

    fn read_bytes(&self, addr: u64, out: &mut [u8]) {
        let p = self.ptr(addr, out.len() as u64);
        for (i, b) in out.iter_mut().enumerate() {
            // SAFETY: in bounds (checked by ptr); volatile byte reads.
            *b = unsafe { std::ptr::read_volatile(p.add(i)) };
        }
    }

    fn write_bytes(&self, addr: u64, data: &[u8]) {
        let p = self.ptr(addr, data.len() as u64);
        for (i, b) in data.iter().enumerate() {
            // SAFETY: in bounds (checked by ptr); volatile byte writes.
            unsafe { std::ptr::write_volatile(p.add(i), *b) };
        }
    }
}

impl Drop for Area {
    fn drop(&mut self) {
        // SAFETY: unmaps our own mapping; no references outlive self.
        unsafe { libc::munmap(self.base.cast(), CTX_SIZE as usize) };
    }
}

fn futex_wake(w: &AtomicU32) {
    // SAFETY: a futex wake on a valid word; no memory is written.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            w.as_ptr(),
            libc::FUTEX_WAKE,
            i32::MAX,
            0usize,
        );
    }
}

/// Sleeps while `*w == val`, at most `timeout`.
fn futex_wait(w: &AtomicU32, val: u32, timeout: Duration) {
    let ts = libc::timespec {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    // SAFETY: a futex wait on a valid word with a valid timespec.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            w.as_ptr(),
            libc::FUTEX_WAIT,
            val,
            &ts as *const libc::timespec,
        );
    }
}

// ---- spawning --------------------------------------------------------

/// Work for the spawner thread.
enum Job {
    /// `vfork` + `execveat` one stub; reply with its pid.
    Exec(ChildArgs, mpsc::Sender<Result<libc::pid_t, Errno>>),
    /// Make a whole stub process, wait until it is ready, and put it into
    /// the pool if the platform still exists.
    Refill {
        memfd: i32,
        stub: Arc<OwnedFd>,
        fsgsbase: bool,
        pool: std::sync::Weak<Pool>,
        factory: Option<Arc<Factory>>,
    },
    /// Reap a killed stub.
    Reap(libc::pid_t),
}

fn reap(pid: libc::pid_t) {
    let mut st = 0;
    // SAFETY: reaps our own (killed) child with a live out-pointer.
    while unsafe { libc::waitpid(pid, &mut st, libc::__WALL) } < 0
        && Errno::last_host() == Errno::EINTR
    {}
}

/// Arguments for the child between `clone` and `execveat`; on the spawner
/// thread's stack while it is suspended (`CLONE_VFORK`).
struct ChildArgs {
    /// The sentry's pid: the stub's parent while the sentry lives.
    sentry: i32,
    memfd: i32,
    stub_fd: i32,
    ctx_fd: i32,
    pipe_w: i32,
}

extern "C" fn stub_child(arg: *mut libc::c_void) -> libc::c_int {
    // Runs in a CLONE_VM|CLONE_VFORK child of a multithreaded process: only
    // raw system calls, no allocation, no locks.
    // SAFETY: `arg` points at the spawner's ChildArgs, alive until we exec
    // or exit because the spawner is suspended by CLONE_VFORK.
    let a = unsafe { &*(arg as *const ChildArgs) };
    // SAFETY: plain system calls on integers and static strings; each
    // failure ends the child, which the parent observes.
    unsafe {
        let empty: libc::sigset_t = std::mem::zeroed();
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &empty as *const _,
            0usize,
            8usize,
        );
        libc::setsid();
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
        // A sentry that died before the line above sent no signal: the
        // stub would outlive it, orphaned.
        if libc::syscall(libc::SYS_getppid) != a.sentry as libc::c_long {
            libc::_exit(5);
        }
        // Move the context fd and the pipe to their fixed numbers (3..=5,
        // not the memory file's), via numbers above all of those so that
        // nothing we still need is clobbered (the stub fd included).
        let (ctx_num, pipe_num) = fixed_fds(a.memfd);
        let hi = a.memfd.max(5) + 1;
        let c = libc::fcntl(a.ctx_fd, libc::F_DUPFD, hi);
        let p = libc::fcntl(a.pipe_w, libc::F_DUPFD, hi);
        let stub = libc::fcntl(a.stub_fd, libc::F_DUPFD, hi);
        if c < 0
            || p < 0
            || stub < 0
            || libc::dup2(c, ctx_num as i32) < 0
            || libc::dup2(p, pipe_num as i32) < 0
        {
            libc::_exit(4);
        }
        // Everything else is closed on exec: 0..=5 but the three we keep,
        // and all above 5 except the memory file.
        let cloexec = libc::CLOSE_RANGE_CLOEXEC as libc::c_int;
        for fd in 0..=5u32 {
            if fd != ctx_num && fd != pipe_num && fd != a.memfd as u32 {
                libc::syscall(libc::SYS_close_range, fd, fd, cloexec);
            }
        }
        let m = a.memfd as u32;
        if m > 6 {
            libc::syscall(libc::SYS_close_range, 6u32, m - 1, cloexec);
        }
        libc::syscall(libc::SYS_close_range, m.max(5) + 1, u32::MAX, cloexec);
        libc::fcntl(a.memfd, libc::F_SETFD, 0);
        let argv: [*const libc::c_char; 1] = [std::ptr::null()];
        libc::syscall(
            libc::SYS_execveat,
            stub,
            c"".as_ptr(),
            argv.as_ptr(),
            argv.as_ptr(),
            libc::AT_EMPTY_PATH,
        );
        libc::_exit(3);
    }
}

fn spawn_now(args: &ChildArgs) -> Result<libc::pid_t, Errno> {
    let mut stack = vec![0u8; 64 * 1024];
    // SAFETY: the child runs `stub_child` on its own stack, sharing our
    // memory only until it execs (CLONE_VFORK suspends us until then).
    let pid = unsafe {
        let top = stack.as_mut_ptr().add(stack.len());
        libc::clone(
            stub_child,
            top.cast(),
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            args as *const ChildArgs as *mut libc::c_void,
        )
    };
    drop(stack);
    if pid < 0 {
        return Err(Errno::last_host());
    }
    Ok(pid)
}

/// Stubs are children of one long-lived thread, so that their
/// `PR_SET_PDEATHSIG` fires when the sentry dies, not when the task
/// thread that happened to create them ends.
fn spawner() -> &'static Mutex<mpsc::Sender<Job>> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();
    SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        let _ = std::thread::Builder::new()
            .name("trap-spawner".into())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    match job {
                        Job::Exec(args, reply) => {
                            let _ = reply.send(spawn_now(&args));
                        }
                        Job::Reap(pid) => reap(pid),
                        Job::Refill {
                            memfd,
                            stub,
                            fsgsbase,
                            pool,
                            factory,
                        } => {
                            let made = TrapProcess::spawn(
                                memfd,
                                stub.as_raw_fd(),
                                fsgsbase,
                                true,
                                factory.as_ref(),
                            )
                            .and_then(|p| p.wait_ready(0).map(|_| p));
                            if let Some(pool) = pool.upgrade() {
                                let mut ready =
                                    pool.ready.lock().unwrap_or_else(|e| e.into_inner());
                                if let Ok(p) = made {
                                    ready.push(p);
                                }
                                pool.refilling.store(false, Ordering::Release);
                                drop(ready);
                                pool.refilled.notify_all();
                            }
                        }
                    }
                }
            });
        Mutex::new(tx)
    })
}

// ---- processes, threads ----------------------------------------------

/// One stub process: its context area, the mm thread's channel, and the
/// slots in use. Killed and reaped when the last context goes away.
struct TrapProcess {
    pid: libc::pid_t,
    area: Area,
    /// The sentry's end of the completion pipe, and the request sequence.
    mm: Mutex<(OwnedFd, u32)>,
    /// Slots in use (index 0 is the mm thread's).
    slots: Mutex<Vec<bool>>,
    /// Threads whose application thread ended, parked in their handler
    /// for the next [`Context::new_thread`]: (slot, tid). Creating a stub
    /// thread (a clone by the mm thread plus its own seccomp filter) costs
    /// ~0.3 ms here; reusing one costs a hand-off.
    spares: Mutex<Vec<(usize, libc::pid_t)>>,
    /// One past the highest slot ever allocated.
    slot_top: std::sync::atomic::AtomicUsize,
    memfd: i32,
    fsgsbase: bool,
}

impl Drop for TrapProcess {
    fn drop(&mut self) {
        // SAFETY: kills our own child; the pid cannot have been recycled
        // because it has not been reaped before.
        unsafe { libc::kill(self.pid, libc::SIGKILL) };
        // Reaping waits for the whole process to be torn down: leave that
        // to the spawner thread.
        let sent = spawner()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(Job::Reap(self.pid))
            .is_ok();
        if !sent {
            reap(self.pid);
        }
    }
}

/// Prepares a slot's context page for a new thread.
fn init_slot(area: &Area, slot: usize, fsgsbase: bool) {
    let b = slot_base(slot);
    area.write_bytes(b, &[0u8; 1024]);
    let mut flags = 0;
    if fsgsbase {
        flags |= FLAG_FSGSBASE;
    }
    if std::arch::is_x86_feature_detected!("avx") {
        flags |= FLAG_XSAVE_AVX;
    }
    area.word(b + ST_FLAGS).store(flags, Ordering::Relaxed);
    area.write64(b + ST_SELF, b);
    area.write64(b + ST_FASTSTACK, b + SLOT_SIZE);
    // The thread start points gs at the slot.
    area.write64(b + ST_CURGS, b);
    area.write64(b + ST_GSBASE, b);
    area.word(b + ST_SPIN).store(SPIN_START, Ordering::Relaxed);
    area.word(b + ST_CTID).store(1, Ordering::Relaxed);
    // stack_t { ss_sp, ss_flags, ss_size }: the rest of the slot.
    area.write64(b + ST_STACKT, b + 0x1000);
    area.write64(b + ST_STACKT + 8, 0);
    area.write64(b + ST_STACKT + 16, SLOT_SIZE - 0x1000);
}

fn slot_base(slot: usize) -> u64 {
    CTX_BASE + slot as u64 * SLOT_SIZE
}

/// How long the sentry sleeps on a state word before checking that the
/// stub still lives.
const LIVENESS_TICK: Duration = Duration::from_millis(50);
/// An interrupt unanswered for this long means the application blocked
/// the interrupt signal: the thread is then parked by force (ptrace).
const FORCE_AFTER: Duration = Duration::from_millis(200);
/// Stub processes kept ready for new contexts.
const POOL_MAX: usize = 2;
/// Threads a stub process keeps parked for reuse.
const MAX_SPARES: usize = 4;
/// How long a new stub may take to set itself up.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// Spin iterations on each side before sleeping.
/// Spin budgets (iterations of `pause`, ~30 ns each here) adapt per
/// thread between these bounds: they grow while the other side answers
/// within the spin and shrink by a quarter when it had to sleep, so a thread whose
/// partner runs long (a blocking syscall, a compute loop) stops burning a
/// core that the partner may need.
const SPIN_MIN: u32 = 16;
/// How long the sentry spins for an mm-thread completion.
const MM_WAIT_SPIN: u32 = 1000;
const SPIN_MAX: u32 = 4000;
const SPIN_START: u32 = 1000;
/// The spin allowed while CPUs are shared ([`spin_cap`]): a fast answer
/// from a partner that has a CPU comes within it.
const SHARED_SPIN: u32 = 128;
/// How long [`Interrupter::quiet`] waits for a stub thread to sleep.
const QUIET_SPIN: u32 = 300;

/// The longest spin the CPUs allow now. Each task not asleep in a
/// syscall needs a CPU for its work, and a spinning pair holds two.
/// - None while more tasks are awake than there are CPUs (the CPUs are
///   crowded): spinning then keeps the very thread being waited for off
///   the CPUs (seen: 50-90 us for a new thread's first syscall while two
///   others spun).
/// - A short one ([`SHARED_SPIN`]) while more than half as many are: a
///   spinner may then hold the very CPU its partner waits for (seen: a
///   creating thread's stub spinning out 120 us while its sentry thread
///   queued behind the new thread's spinning pair); only an answer
///   already on its way is worth waiting for.
fn spin_cap() -> u32 {
    static CPUS: OnceLock<u32> = OnceLock::new();
    let cpus =
        *CPUS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get() as u32));
    let awake = waiter::awake_tasks();
    if awake > cpus {
        0
    } else if awake * 2 > cpus {
        SHARED_SPIN
    } else {
        u32::MAX
    }
}

/// Runs `wake` (which wakes thread `tid`) with `tid` kept off the
/// calling thread's CPU, then lets it run anywhere again (it stays where
/// it was woken). A new thread woken onto its creator's CPU queues
/// behind the creator, or preempts it, while another CPU may be idle
/// (seen: a run of thread create+join settling at ~100 us per thread
/// instead of ~45).
fn away_from_this_cpu(tid: libc::pid_t, wake: impl FnOnce()) {
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: sched_getcpu takes no arguments.
    let cpu = unsafe { libc::sched_getcpu() };
    // SAFETY: an all-zero cpu_set_t is a valid, empty set.
    let mut allowed: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: fills our cpu_set_t of the size passed.
    let got = unsafe { libc::sched_getaffinity(tid, size, &mut allowed) } == 0;
    let mut others = allowed;
    // SAFETY: bit operations on our set, `cpu` checked to be in range.
    let left = unsafe {
        if (0..libc::CPU_SETSIZE).contains(&cpu) {
            libc::CPU_CLR(cpu as usize, &mut others);
        }
        libc::CPU_COUNT(&others)
    };
    // SAFETY: reads our cpu_set_t of the size passed.
    if !got || left == 0 || unsafe { libc::sched_setaffinity(tid, size, &others) } != 0 {
        wake();
        return;
    }
    wake();
    // SAFETY: as above.
    unsafe { libc::sched_setaffinity(tid, size, &allowed) };
}

fn spin_adapt(budget: u32, answered_in_spin: bool) -> u32 {
    if answered_in_spin {
        budget.saturating_add(budget / 4 + 16).min(SPIN_MAX)
    } else {
        (budget - budget / 4).max(SPIN_MIN)
    }
}

impl TrapProcess {
    /// Starts a stub process, from `factory` if there is one, else by
    /// the spawner thread (`on_spawner` when called on it).
    fn spawn(
        memfd: i32,
        stub_fd: i32,
        fsgsbase: bool,
        on_spawner: bool,
        factory: Option<&Arc<Factory>>,
    ) -> Result<Arc<TrapProcess>, Errno> {
        let ctx = memfd_create(c"rvisor-trap-ctx")?;
        // SAFETY: sizes our own memfd.
        if unsafe { libc::ftruncate(ctx.as_raw_fd(), CTX_SIZE as libc::off_t) } != 0 {
            return Err(Errno::last_host());
        }
        let area = Area::new(ctx.as_raw_fd())?;
        let mut fds = [0i32; 2];
        // SAFETY: creates a pipe into a live array; checked.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(Errno::last_host());
        }
        // SAFETY: both fds were just created and are ours.
        let (pipe_r, pipe_w) =
            unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        let mut slots = vec![false; NSLOTS as usize];
        slots[0] = true;
        slots[1] = true;
        init_slot(&area, 1, fsgsbase);
        let args = ChildArgs {
            sentry: std::process::id() as i32,
            memfd,
            stub_fd,
            ctx_fd: ctx.as_raw_fd(),
            pipe_w: pipe_w.as_raw_fd(),
        };
        let (ctx_num, pipe_num) = fixed_fds(memfd);
        let pid = if let Some(f) = factory {
            f.spawn(
                &[
                    (memfd, memfd),
                    (args.ctx_fd, ctx_num as i32),
                    (args.pipe_w, pipe_num as i32),
                ],
                factory::SETSID,
            )?
        } else if on_spawner {
            spawn_now(&args)?
        } else {
            let (tx, rx) = mpsc::channel();
            spawner()
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .send(Job::Exec(args, tx))
                .map_err(|_| Errno::EAGAIN)?;
            rx.recv().map_err(|_| Errno::EAGAIN)??
        };
        drop(pipe_w);
        drop(ctx);
        Ok(Arc::new(TrapProcess {
            pid,
            area,
            mm: Mutex::new((pipe_r, 0)),
            slots: Mutex::new(slots),
            spares: Mutex::new(Vec::new()),
            slot_top: std::sync::atomic::AtomicUsize::new(2),
            memfd,
            fsgsbase,
        }))
    }

    fn alloc_slot(&self) -> Option<usize> {
        let mut s = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        let i = s.iter().position(|u| !u)?;
        s[i] = true;
        self.slot_top.fetch_max(i + 1, Ordering::Relaxed);
        Some(i)
    }

    /// Makes the process's other threads that wait for the sentry sleep
    /// instead of spinning: the CPUs are needed elsewhere.
    fn quiet_spinners(&self, except: usize) {
        for slot in 1..self.slot_top.load(Ordering::Relaxed).min(NSLOTS as usize) {
            let b = slot_base(slot);
            if slot != except
                && self.area.word(b + ST_STATE).load(Ordering::Relaxed) == 1
                && self.area.word(b + ST_SPIN).load(Ordering::Relaxed) != 0
            {
                self.area.word(b + ST_SPIN).store(0, Ordering::Relaxed);
            }
        }
    }

    fn free_slot(&self, slot: usize) {
        let mut s = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(u) = s.get_mut(slot) {
            *u = false;
        }
    }

    /// Whether the stub process has ended (without reaping it).
    fn exited(&self) -> bool {
        // SAFETY: waitid on our own child with a live out-struct; WNOWAIT
        // leaves it for the reaper in Drop.
        unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            let r = libc::waitid(
                libc::P_PID,
                self.pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT | libc::__WALL,
            );
            if r < 0 {
                // Not waitable (reaped elsewhere, or SIGCHLD ignored):
                // fall back to whether the pid still exists.
                return libc::kill(self.pid, 0) != 0;
            }
            // A ptrace stop of the leader (see force_park) is reported
            // here too: only an exit counts.
            info.si_pid() != 0
                && matches!(
                    info.si_code,
                    libc::CLD_EXITED | libc::CLD_KILLED | libc::CLD_DUMPED
                )
        }
    }

    /// Makes the mm thread execute one host call; returns its result.
    fn mm_call(&self, nr: i64, args: [u64; 6], aux: u64) -> Result<i64, Errno> {
        self.mm_batch(&[(nr, args, aux)])
    }

    /// Makes the mm thread execute up to [`REQ_MAX`] host calls in order,
    /// in one hand-off; it stops at the first failure. Returns the last
    /// result (the failure's, if any).
    fn mm_batch(&self, calls: &[(i64, [u64; 6], u64)]) -> Result<i64, Errno> {
        if calls.is_empty() || calls.len() as u64 > REQ_MAX {
            return Err(Errno::EINVAL);
        }
        let mut g = self.mm.lock().unwrap_or_else(|e| e.into_inner());
        let seq = g.1.wrapping_add(1);
        g.1 = seq;
        for (i, (nr, args, aux)) in calls.iter().enumerate() {
            let e = CTX_BASE + REQ_NR + REQ_ENTRY * i as u64;
            self.area.write64(e, *nr as u64);
            for (j, a) in args.iter().enumerate() {
                self.area.write64(e + 8 + 8 * j as u64, *a);
            }
            self.area.write64(e + 56, *aux);
        }
        self.area
            .word(CTX_BASE + REQ_COUNT)
            .store(calls.len() as u32, Ordering::Relaxed);
        let w = self.area.word(CTX_BASE + REQ_SEQ);
        w.store(seq, Ordering::SeqCst);
        futex_wake(w);
        // Spin on the mm thread's (forgeable) hint first; the pipe read
        // below is what counts, and it blocks until the real completion.
        let done = self.area.word(RESP_DONE);
        for _ in 0..MM_WAIT_SPIN {
            if done.load(Ordering::Acquire) == seq {
                break;
            }
            std::hint::spin_loop();
        }
        let mut buf = [0u8; 8];
        let mut got = 0;
        while got < 8 {
            // SAFETY: reads into a live buffer from our pipe end.
            let n = unsafe { libc::read(g.0.as_raw_fd(), buf[got..].as_mut_ptr().cast(), 8 - got) };
            if n == 0 {
                return Err(Errno::ESRCH);
            }
            if n < 0 {
                let e = Errno::last_host();
                if e == Errno::EINTR {
                    continue;
                }
                return Err(e);
            }
            got += n as usize;
        }
        Ok(i64::from_le_bytes(buf))
    }

    /// Waits until slot `slot`'s state word is no longer `from`. Err when
    /// the thread or process died.
    /// Ok(true) when the change came while spinning. With `stuck`, also
    /// returns `Err(ETIMEDOUT)` once `stuck` says an interrupt has gone
    /// unanswered for too long.
    fn wait_state(
        &self,
        slot: usize,
        from: u32,
        spin: u32,
        stuck: Option<&dyn Fn() -> bool>,
    ) -> Result<bool, Errno> {
        let b = slot_base(slot);
        let state = self.area.word(b + ST_STATE);
        for i in 0..spin {
            if state.load(Ordering::Acquire) != from {
                return Ok(true);
            }
            // Others started needing the CPUs: stop holding one.
            if i % 64 == 63 && i >= spin_cap() {
                break;
            }
            std::hint::spin_loop();
        }
        let waiting = self.area.word(b + ST_SENTRY_WAITING);
        loop {
            waiting.swap(1, Ordering::SeqCst);
            if state.load(Ordering::SeqCst) != from {
                waiting.store(0, Ordering::Relaxed);
                return Ok(false);
            }
            let t0 = Instant::now();
            futex_wait(state, from, LIVENESS_TICK);
            waiting.store(0, Ordering::Relaxed);
            if state.load(Ordering::Acquire) != from {
                return Ok(false);
            }
            if t0.elapsed() >= LIVENESS_TICK / 2 && !self.thread_alive(slot) {
                return Err(Errno::ESRCH);
            }
            if stuck.is_some_and(|f| f()) {
                return Err(Errno::ETIMEDOUT);
            }
        }
    }

    fn thread_alive(&self, slot: usize) -> bool {
        if self.exited() {
            return false;
        }
        slot == 1
            || self
                .area
                .word(slot_base(slot) + ST_CTID)
                .load(Ordering::Acquire)
                != 0
    }

    /// Keeps a parked non-leader thread (waiting in its handler) for
    /// reuse, if there is room.
    fn keep_spare(&self, slot: usize, tid: libc::pid_t) -> bool {
        let b = slot_base(slot);
        let parked = self.area.word(b + ST_STATE).load(Ordering::Acquire) == 1;
        let mut spares = self.spares.lock().unwrap_or_else(|e| e.into_inner());
        if !parked || spares.len() >= MAX_SPARES || !self.thread_alive(slot) {
            return false;
        }
        // It may be spinning for an answer that will not come soon.
        self.area.word(b + ST_SPIN).store(0, Ordering::Relaxed);
        spares.push((slot, tid));
        true
    }

    /// A spare thread, ready to be attached as a new one.
    fn take_spare(&self) -> Option<(usize, libc::pid_t)> {
        loop {
            let (slot, tid) = self
                .spares
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .pop()?;
            if self.thread_alive(slot) {
                let b = slot_base(slot);
                self.area.word(b + ST_FPDIRTY).store(0, Ordering::Relaxed);
                self.area.word(b + ST_SLOW).store(0, Ordering::Relaxed);
                return Some((slot, tid));
            }
            self.free_slot(slot);
        }
    }

    /// Makes a parked non-leader thread exit and frees its slot once the
    /// host kernel has cleared its tid word (bounded wait; the slot leaks
    /// if the thread does not go).
    fn retire(&self, slot: usize) {
        let b = slot_base(slot);
        self.area
            .word(b + ST_STATE)
            .swap(STATE_EXIT, Ordering::SeqCst);
        if self.area.word(b + ST_STUB_WAITING).load(Ordering::SeqCst) != 0 {
            futex_wake(self.area.word(b + ST_STATE));
        }
        let ctid = self.area.word(b + ST_CTID);
        let deadline = Instant::now() + Duration::from_secs(1);
        loop {
            let v = ctid.load(Ordering::Acquire);
            if v == 0 {
                break;
            }
            if Instant::now() > deadline || self.exited() {
                return;
            }
            futex_wait(ctid, v, Duration::from_millis(10));
        }
        self.free_slot(slot);
    }

    /// Waits (at most [`READY_TIMEOUT`]) for the leader's first event:
    /// `spin` when someone waits for it, 0 in the background.
    fn wait_ready(&self, spin: u32) -> Result<(), Errno> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let late = || Instant::now() > deadline;
        self.wait_state(1, 0, spin, Some(&late)).map(|_| ())
    }

    fn leader_context(self: Arc<Self>) -> Result<TrapContext, Errno> {
        // The leader parks in its handler: that is its first event.
        self.wait_ready(20000)?;
        let pid = self.pid;
        Ok(TrapContext::new(self, 1, pid, true))
    }
}

/// Shared between a stub thread's context and its interrupters.
struct ThreadState {
    pid: libc::pid_t,
    tid: libc::pid_t,
    /// Cleared (under the lock) before the thread goes away, so an
    /// interrupt never signals a recycled id.
    alive: Mutex<bool>,
    /// When the oldest unanswered interrupt was sent ([`now_ns`]), or 0.
    interrupt_at: std::sync::atomic::AtomicU64,
    /// The thread's process and slot, to cut its spin short.
    process: std::sync::Weak<TrapProcess>,
    slot: usize,
}

/// Nanoseconds since the first call, never 0.
fn now_ns() -> u64 {
    static BASE: OnceLock<Instant> = OnceLock::new();
    BASE.get_or_init(Instant::now).elapsed().as_nanos() as u64 + 1
}

impl Interrupter for ThreadState {
    fn interrupt(&self) {
        let alive = self.alive.lock().unwrap_or_else(|p| p.into_inner());
        if *alive {
            let _ = self.interrupt_at.compare_exchange(
                0,
                now_ns(),
                Ordering::AcqRel,
                Ordering::Relaxed,
            );
            // SAFETY: signals a thread of our own child, known alive under
            // the lock.
            unsafe {
                libc::syscall(libc::SYS_tgkill, self.pid, self.tid, INTERRUPT_SIGNAL);
            }
        }
    }

    /// A stub thread spinning for the answer to a syscall that blocks
    /// holds a CPU others need: a zero budget makes it sleep at once.
    fn blocking(&self) {
        if let Some(p) = self.process.upgrade() {
            p.area
                .word(slot_base(self.slot) + ST_SPIN)
                .store(0, Ordering::Relaxed);
        }
    }

    fn quiet(&self) {
        let Some(p) = self.process.upgrade() else {
            return;
        };
        let b = slot_base(self.slot);
        p.area.word(b + ST_SPIN).store(0, Ordering::Relaxed);
        let state = p.area.word(b + ST_STATE);
        let asleep = p.area.word(b + ST_STUB_WAITING);
        // The stub re-reads its budget on every round of its spin.
        for _ in 0..QUIET_SPIN {
            if asleep.load(Ordering::Acquire) != 0 || state.load(Ordering::Acquire) != 1 {
                return;
            }
            std::hint::spin_loop();
        }
    }

    /// Wakes a stub thread asleep for an answer with a spin budget, so
    /// that its wake-up overlaps the task's own.
    fn prewake(&self) {
        if let Some(p) = self.process.upgrade() {
            let b = slot_base(self.slot);
            if p.area.word(b + ST_STUB_WAITING).load(Ordering::Acquire) != 0 {
                p.area
                    .word(b + ST_SPIN)
                    .store(SPIN_START, Ordering::Relaxed);
                futex_wake(p.area.word(b + ST_STATE));
            }
        }
    }
}

/// A new stub thread (process, slot, tid), parked in its handler, not yet
/// attached. Dropped unattached, the thread exits.
struct TrapSeed(Option<(Arc<TrapProcess>, usize, libc::pid_t)>);

impl Drop for TrapSeed {
    fn drop(&mut self) {
        if let Some((process, slot, _)) = self.0.take() {
            process.retire(slot);
        }
    }
}

/// One application thread of a stub process.
pub struct TrapContext {
    process: Arc<TrapProcess>,
    state: Arc<ThreadState>,
    slot: usize,
    leader: bool,
    dead: bool,
    sentry_spin: u32,
    stub_spin: u32,
    /// Syscall patching is offered (see [`TrapPlatform::with_syscall_patching`]).
    patching: bool,
    /// The last event came through the fast path: the thread waits there,
    /// not in its signal handler.
    via_fast: bool,
    /// Where a leader's stub process goes when its process ends.
    pool: std::sync::Weak<Pool>,
    /// Already running ([`Platform::start_thread`]): the next switch only
    /// waits for its event.
    started: bool,
}

impl TrapContext {
    fn new(process: Arc<TrapProcess>, slot: usize, tid: libc::pid_t, leader: bool) -> TrapContext {
        let state = Arc::new(ThreadState {
            pid: process.pid,
            tid,
            alive: Mutex::new(true),
            interrupt_at: Default::default(),
            process: Arc::downgrade(&process),
            slot,
        });
        TrapContext {
            process,
            state,
            slot,
            leader,
            dead: false,
            sentry_spin: SPIN_START,
            stub_spin: SPIN_START,
            patching: false,
            via_fast: false,
            pool: std::sync::Weak::new(),
            started: false,
        }
    }

    fn base(&self) -> u64 {
        slot_base(self.slot)
    }

    fn area(&self) -> &Area {
        &self.process.area
    }

    fn write_regs(&self, r: &PtRegs) {
        let b = self.base() + ST_SIGCTX;
        // Only the selectors the kernel accepts for user mode; anything
        // else would make rt_sigreturn fail.
        let cs = if r.cs == 0x23 {
            0x23
        } else {
            abi::regs::USER_CS
        };
        let ss = abi::regs::USER_SS;
        let sc: [u64; 19] = [
            r.r8,
            r.r9,
            r.r10,
            r.r11,
            r.r12,
            r.r13,
            r.r14,
            r.r15,
            r.rdi,
            r.rsi,
            r.rbp,
            r.rbx,
            r.rdx,
            r.rax,
            r.rcx,
            r.rsp,
            r.rip,
            r.eflags,
            cs | (ss << 48),
        ];
        for (i, v) in sc.iter().enumerate() {
            self.area().write64(b + 8 * i as u64, *v);
        }
        self.area().write64(self.base() + ST_FSBASE, r.fs_base);
        self.area()
            .write64(self.base() + ST_GSBASE, self.host_gs_base(r.gs_base));
    }

    /// The host gs base for an application gs base: the slot while the
    /// application has none (the fast path finds its slot through gs).
    fn host_gs_base(&self, app: u64) -> u64 {
        if app == 0 {
            self.base()
        } else {
            app
        }
    }

    fn app_gs_base(&self, host: u64) -> u64 {
        if host == self.base() {
            0
        } else {
            host
        }
    }

    fn read_regs(&self) -> PtRegs {
        let b = self.base() + ST_SIGCTX;
        let g = |i: u64| self.area().read64(b + 8 * i);
        let seg = g(18);
        PtRegs {
            r8: g(0),
            r9: g(1),
            r10: g(2),
            r11: g(3),
            r12: g(4),
            r13: g(5),
            r14: g(6),
            r15: g(7),
            rdi: g(8),
            rsi: g(9),
            rbp: g(10),
            rbx: g(11),
            rdx: g(12),
            rax: g(13),
            rcx: g(14),
            rsp: g(15),
            rip: g(16),
            eflags: g(17),
            cs: seg & 0xffff,
            ss: (seg >> 48) & 0xffff,
            orig_rax: u64::MAX,
            fs_base: self.area().read64(self.base() + ST_FSBASE),
            gs_base: self.app_gs_base(self.area().read64(self.base() + ST_GSBASE)),
            ..Default::default()
        }
    }

    /// The last siginfo the stub saved (the one of the last event that
    /// was a host signal).
    fn siginfo(&self) -> SigInfo {
        let mut b = [0u8; 128];
        self.area().read_bytes(self.base() + ST_SIGINFO, &mut b);
        let w = |i: usize| i32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let mut info = SigInfo {
            signo: w(0),
            errno: w(4),
            code: w(8),
            _pad: w(12),
            fields: [0; 14],
        };
        for (i, f) in info.fields.iter_mut().enumerate() {
            let o = 16 + 8 * i;
            let mut q = [0u8; 8];
            q.copy_from_slice(&b[o..o + 8]);
            *f = u64::from_le_bytes(q);
        }
        info
    }

    fn event(&mut self, regs: &mut PtRegs) -> Event {
        *regs = self.read_regs();
        self.via_fast = self
            .area()
            .word(self.base() + ST_VIA_FAST)
            .load(Ordering::Acquire)
            != 0;
        let info = self.siginfo();
        let signo = self
            .area()
            .word(self.base() + ST_SIGNO)
            .load(Ordering::Relaxed) as i32;
        if signo == libc::SIGSYS && info.code == SYS_SECCOMP {
            regs.orig_rax = regs.rax;
            regs.rax = ENOSYS_RET;
            return Event::Syscall;
        }
        // `uretprobe` (335) bypasses seccomp on Linux >= 6.11; called from
        // anywhere but the host's uretprobe trampoline it raises SIGILL
        // (SI_KERNEL) with rax = -1 instead of running. Report it as the
        // syscall the application made.
        if signo == libc::SIGILL && info.code == SI_KERNEL && regs.rax == u64::MAX {
            regs.orig_rax = SYS_URETPROBE;
            regs.rax = ENOSYS_RET;
            return Event::Syscall;
        }
        // Sent by a host process (si_code <= 0), or our interrupt.
        if info.code <= 0 || signo == INTERRUPT_SIGNAL {
            return Event::Interrupted;
        }
        match signo {
            libc::SIGSEGV | libc::SIGBUS => Event::Fault {
                signo,
                code: info.code,
                addr: info.fault_addr(),
                // The frame's `err` (word 19 of the sigcontext): bit 1 is
                // the x86 page-fault error code's W/R bit.
                write: Some(self.area().read64(self.base() + ST_SIGCTX + 8 * SIGCTX_ERR) & 2 != 0),
            },
            libc::SIGTRAP | libc::SIGFPE | libc::SIGILL => Event::Signal(info),
            _ => Event::Interrupted,
        }
    }

    /// Tells the parked thread to go on, and sets the stub's spin budget
    /// for its next wait (at most `cap`, see [`spin_cap`]).
    /// Returns whether the thread was asleep (and had to be woken).
    fn resume(&mut self, cap: u32) -> bool {
        let b = self.base();
        // The budget goes in before the thread may run: it can trap again
        // at once, and a budget written late would cut that wait short.
        let spin = self.stub_spin.min(cap);
        // A zero budget now means the thread was told not to wait eagerly
        // (the task blocked, or CPUs were crowded): its sleep says nothing
        // about how long an answer takes.
        let told_to_sleep = self.area().word(b + ST_SPIN).swap(spin, Ordering::Relaxed) == 0;
        self.area()
            .word(b + ST_STATE)
            .swap(STATE_RESUME, Ordering::SeqCst);
        let slept = self.area().word(b + ST_STUB_WAITING).load(Ordering::SeqCst) != 0;
        if slept {
            futex_wake(self.area().word(b + ST_STATE));
        }
        // Budgets learn from uncrowded hand-offs only.
        if self.stub_spin <= cap && !told_to_sleep {
            self.stub_spin = spin_adapt(self.stub_spin, !slept);
        }
        slept
    }

    fn unmap_range(&mut self, addr: u64, len: u64) -> Result<(), Errno> {
        self.unmap_ranges(&[(addr, len)])
    }

    /// Unmaps the ranges, cut around the stub's reserved area, batched.
    fn unmap_ranges(&mut self, ranges: &[(u64, u64)]) -> Result<(), Errno> {
        let mut calls = Vec::new();
        for &(addr, len) in ranges {
            let end = addr.saturating_add(len).min(HOST_TASK_SIZE);
            let pieces = [(addr, end.min(STUB_BASE)), (addr.max(RESERVED_END), end)];
            for p in pieces {
                if p.0 < p.1 {
                    calls.push((libc::SYS_munmap, [p.0, p.1 - p.0, 0, 0, 0, 0], 0));
                }
            }
        }
        for chunk in calls.chunks(REQ_MAX as usize) {
            let r = self.process.mm_batch(chunk)?;
            if r < 0 {
                return Err(Errno(-r as i32));
            }
        }
        Ok(())
    }
}

impl TrapContext {
    /// Whether resuming with `regs` needs the handler's `rt_sigreturn`:
    /// the fast path loads general registers and flags only, with the
    /// thread's gs pointing at its slot.
    fn needs_handler(&self, regs: &PtRegs) -> bool {
        let b = self.base();
        self.area().word(b + ST_FPDIRTY).load(Ordering::Acquire) != 0
            || regs.eflags & abi::regs::EFLAGS_TF != 0
            || regs.cs != abi::regs::USER_CS
            || regs.ss != abi::regs::USER_SS
            || self.host_gs_base(regs.gs_base) != self.area().read64(b + ST_CURGS)
    }

    /// Moves a thread waiting in the fast path into its signal handler:
    /// it traps from the park site, and that event is dropped. FP state
    /// the sentry set survives the handler's saving of the live one.
    fn move_to_handler(&mut self) -> Result<(), Errno> {
        let b = self.base();
        let dirty = self.area().word(b + ST_FPDIRTY).load(Ordering::Acquire) != 0;
        let mut fp = [0u8; FP_XSAVE_SIZE];
        if dirty {
            self.area().read_bytes(b + ST_FP, &mut fp);
        }
        self.area().word(b + ST_SLOW).store(1, Ordering::Release);
        self.resume(spin_cap());
        let deadline = Instant::now() + READY_TIMEOUT;
        let late = || Instant::now() > deadline;
        let r = self
            .process
            .wait_state(self.slot, STATE_RESUME, self.sentry_spin, Some(&late));
        self.area().word(b + ST_SLOW).store(0, Ordering::Release);
        self.via_fast = false;
        if dirty {
            self.area().write_bytes(b + ST_FP, &fp);
            self.area().word(b + ST_FPDIRTY).store(1, Ordering::Release);
        }
        r.map(|_| ())
    }

    /// Empties the stub process of an ended process for the next one: the
    /// leader waits in its handler (which resets its signal mask and
    /// stack on the next resume), with the initial FP state, and nothing
    /// of the old address space is mapped. Its other threads stay spares.
    /// The application could not have changed anything else of the stub:
    /// its filters allow no call that would.
    fn recycle(&mut self) -> bool {
        if self.process.exited() || (self.via_fast && self.move_to_handler().is_err()) {
            return false;
        }
        let b = self.base();
        if self.area().word(b + ST_STATE).load(Ordering::Acquire) != 1 {
            return false;
        }
        if self.unmap_all().is_err() || self.set_fp_state(&FpState::default()).is_err() {
            return false;
        }
        self.area().word(b + ST_SLOW).store(0, Ordering::Relaxed);
        true
    }
}

/// What [`TrapContext::force_park`] found.
enum Park {
    /// The thread ran application code; it now enters its handler from the
    /// park site, with these application registers.
    Parked(Box<PtRegs>),
    /// It was inside stub code.
    InStub,
    /// It was about to take a signal or had just posted an event.
    Busy,
}

impl TrapContext {
    /// The fallback for a thread that does not answer interrupts (the
    /// application blocked the interrupt signal with a crafted
    /// `rt_sigreturn`): stop it with ptrace, move it to the park site with
    /// an empty signal mask, and let it go. It then enters its handler
    /// like a freshly started thread.
    fn force_park(&self) -> Result<Park, Errno> {
        let tid = self.state.tid;
        ptrace_raw(libc::PTRACE_SEIZE, tid, 0, 0)?;
        let r = self.force_park_seized(tid);
        let sig = match r {
            Err(Errno(sig)) if sig < 0 => -sig as usize,
            _ => 0,
        };
        let _ = ptrace_raw(libc::PTRACE_DETACH, tid, 0, sig);
        match r {
            Err(Errno(sig)) if sig < 0 => Ok(Park::Busy),
            r => r,
        }
    }

    /// Err(Errno(-sig)): stopped for the delivery of `sig`, which must be
    /// handed back on detach.
    fn force_park_seized(&self, tid: libc::pid_t) -> Result<Park, Errno> {
        ptrace_raw(libc::PTRACE_INTERRUPT, tid, 0, 0)?;
        let st = loop {
            let mut st = 0;
            // SAFETY: waits for our tracee with a live out-pointer.
            let r = unsafe { libc::waitpid(tid, &mut st, libc::__WALL) };
            if r == tid {
                break st;
            }
            if Errno::last_host() != Errno::EINTR {
                return Err(Errno::last_host());
            }
        };
        if !libc::WIFSTOPPED(st) {
            return Err(Errno::ESRCH);
        }
        if st >> 16 != libc::PTRACE_EVENT_STOP {
            // A signal-delivery stop (a fault or syscall trap racing with
            // us): give the signal back, the handler will report it.
            return Err(Errno(-libc::WSTOPSIG(st)));
        }
        let mut r = PtRegs::default();
        ptrace_raw(libc::PTRACE_GETREGS, tid, 0, &mut r as *mut PtRegs as usize)?;
        let state = self.area().word(self.base() + ST_STATE);
        if state.load(Ordering::Acquire) != STATE_RESUME {
            return Ok(Park::Busy);
        }
        if (STUB_BASE..STUB_BASE + STUB_SIZE).contains(&r.rip) {
            return Ok(Park::InStub);
        }
        let mut p = r;
        p.rip = stub::park_site();
        p.orig_rax = u64::MAX;
        ptrace_raw(libc::PTRACE_SETREGS, tid, 0, &p as *const PtRegs as usize)?;
        let empty = 0u64;
        ptrace_raw(PTRACE_SETSIGMASK, tid, 8, &empty as *const u64 as usize)?;
        r.gs_base = self.app_gs_base(r.gs_base);
        Ok(Park::Parked(Box::new(r)))
    }
}

const PTRACE_SETSIGMASK: libc::c_uint = 0x420b;

fn ptrace_raw(req: libc::c_uint, pid: libc::pid_t, addr: usize, data: usize) -> Result<i64, Errno> {
    // SAFETY: ptrace requests on a thread of our own stub; callers pass
    // pointers to live, correctly sized buffers for GET/SET requests.
    let r = unsafe { libc::ptrace(req, pid, addr, data) };
    if r < 0 {
        Err(Errno::last_host())
    } else {
        Ok(r)
    }
}

impl AddressSpace for TrapContext {
    fn map_file(&mut self, addr: u64, len: u64, file_offset: u64, prot: u32) -> Result<(), Errno> {
        self.map_files(&[(addr, len, file_offset, prot)])
    }

    fn map_files(&mut self, maps: &[(u64, u64, u64, u32)]) -> Result<(), Errno> {
        let mut calls = Vec::with_capacity(maps.len().min(REQ_MAX as usize));
        for chunk in maps.chunks(REQ_MAX as usize) {
            calls.clear();
            for &(addr, len, file_offset, prot) in chunk {
                let end = addr.checked_add(len).ok_or(Errno::EINVAL)?;
                if end > STUB_BASE && addr < RESERVED_END {
                    return Err(Errno::EINVAL);
                }
                let (prot, flags) = crate::map_flags(prot);
                let args = [
                    addr,
                    len,
                    prot as u64,
                    flags as u64,
                    self.process.memfd as u64,
                    file_offset,
                ];
                calls.push((libc::SYS_mmap, args, 0));
            }
            let r = self.process.mm_batch(&calls)?;
            if r < 0 && r > -4096 {
                return Err(Errno(-r as i32));
            }
        }
        Ok(())
    }

    fn unmap(&mut self, addr: u64, len: u64) -> Result<(), Errno> {
        self.unmap_range(addr, len)
    }

    fn unmap_many(&mut self, ranges: &[(u64, u64)]) -> Result<(), Errno> {
        self.unmap_ranges(ranges)
    }

    fn unmap_all(&mut self) -> Result<(), Errno> {
        self.unmap_range(0, HOST_TASK_SIZE)
    }
}

impl Context for TrapContext {
    fn switch(&mut self, regs: &mut PtRegs) -> Event {
        if self.dead {
            return Event::Died;
        }
        // An interrupt sent while the thread was parked is delivered as
        // soon as it runs: the deadline starts now.
        if self.via_fast && self.needs_handler(regs) && self.move_to_handler().is_err() {
            self.dead = true;
            return Event::Died;
        }
        let thread = self.state.clone();
        let ia = &thread.interrupt_at;
        if ia.load(Ordering::Acquire) != 0 {
            ia.store(now_ns(), Ordering::Release);
        }
        // Read once: the CPUs' state as this hand-off begins.
        let cap = spin_cap();
        let crowded = cap == 0;
        // A thread started by its creator may not have a CPU yet (its
        // creator's stub and thread hold them): spinning for its first
        // event would keep it waiting.
        let started = std::mem::take(&mut self.started);
        // A thread that had to be woken first takes a host wake-up longer
        // to answer: a wait that outlasts the spin then says nothing
        // about the application's pace.
        let mut woken = false;
        if !started {
            self.write_regs(regs);
            if crowded {
                self.process.quiet_spinners(self.slot);
            }
            woken = self.resume(cap);
        }
        let mut forced: Option<PtRegs> = None;
        let mut suspicious = false;
        loop {
            let stuck = || {
                let at = ia.load(Ordering::Acquire);
                at != 0 && now_ns().saturating_sub(at) >= FORCE_AFTER.as_nanos() as u64
            };
            let spin = if forced.is_some() || crowded || started {
                0
            } else {
                self.sentry_spin.min(cap)
            };
            match self
                .process
                .wait_state(self.slot, STATE_RESUME, spin, Some(&stuck))
            {
                Ok(in_spin) => {
                    if spin > 0 && spin == self.sentry_spin && (in_spin || !woken) {
                        self.sentry_spin = spin_adapt(self.sentry_spin, in_spin);
                    }
                    break;
                }
                Err(Errno::ETIMEDOUT) if forced.is_none() => match self.force_park() {
                    Ok(Park::Parked(app)) => forced = Some(*app),
                    // Inside stub code with no event for a whole round:
                    // not the handler (it never takes that long), so the
                    // application is using the stub against us.
                    Ok(Park::InStub) if suspicious => {
                        self.dead = true;
                        return Event::Died;
                    }
                    Ok(Park::InStub) => {
                        suspicious = true;
                        ia.store(now_ns(), Ordering::Release);
                    }
                    Ok(Park::Busy) | Err(_) => ia.store(now_ns(), Ordering::Release),
                },
                Err(Errno::ETIMEDOUT) => ia.store(now_ns(), Ordering::Release),
                Err(_) => {
                    self.dead = true;
                    return Event::Died;
                }
            }
        }
        ia.store(0, Ordering::Release);
        let ev = self.event(regs);
        if let Some(app) = forced {
            // Whatever the parked thread reported (the park site's trap, or
            // the interrupt now unblocked), the application was stopped at
            // `app`.
            *regs = app;
            regs.orig_rax = u64::MAX;
            return Event::Interrupted;
        }
        ev
    }

    fn fp_state(&mut self) -> Result<FpState, Errno> {
        // The stub copied the host frame's XSAVE prefix (or only the
        // legacy area, on a host without XSAVE frames).
        let mut buf = [0u8; FP_XSAVE_SIZE];
        self.area().read_bytes(self.base() + ST_FP, &mut buf);
        let xsave =
            u32::from_le_bytes([buf[464], buf[465], buf[466], buf[467]]) == FP_XSTATE_MAGIC1;
        let len = if xsave { FP_XSAVE_SIZE } else { FP_LEGACY_SIZE };
        Ok(FpState::from_xsave(&buf[..len]))
    }

    fn set_fp_state(&mut self, fp: &FpState) -> Result<(), Errno> {
        let mut v = *fp;
        // MXCSR: only bits this CPU accepts, or rt_sigreturn fails.
        v.sanitize_mxcsr(crate::fpu::mxcsr_mask());
        // The stub copies back the legacy area without its software-
        // reserved tail, and the AVX component when the frame has one.
        self.area()
            .write_bytes(self.base() + ST_FP, &v.0[..FP_SW_BYTES]);
        self.area().write_bytes(
            self.base() + ST_FP + FP_YMM_HI as u64,
            &v.0[FP_YMM_HI..FP_XSAVE_SIZE],
        );
        self.area()
            .word(self.base() + ST_FPDIRTY)
            .store(1, Ordering::Release);
        Ok(())
    }

    fn interrupter(&self) -> Arc<dyn Interrupter> {
        self.state.clone()
    }

    fn syscall_patch_target(&self) -> Option<u64> {
        (self.patching && !self.via_fast).then(stub::fast_entry)
    }

    fn syscall_from_vsyscall(&self) -> bool {
        // The host's seccomp trap reports an emulated vsyscall with
        // `si_call_addr` (the first field) inside the vsyscall page, where
        // a real `syscall` instruction can never be.
        !self.via_fast && (VSYSCALL_PAGE..VSYSCALL_PAGE + 4096).contains(&self.siginfo().fields[0])
    }

    fn new_thread(&mut self) -> Result<ThreadSeed, Errno> {
        let p = &self.process;
        if let Some((slot, tid)) = p.take_spare() {
            return Ok(ThreadSeed(Box::new(TrapSeed(Some((p.clone(), slot, tid))))));
        }
        let slot = p.alloc_slot().ok_or(Errno::EAGAIN)?;
        init_slot(&p.area, slot, p.fsgsbase);
        let b = slot_base(slot);
        let tid = match p.mm_call(libc::SYS_clone, [THREAD_FLAGS, 0, 0, b + ST_CTID, 0, 0], b) {
            Ok(t) if t > 0 => t as libc::pid_t,
            Ok(e) => {
                p.free_slot(slot);
                return Err(Errno((-e) as i32));
            }
            Err(e) => {
                p.free_slot(slot);
                return Err(e);
            }
        };
        p.wait_state(slot, 0, 0, None)?;
        Ok(ThreadSeed(Box::new(TrapSeed(Some((p.clone(), slot, tid))))))
    }
}

impl Drop for TrapContext {
    fn drop(&mut self) {
        *self.state.alive.lock().unwrap_or_else(|p| p.into_inner()) = false;
        if self.leader && !self.dead && Arc::strong_count(&self.process) == 1 {
            // The process ended: its stub can serve the next one.
            if let Some(pool) = self.pool.upgrade() {
                let room =
                    |p: &Pool| p.ready.lock().unwrap_or_else(|e| e.into_inner()).len() < POOL_MAX;
                // Emptying takes mm-thread round trips: not under the lock.
                if room(&pool) && self.recycle() {
                    let mut ready = pool.ready.lock().unwrap_or_else(|e| e.into_inner());
                    if ready.len() < POOL_MAX {
                        ready.push(self.process.clone());
                    }
                }
            }
            return;
        }
        if Arc::strong_count(&self.process) == 1 || self.leader || self.dead {
            // The last thread takes the process with it; the leader stays
            // parked until the group ends.
            return;
        }
        // A thread waiting in its handler can serve the process's next
        // new thread.
        let in_handler = !self.via_fast || self.move_to_handler().is_ok();
        if !(in_handler && self.process.keep_spare(self.slot, self.state.tid)) {
            self.process.retire(self.slot);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi::signal::{SEGV_MAPERR, SIGSEGV};

    /// A memory file holding `code` at offset 0.
    fn memfd_with(code: &[u8]) -> i32 {
        // SAFETY: test-only memfd; results checked.
        unsafe {
            let fd = libc::memfd_create(c"t".as_ptr(), libc::MFD_CLOEXEC);
            assert!(fd >= 0);
            assert_eq!(libc::ftruncate(fd, 0x10000), 0);
            assert_eq!(
                libc::pwrite(fd, code.as_ptr().cast(), code.len(), 0),
                code.len() as isize
            );
            fd
        }
    }

    fn close(fd: i32) {
        // SAFETY: closes a test memfd.
        unsafe { libc::close(fd) };
    }

    const RX: u32 = (libc::PROT_READ | libc::PROT_EXEC) as u32;

    fn regs_at(rip: u64) -> PtRegs {
        PtRegs {
            rip,
            cs: 0x33,
            ss: 0x2b,
            eflags: 0x202,
            ..Default::default()
        }
    }

    fn context(memfd: i32) -> (Arc<TrapPlatform>, Box<dyn Context>) {
        let p = Arc::new(TrapPlatform::new(memfd).unwrap());
        let mut ctx = p.new_context().unwrap();
        ctx.map_file(0x400000, 0x10000, 0, RX).unwrap();
        (p, ctx)
    }

    #[test]
    fn image_fits_and_filters_end_in_trap() {
        let img = stub::image(5).unwrap();
        assert_eq!(img.len() as u64, STUB_SIZE);
        for f in [stub::base_filter(5), stub::app_filter()] {
            assert_eq!(f.len() % 8, 0);
            assert!(f.len() / 8 < 256);
            // Last instruction: RET TRAP.
            assert_eq!(&f[f.len() - 8..f.len() - 6], &[0x06, 0]);
        }
    }

    /// Mapped code's syscalls come back as events with number and
    /// arguments, results go into rax, and faults carry the address.
    #[test]
    fn runs_mapped_code_and_traps_syscalls() {
        // mov eax, 39; syscall; mov rdi, rax; mov eax, 60; syscall
        let memfd = memfd_with(&[
            0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0x48, 0x89, 0xc7, 0xb8, 60, 0, 0, 0, 0x0f, 0x05,
        ]);
        let (_p, mut ctx) = context(memfd);
        let mut regs = regs_at(0x400000);
        assert!(matches!(ctx.switch(&mut regs), Event::Syscall));
        assert_eq!(regs.orig_rax, 39);
        assert_eq!(regs.rip, 0x400007);
        assert_eq!(regs.rax, ENOSYS_RET);
        regs.rax = 4242;
        assert!(matches!(ctx.switch(&mut regs), Event::Syscall));
        assert_eq!(regs.orig_rax, 60);
        assert_eq!(regs.rdi, 4242);
        regs.rip = 0x1234000;
        match ctx.switch(&mut regs) {
            Event::Fault {
                signo, code, addr, ..
            } => {
                assert_eq!(signo, SIGSEGV);
                assert_eq!(code, SEGV_MAPERR);
                assert_eq!(addr, 0x1234000);
            }
            e => panic!("unexpected {e:?}"),
        }
        // A data fault, then the mapping appears and the access succeeds.
        // mov rax, [0x600000]; mov eax, 39; syscall
        let code: &[u8] = &[
            0x48, 0x8b, 0x04, 0x25, 0, 0, 0x60, 0, 0xb8, 39, 0, 0, 0, 0x0f, 0x05,
        ];
        // SAFETY: writes test code into the test memfd.
        unsafe { libc::pwrite(memfd, code.as_ptr().cast(), code.len(), 0x100) };
        regs.rip = 0x400100;
        match ctx.switch(&mut regs) {
            Event::Fault { addr, code, .. } => {
                assert_eq!(addr, 0x600000);
                assert_eq!(code, SEGV_MAPERR);
            }
            e => panic!("unexpected {e:?}"),
        }
        ctx.map_file(0x600000, 0x1000, 0, libc::PROT_READ as u32)
            .unwrap();
        assert!(matches!(ctx.switch(&mut regs), Event::Syscall));
        assert_eq!(regs.orig_rax, 39);
        assert_eq!(regs.rax, ENOSYS_RET);
        ctx.unmap(0x600000, 0x1000).unwrap();
        regs.rip = 0x400100;
        assert!(matches!(ctx.switch(&mut regs), Event::Fault { .. }));
        close(memfd);
    }

    /// Spinning is free while at most half as many tasks as CPUs are
    /// awake, short up to as many, and off beyond.
    #[test]
    fn spin_cap_follows_awake_tasks() {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
        let mut awake = Vec::new();
        for n in 1..=cpus + 1 {
            awake.push(waiter::TaskRunning::start());
            let want = if n > cpus {
                0
            } else if n * 2 > cpus {
                SHARED_SPIN
            } else {
                u32::MAX
            };
            assert_eq!(spin_cap(), want, "{n} awake on {cpus} CPUs");
        }
    }

    /// A thread woken through `away_from_this_cpu` may not run on the
    /// caller's CPU while it is woken, and may run anywhere afterwards.
    #[test]
    fn a_thread_is_woken_away_from_this_cpu() {
        let affinity = |tid: libc::pid_t| {
            // SAFETY: test-only; fills a zeroed cpu_set_t of the size passed.
            unsafe {
                let mut set: libc::cpu_set_t = std::mem::zeroed();
                let r =
                    libc::sched_getaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &mut set);
                assert_eq!(r, 0);
                (0..libc::CPU_SETSIZE as usize)
                    .filter(|&c| libc::CPU_ISSET(c, &set))
                    .collect::<Vec<_>>()
            }
        };
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let (tid_tx, tid_rx) = std::sync::mpsc::channel();
        let t = std::thread::spawn(move || {
            // SAFETY: gettid takes no arguments.
            tid_tx.send(unsafe { libc::gettid() }).unwrap();
            rx.recv().unwrap();
        });
        let tid = tid_rx.recv().unwrap();
        let before = affinity(tid);
        let mut during = Vec::new();
        away_from_this_cpu(tid, || {
            during = affinity(tid);
            tx.send(()).unwrap();
        });
        // One CPU fewer (the caller's at the time, which both threads
        // may use), unless that was its only one.
        assert!(during.iter().all(|c| before.contains(c)));
        if before.len() > 1 {
            assert_eq!(during.len(), before.len() - 1);
        } else {
            assert_eq!(during, before);
        }
        assert_eq!(affinity(tid), before);
        t.join().unwrap();
    }

    /// `quiet` makes a thread spinning for its answer sleep, `prewake`
    /// wakes it without an answer; the answer still reaches it after both.
    #[test]
    fn quiet_and_prewake_keep_the_answer_coming() {
        // mov eax, 39; syscall; mov eax, 39; syscall; mov eax, 60; syscall
        let memfd = memfd_with(&[
            0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0xb8, 60, 0, 0, 0, 0x0f,
            0x05,
        ]);
        let p = Arc::new(TrapPlatform::new(memfd).unwrap());
        let process =
            TrapProcess::spawn(memfd, p.stub_fd.as_raw_fd(), p.fsgsbase, false, None).unwrap();
        let mut ctx = process.clone().leader_context().unwrap();
        ctx.map_file(0x400000, 0x10000, 0, RX).unwrap();
        let mut regs = regs_at(0x400000);
        for round in 0..2 {
            // Without being told, it would spin for minutes.
            ctx.stub_spin = u32::MAX;
            assert!(matches!(ctx.switch(&mut regs), Event::Syscall));
            let asleep = process.area.word(slot_base(ctx.slot) + ST_STUB_WAITING);
            ctx.interrupter().quiet();
            let deadline = Instant::now() + Duration::from_secs(5);
            while asleep.load(Ordering::Acquire) == 0 {
                assert!(Instant::now() < deadline, "the stub kept spinning");
                std::thread::yield_now();
            }
            if round == 1 {
                ctx.interrupter().prewake();
            }
        }
        assert!(matches!(ctx.switch(&mut regs), Event::Syscall));
        assert_eq!((regs.orig_rax, regs.rip), (60, 0x400015));
        close(memfd);
    }

    /// Several mappings in one request: all are made; a failing entry ends
    /// the batch, reports its error, and the entries after it are not run.
    #[test]
    fn batched_mappings() {
        // mov rax, [0x600000]; mov rbx, [0x700000]; mov eax, 39; syscall
        let memfd = memfd_with(&[
            0x48, 0x8b, 0x04, 0x25, 0, 0, 0x60, 0, 0x48, 0x8b, 0x1c, 0x25, 0, 0, 0x70, 0, 0xb8, 39,
            0, 0, 0, 0x0f, 0x05,
        ]);
        let (_p, mut ctx) = context(memfd);
        let r = libc::PROT_READ as u32;
        let maps: Vec<(u64, u64, u64, u32)> = (0..70)
            .map(|i| (0x600000 + i * 0x1000, 0x1000, 0, r))
            .chain([(0x700000, 0x1000, 0x1000, r)])
            .collect();
        ctx.map_files(&maps).unwrap();
        let mut regs = regs_at(0x400000);
        assert!(matches!(ctx.switch(&mut regs), Event::Syscall));
        assert_eq!(regs.orig_rax, 39);
        // An unaligned offset fails (EINVAL); the mapping after it is not
        // made.
        ctx.unmap(0x700000, 0x1000).unwrap();
        let bad = [
            (0x610000, 0x1000, 0, r),
            (0x620000, 0x1000, 0x10, r),
            (0x700000, 0x1000, 0x1000, r),
        ];
        assert_eq!(ctx.map_files(&bad), Err(Errno::EINVAL));
        regs = regs_at(0x400000);
        match ctx.switch(&mut regs) {
            Event::Fault { addr, .. } => assert_eq!(addr, 0x700000),
            e => panic!("unexpected {e:?}"),
        }
        // Many unmaps in one go: the first load now faults.
        let ranges: Vec<(u64, u64)> = (0..70).map(|i| (0x600000 + i * 0x1000, 0x1000)).collect();
        ctx.unmap_many(&ranges).unwrap();
        regs = regs_at(0x400000);
        match ctx.switch(&mut regs) {
            Event::Fault { addr, .. } => assert_eq!(addr, 0x600000),
            e => panic!("unexpected {e:?}"),
        }
        close(memfd);
    }

    /// Syscalls that would hurt the host when executed (exit_group, kill)
    /// are reported, not executed: the stub lives on.
    #[test]
    fn forbidden_raw_syscalls_are_not_executed() {
        // mov eax, 231; syscall (exit_group); mov eax, 62; syscall (kill)
        let memfd = memfd_with(&[
            0xb8, 231, 0, 0, 0, 0x0f, 0x05, 0xb8, 62, 0, 0, 0, 0x0f, 0x05,
        ]);
        let (_p, mut ctx) = context(memfd);
        let mut regs = regs_at(0x400000);
        assert!(matches!(ctx.switch(&mut regs), Event::Syscall));
        assert_eq!(regs.orig_rax, 231);
        regs.rdi = 0;
        regs.rsi = libc::SIGKILL as u64;
        assert!(matches!(ctx.switch(&mut regs), Event::Syscall));
        assert_eq!(regs.orig_rax, 62);
        close(memfd);
    }

    /// Jumping straight at a `syscall` instruction inside the stub with
    /// crafted registers does not make a host call outside the filter.
    #[test]
    fn jumping_into_stub_code_is_refused() {
        let memfd = memfd_with(&[0xeb, 0xfe]);
        let (_p, mut ctx) = context(memfd);
        let site = stub_syscall_site();
        let calls: [(i64, [u64; 6]); 5] = [
            // getpid: not allowed at all.
            (libc::SYS_getpid, [0; 6]),
            // exit_group: allowed for the mm thread only.
            (libc::SYS_exit_group, [0; 6]),
            // mmap of the memory file: mm thread only.
            (libc::SYS_mmap, [0x800000, 0x1000, 3, 0x11, memfd as u64, 0]),
            // A forged mm completion.
            (
                libc::SYS_write,
                [fixed_fds(memfd).1 as u64, 0x400000, 8, 0, 0, 0],
            ),
            // clone: mm thread only.
            (libc::SYS_clone, [THREAD_FLAGS, 0, 0, 0, 0, 0]),
        ];
        for (nr, a) in calls {
            let mut regs = regs_at(site);
            regs.rax = nr as u64;
            regs.rdi = a[0];
            regs.rsi = a[1];
            regs.rdx = a[2];
            regs.r10 = a[3];
            regs.r8 = a[4];
            regs.r9 = a[5];
            let ev = ctx.switch(&mut regs);
            assert!(matches!(ev, Event::Syscall), "{nr}: {ev:?}");
            assert_eq!(regs.orig_rax, nr as u64);
            assert_eq!(regs.rip, site + 2);
        }
        // The stub still runs application code.
        let mut regs = regs_at(0x400000);
        let intr = ctx.interrupter();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            intr.interrupt();
        });
        assert!(matches!(ctx.switch(&mut regs), Event::Interrupted));
        t.join().unwrap();
        close(memfd);
    }

    #[test]
    fn interrupt_stops_a_spinning_stub() {
        let memfd = memfd_with(&[0xeb, 0xfe]); // jmp .
        let (_p, mut ctx) = context(memfd);
        let intr = ctx.interrupter();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            intr.interrupt();
        });
        let mut regs = regs_at(0x400000);
        assert!(matches!(ctx.switch(&mut regs), Event::Interrupted));
        assert_eq!(regs.rip, 0x400000);
        t.join().unwrap();
        // It resumes where it was.
        let intr = ctx.interrupter();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            intr.interrupt();
        });
        assert!(matches!(ctx.switch(&mut regs), Event::Interrupted));
        t.join().unwrap();
        close(memfd);
    }

    /// fs_base and the SSE registers travel both ways, with
    /// `rdfsbase`/`wrfsbase` (when the host allows them) and without.
    #[test]
    fn fs_base_and_fp_state() {
        let memfd = memfd_with(&[]);
        let host = TrapPlatform::new(memfd).unwrap().fsgsbase;
        close(memfd);
        fs_base_and_fp_state_with(host);
        fs_base_and_fp_state_with(false);
    }

    fn fs_base_and_fp_state_with(fsgsbase: bool) {
        // movq rdi, xmm0; movq xmm1, rsi; mov rdx, fs:[0]; mov r8, gs:[8];
        // mov eax, 39; syscall
        let memfd = memfd_with(&[
            0x66, 0x48, 0x0f, 0x7e, 0xc7, // movq rdi, xmm0
            0x66, 0x48, 0x0f, 0x6e, 0xce, // movq xmm1, rsi
            0x64, 0x48, 0x8b, 0x14, 0x25, 0, 0, 0, 0, // mov rdx, fs:[0]
            0x65, 0x4c, 0x8b, 0x04, 0x25, 8, 0, 0, 0, // mov r8, gs:[8]
            0xb8, 39, 0, 0, 0, 0x0f, 0x05,
        ]);
        let p = TrapPlatform::new(memfd).unwrap();
        let process =
            TrapProcess::spawn(memfd, p.stub_fd.as_raw_fd(), fsgsbase, false, None).unwrap();
        let mut ctx = process.leader_context().unwrap();
        ctx.map_file(0x400000, 0x10000, 0, RX).unwrap();
        // SAFETY: writes a test value into the test memfd.
        unsafe {
            libc::pwrite(
                memfd,
                0x1122_3344u64.to_le_bytes().as_ptr().cast(),
                8,
                0x8000,
            )
        };
        let mut fp = ctx.fp_state().unwrap();
        fp.0[160..168].copy_from_slice(&0xdead_beef_u64.to_le_bytes()); // xmm0
        ctx.set_fp_state(&fp).unwrap();
        let mut regs = regs_at(0x400000);
        regs.rsi = 0x5555;
        regs.fs_base = 0x408000;
        regs.gs_base = 0x407ff8;
        assert!(matches!(ctx.switch(&mut regs), Event::Syscall));
        assert_eq!(regs.rdi, 0xdead_beef);
        assert_eq!(regs.rdx, 0x1122_3344);
        assert_eq!(regs.r8, 0x1122_3344);
        assert_eq!(regs.fs_base, 0x408000);
        assert_eq!(regs.gs_base, 0x407ff8);
        let fp = ctx.fp_state().unwrap();
        assert_eq!(&fp.0[176..184], &0x5555u64.to_le_bytes()); // xmm1
                                                               // Changed bases take effect on the next run.
        regs.rip = 0x400000;
        regs.fs_base = 0x408000 - 0x100;
        regs.gs_base = 0x408000 - 0x108;
        // SAFETY: writes a test value into the test memfd.
        unsafe { libc::pwrite(memfd, 77u64.to_le_bytes().as_ptr().cast(), 8, 0x7f00) };
        assert!(matches!(ctx.switch(&mut regs), Event::Syscall));
        assert_eq!((regs.rdx, regs.r8), (77, 77));
        close(memfd);
    }

    /// A jump to the fast path is a syscall event without a signal:
    /// registers, flags and FP state arrive as a trap's would, a plain
    /// resume loads the sentry's registers, and state only the handler can
    /// load (FP) is loaded through it.
    #[test]
    fn fast_path_round_trip_and_escalation() {
        let fast = stub::fast_entry();
        // 0x400000: mov eax, 110; movabs rcx, 0x400020; movabs r11, fast;
        // jmp r11. 0x400020: movq rdi, xmm0; mov eax, 39; syscall
        let mut code = vec![0xb8, 110, 0, 0, 0, 0x48, 0xb9];
        code.extend_from_slice(&0x400020u64.to_le_bytes());
        code.extend_from_slice(&[0x49, 0xbb]);
        code.extend_from_slice(&fast.to_le_bytes());
        code.extend_from_slice(&[0x41, 0xff, 0xe3]);
        code.resize(0x20, 0xcc);
        code.extend_from_slice(&[0x66, 0x48, 0x0f, 0x7e, 0xc7, 0xb8, 39, 0, 0, 0, 0x0f, 0x05]);
        let memfd = memfd_with(&code);
        let (_p, mut ctx) = context(memfd);
        assert_eq!(ctx.syscall_patch_target(), Some(fast));
        let set_xmm0 = |ctx: &mut Box<dyn Context>, v: u64| {
            let mut fp = ctx.fp_state().unwrap();
            fp.0[160..168].copy_from_slice(&v.to_le_bytes());
            ctx.set_fp_state(&fp).unwrap();
        };
        set_xmm0(&mut ctx, 0xabcd);
        let mut regs = regs_at(0x400000);
        regs.eflags = 0x203; // CF
        regs.rdx = 7;
        regs.r9 = 9;
        regs.rsp = 0x40f000;
        assert!(matches!(ctx.switch(&mut regs), Event::Syscall));
        assert_eq!(regs.orig_rax, 110);
        assert_eq!(regs.rax, ENOSYS_RET);
        assert_eq!((regs.rip, regs.rcx), (0x400020, 0x400020));
        assert_eq!((regs.rdx, regs.r9, regs.rsp), (7, 9, 0x40f000));
        assert_eq!(regs.eflags & 0xff, 0x03);
        assert_eq!(regs.r11, regs.eflags);
        assert_eq!((regs.cs, regs.ss, regs.gs_base), (0x33, 0x2b, 0));
        assert_eq!(
            &ctx.fp_state().unwrap().0[160..168],
            &0xabcdu64.to_le_bytes()
        );
        assert_eq!(ctx.syscall_patch_target(), None);
        // A plain resume from the fast path.
        regs.rax = 4242;
        regs.rsi = 5;
        assert!(matches!(ctx.switch(&mut regs), Event::Syscall));
        assert_eq!(regs.orig_rax, 39);
        assert_eq!((regs.rdi, regs.rsi, regs.rdx), (0xabcd, 5, 7));
        assert_eq!(regs.eflags & 1, 1);
        assert_eq!(ctx.syscall_patch_target(), Some(fast));
        // FP state set while the thread waits in the fast path.
        regs.rip = 0x400000;
        assert!(matches!(ctx.switch(&mut regs), Event::Syscall));
        assert_eq!(regs.orig_rax, 110);
        set_xmm0(&mut ctx, 0x1234);
        assert!(matches!(ctx.switch(&mut regs), Event::Syscall));
        assert_eq!((regs.orig_rax, regs.rdi), (39, 0x1234));
        close(memfd);
    }

    /// A second stub thread shares the address space and is driven by
    /// another host thread; it can retire while the first goes on.
    #[test]
    fn threads_share_the_address_space() {
        // mov eax, 186 (gettid); syscall; jmp $
        let memfd = memfd_with(&[0xb8, 186, 0, 0, 0, 0x0f, 0x05, 0xeb, 0xfe]);
        let (p, mut ctx) = context(memfd);
        for _ in 0..3 {
            let seed = ctx.new_thread().unwrap();
            let p2 = p.clone();
            let t = std::thread::spawn(move || {
                let mut c2 = p2.attach_thread(seed).unwrap();
                let mut regs = regs_at(0x400000);
                let ev = c2.switch(&mut regs);
                (matches!(ev, Event::Syscall), regs.orig_rax)
            });
            let (ok, nr) = t.join().unwrap();
            assert!(ok);
            assert_eq!(nr, 186);
        }
        let mut regs = regs_at(0x400000);
        assert!(matches!(ctx.switch(&mut regs), Event::Syscall));
        close(memfd);
    }

    /// `uretprobe` (335) and `uprobe` (336) bypass seccomp on recent
    /// hosts; 335 still comes back as a syscall event.
    #[test]
    fn uretprobe_is_reported_as_a_syscall() {
        // mov eax, 335; syscall; mov eax, 39; syscall
        let memfd = memfd_with(&[
            0xb8, 0x4f, 1, 0, 0, 0x0f, 0x05, 0xb8, 39, 0, 0, 0, 0x0f, 0x05,
        ]);
        let (_p, mut ctx) = context(memfd);
        let mut regs = regs_at(0x400000);
        assert!(matches!(ctx.switch(&mut regs), Event::Syscall));
        assert_eq!(regs.orig_rax, 335);
        assert_eq!(regs.rip, 0x400007);
        assert!(matches!(ctx.switch(&mut regs), Event::Syscall));
        assert_eq!(regs.orig_rax, 39);
        close(memfd);
    }

    fn stub_syscall_site() -> u64 {
        let site = stub::code()
            .windows(2)
            .position(|w| w == [0x0f, 0x05])
            .expect("a syscall in the stub") as u64;
        STUB_BASE + stub::CODE_OFFSET + site
    }

    /// `exit` through the stub: refused for the leader (reported as a
    /// syscall), allowed for other threads, whose end is noticed.
    #[test]
    fn exit_through_the_stub() {
        let memfd = memfd_with(&[0xeb, 0xfe]);
        let (p, mut ctx) = context(memfd);
        let site = stub_syscall_site();
        let mut regs = regs_at(site);
        regs.rax = libc::SYS_exit as u64;
        assert!(matches!(ctx.switch(&mut regs), Event::Syscall));
        assert_eq!(regs.orig_rax, libc::SYS_exit as u64);
        let seed = ctx.new_thread().unwrap();
        let mut c2 = p.attach_thread(seed).unwrap();
        let mut regs = regs_at(site);
        regs.rax = libc::SYS_exit as u64;
        assert!(matches!(c2.switch(&mut regs), Event::Died));
        drop(c2);
        // The leader goes on.
        let mut regs = regs_at(site);
        regs.rax = libc::SYS_getpid as u64;
        assert!(matches!(ctx.switch(&mut regs), Event::Syscall));
        close(memfd);
    }

    /// Threads that retire (attached or not) give their slots back.
    #[test]
    fn retired_threads_free_their_slots_or_wait_as_spares() {
        // mov eax, 186; syscall; jmp $
        let memfd = memfd_with(&[0xb8, 186, 0, 0, 0, 0x0f, 0x05, 0xeb, 0xfe]);
        let p = Arc::new(TrapPlatform::new(memfd).unwrap());
        let process =
            TrapProcess::spawn(memfd, p.stub_fd.as_raw_fd(), p.fsgsbase, false, None).unwrap();
        let mut ctx = process.clone().leader_context().unwrap();
        ctx.map_file(0x400000, 0x10000, 0, RX).unwrap();
        let used = |pr: &TrapProcess| pr.slots.lock().unwrap().iter().filter(|u| **u).count();
        for i in 0..20 {
            let seed = ctx.new_thread().unwrap();
            if i % 2 == 0 {
                drop(seed);
                continue;
            }
            let p2 = p.clone();
            std::thread::spawn(move || {
                let mut c2 = p2.attach_thread(seed).unwrap();
                let mut regs = regs_at(0x400000);
                assert!(matches!(c2.switch(&mut regs), Event::Syscall));
            })
            .join()
            .unwrap();
        }
        // The mm thread's and the leader's slots, and one spare: the last
        // attached thread, parked for reuse.
        assert_eq!(used(&process), 3);
        let spare = process.spares.lock().unwrap()[0];
        let seed = ctx.new_thread().unwrap();
        let reused = seed
            .0
            .downcast_ref::<TrapSeed>()
            .unwrap()
            .0
            .as_ref()
            .unwrap()
            .1;
        assert_eq!(reused, spare.0);
        drop(seed);
        assert_eq!(used(&process), 2);
        let mut regs = regs_at(0x400000);
        assert!(matches!(ctx.switch(&mut regs), Event::Syscall));
        close(memfd);
    }

    /// A program that blocks the interrupt signal with a crafted
    /// `rt_sigreturn` through the stub's restorer is still preempted: the
    /// sentry parks it by force.
    #[test]
    fn interrupt_signal_blocked_by_the_application() {
        let memfd = memfd_with(&[0xeb, 0xfe]); // jmp .
        let (_p, mut ctx) = context(memfd);
        ctx.map_file(0x500000, 0x1000, 0x2000, 3).unwrap();
        // A ucontext at 0x500000: registers for `jmp .`, SIGURG blocked.
        let mut uc = [0u8; 304];
        let mut put = |off: usize, v: u64| uc[off..off + 8].copy_from_slice(&v.to_le_bytes());
        put(40 + 120, 0x500800); // rsp
        put(40 + 128, 0x400000); // rip
        put(40 + 136, 0x202); // eflags
        put(40 + 144, 0x33 | (0x2b << 48)); // cs, ss
        put(296, 1 << (libc::SIGURG - 1)); // uc_sigmask
                                           // SAFETY: writes the frame into the test memfd.
        unsafe { libc::pwrite(memfd, uc.as_ptr().cast(), uc.len(), 0x2000) };
        let restorer = stub::code()
            .windows(7)
            .position(|w| w == [0xb8, 15, 0, 0, 0, 0x0f, 0x05])
            .expect("the restorer") as u64;
        let mut regs = regs_at(STUB_BASE + stub::CODE_OFFSET + restorer);
        regs.rsp = 0x500000;
        let interrupt_later = |ctx: &dyn Context, ms| {
            let intr = ctx.interrupter();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(ms));
                intr.interrupt();
            })
        };
        let t = interrupt_later(&*ctx, 30);
        let t0 = Instant::now();
        assert!(matches!(ctx.switch(&mut regs), Event::Interrupted));
        assert!(t0.elapsed() >= FORCE_AFTER);
        assert_eq!(regs.rip, 0x400000);
        assert_eq!(regs.rsp, 0x500800);
        t.join().unwrap();
        // Resumed with an empty mask: interrupts work normally again.
        let t = interrupt_later(&*ctx, 30);
        let t0 = Instant::now();
        assert!(matches!(ctx.switch(&mut regs), Event::Interrupted));
        assert!(t0.elapsed() < FORCE_AFTER);
        assert_eq!(regs.rip, 0x400000);
        t.join().unwrap();
        close(memfd);
    }

    /// The platform is reachable by name; the reserved range is refused
    /// to `map_file` and survives `unmap_all`.
    #[test]
    fn by_name_and_reserved_range() {
        // mov eax, 39; syscall
        let memfd = memfd_with(&[0xb8, 39, 0, 0, 0, 0x0f, 0x05]);
        let p = crate::by_name("trap", memfd, crate::Options::default()).unwrap();
        assert_eq!(p.name(), "trap");
        assert!(crate::PLATFORMS.contains(&"trap"));
        assert_eq!(p.reserved_ranges(), &[(STUB_BASE, RESERVED_END)]);
        let mut ctx = p.new_context().unwrap();
        for addr in [
            STUB_BASE,
            CTX_BASE,
            RESERVED_END - 0x1000,
            STUB_BASE - 0x1000,
        ] {
            assert_eq!(ctx.map_file(addr, 0x2000, 0, RX), Err(Errno::EINVAL));
        }
        assert_eq!(
            ctx.map_file(u64::MAX - 0xfff, 0x2000, 0, RX),
            Err(Errno::EINVAL)
        );
        ctx.map_file(0x400000, 0x1000, 0, RX).unwrap();
        let mut regs = regs_at(0x400000);
        assert!(matches!(ctx.switch(&mut regs), Event::Syscall));
        ctx.unmap_all().unwrap();
        regs.rip = 0x400000;
        assert!(matches!(
            ctx.switch(&mut regs),
            Event::Fault { addr: 0x400000, .. }
        ));
        // The stub itself still works after unmap_all.
        ctx.map_file(0x400000, 0x1000, 0, RX).unwrap();
        regs.rip = 0x400000;
        assert!(matches!(ctx.switch(&mut regs), Event::Syscall));
        close(memfd);
    }

    /// Several threads of one stub hand off concurrently without losing a
    /// wake-up, while an interrupter pokes them.
    #[test]
    fn concurrent_threads_stress() {
        // mov eax, 110; syscall; jmp back
        let memfd = memfd_with(&[0xb8, 110, 0, 0, 0, 0x0f, 0x05, 0xeb, 0xf7]);
        let (p, mut ctx) = context(memfd);
        let run = |c: &mut dyn Context| {
            let mut regs = regs_at(0x400000);
            let mut syscalls = 0;
            while syscalls < 3000 {
                match c.switch(&mut regs) {
                    Event::Syscall => {
                        assert_eq!(regs.orig_rax, 110);
                        regs.rax = 7;
                        syscalls += 1;
                    }
                    Event::Interrupted => {}
                    e => panic!("unexpected {e:?}"),
                }
            }
        };
        let mut handles = Vec::new();
        for _ in 0..3 {
            let seed = ctx.new_thread().unwrap();
            let p2 = p.clone();
            handles.push(std::thread::spawn(move || {
                let mut c = p2.attach_thread(seed).unwrap();
                let intr = c.interrupter();
                let poke = std::thread::spawn(move || {
                    for _ in 0..20 {
                        std::thread::sleep(Duration::from_millis(2));
                        intr.interrupt();
                    }
                });
                run(&mut *c);
                poke.join().unwrap();
            }));
        }
        run(&mut *ctx);
        for h in handles {
            h.join().unwrap();
        }
        close(memfd);
    }

    /// A dead stub is reported as `Died`.
    /// An ended process's stub serves the next context empty: nothing of
    /// the old address space is mapped and the FP state is the initial one.
    #[test]
    fn ended_process_stub_is_reused_empty() {
        // movq xmm0, rdi; mov eax, 39; syscall
        let memfd = memfd_with(&[0x66, 0x48, 0x0f, 0x6e, 0xc7, 0xb8, 39, 0, 0, 0, 0x0f, 0x05]);
        let (p, mut ctx) = context(memfd);
        let mut regs = regs_at(0x400000);
        regs.rdi = 0x1234_5678;
        assert!(matches!(ctx.switch(&mut regs), Event::Syscall));
        assert_eq!(
            &ctx.fp_state().unwrap().0[160..168],
            &0x1234_5678u64.to_le_bytes()
        );
        drop(ctx);
        let pids = |p: &TrapPlatform| -> Vec<libc::pid_t> {
            p.pool.ready.lock().unwrap().iter().map(|t| t.pid).collect()
        };
        let kept = pids(&p);
        assert!(!kept.is_empty(), "the stub went back to the pool");
        let mut ctx = p.new_context().unwrap();
        let mut regs = regs_at(0x400000);
        match ctx.switch(&mut regs) {
            Event::Fault { addr, code, .. } => {
                assert_eq!((addr, code), (0x400000, SEGV_MAPERR));
            }
            e => panic!("unexpected {e:?}"),
        }
        assert_eq!(ctx.fp_state().unwrap().0[160..168], [0; 8]);
        ctx.map_file(0x400000, 0x10000, 0, RX).unwrap();
        regs.rip = 0x400005;
        assert!(matches!(ctx.switch(&mut regs), Event::Syscall));
        close(memfd);
    }

    #[test]
    fn killed_stub_dies() {
        // mov eax, 39; syscall; jmp $
        let memfd = memfd_with(&[0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0xeb, 0xfe]);
        let p = TrapPlatform::new(memfd).unwrap();
        let process =
            TrapProcess::spawn(memfd, p.stub_fd.as_raw_fd(), p.fsgsbase, false, None).unwrap();
        let mut ctx = process.clone().leader_context().unwrap();
        ctx.map_file(0x400000, 0x10000, 0, RX).unwrap();
        // Stray host signals are ignored.
        for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGUSR1] {
            // SAFETY: signals our own stub child.
            unsafe { libc::kill(process.pid, sig) };
        }
        let mut regs = regs_at(0x400000);
        assert!(matches!(ctx.switch(&mut regs), Event::Syscall));
        assert!(!process.exited());
        // SAFETY: kills our own stub child.
        unsafe { libc::kill(process.pid, libc::SIGKILL) };
        drop(process);
        let mut regs = regs_at(0x400000);
        assert!(matches!(ctx.switch(&mut regs), Event::Died));
        close(memfd);
    }

    /// Mean and median ns per round trip.
    fn bench(ctx: &mut dyn Context, n: u32) -> (f64, u64) {
        let mut regs = regs_at(0x400000);
        for _ in 0..1000 {
            ctx.switch(&mut regs);
            regs.rax = 1;
        }
        let mut samples = Vec::with_capacity(n as usize);
        let t = Instant::now();
        for _ in 0..n {
            let t1 = Instant::now();
            let ev = ctx.switch(&mut regs);
            samples.push(t1.elapsed().as_nanos() as u64);
            assert!(matches!(ev, Event::Syscall));
            regs.rax = 1;
        }
        let mean = t.elapsed().as_nanos() as f64 / n as f64;
        samples.sort_unstable();
        (mean, samples[samples.len() / 2])
    }

    /// `cargo test --release -p platform -- --ignored --nocapture round_trip`
    #[test]
    #[ignore]
    fn round_trip_benchmark() {
        // mov eax, 110 (getppid); syscall; jmp back
        let memfd = memfd_with(&[0xb8, 110, 0, 0, 0, 0x0f, 0x05, 0xeb, 0xf7]);
        let (_p, mut ctx) = context(memfd);
        let trap = bench(&mut *ctx, 100_000);
        let pp = crate::ptrace::PtracePlatform::new(memfd).unwrap();
        let mut pc = pp.new_context().unwrap();
        pc.map_file(0x400000, 0x10000, 0, RX).unwrap();
        let ptrace = bench(&mut *pc, 20_000);
        println!(
            "getppid round trip (mean/median): trap {:.0}/{} ns, ptrace {:.0}/{} ns",
            trap.0, trap.1, ptrace.0, ptrace.1
        );
        let map = |c: &mut dyn Context| {
            let t = Instant::now();
            for _ in 0..2000 {
                c.map_file(0x800000, 0x1000, 0, libc::PROT_READ as u32)
                    .unwrap();
            }
            t.elapsed().as_nanos() as f64 / 2000.0
        };
        let (mt, mp) = (map(&mut *ctx), map(&mut *pc));
        println!("map_file: trap {mt:.0} ns, ptrace {mp:.0} ns");
        let t = Instant::now();
        for _ in 0..20 {
            drop(_p.new_context().unwrap());
        }
        let ct = t.elapsed().as_nanos() as f64 / 20.0;
        let t = Instant::now();
        for _ in 0..20 {
            drop(pp.new_context().unwrap());
        }
        let cp = t.elapsed().as_nanos() as f64 / 20.0;
        println!("new_context + drop: trap {ct:.0} ns, ptrace {cp:.0} ns");
        close(memfd);
    }
}
