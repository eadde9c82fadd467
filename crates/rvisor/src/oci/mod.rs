//! The OCI runtime: runc's commands and flags (`create`, `start`,
//! `state`, `kill`, `delete`, `run`, `list`, `ps`, `spec`, `features`,
//! plus `wait`), parsed with `liboci-cli`'s definitions of them. Each
//! container is one sandbox process (`boot.rs`), reached through its
//! control socket; its state lives under `--root/<id>/` (`state.rs`).

mod boot;
mod bundle;
mod cgroup;
mod console;
mod control;
mod exec;
mod hooks;
mod log;
mod member;
mod pod;
mod reap;
mod spawn;
mod state;

use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use bundle::Bundle;
use control::Request;
use state::{Container, Record, Status};

const DEFAULT_ROOT: &str = "/var/run/rvisor";

#[derive(Parser, Debug)]
#[command(
    name = "rvisor",
    version,
    about = "rvisor: a gVisor-style sandbox; runc-compatible runtime commands",
    after_help = "rvisor do [...] -- CMD runs one command in a sandbox (rvisor do --help)."
)]
struct Cli {
    #[command(flatten)]
    global: liboci_cli::GlobalOpts,
    #[command(flatten)]
    extra: Extra,
    #[command(subcommand)]
    cmd: Cmd,
}

/// runc's global flags liboci-cli lacks, and ours.
#[derive(Args, Debug)]
struct Extra {
    /// runc: rootless mode (accepted; the sandbox needs root today).
    #[arg(long)]
    rootless: Option<String>,
    /// runc: path of criu (accepted; no checkpointing).
    #[arg(long)]
    criu: Option<String>,
    /// The sentry's platform: trap or ptrace (default: the best that works).
    #[arg(long)]
    platform: Option<String>,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    Create(liboci_cli::Create),
    Start(liboci_cli::Start),
    State(liboci_cli::State),
    Kill(Kill),
    Delete(liboci_cli::Delete),
    Run(liboci_cli::Run),
    List(liboci_cli::List),
    Ps(liboci_cli::Ps),
    Spec(liboci_cli::Spec),
    Features(liboci_cli::Features),
    /// Waits for the container's init to end; prints its exit status.
    Wait(Wait),
    Exec(liboci_cli::Exec),
    Pause(liboci_cli::Pause),
    Resume(liboci_cli::Resume),
    Events(liboci_cli::Events),
    Update(liboci_cli::Update),
    Checkpoint(liboci_cli::Checkpoint),
    /// Internal: the sandbox process of a container.
    #[command(hide = true)]
    Boot(BootArgs),
}

/// runc's `kill`: the signal is optional (SIGTERM).
#[derive(Args, Debug)]
struct Kill {
    #[arg(value_parser = clap::builder::NonEmptyStringValueParser::new(), required = true)]
    container_id: String,
    #[arg(default_value = "SIGTERM")]
    signal: String,
    /// Send the signal to every process of the container.
    #[arg(short, long)]
    all: bool,
}

#[derive(Args, Debug)]
struct Wait {
    #[arg(value_parser = clap::builder::NonEmptyStringValueParser::new(), required = true)]
    container_id: String,
}

#[derive(Args, Debug)]
struct BootArgs {
    #[arg(long)]
    log: Option<PathBuf>,
    #[arg(long)]
    log_format: Option<String>,
    #[arg(long)]
    debug: bool,
    #[arg(long)]
    bundle: PathBuf,
    #[arg(long)]
    state_dir: PathBuf,
    #[arg(long)]
    platform: Option<String>,
    /// The standard streams are a host pty to become the controlling
    /// terminal.
    #[arg(long)]
    console: bool,
    /// A session of its own (detached from the caller's terminal).
    #[arg(long)]
    detach: bool,
    /// A pod container: the state directory of the container whose
    /// sandbox runs it (this process is then its monitor, `pod.rs`).
    #[arg(long)]
    join: Option<PathBuf>,
}

/// Global flags `create` and `run` use.
struct Runtime {
    platform: Option<String>,
    /// `--systemd-cgroup`: `linux.cgroupsPath` is systemd's form.
    systemd: bool,
}

/// An error is one line on stderr (and in the log), exit status 1.
type Res = Result<ExitCode, String>;

