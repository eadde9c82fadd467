//! A bundle's `config.json` turned into what the sandbox needs (the
//! options `rvisor do` runs with, plus the init process's credentials and
//! extras). Fields the sentry cannot honour yet are logged, never fatal;
//! a malformed file or a missing root is one error line.

use std::path::{Path, PathBuf};

use abi::misc::Rlimit;
use kernel::process::InitExtras;
use kernel::task::Caps;
use oci_spec::runtime::Spec;

use super::log;

/// Capability names in number order (`CAP_CHOWN` = 0 ... 40).
const CAPS: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

const RLIMITS: [&str; 16] = [
    "RLIMIT_CPU",
    "RLIMIT_FSIZE",
    "RLIMIT_DATA",
    "RLIMIT_STACK",
    "RLIMIT_CORE",
    "RLIMIT_RSS",
    "RLIMIT_NPROC",
    "RLIMIT_NOFILE",
    "RLIMIT_MEMLOCK",
    "RLIMIT_AS",
    "RLIMIT_LOCKS",
    "RLIMIT_SIGPENDING",
    "RLIMIT_MSGQUEUE",
    "RLIMIT_NICE",
    "RLIMIT_RTPRIO",
    "RLIMIT_RTTIME",
];

/// The serde name of an oci-spec enum value ("CAP_CHOWN").
fn name_of<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// A loaded bundle.
pub struct Bundle {
    /// Absolute, canonical.
    pub dir: PathBuf,
    pub rootfs: PathBuf,
    pub spec: Spec,
}

impl Bundle {
    /// Reads and checks `DIR/config.json`; every error is one line.
    pub fn load(dir: &Path) -> Result<Bundle, String> {
        let dir =
            std::fs::canonicalize(dir).map_err(|e| format!("bundle {}: {e}", dir.display()))?;
        let path = dir.join("config.json");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let spec: Spec = serde_json::from_str(&text).map_err(|e| {
            format!(
                "malformed {}: {}",
                path.display(),
                e.to_string().replace('\n', " ")
            )
        })?;
        let root = spec
            .root()
            .as_ref()
            .ok_or("config.json: root is required")?;
        let rootfs = dir.join(root.path());
        let rootfs = match std::fs::canonicalize(&rootfs) {
            Ok(r) if r.is_dir() => r,
            Ok(r) => return Err(format!("rootfs {} is not a directory", r.display())),
            Err(e) => return Err(format!("rootfs {}: {e}", rootfs.display())),
        };
        let process = spec
            .process()
            .as_ref()
            .ok_or("config.json: process is required")?;
        if process.args().as_ref().is_none_or(|a| a.is_empty()) {
            return Err("config.json: process.args must not be empty".into());
        }
        if !process.cwd().is_absolute() {
            return Err(format!(
                "config.json: process.cwd {:?} is not an absolute path",
                process.cwd()
            ));
        }
        Ok(Bundle { dir, rootfs, spec })
    }

    pub fn terminal(&self) -> bool {
        self.spec
            .process()
            .as_ref()
            .and_then(|p| p.terminal())
            .unwrap_or(false)
    }

    /// (rows, columns) from `process.consoleSize`.
    pub fn console_size(&self) -> Option<(u16, u16)> {
        let b = self.spec.process().as_ref()?.console_size()?;
        Some((b.height() as u16, b.width() as u16))
    }

