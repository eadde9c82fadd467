//! `--overlay` modes of `rvisor do` (`overlay::NAME::PLATFORM`):
//! where the sandbox's changes to its root go. Each test runs a static
//! busybox in a root of its own and looks at the host directory after.

use super::*;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};

pub fn trials(platforms: &[String], trials: &mut Vec<Trial>) {
    for platform in platforms {
        platform_trial(trials, "overlay::none_persists", platform, none_persists);
        platform_trial(
            trials,
            "overlay::file_memory_on_disk",
            platform,
            file_memory_on_disk,
        );
    }
    trials.push(Trial::test("overlay::bad_values", bad_values));
}

const BUSYBOX: &str = "/bin/busybox";

/// A root holding only `bin/busybox` and `tmp`.
pub fn busybox_root(label: &str) -> Result<PathBuf, Failed> {
    let base = fresh_workdir(label)?;
    let root = base.join("root");
    std::fs::create_dir_all(root.join("bin")).map_err(|e| format!("{e}"))?;
    std::fs::create_dir_all(root.join("tmp")).map_err(|e| format!("{e}"))?;
    std::fs::copy(BUSYBOX, root.join("bin/busybox"))
        .map_err(|e| format!("copying {BUSYBOX} (busybox-static): {e}"))?;
    Ok(root)
}

/// `rvisor do --platform P ARGS -- /bin/busybox sh -c SCRIPT` in `root`.
pub fn run_sh(
    platform: &str,
    root: &Path,
    args: &[&str],
    script: &str,
) -> Result<RunResult, Failed> {
    let mut argv: Vec<OsString> = vec![rvisor_bin().into(), "do".into()];
    for a in ["--platform", platform, "--cwd", "/", "--root"] {
        argv.push(a.into());
    }
    argv.push(root.into());
    argv.extend(args.iter().map(OsString::from));
    for a in ["--", "/bin/busybox", "sh", "-c", script] {
        argv.push(a.into());
    }
    let r = run_cmd(&argv, Path::new("/"), None)?;
    if r.status != Some(0) {
        return Err(format!("sandbox failed\n{}", describe(&r, &argv)).into());
    }
    Ok(r)
}

pub fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| format!("<{e}>"))
}

/// `--overlay=none`: what one run writes is on the host and there in the
/// next run (files, directories, links, FIFOs, modes, owners, times,
/// sizes, renames, removals); `--overlay=memory` (the default) changes
/// nothing on the host.
fn none_persists(platform: &str) -> Result<(), Failed> {
    let root = busybox_root(&format!("overlay-none-{platform}"))?;
    std::fs::write(root.join("tmp/old"), "host\n").map_err(|e| format!("{e}"))?;
    let first = "set -e; cd /; echo one > /data; mkdir -m 750 /dir; echo two > /dir/f; \
        ln -s f /dir/l; ln /dir/f /dir/h; mv /dir/h /dir/h2; chmod 640 /dir/f; \
        chown 12:34 /dir/f; mkfifo /dir/p; touch -d @1000000 /dir/f; \
        echo appended >> /tmp/old; rm /tmp/old; echo made > /tmp/new; \
        mkdir /gone; rmdir /gone; truncate -s 3 /tmp/new; sync; echo done";
    let r = run_sh(platform, &root, &["--overlay=none"], first)?;
    let mut problems = Vec::new();
    let mut want = |what: &str, ok: bool| {
        if !ok {
            problems.push(what.to_string());
        }
    };
    want(
        "stdout done",
        String::from_utf8_lossy(&r.stdout) == "done\n",
    );
    want("/data", read(&root.join("data")) == "one\n");
    let d = std::fs::metadata(root.join("dir")).ok();
    want(
        "/dir mode 750",
        d.is_some_and(|m| m.is_dir() && m.permissions().mode() & 0o777 == 0o750),
    );
    let f = std::fs::metadata(root.join("dir/f")).ok();
    want(
        "/dir/f 640, 12:34, 2 links, mtime 1000000, 4 bytes",
        f.is_some_and(|m| {
            m.permissions().mode() & 0o7777 == 0o640
                && (m.uid(), m.gid(), m.nlink(), m.mtime(), m.len()) == (12, 34, 2, 1_000_000, 4)
        }),
    );
    want(
        "/dir/h2 a link of /dir/f",
        read(&root.join("dir/h2")) == "two\n",
    );
    want("/dir/h gone", !root.join("dir/h").exists());
    want(
        "/dir/l -> f",
        std::fs::read_link(root.join("dir/l")).is_ok_and(|t| t == Path::new("f")),
    );
    want(
        "/dir/p a FIFO",
        std::fs::symlink_metadata(root.join("dir/p")).is_ok_and(|m| m.file_type().is_fifo()),
    );
    want("/tmp/old removed", !root.join("tmp/old").exists());
    want("/tmp/new truncated", read(&root.join("tmp/new")) == "mad");
    want("/gone removed", !root.join("gone").exists());
    // The second run sees it all and changes more.
    let second = "set -e; cat /data /dir/l /tmp/new; echo; stat -c '%a %u %g %h %Y' /dir/f; \
        mv /dir /dir2; rm /dir2/h2; echo again >> /data";
    let r = run_sh(platform, &root, &["--overlay=none"], second)?;
    want(
        "second run's view",
        String::from_utf8_lossy(&r.stdout) == "one\ntwo\nmad\n640 12 34 2 1000000\n",
    );
    want("/data appended", read(&root.join("data")) == "one\nagain\n");
    want(
        "/dir renamed",
        !root.join("dir").exists() && root.join("dir2/f").exists(),
    );
    want("/dir2/h2 removed", !root.join("dir2/h2").exists());
    // The default keeps changes in memory.
    let mem = "echo mem > /mem; echo changed > /data; rm /dir2/f; cat /data";
    let r = run_sh(platform, &root, &[], mem)?;
    want(
        "memory run's view",
        String::from_utf8_lossy(&r.stdout) == "changed\n",
    );
    want(
        "memory run left the host alone",
        !root.join("mem").exists()
            && read(&root.join("data")) == "one\nagain\n"
            && root.join("dir2/f").exists(),
    );
    if !problems.is_empty() {
        return Err(format!("wrong on the host: {}", problems.join(", ")).into());
    }
    let _ = std::fs::remove_dir_all(root.parent().unwrap_or(&root));
    Ok(())
}

