//! The ptrace platform: application code runs in stub processes driven with
//! `PTRACE_SYSEMU`, so no application syscall ever reaches the host.
//!
//! A stub is a tiny static ELF (built in memory, see [`stub_image`]) that on
//! start unmaps everything but its own page and stops. The sentry then owns
//! its address space: it maps memory-file ranges by making the stub execute
//! `mmap`/`munmap` at a known `syscall; int3` site.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use abi::regs::{
    FpState, FP_LEGACY_SIZE, FP_SW_BYTES, FP_XSAVE_SIZE, FP_XSTATE_BV, FP_YMM_HI, XFEATURES_KEPT,
};
use abi::signal::{SigInfo, SIGBUS, SIGSEGV, SIGSTOP, SIGTRAP};
use abi::{Errno, PtRegs};

use crate::factory::{sealed_image, Factory};
use crate::{AddressSpace, Context, Event, Interrupter, Platform, ThreadSeed};

/// Where the stub's single page lives in every stub process. Chosen far from
/// where the host kernel puts a new process's stack (within 16 GiB of the
/// top), so the stub's own `execve` never collides with it.
pub const STUB_BASE: u64 = 0x7ff0_0000_0000;
pub const STUB_SIZE: u64 = 0x1000;
/// The host's `TASK_SIZE` with 4-level paging.
const HOST_TASK_SIZE: u64 = 0x7fff_ffff_f000;
/// Offset of the code inside the stub image (after the ELF headers).
const CODE_OFFSET: u64 = 0x80;

/// Addresses of the stub's code sites.
#[derive(Clone, Copy, Debug)]
pub struct Sites {
    /// `syscall; int3`: where the sentry makes the stub run a host call.
    pub syscall: u64,
    /// `syscall; test rax,rax; jnz parent; child: pause loop; parent: int3`:
    /// where a new stub thread is cloned. The new thread waits in `pause`
    /// until its own tracer seizes it.
    pub clone: u64,
    /// The pause loop (where a detached thread waits to be killed).
    pub pause: u64,
}

/// The descriptor a stub started by the factory waits on before it
/// clears its address space: its tracer closes the other end once it has
/// seized it (a stub that reached its first `int3` untraced would die).
/// Any number but the memory file's: nothing else is open in a stub.
fn go_fd(memfd: i32) -> i32 {
    if memfd == 0 {
        1
    } else {
        0
    }
}