    /// Fills `o` (made by `DoOptions::parse` for the sandbox) from the
    /// spec, and logs what is not honoured.
    pub fn apply(&self, o: &mut crate::sandbox::DoOptions) {
        let spec = &self.spec;
        o.root = self.rootfs.to_string_lossy().into_owned();
        if let Some(p) = spec.process() {
            let parts = process_parts(p);
            o.argv = parts.argv;
            o.env = parts.env;
            o.cwd = Some(parts.cwd);
            o.user = Some(parts.user);
            o.init_extras = parts.extras;
        }
        if let Some(h) = spec.hostname() {
            o.hostname = h.clone();
        }
        if spec.root().as_ref().and_then(|r| r.readonly()) == Some(true) {
            log::warn("root.readonly: not enforced yet (writes stay in the sandbox's memory)");
        }
        for m in spec.mounts().iter().flatten() {
            if let Some(ms) = mount_spec(m) {
                o.mounts.push(ms);
            }
        }
        if let Some(l) = spec.linux() {
            use crate::sandbox::{MountSource, MountSpec};
            let paths = |v: &Option<Vec<String>>, source: MountSource| {
                v.iter()
                    .flatten()
                    .filter(|p| p.starts_with('/'))
                    .map(|p| MountSpec {
                        target: p.clone(),
                        source: source.clone(),
                        options: String::new(),
                    })
                    .collect::<Vec<_>>()
            };
            o.mounts
                .extend(paths(l.masked_paths(), MountSource::Masked));
            o.mounts
                .extend(paths(l.readonly_paths(), MountSource::ReadOnly));
        }
        if let Some(l) = spec.linux() {
            // The host enforces them (the cgroup `create` made); the
            // sandbox shows them.
            if let Some(r) = l.resources() {
                let r = super::cgroup::Resources::from_spec(r);
                o.memory_limit = r.memory_limit();
                o.cpu_limit = Some(r.cpu_count(usize::MAX)).filter(|&n| n < usize::MAX);
                o.task_limit = r.pids.filter(|&n| n > 0).map(|n| n as u64);
            }
            if l.seccomp().is_some() {
                log::warn("linux.seccomp: the spec's profile is not enforced yet");
            }
            if l.sysctl().is_some() {
                log::warn("linux.sysctl: not applied");
            }
            if l.uid_mappings().is_some() || l.gid_mappings().is_some() {
                log::warn("linux.uidMappings/gidMappings: not supported, ignored");
            }
            log::debug("linux.namespaces: the sandbox always has its own");
        }
        if let Some(a) = spec.annotations() {
            for (k, v) in a {
                log::debug(&format!("annotation {k}={v}"));
            }
        }
    }
}

/// The sandbox mount a spec's mount becomes; `None` (logged) for one
/// the sentry provides itself or cannot make.
fn mount_spec(m: &oci_spec::runtime::Mount) -> Option<crate::sandbox::MountSpec> {
    let dest = m.destination().to_string_lossy();
    let typ = m.typ().clone().unwrap_or_default();
    let options = m.options().clone().unwrap_or_default();
    let bind = typ == "bind" || options.iter().any(|o| o == "bind" || o == "rbind");
    // The sentry always provides these at their usual places (its own
    // /dev holds pts and shm; mq_open needs no /dev/mqueue).
    let provided = matches!(
        (typ.as_str(), &*dest),
        ("proc", "/proc")
            | ("sysfs", "/sys")
            | ("tmpfs", "/dev")
            | ("devpts", "/dev/pts")
            | ("mqueue", "/dev/mqueue")
            | ("cgroup", "/sys/fs/cgroup")
            | ("cgroup2", "/sys/fs/cgroup")
    );
    if provided {
        log::debug(&format!("mount {typ} on {dest}: provided by the sentry"));
        return None;
    }
    if bind {
        let source = m
            .source()
            .as_ref()
            .map_or(String::new(), |s| s.to_string_lossy().into_owned());
        // A directory or a single file (an engine's /etc/hosts,
        // resolv.conf) is a volume, served by a gofer of its own.
        let readonly = options.iter().any(|o| o == "ro");
        return match crate::sandbox::MountSpec::bind(&source, &dest, readonly) {
            Ok(ms) => Some(ms),
            Err(e) => {
                log::warn(&format!("mount of host path on {dest}: {e}; skipped"));
                None
            }
        };
    }
    if typ != "tmpfs" {
        log::warn(&format!(
            "mount {typ} on {dest}: only tmpfs mounts are made anywhere; {typ} only at its \
             usual place; skipped"
        ));
        return None;
    }
    if options.iter().any(|o| o == "tmpcopyup") {
        log::debug(&format!(
            "mount tmpfs on {dest}: tmpcopyup not supported, it starts empty"
        ));
    }
    match crate::sandbox::MountSpec::tmpfs(&dest, &options.join(",")) {
        Ok(ms) => Some(ms),
        Err(e) => {
            log::warn(&format!("mount tmpfs on {dest}: {e}; skipped"));
            None
        }
    }
}

