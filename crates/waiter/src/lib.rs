//! Wait queues and waiters: how a blocked task is woken by an event, a
//! signal, a timer or `SIGKILL`.
//!
//! Files never block. A syscall that must wait registers the task's
//! [`Waiter`] on the object's [`Queue`] with the events it cares about,
//! re-checks readiness, and only then sleeps. Anything that changes the
//! object's state calls [`Queue::notify`], and anything that must interrupt
//! the task (a signal, a kill) calls [`Waiter::notify`] directly.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Instant;

/// Readiness events, the `poll(2)` bits.
pub mod events {
    pub const IN: u32 = 0x001;
    pub const PRI: u32 = 0x002;
    pub const OUT: u32 = 0x004;
    pub const ERR: u32 = 0x008;
    pub const HUP: u32 = 0x010;
    pub const NVAL: u32 = 0x020;
    pub const RDNORM: u32 = 0x040;
    pub const RDBAND: u32 = 0x080;
    pub const WRNORM: u32 = 0x100;
    pub const RDHUP: u32 = 0x2000;
    /// Every event: used by waits that care about any change.
    pub const ALL: u32 = u32::MAX;
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks is already a sentry bug; keep
    // serving rather than cascading the poison.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Waiters sleeping now, across the sentry: tasks blocked in a syscall,
/// which need no CPU (see [`awake_tasks`]).
static SLEEPING: AtomicU32 = AtomicU32::new(0);

/// Tasks whose run loop is running (see [`TaskRunning`]).
static RUNNING: AtomicU32 = AtomicU32::new(0);

/// Marks a task's run loop as running while it lives: the task needs a
/// CPU whenever it is not asleep in a [`Waiter`].
pub struct TaskRunning(());

impl TaskRunning {
    pub fn start() -> TaskRunning {
        RUNNING.fetch_add(1, Ordering::Relaxed);
        TaskRunning(())
    }
}

impl Drop for TaskRunning {
    fn drop(&mut self) {
        RUNNING.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Tasks that may need a CPU now: running, not asleep in a syscall. The
/// platform spins for hand-offs only while these leave CPUs free.
pub fn awake_tasks() -> u32 {
    RUNNING
        .load(Ordering::Relaxed)
        .saturating_sub(SLEEPING.load(Ordering::Relaxed))
}

/// The sleeping side: one per task. Notifications are sticky until
/// [`Waiter::wait`] consumes them, so a wake-up between a readiness check and
/// the sleep is never lost.
///
/// One futex word rather than a mutex and condition variable: a notifier
/// holding the mutex while it signalled would wake the sleeper only for it
/// to block on that mutex and be woken a second time, and each wake-up of a
/// sleeping thread costs ~10 us in a VM.
pub struct Waiter {
    /// [`IDLE`], [`NOTIFIED`] or [`ASLEEP`].
    state: AtomicU32,
    /// Called before each sleep (see [`Waiter::set_sleep_hook`]).
    sleep_hook: OnceLock<WaiterHook>,
    /// Called on a hand-over (see [`Waiter::notify_handing_over`]).
    handover_hook: OnceLock<WaiterHook>,
}

/// No notification pending, nobody asleep.
const IDLE: u32 = 0;
/// A notification is pending.
const NOTIFIED: u32 = 1;
/// The owner sleeps (or is about to) on the word; a notifier must wake it.
const ASLEEP: u32 = 2;

/// What a [`Waiter`] calls before it sleeps, or when it is handed a CPU.
pub type WaiterHook = Arc<dyn Fn() + Send + Sync>;

impl Default for Waiter {
    fn default() -> Self {
        Self::new()
    }
}

impl Waiter {
    pub fn new() -> Waiter {
        Waiter {
            state: AtomicU32::new(IDLE),
            sleep_hook: OnceLock::new(),
            handover_hook: OnceLock::new(),
        }
    }

    /// Sets, once, what [`Waiter::notify_handing_over`] calls.
    pub fn set_handover_hook(&self, hook: WaiterHook) {
        let _ = self.handover_hook.set(hook);
    }

    /// Wakes the waiter from a thread about to give up its CPU (an
    /// exiting one): the hook lets the platform get the task's thread
    /// going while its host thread wakes.
    pub fn notify_handing_over(&self) {
        self.wake(self.handover_hook.get());
    }

    /// Sets, once, what to call whenever this waiter is about to sleep:
    /// the platform stops its thread waiting eagerly for a task that
    /// blocks.
    pub fn set_sleep_hook(&self, hook: WaiterHook) {
        let _ = self.sleep_hook.set(hook);
    }

    /// Wakes the waiter (or makes its next wait return at once).
    pub fn notify(&self) {
        self.wake(None);
    }

    /// Leaves a notification; wakes the owner, after `hook`, if it sleeps.
    fn wake(&self, hook: Option<&WaiterHook>) {
        if self.state.swap(NOTIFIED, Ordering::AcqRel) == ASLEEP {
            if let Some(hook) = hook {
                hook();
            }
            futex_wake(&self.state);
        }
    }

    /// Sleeps until notified or until `deadline`. Returns `true` if it was
    /// notified, `false` on timeout. Consumes the notification.
    pub fn wait(&self, deadline: Option<Instant>) -> bool {
        if self.consume() {
            return true;
        }
        if let Some(hook) = self.sleep_hook.get() {
            hook();
        }
        SLEEPING.fetch_add(1, Ordering::Relaxed);
        let woken = self.sleep(deadline);
        SLEEPING.fetch_sub(1, Ordering::Relaxed);
        woken
    }

    fn sleep(&self, deadline: Option<Instant>) -> bool {
        loop {
            // Only the owner moves the word away from NOTIFIED, so a failed
            // exchange means a notification is pending.
            if self
                .state
                .compare_exchange(IDLE, ASLEEP, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
                && self.consume()
            {
                return true;
            }
            let timeout = match deadline {
                None => None,
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        // Timed out, unless a notification beat us to it.
                        return self
                            .state
                            .compare_exchange(ASLEEP, IDLE, Ordering::AcqRel, Ordering::Acquire)
                            .is_err()
                            && self.consume();
                    }
                    Some(d - now)
                }
            };
            futex_wait(&self.state, ASLEEP, timeout);
            if self.consume() {
                return true;
            }
        }
    }

    /// Whether the owner sleeps in [`Waiter::wait`] now: blocked
    /// interruptibly, for the sentry's watchdog.
    pub fn asleep(&self) -> bool {
        self.state.load(Ordering::Relaxed) == ASLEEP
    }

    /// Takes a pending notification.
    fn consume(&self) -> bool {
        self.state
            .compare_exchange(NOTIFIED, IDLE, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Drops a pending notification without sleeping.
    pub fn clear(&self) {
        self.consume();
    }
}

fn futex_wake(word: &AtomicU32) {
    // SAFETY: FUTEX_WAKE on a live, aligned word of ours; the kernel writes
    // no memory.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            1,
        );
    }
}

/// Sleeps while `*word == val`, at most `timeout`; returns early on a
/// wake, a signal or a spurious wake-up (callers re-check).
fn futex_wait(word: &AtomicU32, val: u32, timeout: Option<std::time::Duration>) {
    let ts = timeout.map(|t| libc::timespec {
        tv_sec: t.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: t.subsec_nanos() as libc::c_long,
    });
    let tsp = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: FUTEX_WAIT on a live, aligned word of ours with a timespec
    // that outlives the call (or none); the kernel writes no memory.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
            val,
            tsp,
        );
    }
}

