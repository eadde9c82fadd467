//! The sandbox's CPUs and each task's scheduling attributes.
//!
//! The sandbox has as many CPUs as the sentry may run on when it starts
//! (its host affinity), numbered 0..N: `/sys/devices/system/cpu`,
//! `/proc/cpuinfo`, `/proc/stat`, `sched_getaffinity` and `sysinfo` all
//! describe these. A task's attributes (affinity, nice value, policy and
//! priority, I/O priority, memory policy) are kept per task, inherited by
//! `fork`/`clone` and reported back; the host scheduler is not told about
//! them: the platform already moves stub threads between CPUs for its
//! hand-offs, and a sandboxed program must not be able to pin or boost the
//! sentry's host threads.

use std::sync::OnceLock;

/// Most CPUs the sandbox describes (Linux's largest `NR_CPUS`).
pub const MAX_CPUS: usize = 8192;

/// A CPU mask in the layout of the kernel's `cpumask` (bit N = CPU N).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuSet(pub [u64; MAX_CPUS / 64]);

impl CpuSet {
    pub const EMPTY: CpuSet = CpuSet([0; MAX_CPUS / 64]);

    /// CPUs `0..n`.
    pub fn first(n: usize) -> CpuSet {
        let mut s = CpuSet::EMPTY;
        for i in 0..n.min(MAX_CPUS) {
            s.0[i / 64] |= 1 << (i % 64);
        }
        s
    }

    /// CPU `cpu` alone.
    pub fn single(cpu: usize) -> CpuSet {
        let mut s = CpuSet::EMPTY;
        if cpu < MAX_CPUS {
            s.0[cpu / 64] = 1 << (cpu % 64);
        }
        s
    }

    pub fn contains(&self, cpu: usize) -> bool {
        cpu < MAX_CPUS && self.0[cpu / 64] & (1 << (cpu % 64)) != 0
    }

