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
pub fn reap_adopted() {
    let deadline = Instant::now() + REAP_WITHIN;
    loop {
        let kids = children();
        if kids.is_empty() || Instant::now() > deadline {
            return;
        }
        for pid in kids {
            // SAFETY: kill and waitpid of our own child: its pid cannot
            // be reused before we reap it.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG | libc::__WALL);
            }
        }
        std::thread::sleep(Duration::from_millis(1));
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