/// Builds the stub: an ELF executable with one read+execute segment at
/// [`STUB_BASE`], and the addresses of its code sites. `go` is
/// [`go_fd`].
fn stub_image(go: i32) -> (Vec<u8>, Sites) {
    let mut code: Vec<u8> = Vec::new();
    let mov_rsi = |c: &mut Vec<u8>, v: u64| {
        c.extend_from_slice(&[0x48, 0xbe]);
        c.extend_from_slice(&v.to_le_bytes());
    };
    let mov_rdi = |c: &mut Vec<u8>, v: u64| {
        c.extend_from_slice(&[0x48, 0xbf]);
        c.extend_from_slice(&v.to_le_bytes());
    };
    let here = |c: &Vec<u8>| STUB_BASE + CODE_OFFSET + c.len() as u64;
    // read(go, rsp - 64, 1): returns at once (EBADF) in a stub started
    // directly under PTRACE_TRACEME, which has no such descriptor.
    code.extend_from_slice(&[0x31, 0xc0]); // xor eax, eax (SYS_read)
    code.push(0xbf); // mov edi, go
    code.extend_from_slice(&(go as u32).to_le_bytes());
    code.extend_from_slice(&[0x48, 0x8d, 0x74, 0x24, 0xc0]); // lea rsi, [rsp - 64]
    code.extend_from_slice(&[0xba, 1, 0, 0, 0]); // mov edx, 1
    code.extend_from_slice(&[0x0f, 0x05]); // syscall
    code.extend_from_slice(&[0xb8, 3, 0, 0, 0]); // mov eax, SYS_close
    code.push(0xbf); // mov edi, go
    code.extend_from_slice(&(go as u32).to_le_bytes());
    code.extend_from_slice(&[0x0f, 0x05]); // syscall
                                           // munmap(0, STUB_BASE)
    code.extend_from_slice(&[0xb8, 11, 0, 0, 0]); // mov eax, SYS_munmap
    code.extend_from_slice(&[0x31, 0xff]); // xor edi, edi
    mov_rsi(&mut code, STUB_BASE);
    code.extend_from_slice(&[0x0f, 0x05]); // syscall
                                           // munmap(STUB_END, HOST_TASK_SIZE - STUB_END): the host stack, vdso, vvar.
    code.extend_from_slice(&[0xb8, 11, 0, 0, 0]);
    mov_rdi(&mut code, STUB_BASE + STUB_SIZE);
    mov_rsi(&mut code, HOST_TASK_SIZE - (STUB_BASE + STUB_SIZE));
    code.extend_from_slice(&[0x0f, 0x05]);
    code.push(0xcc); // int3: ready
    let syscall = here(&code);
    code.extend_from_slice(&[0x0f, 0x05, 0xcc]); // syscall; int3
    code.extend_from_slice(&[0xeb, 0xfb]); // jmp back to the site
    let clone = here(&code);
    code.extend_from_slice(&[0x0f, 0x05]); // syscall (clone)
    code.extend_from_slice(&[0x48, 0x85, 0xc0]); // test rax, rax
    code.extend_from_slice(&[0x75, 0x09]); // jnz parent
    let pause = here(&code);
    code.extend_from_slice(&[0xb8, 34, 0, 0, 0]); // mov eax, SYS_pause
    code.extend_from_slice(&[0x0f, 0x05]); // syscall
    code.extend_from_slice(&[0xeb, 0xf7]); // jmp pause
    code.push(0xcc); // parent: int3

    let total = CODE_OFFSET as usize + code.len();
    let mut img = vec![0u8; CODE_OFFSET as usize];
    // ELF header.
    img[0..4].copy_from_slice(b"\x7fELF");
    img[4] = 2; // 64-bit
    img[5] = 1; // little endian
    img[6] = 1; // version
    let put16 =
        |img: &mut Vec<u8>, at: usize, v: u16| img[at..at + 2].copy_from_slice(&v.to_le_bytes());
    let put32 =
        |img: &mut Vec<u8>, at: usize, v: u32| img[at..at + 4].copy_from_slice(&v.to_le_bytes());
    let put64 =
        |img: &mut Vec<u8>, at: usize, v: u64| img[at..at + 8].copy_from_slice(&v.to_le_bytes());
    put16(&mut img, 16, 2); // ET_EXEC
    put16(&mut img, 18, 0x3e); // EM_X86_64
    put32(&mut img, 20, 1);
    put64(&mut img, 24, STUB_BASE + CODE_OFFSET); // e_entry
    put64(&mut img, 32, 64); // e_phoff
    put16(&mut img, 52, 64); // e_ehsize
    put16(&mut img, 54, 56); // e_phentsize
    put16(&mut img, 56, 1); // e_phnum
                            // Program header at 64.
    put32(&mut img, 64, 1); // PT_LOAD
    put32(&mut img, 68, 5); // PF_R | PF_X
    put64(&mut img, 72, 0); // p_offset
    put64(&mut img, 80, STUB_BASE);
    put64(&mut img, 88, STUB_BASE);
    put64(&mut img, 96, total as u64); // p_filesz
    put64(&mut img, 104, total as u64); // p_memsz
    put64(&mut img, 112, 0x1000);
    img.extend_from_slice(&code);
    (
        img,
        Sites {
            syscall,
            clone,
            pause,
        },
    )
}

pub struct PtracePlatform {
    memfd: i32,
    stub_fd: OwnedFd,
    sites: Sites,
    reserved: [(u64, u64); 1],
    /// Set by [`Platform::use_stub_factory`]: where stubs come from.
    factory: OnceLock<Factory>,
}

impl PtracePlatform {
    pub fn new(memfd: i32) -> Result<PtracePlatform, Errno> {
        let (img, sites) = stub_image(go_fd(memfd));
        let stub_fd = sealed_image(c"rvisor-stub", &img)?;
        Ok(PtracePlatform {
            memfd,
            stub_fd,
            sites,
            reserved: [(STUB_BASE, STUB_BASE + STUB_SIZE)],
            factory: OnceLock::new(),
        })
    }
}

