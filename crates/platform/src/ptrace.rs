//! The ptrace platform: application code runs in stub processes driven with
//! `PTRACE_SYSEMU`, so no application syscall ever reaches the host.
//!
//! A stub is a tiny static ELF (built in memory, see [`stub_image`]) that on
//! start unmaps everything but its own page and stops. The sentry then owns
//! its address space: it maps memory-file ranges by making the stub execute
//! `mmap`/`munmap` at a known `syscall; int3` site.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use abi::regs::FpState;
use abi::signal::{SigInfo, SIGBUS, SIGSEGV, SIGSTOP, SIGTRAP};
use abi::{Errno, PtRegs};

use crate::{AddressSpace, Context, Event, Interrupter, Platform};

/// Where the stub's single page lives in every stub process. Chosen far from
/// where the host kernel puts a new process's stack (within 16 GiB of the
/// top), so the stub's own `execve` never collides with it.
pub const STUB_BASE: u64 = 0x7ff0_0000_0000;
pub const STUB_SIZE: u64 = 0x1000;
/// The host's `TASK_SIZE` with 4-level paging.
const HOST_TASK_SIZE: u64 = 0x7fff_ffff_f000;
/// Offset of the code inside the stub image (after the ELF headers).
const CODE_OFFSET: u64 = 0x80;

/// Builds the stub: an ELF executable with one read+execute segment at
/// [`STUB_BASE`]. Returns the image and the address of its `syscall; int3`
/// site.
fn stub_image() -> (Vec<u8>, u64) {
    let mut code: Vec<u8> = Vec::new();
    let mov_rsi = |c: &mut Vec<u8>, v: u64| {
        c.extend_from_slice(&[0x48, 0xbe]);
        c.extend_from_slice(&v.to_le_bytes());
    };
    let mov_rdi = |c: &mut Vec<u8>, v: u64| {
        c.extend_from_slice(&[0x48, 0xbf]);
        c.extend_from_slice(&v.to_le_bytes());
    };
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
    let site = STUB_BASE + CODE_OFFSET + code.len() as u64;
    code.extend_from_slice(&[0x0f, 0x05, 0xcc]); // syscall; int3
    code.extend_from_slice(&[0xeb, 0xfb]); // jmp back to the site

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
    (img, site)
}

pub struct PtracePlatform {
    memfd: i32,
    stub_fd: OwnedFd,
    syscall_site: u64,
    reserved: [(u64, u64); 1],
}

impl PtracePlatform {
    pub fn new(memfd: i32) -> Result<PtracePlatform, Errno> {
        let (img, site) = stub_image();
        // SAFETY: memfd_create with a static NUL-terminated name; the result
        // is checked.
        let fd = unsafe { libc::memfd_create(c"rvisor-stub".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(Errno::last_host());
        }
        // SAFETY: fd was just created and is owned by nobody else.
        let stub_fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let mut off = 0;
        while off < img.len() {
            // SAFETY: writes from a live slice to an fd we own.
            let n = unsafe { libc::write(fd, img[off..].as_ptr().cast(), img.len() - off) };
            if n <= 0 {
                return Err(Errno::last_host());
            }
            off += n as usize;
        }
        Ok(PtracePlatform {
            memfd,
            stub_fd,
            syscall_site: site,
            reserved: [(STUB_BASE, STUB_BASE + STUB_SIZE)],
        })
    }
}

impl Platform for PtracePlatform {
    fn name(&self) -> &'static str {
        "ptrace"
    }

    fn new_context(&self) -> Result<Box<dyn Context>, Errno> {
        let stub = Stub::spawn(self.memfd, self.stub_fd.as_raw_fd(), self.syscall_site)?;
        Ok(Box::new(stub))
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
    parent: libc::pid_t,
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
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        if libc::getppid() != a.parent {
            libc::_exit(1);
        }
        let empty: libc::sigset_t = std::mem::zeroed();
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &empty as *const _,
            0usize,
            8usize,
        );
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

/// Shared between a stub and its interrupters.
struct StubState {
    pid: libc::pid_t,
    /// Cleared (under the lock) before the stub is reaped, so an interrupt
    /// never signals a recycled pid.
    alive: Mutex<bool>,
    /// An interrupt arrived while the sentry was using the stub for itself.
    pending_interrupt: AtomicBool,
}

impl Interrupter for StubState {
    fn interrupt(&self) {
        let alive = self.alive.lock().unwrap_or_else(|p| p.into_inner());
        if *alive {
            self.pending_interrupt.store(true, Ordering::Release);
            // SAFETY: signals our own traced child, known alive (not reaped)
            // under the lock.
            unsafe {
                libc::syscall(libc::SYS_tgkill, self.pid, self.pid, libc::SIGSTOP);
            }
        }
    }
}

/// One stub process with one thread, traced by the host thread that
/// created it.
pub struct Stub {
    state: Arc<StubState>,
    memfd: i32,
    syscall_site: u64,
    /// The stub's registers when parked at the syscall site, reused as the
    /// template for injected calls.
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

impl Stub {
    fn spawn(memfd: i32, stub_fd: i32, syscall_site: u64) -> Result<Stub, Errno> {
        let mut stack = vec![0u8; 64 * 1024];
        let args = ChildArgs {
            memfd,
            stub_fd,
            parent: std::process::id() as libc::pid_t,
        };
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
        let state = Arc::new(StubState {
            pid,
            alive: Mutex::new(true),
            pending_interrupt: AtomicBool::new(false),
        });
        let mut stub = Stub {
            state,
            memfd,
            syscall_site,
            park_regs: PtRegs::default(),
        };
        // The exec reports a SIGTRAP stop.
        let st = wait_stop(pid)?;
        if !libc::WIFSTOPPED(st) {
            return Err(Errno::ECHILD);
        }
        ptrace_raw(
            libc::PTRACE_SETOPTIONS,
            pid,
            0,
            (libc::PTRACE_O_EXITKILL | libc::PTRACE_O_TRACESYSGOOD) as usize,
        )?;
        // Let the stub clear its address space and park at its int3.
        ptrace_raw(libc::PTRACE_CONT, pid, 0, 0)?;
        let st = wait_stop(pid)?;
        if !libc::WIFSTOPPED(st) || libc::WSTOPSIG(st) != libc::SIGTRAP {
            return Err(Errno::ECHILD);
        }
        stub.park_regs = stub.get_regs()?;
        Ok(stub)
    }