pub fn main(args: Vec<String>) -> ExitCode {
    let cli = match Cli::try_parse_from(std::iter::once("rvisor".to_string()).chain(args)) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 1 } else { 0 });
        }
    };
    let cmd = match cli.cmd {
        Cmd::Boot(b) => return boot_main(b),
        cmd => cmd,
    };
    let g = &cli.global;
    if let Err(e) = log::init(
        g.log.as_deref(),
        g.log_format.as_deref().unwrap_or("text"),
        g.debug,
    ) {
        eprintln!("rvisor: {e}");
        return ExitCode::from(1);
    }
    if let Some(r) = &cli.extra.rootless {
        log::debug(&format!("--rootless {r}: ignored"));
    }
    if cli.extra.criu.is_some() {
        log::debug("--criu: no checkpointing, ignored");
    }
    let root = g.root.clone().unwrap_or_else(|| DEFAULT_ROOT.into());
    let rt = Runtime {
        platform: cli.extra.platform.clone(),
        systemd: g.systemd_cgroup,
    };
    let r = match cmd {
        Cmd::Create(c) => create(&root, c, &rt),
        Cmd::Start(c) => start(&root, &c.container_id),
        Cmd::State(c) => state_cmd(&root, &c.container_id),
        Cmd::Kill(c) => kill(&root, c),
        Cmd::Delete(c) => delete(&root, &c.container_id, c.force),
        Cmd::Run(c) => run(&root, c, &rt),
        Cmd::List(c) => list(&root, c),
        Cmd::Ps(c) => ps(&root, c),
        Cmd::Spec(c) => spec(c),
        Cmd::Features(_) => features(),
        Cmd::Wait(c) => wait(&root, &c.container_id),
        Cmd::Boot(_) => unreachable!("handled above"),
        Cmd::Exec(c) => exec::exec(&root, c),
        Cmd::Pause(c) => pause(&root, &c.container_id, true),
        Cmd::Resume(c) => pause(&root, &c.container_id, false),
        Cmd::Events(c) => events(&root, c),
        Cmd::Update(_) => Err("update is not supported yet".into()),
        Cmd::Checkpoint(_) => Err("checkpoint is not supported".into()),
    };
    match r {
        Ok(c) => c,
        Err(e) => {
            log::error(&e);
            ExitCode::from(1)
        }
    }
}

/// How the sandbox process's standard streams and session are set up.
enum Stdio {
    /// The caller's own, same session (`run` in the foreground).
    Inherit,
    /// The caller's own, a session of its own (`create`, `run -d`).
    Detached,
    /// A host pty slave, a session of its own with it as the terminal.
    Console(OwnedFd),
}

/// `create`'s work, shared with `run`: starts the sandbox process and
/// waits until its init is built. On any failure nothing is left.
fn create_container(
    root: &Path,
    id: &str,
    bundle_dir: &Path,
    console_socket: Option<&Path>,
    pid_file: Option<&Path>,
    detach: bool,
    rt: &Runtime,
) -> Result<(Container, std::process::Child), String> {
    let b = Bundle::load(bundle_dir)?;
    let sandbox = pod::join_target(root, id, &b.spec);
    let rec = Record {
        id: id.to_string(),
        bundle: b.dir.to_string_lossy().into_owned(),
        rootfs: b.rootfs.to_string_lossy().into_owned(),
        created: log::rfc3339(std::time::SystemTime::now()),
        owner: String::new(),
        oci_version: b.spec.version().clone(),
        annotations: b
            .spec
            .annotations()
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        creating: true,
        hooks: serde_json::to_value(b.spec.hooks()).unwrap_or_default(),
        sandbox,
        ..Default::default()
    };
    let mut c = Container::create(root, rec)?;
    match make_cgroup(&b, id, rt.systemd) {
        Ok(cg) => c.rec.cgroup = cg,
        Err(e) => {
            let _ = c.remove();
            return Err(e);
        }
    }
    // What the sandbox process leaves when it dies becomes ours, so a
    // failure below ends and reaps all of it.
    reap::become_subreaper();
    let mut child = match start_sandbox(
        &mut c,
        &b,
        console_socket,
        pid_file,
        detach,
        rt.platform.clone(),
    ) {
        Ok(ch) => ch,
        Err(e) => {
            let _ = c.remove();
            return Err(e);
        }
    };
    let st = c.oci_state(Status::Creating);
    let hooked = ["prestart", "createRuntime", "createContainer"]
        .into_iter()
        .try_for_each(|kind| hooks::run(&c.rec.hooks, kind, &st));
    if let Err(e) = hooked {
        reap::end(&mut child);
        let _ = c.remove();
        return Err(e);
    }
    Ok((c, child))
}

