//! Container state on the host: `--root/<id>/` holds `state.json` (what
//! `create` recorded), `lock` (taken with `flock` around every read-modify-
//! write, so concurrent CLI calls are safe), `ctl.sock` (the sandbox's
//! control socket) and `exit` (init's wait status, written by the sandbox
//! as it ends). The status is never taken on trust from the file: a dead
//! sandbox process is `stopped` whatever was recorded.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::control::{self, Request};

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct Record {
    pub id: String,
    /// The sandbox process; 0 while `creating`.
    pub pid: i32,
    /// Its start time (field 22 of `/proc/PID/stat`), so a reused pid is
    /// not taken for it.
    pub starttime: u64,
    pub bundle: String,
    pub rootfs: String,
    pub created: String,
    pub owner: String,
    #[serde(rename = "ociVersion")]
    pub oci_version: String,
    pub annotations: std::collections::BTreeMap<String, String>,
    pub creating: bool,
    pub started: bool,
    /// The spec's `hooks` (null: none), for `start` and `delete`.
    #[serde(default)]
    pub hooks: serde_json::Value,
    /// The container's cgroup, removed with the container.
    #[serde(default)]
    pub cgroup: Option<super::cgroup::Cgroup>,
    /// A pod's later container: the id of the container whose sandbox
    /// runs it (`pod.rs`); `pid` is then its monitor process's.
    #[serde(default)]
    pub sandbox: Option<String>,
}

/// Where a container's control requests go: its own sandbox's socket,
/// or, for a pod's later container, the pod sandbox's, each request
/// wrapped in `For`.
#[derive(Clone, Debug)]
pub struct Route {
    pub dir: PathBuf,
    member: Option<String>,
}

impl Route {
    /// Pod container `id` of the sandbox whose state directory is `dir`.
    pub fn member(dir: PathBuf, id: String) -> Route {
        Route {
            dir,
            member: Some(id),
        }
    }

    pub fn wrap(&self, req: Request) -> Request {
        match &self.member {
            Some(id) => Request::For {
                container: id.clone(),
                request: Box::new(req),
            },
            None => req,
        }
    }

    pub fn call(&self, req: Request) -> Result<serde_json::Value, String> {
        control::call(&self.dir, &self.wrap(req))
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Status {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

/// runc's rule: letters, digits, `_`, `+`, `-`, `.`; not `.` or `..`.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id != "."
        && id != ".."
        && id.len() <= 1024
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+-.".contains(c))
}

pub struct Container {
    pub dir: PathBuf,
    pub rec: Record,
    /// Held (flock) as long as this lives.
    _lock: File,
}

fn lock_file(dir: &Path) -> Result<File, String> {
    let f = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("lock"))
        .map_err(|e| format!("cannot lock {}: {e}", dir.display()))?;
    // SAFETY: flock on a descriptor we own.
    if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(format!(
            "cannot lock {}: {}",
            dir.display(),
            std::io::Error::last_os_error()
        ));
    }
    Ok(f)
}

