//! The fault side of userfaultfd: a task whose access found a missing page
//! in a registered range hands the fault to the handler (a message on the
//! userfaultfd) and sleeps until the page is filled and it is woken, the
//! range is unregistered or the descriptor closed. Then it returns to the
//! application, which retries the access. The sleep is interruptible: a
//! signal is delivered first (the access faults again afterwards, a new
//! message), SIGKILL ends the task.

use std::sync::{Arc, MutexGuard};

use abi::signal::{BUS_ADRERR, SIGBUS};
use abi::{mman::UFFD_FEATURE_SIGBUS, Errno};
use mm::{MemoryManager, Userfault};
use waiter::events;

use crate::Task;
use abi::signal::SigInfo;

/// Serves a fault at `addr` if it belongs to a userfaultfd (the task then
/// goes back to the application); else gives the address space back for
/// the ordinary fault path. `write` is the platform's word on the access,
/// decoded from the instruction when it has none.
pub(crate) fn serve<'a>(
    task: &mut Task,
    mut mm: MutexGuard<'a, MemoryManager>,
    addr: u64,
    write: Option<bool>,
) -> Result<(), MutexGuard<'a, MemoryManager>> {
    let Some((uf, writable)) = mm.userfault_at(addr) else {
        return Err(mm);
    };
    let write = write.unwrap_or_else(|| {
        let mut code = [0u8; 16];
        let n = mm.read_forced(task.regs.rip, &mut code);
        writes_memory(&code[..n])
    });
    if write && !writable {
        // An ordinary protection fault: a signal, as without the range.
        return Err(mm);
    }
    if uf.features() & UFFD_FEATURE_SIGBUS != 0 {
        drop(mm);
        task.force_signal(SigInfo::fault(SIGBUS, BUS_ADRERR, addr));
        return Ok(());
    }
    let tid = task.vpid(task.shared.tid) as u32;
    // Posted with the address space locked: a fill takes that lock, so it
    // comes after and wakes this entry.
    let id = uf.post(addr, write, tid);
    drop(mm);
    wait(task, &uf, id);
    Ok(())
}

fn wait(task: &mut Task, uf: &Arc<Userfault>, id: u64) {
    // An interruption (ERESTARTSYS) ends the wait like a wake-up: the
    // run loop delivers the signal and the access is retried.
    let _ = task.block_on(Some(&uf.faults), events::IN, None, |_| {
        if uf.resolved(id) {
            Ok(())
        } else {
            Err(Errno::EAGAIN)
        }
    });
    uf.finish(id);
}

/// Whether the x86-64 instruction at the start of `code` writes its
/// memory operand: the ptrace platform gets no page-fault error code, so
/// the write flag of a fault message comes from here. Covers moves and
/// stores (integer, string, SSE/AVX), read-modify-write arithmetic and
/// atomics; anything else counts as a read.
fn writes_memory(code: &[u8]) -> bool {
    let mut i = 0;
    let mut opsize = false;
    let mut rep = false;
    while let Some(&b) = code.get(i) {
        match b {
            0xf0 => return true, // lock: always a read-modify-write
            0x66 => opsize = true,
            0xf2 | 0xf3 => rep = true,
            0x67 | 0x2e | 0x3e | 0x26 | 0x36 | 0x64 | 0x65 => {}
            _ => break,
        }
        i += 1;
    }
    if code.get(i).is_some_and(|b| b & 0xf0 == 0x40) {
        i += 1; // REX
    }
    let Some(&op) = code.get(i) else {
        return false;
    };
    let reg = |at: usize| code.get(at).map_or(0, |m| (m >> 3) & 7);
    match op {
        // ALU r/m, r (add, or, adc, sbb, and, sub, xor; not cmp).
        0x00..=0x3f if op & 7 <= 1 => op & 0xf8 != 0x38,
        0x80..=0x83 => reg(i + 1) != 7,
        0x86..=0x89 | 0xc6 | 0xc7 => true,
        0x8f => true,                               // pop r/m
        0xa4 | 0xa5 | 0xaa | 0xab => true,          // movs, stos
        0xc0 | 0xc1 | 0xd0..=0xd3 => true,          // shifts and rotates
        0xf6 | 0xf7 => matches!(reg(i + 1), 2 | 3), // not, neg
        0xfe | 0xff => reg(i + 1) <= 1,             // inc, dec
        0x0f => {
            let Some(&op2) = code.get(i + 1) else {
                return false;
            };
            match op2 {
                0x11 | 0x13 | 0x17 | 0x29 | 0x2b | 0x7f | 0xe7 | 0xd6 | 0xc3 => true,
                0x7e => opsize && !rep, // movd/movq r/m, xmm
                0x90..=0x9f => true,    // setcc
                0xa3 | 0xab | 0xb3 | 0xbb | 0xba => {
                    op2 != 0xa3 && !(op2 == 0xba && reg(i + 2) == 4)
                }
                0xb0 | 0xb1 | 0xc0 | 0xc1 | 0xc7 => true, // cmpxchg, xadd, cmpxchg8b/16b
                _ => false,
            }
        }
        // VEX: the map-1 opcode after the prefix's two or three bytes.
        0xc5 | 0xc4 => {
            let (map, at) = if op == 0xc5 {
                (1, i + 2)
            } else {
                (code.get(i + 1).map_or(0, |b| b & 0x1f), i + 3)
            };
            map == 1
                && code.get(at).is_some_and(|o| {
                    matches!(o, 0x11 | 0x13 | 0x17 | 0x29 | 0x2b | 0x7f | 0xe7 | 0xd6)
                })
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::writes_memory;

    #[test]
    fn decodes_common_stores_and_loads() {
        assert!(writes_memory(&[0xc6, 0x00, 0xff])); // movb $0xff, (%rax)
        assert!(writes_memory(&[0x48, 0x89, 0x07])); // mov %rax, (%rdi)
        assert!(!writes_memory(&[0x48, 0x8b, 0x07])); // mov (%rdi), %rax
        assert!(!writes_memory(&[0x0f, 0xb6, 0x00])); // movzbl (%rax), %eax
        assert!(writes_memory(&[0xf3, 0x48, 0xab])); // rep stosq
        assert!(writes_memory(&[0xf0, 0x0f, 0xb1, 0x17])); // lock cmpxchg
        assert!(writes_memory(&[0xc5, 0xfe, 0x7f, 0x07])); // vmovdqu %ymm0, (%rdi)
        assert!(!writes_memory(&[0xc5, 0xfe, 0x6f, 0x07])); // vmovdqu (%rdi), %ymm0
        assert!(!writes_memory(&[0x80, 0x38, 0x00])); // cmpb $0, (%rax)
        assert!(writes_memory(&[0x83, 0x00, 0x01])); // addl $1, (%rax)
        assert!(!writes_memory(&[0x39, 0x07])); // cmp %eax, (%rdi)
    }
}
