//! The trap stub's machine code and the image it is copied into.
//!
//! The code is assembled into the sentry binary by `global_asm!` between
//! the symbols `rvisor_trap_stub_start` and `rvisor_trap_stub_end`, and
//! copied byte for byte into the stub image at [`CODE_OFFSET`]. It only
//! uses RIP-relative references to its own labels and absolute references
//! to the stub's fixed addresses (passed in as `const` operands), so it runs
//! unchanged at its new place. It uses no libc and no Rust runtime.
//!
//! Data the code needs at run time (descriptor numbers, seccomp programs,
//! signal masks) lives in the image's data page at [`DATA`], written by
//! [`image`] when the platform is created.

use super::layout::*;

/// Offset of the code inside the stub image (after the ELF headers).
pub const CODE_OFFSET: u64 = 0x80;

std::arch::global_asm!(
    ".pushsection .text.rvisor_trap_stub,\"ax\",@progbits",
    ".balign 16",
    ".globl rvisor_trap_stub_start",
    "rvisor_trap_stub_start:",
    // ---- Leader entry (the ELF entry point). -------------------------
    // munmap(0, STUB_BASE)
    "mov eax, 11",
    "xor edi, edi",
    "mov rsi, {stub_base}",
    "syscall",
    // munmap(STUB_END, TASK_SIZE - STUB_END): host stack, vdso, vvar.
    "mov eax, 11",
    "mov rdi, {stub_end}",
    "mov rsi, {task_size} - {stub_end}",
    "syscall",
    "mov rbx, {data}",
    // mmap(CTX_BASE, CTX_SIZE, RW, MAP_SHARED|MAP_FIXED, ctxfd, 0)
    "mov eax, 9",
    "mov rdi, {ctx_base}",
    "mov rsi, {ctx_size}",
    "mov edx, 3",
    "mov r10d, 0x11",
    "mov r8d, dword ptr [rbx + {d_ctxfd}]",
    "xor r9d, r9d",
    "syscall",
    "cmp rax, rdi",
    "jne 90f",
    // mmap(CTX_BASE, PAGE, PROT_READ, MAP_SHARED|MAP_FIXED, ctxfd, 0):
    // the request page is read-only in the stub.
    "mov eax, 9",
    "mov rdi, {ctx_base}",
    "mov esi, 0x1000",
    "mov edx, 1",
    "mov r10d, 0x11",
    "mov r8d, dword ptr [rbx + {d_ctxfd}]",
    "xor r9d, r9d",
    "syscall",
    "cmp rax, rdi",
    "jne 90f",
    // close(ctxfd)
    "mov eax, 3",
    "mov edi, dword ptr [rbx + {d_ctxfd}]",
    "syscall",
    // struct sigaction at SCRATCH: handler, flags, restorer, mask.
    "mov rsi, {scratch}",
    "lea rax, [rip + 50f]",
    "mov qword ptr [rsi], rax",
    "mov qword ptr [rsi + 8], {sa_flags}",
    "lea rax, [rip + 80f]",
    "mov qword ptr [rsi + 16], rax",
    "mov rax, {sa_mask}",
    "mov qword ptr [rsi + 24], rax",
    // rt_sigaction(sig, SCRATCH, NULL, 8) for each handled signal.
    "lea r13, [rbx + {d_siglist}]",
    "2:",
    "mov edi, dword ptr [r13]",
    "test edi, edi",
    "jz 3f",
    "mov eax, 13",
    "mov rsi, {scratch}",
    "xor edx, edx",
    "mov r10d, 8",
    "syscall",
    "test rax, rax",
    "jnz 90f",
    "add r13, 4",
    "jmp 2b",
    "3:",
    // Signals host processes might send (the sentry never does) are
    // ignored: sigaction { SIG_IGN } at SCRATCH + 64.
    "mov rsi, {scratch} + 64",
    "mov qword ptr [rsi], 1",
    "mov qword ptr [rsi + 8], 0",
    "mov qword ptr [rsi + 16], 0",
    "mov qword ptr [rsi + 24], 0",
    "lea r13, [rbx + {d_ignlist}]",
    "4:",
    "mov edi, dword ptr [r13]",
    "test edi, edi",
    "jz 5f",
    "mov eax, 13",
    "mov rsi, {scratch} + 64",
    "xor edx, edx",
    "mov r10d, 8",
    "syscall",
    "test rax, rax",
    "jnz 90f",
    "add r13, 4",
    "jmp 4b",
    "5:",
    // Block every signal: the mm thread inherits this mask and keeps it.
    "mov eax, 14",
    "mov edi, 2",
    "lea rsi, [rbx + {d_ones}]",
    "xor edx, edx",
    "mov r10d, 8",
    "syscall",
    // prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    "mov eax, 157",
    "mov edi, 38",
    "mov esi, 1",
    "xor edx, edx",
    "xor r10d, r10d",
    "xor r8d, r8d",
    "syscall",
    "test rax, rax",
    "jnz 90f",
    // clone(THREAD_FLAGS, 0, 0, MM_CTID, 0): the mm thread, which
    // installs the base filter itself (in parallel with the leader's).
    "mov eax, 56",
    "mov rdi, {thread_flags}",
    "xor esi, esi",
    "xor edx, edx",
    "mov r10, {mm_ctid}",
    "xor r8d, r8d",
    "syscall",
    "test rax, rax",
    "jz 30f",
    "js 90f",
    // The leader's filter also refuses `exit` (only the group may end:
    // a zombie leader could not be told from a busy one).
    "mov r14, {data} + {d_fprog_leader}",
    "mov r12, {ctx_base} + {slot_size}",
    // ---- Thread start (r12 = slot base, r14 = its filter program).
    // Uses no stack and no memory the application could change, except
    // the stack_t (harmless).
    "20:",
    "mov rbx, {data}",
    // sigaltstack(&slot.stack_t, NULL)
    "mov eax, 131",
    "lea rdi, [r12 + {st_stackt}]",
    "xor esi, esi",
    "syscall",
    "test rax, rax",
    "jnz 90f",
    // arch_prctl(ARCH_SET_GS, slot): gs points at the slot while the
    // application has no gs base of its own (the fast path's anchor).
    "mov eax, 158",
    "mov edi, 0x1001",
    "mov rsi, r12",
    "syscall",
    "test rax, rax",
    "jnz 90f",
    // seccomp(SECCOMP_SET_MODE_FILTER, 0, filter)
    "mov eax, 317",
    "mov edi, 1",
    "xor esi, esi",
    "mov rdx, r14",
    "syscall",
    "test rax, rax",
    "jnz 90f",
    // rt_sigprocmask(SIG_SETMASK, &zero, NULL, 8)
    "mov eax, 14",
    "mov edi, 2",
    "lea rsi, [rbx + {d_zero}]",
    "xor edx, edx",
    "mov r10d, 8",
    "syscall",
    // Park: a trapped call enters the handler, which reports "ready".
    ".globl rvisor_trap_stub_park",
    "rvisor_trap_stub_park:",
    "21:",
    "mov eax, 39",
    "syscall",
    "jmp 21b",
    // ---- The mm thread: executes the sentry's requests from the
    // read-only request page. No stack, all signals blocked.
    "30:",
    // seccomp(SECCOMP_SET_MODE_FILTER, 0, &base filter): inherited by
    // every thread it clones later.
    "mov eax, 317",
    "mov edi, 1",
    "xor esi, esi",
    "mov rdx, {data} + {d_fprog_base}",
    "syscall",
    "test rax, rax",
    "jnz 90f",
    "xor r15d, r15d",
    "31:",
    "mov ecx, {mm_spin}",
    "34:",
    "mov rbx, {ctx_base}",
    "mov eax, dword ptr [rbx + {req_seq}]",
    "cmp eax, r15d",
    "jne 32f",
    "sub ecx, 1",
    "jb 35f",
    "pause",
    "jmp 34b",
    "35:",
    // futex(&req.seq, FUTEX_WAIT, last, NULL)
    "mov eax, 202",
    "mov rdi, rbx",
    "xor esi, esi",
    "mov edx, r15d",
    "xor r10d, r10d",
    "syscall",
    "jmp 31b",
    "32:",
    "mov r15d, eax",
    // rbp walks the entries; the request page is read-only here, so the
    // count and entries cannot change under us.
    "lea rbp, [rbx + {req_nr}]",
    "36:",
    "mov r13, qword ptr [rbp]",
    "mov rdi, qword ptr [rbp + 8]",
    "mov rsi, qword ptr [rbp + 16]",
    "mov rdx, qword ptr [rbp + 24]",
    "mov r10, qword ptr [rbp + 32]",
    "mov r8, qword ptr [rbp + 40]",
    "mov r9, qword ptr [rbp + 48]",
    "mov r12, qword ptr [rbp + 56]",
    "mov r14, {data} + {d_fprog_app}",
    "mov rax, r13",
    "syscall",
    "cmp r13, 56",
    "jne 37f",
    "test rax, rax",
    "jz 20b",
    "37:",
    // A failure ends the batch, and so does its last entry.
    "cmp rax, -4095",
    "jae 33f",
    "add rbp, {req_entry}",
    "mov ecx, dword ptr [rbx + {req_count}]",
    "cmp ecx, {req_max}",
    "jbe 38f",
    "mov ecx, {req_max}",
    "38:",
    "shl rcx, 6",
    "lea rcx, [rbx + rcx + {req_nr}]",
    "cmp rbp, rcx",
    "jb 36b",
    "33:",
    "mov r14, {resp}",
    "mov qword ptr [r14], rax",
    // write(pipefd, &resp.result, 8): the completion the app cannot forge.
    "mov rcx, {data}",
    "mov edi, dword ptr [rcx + {d_pipefd}]",
    "mov eax, 1",
    "mov rsi, r14",
    "mov edx, 8",
    "syscall",
    // A hint for the sentry's spin; the pipe stays authoritative.
    "mov dword ptr [r14 + {resp_done_off}], r15d",
    "jmp 31b",
    // ---- The signal handler: edi = signo, rsi = siginfo, rdx = ucontext.
    "50:",
    // A signal that interrupted the fast path (its own code or the
    // subroutines it calls, which the handler only runs with signals
    // blocked): one sent while it saves or waits is dropped (its own
    // event follows at once); in its exit, the context page already holds
    // the registers and bases it is loading, so they stay there instead
    // of the half-loaded ones (r15 = 1).
    "xor r15d, r15d",
    "mov rax, qword ptr [rdx + 168]",
    "lea rcx, [rip + 100f]",
    "cmp rax, rcx",
    "jb 41f",
    "lea rcx, [rip + 110f]",
    "cmp rax, rcx",
    "jb 42f",
    "lea rcx, [rip + 120f]",
    "cmp rax, rcx",
    "jb 43f",
    "jmp 44f",
    "41:",
    "lea rcx, [rip + 130f]",
    "cmp rax, rcx",
    "jb 44f",
    "lea rcx, [rip + 131f]",
    "cmp rax, rcx",
    "jb 42f",
    "lea rcx, [rip + 133f]",
    "cmp rax, rcx",
    "jb 43f",
    "jmp 44f",
    "42:",
    "cmp edi, {sigurg}",
    "je 40f",
    "cmp dword ptr [rsi + 8], 0",
    "jg 44f",
    "40:",
    "ret",
    "43:",
    "mov r15d, 1",
    "44:",
    "mov r12, rsp",
    "and r12, -{slot_size}",
    "mov dword ptr [r12 + {st_via_fast}], 0",
    "mov dword ptr [r12 + {st_signo}], edi",
    "mov rbx, rdx",
    "lea rdi, [r12 + {st_siginfo}]",
    "mov ecx, 16",
    "rep movsq",
    "test r15d, r15d",
    "jnz 45f",
    "lea rsi, [rbx + 40]",
    "lea rdi, [r12 + {st_sigctx}]",
    "mov ecx, 23",
    "rep movsq",
    "45:",
    "mov rsi, qword ptr [rbx + 224]",
    "test rsi, rsi",
    "jz 51f",
    "lea rdi, [r12 + {st_fp}]",
    // The legacy area, or with an XSAVE frame big enough to hold AVX the
    // standard-format prefix through the AVX component (832 bytes).
    "mov ecx, 64",
    "cmp dword ptr [rsi + 464], 0x46505853",
    "jne 48f",
    "cmp dword ptr [rsi + 480], 832",
    "jb 48f",
    "mov ecx, 104",
    "48:",
    "rep movsq",
    "51:",
    "test r15d, r15d",
    "jnz 39f",
    "call 141f",
    "jmp 38f",
    "39:",
    "call 143f",
    "38:",
    "call 140f",
    "cmp dword ptr [r12 + {st_state}], 3",
    "je 70f",
    // Registers back into the frame (through cs/gs/fs/ss).
    "lea rsi, [r12 + {st_sigctx}]",
    "lea rdi, [rbx + 40]",
    "mov ecx, 19",
    "rep movsq",
    "cmp dword ptr [r12 + {st_fpdirty}], 0",
    "je 57f",
    "mov dword ptr [r12 + {st_fpdirty}], 0",
    "mov rdi, qword ptr [rbx + 224]",
    "test rdi, rdi",
    "jz 57f",
    // The legacy area without its sw_reserved tail (bytes 464..512).
    "lea rsi, [r12 + {st_fp}]",
    "mov ecx, 58",
    "rep movsq",
    "mov rdi, qword ptr [rbx + 224]",
    "cmp dword ptr [rdi + 464], 0x46505853",
    "jne 57f",
    "or dword ptr [rdi + 512], 3",
    // The AVX upper halves, when the frame has room for them.
    "cmp dword ptr [rdi + 480], 832",
    "jb 57f",
    "or dword ptr [rdi + 512], 4",
    "lea rsi, [r12 + {st_fp} + 576]",
    "add rdi, 576",
    "mov ecx, 32",
    "rep movsq",
    "57:",
    // The application runs with no signal blocked, and the signal stack
    // is the slot's again whatever an rt_sigreturn of its own set.
    "mov qword ptr [rbx + 296], 0",
    "mov rax, qword ptr [r12 + {st_stackt}]",
    "mov qword ptr [rbx + 16], rax",
    "mov rax, qword ptr [r12 + {st_stackt} + 8]",
    "mov qword ptr [rbx + 24], rax",
    "mov rax, qword ptr [r12 + {st_stackt} + 16]",
    "mov qword ptr [rbx + 32], rax",
    "call 142f",
    "ret",
    // ---- Subroutines of the handler and the fast path (r12 = slot).
    // The fast path's waiting part: 130..131; its exit part: 132..133.
    "130:",
    // 143: read the thread's actual fs/gs base, where the CPU allows.
    "143:",
    "test dword ptr [r12 + {st_flags}], 1",
    "jz 52f",
    "rdfsbase rax",
    "mov qword ptr [r12 + {st_curfs}], rax",
    "rdgsbase rax",
    "mov qword ptr [r12 + {st_curgs}], rax",
    "52:",
    "ret",
    // 141: record the thread's fs/gs base.
    "141:",
    "call 143b",
    "mov rax, qword ptr [r12 + {st_curfs}]",
    "mov qword ptr [r12 + {st_fsbase}], rax",
    "mov rax, qword ptr [r12 + {st_curgs}]",
    "mov qword ptr [r12 + {st_gsbase}], rax",
    "ret",
    // 140: publish the event, wake the sentry if it sleeps, and wait
    // until the state is no longer "event".
    "140:",
    "mov eax, 1",
    "xchg dword ptr [r12 + {st_state}], eax",
    "mov eax, dword ptr [r12 + {st_sentry_waiting}]",
    "test eax, eax",
    "jz 53f",
    "mov eax, 202",
    "lea rdi, [r12 + {st_state}]",
    "mov esi, 1",
    "mov edx, 1",
    "syscall",
    "53:",
    "mov ecx, dword ptr [r12 + {st_spin}]",
    "54:",
    "cmp dword ptr [r12 + {st_state}], 1",
    "jne 56f",
    "sub ecx, 1",
    "jb 55f",
    // A zero budget written meanwhile: the syscall blocks, stop spinning.
    "cmp dword ptr [r12 + {st_spin}], 0",
    "je 55f",
    "pause",
    "jmp 54b",
    "55:",
    "mov eax, 1",
    "xchg dword ptr [r12 + {st_stub_waiting}], eax",
    "mov eax, 202",
    "lea rdi, [r12 + {st_state}]",
    "xor esi, esi",
    "mov edx, 1",
    "xor r10d, r10d",
    "syscall",
    "mov dword ptr [r12 + {st_stub_waiting}], 0",
    // Woken without an answer: spin again if the sentry gave a budget.
    "mov ecx, dword ptr [r12 + {st_spin}]",
    "jmp 54b",
    "56:",
    "ret",
    "131:",
    // 142: load the fs/gs base the sentry set, if it changed (the new
    // value is recorded after it is loaded).
    "132:",
    "142:",
    "mov rax, qword ptr [r12 + {st_fsbase}]",
    "cmp rax, qword ptr [r12 + {st_curfs}]",
    "je 59f",
    "test dword ptr [r12 + {st_flags}], 1",
    "jz 58f",
    "wrfsbase rax",
    "jmp 63f",
    "58:",
    "mov rsi, rax",
    "mov eax, 158",
    "mov edi, 0x1002",
    "syscall",
    "mov rax, rsi",
    "63:",
    "mov qword ptr [r12 + {st_curfs}], rax",
    "59:",
    "mov rax, qword ptr [r12 + {st_gsbase}]",
    "cmp rax, qword ptr [r12 + {st_curgs}]",
    "je 62f",
    "test dword ptr [r12 + {st_flags}], 1",
    "jz 61f",
    "wrgsbase rax",
    "jmp 64f",
    "61:",
    "mov rsi, rax",
    "mov eax, 158",
    "mov edi, 0x1001",
    "syscall",
    "mov rax, rsi",
    "64:",
    "mov qword ptr [r12 + {st_curgs}], rax",
    "62:",
    "ret",
    "133:",
    // Retire this thread.
    "70:",
    "mov eax, 60",
    "xor edi, edi",
    "syscall",
    "jmp 70b",
    // sa_restorer
    "80:",
    "mov eax, 15",
    "syscall",
    "jmp 80b",
    // Setup failed.
    "90:",
    "mov eax, 231",
    "mov edi, 9",
    "syscall",
    "jmp 90b",
    // ---- The fast path: a patched syscall site's trampoline jumps here
    // with eax = the syscall number and rcx = the return address (r11 is
    // free: `syscall` clobbers rcx and r11 too); gs points at the slot.
    // It saves the registers as the handler would, without a signal, on
    // a stack at the top of the slot (never the application's: its red
    // zone may be live).
    ".globl rvisor_trap_stub_fast",
    "rvisor_trap_stub_fast:",
    "100:",
    "mov qword ptr gs:[{st_sigctx} + 120], rsp",
    "mov rsp, qword ptr gs:[{st_faststack}]",
    "pushfq",
    "pop r11",
    "mov qword ptr gs:[{st_sigctx}], r8",
    "mov qword ptr gs:[{st_sigctx} + 8], r9",
    "mov qword ptr gs:[{st_sigctx} + 16], r10",
    "mov qword ptr gs:[{st_sigctx} + 24], r11",
    "mov qword ptr gs:[{st_sigctx} + 32], r12",
    "mov qword ptr gs:[{st_sigctx} + 40], r13",
    "mov qword ptr gs:[{st_sigctx} + 48], r14",
    "mov qword ptr gs:[{st_sigctx} + 56], r15",
    "mov qword ptr gs:[{st_sigctx} + 64], rdi",
    "mov qword ptr gs:[{st_sigctx} + 72], rsi",
    "mov qword ptr gs:[{st_sigctx} + 80], rbp",
    "mov qword ptr gs:[{st_sigctx} + 88], rbx",
    "mov qword ptr gs:[{st_sigctx} + 96], rdx",
    "mov qword ptr gs:[{st_sigctx} + 104], rax",
    "mov qword ptr gs:[{st_sigctx} + 112], rcx",
    "mov qword ptr gs:[{st_sigctx} + 128], rcx",
    "mov qword ptr gs:[{st_sigctx} + 136], r11",
    "mov r12, qword ptr gs:[{st_self}]",
    "mov rax, {user_csss}",
    "mov qword ptr [r12 + {st_sigctx} + 144], rax",
    // What the handler would have recorded for a seccomp trap.
    "mov dword ptr [r12 + {st_signo}], 31",
    "mov dword ptr [r12 + {st_siginfo} + 8], 1",
    "mov dword ptr [r12 + {st_via_fast}], 1",
    "test dword ptr [r12 + {st_flags}], 2",
    "jz 101f",
    "mov eax, 7",
    "xor edx, edx",
    "xsave64 [r12 + {st_fp}]",
    "mov dword ptr [r12 + {st_fp} + 464], 0x46505853",
    "jmp 102f",
    "101:",
    "fxsave64 [r12 + {st_fp}]",
    "mov dword ptr [r12 + {st_fp} + 464], 0",
    "102:",
    "call 141b",
    "call 140b",
    "cmp dword ptr [r12 + {st_state}], 3",
    "je 70b",
    // State only the handler's rt_sigreturn can load: trap from the park
    // site, and the sentry resumes the thread through the handler.
    "cmp dword ptr [r12 + {st_slow}], 0",
    "jne 21b",
    "110:",
    "call 142b",
    "push qword ptr [r12 + {st_sigctx} + 136]",
    "popfq",
    "mov r8, qword ptr [r12 + {st_sigctx}]",
    "mov r9, qword ptr [r12 + {st_sigctx} + 8]",
    "mov r10, qword ptr [r12 + {st_sigctx} + 16]",
    "mov r11, qword ptr [r12 + {st_sigctx} + 24]",
    "mov r13, qword ptr [r12 + {st_sigctx} + 40]",
    "mov r14, qword ptr [r12 + {st_sigctx} + 48]",
    "mov r15, qword ptr [r12 + {st_sigctx} + 56]",
    "mov rdi, qword ptr [r12 + {st_sigctx} + 64]",
    "mov rsi, qword ptr [r12 + {st_sigctx} + 72]",
    "mov rbp, qword ptr [r12 + {st_sigctx} + 80]",
    "mov rbx, qword ptr [r12 + {st_sigctx} + 88]",
    "mov rdx, qword ptr [r12 + {st_sigctx} + 96]",
    "mov rax, qword ptr [r12 + {st_sigctx} + 104]",
    "mov rcx, qword ptr [r12 + {st_sigctx} + 112]",
    "mov rsp, qword ptr [r12 + {st_sigctx} + 120]",
    "mov r12, qword ptr [r12 + {st_sigctx} + 32]",
    "jmp qword ptr gs:[{st_sigctx} + 128]",
    "120:",
    ".globl rvisor_trap_stub_end",
    "rvisor_trap_stub_end:",
    ".popsection",
    stub_base = const STUB_BASE,
    stub_end = const STUB_BASE + STUB_SIZE,
    task_size = const HOST_TASK_SIZE,
    data = const DATA,
    ctx_base = const CTX_BASE,
    ctx_size = const CTX_SIZE,
    slot_size = const SLOT_SIZE,
    scratch = const SCRATCH,
    resp = const RESP,
    mm_ctid = const MM_CTID,
    sa_flags = const SA_FLAGS,
    sa_mask = const SA_MASK,
    thread_flags = const THREAD_FLAGS,
    d_ctxfd = const D_CTXFD,
    d_pipefd = const D_PIPEFD,
    d_siglist = const D_SIGLIST,
    d_ignlist = const D_IGNLIST,
    d_ones = const D_ONES,
    d_zero = const D_ZERO,
    d_fprog_base = const D_FPROG_BASE,
    d_fprog_app = const D_FPROG_APP,
    d_fprog_leader = const D_FPROG_LEADER,
    mm_spin = const MM_SPIN,
    resp_done_off = const RESP_DONE - RESP,
    req_seq = const REQ_SEQ,
    req_nr = const REQ_NR,
    req_count = const REQ_COUNT,
    req_max = const REQ_MAX,
    req_entry = const REQ_ENTRY,
    st_state = const ST_STATE,
    st_stub_waiting = const ST_STUB_WAITING,
    st_sentry_waiting = const ST_SENTRY_WAITING,
    st_fpdirty = const ST_FPDIRTY,
    st_signo = const ST_SIGNO,
    st_flags = const ST_FLAGS,
    st_spin = const ST_SPIN,
    st_fsbase = const ST_FSBASE,
    st_curfs = const ST_CURFS,
    st_gsbase = const ST_GSBASE,
    st_curgs = const ST_CURGS,
    st_stackt = const ST_STACKT,
    st_siginfo = const ST_SIGINFO,
    st_sigctx = const ST_SIGCTX,
    st_fp = const ST_FP,
    st_via_fast = const ST_VIA_FAST,
    st_slow = const ST_SLOW,
    st_self = const ST_SELF,
    st_faststack = const ST_FASTSTACK,
    sigurg = const INTERRUPT_SIGNAL,
    user_csss = const abi::regs::USER_CS | (abi::regs::USER_SS << 48),
);

