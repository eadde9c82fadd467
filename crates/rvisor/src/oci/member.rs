//! A pod's later containers inside a running sandbox (the seed's
//! `startContainer` and its map of containers by id): the sandbox's first
//! container is its own (`boot.rs`); each later one comes with a `Join`
//! request (`pod.rs` sends it) and is then addressed by its id (`For`).
//!
//! A container here has its own root (a host layer served by the gofer
//! its `create` started, handed over with the request), its own mounts,
//! credentials and a pid namespace of its own below the sandbox's first
//! (its init is its pid 1; `kill --all` and `delete` reach exactly its
//! processes), and shares the sandbox's UTS, IPC and network namespaces
//! with the pod's other containers (`kernel::ns::for_container`).

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Condvar, Mutex};

use kernel::{Kernel, ThreadGroup};

use super::control::{Request, MAX_VOLUMES};
use super::spawn::{Place, Prepared, Spawned};
use crate::sandbox::{MountSource, MountSpec};

enum State {
    /// Built, not started: its init exists but has not run.
    Created(Box<Prepared>),
    /// Being started (its init handed to the kernel).
    Starting,
    Running(Arc<ThreadGroup>),
    /// Its init's wait status.
    Exited(i32),
}

pub struct Member {
    pub place: Place,
    state: Mutex<State>,
    cv: Condvar,
}

impl Member {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set(&self, st: State) {
        *self.lock() = st;
        self.cv.notify_all();
    }

    /// Whether process `g` is one of this container's (in its pid
    /// namespace, or one below).
    pub fn owns(&self, g: &ThreadGroup) -> bool {
        self.place.ns.pid.local(g.pid).is_some()
    }

    /// Its live processes.
    fn groups(&self, kernel: &Kernel) -> Vec<Arc<ThreadGroup>> {
        kernel::task::lock(&kernel.table)
            .groups
            .values()
            .filter(|g| !g.is_zombie() && self.owns(g))
            .cloned()
            .collect()
    }

    fn exited(&self) -> bool {
        matches!(*self.lock(), State::Exited(_))
    }
}

/// The sandbox's pod containers by id.
#[derive(Default)]
pub struct Members {
    map: Mutex<HashMap<String, Arc<Member>>>,
}

