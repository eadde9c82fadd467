//! The watchdog: a sentry thread that finds tasks stuck in the sentry.
//!
//! A task is stuck when it has been serving one syscall or fault for
//! longer than the timeout while not asleep in its [`waiter::Waiter`]
//! (an interruptible wait: `sleep`, a read on an empty pipe, a futex
//! wait) nor waiting for another task (a `vfork` parent). Such a task
//! spins or blocks on the host where nothing can interrupt it: a sentry
//! bug. The run loop's only cost is a few stores into the task's own
//! state ([`TaskShared::sentry_since`], [`TaskShared::sentry_call`]); the
//! watchdog reads them from its own thread.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use crate::task::{lock, TaskShared, SENTRY_FAULT};
use crate::timer::clock_ns_at;
use crate::Kernel;

/// What to do about a stuck task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Report it, once per stuck episode.
    Log,
    /// Report it, then end the sandbox.
    Panic,
}

#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub timeout: Duration,
    pub action: Action,
}

/// gVisor's default: a syscall in the sentry for 3 minutes is a bug.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(180);

impl Default for Options {
    fn default() -> Self {
        Options {
            timeout: DEFAULT_TIMEOUT,
            action: Action::Log,
        }
    }
}

/// Records what the task entered the sentry for (the run loop, on each
/// syscall or fault): relaxed stores into its own state.
#[inline]
pub fn note_call(t: &TaskShared, nr: u64, args: [u64; 6]) {
    t.sentry_call[0].store(nr, Ordering::Relaxed);
    for (slot, a) in t.sentry_call[1..].iter().zip(args) {
        slot.store(a, Ordering::Relaxed);
    }
}

/// Starts the watchdog thread. `name` gives a syscall's name; `abort`
/// ends the sandbox (after the report) for [`Action::Panic`].
pub fn start(
    k: &Arc<Kernel>,
    o: Options,
    name: fn(u64) -> &'static str,
    abort: Box<dyn Fn() + Send>,
) {
    let k = Arc::downgrade(k);
    let _ = std::thread::Builder::new()
        .name("watchdog".into())
        .spawn(move || run(k, o, name, abort));
}

fn run(k: Weak<Kernel>, o: Options, name: fn(u64) -> &'static str, abort: Box<dyn Fn() + Send>) {
    // Checked a few times per timeout: a stuck task is reported at most a
    // quarter of the timeout late.
    let period = (o.timeout / 4).clamp(Duration::from_millis(50), Duration::from_secs(30));
    let timeout_ns = o.timeout.as_nanos() as u64;
    // Episodes already reported: (tid, when it entered the sentry).
    let mut reported: HashSet<(i32, u64)> = HashSet::new();
    loop {
        std::thread::sleep(period);
        let Some(k) = k.upgrade() else { return };
        let tasks: Vec<Arc<TaskShared>> = lock(&k.table).tasks.values().cloned().collect();
        let now = clock_ns_at(Instant::now());
        let mut stuck = HashSet::new();
        let mut reports = Vec::new();
        for t in &tasks {
            let since = t.sentry_since.load(Ordering::Relaxed);
            if since == 0
                || now.saturating_sub(since) < timeout_ns
                || t.waiter.asleep()
                || t.blocked.load(Ordering::Relaxed)
            {
                continue;
            }
            // The stores may race with the task leaving: it must still be
            // in the same episode once its call is read.
            let call: Vec<u64> = t
                .sentry_call
                .iter()
                .map(|c| c.load(Ordering::Relaxed))
                .collect();
            if t.sentry_since.load(Ordering::Relaxed) != since {
                continue;
            }
            stuck.insert((t.tid, since));
            if !reported.contains(&(t.tid, since)) {
                reports.push(report(t, &call, now - since, name));
            }
        }
        reported = stuck;
        for r in &reports {
            match &k.log {
                Some(_) => k.log_line(r),
                None => eprintln!("{r}"),
            }
        }
        if !reports.is_empty() && o.action == Action::Panic {
            let msg = "rvisor: watchdog: a task is stuck in the sentry: aborting the sandbox";
            if k.log.is_some() {
                k.log_line(msg);
            }
            eprintln!("{msg}");
            abort();
            return;
        }
    }
}

fn report(t: &TaskShared, call: &[u64], ns: u64, name: fn(u64) -> &'static str) -> String {
    let comm = String::from_utf8_lossy(&lock(&t.comm)).into_owned();
    let what = if call[0] == SENTRY_FAULT {
        format!("a page fault at {:#x}", call[1])
    } else {
        let n = match name(call[0]) {
            "" => format!("syscall_{}", call[0]),
            n => n.to_string(),
        };
        let args: Vec<String> = call[1..]
            .iter()
            .map(|&a| {
                if (a as i64).unsigned_abs() < 0x10000 {
                    format!("{}", a as i64)
                } else {
                    format!("{a:#x}")
                }
            })
            .collect();
        format!("syscall {n}({})", args.join(", "))
    };
    format!(
        "rvisor: watchdog: task {} ({comm}) stuck in the sentry for {:.1}s in {what}",
        t.tid,
        ns as f64 / 1e9
    )
}
