//! Differential test harness: runs programs natively and inside the sandbox
//! (`rvisor do`) and requires identical stdout bytes and exit status.
//!
//! Cases (one libtest-mimic trial each, so `cargo test` and `cargo nextest`
//! list and run them individually):
//!
//! * `c::NAME::PLATFORM` — every `tests/c/*.c`, compiled once per run with
//!   the system `cc` into a temporary directory under /tmp. Header lines:
//!   `// difftest: static`, `// difftest: cflags ...`,
//!   `// difftest: args A B C`, `// difftest: stdin TEXT` (escapes `\n`,
//!   `\t`, `\\`; otherwise stdin is /dev/null) and
//!   `// difftest: platforms P1 P2` (restrict to these platforms),
//!   `// difftest: network host` (also run with `--network=host`, as
//!   `c::NAME::host::PLATFORM`),
//!   `// difftest: pending REASON` (listed as ignored until the work lands),
//!   `// difftest: setup A B` (before each of the two runs, the program is
//!   run natively with these arguments in the working directory, to make
//!   files the sandbox then finds on the host).
//! * `real::NAME::PLATFORM` — real programs (shell, coreutils, python,
//!   perl) from the table in [`real_cases`], plus sandbox-only checks.
//! * `sandbox::NAME::PLATFORM` — sandbox-only assertions.
//! * `cli::NAME` — command-line behaviour of `rvisor` itself.
//! * `overlay::NAME::PLATFORM` — where `--overlay` modes put the sandbox's
//!   changes (`tests/overlay/mod.rs`).
//! * `mounts::NAME::PLATFORM` — mounts `rvisor do` adds over the root
//!   (`--tmpfs`; `tests/mounts/mod.rs`).
//! * `oci::script::PLATFORM` — `scripts/oci-test.sh`: the runc-compatible
//!   commands on a busybox bundle, compared with `runc` on the same bundle.
//! * `oci::docker` — `scripts/docker-test.sh`: Docker and containerd (a
//!   daemon of the test's own) with `rvisor` as their runtime.
//! * `sweep::ci::PLATFORM` — `scripts/stress-ng-sweep.sh --ci`: the stress-ng
//!   stressors that pass in the sandbox today must keep passing.
//!
//! Environment: `RVISOR_PLATFORMS` (comma-separated, default `ptrace,trap`),
//! `RVISOR_BIN` (binary under test, default the `rvisor` bin target) and
//! `RVISOR_DO_ARGS` (more `rvisor do` options for the differential runs,
//! e.g. `--overlay=none`).

use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use libtest_mimic::{Arguments, Failed, Trial};

mod escape;
mod mounts;
mod network;
mod overlay;

/// Per-run timeout; the whole process group is killed after it.
const TIMEOUT: Duration = Duration::from_secs(30);
/// How much of the sandbox's stderr a failure message shows.
const STDERR_LIMIT: usize = 4096;
/// The fixed environment of every run, native and sandboxed.
const TEST_ENV: &[(&str, &str)] = &[
    (
        "PATH",
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ),
    ("HOME", "/"),
    ("LANG", "C"),
    ("LC_ALL", "C"),
    ("TZ", "UTC"),
    ("DIFFTEST", "1"),
];

fn main() {
    let args = Arguments::from_args();
    let mut trials = Vec::new();
    let platforms = platforms();
    c_trials(&platforms, &mut trials);
    real_trials(&platforms, &mut trials);
    escape::trials(&platforms, &mut trials);
    network::trials(&platforms, &mut trials);
    overlay::trials(&platforms, &mut trials);
    mounts::trials(&platforms, &mut trials);
    sweep_trials(&platforms, &mut trials);
    oci_trials(&platforms, &mut trials);
    let conclusion = libtest_mimic::run(&args, trials);
    if let Some(dir) = SCRATCH.get() {
        let _ = std::fs::remove_dir_all(dir);
    }
    conclusion.exit();
}

// ---------------------------------------------------------------------------
// Configuration and scratch space
// ---------------------------------------------------------------------------

/// Registers test `NAME::PLATFORM`, running `f(platform)`.
fn platform_trial(
    trials: &mut Vec<Trial>,
    name: &str,
    platform: &str,
    f: fn(&str) -> Result<(), Failed>,
) {
    let p = platform.to_string();
    trials.push(Trial::test(format!("{name}::{platform}"), move || f(&p)));
}

fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

fn rvisor_bin() -> PathBuf {
    match std::env::var_os("RVISOR_BIN") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_rvisor")),
    }
}

fn platforms() -> Vec<String> {
    let raw = std::env::var("RVISOR_PLATFORMS").unwrap_or_default();
    let list: Vec<String> = raw
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    if list.is_empty() {
        vec!["ptrace".to_string(), "trap".to_string()]
    } else {
        list
    }
}

static SCRATCH: OnceLock<PathBuf> = OnceLock::new();

/// The per-run temporary directory. It must be under /tmp: the sandbox's
/// root is the host's /, so binaries and working directories created here
/// are visible inside it. Removed when the run ends.
fn scratch() -> &'static Path {
    SCRATCH.get_or_init(|| {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = PathBuf::from(format!(
            "/tmp/rvisor-difftest-{}-{nanos:x}",
            std::process::id()
        ));
        std::fs::create_dir_all(dir.join("bin")).expect("create scratch dir under /tmp");
        dir
    })
}

/// A fresh, empty working directory for one run.
fn fresh_workdir(label: &str) -> Result<PathBuf, Failed> {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = scratch().join("work").join(format!("{label}-{n}"));
    std::fs::create_dir_all(&dir)
        .map_err(|e| Failed::from(format!("cannot create {}: {e}", dir.display())))?;
    Ok(dir)
}

// ---------------------------------------------------------------------------
// Running a command with a timeout
// ---------------------------------------------------------------------------

#[derive(Debug)]
struct RunResult {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    /// Exit code, or 128+N when killed by signal N. None on timeout.
    status: Option<i32>,
    /// Set when output pipes stayed open after the process exited.
    note: Option<String>,
}

/// Runs `argv` with the fixed test environment, in `cwd`, with `stdin`
/// (None = /dev/null), in its own process group, with only fds 0-2 open.
fn run_cmd(argv: &[OsString], cwd: &Path, stdin: Option<&[u8]>) -> Result<RunResult, Failed> {
    run_cmd_within(argv, cwd, stdin, TIMEOUT)
}

/// [`run_cmd`] with another timeout than [`TIMEOUT`].
fn run_cmd_within(
    argv: &[OsString],
    cwd: &Path,
    stdin: Option<&[u8]>,
    timeout: Duration,
) -> Result<RunResult, Failed> {
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .env_clear()
        .envs(TEST_ENV.iter().copied())
        .current_dir(cwd)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    // SAFETY: the closure only makes async-signal-safe system calls
    // (close_range, fcntl) between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            // Mark every inherited fd above stderr close-on-exec so the
            // program sees the same fd table natively and in the sandbox.
            const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
            let r = libc::syscall(
                libc::SYS_close_range,
                3 as libc::c_uint,
                libc::c_uint::MAX,
                CLOSE_RANGE_CLOEXEC,
            );
            if r != 0 {
                for fd in 3..4096 {
                    libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
                }
            }
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| Failed::from(format!("cannot spawn {}: {e}", argv[0].to_string_lossy())))?;

    if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
        let data = data.to_vec();
        thread::spawn(move || {
            let _ = pipe.write_all(&data);
        });
    }
    let out_rx = spawn_reader(child.stdout.take());
    let err_rx = spawn_reader(child.stderr.take());

    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) if Instant::now() >= deadline => {
                // Kill the whole process group while the leader is still
                // unreaped, so the group id cannot have been reused.
                // SAFETY: plain kill(2) on our own child's process group.
                unsafe {
                    libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL);
                }
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(format!("wait failed: {e}").into()),
        }
    };

    let mut note = None;
    let mut collect =
        |rx: mpsc::Receiver<Vec<u8>>, what: &str| match rx.recv_timeout(Duration::from_secs(5)) {
            Ok(v) => v,
            Err(_) => {
                note = Some(format!(
                    "{what} was still held open by a leftover process 5 s after exit"
                ));
                Vec::new()
            }
        };
    let stdout = collect(out_rx, "stdout");
    let stderr = collect(err_rx, "stderr");
    let status = status.map(|st| match (st.code(), st.signal()) {
        (Some(code), _) => code,
        (None, Some(sig)) => 128 + sig,
        (None, None) => -1,
    });
    Ok(RunResult {
        stdout,
        stderr,
        status,
        note,
    })
}

fn spawn_reader<R: Read + Send + 'static>(pipe: Option<R>) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut buf);
        }
        let _ = tx.send(buf);
    });
    rx
}

/// `rvisor do --platform P --cwd CWD --env K=V... -- ARGV...`
fn sandbox_argv(platform: &str, cwd: &Path, argv: &[OsString]) -> Vec<OsString> {
    let mut v: Vec<OsString> = vec![
        rvisor_bin().into(),
        "do".into(),
        "--platform".into(),
        platform.into(),
        "--cwd".into(),
        cwd.into(),
    ];
    for (k, val) in TEST_ENV {
        v.push("--env".into());
        v.push(format!("{k}={val}").into());
    }
    // RVISOR_DO_ARGS: more options for every run, e.g. `--overlay=none`
    // to run the C suite with writes going through to the host as they
    // do natively.
    if let Some(extra) = std::env::var_os("RVISOR_DO_ARGS") {
        v.extend(
            extra
                .to_string_lossy()
                .split_whitespace()
                .map(OsString::from),
        );
    }
    v.push("--".into());
    v.extend(argv.iter().cloned());
    v
}

fn status_str(s: Option<i32>) -> String {
    match s {
        Some(s) if s > 128 => format!("{s} (signal {})", s - 128),
        Some(s) => s.to_string(),
        None => format!(
            "timed out after {} s (process group killed)",
            TIMEOUT.as_secs()
        ),
    }
}

fn truncated(bytes: &[u8], limit: usize) -> String {
    let s = String::from_utf8_lossy(&bytes[..bytes.len().min(limit)])
        .trim_end()
        .to_string();
    if bytes.len() > limit {
        format!("{s}\n[... {} more bytes truncated]", bytes.len() - limit)
    } else {
        s
    }
}

