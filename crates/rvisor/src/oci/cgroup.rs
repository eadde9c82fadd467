//! The container's cgroups on the host, made by the CLI (never by the
//! confined sentry, which sees no host path): `create` resolves the spec's
//! `linux.cgroupsPath` as runc does, makes that cgroup in every v1
//! hierarchy (or in the v2 one), writes `linux.resources` into it and
//! places the sandbox process there before it runs anything (its gofers,
//! stub factory and stubs are its children and inherit it), so the host
//! enforces the limits on every host process of the sandbox. `delete`
//! kills whatever is left in it and removes it; so does a failed
//! `create`. `events --stats` reads its accounting.
//!
//! Own code rather than the `libcgroups` crate: what is needed is a few
//! file writes, and that crate brings `nix`, `dbus` and a second
//! `oci-spec` with it.

use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::log;

/// `CGROUP2_SUPER_MAGIC`.
const CGROUP2_MAGIC: i64 = 0x6367_7270;

/// A container's cgroup: its directory in each hierarchy.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Cgroup {
    /// `true`: the unified hierarchy alone holds the controllers.
    pub v2: bool,
    /// (controllers of the hierarchy, e.g. `cpu,cpuacct`, or `""` for a
    /// v2 hierarchy; the container's directory in it).
    pub dirs: Vec<(String, PathBuf)>,
}

/// The limits of `linux.resources` the sandbox applies (`None`: not set).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resources {
    /// Bytes; -1 is unlimited.
    pub memory: Option<i64>,
    /// Memory plus swap, bytes; -1 is unlimited.
    pub swap: Option<i64>,
    pub reservation: Option<i64>,
    pub shares: Option<u64>,
    /// Microseconds per period; -1 (or 0) is unlimited.
    pub quota: Option<i64>,
    pub period: Option<u64>,
    pub cpus: Option<String>,
    pub mems: Option<String>,
    /// 0 or less is unlimited.
    pub pids: Option<i64>,
}

impl Resources {
    /// From the spec's `linux.resources`, logging what is not applied.
    pub fn from_spec(r: &oci_spec::runtime::LinuxResources) -> Resources {
        let mut x = Resources::default();
        if let Some(m) = r.memory() {
            x.memory = m.limit();
            x.swap = m.swap();
            x.reservation = m.reservation();
            if m.kernel().is_some() || m.kernel_tcp().is_some() {
                log::debug("linux.resources.memory.kernel: deprecated, ignored");
            }
            if m.swappiness().is_some() || m.disable_oom_killer().is_some() {
                log::debug("linux.resources.memory: swappiness, disableOOMKiller ignored");
            }
        }
        if let Some(c) = r.cpu() {
            x.shares = c.shares();
            x.quota = c.quota();
            x.period = c.period();
            x.cpus = c.cpus().clone().filter(|s| !s.is_empty());
            x.mems = c.mems().clone().filter(|s| !s.is_empty());
            if c.realtime_runtime().is_some() || c.realtime_period().is_some() {
                log::debug("linux.resources.cpu: realtime limits ignored");
            }
        }
        if let Some(p) = r.pids() {
            x.pids = Some(p.limit());
        }
        if r.block_io().is_some() || r.hugepage_limits().is_some() || r.network().is_some() {
            log::debug("linux.resources: blockIO, hugepageLimits, network not applied");
        }
        log::debug("linux.resources.devices: the sandbox opens no host device; not applied");
        x
    }

    /// The number of CPUs the sandbox's CPU limit amounts to (as the
    /// seed's `SetCPUs`: the quota rounded up), at most `online`.
    pub fn cpu_count(&self, online: usize) -> usize {
        let n = match (self.quota, self.period) {
            (Some(q), Some(p)) if q > 0 && p > 0 => (q as u64).div_ceil(p) as usize,
            (Some(q), None) if q > 0 => (q as u64).div_ceil(100_000) as usize,
            _ => online,
        };
        n.clamp(1, online.max(1))
    }

