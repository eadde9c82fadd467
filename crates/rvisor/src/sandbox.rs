//! `rvisor do`: builds a sandbox around one command and runs it to
//! completion in this process.

use std::io::Write;

use crate::confine;
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::Arc;
use std::time::Duration;

use abi::Errno;
use kernel::process::{prepare_init, InitSpec, Stdio};
use kernel::Kernel;
use loader::vdso;
use loader::VdsoMapping;
use mm::{MemObject, MemoryFile};
use vfs::host::HostRoot;
use vfs::hostfd::HostFdOps;
use vfs::{Creds, File, Vfs};

/// Virtual size of the memory file; only touched pages use memory.
const MEMORY_FILE_SIZE: u64 = 256 << 30;
/// Released application memory the sandbox keeps for reuse.
const RECYCLED_MEMORY: u64 = 64 << 20;

/// Where the sandbox's changes to its root go (`--overlay`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Overlay {
    /// Kept in memory over the read-only host root (the default).
    Memory,
    /// Written through the gofer to the host directory (`none`).
    None,
    /// Kept as with `Memory`, but the memory lives in an unlinked file
    /// under this host directory (`file:DIR`) instead of RAM.
    File(String),
}

impl Overlay {
    fn parse(v: &str) -> Result<Overlay, String> {
        match v {
            "memory" => Ok(Overlay::Memory),
            "none" => Ok(Overlay::None),
            _ => match v.strip_prefix("file:") {
                Some(d) if !d.is_empty() => Ok(Overlay::File(d.to_string())),
                _ => Err(format!(
                    "--overlay expects memory, none or file:DIR, got {v:?}"
                )),
            },
        }
    }
}

/// A filesystem mounted into the sandbox before its first program runs
/// (`--tmpfs`, `--volume`), in the order given. A plain list, so that a
/// container spec's `mounts` can be turned into it: a `tmpfs` entry is
/// [`MountSource::Tmpfs`] with its options, a `bind` entry
/// [`MountSpec::bind`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MountSpec {
    /// Where, inside the sandbox (made in memory if the root lacks it).
    pub target: String,
    pub source: MountSource,
    /// The filesystem's options, as `mount -o` takes them.
    pub options: String,
}

/// What a [`MountSpec`] mounts.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub enum MountSource {
    /// A new, empty tmpfs (root-owned, mode 1777 unless `mode=`,
    /// `uid=`, `gid=` options say otherwise).
    Tmpfs,
    /// A host directory, served by a gofer of its own (started before
    /// the sentry confines itself): its own mount namespace holding only
    /// that directory, read-only there too when `readonly`. Walks stay
    /// beneath it (the sentry resolves symlinks in the sandbox's view).
    /// Writes reach the host unless `readonly` (then `EROFS`).
    /// `file`: the source is a single file (not a directory), mounted
    /// on a file; its gofer has only that file in its namespace.
    Bind {
        source: String,
        readonly: bool,
        file: bool,
    },
    /// A container's `maskedPaths` entry: a directory there is hidden
    /// under an empty read-only tmpfs; nothing there, nothing to hide.
    Masked,
    /// A container's `readonlyPaths` entry: what is there is bound over
    /// itself read-only; nothing there, nothing to do.
    ReadOnly,
}

/// Splits mount options as `mount -o` (and a container spec's `options`)
/// give them into the per-mount flags and the filesystem's own options
/// (what `mount(2)` takes as `data`); `ro` is the filesystem's too.
/// Propagation and runc's own words (`rprivate`, `tmpcopyup`, ...) have
/// no effect on a mount made before anything runs: dropped.
pub(crate) fn split_mount_options(options: &str) -> (u64, bool, String) {
    use vfs::mount::*;
    let mut flags = 0;
    let mut ro = false;
    let mut data = Vec::new();
    for o in options.split(',').filter(|o| !o.is_empty()) {
        let (set, clear) = match o {
            "ro" => {
                ro = true;
                (MS_RDONLY, 0)
            }
            "rw" => {
                ro = false;
                (0, MS_RDONLY)
            }
            "nosuid" => (MS_NOSUID, 0),
            "suid" => (0, MS_NOSUID),
            "nodev" => (MS_NODEV, 0),
            "dev" => (0, MS_NODEV),
            "noexec" => (MS_NOEXEC, 0),
            "exec" => (0, MS_NOEXEC),
            "noatime" => (MS_NOATIME, MS_RELATIME | MS_STRICTATIME),
            "relatime" => (MS_RELATIME, MS_NOATIME | MS_STRICTATIME),
            "strictatime" => (0, MS_RELATIME | MS_NOATIME),
            "nodiratime" => (MS_NODIRATIME, 0),
            "diratime" => (0, MS_NODIRATIME),
            "defaults" | "async" | "sync" | "atime" | "norelatime" | "private" | "rprivate"
            | "shared" | "rshared" | "slave" | "rslave" | "unbindable" | "runbindable"
            | "tmpcopyup" | "notmpcopyup" => (0, 0),
            _ => {
                data.push(o);
                (0, 0)
            }
        };
        flags = (flags | set) & !clear;
    }
    if flags & (MS_NOATIME | MS_STRICTATIME) == 0 && !options.contains("strictatime") {
        flags |= MS_RELATIME;
    }
    (flags & MNT_FLAGS, ro, data.join(","))
}