impl Platform for PtracePlatform {
    fn name(&self) -> &'static str {
        "ptrace"
    }

    fn new_context(&self) -> Result<Box<dyn Context>, Errno> {
        let stub = match self.factory.get() {
            Some(f) => Stub::spawn_from(f, self.memfd, self.sites)?,
            None => Stub::spawn(self.memfd, self.stub_fd.as_raw_fd(), self.sites)?,
        };
        Ok(Box::new(stub))
    }

    fn use_stub_factory(&self) -> Result<(), Errno> {
        let f = Factory::start(self.stub_fd.as_raw_fd())?;
        self.factory.set(f).map_err(|_| Errno::EBUSY)
    }

    fn attach_thread(&self, seed: ThreadSeed) -> Result<Box<dyn Context>, Errno> {
        let seed = seed.0.downcast::<PtraceSeed>().map_err(|_| Errno::EINVAL)?;
        Ok(Box::new(Stub::seize(*seed, self.memfd, self.sites)?))
    }

    fn max_user_address(&self) -> u64 {
        HOST_TASK_SIZE
    }

    fn reserved_ranges(&self) -> &[(u64, u64)] {
        &self.reserved
    }
}

/// Arguments for the stub's first moments, read by the cloned child before
/// it execs. Lives on the parent's stack while the parent is suspended
/// (`CLONE_VFORK`).
struct ChildArgs {
    memfd: i32,
    stub_fd: i32,
}

extern "C" fn stub_child(arg: *mut libc::c_void) -> libc::c_int {
    // Runs in a CLONE_VM|CLONE_VFORK child of a multithreaded process: only
    // raw system calls, no allocation, no locks.
    // SAFETY: `arg` points at the parent's ChildArgs, alive until we exec or
    // exit because the parent is suspended by CLONE_VFORK.
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
        // Dies with the sentry thread that made it even before its tracer
        // set PTRACE_O_EXITKILL (a sentry killed at that moment).
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
        if libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) != 0 {
            libc::_exit(2);
        }
        // Nothing but the memory file survives the exec.
        let cloexec = libc::CLOSE_RANGE_CLOEXEC as libc::c_int;
        if a.memfd > 0 {
            libc::syscall(libc::SYS_close_range, 0u32, (a.memfd - 1) as u32, cloexec);
        }
        libc::syscall(
            libc::SYS_close_range,
            (a.memfd + 1) as u32,
            u32::MAX,
            cloexec,
        );
        libc::fcntl(a.memfd, libc::F_SETFD, 0);
        let argv: [*const libc::c_char; 1] = [std::ptr::null()];
        libc::syscall(
            libc::SYS_execveat,
            a.stub_fd,
            c"".as_ptr(),
            argv.as_ptr(),
            argv.as_ptr(),
            libc::AT_EMPTY_PATH,
        );
        libc::_exit(3);
    }
}

/// One stub process. Killed and reaped when the last of its thread
/// contexts goes away.
struct StubProcess {
    pid: libc::pid_t,
}

impl Drop for StubProcess {
    fn drop(&mut self) {
        // SAFETY: kills and reaps our own child; the pid cannot have been
        // recycled because it has not been reaped before.
        unsafe {
            libc::kill(self.pid, libc::SIGKILL);
            let mut st = 0;
            while libc::waitpid(self.pid, &mut st, libc::__WALL) < 0
                && Errno::last_host() == Errno::EINTR
            {}
        }
    }
}

/// Shared between a stub thread and its interrupters.
struct ThreadState {
    pid: libc::pid_t,
    tid: libc::pid_t,
    /// Cleared (under the lock) before the thread goes away, so an
    /// interrupt never signals a recycled id.
    alive: Mutex<bool>,
    /// An interrupt arrived while the sentry was using the stub for itself.
    pending_interrupt: AtomicBool,
}

impl Interrupter for ThreadState {
    fn interrupt(&self) {
        let alive = self.alive.lock().unwrap_or_else(|p| p.into_inner());
        if *alive {
            self.pending_interrupt.store(true, Ordering::Release);
            // SAFETY: signals a thread of our own traced child, known alive
            // under the lock.
            unsafe {
                libc::syscall(libc::SYS_tgkill, self.pid, self.tid, libc::SIGSTOP);
            }
        }
    }
}

/// A new stub thread, parked in the pause loop, waiting to be seized by
/// the host thread that will drive it.
struct PtraceSeed {
    process: Arc<StubProcess>,
    tid: libc::pid_t,
}

/// One stub thread, traced by the host thread that created or seized it.
pub struct Stub {
    process: Arc<StubProcess>,
    state: Arc<ThreadState>,
    leader: bool,
    memfd: i32,
    sites: Sites,
    /// The stub's registers when parked, reused as the template for
    /// injected calls.
    park_regs: PtRegs,
}

