//! The escape suite: `escape::NAME::PLATFORM`, one trial per
//! `tests/escape/NAME.c` (see `tests/escape/escape.h` for the protocol).
//!
//! Each program runs under `rvisor do --root ROOT` where ROOT is a small
//! directory next to (not above) a marker file holding a secret token,
//! with a host FIFO and a listening host unix socket that hand out the
//! token, and a host `sleep` whose pid it gets. It passes when:
//! - it exits 0, made at least one `ATTEMPT`, and no attempt says
//!   `reached`, and the token is nowhere in its output;
//! - every `CONTROL` line (the same technique aimed at something of the
//!   sandbox's own) says `ok`, and there is at least one control unless
//!   the program is also run natively;
//! - the host is as it was: the marker, the files next to the root and
//!   in it, the hostname, the host's mounts, `core_pattern`,
//!   `uevent_helper`, the `sleep` alive;
//! - for programs marked `// escape: native`: run natively with its
//!   working directory at ROOT (as root), at least one attempt does reach
//!   the marker or host process, so the attempt is a real one.
//!
//! Programs marked `// escape: volumes` also get two volumes next to the
//! marker (`--volume BASE/vol:/vol` and `--volume BASE/rovol:/rovol:ro`):
//! `vol` holds symlinks the host made that point at the marker
//! (`abs` absolute, `rel` = `../marker`, `sub/rel2` = `../../marker`) and
//! a decoy `file`; `rovol` a decoy `file`. They also get two single
//! files next to the marker bound on files (`BASE/single:/single`,
//! `BASE/rosingle:/rosingle:ro`), each a decoy: the directory holding
//! them (and the marker) must stay out of reach.
//!
//! A new attempt is one new `.c` file.

use super::*;

pub fn trials(platforms: &[String], trials: &mut Vec<Trial>) {
    let dir = workspace_root().join("tests/escape");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "c"));
    files.sort();
    for src in files {
        let name = src
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(&src).unwrap_or_default();
        let native = text.lines().any(|l| l.trim() == "// escape: native");
        let volumes = text.lines().any(|l| l.trim() == "// escape: volumes");
        for platform in platforms {
            let (s, n, p) = (src.clone(), name.clone(), platform.clone());
            trials.push(Trial::test(
                format!("escape::{name}::{platform}"),
                move || run_escape(&s, &n, native, volumes, &p),
            ));
        }
    }
}

/// What of the host an escape could change, read before and after.
fn host_state(base: &Path, helper: u32) -> Vec<String> {
    let mut s = Vec::new();
    let mut walk = vec![base.to_path_buf()];
    while let Some(d) = walk.pop() {
        let mut names: Vec<_> = std::fs::read_dir(&d)
            .map(|r| r.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        names.sort();
        for p in names {
            let meta = std::fs::symlink_metadata(&p);
            let content = if meta.as_ref().is_ok_and(|m| m.is_file()) {
                std::fs::read(&p).map(|b| b.len()).unwrap_or(0)
            } else {
                0
            };
            s.push(format!("{} {content}", p.display()));
            if meta.is_ok_and(|m| m.is_dir()) {
                walk.push(p);
            }
        }
    }
    s.push(format!("marker {:?}", std::fs::read(base.join("marker"))));
    for f in [
        "/proc/sys/kernel/hostname",
        "/proc/sys/kernel/core_pattern",
        "/sys/kernel/uevent_helper",
    ] {
        s.push(format!("{f} {:?}", std::fs::read_to_string(f).ok()));
    }
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    s.push(format!("mounts {}", mounts.lines().count()));
    s.push(format!("helper alive {}", host_alive(helper)));
    s
}

/// Hands `token` to whoever opens the FIFO for reading or connects to
/// the socket, until `stop`.
fn serve_token(
    fifo: PathBuf,
    listener: Option<std::os::unix::net::UnixListener>,
    token: String,
    stop: Arc<AtomicUsize>,
) {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(l) = &listener {
        let _ = l.set_nonblocking(true);
    }
    while stop.load(Ordering::Relaxed) == 0 {
        // O_NONBLOCK: ENXIO until a reader has it open.
        if let Ok(mut w) = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo)
        {
            let _ = w.write_all(token.as_bytes());
        }
        if let Some(Ok((mut c, _))) = listener.as_ref().map(|l| l.accept()) {
            let _ = c.write_all(token.as_bytes());
        }
        thread::sleep(Duration::from_millis(5));
    }
}

fn check_output(out: &str, token: &str, need_control: bool) -> Vec<String> {
    let mut problems = Vec::new();
    if !out.lines().any(|l| l.starts_with("ATTEMPT ")) {
        problems.push("no attempt was made".to_string());
    }
    for l in out.lines() {
        if l.starts_with("ATTEMPT ") && l.contains(": reached") {
            problems.push(format!("ESCAPED: {l}"));
        }
        if l.starts_with("CONTROL ") && !l.ends_with(": ok") {
            problems.push(format!(
                "control failed (the attempt did not run as meant): {l}"
            ));
        }
    }
    if out.contains(token) {
        problems.push("the marker's secret is in the output".to_string());
    }
    if need_control && !out.lines().any(|l| l.starts_with("CONTROL ")) {
        problems.push("no control line".to_string());
    }
    problems
}