/// The container's cgroup (`cgroup.rs`), made with the spec's limits
/// written into it. A host without usable cgroups is a warning when the
/// spec limits nothing, as there is nothing to enforce.
fn make_cgroup(b: &Bundle, id: &str, systemd: bool) -> Result<Option<cgroup::Cgroup>, String> {
    let linux = b.spec.linux().as_ref();
    let path = linux.and_then(|l| l.cgroups_path().as_ref());
    let path = path.map(|p| p.to_string_lossy().into_owned());
    let inner = cgroup::resolve(path.as_deref(), systemd, id)?;
    let res = linux.and_then(|l| l.resources().as_ref());
    let limits = res.map(cgroup::Resources::from_spec).unwrap_or_default();
    match cgroup::Cgroup::create(&inner, &limits) {
        Ok(cg) => Ok(Some(cg)),
        Err(e) if limits == cgroup::Resources::default() => {
            log::warn(&format!(
                "{e}; the container runs without a cgroup of its own"
            ));
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Lets init run, with the `startContainer` hooks before and the
/// `poststart` ones after; a failing hook kills the container.
fn start_container(c: &mut Container) -> Result<(), String> {
    let hooks = c.rec.hooks.clone();
    if let Err(e) = hooks::run(&hooks, "startContainer", &c.oci_state(Status::Created)) {
        c.kill_sandbox();
        return Err(e);
    }
    c.call(Request::Start)?;
    c.rec.started = true;
    c.save()?;
    if let Err(e) = hooks::run(&hooks, "poststart", &c.oci_state(Status::Running)) {
        c.kill_sandbox();
        return Err(e);
    }
    Ok(())
}

/// Ends the sandbox, runs the `poststop` hooks (a failure is a warning,
/// as the spec says) and removes the container's state.
fn destroy(c: Container) -> Result<(), String> {
    if c.rec.sandbox.is_some() {
        // A pod container: its processes end and its files are let go in
        // the pod's sandbox, which goes on (its id free again); then its
        // monitor ends. (Also once it has stopped: the sandbox still
        // holds it.)
        if let Err(e) = c.call(Request::Destroy) {
            log::debug(&format!("destroying {} in its pod: {e}", c.rec.id));
        }
    }
    c.kill_sandbox();
    if let Err(e) = hooks::run(&c.rec.hooks, "poststop", &c.oci_state(Status::Stopped)) {
        log::warn(&e);
    }
    c.remove()
}

fn start_sandbox(
    c: &mut Container,
    b: &Bundle,
    console_socket: Option<&Path>,
    pid_file: Option<&Path>,
    detach: bool,
    platform: Option<String>,
) -> Result<std::process::Child, String> {
    let stdio = if b.terminal() {
        let Some(sock) = console_socket else {
            if detach {
                return Err(
                    "cannot allocate tty if rvisor will detach without setting console socket"
                        .into(),
                );
            }
            // The caller's terminal, as `rvisor do` uses it.
            return spawn_and_wait(c, b, Stdio::Inherit, pid_file, platform);
        };
        let (master, slave) = console::open_pty(b.console_size())?;
        console::send_fd(sock, &master)?;
        Stdio::Console(slave)
    } else {
        if console_socket.is_some() {
            return Err("--console-socket given but process.terminal is false".into());
        }
        if detach {
            Stdio::Detached
        } else {
            Stdio::Inherit
        }
    };
    c.rec.creating = true;
    spawn_and_wait(c, b, stdio, pid_file, platform)
}

fn spawn_and_wait(
    c: &mut Container,
    b: &Bundle,
    stdio: Stdio,
    pid_file: Option<&Path>,
    platform: Option<String>,
) -> Result<std::process::Child, String> {
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return Err(format!("cannot find the rvisor binary: {e}")),
    };
    // The sandbox process joins the container's cgroup before it runs
    // anything: every process it makes (gofers, stubs) is in it too.
    let join = match &c.rec.cgroup {
        Some(cg) => cg.procs_files()?,
        None => Vec::new(),
    };
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("boot")
        .arg("--bundle")
        .arg(&b.dir)
        .arg("--state-dir")
        .arg(&c.dir);
    let pod = c.rec.sandbox.is_some();
    if pod {
        // A pod container: this process is its monitor, the pod's
        // sandbox runs it.
        cmd.arg("--join").arg(c.route().dir);
    }
    if let Some(p) = &platform {
        cmd.arg("--platform").arg(p);
    }
    // The sandbox logs where this command does.
    cmd.args(log::boot_args());
    let (session, ctty) = match stdio {
        Stdio::Inherit => (false, false),
        Stdio::Detached => {
            cmd.arg("--detach");
            (true, false)
        }
        Stdio::Console(slave) => {
            cmd.arg("--console");
            let dup = |f: &OwnedFd| f.try_clone().map(std::process::Stdio::from);
            match (dup(&slave), dup(&slave)) {
                (Ok(a), Ok(b2)) => {
                    cmd.stdin(a)
                        .stdout(b2)
                        .stderr(std::process::Stdio::from(slave));
                }
                _ => return Err("cannot pass the console".into()),
            }
            (true, true)
        }
    };
    // SAFETY: only async-signal-safe calls (write, setsid, ioctl) between
    // fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            cgroup::join_self(&join)?;
            if session && libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if ctty && libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = match cmd.spawn() {
        Ok(ch) => ch,
        Err(e) => return Err(format!("cannot start the sandbox: {e}")),
    };
    let pid = child.id() as i32;
    c.rec.pid = pid;
    c.rec.starttime = state::starttime(pid).unwrap_or(0);
    // The handshake: the control server answers once init is built.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let ready = loop {
        if let Ok(Some(st)) = child.try_wait() {
            break Err(format!(
                "the sandbox failed while creating the container ({})",
                describe_exit(st)
            ));
        }
        if std::time::Instant::now() > deadline {
            break Err("the sandbox did not get ready within 60 s".into());
        }
        if pod || c.dir.join(control::SOCKET).exists() {
            match c.call(Request::Created) {
                Ok(_) => break Ok(()),
                // The sandbox died mid-call: its status says why.
                Err(_) if matches!(child.try_wait(), Ok(Some(_))) => continue,
                Err(_) => {}
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    let recorded = ready.and_then(|_| {
        c.rec.creating = false;
        c.save()?;
        match pid_file {
            Some(p) => write_pid_file(p, pid),
            None => Ok(()),
        }
    });
    if let Err(e) = recorded {
        reap::end(&mut child);
        return Err(e);
    }
    Ok(child)
}

/// Writes `--pid-file` atomically, as runc: a reader never sees an empty
/// file.
fn write_pid_file(p: &Path, pid: i32) -> Result<(), String> {
    let tmp = p.with_extension("rvisor-tmp");
    std::fs::write(&tmp, pid.to_string())
        .and_then(|_| std::fs::rename(&tmp, p))
        .map_err(|e| format!("cannot write pid file {}: {e}", p.display()))
}

/// A wait status as a shell's exit status.
fn exit_code(status: i32) -> u8 {
    if status & 0x7f == 0 {
        ((status >> 8) & 0xff) as u8
    } else {
        128 + (status & 0x7f) as u8
    }
}

fn describe_exit(st: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (st.code(), st.signal()) {
        (Some(c), _) => format!("exit status {c}"),
        (_, Some(s)) => format!("killed by signal {s}"),
        _ => "ended".into(),
    }
}

fn create(root: &Path, c: liboci_cli::Create, rt: &Runtime) -> Res {
    note_ignored(c.no_pivot, c.no_new_keyring, c.preserve_fds);
    create_container(
        root,
        &c.container_id,
        &c.bundle,
        c.console_socket.as_deref(),
        c.pid_file.as_deref(),
        true,
        rt,
    )?;
    Ok(ExitCode::SUCCESS)
}

fn note_ignored(no_pivot: bool, no_new_keyring: bool, preserve_fds: i32) {
    if no_pivot {
        log::debug("--no-pivot: the sentry always pivots into an empty root; ignored");
    }
    if no_new_keyring {
        log::debug("--no-new-keyring: the sandbox has no host keyring; ignored");
    }
    if preserve_fds > 0 {
        log::warn("--preserve-fds: not supported yet, no descriptor is passed");
    }
}

fn start(root: &Path, id: &str) -> Res {
    let mut c = Container::open(root, id)?;
    match c.status() {
        Status::Created => {}
        Status::Stopped => return Err("cannot start a container that has stopped".into()),
        Status::Running | Status::Paused => {
            return Err("cannot start an already running container".into())
        }
        Status::Creating => return Err("cannot start a container that is being created".into()),
    }
    start_container(&mut c)?;
    Ok(ExitCode::SUCCESS)
}

fn print_json<T: serde::Serialize>(v: &T) {
    match serde_json::to_string_pretty(v) {
        Ok(s) => println!("{s}"),
        Err(e) => log::error(&e.to_string()),
    }
}

fn state_cmd(root: &Path, id: &str) -> Res {
    let c = Container::open(root, id)?;
    print_json(&c.oci_state(c.status()));
    Ok(ExitCode::SUCCESS)
}

/// A signal by name (`KILL`, `SIGKILL`) or number.
fn parse_signal(s: &str) -> Result<i32, String> {
    if let Ok(n) = s.parse::<i32>() {
        // 0: only whether the container could be signalled.
        return if (0..=64).contains(&n) {
            Ok(n)
        } else {
            Err(format!("invalid signal {s:?}"))
        };
    }
    let name = s.to_ascii_uppercase();
    let name = name.strip_prefix("SIG").unwrap_or(&name);
    const NAMES: [&str; 31] = [
        "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2",
        "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG",
        "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
    ];
    if let Some(i) = NAMES.iter().position(|n| *n == name) {
        return Ok(i as i32 + 1);
    }
    match name {
        "IOT" => Ok(libc::SIGABRT),
        "POLL" => Ok(libc::SIGIO),
        "RTMIN" => Ok(34),
        "RTMAX" => Ok(64),
        _ => Err(format!("invalid signal {s:?}")),
    }
}

fn kill(root: &Path, k: Kill) -> Res {
    let sig = parse_signal(&k.signal)?;
    let c = Container::open(root, &k.container_id)?;
    match c.status() {
        Status::Created | Status::Running | Status::Paused => {}
        _ => return Err("container not running".into()),
    }
    c.call(Request::Signal {
        signal: sig,
        all: k.all,
        pid: None,
    })?;
    Ok(ExitCode::SUCCESS)
}

fn delete(root: &Path, id: &str, force: bool) -> Res {
    let c = match Container::open(root, id) {
        Ok(c) => c,
        Err(_) if force => {
            // runc: forcing away a container that is not there succeeds
            // (and removes what a failed create may have left).
            if state::valid_id(id) {
                let _ = std::fs::remove_dir_all(root.join(id));
            }
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => return Err(e),
    };
    // Forced: not asking the sandbox, which may not answer (stopped).
    match if force { Status::Stopped } else { c.status() } {
        Status::Stopped | Status::Created => {}
        s => {
            return Err(format!(
                "cannot delete container {id} that is not stopped: {}",
                s.as_str()
            ))
        }
    }
    destroy(c)?;
    Ok(ExitCode::SUCCESS)
}

fn run(root: &Path, r: liboci_cli::Run, rt: &Runtime) -> Res {
    note_ignored(r.no_pivot, r.no_new_keyring, r.preserve_fds);
    if r.no_subreaper {
        log::debug("--no-subreaper: ignored");
    }
    // The sandbox forwards signals it gets; so does this process, to it,
    // and it outlives the sandbox to clean up.
    let forwarded = block_signals();
    let (mut c, mut child) = create_container(
        root,
        &r.container_id,
        &r.bundle,
        r.console_socket.as_deref(),
        r.pid_file.as_deref(),
        r.detach,
        rt,
    )?;
    if let Err(e) = start_container(&mut c) {
        reap::end(&mut child);
        let _ = destroy(c);
        return Err(e);
    }
    if r.detach {
        return Ok(ExitCode::SUCCESS);
    }
    let id = c.rec.id.clone();
    // Not holding the lock while the container runs.
    drop(c);
    forward_to(child.id() as i32, forwarded);
    let st = child
        .wait()
        .map_err(|e| format!("waiting for the sandbox: {e}"))?;
    use std::os::unix::process::ExitStatusExt;
    let code = st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0)) as u8;
    // The gofer and stub factory end with the sandbox process: reaped
    // here, so nothing of the container outlives `run`.
    reap::reap_adopted();
    if !r.keep {
        if let Ok(c) = Container::open(root, &id) {
            let _ = destroy(c);
        }
    }
    Ok(ExitCode::from(code))
}

/// Signals `run` passes on to the sandbox process.
const FORWARDED: [i32; 5] = [
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGINT,
];

fn block_signals() -> libc::sigset_t {
    // SAFETY: sigset manipulation on a local set, then this thread's mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in FORWARDED {
            libc::sigaddset(&mut set, s);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    }
}

fn forward_to(pid: i32, set: libc::sigset_t) {
    // On a terminal, Ctrl-C reaches the sandbox process directly (same
    // process group): passing it on too would count twice.
    // SAFETY: isatty only queries the descriptor.
    let tty = unsafe { libc::isatty(0) } == 1;
    on_signals(set, move |sig| {
        if !(tty && sig == libc::SIGINT) {
            // SAFETY: kill of our own child, which we have not reaped.
            unsafe { libc::kill(pid, sig) };
        }
    });
}

/// Calls `f` with each signal of `set` (blocked by `block_signals`) this
/// process gets, on a thread of its own.
fn on_signals(set: libc::sigset_t, f: impl Fn(i32) + Send + 'static) {
    let _ = std::thread::Builder::new()
        .name("forward".into())
        .spawn(move || loop {
            let mut sig = 0;
            // SAFETY: sigwait on signals this process blocks.
            if unsafe { libc::sigwait(&set, &mut sig) } == 0 {
                f(sig);
            }
        });
}

fn list(root: &Path, l: liboci_cli::List) -> Res {
    let mut states = Vec::new();
    for id in state::ids(root) {
        if let Ok(c) = Container::open(root, &id) {
            states.push(c.oci_state(c.status()));
        }
    }
    if l.quiet {
        for s in &states {
            println!("{}", s.id);
        }
        return Ok(ExitCode::SUCCESS);
    }
    match l.format.as_str() {
        "json" => println!("{}", serde_json::to_string(&states).unwrap_or_default()),
        "table" => {
            let rows: Vec<[String; 6]> = std::iter::once(
                ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from),
            )
            .chain(states.iter().map(|s| {
                [
                    s.id.clone(),
                    s.pid.to_string(),
                    s.status.to_string(),
                    s.bundle.clone(),
                    s.created.clone(),
                    "root".into(),
                ]
            }))
            .collect();
            print_table(&rows);
        }
        f => return Err(format!("invalid format option {f:?}")),
    }
    Ok(ExitCode::SUCCESS)
}

/// Columns padded as Go's tabwriter(minwidth 12, padding 3) does for runc.
fn print_table<const N: usize>(rows: &[[String; N]]) {
    let mut width = [12usize; N];
    for r in rows {
        for (w, cell) in width.iter_mut().zip(r) {
            *w = (*w).max(cell.len() + 3);
        }
    }
    for r in rows {
        let mut line = String::new();
        for (i, cell) in r.iter().enumerate() {
            if i + 1 == N {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}", w = width[i]));
            }
        }
        println!("{line}");
    }
}

