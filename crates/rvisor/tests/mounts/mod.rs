//! Mounts `rvisor do` adds over the root (`mounts::NAME::PLATFORM`):
//! `--tmpfs`. Each test runs a static busybox in a root of its own and
//! looks at the host directory after.

use super::overlay::{busybox_root, read, refused_do_flag, run_sh};
use super::*;

pub fn trials(platforms: &[String], trials: &mut Vec<Trial>) {
    for platform in platforms {
        let p = platform.clone();
        trials.push(Trial::test(
            format!("mounts::tmpfs::{platform}"),
            move || tmpfs(&p),
        ));
    }
    trials.push(Trial::test("mounts::bad_tmpfs", bad_tmpfs));
}

/// `--tmpfs`: a new, empty filesystem with the options given, over a
/// directory of the root (hiding its files) or at a path the root lacks;
/// what is written there stays in the sandbox even with
/// `--overlay=none`, while writes elsewhere still reach the host.
fn tmpfs(platform: &str) -> Result<(), Failed> {
    let root = busybox_root(&format!("mounts-tmpfs-{platform}"))?;
    std::fs::write(root.join("tmp/old"), "host\n").map_err(|e| format!("{e}"))?;
    let script = "set -e; grep -E ' /(tmp|scratch) ' /proc/mounts; \
        stat -c '%n %a %u %g' /tmp /scratch; ls -A /tmp; \
        echo in > /tmp/new; echo in > /scratch/f; cat /tmp/new /scratch/f; \
        echo out > /outside; \
        if ln /tmp/new /linked 2>/dev/null; then echo cross-mount link worked; fi; \
        echo done";
    let r = run_sh(
        platform,
        &root,
        &[
            "--overlay=none",
            "--tmpfs",
            "/tmp",
            "--tmpfs=/scratch:size=1m,mode=700,uid=12,gid=34",
        ],
        script,
    )?;
    let want = "tmpfs /tmp tmpfs rw,nosuid,nodev,relatime 0 0\n\
        tmpfs /scratch tmpfs rw,nosuid,nodev,relatime,size=1m,mode=700,uid=12,gid=34 0 0\n\
        /tmp 1777 0 0\n/scratch 700 12 34\nin\nin\ndone\n";
    let got = String::from_utf8_lossy(&r.stdout);
    let mut problems = Vec::new();
    if got != want {
        problems.push(format!("output {got:?}, want {want:?}"));
    }
    if read(&root.join("tmp/old")) != "host\n" || root.join("tmp/new").exists() {
        problems.push("the host's /tmp changed".into());
    }
    if root.join("scratch").exists() || root.join("linked").exists() {
        problems.push("a tmpfs write or its mount point reached the host".into());
    }
    if read(&root.join("outside")) != "out\n" {
        problems.push("a write outside the tmpfs did not reach the host".into());
    }
    let _ = std::fs::remove_dir_all(root.parent().unwrap_or(&root));
    if !problems.is_empty() {
        return Err(problems.join("\n").into());
    }
    Ok(())
}

/// Bad `--tmpfs` values are refused with a message.
fn bad_tmpfs() -> Result<(), Failed> {
    for (v, msg) in [
        ("--tmpfs=relative", "--tmpfs expects"),
        ("--tmpfs=/x:bogus=1", "bad options"),
        ("--tmpfs=/x:mode=9", "bad options"),
        ("--tmpfs=/bin/true", "cannot mount"),
    ] {
        refused_do_flag(v, msg)?;
    }
    Ok(())
}
