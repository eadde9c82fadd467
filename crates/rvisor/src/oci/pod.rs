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
//! Running such a container inside that sandbox (sharing its kernel, IPC
//! and network) is not built yet: it gets a sandbox of its own, and
//! `create` says so (`note`).

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use oci_spec::runtime::{LinuxNamespaceType, Spec};

use super::log;
use super::state::{self, Container};

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
        if !c.alive() {
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

/// Logs (a warning) that the container being created belongs with
/// another container's sandbox, which it cannot share yet.
pub fn note(root: &Path, id: &str, spec: &Spec) {
    if let Some((sandbox, how)) = sandbox_of(root, spec) {
        log::warn(&format!(
            "container {id} joins container {sandbox}'s sandbox ({how}): several containers \
             in one sandbox are not supported yet; it runs in a sandbox of its own, sharing \
             no IPC, network or hostname with {sandbox}"
        ));
    }
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
