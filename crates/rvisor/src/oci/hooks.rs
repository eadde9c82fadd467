//! The spec's hooks, run by the CLI on the host (the sandbox's programs
//! never see them): each gets the container's state JSON on its standard
//! input, runs with its own argv and environment, and fails the step it
//! belongs to if it exits non-zero or outlives its `timeout`.
//!
//! When they run (as runc): `prestart`, `createRuntime` and
//! `createContainer` at the end of `create` (a failure ends the sandbox
//! and removes the container); `startContainer` in `start` before init
//! runs and `poststart` after (a failure kills the container);
//! `poststop` in `delete` once the sandbox is gone (a failure is a
//! warning).

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oci_spec::runtime::Hook;

use super::log;

/// The hooks of `kind` ("createRuntime", ...) in `hooks` (the spec's
/// `hooks` object as recorded at `create`), in order, each given
/// `state` (the OCI state JSON). Stops at the first failure.
pub fn run(
    hooks: &serde_json::Value,
    kind: &str,
    state: &super::state::OciState,
) -> Result<(), String> {
    let Some(list) = hooks.get(kind).filter(|v| !v.is_null()) else {
        return Ok(());
    };
    let list: Vec<Hook> =
        serde_json::from_value(list.clone()).map_err(|e| format!("{kind} hooks: {e}"))?;
    // The runtime spec's state (what runc gives its hooks): no pid once
    // there is no process, no annotations when there are none.
    let mut st = serde_json::json!({
        "ociVersion": state.oci_version,
        "id": state.id,
        "status": state.status,
        "bundle": state.bundle,
    });
    if state.pid > 0 {
        st["pid"] = state.pid.into();
    }
    if !state.annotations.is_empty() {
        st["annotations"] = serde_json::json!(state.annotations);
    }
    let input = st.to_string().into_bytes();
    for h in &list {
        run_one(h, &input)
            .map_err(|e| format!("error running {kind} hook {}: {e}", h.path().display()))?;
    }
    Ok(())
}

fn run_one(h: &Hook, input: &[u8]) -> Result<(), String> {
    let mut cmd = Command::new(h.path());
    if let Some(args) = h.args().as_ref().filter(|a| !a.is_empty()) {
        cmd.arg0(&args[0]).args(&args[1..]);
    }
    cmd.env_clear();
    for kv in h.env().iter().flatten() {
        if let Some((k, v)) = kv.split_once('=') {
            cmd.env(k, v);
        }
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| e.to_string())?;
    // A hook that does not read its input must not block us: written
    // from a thread, errors (EPIPE) ignored.
    if let Some(mut stdin) = child.stdin.take() {
        let input = input.to_vec();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
    }
    let stderr = child.stderr.take().map(|mut e| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = e.read_to_string(&mut s);
            s
        })
    });
    let deadline = h
        .timeout()
        .filter(|t| *t > 0)
        .map(|t| Instant::now() + Duration::from_secs(t as u64));
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) => {}
            Err(e) => return Err(e.to_string()),
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "timeout after {} seconds",
                h.timeout().unwrap_or(0)
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let err = stderr.and_then(|t| t.join().ok()).unwrap_or_default();
    if status.success() {
        if !err.is_empty() {
            log::debug(&format!("hook {}: {}", h.path().display(), err.trim()));
        }
        return Ok(());
    }
    let err = err.trim().replace('\n', " ");
    Err(format!(
        "{}{}",
        super::describe_exit(status),
        if err.is_empty() {
            String::new()
        } else {
            format!(", stderr: {err}")
        }
    ))
}
