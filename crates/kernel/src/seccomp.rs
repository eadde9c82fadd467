//! Seccomp filters installed by sandboxed programs: classic BPF programs
//! the sentry validates and runs on each of the task's syscalls.

use abi::{Errno, SysResult};

pub const SECCOMP_RET_KILL_PROCESS: u32 = 0x8000_0000;
pub const SECCOMP_RET_KILL_THREAD: u32 = 0x0000_0000;
pub const SECCOMP_RET_TRAP: u32 = 0x0003_0000;
pub const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
pub const SECCOMP_RET_USER_NOTIF: u32 = 0x7fc0_0000;
pub const SECCOMP_RET_TRACE: u32 = 0x7ff0_0000;
pub const SECCOMP_RET_LOG: u32 = 0x7ffc_0000;
pub const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
pub const SECCOMP_RET_ACTION_FULL: u32 = 0xffff_0000;
pub const SECCOMP_RET_DATA: u32 = 0x0000_ffff;
pub const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;

/// One classic BPF instruction (`struct sock_filter`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}
// SAFETY: repr(C) of integers, 8 bytes, no padding.
unsafe impl abi::Pod for Insn {}

const LD: u16 = 0x00;
const LDX: u16 = 0x01;
const ST: u16 = 0x02;
const STX: u16 = 0x03;
const ALU: u16 = 0x04;
const JMP: u16 = 0x05;
const RET: u16 = 0x06;
const MISC: u16 = 0x07;
const W: u16 = 0x00;
const ABS: u16 = 0x20;
const IMM: u16 = 0x00;
const MEM: u16 = 0x60;
const LEN: u16 = 0x80;
const K: u16 = 0x00;
const X: u16 = 0x08;
const A: u16 = 0x10;

/// The data a filter sees (`struct seccomp_data`), 64 bytes.
pub struct Data {
    pub nr: i32,
    pub arch: u32,
    pub ip: u64,
    pub args: [u64; 6],
}

impl Data {
    fn word(&self, off: u32) -> u32 {
        let o = off as usize;
        let u64_half = |v: u64, hi: bool| if hi { (v >> 32) as u32 } else { v as u32 };
        match o {
            0 => self.nr as u32,
            4 => self.arch,
            8 | 12 => u64_half(self.ip, o == 12),
            16..=63 => {
                let i = (o - 16) / 8;
                u64_half(self.args[i], (o - 16) % 8 == 4)
            }
            _ => 0,
        }
    }
}