impl MountSpec {
    /// A bind mount of host directory or file `source` (absolute) at
    /// `target`. Symlinks in `source` are followed here, as `mount(2)`
    /// follows them; the gofer then opens the result refusing any
    /// symlink, so one the host swaps in later is not followed.
    pub fn bind(source: &str, target: &str, readonly: bool) -> Result<MountSpec, String> {
        if !source.starts_with('/') || !target.starts_with('/') {
            return Err(format!(
                "a bind mount wants absolute paths, got {source:?} at {target:?}"
            ));
        }
        let source = std::fs::canonicalize(source).map_err(|e| format!("{source:?}: {e}"))?;
        let meta = std::fs::metadata(&source).map_err(|e| format!("{source:?}: {e}"))?;
        if !meta.is_dir() && !meta.is_file() {
            return Err(format!(
                "{source:?} is neither a directory nor a regular file"
            ));
        }
        Ok(MountSpec {
            target: target.to_string(),
            source: MountSource::Bind {
                source: source.to_string_lossy().into_owned(),
                readonly,
                file: !meta.is_dir(),
            },
            options: if readonly { "ro" } else { "rw" }.to_string(),
        })
    }

    /// `-v/--volume HOST:SANDBOX[:ro|rw]` (as docker takes it; HOST
    /// relative to the caller's directory is made absolute).
    fn parse_volume(v: &str) -> Result<MountSpec, String> {
        let bad = || format!("--volume expects HOST:SANDBOX[:ro|rw], got {v:?}");
        let mut parts = v.split(':');
        let (Some(host), Some(target)) = (parts.next(), parts.next()) else {
            return Err(bad());
        };
        let readonly = match parts.next() {
            None | Some("rw") => false,
            Some("ro") => true,
            Some(_) => return Err(bad()),
        };
        if host.is_empty() || parts.next().is_some() || !target.starts_with('/') {
            return Err(bad());
        }
        let host =
            std::fs::canonicalize(host).map_err(|e| format!("--volume {v:?}: {host:?}: {e}"))?;
        MountSpec::bind(&host.to_string_lossy(), target, readonly)
            .map_err(|e| format!("--volume {v:?}: {e}"))
    }

    /// `--tmpfs PATH[:OPTIONS]`: OPTIONS as tmpfs takes them
    /// (`size=N,mode=M,uid=U,gid=G`), checked here.
    fn parse_tmpfs(v: &str) -> Result<MountSpec, String> {
        let (target, options) = v.split_once(':').unwrap_or((v, ""));
        if !target.starts_with('/') {
            return Err(format!(
                "--tmpfs expects an absolute PATH[:OPTIONS], got {v:?}"
            ));
        }
        // As a container runtime mounts one; OPTIONS may say more.
        MountSpec::tmpfs(target, &format!("nosuid,nodev,{options}"))
            .map_err(|e| format!("--tmpfs {v:?}: {e}"))
    }

    /// A tmpfs at `target` with `options` (flags and tmpfs options, as
    /// `mount -o` takes them), checked here.
    pub(crate) fn tmpfs(target: &str, options: &str) -> Result<MountSpec, String> {
        let (_, ro, data) = split_mount_options(options);
        // The same check as a mount(2) of a tmpfs inside makes.
        syscalls::mount::new_tmpfs("tmpfs", "tmpfs", &data, ro, (0, 0))
            .map_err(|e| format!("bad options: {}", describe(e)))?;
        Ok(MountSpec {
            target: target.to_string(),
            source: MountSource::Tmpfs,
            options: options.to_string(),
        })
    }