/// `pause` (`resume`): the sandbox's kernel stops (restarts) running
/// every task of the container.
fn pause(root: &Path, id: &str, pause: bool) -> Res {
    let c = Container::open(root, id)?;
    match (c.status(), pause) {
        // runc pauses a created container too (its cgroup is frozen).
        (Status::Running | Status::Created, true) => c.call(Request::Pause)?,
        (Status::Paused, false) => c.call(Request::Resume)?,
        (_, true) => return Err("container not running".into()),
        (_, false) => return Err("container not paused".into()),
    };
    Ok(ExitCode::SUCCESS)
}

/// `events`: runc's JSON lines of type "stats", once (`--stats`) or every
/// `--interval` seconds until the container ends.
fn events(root: &Path, e: liboci_cli::Events) -> Res {
    let dir = {
        let c = Container::open(root, &e.container_id)?;
        if matches!(c.status(), Status::Stopped) {
            return Err("container not running".into());
        }
        c.route()
    };
    loop {
        let v = match dir.call(Request::Stats) {
            Ok(mut v) => {
                // The host's accounting of the sandbox, where there is one.
                let cg = Container::open(root, &e.container_id)
                    .ok()
                    .and_then(|c| c.rec.cgroup);
                if let Some(cg) = cg {
                    let (cpu, mem) = cg.stats();
                    v["cgroup"] = serde_json::json!({ "cpu": cpu, "memory": mem });
                }
                v
            }
            // Gone while streaming: the stream ends, as runc's.
            Err(_) if !e.stats => return Ok(ExitCode::SUCCESS),
            Err(err) => return Err(err),
        };
        println!("{}", stats_event(&e.container_id, &v));
        if e.stats {
            return Ok(ExitCode::SUCCESS);
        }
        std::thread::sleep(std::time::Duration::from_secs(e.interval.max(1) as u64));
    }
}

