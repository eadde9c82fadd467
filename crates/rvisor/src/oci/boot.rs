//! The sandbox process of a container (`rvisor boot`, started by
//! `create`/`run`): the sentry of `rvisor do`, confined the same way, with
//! its init process built but held until `start`, and the control server
//! (`control.rs`) on the socket in the state directory. It ends when init
//! ends, with init's exit status (what a container engine's monitor waits
//! for), after writing init's wait status to `exit`.

use std::io::Write;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use kernel::Kernel;

use super::control::{self, Request};
use crate::sandbox::Embedding;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Created,
    StartRequested,
    Running,
    /// Signalled before it started: the sandbox ends with this signal.
    Killed(i32),
    /// Init's wait status.
    Exited(i32),
}

struct Shared {
    phase: Mutex<Phase>,
    cv: Condvar,
    kernel: Arc<Kernel>,
    /// Connections waiting for init's end (answered before the process
    /// exits).
    waiters: AtomicUsize,
    exit_file: Mutex<Option<std::fs::File>>,
    /// The pod's later containers (`member.rs`).
    members: super::member::Members,
}

impl Shared {
    fn phase(&self) -> Phase {
        *self.phase.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set(&self, p: Phase) {
        *self.phase.lock().unwrap_or_else(|p| p.into_inner()) = p;
        self.cv.notify_all();
    }

    /// Waits while `busy(phase)` holds.
    fn wait_while(&self, busy: impl Fn(Phase) -> bool) -> Phase {
        let mut g = self.phase.lock().unwrap_or_else(|p| p.into_inner());
        while busy(*g) {
            g = self.cv.wait(g).unwrap_or_else(|p| p.into_inner());
        }
        *g
    }

    fn record_exit(&self, status: i32) {
        if let Some(f) = self
            .exit_file
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_mut()
        {
            let _ = f.write_all(format!("{status}\n").as_bytes());
        }
    }
}

pub struct Boot {
    dir: PathBuf,
    listener: Option<UnixListener>,
    exit_file: Option<std::fs::File>,
    shared: Option<Arc<Shared>>,
}

impl Boot {
    pub fn new(dir: PathBuf) -> Boot {
        Boot {
            dir,
            listener: None,
            exit_file: None,
            shared: None,
        }
    }
}

impl Embedding for Boot {
    fn prepare(&mut self) -> Result<(), String> {
        super::log::reopen();
        // Relative to the directory: a socket path is limited to 107 bytes.
        let cwd = std::env::current_dir().unwrap_or_else(|_| "/".into());
        std::env::set_current_dir(&self.dir)
            .map_err(|e| format!("state directory {}: {e}", self.dir.display()))?;
        let _ = std::fs::remove_file(control::SOCKET);
        let l = UnixListener::bind(control::SOCKET);
        let f = std::fs::File::options()
            .create(true)
            .truncate(true)
            .write(true)
            .open("exit");
        let _ = std::env::set_current_dir(cwd);
        self.listener = Some(l.map_err(|e| format!("control socket: {e}"))?);
        self.exit_file = Some(f.map_err(|e| format!("exit file: {e}"))?);
        Ok(())
    }

    fn hold(&mut self, kernel: &Arc<Kernel>) -> Result<(), u8> {
        let shared = Arc::new(Shared {
            phase: Mutex::new(Phase::Created),
            cv: Condvar::new(),
            kernel: kernel.clone(),
            waiters: AtomicUsize::new(0),
            exit_file: Mutex::new(self.exit_file.take()),
            members: Default::default(),
        });
        self.shared = Some(shared.clone());
        let Some(listener) = self.listener.take() else {
            return Err(125);
        };
        let s = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("control".into())
            .spawn(move || serve(listener, s));
        if spawned.is_err() {
            return Err(125);
        }
        match shared.wait_while(|p| p == Phase::Created) {
            Phase::Killed(sig) => {
                shared.record_exit(sig);
                Err(128 + sig as u8)
            }
            _ => Ok(()),
        }
    }

    fn started(&mut self) {
        if let Some(s) = &self.shared {
            s.set(Phase::Running);
        }
    }