fn show_argv(argv: &[OsString]) -> String {
    argv.iter()
        .map(|a| {
            let s = a.to_string_lossy();
            if s.is_empty() || s.contains(|c: char| c.is_whitespace() || "'\"$;|&<>*?".contains(c))
            {
                format!("'{}'", s.replace('\'', "'\\''"))
            } else {
                s.into_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

// ---------------------------------------------------------------------------
// Line diff (LCS) for failure messages
// ---------------------------------------------------------------------------

fn split_lines(b: &[u8]) -> Vec<String> {
    let s = String::from_utf8_lossy(b);
    s.split_inclusive('\n')
        .map(|l| match l.strip_suffix('\n') {
            Some(l) => l.to_string(),
            None => format!("{l}\\ (no newline at end)"),
        })
        .collect()
}

/// A unified-style diff of two outputs, with 3 lines of context.
fn line_diff(a: &[u8], b: &[u8]) -> String {
    let (a, b) = (split_lines(a), split_lines(b));
    let (n, m) = (a.len(), b.len());
    if n.saturating_mul(m) > 4_000_000 {
        return format!(
            "(outputs too large to diff: {n} vs {m} lines)\n--- native (first 50 lines)\n{}\n+++ sandbox (first 50 lines)\n{}\n",
            a.iter().take(50).cloned().collect::<Vec<_>>().join("\n"),
            b.iter().take(50).cloned().collect::<Vec<_>>().join("\n")
        );
    }
    // lcs[i][j] = LCS length of a[i..] and b[j..].
    let mut lcs = vec![0u32; (n + 1) * (m + 1)];
    let idx = |i: usize, j: usize| i * (m + 1) + j;
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[idx(i, j)] = if a[i] == b[j] {
                lcs[idx(i + 1, j + 1)] + 1
            } else {
                lcs[idx(i + 1, j)].max(lcs[idx(i, j + 1)])
            };
        }
    }
    let mut ops: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            ops.push((' ', &a[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[idx(i + 1, j)] >= lcs[idx(i, j + 1)]) {
            ops.push(('-', &a[i]));
            i += 1;
        } else {
            ops.push(('+', &b[j]));
            j += 1;
        }
    }
    const CONTEXT: usize = 3;
    const MAX_LINES: usize = 300;
    let changed: Vec<usize> = (0..ops.len()).filter(|&k| ops[k].0 != ' ').collect();
    let mut out = String::from("--- native stdout\n+++ sandbox stdout\n");
    let mut printed = 0;
    let mut last: Option<usize> = None;
    for (k, (tag, line)) in ops.iter().enumerate() {
        let near = changed
            .iter()
            .any(|&c| k + CONTEXT >= c && k <= c + CONTEXT);
        if !near {
            continue;
        }
        if last.is_some_and(|l| k > l + 1) || (last.is_none() && k > 0) {
            out.push_str("@@ ... @@\n");
        }
        if printed == MAX_LINES {
            out.push_str("[... diff truncated]\n");
            break;
        }
        let _ = writeln!(out, "{tag}{line}");
        printed += 1;
        last = Some(k);
    }
    out
}

// ---------------------------------------------------------------------------
// Comparing a native run with a sandboxed run
// ---------------------------------------------------------------------------

struct Diffcase {
    argv: Vec<OsString>,
    stdin: Option<Vec<u8>>,
    /// `rvisor do` flags beyond the harness's own (`--network=host`).
    flags: Vec<OsString>,
    /// None: a fresh scratch directory for each of the two runs.
    cwd: Option<PathBuf>,
    /// The sandbox's working directory is a volume of the host's
    /// (`--volume CWD:CWD`): what the program does there reaches the
    /// host through the volume's gofer, as natively.
    volume_cwd: bool,
    /// Run natively in each working directory before the runs.
    setup: Option<Vec<OsString>>,
    label: String,
}

fn run_differential(case: &Diffcase, platform: &str) -> Result<(), Failed> {
    let native_cwd = match &case.cwd {
        Some(c) => c.clone(),
        None => fresh_workdir(&format!("{}-native", case.label))?,
    };
    let sandbox_cwd = match &case.cwd {
        Some(c) => c.clone(),
        None => fresh_workdir(&format!("{}-{platform}", case.label))?,
    };
    if let Some(setup) = &case.setup {
        for cwd in [&native_cwd, &sandbox_cwd] {
            let r = run_cmd(setup, cwd, None)?;
            if r.status != Some(0) {
                return Err(format!(
                    "setup {} failed: {}
{}",
                    show_argv(setup),
                    status_str(r.status),
                    truncated(&r.stderr, 1024)
                )
                .into());
            }
        }
    }
    let native = run_cmd(&case.argv, &native_cwd, case.stdin.as_deref())?;
    if native.status.is_none() {
        return Err(format!(
            "the native run timed out: {}\nnative stdout:\n{}",
            show_argv(&case.argv),
            truncated(&native.stdout, STDERR_LIMIT)
        )
        .into());
    }
    let mut sargv = sandbox_argv(platform, &sandbox_cwd, &case.argv);
    // The flags go before the command (`sandbox_argv` ends with `-- ARGV`).
    let at = sargv.len() - case.argv.len() - 1;
    sargv.splice(at..at, case.flags.iter().cloned());
    if case.volume_cwd {
        let mut v = sandbox_cwd.clone().into_os_string();
        v.push(":");
        v.push(&sandbox_cwd);
        sargv.splice(at..at, ["--volume".into(), v]);
    }
    let sandbox = run_cmd(&sargv, &sandbox_cwd, case.stdin.as_deref())?;
    if native.stdout == sandbox.stdout && native.status == sandbox.status {
        return Ok(());
    }
    let mut msg = format!(
        "native and sandbox runs differ\ncommand: {}\nsandbox command: {}\nnative status:  {}\nsandbox status: {}\n",
        show_argv(&case.argv),
        show_argv(&sargv),
        status_str(native.status),
        status_str(sandbox.status),
    );
    if native.stdout == sandbox.stdout {
        msg.push_str("stdout: identical\n");
    } else {
        msg.push_str(&line_diff(&native.stdout, &sandbox.stdout));
    }
    if !native.stderr.is_empty() {
        let _ = write!(msg, "native stderr:\n{}\n", truncated(&native.stderr, 1024));
    }
    let _ = write!(
        msg,
        "sandbox stderr (up to {STDERR_LIMIT} bytes):\n{}\n",
        truncated(&sandbox.stderr, STDERR_LIMIT)
    );
    for note in [native.note, sandbox.note].into_iter().flatten() {
        let _ = writeln!(msg, "note: {note}");
    }
    Err(msg.into())
}

// ---------------------------------------------------------------------------
// C test programs
// ---------------------------------------------------------------------------

#[derive(Clone, Debug, Default)]
struct CTest {
    name: String,
    path: PathBuf,
    static_link: bool,
    cflags: Vec<String>,
    args: Vec<String>,
    stdin: Option<Vec<u8>>,
    platforms: Option<Vec<String>>,
    /// `--network` modes the case also runs in (beside the default).
    networks: Vec<String>,
    /// Why the case is not expected to pass yet (shown as ignored).
    pending: Option<String>,
    /// `// difftest: volume`: the working directory is a volume.
    volume_cwd: bool,
    /// `// difftest: setup ARGS`.
    setup: Option<Vec<String>>,
    errors: Vec<String>,
}

fn unescape(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push(b'\n'),
                Some('t') => out.push(b'\t'),
                Some('\\') => out.push(b'\\'),
                Some(o) => {
                    out.push(b'\\');
                    let mut b = [0; 4];
                    out.extend_from_slice(o.encode_utf8(&mut b).as_bytes());
                }
                None => out.push(b'\\'),
            }
        } else {
            let mut b = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
        }
    }
    out
}

fn parse_ctest(path: &Path) -> CTest {
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut t = CTest {
        name,
        path: path.to_path_buf(),
        ..Default::default()
    };
    let src = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) => {
            t.errors
                .push(format!("cannot read {}: {e}", path.display()));
            return t;
        }
    };
    for line in src.lines() {
        let Some(rest) = line.trim().strip_prefix("// difftest:") else {
            continue;
        };
        let rest = rest.trim();
        let (key, val) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        let val = val.trim();
        match key {
            "static" => t.static_link = true,
            "cflags" => t.cflags.extend(val.split_whitespace().map(String::from)),
            "args" => t.args = val.split_whitespace().map(String::from).collect(),
            "stdin" => t.stdin = Some(unescape(val)),
            "pending" => t.pending = Some(val.to_string()),
            "volume" => t.volume_cwd = true,
            "setup" => t.setup = Some(val.split_whitespace().map(String::from).collect()),
            "network" => t.networks = val.split_whitespace().map(String::from).collect(),
            "platforms" => {
                t.platforms = Some(
                    val.split(|c: char| c == ',' || c.is_whitespace())
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect(),
                )
            }
            other => t
                .errors
                .push(format!("unknown directive `// difftest: {other}`")),
        }
    }
    t
}

type BuildCell = Arc<OnceLock<Result<PathBuf, String>>>;

/// Compiles a C file once per harness process (shared by its platforms).
fn build_c(
    src: &Path,
    bin_name: &str,
    static_link: bool,
    cflags: &[String],
) -> Result<PathBuf, Failed> {
    static BUILDS: OnceLock<Mutex<HashMap<PathBuf, BuildCell>>> = OnceLock::new();
    let cell = BUILDS
        .get_or_init(Default::default)
        .lock()
        .unwrap()
        .entry(src.to_path_buf())
        .or_default()
        .clone();
    let res = cell.get_or_init(|| {
        let out = scratch().join("bin").join(bin_name);
        let include = workspace_root().join("tests/c/include");
        let mut cmd = Command::new("cc");
        cmd.args(["-O1", "-g", "-Wall", "-pthread"])
            .arg("-I")
            .arg(&include);
        if static_link {
            cmd.arg("-static");
        }
        cmd.args(cflags).arg("-o").arg(&out).arg(src);
        match cmd.output() {
            Ok(o) if o.status.success() => Ok(out),
            Ok(o) => Err(format!(
                "compiling {} failed ({:?}):\n{}",
                src.display(),
                cmd,
                String::from_utf8_lossy(&o.stderr)
            )),
            Err(e) => Err(format!("cannot run cc (install build-essential): {e}")),
        }
    });
    res.clone().map_err(Failed::from)
}

fn c_trials(platforms: &[String], trials: &mut Vec<Trial>) {
    let dir = workspace_root().join("tests/c");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "c") && p.is_file())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    if files.is_empty() {
        trials.push(Trial::test("c::no_tests_found", move || {
            Err(format!("no C tests found in {}", dir.display()).into())
        }));
        return;
    }
    for file in files {
        let t = parse_ctest(&file);
        let modes = std::iter::once(None).chain(t.networks.iter().cloned().map(Some));
        for (mode, platform) in modes.flat_map(|m| platforms.iter().map(move |p| (m.clone(), p))) {
            let allowed = t
                .platforms
                .as_ref()
                .is_none_or(|ps| ps.iter().any(|p| p == platform));
            let t = t.clone();
            let platform2 = platform.clone();
            let (name, flags) = match &mode {
                None => (format!("c::{}::{platform}", t.name), Vec::new()),
                Some(m) => (
                    format!("c::{}::{m}::{platform}", t.name),
                    vec![OsString::from(format!("--network={m}"))],
                ),
            };
            let trial = Trial::test(name, move || {
                if !t.errors.is_empty() {
                    return Err(t.errors.join("\n").into());
                }
                let bin = build_c(&t.path, &t.name, t.static_link, &t.cflags)?;
                let setup = t.setup.as_ref().map(|a| {
                    let mut v: Vec<OsString> = vec![bin.clone().into()];
                    v.extend(a.iter().map(OsString::from));
                    v
                });
                let mut argv: Vec<OsString> = vec![bin.into()];
                argv.extend(t.args.iter().map(OsString::from));
                let case = Diffcase {
                    argv,
                    stdin: t.stdin.clone(),
                    flags,
                    cwd: None,
                    volume_cwd: t.volume_cwd,
                    setup,
                    label: format!("c-{}", t.name),
                };
                run_differential(&case, &platform2)
            });
            trials.push(trial.with_ignored_flag(!allowed || t.pending.is_some()));
        }
    }
}