impl Container {
    /// Makes the state directory of a new container (exclusive: an id in
    /// use is an error) and records it as `creating`.
    pub fn create(root: &Path, rec: Record) -> Result<Container, String> {
        if !valid_id(&rec.id) {
            return Err(format!("invalid container id format: {:?}", rec.id));
        }
        std::fs::create_dir_all(root)
            .map_err(|e| format!("cannot create root {}: {e}", root.display()))?;
        let dir = root.join(&rec.id);
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => {
                    format!("container with id {:?} already exists", rec.id)
                }
                _ => format!("cannot create {}: {e}", dir.display()),
            })?;
        let lock = lock_file(&dir)?;
        let c = Container {
            dir,
            rec,
            _lock: lock,
        };
        c.save()?;
        Ok(c)
    }

    /// Opens an existing container, locked.
    pub fn open(root: &Path, id: &str) -> Result<Container, String> {
        if !valid_id(id) {
            return Err(format!("invalid container id format: {id:?}"));
        }
        let dir = root.join(id);
        if !dir.is_dir() {
            return Err(format!("container {id:?} does not exist"));
        }
        let lock = lock_file(&dir)?;
        let text = std::fs::read_to_string(dir.join("state.json"))
            .map_err(|e| format!("container {id:?}: no state: {e}"))?;
        let rec =
            serde_json::from_str(&text).map_err(|e| format!("container {id:?}: bad state: {e}"))?;
        Ok(Container {
            dir,
            rec,
            _lock: lock,
        })
    }

    /// Writes `state.json` atomically (a reader never sees half of it).
    pub fn save(&self) -> Result<(), String> {
        let tmp = self.dir.join("state.json.tmp");
        let body = serde_json::to_vec(&self.rec).map_err(|e| e.to_string())?;
        std::fs::write(&tmp, body)
            .and_then(|_| std::fs::rename(&tmp, self.dir.join("state.json")))
            .map_err(|e| format!("cannot save state: {e}"))
    }

    pub fn route(&self) -> Route {
        match &self.rec.sandbox {
            Some(sb) => Route {
                dir: self.dir.with_file_name(sb),
                member: Some(self.rec.id.clone()),
            },
            None => Route {
                dir: self.dir.clone(),
                member: None,
            },
        }
    }

    /// Sends `req` to the sandbox serving this container.
    pub fn call(&self, req: Request) -> Result<serde_json::Value, String> {
        self.route().call(req)
    }

    /// Whether the recorded sandbox process still runs (not a zombie, not
    /// a newer process with its pid).
    pub fn alive(&self) -> bool {
        self.rec.pid > 0 && starttime(self.rec.pid) == Some(self.rec.starttime)
    }

    pub fn status(&self) -> Status {
        if self.rec.creating {
            return if self.rec.pid == 0 || self.alive() {
                Status::Creating
            } else {
                Status::Stopped
            };
        }
        if !self.alive() {
            return Status::Stopped;
        }
        match self.call(Request::State) {
            Ok(v) => match v.get("status").and_then(|s| s.as_str()) {
                Some("created") => Status::Created,
                Some("running") => Status::Running,
                Some("paused") => Status::Paused,
                _ => Status::Stopped,
            },
            // Alive but not answering (still exiting, or busy): what was
            // recorded.
            Err(_) if self.rec.started => Status::Running,
            Err(_) => Status::Created,
        }
    }

    /// Init's wait status as the sandbox recorded it when it ended.
    pub fn exit_status(&self) -> Option<i32> {
        std::fs::read_to_string(self.dir.join("exit"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// SIGKILL to the sandbox process (if it is still ours) and waits up
    /// to 5 s for it to be gone; its stubs and factory die with it.
    pub fn kill_sandbox(&self) {
        if !self.alive() {
            return;
        }
        // SAFETY: kill of the pid we verified by its start time.
        unsafe { libc::kill(self.rec.pid, libc::SIGKILL) };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while self.alive() && std::time::Instant::now() < deadline {
            // Our own child (run): reap it.
            // SAFETY: waitpid with WNOHANG on a pid; no status wanted.
            unsafe { libc::waitpid(self.rec.pid, std::ptr::null_mut(), libc::WNOHANG) };
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    /// Removes the container's cgroup (killing what is left in it) and
    /// its state directory (the lock goes with it).
    pub fn remove(self) -> Result<(), String> {
        if let Some(cg) = &self.rec.cgroup {
            cg.remove();
        }
        std::fs::remove_dir_all(&self.dir)
            .map_err(|e| format!("cannot remove {}: {e}", self.dir.display()))
    }

    /// The OCI state as runc prints it (its fields in its order).
    pub fn oci_state(&self, status: Status) -> OciState {
        OciState {
            oci_version: self.rec.oci_version.clone(),
            id: self.rec.id.clone(),
            pid: if status == Status::Stopped {
                0
            } else {
                self.rec.pid
            },
            status: status.as_str(),
            bundle: self.rec.bundle.clone(),
            rootfs: self.rec.rootfs.clone(),
            created: self.rec.created.clone(),
            owner: self.rec.owner.clone(),
            annotations: self.rec.annotations.clone(),
        }
    }
}

#[derive(Serialize, Debug)]
pub struct OciState {
    #[serde(rename = "ociVersion")]
    pub oci_version: String,
    pub id: String,
    pub pid: i32,
    pub status: &'static str,
    pub bundle: String,
    pub rootfs: String,
    pub created: String,
    pub owner: String,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub annotations: std::collections::BTreeMap<String, String>,
}

use std::os::unix::fs::DirBuilderExt;

/// The fields of `/proc/PID/stat` from the state (field 3) on.
fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields start
    // after the last ')'.
    let rest = s.get(s.rfind(')')? + 2..)?;
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// Field 22 of `/proc/PID/stat`; `None` for a gone or zombie process.
pub fn starttime(pid: i32) -> Option<u64> {
    let fields = stat_fields(pid)?;
    if matches!(fields.first().map(String::as_str), Some("Z" | "X")) {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// The parent of process `pid` (zombies too); `None` if it is gone.
pub fn parent(pid: i32) -> Option<i32> {
    stat_fields(pid)?.get(1)?.parse().ok()
}

/// The ids of every container under `root`.
pub fn ids(root: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("state.json").exists())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_runc() {
        for ok in ["a", "abc-1.2_3+x", &"f".repeat(64)] {
            assert!(valid_id(ok), "{ok}");
        }
        for bad in ["", ".", "..", "a/b", "a b", "../x", "a\n"] {
            assert!(!valid_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn own_starttime_is_read_and_zombies_are_dead() {
        assert!(starttime(std::process::id() as i32).is_some());
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert_eq!(
            starttime(pid),
            None,
            "an unreaped exited child is not alive"
        );
        child.wait().unwrap();
    }
}