fn wait_stop(pid: libc::pid_t) -> Result<i32, Errno> {
    let mut status = 0;
    loop {
        // SAFETY: waits for our own child with a valid out-pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::__WALL) };
        if r == pid {
            return Ok(status);
        }
        let e = Errno::last_host();
        if e != Errno::EINTR {
            return Err(e);
        }
    }
}

/// `NT_X86_XSTATE`: the XSAVE regset.
const NT_X86_XSTATE: usize = 0x202;
/// Room for any XSAVE area this sentry meets (the host reports the size).
const XSAVE_BUF: usize = 16384;

#[repr(C, align(64))]
struct XsaveBuf([u8; XSAVE_BUF]);

/// Reads the stub thread's whole XSAVE area; returns its size.
fn get_xstate(tid: i32, buf: &mut XsaveBuf) -> Result<usize, Errno> {
    let mut iov = libc::iovec {
        iov_base: buf.0.as_mut_ptr().cast(),
        iov_len: XSAVE_BUF,
    };
    ptrace_raw(
        libc::PTRACE_GETREGSET,
        tid,
        NT_X86_XSTATE,
        &mut iov as *mut libc::iovec as usize,
    )?;
    Ok(iov.iov_len.min(XSAVE_BUF))
}

fn ptrace_raw(req: libc::c_uint, pid: libc::pid_t, addr: usize, data: usize) -> Result<i64, Errno> {
    // SAFETY: ptrace requests on our own tracee; callers pass pointers to
    // live, correctly sized buffers for GET/SET requests.
    let r = unsafe { libc::ptrace(req, pid, addr, data) };
    if r < 0 {
        Err(Errno::last_host())
    } else {
        Ok(r)
    }
}

const OPTIONS: usize = (libc::PTRACE_O_EXITKILL | libc::PTRACE_O_TRACESYSGOOD) as usize;

impl Stub {
    fn spawn(memfd: i32, stub_fd: i32, sites: Sites) -> Result<Stub, Errno> {
        let mut stack = vec![0u8; 64 * 1024];
        let args = ChildArgs { memfd, stub_fd };
        // SAFETY: the child runs `stub_child` on its own stack, sharing our
        // memory only until it execs (CLONE_VFORK suspends us until then).
        let pid = unsafe {
            let top = stack.as_mut_ptr().add(stack.len());
            libc::clone(
                stub_child,
                top.cast(),
                libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
                &args as *const ChildArgs as *mut libc::c_void,
            )
        };
        drop(stack);
        if pid < 0 {
            return Err(Errno::last_host());
        }
        // Killed and reaped if anything below fails.
        let process = Arc::new(StubProcess { pid });
        // The exec reports a SIGTRAP stop.
        let st = wait_stop(pid)?;
        if !libc::WIFSTOPPED(st) {
            return Err(Errno::ECHILD);
        }
        ptrace_raw(libc::PTRACE_SETOPTIONS, pid, 0, OPTIONS)?;
        // Let the stub clear its address space and park at its int3.
        ptrace_raw(libc::PTRACE_CONT, pid, 0, 0)?;
        let st = wait_stop(pid)?;
        if !libc::WIFSTOPPED(st) || libc::WSTOPSIG(st) != libc::SIGTRAP {
            return Err(Errno::ECHILD);
        }
        Stub::parked_leader(process, memfd, sites)
    }

    /// The context of a new stub process's leader, stopped at its first
    /// `int3` under this thread's tracing.
    fn parked_leader(process: Arc<StubProcess>, memfd: i32, sites: Sites) -> Result<Stub, Errno> {
        let pid = process.pid;
        let state = Arc::new(ThreadState {
            pid,
            tid: pid,
            alive: Mutex::new(true),
            pending_interrupt: AtomicBool::new(false),
        });
        let mut stub = Stub {
            process,
            state,
            leader: true,
            memfd,
            sites,
            park_regs: PtRegs::default(),
        };
        stub.park_regs = stub.get_regs()?;
        Ok(stub)
    }

