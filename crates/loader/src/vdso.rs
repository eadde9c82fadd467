//! rvisor's vDSO: `clock_gettime`, `gettimeofday`, `time` and
//! `clock_getres` for sandboxed programs without a trap into the sentry
//! (`getcpu` is there too, but asks the sentry: its answer follows the
//! task's affinity).
//!
//! The image (`vdso/vdso.c`, built by `build.rs`) is a tiny relocation-free
//! shared object with the same soname (`linux-vdso.so.1`) and symbol versions
//! (`LINUX_2.6`) as the real x86-64 vDSO, so C libraries use it as they would
//! the kernel's. Its time functions read the TSC and scale it with the
//! parameters in a data page, the *vvar* page, which the sentry keeps current
//! ([`TimeKeeper`], [`write_vvar`]). Whenever the page says so
//! (`enabled == 0`, including an all-zero page), for clocks it does not handle,
//! and if the sentry looks stuck mid-update, a function executes a real
//! `syscall` instruction instead, which the sentry traps and serves as usual.
//!
//! # Mapping (what the sentry must do)
//!
//! Pick a page-aligned address `B` for the image.
//!
//! * **Image**: [`image_pages()`] bytes at `B`, read + execute (not writable,
//!   and not `mprotect`-able to writable, like Linux's). Its content is
//!   [`image()`] copied to the start of the first page, the rest zero. The
//!   image is a single `PT_LOAD` at file offset 0 and virtual address 0, so the
//!   file bytes *are* the memory image and `B` is its load bias; it contains no
//!   relocations. Every address space may share the same memory-file pages.
//! * **vvar**: [`VVAR_SIZE`] bytes at `B - VVAR_SIZE`, read-only for the
//!   sandbox. It must be one shared memory-file page (the same page in every
//!   address space, surviving `fork` as shared, never copied-on-write), which
//!   a sentry thread updates with [`write_vvar`] about once a second from
//!   [`TimeKeeper::refresh`]. A page of zeros is valid: everything then goes
//!   through syscalls.
//! * **auxv**: `AT_SYSINFO_EHDR = B`. The code finds the vvar page by
//!   PC-relative addressing, so the two must stay at this distance (`mremap`
//!   of one without the other breaks the fast path, as on Linux).
//!
//! The sentry's own `clock_gettime` & co. (the slow path) should return the
//! same clocks; [`TimeKeeper::now_ns`] / [`VvarData::clock_ns`] compute exactly
//! what the vDSO would, for a syscall path that never disagrees with it.

use std::arch::asm;
use std::mem::offset_of;
use std::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

#[allow(dead_code)]
#[path = "../vdso/elf.rs"]
mod elf;

static IMAGE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/vdso.so"));

const PAGE_SIZE: u64 = 4096;

/// Size of the vvar page, mapped immediately below the image.
pub const VVAR_SIZE: u64 = 4096;

/// The vDSO image (an ELF shared object), to be copied to the start of the
/// image mapping. Not padded: see [`image_pages`].
pub fn image() -> &'static [u8] {
    IMAGE
}

/// Length in bytes of the image mapping: `image().len()` rounded up to a page.
pub fn image_pages() -> u64 {
    (IMAGE.len() as u64).next_multiple_of(PAGE_SIZE)
}

/// The offset from the image start (`AT_SYSINFO_EHDR`) of the exported
/// function `name` (e.g. `"__vdso_clock_gettime"` or `"clock_gettime"`), from
/// the image's dynamic symbol table.
pub fn entry_offset(name: &str) -> Option<u64> {
    static EXPORTS: OnceLock<Vec<(String, u64)>> = OnceLock::new();
    EXPORTS
        .get_or_init(|| exports().unwrap_or_default())
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, off)| *off)
}

/// Defined function symbols and their offsets. The image has one `PT_LOAD` at
/// address 0, so symbol values are offsets from the image start.
fn exports() -> Result<Vec<(String, u64)>, String> {
    let elf = elf::Elf::parse(IMAGE)?;
    Ok(elf
        .dynsyms()?
        .into_iter()
        .filter(|s| s.shndx != 0 && s.sym_type == elf::STT_FUNC)
        .map(|s| (s.name.to_string(), s.value))
        .collect())
}

/// The vvar page's content; mirrors `struct vvar_data` in `vdso/vdso.c`.
///
/// Clock `C` at TSC value `tsc` reads
/// `base_C_ns + ((tsc - base_tsc) * tsc_mult) >> tsc_shift`, with a signed TSC
/// delta, a 128-bit product and wrapping 64-bit additions; the result is a
/// signed nanosecond count. `CLOCK_MONOTONIC_RAW` uses `raw_base_tsc`,
/// `raw_mult` and `raw_base_ns` instead. See [`VvarData::clock_ns`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VvarData {
    /// Seqlock sequence number: odd while the sentry is writing. Managed by
    /// [`write_vvar`]; the value in a snapshot is ignored.
    pub seq: u32,
    pub _pad: u32,
    pub tsc_shift: u32,
    pub tsc_mult: u32,
    pub base_tsc: u64,
    /// `CLOCK_MONOTONIC` at `base_tsc`.
    pub base_mono_ns: u64,
    /// `CLOCK_REALTIME` at `base_tsc`.
    pub base_real_ns: u64,
    /// `CLOCK_BOOTTIME` at `base_tsc`.
    pub base_boot_ns: u64,
    /// 0: every clock goes through the syscall path.
    pub enabled: u32,
    /// Multiplier for `CLOCK_MONOTONIC_RAW` (same shift).
    pub raw_mult: u32,
    pub raw_base_tsc: u64,
    /// `CLOCK_MONOTONIC_RAW` at `raw_base_tsc`.
    pub raw_base_ns: u64,
}

const _: () = {
    assert!(std::mem::size_of::<VvarData>() == 72);
    assert!(std::mem::size_of::<VvarData>() as u64 <= VVAR_SIZE);
    assert!(offset_of!(VvarData, seq) == 0);
    assert!(offset_of!(VvarData, tsc_shift) == 8);
    assert!(offset_of!(VvarData, tsc_mult) == 12);
    assert!(offset_of!(VvarData, base_tsc) == 16);
    assert!(offset_of!(VvarData, base_mono_ns) == 24);
    assert!(offset_of!(VvarData, base_real_ns) == 32);
    assert!(offset_of!(VvarData, base_boot_ns) == 40);
    assert!(offset_of!(VvarData, enabled) == 48);
    assert!(offset_of!(VvarData, raw_mult) == 52);
    assert!(offset_of!(VvarData, raw_base_tsc) == 56);
    assert!(offset_of!(VvarData, raw_base_ns) == 64);
};

/// `base_ns + ((tsc - base_tsc) * mult) >> shift` with a signed TSC delta,
/// exactly as `scale()` in vdso.c computes it.
fn scale(tsc: u64, base_tsc: u64, mult: u32, shift: u32, base_ns: u64) -> u64 {
    let d = tsc.wrapping_sub(base_tsc);
    if (d as i64) >= 0 {
        base_ns.wrapping_add(((u128::from(d) * u128::from(mult)) >> shift) as u64)
    } else {
        let d = d.wrapping_neg();
        base_ns.wrapping_sub(((u128::from(d) * u128::from(mult)) >> shift) as u64)
    }
}