    /// The memory limit in bytes, if any.
    pub fn memory_limit(&self) -> Option<u64> {
        self.memory.filter(|&m| m > 0).map(|m| m as u64)
    }
}

/// The host's pids limit for a container's `pids.limit` of `p`. The
/// sentry enforces `p` on the container's tasks itself
/// (`kernel::limit_tasks`); the host counts threads of the sandbox's own
/// (the sentry's, about one per task plus a dozen, and each stub's, one
/// per task): a backstop sized for those, so the sandbox can start and
/// reach the container's limit.
fn host_pids(p: i64) -> String {
    if p > 0 {
        (2 * p + 64).to_string()
    } else {
        "max".into()
    }
}

/// One file write: (controller, file, value).
type Write1 = (&'static str, &'static str, String);

/// The files `r` becomes, in the order they must be written.
fn writes(r: &Resources, v2: bool) -> Vec<Write1> {
    let mut w: Vec<Write1> = Vec::new();
    let unlimited = |v: i64| v < 0;
    if v2 {
        if let Some(m) = r.memory {
            w.push((
                "memory",
                "memory.max",
                if unlimited(m) {
                    "max".into()
                } else {
                    m.to_string()
                },
            ));
        }
        // v2's swap limit is the swap alone; the spec's is memory + swap.
        if let Some(s) = r.swap {
            let v = match (s, r.memory) {
                (s, _) if unlimited(s) => "max".into(),
                (s, Some(m)) if m > 0 => (s - m).max(0).to_string(),
                (s, _) => s.to_string(),
            };
            w.push(("memory", "memory.swap.max", v));
        }
        if let Some(m) = r.reservation {
            w.push(("memory", "memory.low", m.max(0).to_string()));
        }
        if let Some(s) = r.shares.filter(|&s| s > 0) {
            // runc's conversion of shares [2, 262144] to weight [1, 10000].
            let s = s.clamp(2, 262_144);
            w.push((
                "cpu",
                "cpu.weight",
                (1 + (s - 2) * 9999 / 262_142).to_string(),
            ));
        }
        if r.quota.is_some() || r.period.is_some() {
            let q = match r.quota {
                Some(q) if q > 0 => q.to_string(),
                _ => "max".into(),
            };
            w.push((
                "cpu",
                "cpu.max",
                format!("{q} {}", r.period.unwrap_or(100_000)),
            ));
        }
    } else {
        v1_writes(r, &mut w);
    }
    // The same files in both.
    if let Some(c) = &r.cpus {
        w.push(("cpuset", "cpuset.cpus", c.clone()));
    }
    if let Some(m) = &r.mems {
        w.push(("cpuset", "cpuset.mems", m.clone()));
    }
    if let Some(p) = r.pids {
        w.push(("pids", "pids.max", host_pids(p)));
    }
    w
}

fn v1_writes(r: &Resources, w: &mut Vec<Write1>) {
    // The limit before memory+swap (which may not be below it).
    if let Some(m) = r.memory {
        w.push(("memory", "memory.limit_in_bytes", m.max(-1).to_string()));
    }
    if let Some(s) = r.swap {
        w.push((
            "memory",
            "memory.memsw.limit_in_bytes",
            s.max(-1).to_string(),
        ));
    }
    if let Some(m) = r.reservation {
        w.push((
            "memory",
            "memory.soft_limit_in_bytes",
            m.max(-1).to_string(),
        ));
    }
    if let Some(s) = r.shares.filter(|&s| s > 0) {
        w.push(("cpu", "cpu.shares", s.to_string()));
    }
    // The period first: a quota is checked against it.
    if let Some(p) = r.period.filter(|&p| p > 0) {
        w.push(("cpu", "cpu.cfs_period_us", p.to_string()));
    }
    if let Some(q) = r.quota {
        w.push(("cpu", "cpu.cfs_quota_us", q.max(-1).to_string()));
    }
}