    /// Starts a stub from the factory and seizes it: the stub waits on
    /// [`go_fd`] until this thread traces it, then clears its address
    /// space and stops at its `int3`.
    fn spawn_from(factory: &Factory, memfd: i32, sites: Sites) -> Result<Stub, Errno> {
        let mut fds = [0i32; 2];
        // SAFETY: creates a pipe into a live array; checked.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(Errno::last_host());
        }
        // SAFETY: both fds were just created and are ours.
        let (go_r, go_w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        let pid = factory.spawn(&[(memfd, memfd), (go_r.as_raw_fd(), go_fd(memfd))], 0)?;
        drop(go_r);
        // Killed and reaped if anything below fails.
        let process = Arc::new(StubProcess { pid });
        ptrace_raw(libc::PTRACE_SEIZE, pid, 0, OPTIONS)?;
        drop(go_w);
        let st = wait_stop(pid)?;
        if !libc::WIFSTOPPED(st) || libc::WSTOPSIG(st) != libc::SIGTRAP || st >> 16 != 0 {
            return Err(Errno::ECHILD);
        }
        Stub::parked_leader(process, memfd, sites)
    }

    /// Takes over a thread created by [`Context::new_thread`].
    fn seize(seed: PtraceSeed, memfd: i32, sites: Sites) -> Result<Stub, Errno> {
        let pid = seed.process.pid;
        let tid = seed.tid;
        ptrace_raw(libc::PTRACE_SEIZE, tid, 0, OPTIONS)?;
        ptrace_raw(libc::PTRACE_INTERRUPT, tid, 0, 0)?;
        let st = wait_stop(tid)?;
        if !libc::WIFSTOPPED(st) {
            return Err(Errno::ECHILD);
        }
        let state = Arc::new(ThreadState {
            pid,
            tid,
            alive: Mutex::new(true),
            pending_interrupt: AtomicBool::new(false),
        });
        let mut stub = Stub {
            process: seed.process,
            state,
            leader: false,
            memfd,
            sites,
            park_regs: PtRegs::default(),
        };
        stub.park_regs = stub.get_regs()?;
        Ok(stub)
    }

    fn tid(&self) -> libc::pid_t {
        self.state.tid
    }

    fn get_regs(&self) -> Result<PtRegs, Errno> {
        let mut r = PtRegs::default();
        ptrace_raw(
            libc::PTRACE_GETREGS,
            self.tid(),
            0,
            &mut r as *mut PtRegs as usize,
        )?;
        Ok(r)
    }

    fn set_regs(&self, r: &PtRegs) -> Result<(), Errno> {
        ptrace_raw(
            libc::PTRACE_SETREGS,
            self.tid(),
            0,
            r as *const PtRegs as usize,
        )?;
        Ok(())
    }

    fn siginfo(&self) -> Result<SigInfo, Errno> {
        let mut info = SigInfo::default();
        ptrace_raw(
            libc::PTRACE_GETSIGINFO,
            self.tid(),
            0,
            &mut info as *mut SigInfo as usize,
        )?;
        Ok(info)
    }

    /// Makes the stub thread execute one host syscall at `site` for the
    /// sentry.
    fn inject_at(&mut self, site: u64, nr: i64, args: [u64; 6]) -> Result<i64, Errno> {
        let mut r = self.park_regs;
        r.rip = site;
        r.rax = nr as u64;
        r.orig_rax = u64::MAX;
        r.rdi = args[0];
        r.rsi = args[1];
        r.rdx = args[2];
        r.r10 = args[3];
        r.r8 = args[4];
        r.r9 = args[5];
        self.set_regs(&r)?;
        ptrace_raw(libc::PTRACE_CONT, self.tid(), 0, 0)?;
        loop {
            let st = wait_stop(self.tid())?;
            if !libc::WIFSTOPPED(st) {
                return Err(Errno::ESRCH);
            }
            match libc::WSTOPSIG(st) {
                libc::SIGTRAP => break,
                // An interrupt for the application: remember it for the next
                // switch and finish our call.
                _ => {
                    self.state.pending_interrupt.store(true, Ordering::Release);
                    ptrace_raw(libc::PTRACE_CONT, self.tid(), 0, 0)?;
                }
            }
        }
        let out = self.get_regs()?;
        Ok(out.rax as i64)
    }

    fn inject(&mut self, nr: i64, args: [u64; 6]) -> Result<i64, Errno> {
        self.inject_at(self.sites.syscall, nr, args)
    }
}

impl AddressSpace for Stub {
    fn map_file(&mut self, addr: u64, len: u64, file_offset: u64, prot: u32) -> Result<(), Errno> {
        let (prot, flags) = crate::map_flags(prot);
        let r = self.inject(
            libc::SYS_mmap,
            [
                addr,
                len,
                prot as u64,
                flags as u64,
                self.memfd as u64,
                file_offset,
            ],
        )?;
        if r < 0 && r > -4096 {
            return Err(Errno(-r as i32));
        }
        Ok(())
    }

