//! Running application code. A [`Platform`] creates [`Context`]s; a context
//! runs application code with given registers until something the sentry
//! must handle happens (a syscall, a fault, a signal, an interrupt), and
//! owns the host-side address space the application code sees.
//!
//! Application memory is never owned by the platform: the sentry maps ranges
//! of its memory file into the address space ([`AddressSpace::map_file`]).

use std::sync::Arc;

use abi::regs::FpState;
use abi::signal::SigInfo;
use abi::{Errno, PtRegs};

pub mod factory;
pub mod fpu;
pub mod ptrace;
pub mod trap;

/// Why [`Context::switch`] returned.
#[derive(Debug, Clone, Copy)]
pub enum Event {
    /// The application executed `syscall`; number and arguments are in the
    /// registers (`orig_rax`, `rdi` ...). The result goes into `rax`.
    Syscall,
    /// A memory access faulted on the host. `code` is the host's
    /// `si_code` (`SEGV_MAPERR`: nothing mapped there, `SEGV_ACCERR`: the
    /// mapping forbids the access). `write`: whether the access was a
    /// write, where the host says (trap: the page-fault error code of the
    /// signal frame; ptrace has no way to read it).
    Fault {
        signo: i32,
        code: i32,
        addr: u64,
        write: Option<bool>,
    },
    /// A synchronous signal other than a memory fault (`SIGFPE`, `SIGILL`,
    /// `SIGTRAP`, ...) raised by the application's own instructions.
    Signal(SigInfo),
    /// [`Interrupter::interrupt`] was called, or the host disturbed the
    /// stub; nothing happened to the application.
    Interrupted,
    /// The host process running the application is gone.
    Died,
}

/// A way to make a running [`Context::switch`] return [`Event::Interrupted`]
/// promptly, callable from any thread.
pub trait Interrupter: Send + Sync {
    fn interrupt(&self);
    /// The task is about to sleep in the sentry (a blocking syscall): its
    /// thread should stop waiting eagerly (spinning) for the answer.
    fn blocking(&self) {}
    /// The task's blocking syscall is about to complete and a CPU is being
    /// freed for it (its waker exits): its thread may start waiting eagerly
    /// for the answer now, while the task's host thread wakes.
    fn prewake(&self) {}
    /// Like [`Interrupter::blocking`], and waits (a few microseconds at
    /// most) until the thread has given up its CPU: the caller is about
    /// to wake a thread that should get that CPU rather than queue
    /// behind a spinner or preempt the caller.
    fn quiet(&self) {
        self.blocking();
    }
}

/// A bit of [`AddressSpace::map_file`]'s `prot`: also fault the pages in
/// now (`MAP_POPULATE`), for memory about to be used densely.
pub const PROT_POPULATE: u32 = 1 << 31;

/// `prot` without [`PROT_POPULATE`], and the `mmap` flags it asks for.
pub fn map_flags(prot: u32) -> (u32, i32) {
    let populate = if prot & PROT_POPULATE != 0 {
        libc::MAP_POPULATE
    } else {
        0
    };
    (
        prot & !PROT_POPULATE,
        libc::MAP_SHARED | libc::MAP_FIXED | populate,
    )
}

/// The host-side view of one application address space.
pub trait AddressSpace {
    /// Maps `len` bytes of the memory file at `file_offset` to `addr` with
    /// `prot` (`PROT_*`, and [`PROT_POPULATE`]), replacing whatever was
    /// mapped there.
    fn map_file(&mut self, addr: u64, len: u64, file_offset: u64, prot: u32) -> Result<(), Errno>;
    /// Several [`AddressSpace::map_file`]s `(addr, len, file_offset,
    /// prot)`, in order; a platform may carry them out in one round trip.
    fn map_files(&mut self, maps: &[(u64, u64, u64, u32)]) -> Result<(), Errno> {
        for &(addr, len, off, prot) in maps {
            self.map_file(addr, len, off, prot)?;
        }
        Ok(())
    }
    /// Removes every mapping in `[addr, addr+len)`.
    fn unmap(&mut self, addr: u64, len: u64) -> Result<(), Errno>;
    /// Several [`AddressSpace::unmap`]s `(addr, len)`; a platform may carry
    /// them out in one round trip.
    fn unmap_many(&mut self, ranges: &[(u64, u64)]) -> Result<(), Errno> {
        for &(addr, len) in ranges {
            self.unmap(addr, len)?;
        }
        Ok(())
    }
    /// Removes every application mapping.
    fn unmap_all(&mut self) -> Result<(), Errno>;
}