    /// Mounts it in tree `t`; a bind mount is of the next host layer
    /// `volumes` gives (by device number).
    pub(crate) fn mount(
        &self,
        vfs: &Vfs,
        t: &vfs::Tree,
        volumes: &mut dyn Iterator<Item = u64>,
    ) -> Result<(), String> {
        let fail = |e| format!("cannot mount {:?}: {}", self.target, describe(e));
        let path = self.target.as_bytes();
        let (flags, ro, data) = split_mount_options(&self.options);
        match &self.source {
            MountSource::Bind {
                source,
                readonly,
                file,
            } => {
                let dev = volumes.next().ok_or_else(|| fail(Errno::EINVAL))?;
                // A single file: the name its gofer serves it under.
                let name = file.then(|| source.rsplit('/').next().unwrap_or("").as_bytes());
                vfs.mount_host_in(t, dev, name, self.target.as_bytes(), *readonly)
                    .map_err(fail)
            }
            MountSource::Tmpfs => {
                let (root, sb) = syscalls::mount::new_tmpfs("tmpfs", "tmpfs", &data, ro, (0, 0))
                    .map_err(fail)?;
                vfs.mount_at_in(t, path, root, sb, flags).map_err(fail)
            }
            MountSource::Masked => {
                let found = vfs::mount::with_current(&t.ns, || {
                    vfs.resolve(&t.root, &t.root, path, true, &Creds::root())
                });
                match found {
                    Err(Errno::ENOENT) => Ok(()),
                    Err(e) => Err(fail(e)),
                    Ok(d) if d.inode.is_dir() => {
                        let (root, sb) =
                            syscalls::mount::new_tmpfs("tmpfs", "tmpfs", "mode=555", true, (0, 0))
                                .map_err(fail)?;
                        use vfs::mount::*;
                        let flags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME;
                        vfs.mount_at_in(t, path, root, sb, flags).map_err(fail)
                    }
                    // (runc binds /dev/null over a file: no file mounts
                    // here yet; none of the usual masked files exist in
                    // the sentry's /proc and /sys.)
                    Ok(_) => Err(format!(
                        "cannot mask {:?}: only directories can be masked",
                        self.target
                    )),
                }
            }
            MountSource::ReadOnly => match vfs.bind_readonly_in(t, path) {
                Ok(()) | Err(Errno::ENOENT) => Ok(()),
                Err(e) => Err(fail(e)),
            },
        }
    }
}

pub struct DoOptions {
    pub(crate) root: String,
    pub(crate) overlay: Overlay,
    /// Filesystems mounted over the root at start (`--tmpfs`, `--volume`).
    pub(crate) mounts: Vec<MountSpec>,
    /// `--file-access`: whether the host may change files meanwhile.
    pub(crate) file_access: vfs::FileAccess,
    pub(crate) cwd: Option<String>,
    pub(crate) env: Vec<String>,
    /// `None`: the best platform that works here.
    pub(crate) platform: Option<String>,
    pub(crate) strace: bool,
    /// `--debug-unconfined`: skip the sentry's own confinement.
    pub(crate) unconfined: bool,
    pub(crate) log: Option<String>,
    pub(crate) hostname: String,
    /// `--network`: loopback only (default), the sentry's own TCP/IP stack
    /// on the namespace's interface, or the host's network.
    pub(crate) network: net::Mode,
    pub(crate) watchdog: kernel::watchdog::Options,
    /// Choices for the platform (syscall patching).
    pub(crate) platform_options: platform::Options,
    pub(crate) argv: Vec<String>,
    /// The init process's user, group and supplementary groups; `None`:
    /// the caller's.
    pub(crate) user: Option<(u32, u32, Vec<u32>)>,
    /// Rlimits, capabilities, umask, `no_new_privs` of the init process.
    pub(crate) init_extras: kernel::process::InitExtras,
    /// The OCI runtime's boot process (`oci::boot`); `None` for `do`.
    pub(crate) embedding: Option<Box<dyn Embedding>>,
    /// The container's memory limit in bytes (its cgroup's), shown as
    /// the sandbox's total memory.
    pub(crate) memory_limit: Option<u64>,
    /// The container's CPU quota as a number of CPUs: the sandbox has at
    /// most that many.
    pub(crate) cpu_limit: Option<usize>,
    /// The container's pids limit: most tasks the sandbox may have.
    pub(crate) task_limit: Option<u64>,
}

/// What a container's boot process adds to a sandbox run; everything
/// else is `rvisor do`'s.
pub(crate) trait Embedding {
    /// Single-threaded, after inherited descriptors are closed and
    /// before confinement: opens the host files it needs later.
    fn prepare(&mut self) -> Result<(), String>;
    /// The kernel is built and init is loaded but not started: blocks
    /// until it may start. `Err(status)`: end the sandbox with it.
    fn hold(&mut self, kernel: &Arc<Kernel>) -> Result<(), u8>;
    /// Init has started.
    fn started(&mut self);
    /// Init has exited with this wait status.
    fn exited(&mut self, status: i32);
}