/// A path cleaned lexically as Go's `filepath.Clean` (as runc's
/// `CleanPath`): `..` never climbs above the start, for a relative path
/// too. Returns (absolute, components).
fn clean(path: &str) -> (bool, Vec<&str>) {
    let mut parts = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    (path.starts_with('/'), parts)
}

/// systemd's slice name as a path: `a-b.slice` is `/a.slice/a-b.slice`.
fn expand_slice(slice: &str) -> Result<String, String> {
    let bad = || format!("invalid slice name {slice:?}");
    let base = slice.strip_suffix(".slice").ok_or_else(bad)?;
    if slice.contains('/') {
        return Err(bad());
    }
    if base == "-" {
        return Ok("/".into());
    }
    let mut path = String::new();
    let mut prefix = String::new();
    for part in base.split('-') {
        if part.is_empty() {
            return Err(bad());
        }
        path.push_str(&format!("/{prefix}{part}.slice"));
        prefix.push_str(part);
        prefix.push('-');
    }
    Ok(path)
}

/// The container's cgroup path, as runc resolves `linux.cgroupsPath`:
/// cgroupfs form `/a/b` (absolute: from each hierarchy's root; relative:
/// below the runtime's own cgroup); with `--systemd-cgroup`, systemd's
/// `slice:prefix:name` form becomes the path systemd would give the
/// scope (`/system.slice/prefix-name.scope`), made directly (no systemd
/// is asked). Absent: `ID` below the runtime's own cgroup (cgroupfs), or
/// `system.slice:rvisor:ID` (systemd).
pub fn resolve(spec_path: Option<&str>, systemd: bool, id: &str) -> Result<String, String> {
    let spec_path = spec_path.filter(|p| !p.is_empty());
    if !systemd {
        let (abs, parts) = clean(spec_path.unwrap_or(id));
        let joined = parts.join("/");
        return Ok(if abs { format!("/{joined}") } else { joined });
    }
    let p = spec_path.map_or_else(|| format!("system.slice:rvisor:{id}"), str::to_string);
    let f: Vec<&str> = p.split(':').collect();
    let [slice, prefix, name] = f[..] else {
        return Err(format!(
            "expected cgroupsPath to be of format \"slice:prefix:name\" for systemd cgroups, got {p:?} instead"
        ));
    };
    let slice = expand_slice(if slice.is_empty() {
        "system.slice"
    } else {
        slice
    })?;
    let unit = if name.ends_with(".slice") {
        name.to_string()
    } else if prefix.is_empty() {
        format!("{name}.scope")
    } else {
        format!("{prefix}-{name}.scope")
    };
    if unit.contains('/') || unit.starts_with('.') {
        return Err(format!("invalid cgroupsPath {p:?}"));
    }
    Ok(format!("{}/{unit}", slice.trim_end_matches('/')))
}

/// A mounted hierarchy: its controllers (`""` for v2), where it is
/// mounted, the root of the mount within it, and this process's cgroup
/// in it.
#[derive(Debug)]
struct Hierarchy {
    controllers: String,
    mount: PathBuf,
    mount_root: String,
    own: String,
}