// ---------------------------------------------------------------------------
// Real programs
// ---------------------------------------------------------------------------

struct RealCase {
    name: &'static str,
    argv: &'static [&'static str],
    stdin: Option<&'static str>,
    /// None: a fresh scratch directory per run (never printed).
    cwd: Option<&'static str>,
}

const fn real(name: &'static str, argv: &'static [&'static str]) -> RealCase {
    RealCase {
        name,
        argv,
        stdin: None,
        cwd: Some("/"),
    }
}

/// The PostgreSQL real case's script.
const POSTGRES_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/real/postgres.sh");

/// The pseudo-terminal driver for the `pty_*` real cases.
const PTY_DRIVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/pty/drive.py");
/// Network programs for the `net_*` real cases.
const NET_HTTP: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/net/http_server.sh"
);
const NET_SS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/net/ss_sockets.py");
const NET_REDIS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/net/redis_benchmark.sh"
);
const NET_ASYNCIO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/net/asyncio_echo.py"
);

fn real_cases() -> Vec<RealCase> {
    vec![
        real(
            "sh_pipeline_exit3",
            &["/bin/sh", "-c", "echo hi | tr a-z A-Z; ls / | wc -l; exit 3"],
        ),
        real(
            "sh_for_sort",
            &["/bin/sh", "-c", "for i in 1 2 3; do echo $i; done | sort -r"],
        ),
        real("ls_doc_dir", &["/usr/bin/ls", "-1", "/usr/share/doc/coreutils"]),
        real("cat_os_release", &["/usr/bin/cat", "/etc/os-release"]),
        // util-linux's System V IPC tools: objects made, shown (the lines
        // without ids, pids or times), listed, limits, removed.
        real(
            "ipcmk_ipcs_ipcrm",
            &[
                "/bin/sh",
                "-c",
                "m=$(ipcmk -M 4096 -p 0600 | awk '{print $NF}'); \
                 ipcs -m -i $m | grep -E '^(uid|mode)'; \
                 ipcs -m -i $m | grep -oE '(bytes|nattch)=[0-9]+'; \
                 s=$(ipcmk -S 3 | awk '{print $NF}'); \
                 ipcs -s -i $s | grep -E '^(uid|mode|nsems|[0-9] )'; \
                 q=$(ipcmk -Q -p 0640 | awk '{print $NF}'); \
                 ipcs -q -i $q | grep -E '^(uid|cbytes)'; \
                 ipcs -m | awk -v id=$m '$2 == id {print \"listed\", $3, $4, $5, $6}'; \
                 ipcs -s | awk -v id=$s '$2 == id {print \"listed\", $3, $4, $5}'; \
                 ipcs -q | awk -v id=$q '$2 == id {print \"listed\", $3, $4, $5, $6}'; \
                 ipcs -l; \
                 ipcrm -m $m -s $s -q $q; echo removed $?; \
                 ipcs -m -i $m >/dev/null 2>&1; echo gone $?; \
                 ipcrm -q $q 2>/dev/null; echo again $?;",
            ],
        ),
        // util-linux's unshare: a host name set in a new UTS namespace
        // stays there; a new IPC namespace does not see the outer queue.
        real(
            "unshare_uts_ipc",
            &[
                "/bin/sh",
                "-c",
                "h=$(hostname); unshare -u sh -c 'hostname inner-ns; hostname'; \
                 [ \"$(hostname)\" = \"$h\" ] && echo outer unchanged; \
                 q=$(ipcmk -Q | awk '{print $NF}'); \
                 ipcs -q -i $q 2>&1 | grep -c 'not found'; \
                 unshare -i sh -c \"ipcs -q -i $q 2>&1 | grep -c 'not found'\"; \
                 ipcrm -q $q; echo removed $?",
            ],
        ),
        // util-linux's unshare: a new user and mount namespace, root
        // inside, a tmpfs mounted there and not outside.
        real(
            "unshare_mount_tmpfs",
            &[
                "/bin/sh",
                "-c",
                "unshare -mr sh -c 'mount -t tmpfs x /mnt && touch /mnt/a && ls /mnt && id -u && cat /proc/self/uid_map'; \
                 [ -e /mnt/a ] || echo outer untouched",
            ],
        ),
        // bubblewrap in new user, IPC and UTS namespaces: a read-only
        // bind of /, a tmpfs /dev with bound device nodes and devpts,
        // /proc, pivot_root and the old root detached.
        real(
            "bwrap_id",
            &[
                "/usr/bin/bwrap",
                "--unshare-user",
                "--unshare-ipc",
                "--unshare-uts",
                "--ro-bind",
                "/",
                "/",
                "--dev",
                "/dev",
                "--proc",
                "/proc",
                "--",
                "/bin/sh",
                "-c",
                "id; touch /x 2>&1; ls /dev; cat /proc/self/uid_map; \
                 echo hi > /dev/null && head -c 4 /dev/zero | od -An -tx1",
            ],
        ),
        // bubblewrap with a new pid namespace (every kind but the
        // network's, whose loopback bwrap configures through netlink):
        // its own init is pid 1, the shell 2; `ps` reads the /proc
        // mounted for the namespace.
        real(
            "bwrap_unshare_pid",
            &[
                "/usr/bin/bwrap",
                "--unshare-user",
                "--unshare-pid",
                "--unshare-ipc",
                "--unshare-uts",
                "--unshare-cgroup",
                "--ro-bind",
                "/",
                "/",
                "--dev",
                "/dev",
                "--proc",
                "/proc",
                "--",
                "/bin/sh",
                "-c",
                "echo $$; ps; grep -E '^(Tgid|Pid|PPid|NS)' /proc/self/status; ls /proc | grep -c '^[0-9]'",
            ],
        ),
        // bubblewrap with every namespace, the network's included: its
        // own loopback, which bwrap brings up through netlink (a TCP
        // round trip over it), and nothing of the sandbox's.
        real(
            "bwrap_unshare_all",
            &[
                "/usr/bin/bwrap",
                "--unshare-all",
                "--ro-bind",
                "/",
                "/",
                "--dev",
                "/dev",
                "--proc",
                "/proc",
                "--",
                "/bin/sh",
                "-c",
                "ip addr; python3 -c \"import socket; l = socket.create_server(('127.0.0.1', 0)); \
                 c = socket.create_connection(l.getsockname()); a, _ = l.accept(); c.sendall(b'ok'); \
                 print(a.recv(2).decode())\"",
            ],
        ),
        // util-linux's unshare -fp --mount-proc: the forked shell is pid 1
        // of a new pid namespace, with its own /proc.
        real(
            "unshare_pid_mount_proc",
            &[
                "/usr/bin/unshare",
                "-fp",
                "--mount-proc",
                "/bin/sh",
                "-c",
                "echo $$; ps -o pid,ppid,comm; readlink /proc/self; cat /proc/sys/kernel/ns_last_pid",
            ],
        ),
        real(
            "sort_generated",
            &[
                "/bin/sh",
                "-c",
                "i=0; while [ $i -lt 2000 ]; do echo $(( (i * 7919) % 1009 )) line$i; i=$((i+1)); done \
                 | sort -k1,1n -k2,2 | uniq -c -w4 | sort -k1,1nr -k2,2n | head -20",
            ],
        ),
        RealCase {
            stdin: Some("pear\napple\nfig\nbanana\napple\n"),
            ..real("sort_stdin", &["/usr/bin/sort", "-u"])
        },
        real("sha256sum_os_release", &["/usr/bin/sha256sum", "/etc/os-release"]),
        real("wc_bin_ls", &["/usr/bin/wc", "-c", "/bin/ls"]),
        real(
            "stress_ng_itimer",
            &[
                "/bin/sh",
                "-c",
                "stress-ng --itimer 1 --timeout 2 --verify >/dev/null 2>&1; echo status=$?",
            ],
        ),
        real(
            "stress_ng_wait",
            &[
                "/bin/sh",
                "-c",
                "stress-ng --wait 1 --timeout 2 --verify >/dev/null 2>&1; echo status=$?",
            ],
        ),
        real(
            "python_hashlib_json",
            &[
                "/usr/bin/python3",
                "-c",
                "import hashlib,json; print(json.dumps(hashlib.sha256(b\"x\").hexdigest()))",
            ],
        ),
        RealCase {
            cwd: Some("/usr"),
            ..real(
                "python_version_cwd",
                &[
                    "/usr/bin/python3",
                    "-c",
                    "import os,sys; print(sys.version_info[:2], os.getcwd())",
                ],
            )
        },
        real(
            "python_subprocess",
            &[
                "/usr/bin/python3",
                "-c",
                "import subprocess; r = subprocess.run(['/bin/echo', 'sub'], capture_output=True); \
                 print(r.returncode, r.stdout)",
            ],
        ),
        real(
            "python_threads",
            &[
                "/usr/bin/python3",
                "-c",
                "import threading\nres = [0] * 4\ndef w(i):\n    res[i] = sum(range(i * 100000))\n\
                 ts = [threading.Thread(target=w, args=(i,)) for i in range(4)]\n\
                 [t.start() for t in ts]; [t.join() for t in ts]\nprint(res)",
            ],
        ),
        real(
            "python_processes_and_threads",
            &[
                "/usr/bin/python3",
                "-c",
                "import subprocess, threading, multiprocessing, concurrent.futures, signal, time\n\
                 def sq(x):\n    return x * x\n\
                 if __name__ == '__main__':\n\
                 \x20   print(subprocess.run(['echo', 'sub'], capture_output=True, text=True).stdout.strip())\n\
                 \x20   with multiprocessing.Pool(4) as p:\n        print(p.map(sq, range(8)))\n\
                 \x20   with concurrent.futures.ProcessPoolExecutor(2) as ex:\n        print(list(ex.map(sq, range(4))))\n\
                 \x20   out = []\n\
                 \x20   ts = [threading.Thread(target=lambda i=i: out.append(i)) for i in range(64)]\n\
                 \x20   [t.start() for t in ts]; [t.join() for t in ts]\n\
                 \x20   print(sorted(out) == list(range(64)))\n\
                 \x20   hits = []\n\
                 \x20   signal.signal(signal.SIGALRM, lambda s, f: hits.append(s))\n\
                 \x20   signal.setitimer(signal.ITIMER_REAL, 0.01, 0.01)\n\
                 \x20   while len(hits) < 3:\n        time.sleep(0.005)\n\
                 \x20   signal.setitimer(signal.ITIMER_REAL, 0)\n\
                 \x20   print(hits[:3])",
            ],
        ),
        real("bash_timeout", &["/bin/bash", "-c", "timeout 1 sleep 5; echo $?"]),
        real("bash_kill_job", &["/bin/bash", "-c", "sleep 10 & kill %1; wait %1; echo $?"]),
        real("gcc_compile_and_run", &["/bin/sh", "-c", "d=$(mktemp -d) && cd $d && printf 'int main(void){return 7;}' > p.c && cc -o p p.c && ./p; echo $?; rm -rf $d"]),
        real(
            "perl_squares",
            &["/usr/bin/perl", "-e", "print join(\",\", map { $_*$_ } 1..10), \"\\n\""],
        ),
        real(
            "perl_list_util",
            &["/usr/bin/perl", "-MList::Util=sum", "-e", "print sum(1..100), \"\\n\""],
        ),
        real("env_i_path", &["/usr/bin/env", "-i", "/bin/sh", "-c", "echo $PATH"]),
        real("env_sorted", &["/bin/sh", "-c", "env | sort"]),
        real(
            "sh_cd_pwd",
            &["/bin/sh", "-c", "cd /usr/share && pwd && cd doc/../doc && pwd -P"],
        ),
        // The sandbox's first process is pid 1, which (as in any PID
        // namespace) ignores default-action signals it sends itself; run
        // the shell under another one.
        real(
            "sh_kill_self_term",
            &["/bin/sh", "-c", "/bin/sh -c 'echo before; kill -TERM $$; echo after'; echo status=$?"],
        ),
        real(
            "sh_trap_usr1",
            &["/bin/sh", "-c", "trap 'echo got USR1' USR1; kill -USR1 $$; echo after"],
        ),
        RealCase {
            cwd: None,
            ..real(
                "sh_files_in_cwd",
                &[
                    "/bin/sh",
                    "-c",
                    "echo hello > f && ln -s f l && cat l && mkdir d && mv f d/g && ls -1 && \
                     ls -1 d && rm -r d l && ls -1 | wc -l",
                ],
            )
        },
        real("dev_zero_wc", &["/bin/sh", "-c", "head -c 100000 /dev/zero | wc -c"]),
        // inotify-tools: inotifywait watching a directory while a shell
        // creates, modifies, moves and removes in it (waits for its
        // "Watches established." and for the events, both bounded).
        RealCase {
            cwd: None,
            ..real(
                "inotifywait_monitor",
                &[
                    "/bin/sh",
                    "-c",
                    "mkdir w; cd w || exit 1; \
                     inotifywait -m --format '%e %f' -e create -e modify -e moved_from \
                       -e moved_to -e delete . >../out 2>../err & pid=$!; \
                     i=0; while ! grep -q established ../err && [ $i -lt 1000 ]; do sleep 0.01; i=$((i+1)); done; \
                     touch a; echo x >> a; mv a b; mkdir sub; rm b; rmdir sub; \
                     i=0; while [ \"$(wc -l < ../out)\" -lt 7 ] && [ $i -lt 1000 ]; do sleep 0.01; i=$((i+1)); done; \
                     kill $pid; wait $pid; echo status $?; cat ../out; cd .. && rm -r w out err",
                ],
            )
        },
        // PostgreSQL as a non-root user: initdb, pg_ctl start on a unix
        // socket, psql queries, pg_ctl stop (tests/real/postgres.sh; ~2 s).
        real("postgres_initdb_psql", &["/bin/sh", POSTGRES_SCRIPT]),
        // Terminals: a driver makes a pty (inside the sandbox for the
        // sandboxed run) and types into it (tests/pty/drive.py).
        // Loopback TCP: a web server and its clients, an asyncio server
        // with 200 concurrent clients.
        real("net_http_server_curl", &["/bin/sh", NET_HTTP]),
        real("net_asyncio_echo_200", &["/usr/bin/python3", NET_ASYNCIO]),
        real("net_redis_benchmark", &["/bin/sh", NET_REDIS]),
        // What ss and ip show of the sandbox's sockets and of lo.
        real("net_ss_sockets", &["/usr/bin/python3", NET_SS]),
        real(
            "net_ip_lo",
            &[
                "/bin/sh",
                "-c",
                "ip addr show lo; ip link show lo; ip -6 route show dev lo; \
                 ip route show table local dev lo; ip -6 route show table local dev lo; \
                 ip -4 addr show lo; ip -4 -o link show lo",
            ],
        ),
        // ping answered by the sandbox's loopback (a ping socket inside;
        // natively root's raw socket, as ping_group_range excludes root).
        real(
            "net_ping_loopback",
            &[
                "/bin/sh",
                "-c",
                "ping -c2 -i0.2 -W5 127.0.0.1 | grep -Eo 'ttl=64|2 received'",
            ],
        ),
        real("pty_bash_job_control", &["/usr/bin/python3", PTY_DRIVER, "jobs"]),
        real("pty_script_tty_size", &["/usr/bin/python3", PTY_DRIVER, "script"]),
        real("pty_python_pty_fork", &["/usr/bin/python3", PTY_DRIVER, "ptyfork"]),
        real(
            "tar_roundtrip",
            &[
                "/bin/sh",
                "-c",
                "tar -cf - -C /usr/share/doc coreutils | tar -tf - | sort",
            ],
        ),
        real(
            "gzip_roundtrip",
            &["/bin/sh", "-c", "gzip -c < /etc/os-release | gzip -dc | sha256sum"],
        ),
        real("date_epoch", &["/usr/bin/date", "-u", "-d", "@0", "+%Y-%m-%d %H:%M:%S"]),
        real(
            "stat_os_release",
            &["/usr/bin/stat", "-L", "-c", "%F %s %a %U", "/etc/os-release"],
        ),
        real(
            "xargs_echo",
            &["/bin/sh", "-c", "printf 'a\\nb\\nc\\n' | xargs -n1 echo item"],
        ),
        real("ulimit_nofile", &["/bin/sh", "-c", "ulimit -n 100; ulimit -n"]),
        real("false_status", &["/usr/bin/false"]),
        // The sandbox's CPUs as coreutils, getconf and Python count them.
        real(
            "cpu_counts",
            &[
                "/bin/sh",
                "-c",
                "nproc; getconf _NPROCESSORS_ONLN; getconf _NPROCESSORS_CONF; \
                 python3 -c 'import os; print(os.cpu_count(), len(os.sched_getaffinity(0)))'",
            ],
        ),
        // lscpu reads the topology in /sys/devices/system/{cpu,node}.
        real(
            "lscpu_topology",
            &[
                "/bin/sh",
                "-c",
                "lscpu | grep -E '^(CPU\\(s\\)|On-line|Thread|Core|Socket|NUMA node)' | tr -s ' '",
            ],
        ),
        // util-linux's and coreutils' scheduling tools.
        real(
            "sched_tools",
            &[
                "/bin/sh",
                "-c",
                "nice -n 5 nice; ionice -c 3 ionice; ionice -c 2 -n 4 ionice; \
                 chrt -f 10 sh -c 'chrt -p $$' | sed 's/pid [0-9]*/pid N/'; \
                 chrt -b 0 sh -c 'chrt -p $$' | sed 's/pid [0-9]*/pid N/'; \
                 taskset -c 0 sh -c 'taskset -cp $$' | sed 's/pid [0-9]*/pid N/'",
            ],
        ),
        // procps reads /proc/{meminfo,stat,uptime,loadavg} and every
        // /proc/PID/stat: the tools run and print their headers.
        real(
            "procps_headers",
            &[
                "/bin/sh",
                "-c",
                "free | head -1; top -b -n1 | head -1 | cut -c1-5; \
                 top -b -n1 | sed -n 7p | tr -s ' '; ps -ef | head -1 | tr -s ' '; \
                 ps -ef > /dev/null && echo ps ok; uptime | grep -c 'load average'",
            ],
        ),
        // Process substitution hands diff /dev/fd/63 and /dev/fd/62: pipes
        // reopened through their magic links.
        real(
            "bash_diff_process_substitution",
            &[
                "/bin/bash",
                "-c",
                "diff <(seq 3) <(seq 3) && echo same; diff <(seq 3) <(seq 4); echo status=$?",
            ],
        ),
        RealCase {
            stdin: Some("through /dev/stdin\n"),
            ..real("cat_dev_stdin_pipe", &["/usr/bin/cat", "/dev/stdin"])
        },
        real(
            "cat_dev_stdin_sandbox_pipe",
            &["/bin/sh", "-c", "seq 5 | cat /dev/stdin /proc/self/fd/0"],
        ),
        // Debuggers inside the sandbox: strace following forks, and gdb
        // running a crashing program to a breakpoint, stepping and taking
        // a backtrace. Pids, addresses and host-specific notices are
        // normalised or dropped.
        // Both ways strace stops at syscalls: PTRACE_SYSCALL, and seccomp
        // RET_TRACE stops (--seccomp-bpf).
        RealCase {
            cwd: None,
            ..real(
                "strace_follow_forks",
                &[
                    "/bin/sh",
                    "-c",
                    "for mode in '' --seccomp-bpf; do \
                     strace -f -qq $mode -o trace.txt -e trace=execve,write,exit_group \
                     /bin/sh -c '/bin/echo one; /bin/echo two' && \
                     sed -E 's/^[0-9]+ +//; s/(si_pid|si_utime|si_stime)=[0-9]+/\\1=N/g; \
                     s/0x[0-9a-f]+/ADDR/g' trace.txt || exit 1; done",
                ],
            )
        },
        RealCase {
            cwd: None,
            ..real(
                "gdb_breakpoint_and_backtrace",
                &[
                    "/bin/sh",
                    "-c",
                    "printf 'static int crash_here(int *p) { return *p + 1; }\\n\
                     int main(void) { int *volatile p = 0; return crash_here(p); }\\n' > crash.c && \
                     cc -g -O0 -o crash crash.c && \
                     gdb -nx -batch -ex 'break crash_here' -ex run -ex stepi -ex 'p $rip' \
                     -ex continue -ex bt ./crash 2>&1 | grep -v -e '^\\[' -e '^Using host' -e '^warning'",
                ],
            )
        },
        RealCase {
            cwd: None,
            ..real(
                "gdb_watchpoint",
                &[
                    "/bin/sh",
                    "-c",
                    "printf 'int counter;\\n\
                     int main(void) { for (int i = 0; i < 3; i++) counter += i; return counter; }\\n' > w.c && \
                     cc -g -O0 -o w w.c && \
                     gdb -nx -batch -ex 'break main' -ex run -ex 'watch counter' -ex continue \
                     -ex continue -ex delete -ex 'rwatch counter' -ex continue -ex delete \
                     -ex 'awatch counter' -ex continue -ex continue -ex 'info watchpoints' ./w 2>&1 | grep -v -e '^\\[' -e '^Using host' -e '^warning'",
                ],
            )
        },
    ]
}