impl Members {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Member>>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self, id: &str) -> Result<Arc<Member>, String> {
        self.map()
            .get(id)
            .cloned()
            .ok_or_else(|| format!("no container {id:?} in this sandbox"))
    }

    /// Whether process `g` belongs to one of the pod containers (not to
    /// the sandbox's first container).
    pub fn owns(&self, g: &ThreadGroup) -> bool {
        self.map().values().any(|m| m.owns(g))
    }

    /// `Join`: builds container `id` (its root, mounts and init, held
    /// until `start`) from the request and the descriptors that came
    /// with it.
    pub fn join(
        &self,
        kernel: &Arc<Kernel>,
        id: String,
        process: serde_json::Value,
        mounts: Vec<MountSpec>,
        tty: bool,
        fds: Vec<OwnedFd>,
    ) -> Result<(), String> {
        if !super::state::valid_id(&id) {
            return Err(format!("invalid container id format: {id:?}"));
        }
        let binds: Vec<bool> = mounts
            .iter()
            .filter_map(|m| match &m.source {
                MountSource::Bind { readonly, .. } => Some(*readonly),
                _ => None,
            })
            .collect();
        if binds.len() > MAX_VOLUMES {
            return Err(format!(
                "a container in a pod has at most {MAX_VOLUMES} bind mounts"
            ));
        }
        let streams = if tty { 1 } else { 3 };
        if fds.len() != streams + 1 + binds.len() {
            return Err(format!(
                "join: {} descriptors came, {} expected (standard streams, root, volumes)",
                fds.len(),
                streams + 1 + binds.len()
            ));
        }
        // Claimed first: a second `Join` of the same id is refused
        // while the first builds.
        {
            let mut map = self.map();
            if map.contains_key(&id) {
                return Err(format!("container with id {id:?} already exists"));
            }
            map.insert(id.clone(), Arc::new(placeholder(kernel)));
        }
        let built = build(kernel, process, &mounts, &binds, tty, fds);
        let mut map = self.map();
        match built {
            Ok(m) => {
                map.insert(id, Arc::new(m));
                Ok(())
            }
            Err(e) => {
                map.remove(&id);
                Err(e)
            }
        }
    }

    /// A request `For` container `id`. (`exec` is served by the caller,
    /// with the container's [`Place`].)
    pub fn answer(
        &self,
        kernel: &Arc<Kernel>,
        id: &str,
        req: Request,
    ) -> Result<serde_json::Value, String> {
        let ok = serde_json::json!({ "ok": true });
        let m = self.get(id)?;
        match req {
            // (Not while its `Join` is still building it.)
            Request::Created if matches!(*m.lock(), State::Starting) => {
                Err("the container is being created".into())
            }
            Request::Created => Ok(ok),
            Request::Start => {
                let prepared = {
                    let mut st = m.lock();
                    match std::mem::replace(&mut *st, State::Starting) {
                        State::Created(p) => p,
                        other => {
                            *st = other;
                            return Err("the container has already been started".into());
                        }
                    }
                };
                let spawned = match prepared.start(kernel) {
                    Ok(s) => s,
                    Err(e) => {
                        m.set(State::Exited(libc::SIGKILL));
                        return Err(e);
                    }
                };
                m.set(State::Running(spawned.tg.clone()));
                watch_exit(kernel, m.clone(), spawned);
                Ok(ok)
            }
            Request::State => {
                let status = match &*m.lock() {
                    State::Created(_) if kernel.frozen() => "paused",
                    State::Running(_) if kernel.frozen() => "paused",
                    State::Created(_) => "created",
                    State::Starting | State::Running(_) => "running",
                    State::Exited(_) => "stopped",
                };
                Ok(serde_json::json!({ "status": status }))
            }
            Request::Signal { signal, all, pid } => {
                if !(0..=64).contains(&signal) {
                    return Err(format!("invalid signal {signal}"));
                }
                let targets = {
                    let mut st = m.lock();
                    match &*st {
                        State::Exited(_) => return Err("container not running".into()),
                        State::Created(_) if pid.is_some() => {
                            return Err(format!("no such process {}", pid.unwrap_or(0)))
                        }
                        State::Created(_) if ignored_by_default(signal) => return Ok(ok),
                        State::Created(_) => {
                            // Killed before it ran: it ends with the signal.
                            if let State::Created(p) =
                                std::mem::replace(&mut *st, State::Exited(signal))
                            {
                                p.init.abandon(kernel, signal);
                            }
                            m.cv.notify_all();
                            return Ok(ok);
                        }
                        State::Starting => return Err("the container is starting".into()),
                        State::Running(init) => {
                            if let Some(pid) = pid {
                                match kernel.find_group(pid) {
                                    Some(g) if !g.is_zombie() && m.owns(&g) => vec![g],
                                    _ => return Err(format!("no such process {pid}")),
                                }
                            } else if all {
                                m.groups(kernel)
                            } else {
                                vec![init.clone()]
                            }
                        }
                    }
                };
                if signal != 0 {
                    signal_groups(&targets, signal);
                }
                Ok(ok)
            }
            Request::Wait => {
                let mut st = m.lock();
                loop {
                    if let State::Exited(status) = &*st {
                        return Ok(serde_json::json!({ "status": status }));
                    }
                    st = m.cv.wait(st).unwrap_or_else(|p| p.into_inner());
                }
            }
            Request::Ps => Ok(super::boot::ps(&m.groups(kernel))),
            Request::Destroy => {
                self.destroy(kernel, id, &m);
                Ok(ok)
            }
            Request::Pause | Request::Resume | Request::Stats => {
                Err("pause, resume and events address the pod's sandbox container".into())
            }
            Request::Exec { .. } | Request::Join { .. } | Request::For { .. } => {
                Err("not a request for a container".into())
            }
        }
    }

    /// `delete`: every process of the container is killed and reaped,
    /// and the container is forgotten (its mounts, and with them the
    /// files of its root and volumes, are let go).
    fn destroy(&self, kernel: &Arc<Kernel>, id: &str, m: &Arc<Member>) {
        {
            // Never started: it ends here. (A running one's exit watcher
            // records its status.)
            let mut st = m.lock();
            if matches!(*st, State::Created(_)) {
                if let State::Created(p) = std::mem::replace(&mut *st, State::Exited(libc::SIGKILL))
                {
                    p.init.abandon(kernel, libc::SIGKILL);
                }
            }
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let live = m.groups(kernel);
            if live.is_empty() && m.exited() {
                break;
            }
            if std::time::Instant::now() > deadline {
                break;
            }
            for g in &live {
                kernel::signal::send_to_group(
                    g,
                    abi::signal::SigInfo::new(libc::SIGKILL, abi::signal::SI_KERNEL),
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        m.cv.notify_all();
        self.map().remove(id);
    }
}

/// Stands for a container being built (its id taken), holding nothing
/// of its own: "running" until built, then replaced.
fn placeholder(kernel: &Arc<Kernel>) -> Member {
    Member {
        place: Place {
            ns: kernel.init_ns.clone(),
            root: kernel.vfs.root.clone(),
        },
        state: Mutex::new(State::Starting),
        cv: Condvar::new(),
    }
}

/// Builds a container's root, mounts and held init.
fn build(
    kernel: &Arc<Kernel>,
    process: serde_json::Value,
    mounts: &[MountSpec],
    binds: &[bool],
    tty: bool,
    fds: Vec<OwnedFd>,
) -> Result<Member, String> {
    let io =
        |what: &str, e: abi::Errno| format!("{what}: {}", std::io::Error::from_raw_os_error(e.0));
    let mut fds = fds.into_iter();
    let streams: Vec<OwnedFd> = fds.by_ref().take(if tty { 1 } else { 3 }).collect();
    let root_sock = fds.next().ok_or("join: no root gofer")?;
    let vfs = &kernel.vfs;
    // The root as the sandbox's own: a read-only lower layer, changes in
    // memory.
    let (dev, top) = vfs
        .add_host(vfs::host::HostRoot::connect(root_sock))
        .map_err(|e| io("the container's root", e))?;
    let (ns, tree) = kernel
        .container_namespaces(top, dev)
        .map_err(|e| io("the container's namespaces", e))?;
    let mut devs = Vec::new();
    for (sock, &readonly) in fds.zip(binds) {
        let (dev, _) = vfs
            .add_host(vfs::host::HostRoot::connect_with(sock, !readonly))
            .map_err(|e| io("a volume", e))?;
        devs.push(dev);
    }
    let mut devs = devs.into_iter();
    for m in mounts {
        m.mount(vfs, &tree, &mut devs)?;
    }
    let place = Place {
        ns,
        root: tree.root.clone(),
    };
    let prepared = super::spawn::prepare(kernel, Some(&place), process, tty, streams)?;
    Ok(Member {
        place,
        state: Mutex::new(State::Created(Box::new(prepared))),
        cv: Condvar::new(),
    })
}

/// A thread that records the container's init's wait status when it
/// has ended (and reaped it, its terminal output written out).
fn watch_exit(kernel: &Arc<Kernel>, m: Arc<Member>, spawned: Spawned) {
    let k = kernel.clone();
    let _ = std::thread::Builder::new()
        .name("member-wait".into())
        .spawn(move || {
            let status = spawned.wait(&k);
            m.set(State::Exited(status));
        });
}

/// Sends `signal` to processes `groups`, as `kill(2)` from outside the
/// sandbox would (a user signal from no process of it).
pub fn signal_groups(groups: &[Arc<ThreadGroup>], signal: i32) {
    for g in groups {
        kernel::signal::send_to_group(
            g,
            abi::signal::SigInfo::from_user(signal, abi::signal::SI_USER, 0, 0),
        );
    }
}

/// Signal 0 and those whose default action changes nothing: sent to a container
/// that has not started, they change nothing.
pub fn ignored_by_default(sig: i32) -> bool {
    sig == 0 || kernel::signal::harmless_by_default(sig)
}
