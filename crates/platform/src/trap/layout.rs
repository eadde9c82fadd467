//! Fixed addresses and offsets shared by the stub code and the sentry.

/// The stub image: code page + data page, read+execute.
pub const STUB_BASE: u64 = 0x7fe0_0000_0000;
pub const STUB_SIZE: u64 = 0x2000;
/// The data page of the image (descriptor numbers, seccomp programs).
pub const DATA: u64 = STUB_BASE + 0x1000;
/// The host's `TASK_SIZE` with 4-level paging.
pub const HOST_TASK_SIZE: u64 = 0x7fff_ffff_f000;

/// The stub-private shared area (a memfd of its own per stub process),
/// mapped at the same address in the stub and anywhere in the sentry.
pub const CTX_BASE: u64 = STUB_BASE + 0x10_0000;
/// One slot per stub thread: a context page followed by its signal stack.
/// Slots are aligned to their size, so the handler finds its slot from its
/// stack pointer.
pub const SLOT_SIZE: u64 = 0x1_0000;
/// Slot 0 is the mm thread's: request page (read-only in the stub) and
/// response page. Slots 1.. are application threads (1 = the leader).
pub const NSLOTS: u64 = 1024;
pub const CTX_SIZE: u64 = NSLOTS * SLOT_SIZE;
/// End of everything the application may never map over.
pub const RESERVED_END: u64 = CTX_BASE + CTX_SIZE;

// Request page (offsets from CTX_BASE). Written only by the sentry.
pub const REQ_SEQ: u64 = 0;
/// How many entries the request holds (0 and 1 both mean one).
pub const REQ_COUNT: u64 = 4;
/// Entry 0: syscall number, six arguments, an auxiliary word (8 words).
/// Entry `i` is `i * REQ_ENTRY` bytes further on.
pub const REQ_NR: u64 = 8;
pub const REQ_ENTRY: u64 = 64;
/// The most entries one request carries (they fit the request page).
pub const REQ_MAX: u64 = 62;
// The stub steps entries with `shl 6`, and the last one ends in the page.
const _: () = assert!(REQ_ENTRY == 64 && REQ_NR + REQ_MAX * REQ_ENTRY <= 0x1000);
/// Response page: the mm thread's result word, its clear-tid word, and
/// scratch used during setup.
pub const RESP: u64 = CTX_BASE + 0x1000;
pub const RESP_DONE: u64 = RESP + 8;
pub const MM_CTID: u64 = RESP + 0x10;
/// Iterations the mm thread spins for the next request before sleeping.
pub const MM_SPIN: u32 = 200;
pub const SCRATCH: u64 = RESP + 0x100;

// A thread's context page (offsets from its slot base).
/// 0: starting, 1: event posted (the thread waits in its handler),
/// 2: resume ordered (the application runs), 3: exit ordered.
pub const ST_STATE: u64 = 0;
pub const ST_STUB_WAITING: u64 = 4;
pub const ST_SENTRY_WAITING: u64 = 8;
pub const ST_FPDIRTY: u64 = 12;
pub const ST_SIGNO: u64 = 16;
/// Bit 0: the CPU and kernel allow `rdfsbase`/`wrfsbase`. Bit 1: the
/// fast path saves FP state with `xsave` (x87, SSE, AVX), else `fxsave`.
pub const ST_FLAGS: u64 = 20;
pub const FLAG_FSGSBASE: u32 = 1;
pub const FLAG_XSAVE_AVX: u32 = 2;
/// Iterations the handler spins before sleeping on the state word.
pub const ST_SPIN: u64 = 24;
/// Cleared by the host kernel (CLONE_CHILD_CLEARTID) when the thread ends.
pub const ST_CTID: u64 = 28;
pub const ST_FSBASE: u64 = 32;
pub const ST_CURFS: u64 = 40;
pub const ST_STACKT: u64 = 48;
pub const ST_GSBASE: u64 = 72;
pub const ST_CURGS: u64 = 80;
/// 1 while the current event came through the fast path (a patched
/// syscall site), 0 when it came through the signal handler.
pub const ST_VIA_FAST: u64 = 88;
/// Set by the sentry before resuming a thread that waits in the fast path:
/// resume through the signal handler instead (from the park site), for
/// state the fast path cannot load.
pub const ST_SLOW: u64 = 92;
/// The slot's own address (the fast path finds it through `gs`).
pub const ST_SELF: u64 = 96;
/// Top of the fast path's stack: the top of the slot's signal stack.
pub const ST_FASTSTACK: u64 = 104;
pub const ST_SIGINFO: u64 = 128;
/// The `struct sigcontext` (23 words) of the frame.
pub const ST_SIGCTX: u64 = 256;
/// Index of `err` (the fault's error code) among the sigcontext's words.
pub const SIGCTX_ERR: u64 = 19;
/// The legacy FXSAVE area of the frame's FP state.
pub const ST_FP: u64 = 512;