/// Real-program cases that need work tracked in an open issue; they are
/// listed as ignored (run them with `--ignored`) until that work lands.
const PENDING_REAL: &[(&str, &str)] = &[];

fn real_trials(platforms: &[String], trials: &mut Vec<Trial>) {
    for case in real_cases() {
        for platform in platforms {
            let platform = platform.clone();
            let argv: Vec<OsString> = case.argv.iter().map(OsString::from).collect();
            let d = Diffcase {
                argv,
                flags: Vec::new(),
                stdin: case.stdin.map(|s| s.as_bytes().to_vec()),
                cwd: case.cwd.map(PathBuf::from),
                volume_cwd: false,
                setup: None,
                label: format!("real-{}", case.name),
            };
            let pending = PENDING_REAL.iter().any(|(n, _)| *n == case.name);
            trials.push(
                Trial::test(format!("real::{}::{platform}", case.name), move || {
                    run_differential(&d, &platform)
                })
                .with_ignored_flag(pending),
            );
        }
    }
    for platform in platforms {
        platform_trial(
            trials,
            "real::etc_write_stays_in_sandbox",
            platform,
            etc_write_stays_in_sandbox,
        );
        platform_trial(trials, "real::nonexistent", platform, nonexistent_command);
        platform_trial(trials, "sandbox::not_executable", platform, not_executable);
        platform_trial(trials, "sandbox::raw_syscalls", platform, raw_syscalls);
        platform_trial(trials, "sandbox::idle_cpu", platform, idle_cpu);
        platform_trial(trials, "sandbox::system_view", platform, system_view);
        platform_trial(trials, "sandbox::garbage_args", platform, garbage_args);
        platform_trial(trials, "sandbox::ipc_limits", platform, ipc_limits);
        platform_trial(trials, "sandbox::nr_open", platform, nr_open);
        platform_trial(trials, "sandbox::reboot", platform, reboot);
        platform_trial(
            trials,
            "sandbox::killed_sandbox_leaves_nothing",
            platform,
            killed_sandbox_leaves_nothing,
        );
        platform_trial(
            trials,
            "sandbox::second_sigterm_kills",
            platform,
            second_sigterm_kills,
        );
        platform_trial(
            trials,
            "sandbox::escape_attempts",
            platform,
            escape_attempts,
        );
        platform_trial(trials, "sandbox::host_terminal", platform, host_terminal);
        platform_trial(
            trials,
            "sandbox::sentry_confined",
            platform,
            sentry_confined,
        );
        platform_trial(trials, "sandbox::gofer_confined", platform, gofer_confined);
        platform_trial(
            trials,
            "sandbox::gofer_killed_ends_sandbox",
            platform,
            gofer_killed_ends_sandbox,
        );
        platform_trial(
            trials,
            "sandbox::cli_killed_ends_gofer",
            platform,
            cli_killed_ends_gofer,
        );
        platform_trial(trials, "sandbox::watchdog_stuck", platform, watchdog_stuck);
        platform_trial(
            trials,
            "sandbox::watchdog_waits_are_not_stuck",
            platform,
            watchdog_waits_are_not_stuck,
        );
    }
    trials.push(Trial::test("cli::debug_unconfined", debug_unconfined));
    trials.push(Trial::test("cli::bogus_platform", bogus_platform));
    trials.push(Trial::test("cli::bad_cwd", bad_cwd));
    trials.push(Trial::test("cli::gofer_command", gofer_command));
    trials.push(Trial::test(
        "cli::syscall_patching_switch",
        syscall_patching_switch,
    ));
}

