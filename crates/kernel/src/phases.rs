//! Phase timing for performance work. With `RVISOR_PHASES` set in
//! rvisor's environment, the sandbox's start-up steps and the steps of
//! each exec and process start and end are written to stderr as they
//! happen, each stamped with the milliseconds since the sentry started
//! (monotonic clock); when the sandbox ends, time spent per syscall and
//! per class of application fault is summed up. `docs/benchmarks.md`
//! ("Where the time goes") reads these lines. Off (the default) every
//! hook costs one relaxed atomic load.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

static ON: AtomicBool = AtomicBool::new(false);
static START: OnceLock<Instant> = OnceLock::new();

/// Reads `RVISOR_PHASES` and starts the clock (first thing at start).
pub fn init() {
    START.get_or_init(Instant::now);
    if std::env::var_os("RVISOR_PHASES").is_some() {
        ON.store(true, Ordering::Relaxed);
    }
}

/// Whether phases are being timed.
#[inline]
pub fn on() -> bool {
    ON.load(Ordering::Relaxed)
}

fn since_start_ms() -> f64 {
    START.get_or_init(Instant::now).elapsed().as_secs_f64() * 1e3
}

/// Logs that `what` has just happened.
pub fn mark(what: &str) {
    if on() {
        eprintln!("rvisor-phase {:9.3} ms  {what}", since_start_ms());
    }
}

/// A step being timed: logged with its duration when dropped.
pub struct Span(Option<(Instant, &'static str)>);

/// Times `what` until the returned value is dropped.
#[inline]
pub fn span(what: &'static str) -> Span {
    Span(on().then(|| (Instant::now(), what)))
}

impl Drop for Span {
    fn drop(&mut self) {
        if let Some((t, what)) = self.0 {
            let us = t.elapsed().as_secs_f64() * 1e6;
            eprintln!(
                "rvisor-phase {:9.3} ms  {what}: {us:.1} us",
                since_start_ms()
            );
        }
    }
}

/// When a timed event (a syscall, a fault) began, if timing is on.
#[inline]
pub fn start() -> Option<Instant> {
    on().then(Instant::now)
}

/// Classes of application fault, as [`fault`] counts them.
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    /// Private anonymous memory (heap, `.bss`, anonymous `mmap`).
    Anon = 0,
    /// A file's pages, private or shared.
    File,
    /// Memory shared with other address spaces without a file (`MAP_SHARED
    /// | MAP_ANONYMOUS`, System V shared memory).
    Shared,
    /// A stack (a `MAP_GROWSDOWN` mapping, its growth included).
    Stack,
    /// A write to a page mapped read-only for copy-on-write.
    Cow,
    /// A fault the application gets as a signal.
    Signal,
}

const FAULT_NAMES: [&str; 6] = ["anon", "file", "shared", "stack", "cow", "signal"];
const SYSCALLS: usize = 512;

struct Totals {
    count: AtomicU64,
    ns: AtomicU64,
}

#[allow(clippy::declare_interior_mutable_const)]
const ZERO: Totals = Totals {
    count: AtomicU64::new(0),
    ns: AtomicU64::new(0),
};
static FAULTS: [Totals; 6] = [ZERO; 6];
static CALLS: [Totals; SYSCALLS] = [ZERO; SYSCALLS];

fn add(t: &Totals, since: Instant) {
    let ns = since.elapsed().as_nanos() as u64;
    t.count.fetch_add(1, Ordering::Relaxed);
    t.ns.fetch_add(ns, Ordering::Relaxed);
}

/// Counts a fault of `class` that began at `since` (from [`start`]).
#[inline]
pub fn fault(since: Option<Instant>, class: Fault) {
    if let Some(t) = since {
        add(&FAULTS[class as usize], t);
    }
}

/// Counts syscall `nr` served from `since` (from [`start`]) until now.
#[inline]
pub fn syscall(since: Option<Instant>, nr: u64) {
    if let Some(t) = since {
        if let Some(c) = CALLS.get(nr as usize) {
            add(c, t);
        }
    }
}

/// Writes the fault classes and the syscalls (by total time, `name`
/// naming them) counted so far.
pub fn report(name: fn(u64) -> &'static str) {
    if !on() {
        return;
    }
    mark("summary");
    for (i, t) in FAULTS.iter().enumerate() {
        let n = t.count.load(Ordering::Relaxed);
        if n > 0 {
            let us = t.ns.load(Ordering::Relaxed) as f64 / 1e3;
            eprintln!(
                "rvisor-phase   faults {:7}: {n:6} x {:8.1} us = {us:10.1} us",
                FAULT_NAMES[i],
                us / n as f64
            );
        }
    }
    let mut calls: Vec<(u64, u64, usize)> = CALLS
        .iter()
        .enumerate()
        .map(|(nr, t)| {
            (
                t.ns.load(Ordering::Relaxed),
                t.count.load(Ordering::Relaxed),
                nr,
            )
        })
        .filter(|&(_, n, _)| n > 0)
        .collect();
    calls.sort_unstable_by(|a, b| b.cmp(a));
    for (ns, n, nr) in calls {
        let us = ns as f64 / 1e3;
        eprintln!(
            "rvisor-phase   syscall {:16}: {n:6} x {:8.1} us = {us:10.1} us",
            name(nr as u64),
            us / n as f64
        );
    }
}