/// The volumes of `// escape: volumes` programs, under `base`.
fn make_volumes(base: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::symlink;
    let (vol, rovol) = (base.join("vol"), base.join("rovol"));
    std::fs::create_dir_all(vol.join("sub"))?;
    std::fs::create_dir_all(&rovol)?;
    std::fs::write(vol.join("file"), "DECOY\n")?;
    std::fs::write(rovol.join("file"), "DECOY\n")?;
    std::fs::write(base.join("single"), "DECOY\n")?;
    std::fs::write(base.join("rosingle"), "DECOY\n")?;
    symlink(base.join("marker"), vol.join("abs"))?;
    symlink("../marker", vol.join("rel"))?;
    symlink("../../marker", vol.join("sub/rel2"))?;
    Ok(())
}

fn run_escape(
    src: &Path,
    name: &str,
    native: bool,
    volumes: bool,
    platform: &str,
) -> Result<(), Failed> {
    let bin = build_c(
        src,
        &format!("escape-{name}"),
        true,
        &[
            "-I".to_string(),
            workspace_root().join("tests/escape").display().to_string(),
        ],
    )?;
    let base = fresh_workdir(&format!("escape-{name}-{platform}"))?;
    let root = base.join("root");
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let token = format!("HOST-MARKER-{}-{nanos:x}", std::process::id());
    let (fifo, sock) = (base.join("host.fifo"), base.join("host.sock"));
    let setup = || -> std::io::Result<()> {
        std::fs::create_dir_all(root.join("bin"))?;
        std::fs::create_dir_all(root.join("tmp"))?;
        std::fs::copy(&bin, root.join("bin/probe"))?;
        std::fs::write(base.join("marker"), format!("{token}\n"))?;
        if volumes {
            make_volumes(&base)?;
        }
        let ok = Command::new("mkfifo").arg(&fifo).status()?.success();
        if !ok {
            return Err(std::io::Error::other("mkfifo failed"));
        }
        Ok(())
    };
    setup().map_err(|e| format!("cannot build the test root: {e}"))?;
    let mut helper = Command::new("sleep")
        .arg("60")
        .spawn()
        .map_err(|e| format!("cannot start the host helper: {e}"))?;
    let stop = Arc::new(AtomicUsize::new(0));
    let listener = std::os::unix::net::UnixListener::bind(&sock).ok();
    let server = {
        let (f, t, st) = (fifo.clone(), token.clone(), stop.clone());
        thread::spawn(move || serve_token(f, listener, t, st))
    };
    let disk = std::fs::metadata(base.join("marker"))
        .map(|m| {
            use std::os::unix::fs::MetadataExt;
            let d = m.dev();
            format!("{}:{}", libc::major(d), libc::minor(d))
        })
        .unwrap_or_default();
    let args: Vec<OsString> = [
        base.join("marker").into_os_string(),
        base.clone().into_os_string(),
        helper.id().to_string().into(),
        fifo.clone().into_os_string(),
        sock.clone().into_os_string(),
        disk.into(),
    ]
    .into();
    let before = host_state(&base, helper.id());
    let mut full: Vec<OsString> = [rvisor_bin().into_os_string()].into();
    for a in ["do", "--platform", platform, "--cwd", "/", "--root"] {
        full.push(a.into());
    }
    full.push(root.clone().into_os_string());
    if volumes {
        for (host, opt) in [
            ("vol", "/vol"),
            ("rovol", "/rovol:ro"),
            ("single", "/single"),
            ("rosingle", "/rosingle:ro"),
        ] {
            let mut v = base.join(host).into_os_string();
            v.push(":");
            v.push(opt);
            full.extend(["--volume".into(), v]);
        }
    }
    full.extend(["--".into(), "/bin/probe".into()]);
    full.extend(args.iter().cloned());
    let result = (|| -> Result<(), Failed> {
        let r = run_cmd(&full, Path::new("/"), None)?;
        let out = String::from_utf8_lossy(&r.stdout).into_owned();
        let mut problems = check_output(&out, &token, !native);
        if String::from_utf8_lossy(&r.stderr).contains(&token) {
            problems.push("the marker's secret is in the sandbox's stderr".into());
        }
        if r.status != Some(0) {
            problems.push(format!("exit status {}", status_str(r.status)));
        }
        let after = host_state(&base, helper.id());
        for (b, a) in before.iter().zip(after.iter()) {
            if b != a {
                problems.push(format!("ESCAPED: the host changed: {b} -> {a}"));
            }
        }
        if before.len() != after.len() {
            problems.push(format!(
                "ESCAPED: the host changed: {before:?} -> {after:?}"
            ));
        }
        if !problems.is_empty() {
            return Err(format!("{}\n{}", problems.join("\n"), describe(&r, &full)).into());
        }
        if native {
            // The same program, natively with its working directory at the
            // root, must get through somewhere.
            let mut nat: Vec<OsString> = vec![root.join("bin/probe").into_os_string()];
            nat.extend(args.iter().cloned());
            let n = run_cmd(&nat, &root, None)?;
            let nout = String::from_utf8_lossy(&n.stdout);
            let reached = nout
                .lines()
                .any(|l| l.starts_with("ATTEMPT ") && l.contains(": reached"));
            if !reached {
                return Err(format!(
                    "natively no attempt got through: the test cannot fail\n{}",
                    describe(&n, &nat)
                )
                .into());
            }
        }
        Ok(())
    })();
    stop.store(1, Ordering::Relaxed);
    let _ = server.join();
    let _ = helper.kill();
    let _ = helper.wait();
    let _ = std::fs::remove_dir_all(&base);
    result
}