/// Resident memory (kB) of `pid` and every process below it.
fn tree_rss_kb(pid: u32) -> u64 {
    let mut total = 0;
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        let status = std::fs::read_to_string(format!("/proc/{p}/status")).unwrap_or_default();
        total += status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or(0);
        todo.extend(host_children(p));
    }
    total
}

/// Writes `mib` MiB to a file in the sandbox, then reports the sandbox's
/// resident memory (every host process of it) while the file is still
/// there.
fn rss_after_writing(platform: &str, root: &Path, args: &[&str], mib: u32) -> Result<u64, Failed> {
    let script = format!(
        "dd if=/dev/zero of=/tmp/big bs=1M count={mib} 2>/dev/null; ls -l /tmp/big | \
         awk '{{print $5}}'; read x"
    );
    let mut cmd = Command::new(rvisor_bin());
    cmd.args(["do", "--platform", platform, "--cwd", "/", "--root"])
        .arg(root)
        .args(args)
        .args(["--", "/bin/busybox", "sh", "-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start rvisor: {e}"))?;
    let mut line = String::new();
    {
        use std::io::BufRead;
        let out = child.stdout.take().ok_or("no stdout")?;
        let _ = std::io::BufReader::new(out).read_line(&mut line);
    }
    let rss = tree_rss_kb(child.id());
    drop(child.stdin.take());
    let _ = child.kill();
    let _ = child.wait();
    let want = (u64::from(mib) << 20).to_string();
    if line.trim() != want {
        return Err(format!("the sandbox wrote {:?} bytes, not {want}", line.trim()).into());
    }
    Ok(rss)
}

/// `--overlay=file:DIR`: writing 512 MiB inside raises the sandbox's
/// resident memory by far less (the memory file is an unlinked file in
/// DIR, written with pwrite), where `--overlay=memory` keeps it all.
fn file_memory_on_disk(platform: &str) -> Result<(), Failed> {
    const MIB: u32 = 512;
    let root = busybox_root(&format!("overlay-file-{platform}"))?;
    let upper = root.parent().unwrap_or(&root).join("upper");
    std::fs::create_dir_all(&upper).map_err(|e| format!("{e}"))?;
    let spec = format!("--overlay=file:{}", upper.display());
    let on_disk = rss_after_writing(platform, &root, &[&spec], MIB)?;
    let in_memory = rss_after_writing(platform, &root, &[], MIB)?;
    let left: Vec<_> = std::fs::read_dir(&upper)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    let _ = std::fs::remove_dir_all(root.parent().unwrap_or(&root));
    if on_disk >= 200 << 10 || in_memory < u64::from(MIB) << 10 {
        return Err(format!(
            "resident after writing {MIB} MiB: {} MiB with the file overlay (want < 200), \
             {} MiB in memory (want >= {MIB})",
            on_disk >> 10,
            in_memory >> 10
        )
        .into());
    }
    if !left.is_empty() {
        return Err(format!("the memory file left names in DIR: {left:?}").into());
    }
    Ok(())
}

/// Bad `--overlay` values are refused with a message.
fn bad_values() -> Result<(), Failed> {
    for (v, msg) in [
        ("--overlay=bogus", "--overlay expects"),
        ("--overlay=file:", "--overlay expects"),
        (
            "--overlay=file:/nonexistent-dir-for-rvisor",
            "--overlay=file:",
        ),
    ] {
        refused_do_flag(v, msg)?;
    }
    Ok(())
}

/// `rvisor do FLAG -- /bin/true` must fail with a message containing `msg`.
pub fn refused_do_flag(flag: &str, msg: &str) -> Result<(), Failed> {
    let argv: Vec<OsString> = [rvisor_bin().into_os_string()]
        .into_iter()
        .chain(["do", flag, "--", "/bin/true"].iter().map(OsString::from))
        .collect();
    let r = run_cmd(&argv, Path::new("/"), None)?;
    let err = String::from_utf8_lossy(&r.stderr);
    if r.status == Some(0) || !err.contains(msg) {
        return Err(format!(
            "{flag}: want a failure naming {msg:?}\n{}",
            describe(&r, &argv)
        )
        .into());
    }
    Ok(())
}
