//! Pods: which of this runtime's sandboxes a new container is meant to
//! share. Engines say it two ways:
//! - podman (`podman pod create`, `run --pod`): the spec's
//!   `linux.namespaces` entries for `ipc`, `network` and `uts` carry a
//!   `path`, `/proc/<pid>/ns/<kind>` of the pod's infra container, whose
//!   pid is our sandbox process (what `state` reports);
//! - CRI (containerd, CRI-O): the annotations
//!   `io.kubernetes.cri.container-type` = `container` with
//!   `io.kubernetes.cri.sandbox-id` (CRI-O: `io.kubernetes.cri-o.
//!   ContainerType` / `SandboxID`) naming the pod's sandbox container.
//!
//! Such a container runs inside that sandbox (`member.rs`), sharing its
//! kernel, UTS, IPC and network namespaces, with its own root, mounts,
//! credentials and pid namespace. Its `create` starts a monitor process
//! (`rvisor boot --join DIR`, [`monitor`]): it starts the gofers of the
//! container's root and bind mounts, hands their sockets and its standard
//! streams to the running sentry with a `Join` request (`SCM_RIGHTS`),
//! then waits for the container's init to end and exits with its status,
//! so that an engine's monitor (conmon, a shim) has a process to wait for,
//! as with a container of its own. The monitor's pid is the container's
//! in `state`; signals it gets go to the container's init.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::ExitCode;

use oci_spec::runtime::{LinuxNamespaceType, Spec};

use super::bundle::Bundle;
use super::control::{self, Request};
use super::log;
use super::state::{self, Container, Route};

/// The namespaces a pod's containers share, with their `/proc/PID/ns`
/// names.
const SHARED: [(LinuxNamespaceType, &str); 3] = [
    (LinuxNamespaceType::Ipc, "ipc"),
    (LinuxNamespaceType::Network, "net"),
    (LinuxNamespaceType::Uts, "uts"),
];

/// The container (of `root`) whose sandbox the spec asks to share, and
/// how it asks; `None` for a container of its own.
pub fn sandbox_of(root: &Path, spec: &Spec) -> Option<(String, String)> {
    if let Some(id) = cri_sandbox(spec) {
        return Some((id.clone(), format!("annotation sandbox id {id}")));
    }
    let joined: Vec<(&str, std::fs::Metadata)> = spec
        .linux()
        .as_ref()?
        .namespaces()
        .iter()
        .flatten()
        .filter_map(|n| {
            let (_, name) = SHARED.iter().find(|(t, _)| *t == n.typ())?;
            Some((*name, std::fs::metadata(n.path().as_ref()?).ok()?))
        })
        .collect();
    if joined.is_empty() {
        return None;
    }
    state::ids(root).into_iter().find_map(|id| {
        let c = Container::open(root, &id).ok()?;
        // A pod container's process is its monitor, in the host's
        // namespaces: not the pod's.
        if !c.alive() || c.rec.sandbox.is_some() {
            return None;
        }
        joined.iter().find_map(|(name, want)| {
            let have = std::fs::metadata(format!("/proc/{}/ns/{name}", c.rec.pid)).ok()?;
            (have.dev() == want.dev() && have.ino() == want.ino())
                .then(|| (id.clone(), format!("{name} namespace of its sandbox")))
        })
    })
}

/// The sandbox a CRI `container` (not `sandbox`) names.
fn cri_sandbox(spec: &Spec) -> Option<&String> {
    let a = spec.annotations().as_ref()?;
    [
        (
            "io.kubernetes.cri.container-type",
            "io.kubernetes.cri.sandbox-id",
        ),
        (
            "io.kubernetes.cri-o.ContainerType",
            "io.kubernetes.cri-o.SandboxID",
        ),
    ]
    .into_iter()
    .find_map(|(kind, id)| {
        (a.get(kind).map(String::as_str) == Some("container"))
            .then(|| a.get(id))
            .flatten()
    })
}