/// What a queue entry wakes: a sleeping task, or a function called with
/// the events (signal-driven I/O, `O_ASYNC`).
enum Target {
    Waiter(Arc<Waiter>),
    Call(Callback),
}

/// A function a queue calls on its events (see [`Queue::register_call`]).
pub type Callback = Arc<dyn Fn(u32) + Send + Sync>;

struct Entry {
    id: u64,
    mask: u32,
    target: Target,
}

/// A list of waiters interested in an object's events.
#[derive(Default)]
pub struct Queue {
    entries: Mutex<Vec<Entry>>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl Queue {
    pub fn new() -> Queue {
        Queue::default()
    }

    /// Registers `waiter` for `mask`; it is removed when the returned guard
    /// drops.
    pub fn register(&self, waiter: &Arc<Waiter>, mask: u32) -> Registration<'_> {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        lock(&self.entries).push(Entry {
            id,
            mask,
            target: Target::Waiter(waiter.clone()),
        });
        Registration { queue: self, id }
    }

    /// Has `call` called with the events of every notification that
    /// intersects `mask`, until [`Queue::unregister_call`] with the id
    /// returned. It runs on the notifying thread, outside the queue's
    /// lock, and must not block.
    pub fn register_call(&self, call: Callback, mask: u32) -> u64 {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        lock(&self.entries).push(Entry {
            id,
            mask,
            target: Target::Call(call),
        });
        id
    }

    pub fn unregister_call(&self, id: u64) {
        self.unregister(id);
    }

    /// Wakes every waiter whose mask intersects `events`.
    pub fn notify(&self, events: u32) {
        let mut calls: Vec<Callback> = Vec::new();
        {
            let entries = lock(&self.entries);
            for e in entries.iter() {
                if e.mask & events != 0 {
                    match &e.target {
                        Target::Waiter(w) => w.notify(),
                        Target::Call(c) => calls.push(c.clone()),
                    }
                }
            }
        }
        for c in calls {
            c(events);
        }
    }

    pub fn is_empty(&self) -> bool {
        lock(&self.entries).is_empty()
    }

    fn unregister(&self, id: u64) {
        let mut entries = lock(&self.entries);
        if let Some(i) = entries.iter().position(|e| e.id == id) {
            entries.swap_remove(i);
        }
    }
}

