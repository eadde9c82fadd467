//! The host threads that run tasks. A task runs on a host thread of its
//! own; when it ends, the thread waits a while for the next task instead
//! of exiting, because creating a host thread is a good part of what
//! `clone` and `fork` cost here (~30-60 us in a VM).

use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// Idle threads kept at most, and how long one waits for work.
const IDLE_MAX: usize = 8;
const IDLE_FOR: Duration = Duration::from_secs(2);
/// Stack of a task's host thread.
const STACK_SIZE: usize = 1 << 20;

type Job = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct Idle {
    /// Jobs handed to an idle thread, not yet taken.
    queue: Vec<Job>,
    /// Threads waiting for a job.
    waiting: usize,
}

fn pool() -> &'static (Mutex<Idle>, Condvar) {
    static POOL: std::sync::OnceLock<(Mutex<Idle>, Condvar)> = std::sync::OnceLock::new();
    POOL.get_or_init(Default::default)
}

/// Runs `job` on an idle task thread, or on a new one.
pub fn run(job: Job) -> std::io::Result<()> {
    let (m, cv) = pool();
    {
        let mut idle = m.lock().unwrap_or_else(|p| p.into_inner());
        if idle.waiting > idle.queue.len() {
            idle.queue.push(job);
            drop(idle);
            // Signalled after unlocking: woken under the lock, the thread
            // would block on it and need a second wake-up.
            cv.notify_one();
            return Ok(());
        }
    }
    std::thread::Builder::new()
        .name("task".into())
        .stack_size(STACK_SIZE)
        .spawn(move || {
            job();
            serve();
        })
        .map(|_| ())
}

/// Takes further jobs until none comes for [`IDLE_FOR`] or enough
/// threads wait already.
fn serve() {
    let (m, cv) = pool();
    let mut idle = m.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        if let Some(job) = idle.queue.pop() {
            drop(idle);
            job();
            idle = m.lock().unwrap_or_else(|p| p.into_inner());
            continue;
        }
        if idle.waiting >= IDLE_MAX {
            return;
        }
        idle.waiting += 1;
        let (g, timeout) = cv
            .wait_timeout(idle, IDLE_FOR)
            .unwrap_or_else(|p| p.into_inner());
        idle = g;
        idle.waiting -= 1;
        if timeout.timed_out() && idle.queue.is_empty() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn jobs_run_and_threads_are_reused() {
        let (tx, rx) = mpsc::channel();
        for i in 0..20 {
            let tx = tx.clone();
            run(Box::new(move || {
                tx.send((i, std::thread::current().id())).unwrap();
            }))
            .unwrap();
            // Let the thread finish and wait for the next job.
            std::thread::sleep(Duration::from_millis(5));
        }
        let got: Vec<_> = (0..20).map(|_| rx.recv().unwrap()).collect();
        let mut ids: Vec<_> = got.iter().map(|g| g.1).collect();
        ids.sort_by_key(|id| format!("{id:?}"));
        ids.dedup();
        assert!(ids.len() < 20, "every job got a thread of its own");
        let mut order: Vec<_> = got.iter().map(|g| g.0).collect();
        order.sort();
        assert_eq!(order, (0..20).collect::<Vec<_>>());
    }
}