    fn unmap(&mut self, addr: u64, len: u64) -> Result<(), Errno> {
        // Never let a request touch the stub's own page.
        let end = addr.saturating_add(len).min(HOST_TASK_SIZE);
        let mut pieces = [
            (addr, end.min(STUB_BASE)),
            (addr.max(STUB_BASE + STUB_SIZE), end),
        ];
        for p in pieces.iter_mut() {
            if p.0 < p.1 {
                let r = self.inject(libc::SYS_munmap, [p.0, p.1 - p.0, 0, 0, 0, 0])?;
                if r < 0 {
                    return Err(Errno(-r as i32));
                }
            }
        }
        Ok(())
    }

    fn unmap_all(&mut self) -> Result<(), Errno> {
        self.unmap(0, HOST_TASK_SIZE)
    }
}

impl Context for Stub {
    fn switch(&mut self, regs: &mut PtRegs) -> Event {
        if self.state.pending_interrupt.swap(false, Ordering::AcqRel) {
            return Event::Interrupted;
        }
        // orig_rax = -1 keeps the host from applying syscall-restart logic
        // to the registers we install.
        let mut r = *regs;
        r.orig_rax = u64::MAX;
        if self.set_regs(&r).is_err() || ptrace_raw(libc::PTRACE_SYSEMU, self.tid(), 0, 0).is_err()
        {
            return Event::Died;
        }
        let st = match wait_stop(self.tid()) {
            Ok(s) => s,
            Err(_) => return Event::Died,
        };
        if !libc::WIFSTOPPED(st) {
            return Event::Died;
        }
        match self.get_regs() {
            Ok(r) => *regs = r,
            Err(_) => return Event::Died,
        }
        let sig = libc::WSTOPSIG(st);
        if sig == (libc::SIGTRAP | 0x80) {
            return Event::Syscall;
        }
        if sig == SIGSTOP || st >> 16 != 0 {
            self.state.pending_interrupt.store(false, Ordering::Release);
            return Event::Interrupted;
        }
        let info = match self.siginfo() {
            Ok(i) => i,
            Err(_) => return Event::Died,
        };
        // A signal sent by a host process (si_code <= 0) is not the
        // application's doing: ignore it.
        if info.code <= 0 {
            return Event::Interrupted;
        }
        match sig {
            SIGSEGV | SIGBUS => Event::Fault {
                signo: sig,
                code: info.code,
                addr: info.fault_addr(),
                write: None,
            },
            SIGTRAP | libc::SIGFPE | libc::SIGILL => Event::Signal(info),
            _ => Event::Interrupted,
        }
    }

    fn fp_state(&mut self) -> Result<FpState, Errno> {
        let mut buf = XsaveBuf([0; XSAVE_BUF]);
        match get_xstate(self.tid(), &mut buf) {
            Ok(n) => Ok(FpState::from_xsave(&buf.0[..n])),
            Err(_) => {
                ptrace_raw(
                    libc::PTRACE_GETFPREGS,
                    self.tid(),
                    0,
                    buf.0.as_mut_ptr() as usize,
                )?;
                Ok(FpState::from_xsave(&buf.0[..FP_LEGACY_SIZE]))
            }
        }
    }

    fn set_fp_state(&mut self, fp: &FpState) -> Result<(), Errno> {
        let mut v = *fp;
        v.sanitize_mxcsr(crate::fpu::mxcsr_mask());
        // The host wants a whole XSAVE buffer back: take the thread's
        // current one (which keeps what the sentry does not model, such as
        // PKRU) and put the kept components into it.
        let mut buf = XsaveBuf([0; XSAVE_BUF]);
        let Ok(n) = get_xstate(self.tid(), &mut buf) else {
            ptrace_raw(libc::PTRACE_SETFPREGS, self.tid(), 0, v.0.as_ptr() as usize)?;
            return Ok(());
        };
        buf.0[..FP_SW_BYTES].copy_from_slice(&v.0[..FP_SW_BYTES]);
        if n >= FP_XSAVE_SIZE {
            let bv = u64::from_le_bytes(
                buf.0[FP_XSTATE_BV..FP_XSTATE_BV + 8]
                    .try_into()
                    .map_err(|_| Errno::EINVAL)?,
            ) | XFEATURES_KEPT;
            buf.0[FP_XSTATE_BV..FP_XSTATE_BV + 8].copy_from_slice(&bv.to_le_bytes());
            buf.0[FP_YMM_HI..FP_XSAVE_SIZE].copy_from_slice(&v.0[FP_YMM_HI..]);
        }
        let mut iov = libc::iovec {
            iov_base: buf.0.as_mut_ptr().cast(),
            iov_len: n,
        };
        ptrace_raw(
            libc::PTRACE_SETREGSET,
            self.tid(),
            NT_X86_XSTATE,
            &mut iov as *mut libc::iovec as usize,
        )?;
        Ok(())
    }