    pub fn and(&self, o: &CpuSet) -> CpuSet {
        let mut s = *self;
        for (a, b) in s.0.iter_mut().zip(o.0.iter()) {
            *a &= b;
        }
        s
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|&w| w == 0)
    }

    pub fn count(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// The mask as little-endian bytes, as `sched_getaffinity` copies it.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    /// A mask from user bytes; bytes past [`MAX_CPUS`] are ignored (they
    /// name CPUs that cannot exist, as Linux ignores them).
    pub fn from_bytes(b: &[u8]) -> CpuSet {
        let mut s = CpuSet::EMPTY;
        for (i, &x) in b.iter().take(MAX_CPUS / 8).enumerate() {
            s.0[i / 8] |= (x as u64) << ((i % 8) * 8);
        }
        s
    }

    /// `0-3,5`: the list form of `/sys/devices/system/cpu/online`.
    pub fn list(&self) -> String {
        let mut out = Vec::new();
        let mut i = 0;
        while i < MAX_CPUS {
            if !self.contains(i) {
                i += 1;
                continue;
            }
            let start = i;
            while i + 1 < MAX_CPUS && self.contains(i + 1) {
                i += 1;
            }
            out.push(if start == i {
                format!("{start}")
            } else {
                format!("{start}-{i}")
            });
            i += 1;
        }
        out.join(",")
    }

    /// The hex form of `/proc/pid/status`'s `Cpus_allowed` and sysfs's
    /// `cpumap` (Linux's `%*pb` over the sandbox's CPUs: 32-bit groups,
    /// highest first, the first only as wide as its bits need).
    pub fn hex(&self) -> String {
        let n = ncpus().max(1);
        let groups = n.div_ceil(32);
        (0..groups)
            .rev()
            .map(|g| {
                let v = (self.0[g / 2] >> ((g % 2) * 32)) as u32;
                let width = if g == groups - 1 {
                    (n - 32 * g).div_ceil(4)
                } else {
                    8
                };
                format!("{v:0width$x}")
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

struct Host {
    cpus: Vec<usize>,
    mask_size: usize,
}

/// The sentry's host affinity when first asked (the kernel asks at start)
/// and the size of the host kernel's CPU mask (what its
/// `sched_getaffinity` copies: it depends on the kernel's build).
fn host() -> &'static Host {
    static HOST: OnceLock<Host> = OnceLock::new();
    HOST.get_or_init(|| {
        let mut b = [0u8; MAX_CPUS / 8];
        // SAFETY: the buffer is writable for its length.
        let r = unsafe { libc::syscall(libc::SYS_sched_getaffinity, 0, b.len(), b.as_mut_ptr()) };
        let set = CpuSet::from_bytes(&b);
        let mut cpus: Vec<usize> = if r > 0 {
            (0..MAX_CPUS).filter(|&i| set.contains(i)).collect()
        } else {
            Vec::new()
        };
        cpus.truncate(CPU_LIMIT.load(std::sync::atomic::Ordering::Relaxed));
        if cpus.is_empty() {
            cpus.push(0);
        }
        let mask_size = if r > 0 { r as usize } else { 8 };
        Host {
            mask_size: mask_size.max(cpus.len().div_ceil(64) * 8),
            cpus,
        }
    })
}

/// At most this many CPUs (the container's CPU quota; see [`limit_cpus`]).
static CPU_LIMIT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(usize::MAX);

/// Gives the sandbox at most `n` CPUs (the first `n` of the sentry's
/// affinity), as gVisor's boot loader's `SetCPUs` does from a container's
/// CPU quota (a cpuset is the affinity already). Only before the kernel
/// is built: the count is fixed when first asked.
pub fn limit_cpus(n: usize) {
    CPU_LIMIT.store(n.max(1), std::sync::atomic::Ordering::Relaxed);
}

/// The host CPUs the sandbox's CPUs stand for, in order: sandbox CPU `i`
/// is host CPU `host_cpus()[i]`.
pub fn host_cpus() -> &'static [usize] {
    &host().cpus
}

/// The size of the kernel's CPU mask in bytes: what `sched_getaffinity`
/// copies at most and `sched_setaffinity` reads at most. The host's, so
/// the sandbox answers as the host kernel would.
pub fn mask_size() -> usize {
    host().mask_size
}

/// How many CPUs the sandbox has.
pub fn ncpus() -> usize {
    host_cpus().len()
}

/// Every CPU of the sandbox (all are online).
pub fn online() -> CpuSet {
    CpuSet::first(ncpus())
}

/// The sandbox CPU the calling host thread runs on, if it is one of them.
pub fn current_cpu() -> Option<usize> {
    // SAFETY: sched_getcpu has no arguments.
    let c = unsafe { libc::sched_getcpu() };
    host_cpus().iter().position(|&h| c >= 0 && h == c as usize)
}

pub const SCHED_NORMAL: u32 = 0;
pub const SCHED_FIFO: u32 = 1;
pub const SCHED_RR: u32 = 2;
pub const SCHED_BATCH: u32 = 3;
pub const SCHED_IDLE: u32 = 5;
pub const SCHED_DEADLINE: u32 = 6;

/// A memory policy (`set_mempolicy`): the mode with its flags and the
/// node mask (the sandbox has node 0 only).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemPolicy {
    pub mode: u32,
    pub flags: u32,
    pub nodes: u64,
}

/// A task's scheduling attributes.
#[derive(Clone, Copy, Debug)]
pub struct Sched {
    pub affinity: CpuSet,
    /// -20..=19.
    pub nice: i32,
    pub policy: u32,
    /// 1..=99 under `SCHED_FIFO`/`SCHED_RR`, else 0.
    pub rt_priority: u32,
    pub reset_on_fork: bool,
    /// `SCHED_DEADLINE`'s runtime, deadline and period (ns).
    pub dl: [u64; 3],
    /// `ioprio_set`'s value (class << 13 | data); 0 is "none".
    pub ioprio: u16,
    pub mempolicy: MemPolicy,
    /// `sched_setattr`'s utilisation clamps (0..=1024).
    pub uclamp: [u32; 2],
}

impl Sched {
    /// The first task's: every CPU, nice 0, `SCHED_OTHER`.
    pub fn initial() -> Sched {
        Sched {
            affinity: online(),
            nice: 0,
            policy: SCHED_NORMAL,
            rt_priority: 0,
            reset_on_fork: false,
            dl: [0; 3],
            ioprio: 0,
            mempolicy: MemPolicy::default(),
            uclamp: [0, 1024],
        }
    }

    /// A new task's, made by a task with these: the same, except that
    /// `SCHED_RESET_ON_FORK` drops a real-time policy and a negative nice
    /// value (and itself), as on Linux.
    pub fn forked(&self) -> Sched {
        let mut s = *self;
        if s.reset_on_fork {
            s.reset_on_fork = false;
            if matches!(s.policy, SCHED_FIFO | SCHED_RR | SCHED_DEADLINE) {
                s.policy = SCHED_NORMAL;
                s.rt_priority = 0;
                s.dl = [0; 3];
            }
            s.nice = s.nice.max(0);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(CpuSet::first(1).list(), "0");
        assert_eq!(CpuSet::first(4).list(), "0-3");
        let mut s = CpuSet::first(2);
        s.0[0] |= 1 << 5 | 1 << 7 | 1 << 8;
        assert_eq!(s.list(), "0-1,5,7-8");
        assert_eq!(CpuSet::from_bytes(&s.to_bytes()), s);
        assert!(CpuSet::EMPTY.is_empty());
    }

    #[test]
    fn memory_limit_view() {
        let host = crate::Memory {
            total: 8 << 30,
            free: 6 << 30,
            shared: 1 << 20,
            buffers: 1 << 20,
        };
        let m = host.limited(64 << 20, 10 << 20);
        assert_eq!((m.total, m.free), (64 << 20, 54 << 20));
        let m = host.limited(64 << 20, 100 << 20);
        assert_eq!(m.free, 0);
        let m = host.limited(16 << 30, 0);
        assert_eq!((m.total, m.free), (8 << 30, 6 << 30));
    }

    #[test]
    fn reset_on_fork() {
        let mut s = Sched::initial();
        s.policy = SCHED_FIFO;
        s.rt_priority = 10;
        s.nice = -5;
        s.reset_on_fork = true;
        let c = s.forked();
        assert_eq!(
            (c.policy, c.rt_priority, c.nice, c.reset_on_fork),
            (0, 0, 0, false)
        );
        s.reset_on_fork = false;
        assert_eq!(s.forked().policy, SCHED_FIFO);
    }
}