impl VvarData {
    /// What the vDSO's fast path returns for `clock` at TSC value `tsc`, in
    /// nanoseconds; `None` where it would make a syscall instead.
    pub fn clock_ns(&self, clock: libc::clockid_t, tsc: u64) -> Option<i64> {
        if self.enabled == 0 {
            return None;
        }
        let shift = self.tsc_shift;
        let ns = match clock {
            libc::CLOCK_MONOTONIC_RAW => scale(
                tsc,
                self.raw_base_tsc,
                self.raw_mult,
                shift,
                self.raw_base_ns,
            ),
            libc::CLOCK_REALTIME | libc::CLOCK_REALTIME_COARSE => {
                scale(tsc, self.base_tsc, self.tsc_mult, shift, self.base_real_ns)
            }
            libc::CLOCK_MONOTONIC | libc::CLOCK_MONOTONIC_COARSE => {
                scale(tsc, self.base_tsc, self.tsc_mult, shift, self.base_mono_ns)
            }
            libc::CLOCK_BOOTTIME => {
                scale(tsc, self.base_tsc, self.tsc_mult, shift, self.base_boot_ns)
            }
            _ => return None,
        };
        Some(ns as i64)
    }
}

/// Reads the TSC the way the vDSO does (`lfence; rdtsc`).
pub fn read_tsc() -> u64 {
    let lo: u32;
    let hi: u32;
    // SAFETY: lfence and rdtsc touch no memory and no stack; they only write
    // eax/edx, declared as outputs. rdtsc is allowed at CPL 3 unless CR4.TSD
    // is set, which Linux only does for PR_SET_TSC(PR_TSC_SIGSEGV) processes
    // (not the sentry).
    unsafe {
        asm!("lfence", "rdtsc", out("eax") lo, out("edx") hi, options(nostack, preserves_flags));
    }
    (u64::from(hi) << 32) | u64::from(lo)
}

/// Whether the host's TSC runs at a constant rate, also in deep C-states,
/// which the fast path relies on: the invariant-TSC bit of CPUID leaf
/// 0x8000_0007, from which Linux derives both `constant_tsc` and
/// `nonstop_tsc` (reading those from /proc/cpuinfo costs milliseconds:
/// the kernel samples every CPU's frequency for it).
pub fn host_tsc_reliable() -> bool {
    let max_ext = std::arch::x86_64::__cpuid(0x8000_0000).eax;
    if max_ext < 0x8000_0007 {
        return false;
    }
    let power = std::arch::x86_64::__cpuid(0x8000_0007);
    power.edx & (1 << 8) != 0
}

const NSEC_PER_SEC: i64 = 1_000_000_000;

/// How long [`TimeKeeper::new`] measures the TSC rate for.
const CALIBRATION: Duration = Duration::from_millis(2);
/// Read each host clock this many times and keep the tightest bracket.
const SAMPLE_TRIES: usize = 8;
/// Largest multiplier chosen at calibration; leaves room for slewing.
const MULT_LIMIT: u128 = 1 << 31;
/// Offsets from the host clock are corrected over this period...
const SLEW_PERIOD_NS: i128 = NSEC_PER_SEC as i128;
/// ...changing the rate by at most this much (parts per million).
const MAX_SLEW_PPM: i128 = 2000;
/// If behind the host by more than this, jump forward instead of slewing.
const STEP_NS: i64 = 1_000_000;
/// When a refresh slows a clock down, the new parameters take effect this far
/// in the future (see [`retime`]); it should exceed the delay between
/// `refresh` and `write_vvar`.
const SLOWDOWN_MARGIN_NS: u64 = 2_000_000;
/// Added to each new segment's base: absorbs the rounding of the old and the
/// new scaling so that no reading can be 1-2 ns below an earlier one.
const ROUNDING_SLACK_NS: u64 = 2;
/// The REALTIME/BOOTTIME - MONOTONIC offsets follow the host only when they
/// differ by more than this (measurement noise is tens of ns; the host only
/// changes them by steps).
const OFFSET_HYSTERESIS_NS: i64 = 2_000;
/// The TSC rate is measured over at least this long once running.
const RATE_BASELINE_NS: i64 = 500_000_000;

/// A host clock reading and the TSC value at (about) the same moment.
#[derive(Clone, Copy, Debug, Default)]
struct Sample {
    tsc: u64,
    ns: i64,
}

fn host_ns(clock: libc::clockid_t) -> Option<i64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let r = unsafe { libc::clock_gettime(clock, &mut ts) };
    (r == 0).then(|| {
        ts.tv_sec
            .wrapping_mul(NSEC_PER_SEC)
            .wrapping_add(ts.tv_nsec)
    })
}

/// Reads `clock` bracketed by two TSC reads, a few times, and returns the
/// reading with the tightest bracket, paired with the bracket's midpoint.
fn sample(clock: libc::clockid_t) -> Option<Sample> {
    let mut best: Option<(u64, Sample)> = None;
    for _ in 0..SAMPLE_TRIES {
        let t0 = read_tsc();
        let ns = host_ns(clock)?;
        let t1 = read_tsc();
        let width = t1.wrapping_sub(t0);
        if (width as i64) < 0 {
            continue; // Migrated to a CPU whose TSC is behind; try again.
        }
        if best.as_ref().is_none_or(|(w, _)| width < *w) {
            best = Some((
                width,
                Sample {
                    tsc: t0 + width / 2,
                    ns,
                },
            ));
        }
    }
    best.map(|(_, s)| s)
}

/// `ns_per_tick << shift`, rounded, if it fits in a u32 and is not 0.
fn rate_mult(dns: i64, dtsc: u64, shift: u32) -> Option<u32> {
    if dns <= 0 || dtsc == 0 || (dtsc as i64) < 0 {
        return None;
    }
    let m = ((dns as u128) << shift).checked_add(u128::from(dtsc) / 2)? / u128::from(dtsc);
    u32::try_from(m).ok().filter(|&m| m != 0)
}

/// The largest shift (<= 32) keeping the multiplier at most [`MULT_LIMIT`].
fn choose_shift(dns: i64, dtsc: u64) -> Option<u32> {
    (0..=32u32)
        .rev()
        .find(|&s| rate_mult(dns, dtsc, s).is_some_and(|m| u128::from(m) <= MULT_LIMIT))
}

/// One linear piece of a clock: `base_ns` at `base_tsc`, `mult` ns<<shift per
/// tick.
#[derive(Clone, Copy, Debug)]
struct Segment {
    base_tsc: u64,
    base_ns: u64,
    mult: u32,
}

impl Segment {
    fn at(&self, tsc: u64, shift: u32) -> u64 {
        scale(tsc, self.base_tsc, self.mult, shift, self.base_ns)
    }
}