/// A stats event in runc's shape (`types.Event` with `types.Stats`, the
/// fields runc fills on cgroup v2): what the sentry accounts for is
/// filled in, the rest is zero or unlimited.
fn stats_event(id: &str, v: &serde_json::Value) -> serde_json::Value {
    let cpu = v["cpu_ns"].as_u64().unwrap_or(0);
    let mem = v["memory"].as_u64().unwrap_or(0);
    let ncpus = v["cpus"].as_u64().unwrap_or(1);
    // cgroup v2's "max", as runc reports it.
    const UNLIMITED: u64 = 9223372036854771712;
    let zero = serde_json::json!({ "limit": 0, "usage": 0, "max": 0, "failcnt": 0 });
    let mut pids = serde_json::json!({ "current": v["pids"].as_u64().unwrap_or(0) });
    if let Some(l) = v["pids_limit"].as_u64().filter(|&l| l > 0) {
        pids["limit"] = l.into();
    }
    let mut e = serde_json::json!({
        "type": "stats",
        "id": id,
        "data": {
            "cpu": {
                "usage": {
                    "total": cpu, "percpu": [cpu], "percpu_kernel": [0], "percpu_user": [cpu],
                    "kernel": 0, "user": cpu,
                },
                "throttling": {},
            },
            "cpuset": {
                "cpus": (0..ncpus).collect::<Vec<_>>(), "mems": [0],
                "cpu_exclusive": 0, "mem_hardwall": 0, "mem_exclusive": 0,
                "memory_migrate": 0, "memory_spread_page": 0, "memory_spread_slab": 0,
                "memory_pressure": 0, "sched_load_balance": 1, "sched_relax_domain_level": -1,
            },
            "memory": {
                "usage": { "limit": UNLIMITED, "usage": mem, "max": mem, "failcnt": 0 },
                "swap": zero,
                "kernel": zero,
                "kernelTCP": zero,
                "raw": {},
            },
            "pids": pids,
            "blkio": {},
            "hugetlb": {},
            "intel_rdt": {},
            "network_interfaces": null,
        },
    });
    if let Some(cg) = v.get("cgroup") {
        e["data"]["cpu"] = cg["cpu"].clone();
        e["data"]["memory"] = cg["memory"].clone();
    }
    e
}