    fn exited(&mut self, status: i32) {
        let Some(s) = &self.shared else { return };
        s.record_exit(status);
        s.set(Phase::Exited(status));
        // As when a pid namespace's init dies: every other process (the
        // exec'd ones) is killed, and their `exec` callers are told.
        s.kernel.kill_all();
        // Let waiting `wait` and `exec` calls have their answer before
        // the process (and the socket) goes.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
        while s.waiters.load(Ordering::Acquire) > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }
}

fn serve(listener: UnixListener, s: Arc<Shared>) {
    for conn in listener.incoming() {
        let Ok(conn) = conn else { continue };
        let s = s.clone();
        // One thread per connection: a `wait` blocks until init ends,
        // and a client that sends nothing holds up no one else.
        let _ = std::thread::Builder::new()
            .name("control-conn".into())
            .spawn(move || handle(conn, &s));
    }
}

fn handle(mut conn: UnixStream, s: &Shared) {
    let reply = match control::read_msg_fds(&mut conn).and_then(|(v, fds)| {
        serde_json::from_value::<Request>(v)
            .map(|r| (r, fds))
            .map_err(|e| format!("malformed request: {e}"))
    }) {
        Ok((Request::Exec { process, tty }, fds)) => return exec(conn, s, None, process, tty, fds),
        Ok((
            Request::Join {
                container,
                process,
                mounts,
                tty,
            },
            fds,
        )) => {
            if matches!(s.phase(), Phase::Killed(_) | Phase::Exited(_)) {
                Err("the pod's sandbox has stopped".to_string())
            } else {
                s.members
                    .join(&s.kernel, container, process, mounts, tty, fds)
                    .map(|_| serde_json::json!({ "ok": true }))
            }
        }
        Ok((Request::For { container, request }, fds)) => match *request {
            Request::Exec { process, tty } => {
                return match s.members.get(&container) {
                    Ok(m) => exec(conn, s, Some(m), process, tty, fds),
                    Err(e) => reply_and_close(conn, Err(e)),
                };
            }
            req => {
                s.waiters.fetch_add(1, Ordering::AcqRel);
                let r = s.members.answer(&s.kernel, &container, req);
                reply_and_close(conn, r);
                s.waiters.fetch_sub(1, Ordering::AcqRel);
                return;
            }
        },
        Ok((req, _)) => {
            // Counted as a waiter until answered: a `kill --all 9` ends
            // init, and the ending sandbox must still send this reply.
            s.waiters.fetch_add(1, Ordering::AcqRel);
            let r = answer(req, s);
            reply_and_close(conn, r);
            s.waiters.fetch_sub(1, Ordering::AcqRel);
            return;
        }
        Err(e) => Err(e),
    };
    reply_and_close(conn, reply);
}

fn reply_and_close(mut conn: UnixStream, reply: Result<serde_json::Value, String>) {
    let v = match reply {
        Ok(v) => v,
        Err(e) => serde_json::json!({ "error": e }),
    };
    let _ = control::write_msg(&mut conn, &v);
}

/// `exec`: starts the process, answers with its pid, then (counted as a
/// waiter, so an ending sandbox lets it answer) with its wait status.
fn exec(
    mut conn: UnixStream,
    s: &Shared,
    member: Option<Arc<super::member::Member>>,
    process: serde_json::Value,
    tty: bool,
    fds: Vec<std::os::fd::OwnedFd>,
) {
    if matches!(s.phase(), Phase::Killed(_) | Phase::Exited(_)) {
        let e = serde_json::json!({ "error": "cannot exec in a stopped container" });
        let _ = control::write_msg(&mut conn, &e);
        return;
    }
    s.waiters.fetch_add(1, Ordering::AcqRel);
    let place = member.as_ref().map(|m| &m.place);
    match super::spawn::spawn(&s.kernel, place, process, tty, fds) {
        Ok(p) => {
            let _ = control::write_msg(&mut conn, &serde_json::json!({ "pid": p.tg.pid }));
            let status = p.wait(&s.kernel);
            let _ = control::write_msg(&mut conn, &serde_json::json!({ "status": status }));
        }
        Err(e) => {
            let _ = control::write_msg(&mut conn, &serde_json::json!({ "error": e }));
        }
    }
    s.waiters.fetch_sub(1, Ordering::AcqRel);
}

/// The sandbox's accounting for `events`: CPU time of every task (live
/// and exited), memory in use (the memory file's allocated pages, which
/// hold every application page), live processes.
fn stats(k: &Kernel) -> serde_json::Value {
    let memory = k.memory_in_use();
    let pids = kernel::task::lock(&k.table)
        .groups
        .values()
        .filter(|g| !g.is_zombie())
        .count();
    serde_json::json!({
        "cpus": kernel::sched::ncpus(),
        "cpu_ns": k.cpu_total_ns(),
        "memory": memory,
        "pids": pids,
        "pids_limit": kernel::task_limit(),
    })
}

/// `ps`'s answer: processes `groups` (live ones) with what runc's table
/// shows.
pub fn ps(groups: &[Arc<kernel::ThreadGroup>]) -> serde_json::Value {
    let now = std::time::SystemTime::now();
    let procs: Vec<_> = groups
        .iter()
        .map(|g| {
            // The command line first: it locks the address space,
            // which is never waited for under the process's lock.
            let args = kernel::procfs::cmdline(g);
            let cpu = kernel::procfs::process_cpu_ns(g);
            let inner = g.lock();
            let ppid = inner.parent.as_ref().map_or(0, |p| p.pid);
            let comm = inner
                .threads
                .first()
                .map(|t| String::from_utf8_lossy(&kernel::task::lock(&t.comm)).into_owned())
                .unwrap_or_default();
            let cmd = match String::from_utf8_lossy(&args).trim_end_matches('\0') {
                "" => format!("[{comm}]"),
                a => a.replace('\0', " "),
            };
            let started = now
                .checked_sub(g.start.elapsed())
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_secs());
            let tty = inner
                .ctty
                .as_ref()
                .map_or("?".to_string(), |t| format!("pts/{}", t.index));
            serde_json::json!({
                "pid": g.pid, "ppid": ppid, "uid": inner.uid, "cmd": cmd,
                "started": started, "cpu_ns": cpu, "tty": tty,
            })
        })
        .collect();
    serde_json::json!({ "processes": procs })
}

