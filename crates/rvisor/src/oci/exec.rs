//! `exec`: a new process in a running container, with runc's flags. The
//! CLI sends the process description and its standard streams (or a
//! terminal) to the sandbox's control server, which starts it
//! (`spawn.rs`); the CLI then waits and exits with its status, passing on
//! the signals it gets. `--detach` (runsc's way: the process lives in the
//! sandbox, no host process is it) starts this same command without
//! `--detach` in a session of its own and returns once that has started
//! the process; that host process stands for it (its pid is the one in
//! `--pid-file`, and it exits with the process's status), which is what
//! a container engine's monitor waits for.

use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::ExitCode;

use serde_json::{json, Value};

use super::bundle::Bundle;
use super::control::{self, Request};
use super::state::{Container, Status};
use super::{console, log, Res};

/// Set (to the descriptor of the "started" pipe) in the attached command
/// a `--detach` starts.
const ATTACHED: &str = "RVISOR_EXEC_STARTED_FD";

/// Every failure is one line, "exec failed: ...", and status 255, as
/// runc's.
pub fn exec(root: &Path, e: liboci_cli::Exec) -> Res {
    exec_or_fail(root, e).or_else(|err| {
        log::error(&format!("exec failed: {err}"));
        Ok(ExitCode::from(255))
    })
}

fn exec_or_fail(root: &Path, e: liboci_cli::Exec) -> Res {
    let started_fd: Option<RawFd> = std::env::var(ATTACHED).ok().and_then(|v| v.parse().ok());
    let c = Container::open(root, &e.container_id)?;
    match c.status() {
        Status::Stopped => return Err("cannot exec in a stopped container".into()),
        Status::Paused if !e.ignore_paused => {
            return Err(
                "cannot exec in a paused container (use --ignore-paused to override)".into(),
            )
        }
        _ => {}
    }
    if e.preserve_fds > 0 {
        log::warn("--preserve-fds: not supported yet, no descriptor is passed");
    }
    if e.cgroup.is_some() {
        log::debug("--cgroup: no cgroups yet, ignored");
    }
    let process = process_for(&c, &e)?;
    let tty = process["terminal"].as_bool().unwrap_or(false);
    // runc's rules: a console socket only for a detached terminal.
    if tty && e.detach && e.console_socket.is_none() {
        return Err(
            "cannot allocate tty if rvisor will detach without setting console socket".into(),
        );
    }
    if (!e.detach || !tty) && e.console_socket.is_some() {
        return Err("cannot use console socket if rvisor will not detach or allocate tty".into());
    }
    let route = c.route();
    // Not holding the lock while the process runs.
    drop(c);
    if e.detach && started_fd.is_none() {
        return detach(e.pid_file.as_deref());
    }
    let forwarded = super::block_signals();
    // The descriptors to pass, and what keeps them open meanwhile.
    let mut keep: Vec<OwnedFd> = Vec::new();
    let fds: Vec<RawFd> = if tty {
        match &e.console_socket {
            Some(sock) => {
                let size = process["consoleSize"]
                    .as_object()
                    .map(|s| (as_u16(&s["height"]), as_u16(&s["width"])));
                let (master, slave) = console::open_pty(size)?;
                console::send_fd(sock, &master)?;
                keep.push(slave);
                vec![keep[0].as_raw_fd()]
            }
            // SAFETY: isatty only queries the descriptor.
            None if unsafe { libc::isatty(0) } == 1 => vec![0],
            None => {
                return Err("exec -t needs --console-socket or a terminal on standard input".into())
            }
        }
    } else {
        // A closed standard stream: the process gets /dev/null.
        super::pod::standard_streams(&mut keep)?
    };
    let mut s = control::connect(&route.dir)?;
    let _ = s.set_read_timeout(Some(control::REPLY_TIMEOUT));
    let req = serde_json::to_value(route.wrap(Request::Exec { process, tty }))
        .map_err(|e| e.to_string())?;
    control::write_msg_fds(&mut s, &req, &fds)
        .map_err(|e| format!("sending to the sandbox: {e}"))?;
    drop(keep);
    let reply = control::read_msg(&mut s)?;
    if let Some(err) = reply["error"].as_str() {
        return Err(err.to_string());
    }
    let pid = reply["pid"]
        .as_i64()
        .ok_or("the sandbox did not start the process")? as i32;
    if let Some(p) = &e.pid_file {
        super::write_pid_file(p, std::process::id() as i32)?;
    }
    if let Some(fd) = started_fd {
        // SAFETY: the descriptor the detaching parent passed; ours alone.
        let mut f = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
        let _ = std::io::Write::write_all(&mut f, b"started");
    }
    forward_to(route, pid, forwarded);
    let _ = s.set_read_timeout(None);
    // Ended without an answer: the sandbox went, and the process with it.
    let status = control::read_msg(&mut s)
        .ok()
        .and_then(|v| v["status"].as_i64())
        .unwrap_or(libc::SIGKILL as i64) as i32;
    Ok(ExitCode::from(super::exit_code(status)))
}