fn ps(root: &Path, p: liboci_cli::Ps) -> Res {
    let c = Container::open(root, &p.container_id)?;
    if c.status() == Status::Stopped {
        return Err("container not running".into());
    }
    if !p.ps_options.is_empty() {
        log::debug("ps options: the sandbox's processes are listed by the sentry; ignored");
    }
    let v = c.call(Request::Ps)?;
    let procs = v["processes"].as_array().cloned().unwrap_or_default();
    match p.format.as_str() {
        // runc: the pids, as a JSON array.
        "json" => println!(
            "{}",
            serde_json::Value::Array(procs.iter().map(|p| p["pid"].clone()).collect())
        ),
        // runc's is `ps -ef` filtered to the container's processes: the
        // same columns, the sandbox's pids.
        "table" => {
            println!(
                "{:<8} {:>7} {:>7} {:>2} {:<5} {:<8} {:>8} CMD",
                "UID", "PID", "PPID", "C", "STIME", "TTY", "TIME"
            );
            for p in &procs {
                let uid = match p["uid"].as_u64() {
                    Some(0) => "root".to_string(),
                    Some(u) => u.to_string(),
                    None => "?".into(),
                };
                let secs = p["cpu_ns"].as_u64().unwrap_or(0) / 1_000_000_000;
                let started = p["started"].as_i64().unwrap_or(0);
                println!(
                    "{uid:<8} {:>7} {:>7} {:>2} {:<5} {:<8} {:02}:{:02}:{:02} {}",
                    p["pid"].as_i64().unwrap_or(0),
                    p["ppid"].as_i64().unwrap_or(0),
                    0,
                    log::clock(started),
                    p["tty"].as_str().unwrap_or("?"),
                    secs / 3600,
                    secs / 60 % 60,
                    secs % 60,
                    p["cmd"].as_str().unwrap_or("")
                );
            }
        }
        f => return Err(format!("invalid format option {f:?}")),
    }
    Ok(ExitCode::SUCCESS)
}