extern "C" {
    static rvisor_trap_stub_start: u8;
    static rvisor_trap_stub_park: u8;
    static rvisor_trap_stub_fast: u8;
    static rvisor_trap_stub_end: u8;
}

/// The park site's address in the stub: `mov eax, SYS_getpid; syscall`
/// (trapped), looping.
pub fn park_site() -> u64 {
    let start = &raw const rvisor_trap_stub_start;
    let park = &raw const rvisor_trap_stub_park;
    STUB_BASE + CODE_OFFSET + (park as u64 - start as u64)
}

/// The fast path's entry in the stub: where a patched syscall site's
/// trampoline jumps, with `eax` = number and `rcx` = return address.
pub fn fast_entry() -> u64 {
    let start = &raw const rvisor_trap_stub_start;
    let fast = &raw const rvisor_trap_stub_fast;
    STUB_BASE + CODE_OFFSET + (fast as u64 - start as u64)
}

/// The assembled stub code, as it sits in the sentry binary.
pub fn code() -> &'static [u8] {
    let start = &raw const rvisor_trap_stub_start;
    let end = &raw const rvisor_trap_stub_end;
    let len = (end as usize).saturating_sub(start as usize);
    // SAFETY: both symbols delimit one contiguous block of our own
    // read-only text section, defined by the global_asm! above.
    unsafe { std::slice::from_raw_parts(start, len) }
}

