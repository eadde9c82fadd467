//! Timers: one service thread that fires signals at deadlines, for
//! `alarm`/`setitimer(ITIMER_REAL)` and POSIX timers. CPU-time interval
//! timers (`ITIMER_VIRTUAL`, `ITIMER_PROF`) are charged in the run loop;
//! a sampler thread interrupts a task that has run application code for
//! longer than its process's timer has left, so the run loop charges it
//! even when the program makes no syscalls.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

use abi::signal::SigInfo;

use crate::signal::send_to_group;
use crate::task::{lock, TaskShared, ThreadGroup};

/// Whom a timer signals.
#[derive(Clone)]
pub enum Target {
    Group(Weak<ThreadGroup>),
    Thread(Weak<TaskShared>),
    /// `SIGEV_NONE`: the timer only counts.
    Nobody,
    /// A call on the timer thread instead of a signal (a timerfd's alarm).
    Call(Arc<dyn Fn() + Send + Sync>),
}

struct Entry {
    target: Target,
    info: SigInfo,
    /// `(deadline, interval)` while armed.
    armed: Option<(Instant, Option<Duration>)>,
}

#[derive(Default)]
struct Inner {
    heap: BinaryHeap<Reverse<(Instant, u64)>>,
    timers: HashMap<u64, Entry>,
    next_id: u64,
    thread_started: bool,
}

#[derive(Default)]
pub struct TimerService {
    inner: Mutex<Inner>,
    cv: Condvar,
    /// Processes with an armed CPU-time timer, for the sampler.
    cpu: Mutex<CpuWatch>,
    cpu_cv: Condvar,
}

#[derive(Default)]
struct CpuWatch {
    groups: Vec<Weak<ThreadGroup>>,
    started: bool,
}

static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

/// `at` as nanoseconds of a monotonic clock private to the sentry; never 0.
pub fn clock_ns_at(at: Instant) -> u64 {
    let epoch = *EPOCH.get_or_init(Instant::now);
    at.saturating_duration_since(epoch).as_nanos() as u64 + 1
}

/// How often the sampler looks at running tasks while a CPU timer is armed.
const SAMPLE_EVERY: Duration = Duration::from_nanos(CPU_TICK_NS);

impl TimerService {
    /// Has the sampler watch `tg`, whose CPU-time timer was just armed.
    pub fn watch_cpu(self: &Arc<Self>, tg: &Arc<ThreadGroup>) {
        let mut w = lock(&self.cpu);
        if !w
            .groups
            .iter()
            .any(|g| std::ptr::eq(g.as_ptr(), Arc::as_ptr(tg)))
        {
            w.groups.push(Arc::downgrade(tg));
        }
        self.start_once(&mut w.started, "cpu-timers", sample);
        drop(w);
        self.cpu_cv.notify_one();
    }

    /// Starts the service thread `body` the first time (`started`).
    fn start_once(self: &Arc<Self>, started: &mut bool, name: &str, body: fn(Weak<Self>)) {
        if !*started {
            *started = true;
            let me = Arc::downgrade(self);
            let _ = std::thread::Builder::new()
                .name(name.into())
                .spawn(move || body(me));
        }
    }
}

/// The sampler: while some process has an armed CPU timer, every tick it
/// interrupts each of its threads that has been running application code
/// for longer than the timer has left; the run loop then charges the
/// time and fires the timer. With none armed it sleeps (no CPU).
fn sample(service: Weak<TimerService>) {
    loop {
        let Some(s) = service.upgrade() else { return };
        let mut w = lock(&s.cpu);
        w.groups.retain(|g| {
            g.upgrade().is_some_and(|g| {
                let i = g.lock();
                i.exit_status.is_none() && any_cpu_timer(&i)
            })
        });
        if w.groups.is_empty() {
            drop(s.cpu_cv.wait(w).unwrap_or_else(|p| p.into_inner()));
            continue;
        }
        let groups: Vec<_> = w.groups.iter().filter_map(Weak::upgrade).collect();
        drop(w);
        drop(s);
        let now = clock_ns_at(Instant::now());
        for g in groups {
            let (left, threads) = {
                let i = g.lock();
                let limit = i.rlimit_cpu_left().map(|l| l.max(1));
                let left = [i.itimer_virtual.left, i.itimer_prof.left]
                    .into_iter()
                    .chain(limit)
                    .chain(i.cpu_posix_timers.values().map(|c| c.timer.left))
                    .filter(|&l| l > 0)
                    .min()
                    .unwrap_or(u64::MAX);
                (left, i.threads.clone())
            };
            for t in threads {
                let since = t.app_since.load(std::sync::atomic::Ordering::Relaxed);
                if since != 0 && now.saturating_sub(since) >= left {
                    if let Some(i) = lock(&t.interrupter).as_ref() {
                        i.interrupt();
                    }
                }
            }
        }
        std::thread::sleep(SAMPLE_EVERY);
    }
}

impl TimerService {
    /// Creates a disarmed timer that will send `info` to `target`.
    pub fn create(&self, target: Target, info: SigInfo) -> u64 {
        let mut g = lock(&self.inner);
        g.next_id += 1;
        let id = g.next_id;
        g.timers.insert(
            id,
            Entry {
                target,
                info,
                armed: None,
            },
        );
        id
    }

    /// Arms timer `id`; returns false if it does not exist.
    pub fn arm(self: &Arc<Self>, id: u64, deadline: Instant, interval: Option<Duration>) -> bool {
        let mut g = lock(&self.inner);
        let Some(e) = g.timers.get_mut(&id) else {
            return false;
        };
        e.armed = Some((deadline, interval));
        g.heap.push(Reverse((deadline, id)));
        let mut started = g.thread_started;
        self.start_once(&mut started, "timers", run);
        g.thread_started = started;
        drop(g);
        self.cv.notify_one();
        true
    }