fn answer(req: Request, s: &Shared) -> Result<serde_json::Value, String> {
    let ok = serde_json::json!({ "ok": true });
    match req {
        Request::Created => Ok(ok),
        Request::Start => {
            {
                let mut g = s.phase.lock().unwrap_or_else(|p| p.into_inner());
                if *g != Phase::Created {
                    return Err("the container has already been started".into());
                }
                *g = Phase::StartRequested;
                s.cv.notify_all();
            }
            match s.wait_while(|p| p == Phase::StartRequested) {
                Phase::Running | Phase::Exited(_) => Ok(ok),
                p => Err(format!("the container did not start ({p:?})")),
            }
        }
        Request::State => {
            let status = match s.phase() {
                Phase::Created | Phase::Running if s.kernel.frozen() => "paused",
                Phase::Created => "created",
                Phase::StartRequested | Phase::Running => "running",
                Phase::Killed(_) | Phase::Exited(_) => "stopped",
            };
            Ok(serde_json::json!({ "status": status }))
        }
        Request::Pause | Request::Resume => {
            // Under the phase's lock: a start or an exit does not race it.
            let g = s.phase.lock().unwrap_or_else(|p| p.into_inner());
            match (*g, &req, s.kernel.frozen()) {
                (Phase::Created | Phase::Running, Request::Pause, false) => s.kernel.freeze(),
                (Phase::Created | Phase::Running, Request::Resume, true) => s.kernel.thaw(),
                (_, Request::Resume, _) => return Err("container not paused".into()),
                _ => return Err("container not running".into()),
            }
            Ok(ok)
        }
        Request::Stats => Ok(stats(&s.kernel)),
        Request::Signal { signal, all, pid } => {
            if !(0..=64).contains(&signal) {
                return Err(format!("invalid signal {signal}"));
            }
            {
                let mut g = s.phase.lock().unwrap_or_else(|p| p.into_inner());
                match *g {
                    Phase::Created if pid.is_some() => {}
                    Phase::Created if super::member::ignored_by_default(signal) => return Ok(ok),
                    Phase::Created => {
                        *g = Phase::Killed(signal);
                        s.cv.notify_all();
                        return Ok(ok);
                    }
                    Phase::Killed(_) | Phase::Exited(_) => {
                        return Err("container not running".into())
                    }
                    _ => {}
                }
            }
            if signal == 0 {
                return Ok(ok);
            }
            let groups: Vec<_> = if let Some(pid) = pid {
                match s.kernel.find_group(pid) {
                    Some(g) if !g.is_zombie() => vec![g],
                    _ => return Err(format!("no such process {pid}")),
                }
            } else if all {
                kernel::task::lock(&s.kernel.table)
                    .groups
                    .values()
                    .cloned()
                    .collect()
            } else {
                s.kernel.find_group(1).into_iter().collect()
            };
            if groups.is_empty() {
                return Err("container not running".into());
            }
            super::member::signal_groups(&groups, signal);
            Ok(ok)
        }
        Request::Wait => {
            s.waiters.fetch_add(1, Ordering::AcqRel);
            let p = s.wait_while(|p| !matches!(p, Phase::Exited(_) | Phase::Killed(_)));
            s.waiters.fetch_sub(1, Ordering::AcqRel);
            let status = match p {
                Phase::Exited(st) => st,
                Phase::Killed(sig) => sig,
                _ => 0,
            };
            Ok(serde_json::json!({ "status": status }))
        }
        Request::Ps => {
            let groups: Vec<_> = kernel::task::lock(&s.kernel.table)
                .groups
                .values()
                .filter(|g| !g.is_zombie() && !s.members.owns(g))
                .cloned()
                .collect();
            Ok(ps(&groups))
        }
        Request::Join { .. } | Request::For { .. } => Err("served on its own".into()),
        Request::Exec { .. } => Err("exec is served on its own".into()),
        Request::Destroy => {
            s.record_exit(libc::SIGKILL);
            std::process::exit(128 + libc::SIGKILL);
        }
    }
}