/// The hierarchies this process is in that are mounted (from
/// `/proc/self/cgroup` and `/proc/self/mountinfo`). `v2`: whether the
/// unified hierarchy alone holds the controllers.
fn hierarchies() -> Result<(bool, Vec<Hierarchy>), String> {
    let cg = std::fs::read_to_string("/proc/self/cgroup")
        .map_err(|e| format!("cannot read /proc/self/cgroup: {e}"))?;
    let mi = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| format!("cannot read /proc/self/mountinfo: {e}"))?;
    // (fstype, super options, mount point, root)
    let mounts: Vec<(&str, Vec<&str>, &str, &str)> = mi
        .lines()
        .filter_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            let pre: Vec<&str> = pre.split(' ').collect();
            let post: Vec<&str> = post.split(' ').collect();
            let fstype = *post.first()?;
            if fstype != "cgroup" && fstype != "cgroup2" {
                return None;
            }
            let opts = post.get(2).map_or(Vec::new(), |o| o.split(',').collect());
            Some((fstype, opts, *pre.get(4)?, *pre.get(3)?))
        })
        .collect();
    let mut out = Vec::new();
    let mut v1 = false;
    for l in cg.lines() {
        let mut f = l.splitn(3, ':');
        let (_, ctrls, own) = match (f.next(), f.next(), f.next()) {
            (Some(a), Some(b), Some(c)) => (a, b, c),
            _ => continue,
        };
        let found = if ctrls.is_empty() {
            mounts.iter().find(|m| m.0 == "cgroup2")
        } else {
            v1 = true;
            mounts
                .iter()
                .find(|m| m.0 == "cgroup" && ctrls.split(',').all(|c| m.1.contains(&c)))
        };
        if let Some((_, _, mount, root)) = found {
            out.push(Hierarchy {
                controllers: ctrls.to_string(),
                mount: unescape(mount).into(),
                mount_root: unescape(root),
                own: own.to_string(),
            });
        }
    }
    if !v1 && !is_cgroup2(Path::new("/sys/fs/cgroup")) && out.is_empty() {
        return Err("no cgroup hierarchy is mounted".into());
    }
    Ok((!v1, out))
}

/// mountinfo's octal escapes (`\040` for a space).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_cgroup2(p: &Path) -> bool {
    let Ok(c) = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: statfs with a valid path and out-pointer.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    unsafe { libc::statfs(c.as_ptr(), &mut st) == 0 && st.f_type as i64 == CGROUP2_MAGIC }
}

/// The directory of cgroup `inner` (from [`resolve`]) in hierarchy `h`.
fn dir_in(h: &Hierarchy, inner: &str) -> PathBuf {
    let rel = if let Some(abs) = inner.strip_prefix('/') {
        abs.to_string()
    } else {
        // Below this process's own cgroup, as seen from the mount.
        let own = h.own.strip_prefix(&h.mount_root).unwrap_or(&h.own);
        let (_, own) = clean(own);
        let mut p = own.join("/");
        if !p.is_empty() && !inner.is_empty() {
            p.push('/');
        }
        p.push_str(inner);
        p
    };
    let (_, parts) = clean(&rel);
    let mut d = h.mount.clone();
    d.extend(parts);
    d
}

fn write_file(dir: &Path, file: &str, value: &str) -> Result<(), String> {
    let p = dir.join(file);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&p)
        .and_then(|mut f| f.write_all(value.as_bytes()))
        .map_err(|e| format!("cgroup: cannot write {value:?} to {}: {e}", p.display()))
}

/// Makes `d` and its missing ancestors below `top`; a new cpuset
/// directory of v1 starts with no CPUs or memory nodes, so it takes its
/// parent's (as runc does) before anything may join it.
fn make_dirs(top: &Path, d: &Path, cpuset_v1: bool) -> Result<(), String> {
    if d == top || d.is_dir() {
        return Ok(());
    }
    if let Some(parent) = d.parent() {
        make_dirs(top, parent, cpuset_v1)?;
    }
    match std::fs::create_dir(d) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(format!("cgroup: cannot create {}: {e}", d.display())),
    }
    if cpuset_v1 {
        if let Some(parent) = d.parent() {
            for f in ["cpuset.cpus", "cpuset.mems"] {
                let cur = std::fs::read_to_string(d.join(f)).unwrap_or_default();
                if cur.trim().is_empty() {
                    let v = std::fs::read_to_string(parent.join(f)).unwrap_or_default();
                    write_file(d, f, v.trim())?;
                }
            }
        }
    }
    Ok(())
}