impl DoOptions {
    pub fn parse(args: &[String]) -> Result<DoOptions, String> {
        let mut o = DoOptions {
            root: "/".into(),
            overlay: Overlay::Memory,
            mounts: Vec::new(),
            file_access: vfs::FileAccess::Exclusive,
            cwd: None,
            env: Vec::new(),
            platform: None,
            strace: false,
            unconfined: false,
            log: None,
            hostname: "rvisor".into(),
            network: net::Mode::None,
            watchdog: Default::default(),
            platform_options: platform::Options::default(),
            argv: Vec::new(),
            user: None,
            init_extras: Default::default(),
            embedding: None,
            memory_limit: None,
            cpu_limit: None,
            task_limit: None,
        };
        let mut explicit_env = false;
        let mut i = 0;
        while i < args.len() {
            let a = args[i].as_str();
            let (flag, inline) = match a.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
                _ => (a, None),
            };
            let mut value = |name: &str| -> Result<String, String> {
                if let Some(v) = inline.clone() {
                    return Ok(v);
                }
                i += 1;
                args.get(i)
                    .cloned()
                    .ok_or_else(|| format!("{name} needs a value"))
            };
            match flag {
                "--" => {
                    o.argv = args[i + 1..].to_vec();
                    break;
                }
                "--root" => o.root = value("--root")?,
                "--overlay" => o.overlay = Overlay::parse(&value("--overlay")?)?,
                "--tmpfs" => o.mounts.push(MountSpec::parse_tmpfs(&value("--tmpfs")?)?),
                "--file-access" => {
                    o.file_access = match value("--file-access")?.as_str() {
                        "exclusive" => vfs::FileAccess::Exclusive,
                        "shared" => vfs::FileAccess::Shared,
                        v => {
                            return Err(format!(
                                "--file-access expects exclusive or shared, got {v:?}"
                            ))
                        }
                    }
                }
                "-v" | "--volume" => o.mounts.push(MountSpec::parse_volume(&value("--volume")?)?),
                "--cwd" => o.cwd = Some(value("--cwd")?),
                "--env" => {
                    let v = value("--env")?;
                    if !v.contains('=') {
                        return Err(format!("--env expects K=V, got {v:?}"));
                    }
                    explicit_env = true;
                    o.env.push(v);
                }
                "--platform" => o.platform = Some(value("--platform")?),
                "--strace" => o.strace = true,
                "--debug-unconfined" => o.unconfined = true,
                "--log" => o.log = Some(value("--log")?),
                "--hostname" => o.hostname = value("--hostname")?,
                "--network" => {
                    o.network = match value("--network")?.as_str() {
                        "none" => net::Mode::None,
                        "host" => net::Mode::Host,
                        "sandbox" => net::Mode::Sandbox,
                        v => {
                            return Err(format!(
                                "--network expects none, sandbox or host, got {v:?}"
                            ))
                        }
                    }
                }
                "--watchdog-timeout" => {
                    let v = value("--watchdog-timeout")?;
                    o.watchdog.timeout = match v.parse::<f64>() {
                        Ok(s) if s > 0.0 && s < 1e9 => std::time::Duration::from_secs_f64(s),
                        _ => {
                            return Err(format!(
                                "--watchdog-timeout expects a positive number of seconds, got {v:?}"
                            ))
                        }
                    }
                }
                "--watchdog-action" => {
                    o.watchdog.action = match value("--watchdog-action")?.as_str() {
                        "log" => kernel::watchdog::Action::Log,
                        "panic" => kernel::watchdog::Action::Panic,
                        v => {
                            return Err(format!(
                                "--watchdog-action expects log or panic, got {v:?}"
                            ))
                        }
                    }
                }
                "--syscall-patching" => {
                    o.platform_options.syscall_patching = match value("--syscall-patching")?
                        .as_str()
                    {
                        "on" => true,
                        "off" => false,
                        v => {
                            return Err(format!("--syscall-patching expects on or off, got {v:?}"))
                        }
                    }
                }
                f if f.starts_with('-') => return Err(format!("unknown flag {f:?}")),
                _ => {
                    o.argv = args[i..].to_vec();
                    break;
                }
            }
            i += 1;
        }
        if o.argv.is_empty() {
            return Err("no command given".into());
        }
        if !explicit_env {
            o.env = std::env::vars_os()
                .map(|(k, v)| format!("{}={}", k.to_string_lossy(), v.to_string_lossy()))
                .collect();
        }
        Ok(o)
    }
}

fn host_stdio(fd: i32) -> Arc<File> {
    // SAFETY: F_DUPFD_CLOEXEC on a possibly closed fd; the result is checked.
    let dup = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
    if dup < 0 {
        // A closed standard stream reads as empty and swallows writes.
        let ops = HostFdOps::new(devnull());
        return File::new(None, abi::fs::O_RDWR, Box::new(ops));
    }
    // SAFETY: F_GETFL on the fd we just duplicated.
    let fl = unsafe { libc::fcntl(dup, libc::F_GETFL) } as u32;
    // SAFETY: dup is a fresh descriptor we own.
    let owned = unsafe { OwnedFd::from_raw_fd(dup) };
    File::new(
        None,
        fl & (abi::fs::O_ACCMODE | abi::fs::O_APPEND),
        Box::new(HostFdOps::new(owned)),
    )
}

/// An unnamed file (`O_TMPFILE`) under `dir`, for the memory file.
fn open_tmpfile(dir: &str) -> Result<OwnedFd, String> {
    let c = std::ffi::CString::new(dir).map_err(|_| "bad directory name".to_string())?;
    // SAFETY: a NUL-terminated path; the result is checked.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_TMPFILE | libc::O_RDWR | libc::O_CLOEXEC,
            0o600,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error().to_string());
    }
    // SAFETY: a fresh descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn devnull() -> OwnedFd {
    // SAFETY: opening a static path; the fd is owned below.
    let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
    // SAFETY: fresh fd (or -1, which OwnedFd must not hold: fall back to a pipe end).
    unsafe { OwnedFd::from_raw_fd(fd.max(0)) }
}