// ---- seccomp filters ------------------------------------------------

const BPF_LD_W_ABS: u16 = 0x20;
const BPF_JEQ_K: u16 = 0x15;
const BPF_JGE_K: u16 = 0x35;
const BPF_RET_K: u16 = 0x06;
const RET_ALLOW: u32 = 0x7fff_0000;
const RET_TRAP: u32 = 0x0003_0000;
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;

/// A constraint on one syscall argument.
#[derive(Clone, Copy)]
pub enum Arg {
    /// The full 64-bit argument equals the value.
    Eq(usize, u64),
    /// The low 32 bits equal the value (for `int` arguments, which the
    /// kernel truncates).
    Lo(usize, u32),
    /// The low 32 bits are one of the values.
    LoOneOf(usize, &'static [u32]),
    /// The high 32 bits are zero and the low ones one of the values.
    OneOf(usize, &'static [u32]),
}

struct Bpf(Vec<u8>);

impl Bpf {
    fn ins(&mut self, code: u16, jt: u8, jf: u8, k: u32) {
        self.0.extend_from_slice(&code.to_le_bytes());
        self.0.push(jt);
        self.0.push(jf);
        self.0.extend_from_slice(&k.to_le_bytes());
    }
    fn ld(&mut self, off: u32) {
        self.ins(BPF_LD_W_ABS, 0, 0, off);
    }
    /// `if A != k: return TRAP`
    fn require_eq(&mut self, k: u32) {
        self.ins(BPF_JEQ_K, 1, 0, k);
        self.ins(BPF_RET_K, 0, 0, RET_TRAP);
    }
    fn len(&self) -> usize {
        self.0.len() / 8
    }
}

fn arg_lo(i: usize) -> u32 {
    16 + 8 * i as u32
}

/// A filter that traps every call not made from the stub's code, not of
/// the x86-64 ABI, or not in `allow` with its argument constraints.
pub fn filter(allow: &[(u32, &[Arg])]) -> Vec<u8> {
    let mut f = Bpf(Vec::new());
    f.ld(4); // arch
    f.require_eq(AUDIT_ARCH_X86_64);
    f.ld(12); // instruction_pointer, high half
    f.require_eq((STUB_BASE >> 32) as u32);
    f.ld(8); // low half: STUB_BASE <= ip < STUB_END
    let lo = STUB_BASE as u32;
    f.ins(BPF_JGE_K, 1, 0, lo);
    f.ins(BPF_RET_K, 0, 0, RET_TRAP);
    f.ins(BPF_JGE_K, 0, 1, lo + STUB_SIZE as u32);
    f.ins(BPF_RET_K, 0, 0, RET_TRAP);
    for (nr, args) in allow {
        let mut body = Bpf(Vec::new());
        for a in args.iter() {
            match *a {
                Arg::Eq(i, v) => {
                    body.ld(arg_lo(i));
                    body.require_eq(v as u32);
                    body.ld(arg_lo(i) + 4);
                    body.require_eq((v >> 32) as u32);
                }
                Arg::Lo(i, v) => {
                    body.ld(arg_lo(i));
                    body.require_eq(v);
                }
                Arg::LoOneOf(i, vs) | Arg::OneOf(i, vs) => {
                    if let Arg::OneOf(..) = *a {
                        body.ld(arg_lo(i) + 4);
                        body.require_eq(0);
                    }
                    body.ld(arg_lo(i));
                    let n = vs.len();
                    for (j, v) in vs.iter().enumerate() {
                        body.ins(BPF_JEQ_K, (n - j) as u8, 0, *v);
                    }
                    body.ins(BPF_RET_K, 0, 0, RET_TRAP);
                }
            }
        }
        body.ins(BPF_RET_K, 0, 0, RET_ALLOW);
        f.ld(0); // nr
        f.ins(BPF_JEQ_K, 0, body.len() as u8, *nr);
        f.0.extend_from_slice(&body.0);
    }
    f.ins(BPF_RET_K, 0, 0, RET_TRAP);
    f.0
}

/// `mmap` flags the mm thread uses: the memory file, shared, at a fixed
/// address, perhaps populated.
const MAP_FLAGS: &[u32] = &[
    (libc::MAP_SHARED | libc::MAP_FIXED) as u32,
    (libc::MAP_SHARED | libc::MAP_FIXED | libc::MAP_POPULATE) as u32,
];
/// `futex` operations the stub uses: WAIT and WAKE, shared or private.
const FUTEX_OPS: &[u32] = &[0, 1, 128, 129];
/// `ARCH_SET_GS`, `ARCH_SET_FS`.
const ARCH_SET_BASES: &[u32] = &[0x1001, 0x1002];

/// The process-wide filter: everything any stub thread may ever do.
pub fn base_filter(memfd: i32) -> Vec<u8> {
    filter(&[
        (
            libc::SYS_write as u32,
            &[Arg::Lo(0, fixed_fds(memfd).1), Arg::Eq(2, 8)],
        ),
        (
            libc::SYS_mmap as u32,
            &[Arg::OneOf(3, MAP_FLAGS), Arg::Lo(4, memfd as u32)],
        ),
        (libc::SYS_munmap as u32, &[]),
        (libc::SYS_rt_sigprocmask as u32, &[]),
        (libc::SYS_rt_sigreturn as u32, &[]),
        (libc::SYS_clone as u32, &[Arg::Eq(0, THREAD_FLAGS)]),
        (libc::SYS_exit as u32, &[]),
        (libc::SYS_sigaltstack as u32, &[]),
        (
            libc::SYS_arch_prctl as u32,
            &[Arg::LoOneOf(0, ARCH_SET_BASES)],
        ),
        (libc::SYS_futex as u32, &[Arg::LoOneOf(1, FUTEX_OPS)]),
        (libc::SYS_exit_group as u32, &[]),
        (libc::SYS_seccomp as u32, &[Arg::Lo(0, 1), Arg::Lo(1, 0)]),
    ])
}

/// What application threads may call (from stub code). `exit` first:
/// [`leader_filter`] leaves it out.
const APP_ALLOW: [(u32, &[Arg]); 5] = [
    (libc::SYS_exit as u32, &[]),
    (libc::SYS_rt_sigprocmask as u32, &[]),
    (libc::SYS_rt_sigreturn as u32, &[]),
    (
        libc::SYS_arch_prctl as u32,
        &[Arg::LoOneOf(0, ARCH_SET_BASES)],
    ),
    (libc::SYS_futex as u32, &[Arg::LoOneOf(1, FUTEX_OPS)]),
];

/// The filter of every application thread but the leader.
pub fn app_filter() -> Vec<u8> {
    filter(&APP_ALLOW)
}

/// The leader's filter: the application filter without `exit`.
pub fn leader_filter() -> Vec<u8> {
    filter(&APP_ALLOW[1..])
}

/// Builds the stub: an ELF executable with one read+execute segment of
/// [`STUB_SIZE`] bytes at [`STUB_BASE`]: headers, code, and the data page.
pub fn image(memfd: i32) -> Result<Vec<u8>, &'static str> {
    let code = code();
    if CODE_OFFSET as usize + code.len() > (DATA - STUB_BASE) as usize {
        return Err("stub code too large");
    }
    let mut img = vec![0u8; STUB_SIZE as usize];
    img[0..4].copy_from_slice(b"\x7fELF");
    img[4] = 2; // 64-bit
    img[5] = 1; // little endian
    img[6] = 1; // version
    let put = |img: &mut Vec<u8>, at: usize, v: &[u8]| img[at..at + v.len()].copy_from_slice(v);
    put(&mut img, 16, &2u16.to_le_bytes()); // ET_EXEC
    put(&mut img, 18, &0x3eu16.to_le_bytes()); // EM_X86_64
    put(&mut img, 20, &1u32.to_le_bytes());
    put(&mut img, 24, &(STUB_BASE + CODE_OFFSET).to_le_bytes()); // e_entry
    put(&mut img, 32, &64u64.to_le_bytes()); // e_phoff
    put(&mut img, 52, &64u16.to_le_bytes()); // e_ehsize
    put(&mut img, 54, &56u16.to_le_bytes()); // e_phentsize
    put(&mut img, 56, &1u16.to_le_bytes()); // e_phnum
    put(&mut img, 64, &1u32.to_le_bytes()); // PT_LOAD
    put(&mut img, 68, &5u32.to_le_bytes()); // PF_R | PF_X
    put(&mut img, 72, &0u64.to_le_bytes()); // p_offset
    put(&mut img, 80, &STUB_BASE.to_le_bytes());
    put(&mut img, 88, &STUB_BASE.to_le_bytes());
    put(&mut img, 96, &STUB_SIZE.to_le_bytes()); // p_filesz
    put(&mut img, 104, &STUB_SIZE.to_le_bytes()); // p_memsz
    put(&mut img, 112, &0x1000u64.to_le_bytes());
    put(&mut img, CODE_OFFSET as usize, code);

    let d = (DATA - STUB_BASE) as usize;
    put(
        &mut img,
        d + D_MEMFD as usize,
        &(memfd as u32).to_le_bytes(),
    );
    let (ctx_num, pipe_num) = fixed_fds(memfd);
    put(&mut img, d + D_CTXFD as usize, &ctx_num.to_le_bytes());
    put(&mut img, d + D_PIPEFD as usize, &pipe_num.to_le_bytes());
    put(&mut img, d + D_ONES as usize, &u64::MAX.to_le_bytes());
    put(&mut img, d + D_ZERO as usize, &0u64.to_le_bytes());
    for (i, s) in IGNORED_SIGNALS.iter().enumerate() {
        put(
            &mut img,
            d + D_IGNLIST as usize + 4 * i,
            &(*s as u32).to_le_bytes(),
        );
    }
    for (i, s) in HANDLED_SIGNALS.iter().enumerate() {
        put(
            &mut img,
            d + D_SIGLIST as usize + 4 * i,
            &(*s as u32).to_le_bytes(),
        );
    }
    let base = base_filter(memfd);
    let app = app_filter();
    let leader = leader_filter();
    let base_at = D_FILTERS as usize;
    let app_at = base_at + base.len();
    let leader_at = app_at + app.len();
    if d + leader_at + leader.len() > img.len() {
        return Err("stub filters too large");
    }
    put(&mut img, d + base_at, &base);
    put(&mut img, d + app_at, &app);
    put(&mut img, d + leader_at, &leader);
    // struct sock_fprog { u16 len; u64 filter; }
    let fprog = |img: &mut Vec<u8>, at: u64, prog: &[u8], prog_at: usize| {
        put(
            img,
            d + at as usize,
            &((prog.len() / 8) as u16).to_le_bytes(),
        );
        put(
            img,
            d + at as usize + 8,
            &(DATA + prog_at as u64).to_le_bytes(),
        );
    };
    fprog(&mut img, D_FPROG_BASE, &base, base_at);
    fprog(&mut img, D_FPROG_APP, &app, app_at);
    fprog(&mut img, D_FPROG_LEADER, &leader, leader_at);
    Ok(img)
}