pub const STATE_RESUME: u32 = 2;
pub const STATE_EXIT: u32 = 3;

// Data page (offsets from DATA).
pub const D_MEMFD: u64 = 0;
pub const D_CTXFD: u64 = 4;
pub const D_PIPEFD: u64 = 8;
pub const D_FPROG_BASE: u64 = 16;
pub const D_FPROG_APP: u64 = 32;
pub const D_ZERO: u64 = 48;
pub const D_ONES: u64 = 56;
pub const D_SIGLIST: u64 = 64;
pub const D_FPROG_LEADER: u64 = 96;
/// 0-terminated list of signals set to `SIG_IGN` (up to 31).
pub const D_IGNLIST: u64 = 128;
pub const D_FILTERS: u64 = 256;

/// Descriptor numbers inside a stub: the memory file keeps its number;
/// the context area (closed after setup) and the completion pipe get the
/// first two of 3, 4, 5 that are not the memory file's.
pub fn fixed_fds(memfd: i32) -> (u32, u32) {
    if memfd == 3 {
        (4, 5)
    } else if memfd == 4 {
        (3, 5)
    } else {
        (3, 4)
    }
}

/// The signal that interrupts a running stub thread.
pub const INTERRUPT_SIGNAL: i32 = libc::SIGURG;
/// Signals the stub handles (0-terminated in the image).
pub const HANDLED_SIGNALS: [i32; 7] = [
    libc::SIGSYS,
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGFPE,
    libc::SIGILL,
    libc::SIGTRAP,
    INTERRUPT_SIGNAL,
];
/// Signals the stub ignores: only a host process could send them, and
/// their default action would end or stop the stub.
pub const IGNORED_SIGNALS: [i32; 18] = [
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGPIPE,
    libc::SIGALRM,
    libc::SIGTERM,
    libc::SIGSTKFLT,
    libc::SIGTSTP,
    libc::SIGTTIN,
    libc::SIGTTOU,
    libc::SIGXCPU,
    libc::SIGXFSZ,
    libc::SIGVTALRM,
    libc::SIGPROF,
    libc::SIGIO,
    libc::SIGPWR,
];
const fn mask_of(sigs: &[i32]) -> u64 {
    let mut m = 0u64;
    let mut i = 0;
    while i < sigs.len() {
        m |= 1 << (sigs[i] - 1);
        i += 1;
    }
    m
}
/// Blocked while a handler runs: handlers never nest.
pub const SA_MASK: u64 = mask_of(&HANDLED_SIGNALS);
pub const SA_FLAGS: u64 = (libc::SA_SIGINFO | libc::SA_ONSTACK | SA_RESTORER) as u64;

/// Flags of every clone the stub makes (the mm thread, new threads).
pub const THREAD_FLAGS: u64 = (libc::CLONE_VM
    | libc::CLONE_FS
    | libc::CLONE_FILES
    | libc::CLONE_SIGHAND
    | libc::CLONE_THREAD
    | libc::CLONE_SYSVSEM
    | libc::CLONE_CHILD_CLEARTID) as u64;
const SA_RESTORER: i32 = 0x0400_0000;