/// What a process description (`config.json`'s `process`, or `exec`'s
/// `process.json`) gives the process to build.
pub struct ProcessParts {
    pub argv: Vec<String>,
    pub env: Vec<String>,
    pub cwd: String,
    /// uid, gid, additional gids.
    pub user: (u32, u32, Vec<u32>),
    pub extras: InitExtras,
}

/// Reads `p`, logging what is not honoured.
pub fn process_parts(p: &oci_spec::runtime::Process) -> ProcessParts {
    let u = p.user();
    let mut x = InitExtras {
        umask: u.umask(),
        no_new_privs: p.no_new_privileges().unwrap_or(false),
        ..Default::default()
    };
    for r in p.rlimits().iter().flatten() {
        let name = name_of(&r.typ());
        match RLIMITS.iter().position(|n| *n == name) {
            Some(i) => x.rlimits.push((
                i as u32,
                Rlimit {
                    cur: r.soft(),
                    max: r.hard(),
                },
            )),
            None => log::warn(&format!("process.rlimits: {name} unsupported, ignored")),
        }
    }
    if let Some(c) = p.capabilities() {
        let set = |s: &Option<oci_spec::runtime::Capabilities>| {
            s.iter().flatten().fold(0u64, |m, c| {
                let name = name_of(c);
                match CAPS.iter().position(|n| *n == name) {
                    Some(i) => m | 1 << i,
                    None => {
                        log::warn(&format!("capability {name} unknown, ignored"));
                        m
                    }
                }
            })
        };
        x.caps = Some(Caps {
            effective: set(c.effective()),
            permitted: set(c.permitted()),
            inheritable: set(c.inheritable()),
        });
        if c.ambient().as_ref().is_some_and(|a| !a.is_empty()) {
            log::warn("process.capabilities.ambient: not supported, ignored");
        }
        log::debug("process.capabilities.bounding: the sandbox bounds nothing further");
    }
    if p.apparmor_profile().is_some() || p.selinux_label().is_some() {
        log::debug("process: apparmor/selinux labels do not apply to the sentry, ignored");
    }
    if p.oom_score_adj().is_some() {
        log::warn("process.oomScoreAdj: not supported, ignored");
    }
    ProcessParts {
        argv: p.args().clone().unwrap_or_default(),
        env: p.env().clone().unwrap_or_default(),
        cwd: p.cwd().to_string_lossy().into_owned(),
        user: (
            u.uid(),
            u.gid(),
            u.additional_gids().clone().unwrap_or_default(),
        ),
        extras: x,
    }
}

/// Every capability name the sandbox knows.
pub fn capability_names() -> Vec<&'static str> {
    CAPS.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_names_match_oci_spec() {
        use oci_spec::runtime::Capability;
        assert_eq!(name_of(&Capability::Chown), "CAP_CHOWN");
        assert_eq!(CAPS[21], "CAP_SYS_ADMIN");
        assert_eq!(
            CAPS.iter()
                .position(|n| *n == name_of(&Capability::CheckpointRestore)),
            Some(40)
        );
        assert_eq!(RLIMITS[7], "RLIMIT_NOFILE");
        assert_eq!(abi::misc::RLIMIT_NOFILE, 7);
    }
}