/// One thread of application execution and the address space it runs in.
///
/// A context is driven only by the host thread that created it (a ptrace
/// requirement); it is `Send` so it can be built and stored before use.
pub trait Context: AddressSpace + Send {
    /// Runs application code with `regs` until the next [`Event`]; on return
    /// `regs` holds the application's registers at that point.
    fn switch(&mut self, regs: &mut PtRegs) -> Event;
    /// The application's floating-point/SSE state.
    fn fp_state(&mut self) -> Result<FpState, Errno>;
    fn set_fp_state(&mut self, fp: &FpState) -> Result<(), Errno>;
    fn interrupter(&self) -> Arc<dyn Interrupter>;
    /// Where a patched syscall site may jump instead of trapping (see the
    /// sentry's syscall patching), when the platform has such a fast path
    /// and the last [`Event::Syscall`] came from an unpatched `syscall`
    /// instruction. The target expects `eax` = the syscall number and
    /// `rcx` = the address to return to; the current thread's `gs` base
    /// must be the one the platform set (a program that sets its own makes
    /// the sentry stop patching).
    fn syscall_patch_target(&self) -> Option<u64> {
        None
    }
    /// Whether the last [`Event::Syscall`] was a legacy vsyscall (a call
    /// into the host's `[vsyscall]` page, which the host emulates as the
    /// syscall and returns to the caller): Linux kills such a call whose
    /// result is `EFAULT` with `SIGSEGV` instead of returning it. Asked
    /// only on `EFAULT`, off the hot path.
    fn syscall_from_vsyscall(&self) -> bool {
        false
    }
    /// Creates another thread in this context's address space, to be
    /// driven by another host thread via [`Platform::attach_thread`].
    fn new_thread(&mut self) -> Result<ThreadSeed, Errno>;
}

/// A thread created by [`Context::new_thread`], not yet attached.
pub struct ThreadSeed(pub Box<dyn std::any::Any + Send>);

/// A way of running application code.
pub trait Platform: Send + Sync {
    fn name(&self) -> &'static str;
    /// Creates a context with an empty address space. Must be called on the
    /// host thread that will drive it.
    fn new_context(&self) -> Result<Box<dyn Context>, Errno>;
    /// Takes over a thread made by [`Context::new_thread`]. Must be called
    /// on the host thread that will drive it.
    fn attach_thread(&self, seed: ThreadSeed) -> Result<Box<dyn Context>, Errno>;
    /// Attaches a thread made by [`Context::new_thread`] and starts it
    /// running `regs` (and `fp`) at once, from the creating task's host
    /// thread, when the platform allows that: the new thread's first
    /// instructions then overlap the wake-up of the host thread that will
    /// drive it, whose first [`Context::switch`] only waits for the
    /// thread's first event. Gives the seed back when it cannot.
    fn start_thread(
        &self,
        seed: ThreadSeed,
        _regs: &PtRegs,
        _fp: Option<&FpState>,
    ) -> Result<Box<dyn Context>, ThreadSeed> {
        Err(seed)
    }
    /// From now on, starts stub processes from a [`factory::Factory`]
    /// forked now, so that nothing this process installs later (its
    /// seccomp filter) reaches them. Call it once, before confinement, on
    /// a thread that lives as long as the platform's stubs: they become
    /// its children.
    fn use_stub_factory(&self) -> Result<(), Errno>;
    /// The highest application address plus one.
    fn max_user_address(&self) -> u64;
    /// Address ranges `[start, end)` the application may never map.
    fn reserved_ranges(&self) -> &[(u64, u64)];
}

/// Names of the platforms this build knows, for error messages.
pub const PLATFORMS: &[&str] = &["ptrace", "trap"];

/// Choices that apply to any platform that supports them.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Offer syscall patching ([`Context::syscall_patch_target`]).
    pub syscall_patching: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            syscall_patching: true,
        }
    }
}

/// The platform called `name`, or (`None`) the fastest that works on this
/// host, with its stub factory started ([`Platform::use_stub_factory`]).
/// The default is `trap` if a stub can be started under it (seccomp and
/// the hand-off work), else `ptrace`. The trap probe's stub starts in the
/// background while the factory is forked (each takes ~0.3 ms here, and
/// the stub's start waits for the host to schedule it), and then serves
/// the first context.
pub fn start(name: Option<&str>, memfd: i32, opts: Options) -> Result<Arc<dyn Platform>, String> {
    let with_factory = |p: Arc<dyn Platform>| {
        p.use_stub_factory()
            .map(|_| p)
            .map_err(|e| format!("cannot start the stub factory: {e}"))
    };
    if let Some(name) = name {
        return with_factory(by_name(name, memfd, opts)?);
    }
    if let Ok(p) = trap::TrapPlatform::new(memfd) {
        let p = p.with_syscall_patching(opts.syscall_patching);
        p.start_probe();
        let factory = p.use_stub_factory();
        if p.probed() && factory.is_ok() {
            return Ok(Arc::new(p));
        }
    }
    with_factory(by_name("ptrace", memfd, opts)?)
}

/// Creates the platform called `name`, serving memory from `memfd`.
pub fn by_name(name: &str, memfd: i32, opts: Options) -> Result<Arc<dyn Platform>, String> {
    match name {
        "ptrace" => ptrace::PtracePlatform::new(memfd)
            .map(|p| Arc::new(p) as Arc<dyn Platform>)
            .map_err(|e| format!("ptrace platform unavailable: {e}")),
        "trap" => trap::TrapPlatform::new(memfd)
            .map(|p| Arc::new(p.with_syscall_patching(opts.syscall_patching)) as Arc<dyn Platform>)
            .map_err(|e| format!("trap platform unavailable: {e}")),
        other => Err(format!(
            "unknown platform {other:?} (available: {})",
            PLATFORMS.join(", ")
        )),
    }
}