    fn pid(&self) -> libc::pid_t {
        self.state.pid
    }

    fn get_regs(&self) -> Result<PtRegs, Errno> {
        let mut r = PtRegs::default();
        ptrace_raw(
            libc::PTRACE_GETREGS,
            self.pid(),
            0,
            &mut r as *mut PtRegs as usize,
        )?;
        Ok(r)
    }

    fn set_regs(&self, r: &PtRegs) -> Result<(), Errno> {
        ptrace_raw(
            libc::PTRACE_SETREGS,
            self.pid(),
            0,
            r as *const PtRegs as usize,
        )?;
        Ok(())
    }

    fn siginfo(&self) -> Result<SigInfo, Errno> {
        let mut info = SigInfo::default();
        ptrace_raw(
            libc::PTRACE_GETSIGINFO,
            self.pid(),
            0,
            &mut info as *mut SigInfo as usize,
        )?;
        Ok(info)
    }

    /// Makes the stub execute one host syscall for the sentry.
    fn inject(&mut self, nr: i64, args: [u64; 6]) -> Result<i64, Errno> {
        let mut r = self.park_regs;
        r.rip = self.syscall_site;
        r.rax = nr as u64;
        r.orig_rax = u64::MAX;
        r.rdi = args[0];
        r.rsi = args[1];
        r.rdx = args[2];
        r.r10 = args[3];
        r.r8 = args[4];
        r.r9 = args[5];
        self.set_regs(&r)?;
        ptrace_raw(libc::PTRACE_CONT, self.pid(), 0, 0)?;
        loop {
            let st = wait_stop(self.pid())?;
            if !libc::WIFSTOPPED(st) {
                return Err(Errno::ESRCH);
            }
            match libc::WSTOPSIG(st) {
                libc::SIGTRAP => break,
                // An interrupt for the application: remember it for the next
                // switch and finish our call.
                _ => {
                    self.state.pending_interrupt.store(true, Ordering::Release);
                    ptrace_raw(libc::PTRACE_CONT, self.pid(), 0, 0)?;
                }
            }
        }
        let out = self.get_regs()?;
        Ok(out.rax as i64)
    }
}

impl AddressSpace for Stub {
    fn map_file(&mut self, addr: u64, len: u64, file_offset: u64, prot: u32) -> Result<(), Errno> {
        let flags = (libc::MAP_SHARED | libc::MAP_FIXED) as u64;
        let r = self.inject(
            libc::SYS_mmap,
            [
                addr,
                len,
                prot as u64,
                flags,
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
        if self.set_regs(regs).is_err()
            || ptrace_raw(libc::PTRACE_SYSEMU, self.pid(), 0, 0).is_err()
        {
            return Event::Died;
        }
        let st = match wait_stop(self.pid()) {
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
        if sig == SIGSTOP {
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
            },
            SIGTRAP | libc::SIGFPE | libc::SIGILL => Event::Signal(info),
            _ => Event::Interrupted,
        }
    }

    fn fp_state(&mut self) -> Result<FpState, Errno> {
        let mut fp = FpState::default();
        ptrace_raw(
            libc::PTRACE_GETFPREGS,
            self.pid(),
            0,
            fp.0.as_mut_ptr() as usize,
        )?;
        Ok(fp)
    }

    fn set_fp_state(&mut self, fp: &FpState) -> Result<(), Errno> {
        ptrace_raw(
            libc::PTRACE_SETFPREGS,
            self.pid(),
            0,
            fp.0.as_ptr() as usize,
        )?;
        Ok(())
    }

    fn interrupter(&self) -> Arc<dyn Interrupter> {
        self.state.clone()
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        let mut alive = self.state.alive.lock().unwrap_or_else(|p| p.into_inner());
        *alive = false;
        // SAFETY: kills and reaps our own child; the pid cannot have been
        // recycled because we have not reaped it before.
        unsafe {
            libc::kill(self.state.pid, libc::SIGKILL);
            let mut st = 0;
            while libc::waitpid(self.state.pid, &mut st, libc::__WALL) < 0
                && Errno::last_host() == Errno::EINTR
            {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stub_image_is_one_page() {
        let (img, site) = stub_image();
        assert!(img.len() < STUB_SIZE as usize);
        assert!(site > STUB_BASE && site < STUB_BASE + STUB_SIZE);
        assert_eq!(
            &img[(site - STUB_BASE) as usize..][..3],
            &[0x0f, 0x05, 0xcc]
        );
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
            Event::Fault { signo, code, addr } => {
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
}