/// The vDSO pages in the memory file plus a thread keeping the time data
/// fresh.
fn setup_vdso(mf: &Arc<MemoryFile>, calibration: vdso::Calibration) -> Result<VdsoMapping, Errno> {
    let image = vdso::image();
    let image_obj = Arc::new(MemObject::new(mf.clone(), vdso::image_pages()));
    image_obj.write(0, image)?;
    image_obj.truncate(vdso::image_pages());
    let vvar = Arc::new(MemObject::new(mf.clone(), vdso::VVAR_SIZE));
    let (off, _) = vvar.range_at(0)?;
    let mut tk = calibration.finish();
    // The vvar page was just allocated in the memory file and is only
    // written by this thread and the time keeper below.
    let page = mf.raw_ptr(off, vdso::VVAR_SIZE as usize) as usize;
    // SAFETY: `page` points at a writable 4096-byte page of the memory file.
    unsafe { vdso::write_vvar(page as *mut u8, &tk.data()) };
    if tk.enabled() {
        std::thread::Builder::new()
            .name("timekeeper".into())
            .spawn(move || loop {
                std::thread::sleep(Duration::from_secs(1));
                let d = tk.refresh();
                // SAFETY: as above; the memory file outlives the process.
                unsafe { vdso::write_vvar(page as *mut u8, &d) };
            })
            .map_err(|_| Errno::EAGAIN)?;
    }
    Ok(VdsoMapping {
        vvar,
        image: image_obj,
        image_len: vdso::image_pages(),
    })
}

fn raise_nofile() {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: get/setrlimit on our own process with a valid struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) == 0 {
            r.rlim_cur = r.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        }
    }
}

/// Finds `cmd` the way a shell would, inside the sandbox.
pub(crate) fn find_command(
    vfs: &Arc<Vfs>,
    root: &Arc<vfs::dentry::Dentry>,
    cmd: &str,
    env: &[String],
    cwd: &[u8],
) -> Vec<u8> {
    if cmd.contains('/') {
        return cmd.as_bytes().to_vec();
    }
    let path = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/bin:/usr/bin:/bin");
    let base = vfs
        .resolve(root, root, cwd, true, &Creds::root())
        .unwrap_or(root.clone());
    for dir in path.split(':') {
        let cand = format!("{}/{cmd}", if dir.is_empty() { "." } else { dir });
        if let Ok(d) = vfs.resolve(root, &base, cand.as_bytes(), true, &Creds::root()) {
            if !d.inode.is_dir() {
                return cand.into_bytes();
            }
        }
    }
    cmd.as_bytes().to_vec()
}

/// An errno as the C library would say it.
fn describe(e: Errno) -> String {
    std::io::Error::from_raw_os_error(e.0).to_string()
}

fn exit_code(status: i32) -> u8 {
    if status & 0x7f == 0 {
        ((status >> 8) & 0xff) as u8
    } else {
        128 + (status & 0x7f) as u8
    }
}

/// Signals `rvisor do` passes on to the sandbox's init.
const FORWARDED: &[i32] = &[
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGWINCH,
];

/// Blocks the forwarded signals in this thread (and so in every thread
/// started after it) so that only the forwarding thread takes them.
fn block_forwarded_signals() -> libc::sigset_t {
    // SAFETY: sigset manipulation on a local set, then the thread's mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &s in FORWARDED {
            libc::sigaddset(&mut set, s);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    }
}

/// Passes host signals sent to `rvisor do` (a terminal's Ctrl-C, a
/// `kill`) to the sandbox's init process. Unlike signals from inside the
/// sandbox, these reach init even when it has no handler, so Ctrl-C ends a
/// sandboxed command as it would end it natively.
/// With a host terminal taken over, a window-size change (`SIGWINCH`)
/// is passed on as the sandbox terminal's new size instead, which signals
/// its foreground process group.
///
/// A second SIGTERM or SIGINT within [`ESCALATE_WITHIN`] of the first
/// kills the sandbox (as `docker stop` escalates): an init that ignores
/// or handles SIGTERM without exiting cannot keep `rvisor do` alive.
fn forward_signals(kernel: &Arc<Kernel>, set: libc::sigset_t, tty: Option<Arc<vfs::tty::Tty>>) {
    let k = Arc::downgrade(kernel);
    let _ = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut last_stop: Option<std::time::Instant> = None;
            loop {
                let mut sig = 0;
                // SAFETY: sigwait on a set of signals this process blocks.
                if unsafe { libc::sigwait(&set, &mut sig) } != 0 {
                    continue;
                }
                let Some(k) = k.upgrade() else { return };
                if let (libc::SIGWINCH, Some(tty)) = (sig, &tty) {
                    if let Some(w) = crate::terminal::host_winsize(0) {
                        tty.set_winsize(w);
                    }
                    continue;
                }
                if sig == libc::SIGTERM || sig == libc::SIGINT {
                    if last_stop.is_some_and(|t| t.elapsed() < ESCALATE_WITHIN) {
                        kill_sandbox(&k);
                        return;
                    }
                    last_stop = Some(std::time::Instant::now());
                }
                if let Some(init) = k.find_group(1) {
                    kernel::signal::send_to_group(
                        &init,
                        abi::signal::SigInfo::from_user(sig, abi::signal::SI_USER, 0, 0),
                    );
                }
            }
        });
}