/// v2: enables the controllers limits need in every ancestor's
/// `cgroup.subtree_control` from the top of the hierarchy down to `d`'s
/// parent.
fn enable_v2(top: &Path, d: &Path) {
    let avail = std::fs::read_to_string(top.join("cgroup.controllers")).unwrap_or_default();
    let want: Vec<&str> = ["cpu", "cpuset", "memory", "pids"]
        .into_iter()
        .filter(|c| avail.split_whitespace().any(|a| a == *c))
        .collect();
    let mut ancestors: Vec<&Path> = d
        .ancestors()
        .skip(1)
        .take_while(|a| a.starts_with(top))
        .collect();
    ancestors.reverse();
    for a in ancestors {
        for c in &want {
            // One at a time: one a parent lacks fails alone.
            let _ = write_file(a, "cgroup.subtree_control", &format!("+{c}"));
        }
    }
}

impl Cgroup {
    /// Makes the container's cgroup `inner` (from [`resolve`]) in every
    /// hierarchy and writes `r` into it. On failure nothing is left.
    pub fn create(inner: &str, r: &Resources) -> Result<Cgroup, String> {
        let (v2, hs) = hierarchies()?;
        let mut cg = Cgroup {
            v2,
            dirs: Vec::new(),
        };
        let made = (|| {
            for h in &hs {
                let d = dir_in(h, inner);
                if d == h.mount {
                    return Err(format!("cgroup path {inner:?} is a hierarchy's root"));
                }
                let cpuset_v1 = h.controllers.split(',').any(|c| c == "cpuset");
                let existed = d.is_dir();
                make_dirs(&h.mount, &d, cpuset_v1)?;
                if v2 {
                    enable_v2(&h.mount, &d);
                }
                if existed {
                    // runc joins an existing cgroup too (and removes it
                    // at the end).
                    log::debug(&format!("cgroup {} exists; joined", d.display()));
                }
                cg.dirs.push((h.controllers.clone(), d));
            }
            cg.apply(r)
        })();
        if let Err(e) = made {
            cg.remove();
            return Err(e);
        }
        Ok(cg)
    }

    /// The directory of the hierarchy holding `controller`.
    pub fn dir(&self, controller: &str) -> Option<&Path> {
        self.dirs
            .iter()
            .find(|(c, _)| {
                if self.v2 {
                    c.is_empty()
                } else {
                    c.split(',').any(|x| x == controller)
                }
            })
            .map(|(_, d)| d.as_path())
    }

    fn apply(&self, r: &Resources) -> Result<(), String> {
        for (ctrl, file, value) in writes(r, self.v2) {
            let Some(d) = self.dir(ctrl) else {
                return Err(format!(
                    "cgroup: no {ctrl} controller for linux.resources ({file})"
                ));
            };
            // Without swap accounting the file is absent: as runc, no
            // swap limit then.
            if (file.contains("swap") || file.contains("memsw")) && !d.join(file).exists() {
                log::warn(&format!(
                    "cgroup: {file} is absent (no swap accounting); swap not limited"
                ));
                continue;
            }
            write_file(d, file, &value)?;
        }
        Ok(())
    }

    /// Each hierarchy's `cgroup.procs`, open for writing: the sandbox
    /// process writes `0` to each (`join_self`) between fork and exec.
    pub fn procs_files(&self) -> Result<Vec<OwnedFd>, String> {
        self.dirs
            .iter()
            .map(|(_, d)| {
                let p = d.join("cgroup.procs");
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&p)
                    .map(OwnedFd::from)
                    .map_err(|e| format!("cgroup: cannot open {}: {e}", p.display()))
            })
            .collect()
    }

    /// The processes in the cgroup (from the first hierarchy).
    pub fn pids(&self) -> Vec<i32> {
        self.dirs
            .first()
            .and_then(|(_, d)| std::fs::read_to_string(d.join("cgroup.procs")).ok())
            .map(|s| s.lines().filter_map(|l| l.trim().parse().ok()).collect())
            .unwrap_or_default()
    }

    /// Kills every process left in the cgroup and removes its directories
    /// (waiting up to 2 s for the processes to go).
    pub fn remove(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        for (_, d) in &self.dirs {
            loop {
                for pid in self.pids() {
                    // SAFETY: kill of a process in the container's cgroup:
                    // only the sandbox's processes are placed there.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
                match std::fs::remove_dir(d) {
                    Ok(()) => break,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                    Err(e) if std::time::Instant::now() > deadline => {
                        log::warn(&format!("cgroup: cannot remove {}: {e}", d.display()));
                        break;
                    }
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(5)),
                }
            }
        }
    }
}