/// The whole `--ci` sweep's time limit (it takes ~1.5 min per platform).
const SWEEP_TIMEOUT: Duration = Duration::from_secs(8 * 60);

fn sweep_trials(platforms: &[String], trials: &mut Vec<Trial>) {
    for platform in platforms {
        let p = platform.clone();
        trials.push(Trial::test(format!("sweep::ci::{platform}"), move || {
            stress_ng_ci_sweep(&p)
        }));
    }
}

/// Runs the stress-ng conformance sweep's CI list (stressors that pass in the
/// sandbox today, see docs/conformance.md) natively and in the sandbox: any
/// of them passing natively but not in the sandbox is a regression.
fn stress_ng_ci_sweep(platform: &str) -> Result<(), Failed> {
    let root = workspace_root();
    let script = root.join("scripts/stress-ng-sweep.sh");
    let argv: Vec<OsString> = vec![
        "/bin/bash".into(),
        script.into(),
        "--ci".into(),
        "--platform".into(),
        platform.into(),
        "--rvisor".into(),
        rvisor_bin().into(),
    ];
    let r = run_cmd_within(&argv, &root, None, SWEEP_TIMEOUT)?;
    let stdout = String::from_utf8_lossy(&r.stdout);
    let last = stdout.lines().last().unwrap_or("");
    let ok = r.status == Some(0) && last.ends_with(" passed, 0 failed");
    if ok {
        return Ok(());
    }
    let status = match r.status {
        Some(s) => s.to_string(),
        None => format!("timed out after {} s", SWEEP_TIMEOUT.as_secs()),
    };
    Err(format!(
        "stress-ng sweep (--ci, {platform}): status {status}, expected 0 and \
         \"N passed, 0 failed\"\n{}\nstderr (up to {STDERR_LIMIT} bytes):\n{}",
        stdout.trim_end(),
        truncated(&r.stderr, STDERR_LIMIT)
    )
    .into())
}

/// `scripts/oci-test.sh`'s time limit (it takes ~20 s).
const OCI_TIMEOUT: Duration = Duration::from_secs(4 * 60);

fn oci_trials(platforms: &[String], trials: &mut Vec<Trial>) {
    for platform in platforms {
        let p = platform.clone();
        trials.push(Trial::test(format!("oci::script::{platform}"), move || {
            check_script("oci-test.sh", &["--platform", &p], OCI_TIMEOUT)
        }));
    }
    // The engines drive the same commands on any platform: once, on the
    // default one.
    trials.push(Trial::test("oci::docker", || {
        check_script("docker-test.sh", &[], DOCKER_TIMEOUT)
    }));
}

/// `scripts/docker-test.sh`'s time limit (it takes ~5 s).
const DOCKER_TIMEOUT: Duration = Duration::from_secs(3 * 60);

/// Runs `scripts/NAME ARGS --rvisor BIN` (`oci-test.sh`: the
/// runc-compatible commands on a busybox bundle, compared with runc's on
/// the same bundle, bad input and podman; `docker-test.sh`: Docker and
/// containerd with rvisor as their runtime), which must end with "N
/// passed, 0 failed".
fn check_script(name: &str, args: &[&str], timeout: Duration) -> Result<(), Failed> {
    let root = workspace_root();
    let mut argv: Vec<OsString> = vec!["/bin/bash".into(), root.join("scripts").join(name).into()];
    argv.extend(args.iter().map(OsString::from));
    argv.extend(["--rvisor".into(), rvisor_bin().into()]);
    let r = run_cmd_within(&argv, &root, None, timeout)?;
    let stdout = String::from_utf8_lossy(&r.stdout);
    if r.status == Some(0) && stdout.lines().last().unwrap_or("").ends_with(" 0 failed") {
        return Ok(());
    }
    Err(format!(
        "{name} {}: status {:?}, expected 0\n{}\nstderr (up to {STDERR_LIMIT} bytes):\n{}",
        args.join(" "),
        r.status,
        stdout.trim_end(),
        truncated(&r.stderr, STDERR_LIMIT)
    )
    .into())
}

/// Runs `argv` in the sandbox only.
fn sandbox_only(
    platform: &str,
    argv: &[&str],
    cwd: &Path,
) -> Result<(RunResult, Vec<OsString>), Failed> {
    let argv: Vec<OsString> = argv.iter().map(OsString::from).collect();
    let sargv = sandbox_argv(platform, cwd, &argv);
    Ok((run_cmd(&sargv, cwd, None)?, sargv))
}

fn describe(r: &RunResult, sargv: &[OsString]) -> String {
    format!(
        "command: {}\nstatus: {}\nstdout:\n{}\nstderr (up to {STDERR_LIMIT} bytes):\n{}\n",
        show_argv(sargv),
        status_str(r.status),
        truncated(&r.stdout, STDERR_LIMIT),
        truncated(&r.stderr, STDERR_LIMIT)
    )
}

/// A write to /etc inside the sandbox succeeds there and never reaches the
/// host (writes live in the in-memory upper layer). Not run natively: the
/// native run would write the host's /etc.
fn etc_write_stays_in_sandbox(platform: &str) -> Result<(), Failed> {
    let probe = Path::new("/etc/rvisor-probe");
    if probe.exists() {
        return Err("/etc/rvisor-probe already exists on the host; remove it and rerun".into());
    }
    let (r, sargv) = sandbox_only(
        platform,
        &[
            "/bin/sh",
            "-c",
            "echo x > /etc/rvisor-probe; cat /etc/rvisor-probe",
        ],
        Path::new("/"),
    )?;
    let leaked = probe.exists();
    if leaked {
        let _ = std::fs::remove_file(probe);
    }
    let mut problems = Vec::new();
    if r.stdout != b"x\n" {
        problems.push("expected stdout \"x\\n\"".to_string());
    }
    if r.status != Some(0) {
        problems.push("expected exit status 0".to_string());
    }
    if leaked {
        problems.push("the sandbox's write reached the host: /etc/rvisor-probe exists".to_string());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{}\n{}", problems.join("\n"), describe(&r, &sargv)).into())
    }
}

/// `rvisor do` on a host terminal (a pty the driver makes on the host):
/// the program's terminal is a sandbox `/dev/pts/N`, sized as the host's,
/// typing reaches it through the sandbox's line discipline, a host resize
/// arrives, and the host terminal is restored, also when the command
/// cannot start.
fn host_terminal(platform: &str) -> Result<(), Failed> {
    let bin = rvisor_bin().to_string_lossy().into_owned();
    let argv = [
        "/usr/bin/python3",
        PTY_DRIVER,
        "host_tty",
        &bin,
        "do",
        "--platform",
        platform,
    ];
    let argv: Vec<OsString> = argv.iter().map(OsString::from).collect();
    let r = run_cmd(&argv, Path::new("/"), None)?;
    let want = "tty: /dev/pts/0\nstty size: True\necho and read: True\nresize seen: True\n\
                exit status: 7\nhost terminal echo restored: True\nmissing command status: 127\n\
                host terminal echo restored: True\n";
    if r.status == Some(0) && r.stdout == want.as_bytes() {
        Ok(())
    } else {
        Err(format!("expected:\n{want}\n{}", describe(&r, &argv)).into())
    }
}

/// A command that does not exist: exit status 127 and a message on stderr.
fn nonexistent_command(platform: &str) -> Result<(), Failed> {
    let (r, sargv) = sandbox_only(platform, &["/nonexistent"], Path::new("/"))?;
    if r.status == Some(127) && !r.stderr.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "expected exit status 127 and a non-empty stderr\n{}",
            describe(&r, &sargv)
        )
        .into())
    }
}

/// A command that exists but is not executable: exit status 126 and a
/// message on stderr.
fn not_executable(platform: &str) -> Result<(), Failed> {
    let (r, sargv) = sandbox_only(platform, &["/etc/os-release"], Path::new("/"))?;
    if r.status == Some(126) && !r.stderr.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "expected exit status 126 and a non-empty stderr\n{}",
            describe(&r, &sargv)
        )
        .into())
    }
}

fn host_hostname() -> Result<String, Failed> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim_end().to_string())
        .map_err(|e| format!("cannot read the host's /proc/sys/kernel/hostname: {e}").into())
}