    fn interrupter(&self) -> Arc<dyn Interrupter> {
        self.state.clone()
    }

    fn new_thread(&mut self) -> Result<ThreadSeed, Errno> {
        let flags = libc::CLONE_VM
            | libc::CLONE_FS
            | libc::CLONE_FILES
            | libc::CLONE_SIGHAND
            | libc::CLONE_THREAD
            | libc::CLONE_SYSVSEM;
        let tid = self.inject_at(
            self.sites.clone,
            libc::SYS_clone,
            [flags as u64, 0, 0, 0, 0, 0],
        )?;
        if tid <= 0 {
            return Err(Errno(-tid as i32));
        }
        Ok(ThreadSeed(Box::new(PtraceSeed {
            process: self.process.clone(),
            tid: tid as libc::pid_t,
        })))
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        *self.state.alive.lock().unwrap_or_else(|p| p.into_inner()) = false;
        if Arc::strong_count(&self.process) == 1 {
            // The last thread: the process goes with it. A traced
            // non-leader thread must be reaped by us, its tracer, before
            // the leader can be.
            if !self.leader {
                // SAFETY: kills our own child process and reaps the thread
                // we trace; ids are not recycled before reaping.
                unsafe {
                    libc::kill(self.process.pid, libc::SIGKILL);
                    let mut st = 0;
                    while libc::waitpid(self.tid(), &mut st, libc::__WALL) < 0
                        && Errno::last_host() == Errno::EINTR
                    {}
                }
            }
            return;
        }
        // Other threads still run: retire just this one. The leader parks
        // untraced in the pause loop (it must stay until the group ends);
        // others exit.
        if self.leader {
            let mut r = self.park_regs;
            r.rip = self.sites.pause;
            r.orig_rax = u64::MAX;
            if self.set_regs(&r).is_ok() {
                let _ = ptrace_raw(libc::PTRACE_DETACH, self.tid(), 0, 0);
            }
        } else {
            let _ = self.inject(libc::SYS_exit, [0; 6]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stub_image_is_one_page() {
        let (img, sites) = stub_image(0);
        assert!(img.len() < STUB_SIZE as usize);
        let at = |a: u64| (a - STUB_BASE) as usize;
        assert_eq!(&img[at(sites.syscall)..][..3], &[0x0f, 0x05, 0xcc]);
        assert_eq!(&img[at(sites.clone)..][..2], &[0x0f, 0x05]);
        assert_eq!(&img[at(sites.pause)..][..1], &[0xb8]);
        // The jnz lands on the parent's int3.
        assert_eq!(img[at(sites.pause) + 9], 0xcc);
    }

    /// A stub runs code the sentry maps into it and reports its syscalls
    /// without executing them.
    #[test]
    fn stub_runs_mapped_code_and_traps_syscalls() {
        // SAFETY: test-only memfd creation; checked below.
        let memfd = unsafe { libc::memfd_create(c"t".as_ptr(), libc::MFD_CLOEXEC) };
        assert!(memfd >= 0);
        // Code: mov eax, 39 (getpid); syscall; mov rdi, rax; mov eax, 60; syscall
        let code: &[u8] = &[
            0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0x48, 0x89, 0xc7, 0xb8, 60, 0, 0, 0, 0x0f, 0x05,
        ];
        // SAFETY: writes a slice to our memfd; sizes checked.
        unsafe {
            assert_eq!(libc::ftruncate(memfd, 4096), 0);
            assert_eq!(
                libc::pwrite(memfd, code.as_ptr().cast(), code.len(), 0),
                code.len() as isize
            );
        }
        let p = PtracePlatform::new(memfd).unwrap();
        let mut ctx = p.new_context().unwrap();
        ctx.map_file(
            0x400000,
            4096,
            0,
            (libc::PROT_READ | libc::PROT_EXEC) as u32,
        )
        .unwrap();
        let mut regs = PtRegs {
            rip: 0x400000,
            cs: 0x33,
            ss: 0x2b,
            eflags: 0x202,
            ..Default::default()
        };
        regs.fs_base = 0;
        assert!(matches!(ctx.switch(&mut regs), Event::Syscall));
        assert_eq!(regs.orig_rax, 39);
        regs.rax = 4242;
        assert!(matches!(ctx.switch(&mut regs), Event::Syscall));
        assert_eq!(regs.orig_rax, 60);
        assert_eq!(regs.rdi, 4242);
        // A fault outside any mapping.
        regs.rip = 0x1234000;
        match ctx.switch(&mut regs) {
            Event::Fault {
                signo, code, addr, ..
            } => {
                assert_eq!(signo, SIGSEGV);
                assert_eq!(code, abi::signal::SEGV_MAPERR);
                assert_eq!(addr, 0x1234000);
            }
            e => panic!("unexpected {e:?}"),
        }
        // SAFETY: closes the test's memfd.
        unsafe { libc::close(memfd) };
    }

    #[test]
    fn interrupt_stops_a_spinning_stub() {
        // SAFETY: test-only memfd.
        let memfd = unsafe { libc::memfd_create(c"t".as_ptr(), libc::MFD_CLOEXEC) };
        let code: &[u8] = &[0xeb, 0xfe]; // jmp .
                                         // SAFETY: as above.
        unsafe {
            libc::ftruncate(memfd, 4096);
            libc::pwrite(memfd, code.as_ptr().cast(), code.len(), 0);
        }
        let p = PtracePlatform::new(memfd).unwrap();
        let mut ctx = p.new_context().unwrap();
        ctx.map_file(
            0x400000,
            4096,
            0,
            (libc::PROT_READ | libc::PROT_EXEC) as u32,
        )
        .unwrap();
        let intr = ctx.interrupter();
        let t = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(50));
            intr.interrupt();
        });
        let mut regs = PtRegs {
            rip: 0x400000,
            cs: 0x33,
            ss: 0x2b,
            eflags: 0x202,
            ..Default::default()
        };
        assert!(matches!(ctx.switch(&mut regs), Event::Interrupted));
        t.join().unwrap();
        // SAFETY: closes the test's memfd.
        unsafe { libc::close(memfd) };
    }