/// How soon a second SIGTERM/SIGINT must follow the first to kill the
/// sandbox instead of being passed on.
const ESCALATE_WITHIN: std::time::Duration = std::time::Duration::from_secs(5);

/// Ends the sandbox from the host: SIGKILL to every process, and if init
/// has not ended a second later (a task stuck in the sentry), the sandbox
/// ends anyway with init's status "killed by SIGKILL"; leaving the process
/// takes every stub with it.
fn kill_sandbox(k: &Arc<Kernel>) {
    eprintln!("rvisor: second termination signal: killing the sandbox");
    k.kill_all();
    std::thread::sleep(std::time::Duration::from_secs(1));
    k.set_exit(abi::misc::wait::signaled(libc::SIGKILL, false));
}

/// The exit status of a sandbox the watchdog ended (`--watchdog-action
/// panic`): one of rvisor's own failures.
const WATCHDOG_ABORT: i32 = 125;

/// Test only: `RVISOR_TEST_STUCK_SYSCALL=NAME[:SECS]` makes every call of
/// syscall NAME first sleep SECS seconds (default 3) on the host, where
/// nothing interrupts it, so the watchdog's tests have a stuck task.
fn stuck_test_hook() -> Option<(u64, std::time::Duration)> {
    let v = std::env::var("RVISOR_TEST_STUCK_SYSCALL").ok()?;
    let (name, secs) = match v.split_once(':') {
        Some((n, s)) => (n.to_string(), s.parse::<f64>().ok()?),
        None => (v, 3.0),
    };
    let nr = syscalls::number(&name)?;
    Some((
        nr,
        std::time::Duration::from_secs_f64(secs.clamp(0.0, 600.0)),
    ))
}