/// The next segment of a clock that must never go backwards, continuing `old`
/// and steering it towards the host clock (`host`, running at `nominal`).
///
/// The new segment starts where the old one is at its anchor, so there is no
/// jump there. Its rate is `nominal` plus a correction that removes the
/// current error over [`SLEW_PERIOD_NS`], at most [`MAX_SLEW_PPM`]; if the clock
/// is more than [`STEP_NS`] behind it jumps forward instead.
///
/// A reader may use the old segment until the sentry publishes the new one
/// (at some TSC value W after `now`) and the new one afterwards. If the new
/// rate is higher, anchoring at `now` suffices: new(t) >= old(t) for all
/// t >= now. If it is lower, the anchor A is put [`SLOWDOWN_MARGIN_NS`] in the
/// future (readings before A extrapolate backwards along the new rate): then
/// new(t) >= old(t) for all t <= A, so as long as W <= A every old reading is
/// <= every later new one, and past A the new segment is just slower.
fn retime(old: Segment, shift: u32, nominal: u32, host: &Sample, now: u64) -> Segment {
    let host_at = |t: u64| scale(t, host.tsc, nominal, shift, host.ns as u64);
    let limit = i128::from(nominal) * MAX_SLEW_PPM / 1_000_000;
    let plan = |anchor: u64| {
        let base = old.at(anchor, shift).wrapping_add(ROUNDING_SLACK_NS);
        let err = host_at(anchor).wrapping_sub(base) as i64; // > 0: behind
        let corr = (i128::from(nominal) * i128::from(err) / SLEW_PERIOD_NS).clamp(-limit, limit);
        let mult = (i128::from(nominal) + corr).clamp(1, i128::from(u32::MAX)) as u32;
        (
            Segment {
                base_tsc: anchor,
                base_ns: base,
                mult,
            },
            err,
        )
    };

    let (seg, err) = plan(now);
    if err > STEP_NS {
        return Segment {
            base_tsc: now,
            base_ns: host_at(now),
            mult: nominal,
        };
    }
    if seg.mult >= old.mult {
        return seg;
    }
    let margin = ((u128::from(SLOWDOWN_MARGIN_NS) << shift) / u128::from(nominal)) as u64;
    let (mut seg, _) = plan(now.wrapping_add(margin));
    // Anchored in the future, the new rate must not exceed the old one.
    seg.mult = seg.mult.min(old.mult);
    seg
}

/// Tracks the TSC rate of one host clock: the rate is measured from `rate_ref`,
/// which moves forward to `next_ref` once that is [`RATE_BASELINE_NS`] old.
#[derive(Clone, Copy, Debug, Default)]
struct RateTracker {
    rate_ref: Sample,
    next_ref: Sample,
    nominal: u32,
}

impl RateTracker {
    fn update(&mut self, now: &Sample, shift: u32) -> u32 {
        if let Some(m) = rate_mult(
            now.ns.wrapping_sub(self.rate_ref.ns),
            now.tsc.wrapping_sub(self.rate_ref.tsc),
            shift,
        ) {
            self.nominal = m;
        }
        if now.ns.wrapping_sub(self.next_ref.ns) >= RATE_BASELINE_NS {
            self.rate_ref = self.next_ref;
            self.next_ref = *now;
        }
        self.nominal
    }
}

/// `clock` - CLOCK_MONOTONIC on the host, using `mono` (a monotonic sample)
/// and the monotonic rate to place the two readings at the same TSC value.
fn measure_offset(clock: libc::clockid_t, mono: &Sample, mult: u32, shift: u32) -> Option<i64> {
    let s = sample(clock)?;
    let mono_then = scale(s.tsc, mono.tsc, mult, shift, mono.ns as u64) as i64;
    Some(s.ns.wrapping_sub(mono_then))
}

/// The samples a calibration starts from, and when they were taken.
fn first_samples() -> Option<(Sample, Sample, std::time::Instant)> {
    let m0 = sample(libc::CLOCK_MONOTONIC)?;
    let r0 = sample(libc::CLOCK_MONOTONIC_RAW)?;
    Some((m0, r0, std::time::Instant::now()))
}

/// A TSC calibration under way ([`TimeKeeper::begin`]): the first
/// samples, if the TSC is usable.
pub struct Calibration {
    first: Option<(Sample, Sample, std::time::Instant)>,
}

impl Calibration {
    /// The time keeper measured from [`TimeKeeper::begin`] until now (at
    /// least the usual measuring time).
    pub fn finish(self) -> TimeKeeper {
        self.first
            .and_then(TimeKeeper::calibrate_from)
            .unwrap_or_else(|| TimeKeeper::with_tsc(false))
    }
}

/// Keeps the vvar parameters in step with the host clocks.
///
/// [`TimeKeeper::new`] measures the TSC rate against the host's
/// `CLOCK_MONOTONIC` (and `CLOCK_MONOTONIC_RAW`) for ~10 ms. Then
/// [`refresh`](TimeKeeper::refresh), called about once a second, re-measures
/// and starts new linear segments that steer the vDSO clocks back towards the
/// host's (slewing by up to 0.2%, never stepping `CLOCK_MONOTONIC`,
/// `CLOCK_MONOTONIC_RAW` or `CLOCK_BOOTTIME` backwards), so errors do not
/// accumulate; in steady state the vDSO is within a few microseconds of the
/// host. `CLOCK_REALTIME` follows host steps (`settimeofday`, leap seconds) at
/// the next refresh.
#[derive(Clone, Debug)]
pub struct TimeKeeper {
    data: VvarData,
    mono: RateTracker,
    raw: RateTracker,
    /// CLOCK_REALTIME - CLOCK_MONOTONIC.
    real_off: i64,
    /// CLOCK_BOOTTIME - CLOCK_MONOTONIC.
    boot_off: i64,
}

impl Default for TimeKeeper {
    fn default() -> Self {
        Self::new()
    }
}

impl TimeKeeper {
    /// A time keeper using the TSC if [`host_tsc_reliable`]. Takes ~10 ms to
    /// calibrate.
    pub fn new() -> Self {
        Self::with_tsc(host_tsc_reliable())
    }

    /// A time keeper that uses the TSC if `use_tsc` and calibration succeeds;
    /// otherwise its data has `enabled == 0` (all clocks via syscalls).
    pub fn with_tsc(use_tsc: bool) -> Self {
        let disabled = TimeKeeper {
            data: VvarData::default(),
            mono: RateTracker::default(),
            raw: RateTracker::default(),
            real_off: 0,
            boot_off: 0,
        };
        if use_tsc {
            Self::calibrate().unwrap_or(disabled)
        } else {
            disabled
        }
    }

    fn calibrate() -> Option<Self> {
        Self::calibrate_from(first_samples()?)
    }

    /// Starts measuring the TSC's rate: [`Calibration::finish`] ends it,
    /// waiting only for what is left of the measuring time. Begun when
    /// the sentry starts and finished when the vDSO is set up, the
    /// sandbox's own start-up is the measuring time (no thread waits
    /// 2 ms for it).
    pub fn begin() -> Calibration {
        Calibration {
            first: host_tsc_reliable().then(first_samples).flatten(),
        }
    }

    fn calibrate_from((m0, r0, at): (Sample, Sample, std::time::Instant)) -> Option<Self> {
        if let Some(left) = CALIBRATION.checked_sub(at.elapsed()) {
            std::thread::sleep(left);
        }
        let m1 = sample(libc::CLOCK_MONOTONIC)?;
        let r1 = sample(libc::CLOCK_MONOTONIC_RAW)?;

        let dtsc = m1.tsc.wrapping_sub(m0.tsc);
        let shift = choose_shift(m1.ns.wrapping_sub(m0.ns), dtsc)?;
        let mult = rate_mult(m1.ns.wrapping_sub(m0.ns), dtsc, shift)?;
        let raw_mult = rate_mult(
            r1.ns.wrapping_sub(r0.ns),
            r1.tsc.wrapping_sub(r0.tsc),
            shift,
        )?;
        let real_off = measure_offset(libc::CLOCK_REALTIME, &m1, mult, shift)?;
        let boot_off = measure_offset(libc::CLOCK_BOOTTIME, &m1, mult, shift)?;
        let base_mono_ns = m1.ns as u64;
        Some(TimeKeeper {
            data: VvarData {
                tsc_shift: shift,
                tsc_mult: mult,
                base_tsc: m1.tsc,
                base_mono_ns,
                base_real_ns: base_mono_ns.wrapping_add(real_off as u64),
                base_boot_ns: base_mono_ns.wrapping_add(boot_off as u64),
                enabled: 1,
                raw_mult,
                raw_base_tsc: r1.tsc,
                raw_base_ns: r1.ns as u64,
                ..VvarData::default()
            },
            mono: RateTracker {
                rate_ref: m0,
                next_ref: m1,
                nominal: mult,
            },
            raw: RateTracker {
                rate_ref: r0,
                next_ref: r1,
                nominal: raw_mult,
            },
            real_off,
            boot_off,
        })
    }