    /// A second stub thread shares the address space and is driven by
    /// another host thread.
    #[test]
    fn threads_share_the_address_space() {
        // SAFETY: test-only memfd.
        let memfd = unsafe { libc::memfd_create(c"t".as_ptr(), libc::MFD_CLOEXEC) };
        // mov eax, 186 (gettid); syscall; jmp $
        let code: &[u8] = &[0xb8, 186, 0, 0, 0, 0x0f, 0x05, 0xeb, 0xfe];
        // SAFETY: as above.
        unsafe {
            libc::ftruncate(memfd, 4096);
            libc::pwrite(memfd, code.as_ptr().cast(), code.len(), 0);
        }
        let p = Arc::new(PtracePlatform::new(memfd).unwrap());
        let mut ctx = p.new_context().unwrap();
        ctx.map_file(
            0x400000,
            4096,
            0,
            (libc::PROT_READ | libc::PROT_EXEC) as u32,
        )
        .unwrap();
        let seed = ctx.new_thread().unwrap();
        let p2 = p.clone();
        let t = std::thread::spawn(move || {
            let mut c2 = p2.attach_thread(seed).unwrap();
            let mut regs = PtRegs {
                rip: 0x400000,
                cs: 0x33,
                ss: 0x2b,
                eflags: 0x202,
                ..Default::default()
            };
            // The mapping made through the first thread is visible here.
            let ev = c2.switch(&mut regs);
            (matches!(ev, Event::Syscall), regs.orig_rax)
        });
        let (ok, nr) = t.join().unwrap();
        assert!(ok);
        assert_eq!(nr, 186);
        let mut regs = PtRegs {
            rip: 0x400000,
            cs: 0x33,
            ss: 0x2b,
            eflags: 0x202,
            ..Default::default()
        };
        assert!(matches!(ctx.switch(&mut regs), Event::Syscall));
        // SAFETY: closes the test's memfd.
        unsafe { libc::close(memfd) };
    }
}