/// Raw `syscall` instructions inside the sandbox: the program is pid 1 and
/// sethostname changes only the sandbox's hostname.
fn raw_syscalls(platform: &str) -> Result<(), Failed> {
    let src = workspace_root().join("tests/c/sandbox/raw_syscalls.c");
    let bin = build_c(&src, "sandbox-raw_syscalls", false, &[])?;
    let before = host_hostname()?;
    let cwd = fresh_workdir("sandbox-raw_syscalls")?;
    let bin = bin.to_string_lossy().into_owned();
    let (r, sargv) = sandbox_only(platform, &[&bin], &cwd)?;
    let after = host_hostname()?;
    let stdout = String::from_utf8_lossy(&r.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    let mut problems = Vec::new();
    for want in ["pid=1", "sethostname=0", "nodename=sbx-probe"] {
        if !lines.contains(&want) {
            problems.push(format!("expected a line `{want}`"));
        }
    }
    // The trap platform patches syscall sites: a jump straight into its
    // fast path is served by the sentry too, and a crafted gs base only
    // kills the program's own process.
    let fast: &[&str] = if platform == "trap" {
        &["fast_sethostname=0", "fast_nodename=sbx-fast"]
    } else {
        &["fast=absent"]
    };
    for want in fast {
        if !lines.contains(want) {
            problems.push(format!("expected a line `{want}`"));
        }
    }
    if platform == "trap"
        && !lines.contains(&"fast_bad_gs=signal 11")
        && !lines.contains(&"fast_bad_gs=untested")
    {
        problems.push("expected the bad-gs child to die of SIGSEGV".into());
    }
    if r.status != Some(0) {
        problems.push("expected exit status 0".into());
    }
    if after != before {
        // Damage control: put the host's hostname back.
        let restored = std::fs::write("/proc/sys/kernel/hostname", &before).is_ok();
        problems.push(format!(
            "the host's hostname changed from {before:?} to {after:?} (restored: {restored})"
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{}\n{}", problems.join("\n"), describe(&r, &sargv)).into())
    }
}

/// A program in a sandbox rooted at a small directory cannot leave it:
/// symlinks (absolute, relative, climbing) resolve inside the root, a host
/// file next to the root stays unreadable, and ptrace and /proc/self/mem
/// reach the sandbox's own processes and memory, nothing of the host.
fn escape_attempts(platform: &str) -> Result<(), Failed> {
    let src = workspace_root().join("tests/c/sandbox/escape.c");
    let bin = build_c(&src, "sandbox-escape", true, &[])?;
    let base = fresh_workdir("sandbox-escape")?;
    let root = base.join("root");
    let secret = base.join("secret");
    let setup = || -> std::io::Result<()> {
        std::fs::create_dir_all(root.join("bin"))?;
        std::fs::create_dir_all(root.join("inner"))?;
        std::fs::write(&secret, "HOST-SECRET\n")?;
        std::fs::write(root.join("inner/file"), "inside\n")?;
        std::fs::copy(&bin, root.join("bin/escape"))?;
        std::os::unix::fs::symlink(&secret, root.join("abs"))?;
        std::os::unix::fs::symlink("../secret", root.join("rel"))?;
        std::os::unix::fs::symlink("../../../../..", root.join("up"))?;
        Ok(())
    };
    setup().map_err(|e| format!("cannot build the test root: {e}"))?;
    let argv: Vec<OsString> = ["do", "--platform", platform, "--root"]
        .iter()
        .map(OsString::from)
        .chain([root.clone().into_os_string()])
        .chain(["--", "/bin/escape"].iter().map(OsString::from))
        .collect();
    let mut full = vec![rvisor_bin().into_os_string()];
    full.extend(argv);
    let r = run_cmd(&full, Path::new("/"), None)?;
    let out = String::from_utf8_lossy(&r.stdout).into_owned();
    let want = [
        "abs: errno=ENOENT",
        "rel: errno=ENOENT",
        "climb: errno=ENOENT",
        "dotdot: errno=ENOENT",
        "inner: ok clean",
        "proc_self_mem: read=0x5eed(8) write=8 now=0x600d unmapped=EIO",
        "ptrace_parent: attached pid=1 marker=0x600d",
        "parent_marker_after: 0xbad",
        "ptrace_traceme: EPERM",
    ];
    let mut problems: Vec<String> = want
        .iter()
        .filter(|w| !out.lines().any(|l| l == **w))
        .map(|w| format!("expected a line `{w}`"))
        .collect();
    if out.contains("LEAKED") {
        problems.push("the host file was read from inside the sandbox".into());
    }
    if r.status != Some(0) {
        problems.push("expected exit status 0".into());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{}\n{}", problems.join("\n"), describe(&r, &full)).into())
    }
}

/// Every syscall number with garbage arguments: the sentry must keep
/// serving (no panic, no hang) and the program must finish normally.
fn garbage_args(platform: &str) -> Result<(), Failed> {
    let src = workspace_root().join("tests/c/sandbox/garbage_args.c");
    let bin = build_c(&src, "sandbox-garbage_args", false, &[])?;
    let cwd = fresh_workdir("sandbox-garbage_args")?;
    let bin = bin.to_string_lossy().into_owned();
    let (r, sargv) = sandbox_only(platform, &[&bin], &cwd)?;
    let out = String::from_utf8_lossy(&r.stdout);
    let err = String::from_utf8_lossy(&r.stderr);
    if r.status == Some(0) && out.starts_with("survived ") && !err.contains("panicked") {
        Ok(())
    } else {
        Err(format!(
            "the sandbox did not survive garbage arguments\n{}",
            describe(&r, &sargv)
        )
        .into())
    }
}

/// Runs `tests/c/sandbox/NAME.c` in the sandbox only; it must print
/// just "ok" and exit 0, or the test fails saying `what`.
fn sandbox_c_ok(platform: &str, name: &str, what: &str) -> Result<(), Failed> {
    let src = workspace_root().join(format!("tests/c/sandbox/{name}.c"));
    let bin = build_c(&src, &format!("sandbox-{name}"), false, &[])?;
    let cwd = fresh_workdir(&format!("sandbox-{name}"))?;
    let bin = bin.to_string_lossy().into_owned();
    let (r, sargv) = sandbox_only(platform, &[&bin], &cwd)?;
    if r.status == Some(0) && r.stdout == b"ok\n" {
        Ok(())
    } else {
        Err(format!("{what}\n{}", describe(&r, &sargv)).into())
    }
}

/// IPC limits written to `/proc/sys` apply (`tests/c/sandbox/ipc_limits.c`;
/// not run natively, where they are the host's).
fn ipc_limits(platform: &str) -> Result<(), Failed> {
    sandbox_c_ok(platform, "ipc_limits", "IPC limits did not apply")
}

/// `/proc/sys/fs/nr_open` is writable and caps `RLIMIT_NOFILE`
/// (`tests/c/sandbox/nr_open.c`; not run natively, where it is the
/// host's).
fn nr_open(platform: &str) -> Result<(), Failed> {
    sandbox_c_ok(platform, "nr_open", "nr_open did not apply")
}

/// reboot(2) with valid magic numbers acts on the sandbox as on a
/// container's pid namespace (`tests/c/sandbox/reboot.c`): Ctrl-Alt-Del,
/// suspend and kexec are EINVAL, a restart ends the whole sandbox as if
/// init was killed by SIGHUP, a power-off by SIGINT.
fn reboot(platform: &str) -> Result<(), Failed> {
    let src = workspace_root().join("tests/c/sandbox/reboot.c");
    let bin = build_c(&src, "sandbox-reboot", false, &[])?;
    let bin = bin.to_string_lossy().into_owned();
    let cwd = fresh_workdir("sandbox-reboot")?;
    let cases: [(&str, i32, &str); 3] = [
        (
            "cad",
            0,
            "cad_on: ret=-1 errno=22\ncad_off: ret=-1 errno=22\n\
             sw_suspend: ret=-1 errno=22\nkexec: ret=-1 errno=22\n",
        ),
        ("restart", 128 + 1, ""),
        ("poweroff", 128 + 2, ""),
    ];
    for (arg, status, out) in cases {
        let (r, sargv) = sandbox_only(platform, &[&bin, arg], &cwd)?;
        if r.status != Some(status) || r.stdout != out.as_bytes() {
            return Err(format!(
                "expected status {status} and stdout {out:?}\n{}",
                describe(&r, &sargv)
            )
            .into());
        }
    }
    Ok(())
}

/// CPU ticks (user + system) used so far by a host process.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields overall.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    n(11) + n(12)
}

/// The sandbox and its stubs together, by walking the host's children.
fn tree_ticks(pid: u32) -> u64 {
    let mut total = cpu_ticks(pid);
    if let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for t in dir.flatten() {
            let children = std::fs::read_to_string(t.path().join("children")).unwrap_or_default();
            for c in children
                .split_whitespace()
                .filter_map(|c| c.parse::<u32>().ok())
            {
                total += cpu_ticks(c);
            }
        }
    }
    total
}

/// Starts `rvisor do` on `argv` in the background, with no stdio.
fn spawn_quiet_sandbox(platform: &str, argv: &[&str]) -> Result<std::process::Child, Failed> {
    std::process::Command::new(rvisor_bin())
        .args(["do", "--platform", platform, "--"])
        .args(argv)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start rvisor: {e}").into())
}

/// The host processes `pid` started (its threads' children).
fn host_children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    if let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for t in dir.flatten() {
            let children = std::fs::read_to_string(t.path().join("children")).unwrap_or_default();
            out.extend(
                children
                    .split_whitespace()
                    .filter_map(|c| c.parse::<u32>().ok()),
            );
        }
    }
    out
}

/// Whether host process `pid` still exists and is not a zombie.
fn host_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z') && !rest.starts_with('X')),
        Err(_) => false,
    }
}

/// Killing the sandbox from the host (SIGKILL to `rvisor do`, which takes
/// the sandbox's init with it) ends every sandboxed task, blocked in a
/// syscall or spinning in application code: the command
/// reports signal 9 (a shell's 137) and within a second no stub process
/// it started is left running on the host.
fn killed_sandbox_leaves_nothing(platform: &str) -> Result<(), Failed> {
    let mut child = spawn_quiet_sandbox(
        platform,
        &[
            "/bin/sh",
            "-c",
            "sleep 100 & sleep 100 & while :; do :; done & /usr/bin/python3 -c 'import threading, time; \
             [threading.Thread(target=time.sleep, args=(100,)).start() for _ in range(4)]'",
        ],
    )?;
    // Wait until the sandbox runs its processes (init, two sleeps, python).
    let stubs = wait_for_stubs(child.id(), 4);
    if stubs.len() < 4 {
        let _ = child.kill();
        let _ = child.wait();
        return Err(format!("expected at least 4 stub processes, saw {stubs:?}").into());
    }
    let killed_at = Instant::now();
    let _ = child.kill();
    let status = child
        .wait()
        .map_err(|e| format!("cannot wait for rvisor: {e}"))?;
    use std::os::unix::process::ExitStatusExt;
    if status.signal() != Some(libc::SIGKILL) {
        return Err(format!("expected death by SIGKILL, got {status:?}").into());
    }
    none_left_within_a_second(stubs, killed_at)
}

/// The stub processes of `rvisor` `pid` once there are `n` (or after 10 s).
fn wait_for_stubs(pid: u32, n: usize) -> Vec<u32> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while host_children(pid).len() < n && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    host_children(pid)
}

/// Every one of `stubs` has ended within a second of `since`.
fn none_left_within_a_second(stubs: Vec<u32>, since: Instant) -> Result<(), Failed> {
    while stubs.iter().any(|&s| host_alive(s)) && since.elapsed() < Duration::from_secs(1) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let left: Vec<u32> = stubs.into_iter().filter(|&s| host_alive(s)).collect();
    if left.is_empty() {
        Ok(())
    } else {
        Err(format!("stub processes still running 1 s after the end: {left:?}").into())
    }
}