    /// Disarms `id`; returns what was left of it if it was armed.
    pub fn disarm(&self, id: u64) -> Option<(Duration, Option<Duration>)> {
        let mut g = lock(&self.inner);
        let (deadline, interval) = g.timers.get_mut(&id)?.armed.take()?;
        Some((deadline.saturating_duration_since(Instant::now()), interval))
    }

    /// Time left and interval of `id`, if armed.
    pub fn query(&self, id: u64) -> Option<(Duration, Option<Duration>)> {
        let g = lock(&self.inner);
        let (deadline, interval) = g.timers.get(&id)?.armed?;
        Some((deadline.saturating_duration_since(Instant::now()), interval))
    }

    /// Removes a timer for good.
    pub fn delete(&self, id: u64) {
        lock(&self.inner).timers.remove(&id);
    }

    /// Fires timer `id` now, to its target (a CPU-time timer that
    /// expired in the run loop).
    pub fn fire_now(&self, id: u64) {
        let e = lock(&self.inner)
            .timers
            .get(&id)
            .map(|e| (e.target.clone(), e.info));
        if let Some((target, info)) = e {
            fire(&target, info);
        }
    }
}

fn fire(target: &Target, info: SigInfo) {
    match target {
        Target::Group(g) => {
            if let Some(g) = g.upgrade() {
                send_to_group(&g, info);
            }
        }
        Target::Thread(t) => {
            if let Some(t) = t.upgrade() {
                if lock(&t.pending).push(info) {
                    t.signal_queued(info.signo);
                }
            }
        }
        Target::Nobody => {}
        Target::Call(f) => f(),
    }
}

fn run(service: Weak<TimerService>) {
    loop {
        let Some(s) = service.upgrade() else { return };
        let mut g = lock(&s.inner);
        let now = Instant::now();
        let mut due = Vec::new();
        while let Some(&Reverse((when, id))) = g.heap.peek() {
            if when > now {
                break;
            }
            g.heap.pop();
            // Skip stale heap entries (re-armed or disarmed timers).
            let Some(e) = g.timers.get_mut(&id) else {
                continue;
            };
            let Some((deadline, interval)) = e.armed else {
                continue;
            };
            if deadline != when {
                continue;
            }
            due.push((e.target.clone(), e.info));
            match interval {
                Some(iv) if !iv.is_zero() => {
                    // Periodic: the next expiry keeps the original phase.
                    let mut next = deadline + iv;
                    if next <= now {
                        let missed = (now - deadline).as_nanos() / iv.as_nanos().max(1);
                        next = deadline + iv * (missed as u32 + 1);
                    }
                    e.armed = Some((next, interval));
                    g.heap.push(Reverse((next, id)));
                }
                _ => e.armed = None,
            }
        }
        if !due.is_empty() {
            drop(g);
            for (t, info) in due {
                fire(&t, info);
            }
            continue;
        }
        let wait = g
            .heap
            .peek()
            .map(|&Reverse((when, _))| when.saturating_duration_since(now));
        g = match wait {
            Some(d) => {
                s.cv.wait_timeout(g, d)
                    .map(|r| r.0)
                    .unwrap_or_else(|p| p.into_inner().0)
            }
            None => s.cv.wait(g).unwrap_or_else(|p| p.into_inner()),
        };
        drop(g);
    }
}

/// A POSIX timer on a CPU-time clock.
#[derive(Clone, Default)]
pub struct CpuPosixTimer {
    /// Its entry in the timer service (target and siginfo).
    pub id: u64,
    /// The thread whose clock it follows; `None`: the process's.
    pub thread: Option<Weak<TaskShared>>,
    pub timer: CpuTimer,
}

impl CpuPosixTimer {
    /// Whether a slice of `ns` run by `task` counts for this timer.
    pub fn counts(&self, task: &TaskShared) -> bool {
        self.thread
            .as_ref()
            .is_none_or(|w| std::ptr::eq(w.as_ptr(), task))
    }
}

/// Whether the process has any CPU-time timer or limit armed.
pub fn any_cpu_timer(i: &crate::task::TgInner) -> bool {
    i.itimer_virtual.left > 0
        || i.itimer_prof.left > 0
        || i.rlimit_cpu_left().is_some()
        || i.cpu_posix_timers.values().any(|c| c.timer.left > 0)
}

/// A CPU-time interval timer charged by the run loop.
#[derive(Clone, Copy, Default, Debug)]
pub struct CpuTimer {
    /// Nanoseconds of CPU time left (0: disarmed).
    pub left: u64,
    pub interval: u64,
}

impl CpuTimer {
    /// Charges `ns`; returns true when the timer expires (and re-arms it).
    pub fn charge(&mut self, ns: u64) -> bool {
        if self.left == 0 {
            return false;
        }
        if ns < self.left {
            self.left -= ns;
            return false;
        }
        // Linux checks CPU timers at each scheduler tick, so an interval
        // below one fires once per tick of CPU time: were it re-armed
        // shorter, every return from application code would find it
        // expired again and the program would run nothing but handlers.
        self.left = match self.interval {
            0 => 0,
            iv => iv.max(CPU_TICK_NS),
        };
        true
    }

    /// `(value, interval)` in nanoseconds as `getitimer` shows them: the
    /// value never exceeds the interval, however long the tick floor made
    /// the wait.
    pub fn shown(&self) -> (u64, u64) {
        match self.interval {
            0 => (self.left, 0),
            iv => (self.left.min(iv), iv),
        }
    }
}

/// The shortest CPU-time period between two expiries of one timer: a
/// scheduler tick at Debian's `HZ=250`.
pub const CPU_TICK_NS: u64 = 4_000_000;