    /// Whether the fast path is in use.
    pub fn enabled(&self) -> bool {
        self.data.enabled != 0
    }

    /// The current parameters, to be written into the vvar page with
    /// [`write_vvar`].
    pub fn data(&self) -> VvarData {
        self.data
    }

    /// What the vDSO returns now for `clock` (ns), or `None` if it would make
    /// a syscall. For serving the slow path consistently with the fast one.
    pub fn now_ns(&self, clock: libc::clockid_t) -> Option<i64> {
        self.data.clock_ns(clock, read_tsc())
    }

    /// Re-measures the host clocks and returns new parameters, which should
    /// be written to the vvar page promptly: the guarantee that
    /// `CLOCK_MONOTONIC` never goes backwards assumes the write happens within
    /// 2 ms of the return (a later write can only cause a backwards step of
    /// at most 0.2% of the excess delay). The monotonic clocks continue
    /// seamlessly from the previous parameters.
    pub fn refresh(&mut self) -> VvarData {
        if self.data.enabled == 0 {
            return self.data;
        }
        let (Some(m), Some(r)) = (
            sample(libc::CLOCK_MONOTONIC),
            sample(libc::CLOCK_MONOTONIC_RAW),
        ) else {
            return self.data;
        };
        let shift = self.data.tsc_shift;
        let mono_nominal = self.mono.update(&m, shift);
        let raw_nominal = self.raw.update(&r, shift);

        if let Some(off) = measure_offset(libc::CLOCK_REALTIME, &m, mono_nominal, shift) {
            if off.wrapping_sub(self.real_off).abs() > OFFSET_HYSTERESIS_NS {
                self.real_off = off;
            }
        }
        if let Some(off) = measure_offset(libc::CLOCK_BOOTTIME, &m, mono_nominal, shift) {
            // Only ever grows (by suspend time), so BOOTTIME never goes back.
            if off.wrapping_sub(self.boot_off) > OFFSET_HYSTERESIS_NS {
                self.boot_off = off;
            }
        }

        let d = &self.data;
        let now = read_tsc();
        let mono = retime(
            Segment {
                base_tsc: d.base_tsc,
                base_ns: d.base_mono_ns,
                mult: d.tsc_mult,
            },
            shift,
            mono_nominal,
            &m,
            now,
        );
        let raw = retime(
            Segment {
                base_tsc: d.raw_base_tsc,
                base_ns: d.raw_base_ns,
                mult: d.raw_mult,
            },
            shift,
            raw_nominal,
            &r,
            now,
        );
        self.data = VvarData {
            tsc_shift: shift,
            tsc_mult: mono.mult,
            base_tsc: mono.base_tsc,
            base_mono_ns: mono.base_ns,
            base_real_ns: mono.base_ns.wrapping_add(self.real_off as u64),
            base_boot_ns: mono.base_ns.wrapping_add(self.boot_off as u64),
            enabled: 1,
            raw_mult: raw.mult,
            raw_base_tsc: raw.base_tsc,
            raw_base_ns: raw.base_ns,
            ..VvarData::default()
        };
        self.data
    }
}

/// Publishes `data` in the vvar page at `dst` with a seqlock write: makes the
/// sequence number odd, stores every other field, makes it even again. Readers
/// (the vDSO, [`read_vvar`]) retry or wait while it is odd or has changed.
/// `data.seq` is ignored.
///
/// # Safety
///
/// `dst` must point at the start of a writable, 8-byte aligned mapping of at
/// least [`VVAR_SIZE`] bytes (in practice: the sentry's view of the vvar
/// memory-file page) that stays mapped for the duration of the call, and no
/// other thread may write to it concurrently (one writer; any number of
/// concurrent readers, in any process, are fine). Nothing else in the page is
/// touched beyond `size_of::<VvarData>()` bytes.
pub unsafe fn write_vvar(dst: *mut u8, data: &VvarData) {
    // SAFETY: by the caller's contract `dst` is valid for writes of
    // VVAR_SIZE >= size_of::<VvarData>() bytes and 8-byte aligned, so
    // `dst + offset_of!(field)` (the only offsets used) is in bounds and
    // aligned for that field's type; this process accesses the page only
    // through atomics, and other processes only read it.
    let u32_at = |off: usize| unsafe { AtomicU32::from_ptr(dst.add(off).cast::<u32>()) };
    // SAFETY: as above.
    let u64_at = |off: usize| unsafe { AtomicU64::from_ptr(dst.add(off).cast::<u64>()) };

    let seq = u32_at(offset_of!(VvarData, seq));
    let begin = seq.load(Ordering::Relaxed).wrapping_add(1) | 1;
    seq.store(begin, Ordering::Relaxed);
    // Orders the odd sequence number before the field stores.
    fence(Ordering::Release);

    u32_at(offset_of!(VvarData, _pad)).store(data._pad, Ordering::Relaxed);
    u32_at(offset_of!(VvarData, tsc_shift)).store(data.tsc_shift, Ordering::Relaxed);
    u32_at(offset_of!(VvarData, tsc_mult)).store(data.tsc_mult, Ordering::Relaxed);
    u64_at(offset_of!(VvarData, base_tsc)).store(data.base_tsc, Ordering::Relaxed);
    u64_at(offset_of!(VvarData, base_mono_ns)).store(data.base_mono_ns, Ordering::Relaxed);
    u64_at(offset_of!(VvarData, base_real_ns)).store(data.base_real_ns, Ordering::Relaxed);
    u64_at(offset_of!(VvarData, base_boot_ns)).store(data.base_boot_ns, Ordering::Relaxed);
    u32_at(offset_of!(VvarData, enabled)).store(data.enabled, Ordering::Relaxed);
    u32_at(offset_of!(VvarData, raw_mult)).store(data.raw_mult, Ordering::Relaxed);
    u64_at(offset_of!(VvarData, raw_base_tsc)).store(data.raw_base_tsc, Ordering::Relaxed);
    u64_at(offset_of!(VvarData, raw_base_ns)).store(data.raw_base_ns, Ordering::Relaxed);

    // Orders the field stores before the even sequence number.
    seq.store(begin.wrapping_add(1), Ordering::Release);
}