/// cgroup v2's "max" as runc reports it.
const UNLIMITED: u64 = 9223372036854771712;

fn read(d: &Path, f: &str) -> Option<String> {
    std::fs::read_to_string(d.join(f)).ok()
}

fn num(d: &Path, f: &str) -> u64 {
    match read(d, f).as_deref().map(str::trim) {
        Some("max") => UNLIMITED,
        Some(v) => v.parse().unwrap_or(0),
        None => 0,
    }
}

/// `key value` lines (`memory.stat`, `cpu.stat`).
fn keyed(d: &Path, f: &str) -> serde_json::Map<String, serde_json::Value> {
    read(d, f)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_string(), v.trim().parse::<u64>().ok()?.into()))
        })
        .collect()
}

/// runc's `omitempty`: drops the zero (and empty) members of `o` named in
/// `keys`.
fn omit_empty(mut o: serde_json::Value, keys: &[&str]) -> serde_json::Value {
    if let Some(m) = o.as_object_mut() {
        m.retain(|k, v| {
            !keys.contains(&k.as_str())
                || !(v.as_u64() == Some(0) || v.as_array().is_some_and(|a| a.is_empty()))
        });
    }
    o
}

/// runc's `MemoryData` from the files `{prefix}.usage_in_bytes` ... of v1.
fn memory_data_v1(d: &Path, prefix: &str) -> serde_json::Value {
    let f = |s: &str| num(d, &format!("{prefix}.{s}"));
    omit_empty(
        serde_json::json!({
            "limit": f("limit_in_bytes"), "usage": f("usage_in_bytes"),
            "max": f("max_usage_in_bytes"), "failcnt": f("failcnt"),
        }),
        &["usage", "max"],
    )
}