/// The container whose sandbox the container `id` being created joins:
/// the one its spec names, if that runs (a pod container named stands
/// for its pod's sandbox); otherwise (logged) it gets a sandbox of its
/// own.
pub fn join_target(root: &Path, id: &str, spec: &Spec) -> Option<String> {
    let (sandbox, how) = sandbox_of(root, spec)?;
    if sandbox == id {
        return None;
    }
    match Container::open(root, &sandbox) {
        Ok(c) if c.alive() => {
            let target = c.rec.sandbox.clone().unwrap_or(sandbox);
            log::debug(&format!(
                "container {id} joins container {target}'s sandbox ({how})"
            ));
            Some(target)
        }
        _ => {
            log::warn(&format!(
                "container {id} names container {sandbox}'s sandbox ({how}), which is not \
                 running: it runs in a sandbox of its own"
            ));
            None
        }
    }
}

/// The monitor of pod container (state directory `state_dir`) that the
/// sandbox of state directory `sandbox` runs: its exit status is the
/// container's init's.
pub fn monitor(b: &Bundle, state_dir: &Path, sandbox: &Path) -> ExitCode {
    match run_monitor(b, state_dir, sandbox) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            log::error(&e);
            ExitCode::from(125)
        }
    }
}

fn run_monitor(b: &Bundle, state_dir: &Path, sandbox: &Path) -> Result<u8, String> {
    let id = state_dir
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or("bad state directory")?
        .to_string();
    let mut o = crate::sandbox::DoOptions::parse(&["--".into(), "true".into()])?;
    b.apply(&mut o);
    let process = match b.spec.process() {
        Some(p) => serde_json::to_value(p).map_err(|e| e.to_string())?,
        None => return Err("config.json has no process".into()),
    };
    // The gofers first, while this process has no other thread: each
    // dies with it (`PR_SET_PDEATHSIG`), so the container's files go
    // with its monitor.
    let mut gofers = vec![crate::gofer::start(&o.root, false, false)?];
    for m in &o.mounts {
        if let crate::sandbox::MountSource::Bind {
            source, readonly, ..
        } = &m.source
        {
            let g = crate::gofer::start(source, false, !readonly)
                .map_err(|e| format!("volume {source:?}: {e}"))?;
            gofers.push(g);
        }
    }
    if gofers.len() > 1 + control::MAX_VOLUMES {
        return Err(format!(
            "a container in a pod has at most {} bind mounts",
            control::MAX_VOLUMES
        ));
    }
    // SAFETY: isatty only queries the descriptor.
    let tty = b.terminal() && unsafe { libc::isatty(0) } == 1;
    let mut keep: Vec<OwnedFd> = Vec::new();
    let mut fds: Vec<RawFd> = if tty {
        vec![0]
    } else {
        standard_streams(&mut keep)?
    };
    fds.extend(gofers.iter().map(|g| g.sock.as_raw_fd()));
    let req = Request::Join {
        container: id.clone(),
        process,
        mounts: o.mounts.clone(),
        tty,
    };
    let mut s = control::connect(sandbox)?;
    let timeout = Some(std::time::Duration::from_secs(30));
    s.set_read_timeout(timeout)
        .and_then(|_| s.set_write_timeout(timeout))
        .map_err(|e| format!("control socket: {e}"))?;
    let v = serde_json::to_value(&req).map_err(|e| e.to_string())?;
    control::write_msg_fds(&mut s, &v, &fds)
        .map_err(|e| format!("sending to the pod's sandbox: {e}"))?;
    let reply = control::read_msg(&mut s)?;
    if let Some(e) = reply["error"].as_str() {
        return Err(format!("cannot create the container in its pod: {e}"));
    }
    // The sentry holds the gofers' sockets now: when it lets them go
    // (`delete`), the gofers see the end.
    drop(keep);
    drop(s);
    let pids: Vec<i32> = gofers.into_iter().map(|g| g.pid).collect();
    let route = Route::member(sandbox.to_path_buf(), id);
    let set = super::block_signals();
    let r = route.clone();
    super::on_signals(set, move |sig| {
        let req = Request::Signal {
            signal: sig,
            all: false,
            pid: None,
        };
        if let Err(e) = r.call(req) {
            log::debug(&format!("signal {sig} to the container: {e}"));
        }
    });
    // The pod's sandbox gone: the container was killed with it.
    let status = match route.call(Request::Wait) {
        Ok(v) => v["status"].as_i64().unwrap_or(0) as i32,
        Err(_) => libc::SIGKILL,
    };
    let _ = std::fs::write(state_dir.join("exit"), format!("{status}\n"));
    for pid in pids {
        // SAFETY: our own children: ended and reaped.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
    }
    Ok(super::exit_code(status))
}