fn spec(s: liboci_cli::Spec) -> Res {
    let dir = s.bundle.unwrap_or_else(|| ".".into());
    let path = dir.join("config.json");
    if path.exists() {
        return Err("File config.json exists. Remove it first.".into());
    }
    let spec = if s.rootless {
        // SAFETY: geteuid/getegid cannot fail.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        oci_spec::runtime::Spec::rootless(uid, gid)
    } else {
        oci_spec::runtime::Spec::default()
    };
    let body = serde_json::to_string_pretty(&spec).map_err(|e| e.to_string())?;
    std::fs::write(&path, body + "\n")
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(ExitCode::SUCCESS)
}

fn features() -> Res {
    let v = serde_json::json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": "1.2.0",
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
        "mountOptions": [],
        "linux": {
            "namespaces": ["ipc", "mount", "network", "pid", "uts"],
            "capabilities": bundle::capability_names(),
            "cgroup": { "v1": true, "v2": true, "systemd": false, "systemdUser": false },
            "seccomp": { "enabled": false },
            "apparmor": { "enabled": false },
            "selinux": { "enabled": false },
        },
        "annotations": {
            "org.opencontainers.runc.version": "none (rvisor)",
            "dev.rvisor.version": env!("CARGO_PKG_VERSION"),
        },
    });
    print_json(&v);
    Ok(ExitCode::SUCCESS)
}