pub fn run(mut o: DoOptions) -> u8 {
    kernel::phases::init();
    kernel::phases::mark("start: options parsed");
    if let Some(n) = o.cpu_limit {
        kernel::sched::limit_cpus(n);
    }
    if let Some(m) = o.memory_limit {
        kernel::limit_memory(m);
    }
    if let Some(n) = o.task_limit {
        kernel::limit_tasks(n);
    }
    // The TSC's rate is measured across the start-up below rather than
    // by a wait (see `setup_vdso`).
    let calibration = vdso::TimeKeeper::begin();
    if let Some(name) = &o.platform {
        if !platform::PLATFORMS.contains(&name.as_str()) {
            eprintln!(
                "rvisor: unknown platform {:?} (available: {})",
                name,
                platform::PLATFORMS.join(", ")
            );
            return 2;
        }
    }
    if o.unconfined {
        eprintln!(
            "rvisor: warning: --debug-unconfined: the sentry runs in the host's namespaces \
             and root, with all its privileges"
        );
    } else {
        confine::close_inherited();
    }
    if let Some(e) = o.embedding.as_mut() {
        if let Err(msg) = e.prepare() {
            eprintln!("rvisor: {msg}");
            return 125;
        }
    }
    raise_nofile();
    // Every host path the sentry uses is opened here, while the host's
    // tree is still visible to it.
    let bad_root = |e| {
        eprintln!(
            "rvisor: cannot use {:?} as the root: {}",
            o.root,
            describe(e)
        );
        125
    };
    // The root is checked here for a clear message; only the gofer opens
    // anything beneath it.
    if let Err(e) = gofer::server::open_root(&o.root) {
        return bad_root(e);
    }
    let write_through = o.overlay == Overlay::None;
    // The upper layer's memory in a file under DIR: opened now, while
    // the host's tree is visible (O_TMPFILE: it has no name, and goes
    // when the sandbox ends).
    let disk_memory = match &o.overlay {
        Overlay::File(dir) => match open_tmpfile(dir) {
            Ok(fd) => Some(fd),
            Err(e) => {
                eprintln!("rvisor: --overlay=file:{dir}: {e}");
                return 125;
            }
        },
        _ => None,
    };
    let gofer = match crate::gofer::start(&o.root, o.unconfined, write_through) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("rvisor: {e}");
            return 125;
        }
    };
    let gofer_pid = gofer.pid;
    kernel::phases::mark("start: gofer forked");
    let host_root = if write_through {
        HostRoot::connect_writable(gofer.sock)
    } else {
        HostRoot::connect(gofer.sock)
    };
    // One gofer per volume: each has only its own directory in its mount
    // namespace, and one serving a read-only volume cannot write at all.
    let mut volumes = Vec::new();
    for m in &o.mounts {
        if let MountSource::Bind {
            source, readonly, ..
        } = &m.source
        {
            match crate::gofer::start(source, o.unconfined, !readonly) {
                Ok(g) => volumes.push((g.pid, HostRoot::connect_with(g.sock, !readonly))),
                Err(e) => {
                    eprintln!("rvisor: volume {source:?}: {e}");
                    return 125;
                }
            }
        }
    }
    let log: Option<Box<dyn Write + Send>> = match &o.log {
        Some(p) => match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
        {
            Ok(f) => Some(Box::new(f)),
            Err(e) => {
                eprintln!("rvisor: cannot open log {p:?}: {e}");
                return 125;
            }
        },
        None if o.strace => Some(Box::new(std::io::stderr())),
        None => None,
    };
    let cwd = match &o.cwd {
        Some(c) => c.clone(),
        None => std::env::current_dir()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "/".into()),
    };
    // The host's standard streams, taken before the pivot (a closed one
    // becomes /dev/null).
    let host_streams: Vec<Arc<File>> = (0..3).map(host_stdio).collect();
    kernel::procfs::open_host_files();
    if o.network == net::Mode::Host {
        net::procnet::open_host_files();
    }
    if o.network == net::Mode::Sandbox {
        if let Err(e) = net::netstack::take_over() {
            eprintln!("rvisor: {e}");
            return 125;
        }
    }
    // Before any thread starts: namespaces and capabilities are per
    // thread, and threads made later inherit them.
    if !o.unconfined {
        let confined = confine::enter_namespaces(o.network)
            .and_then(|_| confine::pivot_to_empty_root())
            .and_then(|_| confine::drop_privileges());
        if let Err(e) = confined {
            eprintln!("rvisor: cannot confine the sentry: {e} (--debug-unconfined runs without)");
            return 125;
        }
    }
    kernel::phases::mark(
        "start: host files opened, namespaces entered, root pivoted, privileges dropped",
    );
    let forwarded = block_forwarded_signals();
    net::set_mode(o.network);
    if o.network == net::Mode::Host {
        // (After the mask above, which its thread inherits.)
        if let Err(e) = net::notify::start() {
            eprintln!("rvisor: cannot watch host sockets: {}", describe(e));
            return 125;
        }
    }
    if let Err(e) = net::netstack::start() {
        eprintln!("rvisor: {e}");
        return 125;
    }
    // (A thread: after the confinement above, which is per thread.)
    for (pid, sock) in std::iter::once((gofer_pid, host_root.socket()))
        .chain(volumes.iter().map(|(pid, h)| (*pid, h.socket())))
    {
        crate::gofer::watch(pid, sock, || {
            crate::terminal::restore();
            let _ = std::io::stdout().flush();
        });
    }
    kernel::phases::mark("start: network, gofer watcher");
    let mf = match disk_memory {
        Some(fd) => MemoryFile::on_disk(fd, MEMORY_FILE_SIZE),
        None => MemoryFile::new(MEMORY_FILE_SIZE),
    };
    let mf = match mf {
        Ok(m) => Arc::new(m.with_recycling(RECYCLED_MEMORY)),
        Err(e) => {
            eprintln!("rvisor: cannot create the memory file: {e}");
            return 125;
        }
    };
    // Stubs made from now on come from a process forked here, before the
    // sentry installs its seccomp filter (this thread lives as long as the
    // sandbox).
    let platform = match platform::start(o.platform.as_deref(), mf.fd(), o.platform_options) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("rvisor: {e}");
            return 125;
        }
    };
    kernel::phases::mark("start: memory file, platform chosen, stub factory forked");
    let volumes = volumes.into_iter().map(|(_, h)| h).collect();
    let vfs = match Vfs::with_hosts(Some(host_root), volumes, o.file_access, mf.clone()) {
        Ok(v) => v,
        Err(e) => return bad_root(e),
    };
    kernel::phases::mark("start: root file system");
    let vdso = match setup_vdso(&mf, calibration) {
        Ok(v) => Some(v),
        Err(e) => {
            eprintln!("rvisor: vDSO unavailable ({e}); clock calls will trap");
            None
        }
    };
    kernel::phases::mark("start: vDSO (TSC calibration finished)");
    let kernel = Kernel::new(
        platform,
        mf.clone(),
        vfs.clone(),
        vdso,
        &o.hostname,
        syscalls::dispatch,
        log,
        o.strace,
    );
    // After the kernel's own mounts (`/proc`, `/sys`), so that one may
    // be mounted over a directory of theirs, as a runtime would.
    let tree = vfs.init_tree();
    let mut volumes = vfs.volume_devs().into_iter();
    for m in &o.mounts {
        if let Err(e) = m.mount(&vfs, &tree, &mut volumes) {
            eprintln!("rvisor: {e}");
            return 125;
        }
    }
    if let Some(stuck) = stuck_test_hook() {
        let _ = kernel.stuck_test.set(stuck);
    }
    kernel::watchdog::start(
        &kernel,
        o.watchdog,
        syscalls::name,
        Box::new(|| {
            crate::terminal::restore();
            let _ = std::io::stdout().flush();
            std::process::exit(WATCHDOG_ABORT);
        }),
    );
    // The caller's directory is used when the sandbox has it, else `/`;
    // an explicit `--cwd` must exist and be a directory.
    let cwd = match vfs.resolve(&vfs.root, &vfs.root, cwd.as_bytes(), true, &Creds::root()) {
        Ok(d) if d.inode.is_dir() => cwd,
        Ok(_) if o.cwd.is_some() => {
            eprintln!("rvisor: --cwd {cwd:?}: {}", describe(Errno::ENOTDIR));
            return 125;
        }
        Err(e) if o.cwd.is_some() => {
            eprintln!("rvisor: --cwd {cwd:?}: {}", describe(e));
            return 125;
        }
        _ => "/".into(),
    };
    kernel::phases::mark("start: kernel, mounts, watchdog");
    let cmd = find_command(&vfs, &vfs.root, &o.argv[0], &o.env, cwd.as_bytes());
    let (uid, gid, groups) = match o.user.clone() {
        Some(u) => u,
        // SAFETY: getuid/getgid cannot fail.
        None => unsafe { (libc::getuid(), libc::getgid(), Vec::new()) },
    };
    let creds = kernel::process::creds_for(uid, gid, groups, o.init_extras.caps.as_ref());
    // A host terminal on stdin: the program gets a sandbox terminal for it
    // (restored when `term` drops, whichever way this returns).
    let term = crate::terminal::HostTerminal::take_over(&vfs, creds.uid);
    let stdio = Stdio {
        files: host_streams
            .into_iter()
            .zip(0..)
            .map(|(host, fd)| match &term {
                // SAFETY: isatty only queries the descriptor.
                Some(t) if unsafe { libc::isatty(fd) } == 1 => t.slave.clone(),
                _ => host,
            })
            .collect(),
        ctty: term.as_ref().map(|t| t.tty().clone()),
    };
    let argv: Vec<Vec<u8>> = o.argv.iter().map(|a| a.as_bytes().to_vec()).collect();
    let envp: Vec<Vec<u8>> = o.env.iter().map(|e| e.as_bytes().to_vec()).collect();
    if !o.unconfined {
        // After the stub factory (stubs must not carry this filter), on
        // every thread.
        let log = std::env::var_os("RVISOR_SECCOMP_LOG").is_some();
        if let Err(e) = confine::seccomp::install(log, o.network) {
            eprintln!("rvisor: cannot confine the sentry: {e} (--debug-unconfined runs without)");
            return 125;
        }
    }
    kernel::phases::mark("start: command found, seccomp installed");
    let spec = InitSpec {
        path: &cmd,
        argv,
        envp,
        cwd: cwd.as_bytes(),
        stdio,
        creds,
        extras: o.init_extras.clone(),
    };
    let started = prepare_init(&kernel, spec).and_then(|init| {
        if let Some(e) = o.embedding.as_mut() {
            if let Err(status) = e.hold(&kernel) {
                return Ok(Some(status));
            }
        }
        init.start().map(|_| None)
    });
    kernel::phases::mark("start: init exec'd and started");
    match started {
        Ok(Some(status)) => return status,
        Ok(None) => {}
        Err(e) => return exec_failed(&o.argv[0], e),
    }
    if let Some(e) = o.embedding.as_mut() {
        e.started();
    }
    if let Some(t) = &term {
        t.start_copying();
    }
    forward_signals(&kernel, forwarded, term.as_ref().map(|t| t.tty().clone()));
    let status = kernel.wait_exit();
    kernel::phases::mark("end: init's exit status known");
    kernel::phases::report(syscalls::name);
    if let Some(t) = &term {
        t.drain();
    }
    drop(term);
    let _ = std::io::stdout().flush();
    if let Some(e) = o.embedding.as_mut() {
        e.exited(status);
    }
    exit_code(status)
}

/// Reports why the init process could not be started, with the status a
/// shell would give.
fn exec_failed(arg0: &str, e: Errno) -> u8 {
    {
        let (msg, code) = match e {
            Errno::ENOENT if !arg0.contains('/') => ("command not found".to_string(), 127),
            Errno::ENOENT => ("No such file or directory".to_string(), 127),
            Errno::EACCES => ("Permission denied".to_string(), 126),
            Errno::ENOEXEC => ("Exec format error".to_string(), 126),
            Errno::ENOTDIR => ("Not a directory".to_string(), 126),
            other => (format!("cannot execute: {other}"), 126),
        };
        eprintln!("rvisor: {arg0}: {msg}");
        code
    }
}