/// Checks a program as Linux's `seccomp_check_filter` does.
pub fn validate(prog: &[Insn]) -> SysResult<()> {
    if prog.is_empty() || prog.len() > 4096 {
        return Err(Errno::EINVAL);
    }
    for (pc, i) in prog.iter().enumerate() {
        let class = i.code & 0x07;
        let ok = match class {
            LD => match i.code & 0xe0 {
                ABS => i.code & 0x18 == W && i.k % 4 == 0 && i.k < 64,
                LEN | IMM => true,
                MEM => i.k < 16,
                _ => false,
            },
            LDX => match i.code & 0xe0 {
                IMM | LEN => true,
                MEM => i.k < 16,
                _ => false,
            },
            ST | STX => i.k < 16,
            ALU => {
                let op = i.code & 0xf0;
                (op <= 0xa0 || op == 0x90)
                    && !((op == 0x30 || op == 0x90) && i.code & X == 0 && i.k == 0)
            }
            JMP => {
                let op = i.code & 0xf0;
                let rest = prog.len() - pc - 1;
                if op == 0x00 {
                    (i.k as usize) < rest
                } else {
                    matches!(op, 0x10 | 0x20 | 0x30 | 0x40)
                        && (i.jt as usize) < rest
                        && (i.jf as usize) < rest
                }
            }
            RET => matches!(i.code & 0x18, K | A),
            MISC => matches!(i.code & 0xf8, 0x00 | 0x80),
            _ => false,
        };
        if !ok {
            return Err(Errno::EINVAL);
        }
    }
    if prog.last().map(|i| i.code & 0x07) != Some(RET) {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// Runs a validated program.
pub fn run(prog: &[Insn], d: &Data) -> u32 {
    let (mut a, mut x) = (0u32, 0u32);
    let mut m = [0u32; 16];
    let mut pc = 0usize;
    while let Some(i) = prog.get(pc) {
        pc += 1;
        let src = if i.code & X != 0 { x } else { i.k };
        match i.code & 0x07 {
            LD => {
                a = match i.code & 0xe0 {
                    ABS => d.word(i.k),
                    LEN => 64,
                    IMM => i.k,
                    _ => m[(i.k & 15) as usize],
                }
            }
            LDX => {
                x = match i.code & 0xe0 {
                    IMM => i.k,
                    LEN => 64,
                    _ => m[(i.k & 15) as usize],
                }
            }
            ST => m[(i.k & 15) as usize] = a,
            STX => m[(i.k & 15) as usize] = x,
            ALU => {
                a = match i.code & 0xf0 {
                    0x00 => a.wrapping_add(src),
                    0x10 => a.wrapping_sub(src),
                    0x20 => a.wrapping_mul(src),
                    0x30 => a.checked_div(src).unwrap_or(0),
                    0x40 => a | src,
                    0x50 => a & src,
                    0x60 => a.checked_shl(src).unwrap_or(0),
                    0x70 => a.checked_shr(src).unwrap_or(0),
                    0x80 => a.wrapping_neg(),
                    0x90 => a.checked_rem(src).unwrap_or(0),
                    _ => a ^ src,
                }
            }
            JMP => {
                let taken = match i.code & 0xf0 {
                    0x00 => {
                        pc += i.k as usize;
                        continue;
                    }
                    0x10 => a == src,
                    0x20 => a > src,
                    0x30 => a >= src,
                    _ => a & src != 0,
                };
                pc += if taken { i.jt as usize } else { i.jf as usize };
            }
            RET => return if i.code & 0x18 == A { a } else { i.k },
            _ => {
                if i.code & 0xf8 == 0x80 {
                    a = x
                } else {
                    x = a
                }
            }
        }
    }
    SECCOMP_RET_KILL_THREAD
}

/// How strongly an action wins when several filters disagree (higher wins).
fn rank(action: u32) -> u32 {
    match action & SECCOMP_RET_ACTION_FULL {
        SECCOMP_RET_KILL_PROCESS => 7,
        SECCOMP_RET_KILL_THREAD => 6,
        SECCOMP_RET_TRAP => 5,
        SECCOMP_RET_ERRNO => 4,
        SECCOMP_RET_USER_NOTIF => 3,
        SECCOMP_RET_TRACE => 2,
        SECCOMP_RET_LOG => 1,
        SECCOMP_RET_ALLOW => 0,
        _ => 6, // unknown actions act as KILL_THREAD
    }
}

/// Runs every filter and returns the winning action.
pub fn evaluate(filters: &[std::sync::Arc<[Insn]>], d: &Data) -> u32 {
    let mut best = SECCOMP_RET_ALLOW;
    for f in filters.iter().rev() {
        let r = run(f, d);
        if rank(r) > rank(best) {
            best = r;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn i(code: u16, jt: u8, jf: u8, k: u32) -> Insn {
        Insn { code, jt, jf, k }
    }

    #[test]
    fn errno_for_one_syscall() {
        // ld nr; jeq 39 ? errno(1) : allow
        let p = [
            i(LD | W | ABS, 0, 0, 0),
            i(JMP | 0x10, 0, 1, 39),
            i(RET, 0, 0, SECCOMP_RET_ERRNO | 1),
            i(RET, 0, 0, SECCOMP_RET_ALLOW),
        ];
        validate(&p).unwrap();
        let mut d = Data {
            nr: 39,
            arch: AUDIT_ARCH_X86_64,
            ip: 0,
            args: [0; 6],
        };
        assert_eq!(run(&p, &d), SECCOMP_RET_ERRNO | 1);
        d.nr = 1;
        assert_eq!(run(&p, &d), SECCOMP_RET_ALLOW);
    }

    #[test]
    fn rejects_bad_programs() {
        assert!(validate(&[]).is_err());
        assert!(validate(&[i(LD | W | ABS, 0, 0, 0)]).is_err());
        assert!(validate(&[i(LD | W | ABS, 0, 0, 2), i(RET, 0, 0, 0)]).is_err());
        assert!(validate(&[i(JMP, 0, 0, 5), i(RET, 0, 0, 0)]).is_err());
        assert!(validate(&[i(ALU | 0x30, 0, 0, 0), i(RET, 0, 0, 0)]).is_err());
    }

    #[test]
    fn strictest_action_wins() {
        let allow: std::sync::Arc<[Insn]> = vec![i(RET, 0, 0, SECCOMP_RET_ALLOW)].into();
        let errno: std::sync::Arc<[Insn]> = vec![i(RET, 0, 0, SECCOMP_RET_ERRNO | 5)].into();
        let d = Data {
            nr: 0,
            arch: AUDIT_ARCH_X86_64,
            ip: 0,
            args: [0; 6],
        };
        assert_eq!(
            evaluate(&[allow.clone(), errno, allow], &d),
            SECCOMP_RET_ERRNO | 5
        );
    }
}