fn wait(root: &Path, id: &str) -> Res {
    let c = Container::open(root, id)?;
    let route = c.route();
    let alive = c.alive();
    // Not holding the lock while waiting.
    drop(c);
    let status = match alive.then(|| route.call(Request::Wait)) {
        Some(Ok(v)) => v["status"].as_i64().unwrap_or(0) as i32,
        _ => Container::open(root, id)?
            .exit_status()
            .ok_or("the container ended without an exit status")?,
    };
    let code = exit_code(status);
    println!("{}", serde_json::json!({ "id": id, "exitStatus": code }));
    Ok(ExitCode::SUCCESS)
}

fn boot_main(b: BootArgs) -> ExitCode {
    if let Err(e) = log::init(
        b.log.as_deref(),
        b.log_format.as_deref().unwrap_or("text"),
        b.debug,
    ) {
        eprintln!("rvisor: {e}");
        return ExitCode::from(125);
    }
    let bundle = match Bundle::load(&b.bundle) {
        Ok(x) => x,
        Err(e) => {
            log::error(&e);
            return ExitCode::from(125);
        }
    };
    let _ = (b.console, b.detach);
    if let Some(sandbox) = &b.join {
        return pod::monitor(&bundle, &b.state_dir, sandbox);
    }
    let mut args = vec!["--".to_string(), "true".to_string()];
    if let Some(p) = &b.platform {
        args.splice(0..0, ["--platform".to_string(), p.clone()]);
    }
    let mut o = match crate::sandbox::DoOptions::parse(&args) {
        Ok(o) => o,
        Err(e) => {
            log::error(&e);
            return ExitCode::from(125);
        }
    };
    bundle.apply(&mut o);
    o.embedding = Some(Box::new(boot::Boot::new(b.state_dir)));
    ExitCode::from(crate::sandbox::run(o))
}