/// Descriptors 0, 1 and 2 to pass on (a closed one as `/dev/null`, kept
/// open in `keep`).
pub fn standard_streams(keep: &mut Vec<OwnedFd>) -> Result<Vec<RawFd>, String> {
    (0..3)
        .map(|fd| {
            // SAFETY: F_GETFD only queries the descriptor.
            if unsafe { libc::fcntl(fd, libc::F_GETFD) } >= 0 {
                return Ok(fd);
            }
            let f = std::fs::File::options()
                .read(true)
                .write(true)
                .open("/dev/null")
                .map_err(|e| format!("/dev/null: {e}"))?;
            keep.push(f.into());
            Ok(keep[keep.len() - 1].as_raw_fd())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: serde_json::Value) -> Spec {
        let mut base = serde_json::to_value(Spec::default()).unwrap_or_default();
        if let (Some(b), Some(j)) = (base.as_object_mut(), json.as_object()) {
            for (k, v) in j {
                b.insert(k.clone(), v.clone());
            }
        }
        serde_json::from_value(base).expect("a valid spec")
    }

    #[test]
    fn cri_annotations_name_the_sandbox() {
        let root = Path::new("/nonexistent-rvisor-root");
        let s = spec(serde_json::json!({"annotations": {
            "io.kubernetes.cri.container-type": "container",
            "io.kubernetes.cri.sandbox-id": "pod1"}}));
        assert_eq!(sandbox_of(root, &s).map(|(id, _)| id), Some("pod1".into()));
        let s = spec(serde_json::json!({"annotations": {
            "io.kubernetes.cri-o.ContainerType": "container",
            "io.kubernetes.cri-o.SandboxID": "pod2"}}));
        assert_eq!(sandbox_of(root, &s).map(|(id, _)| id), Some("pod2".into()));
        // The sandbox itself, and a container with no annotation, join none.
        let s = spec(serde_json::json!({"annotations": {
            "io.kubernetes.cri.container-type": "sandbox",
            "io.kubernetes.cri.sandbox-id": "pod1"}}));
        assert_eq!(sandbox_of(root, &s), None);
        assert_eq!(sandbox_of(root, &spec(serde_json::json!({}))), None);
    }

    /// A namespace path is matched by the namespace it names: this test
    /// process stands for a sandbox process recorded under a fresh root.
    #[test]
    fn namespace_path_of_a_sandbox_process() {
        let root = std::env::temp_dir().join(format!("rvisor-pod-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let me = std::process::id() as i32;
        let rec = state::Record {
            id: "infra".into(),
            pid: me,
            starttime: state::starttime(me).unwrap_or(0),
            ..Default::default()
        };
        let made = Container::create(&root, rec).and_then(|c| c.save());
        assert!(made.is_ok(), "{made:?}");
        let joining = |path: &str| {
            spec(serde_json::json!({"linux": {"namespaces": [
                {"type": "pid"}, {"type": "mount"},
                {"type": "ipc", "path": path}]}}))
        };
        let by_pid = sandbox_of(&root, &joining(&format!("/proc/{me}/ns/ipc")));
        // /proc/self names the same namespace by another path.
        let by_self = sandbox_of(&root, &joining("/proc/self/ns/ipc"));
        // A path that names no namespace.
        let other = sandbox_of(&root, &joining("/proc/999999999/ns/ipc"));
        let own = sandbox_of(
            &root,
            &spec(serde_json::json!({"linux": {"namespaces": [
            {"type": "ipc"}, {"type": "network"}]}})),
        );
        let _ = std::fs::remove_dir_all(&root);
        assert_eq!(by_pid.map(|(id, _)| id), Some("infra".into()));
        assert_eq!(by_self.map(|(id, _)| id), Some("infra".into()));
        assert_eq!(other, None);
        assert_eq!(own, None);
    }
}