/// Reads a consistent snapshot of the vvar page at `src` (seqlock read; spins
/// while a write is in progress). The returned `seq` is the even sequence
/// number the snapshot belongs to.
///
/// # Safety
///
/// `src` must point at the start of a readable, 8-byte aligned mapping of at
/// least [`VVAR_SIZE`] bytes that stays mapped for the duration of the call,
/// written only through [`write_vvar`].
pub unsafe fn read_vvar(src: *const u8) -> VvarData {
    // SAFETY: by the caller's contract `src + offset_of!(field)` (the only
    // offsets used) is in bounds and aligned for the field's type; the page
    // is only written with atomics (write_vvar), and plain atomic loads of
    // <= 8 bytes are permitted even on read-only memory.
    let u32_at = |off: usize| unsafe {
        AtomicU32::from_ptr(src.add(off).cast::<u32>().cast_mut()).load(Ordering::Relaxed)
    };
    // SAFETY: as above.
    let u64_at = |off: usize| unsafe {
        AtomicU64::from_ptr(src.add(off).cast::<u64>().cast_mut()).load(Ordering::Relaxed)
    };
    // SAFETY: as above.
    let seq = unsafe { AtomicU32::from_ptr(src.cast::<u32>().cast_mut()) };
    loop {
        let s = seq.load(Ordering::Acquire);
        if s & 1 != 0 {
            std::hint::spin_loop();
            continue;
        }
        let d = VvarData {
            seq: s,
            _pad: u32_at(offset_of!(VvarData, _pad)),
            tsc_shift: u32_at(offset_of!(VvarData, tsc_shift)),
            tsc_mult: u32_at(offset_of!(VvarData, tsc_mult)),
            base_tsc: u64_at(offset_of!(VvarData, base_tsc)),
            base_mono_ns: u64_at(offset_of!(VvarData, base_mono_ns)),
            base_real_ns: u64_at(offset_of!(VvarData, base_real_ns)),
            base_boot_ns: u64_at(offset_of!(VvarData, base_boot_ns)),
            enabled: u32_at(offset_of!(VvarData, enabled)),
            raw_mult: u32_at(offset_of!(VvarData, raw_mult)),
            raw_base_tsc: u64_at(offset_of!(VvarData, raw_base_tsc)),
            raw_base_ns: u64_at(offset_of!(VvarData, raw_base_ns)),
        };
        fence(Ordering::Acquire);
        if seq.load(Ordering::Relaxed) == s {
            return d;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ptr;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    /// CPUID's invariant-TSC bit says what the host kernel's flags say.
    #[test]
    fn tsc_reliability_matches_the_hosts_flags() {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap();
        let flags = cpuinfo
            .lines()
            .find(|l| l.starts_with("flags"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, f)| f.to_string())
            .unwrap_or_default();
        let has = |f: &str| flags.split_whitespace().any(|x| x == f);
        assert_eq!(
            host_tsc_reliable(),
            has("constant_tsc") && has("nonstop_tsc")
        );
    }

    type ClockGettime = unsafe extern "C" fn(libc::clockid_t, *mut libc::timespec) -> libc::c_int;
    type Gettimeofday = unsafe extern "C" fn(*mut libc::timeval, *mut Timezone) -> libc::c_int;

    /// `struct timezone` (opaque in the libc crate).
    #[repr(C)]
    struct Timezone {
        tz_minuteswest: i32,
        tz_dsttime: i32,
    }
    type Time = unsafe extern "C" fn(*mut libc::time_t) -> libc::time_t;
    type Getcpu = unsafe extern "C" fn(*mut u32, *mut u32, *mut libc::c_void) -> libc::c_long;

    const MS: i64 = 1_000_000;

    /// The image and a vvar page mapped in this process as the sentry maps
    /// them in a sandbox: vvar at B - 4096, image at B.
    struct Mapped {
        base: *mut u8,
        len: usize,
    }

    impl Mapped {
        fn new() -> Mapped {
            let len = (VVAR_SIZE + image_pages()) as usize;
            // SAFETY: a fresh anonymous mapping; no existing memory is affected.
            let p = unsafe {
                libc::mmap(
                    ptr::null_mut(),
                    len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            assert_ne!(p, libc::MAP_FAILED, "mmap");
            let base = p.cast::<u8>();
            // SAFETY: the mapping is VVAR_SIZE + image_pages() >= VVAR_SIZE +
            // IMAGE.len() bytes, writable, and does not overlap IMAGE.
            let image = unsafe { base.add(VVAR_SIZE as usize) };
            // SAFETY: see above.
            unsafe { ptr::copy_nonoverlapping(IMAGE.as_ptr(), image, IMAGE.len()) };
            // SAFETY: changes the protection of the image part of our own
            // mapping only.
            let r = unsafe {
                libc::mprotect(
                    image.cast(),
                    image_pages() as usize,
                    libc::PROT_READ | libc::PROT_EXEC,
                )
            };
            assert_eq!(r, 0, "mprotect");
            Mapped { base, len }
        }

        fn write(&self, d: &VvarData) {
            // SAFETY: `base` is the page-aligned, writable vvar page of our
            // mapping, and each test writes it from one thread only.
            unsafe { write_vvar(self.base, d) }
        }

        fn read(&self) -> VvarData {
            // SAFETY: `base` is the page-aligned vvar page, written only by
            // write_vvar.
            unsafe { read_vvar(self.base) }
        }

        /// The address of `name` in the mapped image.
        fn sym(&self, name: &str) -> *const () {
            let off = entry_offset(name).unwrap_or_else(|| panic!("no symbol {name}"));
            (self.base as usize + VVAR_SIZE as usize + off as usize) as *const ()
        }

        fn clock_gettime(&self, clock: libc::clockid_t) -> (i32, libc::timespec) {
            // SAFETY: the address is __vdso_clock_gettime in the mapped image,
            // a C function with this signature.
            let f = unsafe {
                std::mem::transmute::<*const (), ClockGettime>(self.sym("__vdso_clock_gettime"))
            };
            let mut ts = libc::timespec {
                tv_sec: -1,
                tv_nsec: -1,
            };
            // SAFETY: `ts` is writable; the vvar page is mapped below the image.
            let r = unsafe { f(clock, &mut ts) };
            (r, ts)
        }

        fn clock_getres(&self, clock: libc::clockid_t) -> (i32, libc::timespec) {
            // SAFETY: as in clock_gettime; same signature.
            let f = unsafe {
                std::mem::transmute::<*const (), ClockGettime>(self.sym("__vdso_clock_getres"))
            };
            let mut ts = libc::timespec {
                tv_sec: -1,
                tv_nsec: -1,
            };
            // SAFETY: as in clock_gettime.
            let r = unsafe { f(clock, &mut ts) };
            (r, ts)
        }

        fn gettimeofday(&self) -> (i32, libc::timeval, Timezone) {
            // SAFETY: the address is __vdso_gettimeofday, with this signature.
            let f = unsafe {
                std::mem::transmute::<*const (), Gettimeofday>(self.sym("__vdso_gettimeofday"))
            };
            let mut tv = libc::timeval {
                tv_sec: -1,
                tv_usec: -1,
            };
            let mut tz = Timezone {
                tz_minuteswest: 7,
                tz_dsttime: 7,
            };
            // SAFETY: both pointers are writable; the vvar page is mapped.
            let r = unsafe { f(&mut tv, &mut tz) };
            (r, tv, tz)
        }

        fn time(&self) -> (libc::time_t, libc::time_t) {
            // SAFETY: the address is __vdso_time, with this signature.
            let f = unsafe { std::mem::transmute::<*const (), Time>(self.sym("__vdso_time")) };
            let mut t: libc::time_t = -1;
            // SAFETY: NULL is allowed; `t` is writable; the vvar page is mapped.
            let (a, b) = unsafe { (f(ptr::null_mut()), f(&mut t)) };
            assert_eq!(b, t);
            (a, b)
        }

        fn ns(&self, clock: libc::clockid_t) -> i64 {
            let (r, ts) = self.clock_gettime(clock);
            assert_eq!(r, 0, "clock {clock}");
            ts_ns(&ts)
        }
    }

    impl Drop for Mapped {
        fn drop(&mut self) {
            // SAFETY: unmaps exactly the mapping created in new(); no
            // references into it outlive `self`.
            unsafe { libc::munmap(self.base.cast(), self.len) };
        }
    }

    fn ts_ns(ts: &libc::timespec) -> i64 {
        assert!((0..NSEC_PER_SEC).contains(&ts.tv_nsec), "{}", ts.tv_nsec);
        ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec
    }

    fn host(clock: libc::clockid_t) -> i64 {
        host_ns(clock).unwrap_or_else(|| panic!("host clock {clock}"))
    }

    /// Checks that the vDSO's `clock` is within `tol` ns of the host's,
    /// bracketing the vDSO read with two host reads (so preemption cannot
    /// cause a false failure).
    fn assert_close(m: &Mapped, clock: libc::clockid_t, tol: i64) {
        let before = host(clock);
        let v = m.ns(clock);
        let after = host(clock);
        assert!(
            v >= before - tol && v <= after + tol,
            "clock {clock}: vdso {v}, host {before}..{after}"
        );
    }

    fn keeper() -> Option<TimeKeeper> {
        let tk = TimeKeeper::new();
        if !tk.enabled() {
            eprintln!("host TSC not usable (no constant_tsc/nonstop_tsc): skipping");
            return None;
        }
        Some(tk)
    }

    #[test]
    fn image_is_a_relocation_free_versioned_dso() {
        let e = elf::Elf::parse(image()).expect("parse");
        assert_eq!(e.e_type, elf::ET_DYN);
        assert_eq!(e.e_machine, elf::EM_X86_64);
        assert_eq!(e.soname().expect("soname"), Some("linux-vdso.so.1"));
        let loads: Vec<_> = e
            .phdrs
            .iter()
            .filter(|p| p.p_type == elf::PT_LOAD)
            .collect();
        assert_eq!(loads.len(), 1);
        assert_eq!((loads[0].p_offset, loads[0].p_vaddr), (0, 0));
        assert_eq!(loads[0].p_flags, elf::PF_R | elf::PF_X);
        for tag in [
            elf::DT_RELA,
            elf::DT_REL,
            elf::DT_RELR,
            elf::DT_JMPREL,
            elf::DT_TEXTREL,
        ] {
            assert!(e.dyn_val(tag).is_none(), "dynamic tag {tag:#x}");
        }
        assert!(e.dyn_val(elf::DT_VERSYM).is_some() && e.dyn_val(elf::DT_VERDEF).is_some());
        assert!(image().len() <= 8192, "image is {} bytes", image().len());
        assert_eq!(image_pages() % PAGE_SIZE, 0);
        assert!(image_pages() >= image().len() as u64);

        let syms = e.dynsyms().expect("dynsyms");
        for name in [
            "clock_gettime",
            "gettimeofday",
            "time",
            "getcpu",
            "clock_getres",
        ] {
            let vname = format!("__vdso_{name}");
            let v = syms.iter().find(|s| s.name == vname).expect(&vname);
            let a = syms.iter().find(|s| s.name == name).expect(name);
            assert_eq!(v.version, Some("LINUX_2.6"), "{vname}");
            assert_eq!(a.version, Some("LINUX_2.6"), "{name}");
            assert!(!v.version_hidden && !a.version_hidden);
            assert_eq!(v.sym_type, elf::STT_FUNC);
            assert_eq!(v.bind, elf::STB_GLOBAL);
            assert_eq!(a.bind, elf::STB_WEAK);
            assert_eq!(a.value, v.value, "{name} aliases {vname}");
            assert_eq!(entry_offset(&vname), Some(v.value));
            assert!(v.value > 0 && v.value + v.size <= image().len() as u64);
        }
        assert_eq!(entry_offset("nonexistent"), None);
    }

    /// glibc's own versioned symbol lookup (what dl_vdso_vsym uses) accepts
    /// the image.
    #[test]
    fn glibc_resolves_versioned_symbols() {
        let path = std::ffi::CString::new(concat!(env!("OUT_DIR"), "/vdso.so")).expect("path");
        // SAFETY: dlopen of a file that runs no code when loaded (no
        // constructors, no relocations, no dependencies).
        let h = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        if h.is_null() {
            // SAFETY: dlerror returns NULL or a valid C string.
            let err = unsafe { libc::dlerror() };
            let msg = if err.is_null() {
                String::new()
            } else {
                // SAFETY: non-NULL dlerror results are NUL-terminated strings.
                unsafe { std::ffi::CStr::from_ptr(err) }
                    .to_string_lossy()
                    .into_owned()
            };
            panic!("dlopen: {msg}");
        }
        let lookup = |name: &str, version: &str| {
            let n = std::ffi::CString::new(name).expect("name");
            let v = std::ffi::CString::new(version).expect("version");
            // SAFETY: `h` is a live handle; both strings are NUL-terminated.
            unsafe { libc::dlvsym(h, n.as_ptr(), v.as_ptr()) as usize }
        };
        let base = lookup("__vdso_clock_gettime", "LINUX_2.6")
            - entry_offset("__vdso_clock_gettime").expect("offset") as usize;
        for name in [
            "clock_gettime",
            "gettimeofday",
            "time",
            "getcpu",
            "clock_getres",
        ] {
            for n in [format!("__vdso_{name}"), name.to_string()] {
                let off = entry_offset(&n).expect("offset") as usize;
                assert_eq!(lookup(&n, "LINUX_2.6"), base + off, "{n}");
                assert_eq!(lookup(&n, "LINUX_2.5"), 0, "{n} with a wrong version");
            }
        }
        // SAFETY: `h` came from dlopen and no pointer into it is used after.
        unsafe { libc::dlclose(h) };
    }

    #[test]
    fn vvar_write_read_round_trip() {
        let m = Mapped::new();
        assert_eq!(m.read(), VvarData::default());
        let d = VvarData {
            seq: 12345, // ignored
            tsc_shift: 1,
            tsc_mult: 2,
            base_tsc: 3,
            base_mono_ns: 4,
            base_real_ns: 5,
            base_boot_ns: 6,
            enabled: 7,
            raw_mult: 8,
            raw_base_tsc: 9,
            raw_base_ns: 10,
            ..VvarData::default()
        };
        m.write(&d);
        m.write(&d);
        assert_eq!(m.read(), VvarData { seq: 4, ..d });
    }

    /// A reader never sees a mix of two writes.
    #[test]
    fn seqlock_readers_see_whole_writes() {
        struct Page(*mut u8);
        // SAFETY: the pointer is only used through write_vvar/read_vvar,
        // which synchronize through the sequence number.
        unsafe impl Send for Page {}
        // SAFETY: as above.
        unsafe impl Sync for Page {}

        let m = Mapped::new();
        let page = Arc::new(Page(m.base));
        let stop = Arc::new(AtomicBool::new(false));
        let uniform = |k: u64| VvarData {
            tsc_shift: k as u32,
            tsc_mult: k as u32,
            base_tsc: k,
            base_mono_ns: k,
            base_real_ns: k,
            base_boot_ns: k,
            enabled: k as u32,
            raw_mult: k as u32,
            raw_base_tsc: k,
            raw_base_ns: k,
            ..VvarData::default()
        };
        let writer = {
            let (page, stop) = (page.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut k = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    k += 1;
                    // SAFETY: the page stays mapped until after join(); this
                    // is the only writer.
                    unsafe { write_vvar(page.0, &uniform(k)) };
                }
                k
            })
        };
        let mut last = 0;
        let mut reads = 0u64;
        // Keep reading until the writer has really run concurrently (on a
        // loaded machine it may not be scheduled for a while).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while (reads < 200_000 || last < 1000) && std::time::Instant::now() < deadline {
            reads += 1;
            // SAFETY: the page stays mapped; written only by write_vvar.
            let d = unsafe { read_vvar(page.0) };
            let k = d.base_tsc;
            assert_eq!(
                VvarData {
                    seq: d.seq,
                    ..uniform(k)
                },
                d
            );
            assert!(k >= last);
            last = k;
        }
        stop.store(true, Ordering::Relaxed);
        let writes = writer.join().expect("writer");
        assert!(writes > 0 && last > 0, "the writer never ran concurrently");
    }

    #[test]
    fn fast_path_matches_host() {
        let Some(tk) = keeper() else { return };
        let m = Mapped::new();
        m.write(&tk.data());
        for clock in [
            libc::CLOCK_MONOTONIC,
            libc::CLOCK_REALTIME,
            libc::CLOCK_BOOTTIME,
            libc::CLOCK_MONOTONIC_RAW,
        ] {
            assert_close(&m, clock, MS);
        }
        // Coarse clocks are served with full resolution (Linux's coarse
        // resolution is a tick, 1-10 ms).
        assert_close(&m, libc::CLOCK_MONOTONIC_COARSE, 10 * MS);
        assert_close(&m, libc::CLOCK_REALTIME_COARSE, 10 * MS);

        // The Rust mirror computes exactly what the C code does.
        for clock in [
            libc::CLOCK_MONOTONIC,
            libc::CLOCK_REALTIME,
            libc::CLOCK_MONOTONIC_RAW,
        ] {
            let t0 = read_tsc();
            let v = m.ns(clock);
            let t1 = read_tsc();
            let d = m.read();
            let (lo, hi) = (d.clock_ns(clock, t0), d.clock_ns(clock, t1));
            assert!(lo.is_some_and(|lo| lo <= v) && hi.is_some_and(|hi| v <= hi));
            let now = tk.now_ns(clock).expect("now_ns");
            assert!((now - v).abs() < MS);
        }

        let before = host(libc::CLOCK_REALTIME) / 1000;
        let (r, tv, tz) = m.gettimeofday();
        let after = host(libc::CLOCK_REALTIME) / 1000;
        assert_eq!(r, 0);
        assert!((0..1_000_000).contains(&tv.tv_usec));
        let us = tv.tv_sec * 1_000_000 + tv.tv_usec;
        assert!(
            us >= before - 1000 && us <= after + 1000,
            "{us} {before}..{after}"
        );
        assert_eq!((tz.tz_minuteswest, tz.tz_dsttime), (0, 0));

        let before = host(libc::CLOCK_REALTIME) / NSEC_PER_SEC;
        let (a, b) = m.time();
        let after = host(libc::CLOCK_REALTIME) / NSEC_PER_SEC;
        assert!(a >= before - 1 && b <= after + 1);

        let (r, res) = m.clock_getres(libc::CLOCK_MONOTONIC);
        assert_eq!((r, res.tv_sec, res.tv_nsec), (0, 0, 1));
    }

    /// The vDSO really reads the vvar page: with a zero multiplier every
    /// fast clock is frozen at its base.
    #[test]
    fn fast_path_uses_vvar() {
        let m = Mapped::new();
        let d = VvarData {
            tsc_shift: 0,
            tsc_mult: 0,
            base_mono_ns: 1000 * NSEC_PER_SEC as u64 + 1,
            base_real_ns: 2000 * NSEC_PER_SEC as u64 + 2_000_002,
            base_boot_ns: 3000 * NSEC_PER_SEC as u64 + 3,
            raw_base_ns: 4000 * NSEC_PER_SEC as u64 + 4,
            enabled: 1,
            ..VvarData::default()
        };
        m.write(&d);
        assert_eq!(m.ns(libc::CLOCK_MONOTONIC), 1000 * NSEC_PER_SEC + 1);
        assert_eq!(m.ns(libc::CLOCK_MONOTONIC_COARSE), 1000 * NSEC_PER_SEC + 1);
        assert_eq!(m.ns(libc::CLOCK_REALTIME), 2000 * NSEC_PER_SEC + 2_000_002);
        assert_eq!(
            m.ns(libc::CLOCK_REALTIME_COARSE),
            2000 * NSEC_PER_SEC + 2_000_002
        );
        assert_eq!(m.ns(libc::CLOCK_BOOTTIME), 3000 * NSEC_PER_SEC + 3);
        assert_eq!(m.ns(libc::CLOCK_MONOTONIC_RAW), 4000 * NSEC_PER_SEC + 4);
        let (r, tv, _) = m.gettimeofday();
        assert_eq!((r, tv.tv_sec, tv.tv_usec), (0, 2000, 2000));
        assert_eq!(m.time(), (2000, 2000));

        // Negative realtime (before 1970) is split like Linux does.
        m.write(&VvarData {
            base_real_ns: (-1_500_000_000i64) as u64,
            ..d
        });
        let (_, ts) = m.clock_gettime(libc::CLOCK_REALTIME);
        assert_eq!((ts.tv_sec, ts.tv_nsec), (-2, 500_000_000));

        // Clocks without a fast path (TAI, CPU-time clocks) still get the
        // host's answer, not the frozen page.
        m.write(&d);
        assert_close(&m, libc::CLOCK_TAI, MS);
        let (r, _) = m.clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID);
        assert_eq!(r, 0);
    }

    /// With `enabled == 0` (here: a page of zeros) every call is a real
    /// syscall, which in this test process the host serves.
    #[test]
    fn disabled_falls_back_to_syscalls() {
        let m = Mapped::new();
        m.write(&TimeKeeper::with_tsc(false).data());
        assert_eq!(m.read().enabled, 0);
        for clock in [
            libc::CLOCK_MONOTONIC,
            libc::CLOCK_REALTIME,
            libc::CLOCK_BOOTTIME,
            libc::CLOCK_MONOTONIC_RAW,
            libc::CLOCK_TAI,
        ] {
            assert_close(&m, clock, MS);
        }
        let (r, _) = m.clock_gettime(1000);
        assert_eq!(r, -libc::EINVAL);
        let (r, _) = m.clock_getres(1000);
        assert_eq!(r, -libc::EINVAL);
        let (r, res) = m.clock_getres(libc::CLOCK_MONOTONIC);
        assert_eq!((r, res.tv_sec), (0, 0));

        let before = host(libc::CLOCK_REALTIME) / 1000;
        let (r, tv, _) = m.gettimeofday();
        let after = host(libc::CLOCK_REALTIME) / 1000;
        assert_eq!(r, 0);
        let us = tv.tv_sec * 1_000_000 + tv.tv_usec;
        assert!(us >= before - 1000 && us <= after + 1000);
        // time(2) reads the tick-updated coarse clock, which may still
        // show the previous second just after CLOCK_REALTIME turned over.
        let before = host(libc::CLOCK_REALTIME) / NSEC_PER_SEC;
        let (a, b) = m.time();
        assert!(a >= before - 1 && b <= before + 2);

        // getcpu is the syscall (here the host's).
        // SAFETY: the address is __vdso_getcpu, with this signature.
        let f = unsafe { std::mem::transmute::<*const (), Getcpu>(m.sym("__vdso_getcpu")) };
        let (mut cpu, mut node) = (u32::MAX, u32::MAX);
        // SAFETY: both pointers are writable; the cache argument is unused.
        let r = unsafe { f(&mut cpu, &mut node, ptr::null_mut()) };
        assert_eq!(r, 0);
        assert!(cpu < 8192 && node < 1024);
        // SAFETY: NULL pointers are allowed.
        let r = unsafe { f(ptr::null_mut(), ptr::null_mut(), ptr::null_mut()) };
        assert_eq!(r, 0);
    }

    /// A sentry stuck mid-write (odd sequence number) does not hang the
    /// sandbox: after a short spin the vDSO asks the kernel.
    #[test]
    fn stuck_writer_falls_back_to_syscall() {
        let m = Mapped::new();
        m.write(&VvarData {
            enabled: 1,
            base_mono_ns: 1,
            ..VvarData::default()
        });
        // SAFETY: the vvar page is ours and writable; seq is at offset 0.
        unsafe { AtomicU32::from_ptr(m.base.cast::<u32>()) }.store(1, Ordering::Release);
        assert_close(&m, libc::CLOCK_MONOTONIC, MS);
    }

    /// CLOCK_MONOTONIC (and RAW, BOOTTIME) never go backwards across
    /// refreshes, and stay close to the host.
    #[test]
    fn monotonic_across_refreshes() {
        let Some(mut tk) = keeper() else { return };
        let m = Mapped::new();
        m.write(&tk.data());
        let clocks = [
            libc::CLOCK_MONOTONIC,
            libc::CLOCK_MONOTONIC_RAW,
            libc::CLOCK_BOOTTIME,
        ];
        let mut last = clocks.map(|c| m.ns(c));
        for i in 0..1000 {
            let d = tk.refresh();
            for (c, l) in clocks.iter().zip(last.iter_mut()) {
                let v = m.ns(*c);
                assert!(
                    v >= *l,
                    "clock {c} went back {} ns before refresh {i}",
                    *l - v
                );
                *l = v;
            }
            m.write(&d);
            for _ in 0..3 {
                for (c, l) in clocks.iter().zip(last.iter_mut()) {
                    let v = m.ns(*c);
                    assert!(
                        v >= *l,
                        "clock {c} went back {} ns after refresh {i}",
                        *l - v
                    );
                    *l = v;
                }
            }
        }
        for c in clocks {
            assert_close(&m, c, MS);
        }
        assert_close(&m, libc::CLOCK_REALTIME, MS);
    }

    /// A clock that is off (here: 0.5 ms ahead, or running 0.1% fast or
    /// slow) is steered back to the host without going backwards. The error
    /// decays with a time constant of SLEW_PERIOD_NS (1 s) when refreshed
    /// often, and in one step when refreshed once per SLEW_PERIOD_NS.
    #[test]
    fn refresh_slews_without_going_back() {
        let Some(tk0) = keeper() else { return };
        type Skew = fn(&mut TimeKeeper);
        let cases: [(Skew, i64); 3] = [
            (|tk| tk.data.base_mono_ns += 500_000, 250_000),
            (|tk| tk.data.tsc_mult += tk.data.tsc_mult / 1000, 100_000),
            (|tk| tk.data.tsc_mult -= tk.data.tsc_mult / 1000, 100_000),
        ];
        let threads: Vec<_> = cases
            .into_iter()
            .map(|(skew, tol)| {
                let mut tk = tk0.clone();
                std::thread::spawn(move || {
                    skew(&mut tk);
                    let m = Mapped::new();
                    m.write(&tk.data());
                    let mut last = m.ns(libc::CLOCK_MONOTONIC);
                    let start = host(libc::CLOCK_MONOTONIC);
                    while host(libc::CLOCK_MONOTONIC) - start < 1000 * MS {
                        let d = tk.refresh();
                        m.write(&d);
                        for _ in 0..100 {
                            let v = m.ns(libc::CLOCK_MONOTONIC);
                            assert!(v >= last, "went back {} ns", last - v);
                            last = v;
                        }
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    assert_close(&m, libc::CLOCK_MONOTONIC, tol);
                })
            })
            .collect();
        for t in threads {
            t.join().expect("slew thread");
        }
    }

    /// The slowdown anchoring: the new segment is >= the old one up to the
    /// anchor, so a reading with the old parameters before publication is
    /// never above a later one with the new parameters.
    #[test]
    fn retime_never_goes_back() {
        let shift = 31;
        let nominal = 1u32 << 30; // 0.5 ns per tick
        let old = Segment {
            base_tsc: 1_000_000,
            base_ns: 5_000_000_000,
            mult: nominal,
        };
        let now = 3_000_000u64;
        for err in [-900_000i64, -50_000, -1, 0, 1, 50_000, 900_000, 5_000_000] {
            let host = Sample {
                tsc: now,
                ns: old.at(now, shift) as i64 + err,
            };
            let new = retime(old, shift, nominal, &host, now);
            // Publication anywhere up to 1 ms after `now`.
            for w in (now..now + 2_000_000).step_by(99_991) {
                for t1 in (now.saturating_sub(100_000)..w).step_by(7_919) {
                    for t2 in (w..w + 3_000_000).step_by(15_101) {
                        assert!(
                            new.at(t2, shift) >= old.at(t1, shift),
                            "err {err}: t1 {t1} w {w} t2 {t2}"
                        );
                    }
                }
            }
            let hi = u128::from(nominal) * (1_000_000 + MAX_SLEW_PPM as u128) / 1_000_000;
            let lo = u128::from(nominal) * (1_000_000 - MAX_SLEW_PPM as u128) / 1_000_000;
            assert!(
                (lo..=hi).contains(&u128::from(new.mult)),
                "err {err}: {new:?}"
            );
        }
    }

    /// Refreshing once a second as the sentry does, the vDSO's monotonic clock
    /// stays within a few microseconds of the host's. Slow (10 s): run with
    /// `--ignored --nocapture`.
    #[test]
    #[ignore]
    fn steady_state_accuracy() {
        let Some(mut tk) = keeper() else { return };
        let mut worst = 0;
        for i in 0..10 {
            std::thread::sleep(Duration::from_secs(1));
            let before = host(libc::CLOCK_MONOTONIC);
            let v = tk.now_ns(libc::CLOCK_MONOTONIC).expect("enabled");
            let after = host(libc::CLOCK_MONOTONIC);
            let err = if v < before {
                v - before
            } else if v > after {
                v - after
            } else {
                0
            };
            eprintln!(
                "after {}s: vdso - host midpoint {} ns (bracket {} ns)",
                i + 1,
                v - (before + after) / 2,
                after - before
            );
            if i > 1 {
                worst = worst.max(err.abs());
            }
            tk.refresh();
        }
        assert!(worst < 50_000, "worst error {worst} ns");
    }

    /// Prints the cost of one `__vdso_clock_gettime(CLOCK_MONOTONIC)` (run
    /// with `--nocapture` to see it).
    #[test]
    fn clock_gettime_cost() {
        let Some(tk) = keeper() else { return };
        let m = Mapped::new();
        m.write(&tk.data());
        // SAFETY: the address is __vdso_clock_gettime, with this signature.
        let f = unsafe {
            std::mem::transmute::<*const (), ClockGettime>(m.sym("__vdso_clock_gettime"))
        };
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        let n = 1_000_000u32;
        let mut best = f64::MAX;
        for _ in 0..3 {
            let start = std::time::Instant::now();
            for _ in 0..n {
                // SAFETY: `ts` is writable; the vvar page is mapped.
                unsafe { f(libc::CLOCK_MONOTONIC, &mut ts) };
            }
            best = best.min(start.elapsed().as_nanos() as f64 / f64::from(n));
        }
        let start = std::time::Instant::now();
        for _ in 0..n {
            // SAFETY: `ts` is writable.
            unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
        }
        let host = start.elapsed().as_nanos() as f64 / f64::from(n);
        eprintln!(
            "__vdso_clock_gettime: {best:.1} ns/call (host clock_gettime: {host:.1} ns/call)"
        );
    }
}