fn as_u16(v: &Value) -> u16 {
    v.as_u64().unwrap_or(0).min(u16::MAX as u64) as u16
}

/// The process to start: `--process FILE` as it is (as runc), else the
/// container's own process with the arguments and the flags applied.
fn process_for(c: &Container, e: &liboci_cli::Exec) -> Result<Value, String> {
    let mut p: Value = match &e.process {
        Some(f) => {
            let text = std::fs::read_to_string(f)
                .map_err(|err| format!("cannot read {}: {err}", f.display()))?;
            let mut p: Value = serde_json::from_str(&text)
                .map_err(|err| format!("malformed {}: {err}", f.display()))?;
            if e.tty {
                p["terminal"] = json!(true);
            }
            p
        }
        None => {
            if e.command.is_empty() {
                return Err("exec: args must not be empty".into());
            }
            let b = Bundle::load(Path::new(&c.rec.bundle))?;
            let mut p =
                serde_json::to_value(b.spec.process().as_ref().ok_or("config.json: no process")?)
                    .map_err(|err| err.to_string())?;
            p["args"] = json!(e.command);
            p["terminal"] = json!(e.tty);
            if let Some(cwd) = &e.cwd {
                p["cwd"] = json!(cwd);
            }
            let env = p["env"].as_array().cloned().unwrap_or_default();
            p["env"] = Value::Array(
                env.into_iter()
                    .chain(e.env.iter().map(|(k, v)| json!(format!("{k}={v}"))))
                    .collect(),
            );
            if let Some((uid, gid)) = e.user {
                p["user"]["uid"] = json!(uid);
                if let Some(g) = gid {
                    p["user"]["gid"] = json!(g);
                }
            }
            if !e.additional_gids.is_empty() {
                p["user"]["additionalGids"] = json!(e.additional_gids);
            }
            for cap in &e.cap {
                let name = cap.to_ascii_uppercase();
                let name = if name.starts_with("CAP_") {
                    name
                } else {
                    format!("CAP_{name}")
                };
                for set in ["bounding", "effective", "permitted"] {
                    let list = &mut p["capabilities"][set];
                    if !list.is_array() {
                        *list = json!([]);
                    }
                    if let Some(a) = list.as_array_mut() {
                        a.push(json!(name));
                    }
                }
            }
            if e.no_new_privs {
                p["noNewPrivileges"] = json!(true);
            }
            p
        }
    };
    if p["args"].as_array().is_none_or(|a| a.is_empty()) {
        return Err("exec: args must not be empty".into());
    }
    // Checked here: a bad capability name or field is the caller's error.
    serde_json::from_value::<oci_spec::runtime::Process>(p.clone())
        .map_err(|err| format!("exec: invalid process: {err}"))?;
    if p["cwd"].as_str().is_none_or(|c| !c.starts_with('/')) {
        p["cwd"] = json!("/");
    }
    Ok(p)
}

/// `--detach`: this command again, attached, in a session of its own;
/// returns once it has started the process (its pid in `pid_file`), or
/// with its status if it failed.
fn detach(pid_file: Option<&Path>) -> Res {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find rvisor: {e}"))?;
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills the array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(format!("pipe: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: fresh descriptors we own.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    let wfd = w.as_raw_fd();
    let mut cmd = std::process::Command::new(exe);
    cmd.args(std::env::args_os().skip(1))
        .env(ATTACHED, wfd.to_string());
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() < 0 || libc::fcntl(wfd, libc::F_SETFD, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start rvisor exec: {e}"))?;
    drop(w);
    let mut got = String::new();
    let _ = std::fs::File::from(r).read_to_string(&mut got);
    if got == "started" {
        if let Some(p) = pid_file {
            super::write_pid_file(p, child.id() as i32)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    // It said why on its standard error (and in the log).
    let st = child
        .wait()
        .map_err(|e| format!("waiting for rvisor exec: {e}"))?;
    use std::os::unix::process::ExitStatusExt;
    Ok(ExitCode::from(
        st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0)) as u8,
    ))
}

/// Passes the signals this process gets on to the exec'd process.
fn forward_to(route: super::state::Route, pid: i32, set: libc::sigset_t) {
    super::on_signals(set, move |sig| {
        let req = Request::Signal {
            signal: sig,
            all: false,
            pid: Some(pid),
        };
        if let Err(e) = route.call(req) {
            log::debug(&format!("signal {sig} to exec'd process {pid}: {e}"));
        }
    });
}