/// An init that ignores SIGTERM (and spins, with a child asleep) survives
/// one SIGTERM to `rvisor do`; a second within 5 s kills the sandbox:
/// `rvisor do` exits with 137 and no stub process is left.
fn second_sigterm_kills(platform: &str) -> Result<(), Failed> {
    let mut child = spawn_quiet_sandbox(
        platform,
        &[
            "/bin/sh",
            "-c",
            "trap '' TERM INT; sleep 100 & while :; do :; done",
        ],
    )?;
    let pid = child.id();
    let stubs = wait_for_stubs(pid, 2);
    let term = || {
        // SAFETY: signals the rvisor process this test started.
        unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    };
    term();
    std::thread::sleep(Duration::from_millis(500));
    if let Ok(Some(st)) = child.try_wait() {
        return Err(format!("the first SIGTERM ended the sandbox: {st:?}").into());
    }
    term();
    let sent = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().map_err(|e| format!("wait: {e}"))? {
            break st;
        }
        if sent.elapsed() > Duration::from_secs(5) {
            let _ = child.kill();
            let _ = child.wait();
            return Err("rvisor still running 5 s after the second SIGTERM".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    if status.code() != Some(137) {
        return Err(format!("expected exit status 137, got {status:?}").into());
    }
    none_left_within_a_second(stubs, Instant::now())
}

/// A sandboxed program blocked in pause() costs (almost) no host CPU:
/// no spinning while idle. Over 3 s the sandbox and its stubs together
/// must use under 1% of a CPU (3 ticks of 10 ms).
fn idle_cpu(platform: &str) -> Result<(), Failed> {
    let mut child = spawn_quiet_sandbox(
        platform,
        &["/usr/bin/python3", "-c", "import signal; signal.pause()"],
    )?;
    let pid = child.id();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let before = tree_ticks(pid);
    std::thread::sleep(std::time::Duration::from_secs(3));
    let after = tree_ticks(pid);
    let _ = child.kill();
    let _ = child.wait();
    let used = after.saturating_sub(before);
    if used <= 3 {
        Ok(())
    } else {
        Err(format!("an idle sandbox used {used} ticks (10 ms each) of CPU in 3 s").into())
    }
}

/// What the sandbox says about itself where the host may differ: its
/// cgroup (v2, no limits of its own) in /sys/fs/cgroup and the mount
/// tables, /proc/self/cgroup, and huge pages never used.
fn system_view(platform: &str) -> Result<(), Failed> {
    let (r, sargv) = sandbox_only(
        platform,
        &[
            "/bin/sh",
            "-c",
            "cat /sys/fs/cgroup/cpu.max /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max \
             /proc/self/cgroup; grep cgroup2 /proc/mounts; grep -c ' /sys/fs/cgroup ' \
             /proc/self/mountinfo; stat -f -c %T /sys/fs/cgroup; \
             cat /sys/kernel/mm/transparent_hugepage/enabled; \
             test \"$(cat /sys/fs/cgroup/cpuset.cpus.effective)\" = \
             \"$(cat /sys/devices/system/cpu/online)\" && echo cpuset ok; \
             grep -qx 1 /sys/fs/cgroup/cgroup.procs && echo procs ok; \
             echo 1 > /sys/fs/cgroup/memory.max 2>/dev/null || echo read-only",
        ],
        Path::new("/"),
    )?;
    let want = "max 100000\nmax\nmax\n0::/\n\
                cgroup2 /sys/fs/cgroup cgroup2 ro,nosuid,nodev,noexec,relatime 0 0\n1\n\
                cgroup2fs\nalways madvise [never]\ncpuset ok\nprocs ok\nread-only\n";
    if r.stdout == want.as_bytes() && r.status == Some(0) {
        Ok(())
    } else {
        Err(format!("expected:\n{want}\n{}", describe(&r, &sargv)).into())
    }
}

/// A line `Name:\tvalue` of `/proc/<pid>/status`.
fn status_field(pid: u32, name: &str) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| {
        l.strip_prefix(name)
            .and_then(|r| r.strip_prefix(':'))
            .map(|v| v.trim().to_string())
    })
}

/// While a sandbox runs, its sentry (the `rvisor do` process) has a
/// seccomp filter, `no_new_privs`, no capability at all (in particular none of
/// `CAP_SYS_ADMIN`, `CAP_DAC_OVERRIDE`, `CAP_SYS_PTRACE`), an empty
/// root directory, and mount, IPC, UTS and network namespaces other than
/// the host's; so do its children (the stub factory and the stubs).
fn sentry_confined(platform: &str) -> Result<(), Failed> {
    let mut child = spawn_quiet_sandbox(platform, &["/bin/sleep", "30"])?;
    let pid = child.id();
    let check = || -> Result<(), String> {
        // Confinement precedes the stub factory and the first stub.
        let deadline = Instant::now() + Duration::from_secs(10);
        while host_children(pid).len() < 3 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        // The gofer is confined differently (`gofer_confined`).
        let gofer = find_gofer(pid);
        let children: Vec<u32> = host_children(pid)
            .into_iter()
            .filter(|&c| Some(c) != gofer)
            .collect();
        if children.len() < 2 {
            return Err(format!("no stub factory and stub after 10 s: {children:?}"));
        }
        // The sentry's own seccomp filter (the factory and the stubs do
        // not carry it).
        let seccomp = status_field(pid, "Seccomp");
        if seccomp.as_deref() != Some("2") {
            return Err(format!("sentry: Seccomp {seccomp:?}"));
        }
        for p in std::iter::once(pid).chain(children) {
            let nnp = status_field(p, "NoNewPrivs");
            if nnp.as_deref() != Some("1") {
                return Err(format!("pid {p}: NoNewPrivs {nnp:?}"));
            }
            for set in ["CapEff", "CapPrm", "CapBnd", "CapAmb"] {
                let v = status_field(p, set).unwrap_or_default();
                let bits = u64::from_str_radix(&v, 16).map_err(|e| format!("{set} {v:?}: {e}"))?;
                if bits != 0 {
                    return Err(format!("pid {p}: {set} {v}"));
                }
            }
            let root = std::fs::read_dir(format!("/proc/{p}/root"))
                .map_err(|e| format!("pid {p}: cannot list its root: {e}"))?
                .count();
            if root != 0 {
                return Err(format!("pid {p}: its root has {root} entries"));
            }
            for ns in ["mnt", "ipc", "uts", "net"] {
                let theirs = std::fs::read_link(format!("/proc/{p}/ns/{ns}"));
                let ours = std::fs::read_link(format!("/proc/self/ns/{ns}"));
                match (theirs, ours) {
                    (Ok(a), Ok(b)) if a != b => {}
                    (a, b) => return Err(format!("pid {p}: {ns} namespace {a:?}, host {b:?}")),
                }
            }
        }
        Ok(())
    };
    let r = check();
    let _ = child.kill();
    let _ = child.wait();
    r.map_err(Failed::from)
}