impl Cgroup {
    /// The `cpu` and `memory` members of runc's stats event, from the
    /// cgroup's accounting: the host's view of everything the sandbox
    /// uses (the sentry and its helpers too), which the limits apply to.
    pub fn stats(&self) -> (serde_json::Value, serde_json::Value) {
        let (mut cpu, mut throttling, mut mem) = (
            serde_json::json!({}),
            serde_json::json!({}),
            serde_json::json!({}),
        );
        let ns_per_tick = 1_000_000_000 / 100; // USER_HZ
        if self.v2 {
            let Some(d) = self.dir("") else {
                return (cpu, mem);
            };
            let st = keyed(d, "cpu.stat");
            let us = |k: &str| st.get(k).and_then(|v| v.as_u64()).unwrap_or(0);
            cpu = serde_json::json!({
                "total": us("usage_usec") * 1000, "kernel": us("system_usec") * 1000,
                "user": us("user_usec") * 1000,
            });
            throttling = serde_json::json!({
                "periods": us("nr_periods"), "throttled_periods": us("nr_throttled"),
                "throttled_time": us("throttled_usec") * 1000,
            });
            let raw = keyed(d, "memory.stat");
            mem = serde_json::json!({
                "cache": raw.get("file").cloned().unwrap_or(0.into()),
                "usage": omit_empty(serde_json::json!({
                    "limit": num(d, "memory.max"), "usage": num(d, "memory.current"),
                    "max": num(d, "memory.peak"), "failcnt": keyed(d, "memory.events").get("max").cloned().unwrap_or(0.into()),
                }), &["usage", "max"]),
                "swap": omit_empty(serde_json::json!({
                    "limit": num(d, "memory.swap.max"), "usage": num(d, "memory.swap.current"),
                    "failcnt": 0,
                }), &["usage"]),
                "kernel": { "limit": 0, "failcnt": 0 },
                "kernelTCP": { "limit": 0, "failcnt": 0 },
                "raw": raw,
            });
        } else {
            if let Some(d) = self.dir("cpuacct") {
                let list = |f: &str| -> Vec<u64> {
                    read(d, f)
                        .unwrap_or_default()
                        .split_whitespace()
                        .filter_map(|x| x.parse().ok())
                        .collect()
                };
                let st = keyed(d, "cpuacct.stat");
                let ticks = |k: &str| st.get(k).and_then(|v| v.as_u64()).unwrap_or(0) * ns_per_tick;
                cpu = serde_json::json!({
                    "total": num(d, "cpuacct.usage"), "percpu": list("cpuacct.usage_percpu"),
                    "percpu_kernel": list("cpuacct.usage_percpu_sys"),
                    "percpu_user": list("cpuacct.usage_percpu_user"),
                    "kernel": ticks("system"), "user": ticks("user"),
                });
            }
            if let Some(d) = self.dir("cpu") {
                let st = keyed(d, "cpu.stat");
                let n = |k: &str| st.get(k).and_then(|v| v.as_u64()).unwrap_or(0);
                throttling = serde_json::json!({
                    "periods": n("nr_periods"), "throttled_periods": n("nr_throttled"),
                    "throttled_time": n("throttled_time"),
                });
            }
            if let Some(d) = self.dir("memory") {
                let raw = keyed(d, "memory.stat");
                mem = serde_json::json!({
                    "cache": raw.get("cache").cloned().unwrap_or(0.into()),
                    "usage": memory_data_v1(d, "memory"),
                    "swap": memory_data_v1(d, "memory.memsw"),
                    "kernel": memory_data_v1(d, "memory.kmem"),
                    "kernelTCP": memory_data_v1(d, "memory.kmem.tcp"),
                    "raw": raw,
                });
            }
        }
        let mut cpu = serde_json::json!({
            "usage": omit_empty(cpu, &["total", "percpu", "percpu_kernel", "percpu_user"]),
            "throttling": omit_empty(throttling, &["periods", "throttled_periods", "throttled_time"]),
        });
        if cpu["usage"].as_object().is_some_and(|m| m.is_empty()) {
            cpu["usage"] = serde_json::json!({ "kernel": 0, "user": 0 });
        }
        (cpu, omit_empty(mem, &["cache"]))
    }
}

