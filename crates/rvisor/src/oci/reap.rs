//! The CLI's hold on the sandbox it starts. `create` and `run` make the
//! sandbox process (`rvisor boot`) their child and are child subreapers:
//! when the sandbox process dies, its own children (the gofer, the stub
//! factory, stubs) become the CLI's instead of init's. So a `create` that
//! fails after the sandbox started (a failing hook, a sandbox that never
//! got ready), and a `run` whose container ended, kill and reap every one
//! of them before returning, instead of leaving them to die on their
//! `PR_SET_PDEATHSIG` and to be reaped by whoever adopts them, later.
//! A successful `create` returns with the sandbox running: its processes
//! are then adopted by the CLI's own reaper when the CLI exits.

use std::time::{Duration, Instant};

/// How long ending the sandbox may take before the CLI gives up on
/// reaping (every process got SIGKILL; only a process stuck in the host
/// kernel would take longer).
const REAP_WITHIN: Duration = Duration::from_secs(5);

/// Makes this process a child subreaper (before it starts the sandbox).
pub fn become_subreaper() {
    // SAFETY: prctl on this process with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
}

/// Kills the sandbox process `child` (ours, not yet reaped), reaps it,
/// then kills and reaps every process it left to us.
pub fn end(child: &mut std::process::Child) {
    let _ = child.kill();
    let _ = child.wait();
    reap_adopted();
}

/// Kills and reaps every child this process has left (after the sandbox
/// process was reaped: what it left, reparented to us once its last
/// thread had exited, so nothing is missed). Call only when no other
/// child of ours is meant to live.
///
/// Every process the sandbox makes dies with it (`PR_SET_PDEATHSIG`), so
/// they are first only reaped as they end, until `waitpid` says no child
/// is left; one still there after [`GRACE`] is looked up and killed.
/// (Looking them up means reading every `/proc/PID/stat` of the host,
/// twice at least: ~5 ms of a container's `run` on a quiet host.)
pub fn reap_adopted() {
    let start = Instant::now();
    loop {
        if !reap_ended() {
            return;
        }
        let waited = start.elapsed();
        if waited > REAP_WITHIN {
            return;
        }
        if waited > GRACE {
            for pid in children() {
                // SAFETY: kill of our own child: its pid cannot be reused
                // before we reap it.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// How long the sandbox's processes get to end on their own.
const GRACE: Duration = Duration::from_millis(50);

/// Reaps every child that has ended; whether any child is left.
fn reap_ended() -> bool {
    loop {
        // SAFETY: waitpid for any child of ours, without blocking.
        let r = unsafe { libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG | libc::__WALL) };
        if r > 0 {
            continue;
        }
        if r == 0 {
            return true;
        }
        match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::ECHILD) => return false,
            // Not expected; the caller's deadline bounds the retries.
            _ => return true,
        }
    }
}

/// This process's children, zombies included (from `/proc/*/stat`).
fn children() -> Vec<i32> {
    // SAFETY: getpid cannot fail.
    let me = unsafe { libc::getpid() };
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| super::state::parent(pid) == Some(me))
        .collect()
}