/// The gofer among the host children of `rvisor do` `pid` (named
/// `rvisor-gofer`), once it runs (or after 10 s).
fn find_gofer(pid: u32) -> Option<u32> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found = host_children(pid).into_iter().find(|&c| {
            std::fs::read_to_string(format!("/proc/{c}/comm"))
                .is_ok_and(|l| l.trim_end() == "rvisor-gofer")
        });
        if found.is_some() || Instant::now() > deadline {
            return found;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// While a sandbox runs, its gofer has a seccomp filter, `no_new_privs`
/// and no capability; its root is the container's root (here the host's
/// `/`: the same entries), read-only, in a mount namespace of its own.
/// The sentry holds no descriptor of a host directory (only the gofer
/// can walk host paths); before the gofer it held the root's.
fn gofer_confined(platform: &str) -> Result<(), Failed> {
    let mut child = spawn_quiet_sandbox(platform, &["/bin/sleep", "30"])?;
    let pid = child.id();
    let check = || -> Result<(), String> {
        let gofer = find_gofer(pid).ok_or("no gofer process after 10 s")?;
        // Its filter is installed just before it serves: wait for the
        // sandbox to run (a stub beside the gofer and the factory).
        let deadline = Instant::now() + Duration::from_secs(10);
        while host_children(pid).len() < 3 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        for (field, want) in [("Seccomp", "2"), ("NoNewPrivs", "1")] {
            let v = status_field(gofer, field);
            if v.as_deref() != Some(want) {
                return Err(format!("gofer: {field} {v:?}"));
            }
        }
        for set in ["CapEff", "CapPrm", "CapBnd", "CapAmb"] {
            let v = status_field(gofer, set).unwrap_or_default();
            let bits = u64::from_str_radix(&v, 16).map_err(|e| format!("{set} {v:?}: {e}"))?;
            if bits != 0 {
                return Err(format!("gofer: {set} {v}"));
            }
        }
        let names = |dir: &str| -> Result<Vec<OsString>, String> {
            let mut v: Vec<OsString> = std::fs::read_dir(dir)
                .map_err(|e| format!("cannot list {dir}: {e}"))?
                .flatten()
                .map(|e| e.file_name())
                .collect();
            v.sort();
            Ok(v)
        };
        let theirs = names(&format!("/proc/{gofer}/root"))?;
        if theirs != names("/")? {
            return Err(format!(
                "gofer: its root is not the container's: {theirs:?}"
            ));
        }
        let c = std::ffi::CString::new(format!("/proc/{gofer}/root")).unwrap();
        // SAFETY: all-zero is a valid statvfs.
        let mut sv: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: statvfs into a live struct with a valid path.
        if unsafe { libc::statvfs(c.as_ptr(), &mut sv) } != 0 || sv.f_flag & libc::ST_RDONLY == 0 {
            return Err("gofer: its root is not read-only".into());
        }
        let ns = |p: &str| std::fs::read_link(format!("/proc/{p}/ns/mnt")).ok();
        if ns(&gofer.to_string()).is_none() || ns(&gofer.to_string()) == ns("self") {
            return Err("gofer: in the host's mount namespace".into());
        }
        for fd in std::fs::read_dir(format!("/proc/{pid}/fd"))
            .map_err(|e| format!("sentry fds: {e}"))?
            .flatten()
        {
            if std::fs::metadata(fd.path()).is_ok_and(|m| m.is_dir()) {
                return Err(format!(
                    "the sentry holds a host directory: fd {:?} -> {:?}",
                    fd.file_name(),
                    std::fs::read_link(fd.path())
                ));
            }
        }
        Ok(())
    };
    let r = check();
    let _ = child.kill();
    let _ = child.wait();
    r.map_err(Failed::from)
}

/// SIGKILL to the gofer mid-run ends the sandbox at once with a message
/// naming the gofer and status 125, and leaves no process behind.
fn gofer_killed_ends_sandbox(platform: &str) -> Result<(), Failed> {
    let mut child = Command::new(rvisor_bin())
        .args(["do", "--platform", platform, "--", "/bin/sleep", "30"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start rvisor: {e}"))?;
    let pid = child.id();
    let gofer = find_gofer(pid);
    let others = wait_for_stubs(pid, 3);
    let Some(gofer) = gofer else {
        let _ = child.kill();
        let _ = child.wait();
        return Err("no gofer process after 10 s".into());
    };
    // SAFETY: kills the gofer of the sandbox this test started.
    unsafe { libc::kill(gofer as i32, libc::SIGKILL) };
    let killed_at = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().map_err(|e| format!("wait: {e}"))? {
            break st;
        }
        if killed_at.elapsed() > Duration::from_secs(5) {
            let _ = child.kill();
            let _ = child.wait();
            return Err("rvisor still running 5 s after its gofer was killed".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    if status.code() != Some(125) || !stderr.contains("gofer") {
        return Err(format!(
            "expected status 125 and a message about the gofer: {status:?}, {stderr:?}"
        )
        .into());
    }
    none_left_within_a_second(others, Instant::now())
}

/// SIGKILL to `rvisor do` ends its gofer (and the rest) within a second.
fn cli_killed_ends_gofer(platform: &str) -> Result<(), Failed> {
    let mut child = spawn_quiet_sandbox(platform, &["/bin/sleep", "30"])?;
    let pid = child.id();
    let gofer = find_gofer(pid);
    let mut all = wait_for_stubs(pid, 3);
    let _ = child.kill();
    let killed_at = Instant::now();
    let _ = child.wait();
    let Some(gofer) = gofer else {
        return Err("no gofer process after 10 s".into());
    };
    all.push(gofer);
    none_left_within_a_second(all, killed_at)
}

/// `rvisor gofer --fd N --root DIR` (the gofer as a command of its own,
/// for a runtime that starts it apart) serves DIR on the socket it is
/// given, confined, and ends when the other end closes; bad arguments
/// are refused.
fn gofer_command() -> Result<(), Failed> {
    let dir = fresh_workdir("cli-gofer")?;
    std::fs::write(dir.join("file"), b"12345").map_err(|e| format!("{e}"))?;
    let mut sv = [0i32; 2];
    // SAFETY: socketpair into a live array.
    if unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_SEQPACKET, 0, sv.as_mut_ptr()) } != 0 {
        return Err("socketpair failed".into());
    }
    let theirs = sv[1];
    let mut cmd = Command::new(rvisor_bin());
    cmd.args(["gofer", "--fd", &theirs.to_string(), "--root"])
        .arg(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    let child = cmd.spawn();
    // SAFETY: closes our copy of the gofer's end.
    unsafe { libc::close(theirs) };
    let mut child = child.map_err(|e| format!("cannot start rvisor gofer: {e}"))?;
    // STAT of "file": op 1, path length 4, "file".
    let req = [1u8, 4, 0, 0, 0, b'f', b'i', b'l', b'e'];
    let mut buf = [0u8; 256];
    // SAFETY: send/recv on our own socket with live buffers.
    let n = unsafe {
        libc::send(sv[0], req.as_ptr().cast(), req.len(), 0);
        libc::recv(sv[0], buf.as_mut_ptr().cast(), buf.len(), 0)
    };
    // SAFETY: closing our end ends the gofer.
    unsafe { libc::close(sv[0]) };
    let status = child.wait().map_err(|e| format!("wait: {e}"))?;
    // Answer: status 0, then mode, uid, gid (u32 each), nlink, rdev, size.
    let word = |at: usize| u32::from_le_bytes(buf[at..at + 4].try_into().unwrap());
    let size = u64::from_le_bytes(buf[32..40].try_into().unwrap());
    if n < 40 || word(0) != 0 || word(4) & libc::S_IFMT != libc::S_IFREG || size != 5 {
        return Err(format!("bad answer ({n} bytes): {:?}", &buf[..n.max(0) as usize]).into());
    }
    if status.code() != Some(0) {
        return Err(format!("the gofer ended with {status:?} after its socket closed").into());
    }
    let bad = Command::new(rvisor_bin())
        .args(["gofer", "--fd", "0", "--root", "/"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("{e}"))?;
    if bad.code() != Some(2) {
        return Err(format!("a non-socket --fd gave {bad:?}, not 2").into());
    }
    Ok(())
}

/// `--debug-unconfined` runs the command with a warning on stderr.
fn debug_unconfined() -> Result<(), Failed> {
    let full: Vec<OsString> = [rvisor_bin().into_os_string()]
        .into_iter()
        .chain(
            ["do", "--debug-unconfined", "--", "/bin/sh", "-c", "echo ok"]
                .iter()
                .map(OsString::from),
        )
        .collect();
    let r = run_cmd(&full, Path::new("/"), None)?;
    let stderr = String::from_utf8_lossy(&r.stderr);
    if r.status == Some(0) && r.stdout == b"ok\n" && stderr.contains("--debug-unconfined") {
        Ok(())
    } else {
        Err(format!("expected ok and a warning\n{}", describe(&r, &full)).into())
    }
}

/// A `--cwd` that does not exist is a clear error of rvisor's own (125),
/// not a failure blamed on the command.
fn bad_cwd() -> Result<(), Failed> {
    let full: Vec<OsString> = [rvisor_bin().into_os_string()]
        .into_iter()
        .chain(
            ["do", "--cwd", "/nonexistent-rvisor-dir", "--", "/bin/true"]
                .iter()
                .map(OsString::from),
        )
        .collect();
    let r = run_cmd(&full, Path::new("/"), None)?;
    let stderr = String::from_utf8_lossy(&r.stderr);
    if r.status == Some(125) && stderr.contains("--cwd") && stderr.contains("No such file") {
        Ok(())
    } else {
        Err(format!(
            "expected status 125 and a message about --cwd\n{}",
            describe(&r, &full)
        )
        .into())
    }
}

/// An unknown platform is rejected with a message naming it.
/// `--syscall-patching off` leaves every syscall trapping (the probe finds
/// no trampolines), `on` is the default, anything else is refused.
fn syscall_patching_switch() -> Result<(), Failed> {
    let src = workspace_root().join("tests/c/sandbox/raw_syscalls.c");
    let bin = build_c(&src, "sandbox-raw_syscalls", false, &[])?;
    let bin = bin.to_string_lossy().into_owned();
    let cwd = fresh_workdir("cli-syscall-patching")?;
    let mut problems = Vec::new();
    for (value, want) in [("off", "fast=absent"), ("on", "fast_nodename=sbx-fast")] {
        let mut full = vec![rvisor_bin().into_os_string()];
        for a in [
            "do",
            "--platform",
            "trap",
            "--syscall-patching",
            value,
            "--",
            &bin,
        ] {
            full.push(a.into());
        }
        let r = run_cmd(&full, &cwd, None)?;
        let out = String::from_utf8_lossy(&r.stdout);
        if r.status != Some(0) || !out.lines().any(|l| l == want) {
            problems.push(format!(
                "with {value}: expected `{want}`\n{}",
                describe(&r, &full)
            ));
        }
    }
    let mut full = vec![rvisor_bin().into_os_string()];
    for a in ["do", "--syscall-patching", "maybe", "--", "/bin/true"] {
        full.push(a.into());
    }
    let r = run_cmd(&full, Path::new("/"), None)?;
    if r.status != Some(2) || !String::from_utf8_lossy(&r.stderr).contains("on or off") {
        problems.push(format!("expected a usage error\n{}", describe(&r, &full)));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n").into())
    }
}

/// `env [ENV...] rvisor do --platform P FLAGS... -- ARGV...`, run.
fn rvisor_with(
    env: &[&str],
    platform: &str,
    flags: &[&str],
    argv: &[&str],
    cwd: &Path,
) -> Result<(RunResult, Vec<OsString>), Failed> {
    let mut full: Vec<OsString> = vec!["/usr/bin/env".into()];
    full.extend(env.iter().map(OsString::from));
    full.push(rvisor_bin().into_os_string());
    for a in ["do", "--platform", platform]
        .iter()
        .chain(flags)
        .chain(&["--"])
    {
        full.push(a.into());
    }
    full.extend(argv.iter().map(OsString::from));
    Ok((run_cmd(&full, cwd, None)?, full))
}

/// A syscall kept in the sentry past `--watchdog-timeout` (by the
/// test-only hook) is reported once, naming the syscall, and the sandbox
/// still finishes; with `--watchdog-action panic` the report is followed
/// by the sandbox's end with status 125.
fn watchdog_stuck(platform: &str) -> Result<(), Failed> {
    let src = workspace_root().join("tests/c/sandbox/watchdog.c");
    let bin = build_c(&src, "sandbox-watchdog", false, &[])?;
    let bin = bin.to_string_lossy().into_owned();
    let cwd = fresh_workdir("sandbox-watchdog")?;
    let hook = "RVISOR_TEST_STUCK_SYSCALL=getppid:2.5";
    let mut problems = Vec::new();
    let (r, full) = rvisor_with(
        &[hook],
        platform,
        &["--watchdog-timeout", "1"],
        &[&bin],
        &cwd,
    )?;
    let err = String::from_utf8_lossy(&r.stderr);
    let reports = err
        .lines()
        .filter(|l| l.contains("rvisor: watchdog: task 1 ") && l.contains("in syscall getppid("))
        .count();
    if r.status != Some(0) || r.stdout != b"before\nafter: 1\n" || reports != 1 {
        problems.push(format!(
            "log: expected status 0, both lines and one report naming getppid\n{}",
            describe(&r, &full)
        ));
    }
    let flags = ["--watchdog-timeout", "1", "--watchdog-action", "panic"];
    let (r, full) = rvisor_with(&[hook], platform, &flags, &[&bin], &cwd)?;
    let err = String::from_utf8_lossy(&r.stderr);
    if r.status != Some(125)
        || r.stdout != b"before\n"
        || !err.contains("in syscall getppid(")
        || !err.contains("aborting the sandbox")
    {
        problems.push(format!(
            "panic: expected status 125 after a report naming getppid\n{}",
            describe(&r, &full)
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n").into())
    }
}

/// Tasks asleep in interruptible waits (a sleep, a read on an empty pipe,
/// a wait for a child) past the watchdog's timeout are not stuck.
fn watchdog_waits_are_not_stuck(platform: &str) -> Result<(), Failed> {
    let (r, full) = rvisor_with(
        &[],
        platform,
        &["--watchdog-timeout", "1"],
        &["/bin/sh", "-c", "sleep 3 | cat; echo done"],
        Path::new("/"),
    )?;
    if r.status == Some(0)
        && r.stdout == b"done\n"
        && !r.stderr.windows(8).any(|w| w == b"watchdog")
    {
        Ok(())
    } else {
        Err(format!("expected no watchdog report\n{}", describe(&r, &full)).into())
    }
}

fn bogus_platform() -> Result<(), Failed> {
    let argv: Vec<OsString> = ["do", "--platform", "bogus", "--", "/bin/true"]
        .iter()
        .map(OsString::from)
        .collect();
    let mut full = vec![rvisor_bin().into_os_string()];
    full.extend(argv);
    let r = run_cmd(&full, Path::new("/"), None)?;
    let stderr = String::from_utf8_lossy(&r.stderr);
    let ok = matches!(r.status, Some(s) if s != 0) && stderr.contains("bogus");
    if ok {
        Ok(())
    } else {
        Err(format!(
            "expected a non-zero exit status and a stderr message mentioning `bogus`\n{}",
            describe(&r, &full)
        )
        .into())
    }
}