/// Keeps a waiter registered on a queue while alive.
pub struct Registration<'a> {
    queue: &'a Queue,
    id: u64,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        self.queue.unregister(self.id);
    }
}

/// A registration that owns its queue, for waits that outlive a borrow.
pub struct OwnedRegistration {
    queue: Arc<Queue>,
    id: u64,
}

impl OwnedRegistration {
    pub fn new(queue: Arc<Queue>, waiter: &Arc<Waiter>, mask: u32) -> OwnedRegistration {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        lock(&queue.entries).push(Entry {
            id,
            mask,
            target: Target::Waiter(waiter.clone()),
        });
        OwnedRegistration { queue, id }
    }
}

impl Drop for OwnedRegistration {
    fn drop(&mut self) {
        self.queue.unregister(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn notify_before_wait_is_not_lost() {
        let w = Arc::new(Waiter::new());
        let q = Queue::new();
        let _r = q.register(&w, events::IN);
        q.notify(events::IN);
        assert!(w.wait(Some(Instant::now() + Duration::from_millis(10))));
        assert!(!w.wait(Some(Instant::now() + Duration::from_millis(10))));
    }

    #[test]
    fn mask_filters_events() {
        let w = Arc::new(Waiter::new());
        let q = Queue::new();
        let r = q.register(&w, events::OUT);
        q.notify(events::IN);
        assert!(!w.wait(Some(Instant::now() + Duration::from_millis(5))));
        drop(r);
        assert!(q.is_empty());
    }

    #[test]
    fn wakes_from_another_thread() {
        let w = Arc::new(Waiter::new());
        let w2 = w.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            w2.notify();
        });
        assert!(w.wait(None));
        t.join().unwrap();
    }

    #[test]
    fn a_notify_after_a_timeout_is_kept_for_the_next_wait() {
        let w = Waiter::new();
        let t0 = Instant::now();
        assert!(!w.wait(Some(t0 + Duration::from_millis(20))));
        assert!(t0.elapsed() >= Duration::from_millis(20));
        w.notify();
        w.notify();
        assert!(w.wait(Some(Instant::now() + Duration::from_secs(5))));
        // Two notifications before a wait are one.
        assert!(!w.wait(Some(Instant::now() + Duration::from_millis(5))));
        w.notify();
        w.clear();
        assert!(!w.wait(Some(Instant::now() + Duration::from_millis(5))));
    }

    #[test]
    fn ping_pong_loses_no_wake_up() {
        // Each side waits for the other's notification; a lost wake-up
        // leaves both asleep, caught by the deadline.
        let a = Arc::new(Waiter::new());
        let b = Arc::new(Waiter::new());
        let (a2, b2) = (a.clone(), b.clone());
        let rounds = 20_000;
        let deadline = || Some(Instant::now() + Duration::from_secs(10));
        let t = std::thread::spawn(move || {
            for _ in 0..rounds {
                assert!(a2.wait(deadline()), "lost wake-up");
                b2.notify();
            }
        });
        for _ in 0..rounds {
            a.notify();
            assert!(b.wait(deadline()), "lost wake-up");
        }
        t.join().unwrap();
    }

    #[test]
    fn a_hand_over_runs_the_hook_only_for_a_sleeper() {
        use std::sync::atomic::AtomicUsize;
        let w = Arc::new(Waiter::new());
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        w.set_handover_hook(Arc::new(move || {
            c.fetch_add(1, Ordering::SeqCst);
        }));
        // Nobody asleep: the notification is kept, the hook not called.
        w.notify_handing_over();
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        assert!(w.wait(Some(Instant::now() + Duration::from_secs(5))));
        let w2 = w.clone();
        let t = std::thread::spawn(move || w2.wait(Some(Instant::now() + Duration::from_secs(10))));
        while w.state.load(Ordering::SeqCst) != ASLEEP {
            std::thread::yield_now();
        }
        w.notify_handing_over();
        assert!(t.join().unwrap());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