/// Moves the calling process into each cgroup whose `cgroup.procs` is
/// open in `fds`. Async-signal-safe (between fork and exec): writes `0`.
pub fn join_self(fds: &[OwnedFd]) -> std::io::Result<()> {
    for f in fds {
        // SAFETY: write of a static one-byte buffer to a descriptor we own.
        if unsafe { libc::write(f.as_raw_fd(), b"0".as_ptr().cast(), 1) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroupfs_paths_are_cleaned_as_runc() {
        assert_eq!(resolve(Some("/a/b"), false, "x").unwrap(), "/a/b");
        assert_eq!(resolve(Some("/a/../../etc"), false, "x").unwrap(), "/etc");
        assert_eq!(resolve(Some("a/./b/"), false, "x").unwrap(), "a/b");
        assert_eq!(resolve(Some("../../x"), false, "x").unwrap(), "x");
        assert_eq!(resolve(None, false, "ct1").unwrap(), "ct1");
        assert_eq!(resolve(Some(""), false, "ct1").unwrap(), "ct1");
    }

    #[test]
    fn systemd_paths_become_scopes() {
        for (path, want) in [
            (
                Some("system.slice:docker:abc"),
                "/system.slice/docker-abc.scope",
            ),
            (
                Some("machine-libpod.slice:libpod:1"),
                "/machine.slice/machine-libpod.slice/libpod-1.scope",
            ),
            (Some(":crio:1"), "/system.slice/crio-1.scope"),
            (Some("-.slice:p:n"), "/p-n.scope"),
            (None, "/system.slice/rvisor-x.scope"),
        ] {
            assert_eq!(resolve(path, true, "x").unwrap(), want, "{path:?}");
        }
        assert!(resolve(Some("/a/b"), true, "x").is_err());
        assert!(resolve(Some("bad:p:n"), true, "x").is_err());
        assert!(resolve(Some("a--b.slice:p:n"), true, "x").is_err());
    }

    fn limits() -> Resources {
        Resources {
            memory: Some(64 << 20),
            swap: Some(128 << 20),
            reservation: Some(32 << 20),
            shares: Some(1024),
            quota: Some(150_000),
            period: Some(100_000),
            cpus: Some("0".into()),
            mems: Some("0".into()),
            pids: Some(20),
        }
    }

    /// `controller:file=value` for each write.
    fn files(r: &Resources, v2: bool) -> Vec<String> {
        writes(r, v2)
            .iter()
            .map(|(c, f, v)| format!("{c}:{f}={v}"))
            .collect()
    }

    #[test]
    fn v1_files() {
        assert_eq!(
            files(&limits(), false),
            [
                "memory:memory.limit_in_bytes=67108864",
                "memory:memory.memsw.limit_in_bytes=134217728",
                "memory:memory.soft_limit_in_bytes=33554432",
                "cpu:cpu.shares=1024",
                "cpu:cpu.cfs_period_us=100000",
                "cpu:cpu.cfs_quota_us=150000",
                "cpuset:cpuset.cpus=0",
                "cpuset:cpuset.mems=0",
                "pids:pids.max=104",
            ]
        );
        let r = Resources {
            pids: Some(0),
            quota: Some(-1),
            ..Default::default()
        };
        assert_eq!(
            files(&r, false),
            ["cpu:cpu.cfs_quota_us=-1", "pids:pids.max=max"]
        );
    }

    #[test]
    fn v2_files() {
        assert_eq!(
            files(&limits(), true),
            [
                "memory:memory.max=67108864",
                "memory:memory.swap.max=67108864",
                "memory:memory.low=33554432",
                "cpu:cpu.weight=39",
                "cpu:cpu.max=150000 100000",
                "cpuset:cpuset.cpus=0",
                "cpuset:cpuset.mems=0",
                "pids:pids.max=104",
            ]
        );
        let r = Resources {
            memory: Some(-1),
            swap: Some(-1),
            quota: Some(-1),
            ..Default::default()
        };
        assert_eq!(
            files(&r, true),
            [
                "memory:memory.max=max",
                "memory:memory.swap.max=max",
                "cpu:cpu.max=max 100000"
            ]
        );
    }

    #[test]
    fn cpu_count_from_quota() {
        let r = |q, p| Resources {
            quota: q,
            period: p,
            ..Default::default()
        };
        assert_eq!(r(Some(150_000), Some(100_000)).cpu_count(8), 2);
        assert_eq!(r(Some(50_000), Some(100_000)).cpu_count(8), 1);
        assert_eq!(r(Some(800_000), Some(100_000)).cpu_count(2), 2);
        assert_eq!(r(Some(-1), Some(100_000)).cpu_count(4), 4);
        assert_eq!(r(None, None).cpu_count(4), 4);
    }

    #[test]
    fn relative_paths_are_below_our_own_cgroup() {
        let h = Hierarchy {
            controllers: "memory".into(),
            mount: "/sys/fs/cgroup/memory".into(),
            mount_root: "/".into(),
            own: "/user/me".into(),
        };
        assert_eq!(
            dir_in(&h, "ct"),
            Path::new("/sys/fs/cgroup/memory/user/me/ct")
        );
        assert_eq!(dir_in(&h, "/a/b"), Path::new("/sys/fs/cgroup/memory/a/b"));
        assert_eq!(unescape("/a\\040b"), "/a b");
    }
}
