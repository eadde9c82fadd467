//! Mounts `rvisor do` adds over the root (`mounts::NAME::PLATFORM`):
//! `--tmpfs`, `--volume`. Each test runs a static busybox in a root of
//! its own (or python3 in the host's root) and looks at the host
//! directories after.

use super::overlay::{busybox_root, read, refused_do_flag, run_sh};
use super::*;

pub fn trials(platforms: &[String], trials: &mut Vec<Trial>) {
    for platform in platforms {
        platform_trial(trials, "mounts::tmpfs", platform, tmpfs);
        platform_trial(trials, "mounts::volume", platform, volume);
        platform_trial(trials, "mounts::volume_file", platform, volume_file);
        platform_trial(
            trials,
            "mounts::shared_file_access",
            platform,
            shared_file_access,
        );
        platform_trial(trials, "mounts::volume_xattr", platform, volume_xattr);
    }
    trials.push(Trial::test("mounts::bad_tmpfs", bad_tmpfs));
    trials.push(Trial::test("mounts::bad_volume", bad_volume));
}

fn io(e: std::io::Error) -> Failed {
    format!("{e}").into()
}

/// `--volume`: a read-write volume's changes reach the host directory,
/// a read-only one refuses every change with EROFS and the host keeps
/// it as it was; symlinks the host made in a volume that point out of it
/// (absolute, and `../`) resolve in the sandbox's view (where decoys
/// stand at those paths), never to the host's files; the mounts are
/// shown, and each volume is a device of its own.
fn volume(platform: &str) -> Result<(), Failed> {
    use std::os::unix::fs::symlink;
    let root = busybox_root(&format!("mounts-volume-{platform}"))?;
    let base = root.parent().unwrap_or(&root).to_path_buf();
    let (rw, ro) = (base.join("rw"), base.join("ro"));
    std::fs::create_dir_all(rw.join("sub")).map_err(io)?;
    std::fs::create_dir_all(&ro).map_err(io)?;
    std::fs::write(base.join("secret"), "host secret\n").map_err(io)?;
    std::fs::write(rw.join("old"), "old\n").map_err(io)?;
    std::fs::write(ro.join("keep"), "keep\n").map_err(io)?;
    symlink(base.join("secret"), rw.join("abs")).map_err(io)?;
    symlink("../secret", rw.join("rel")).map_err(io)?;
    symlink("../../secret", rw.join("sub/rel2")).map_err(io)?;
    // What those links name in the sandbox's view.
    let inside = root.join(base.strip_prefix("/").unwrap_or(&base));
    std::fs::create_dir_all(&inside).map_err(io)?;
    std::fs::write(inside.join("secret"), "decoy abs\n").map_err(io)?;
    std::fs::write(root.join("secret"), "decoy rel\n").map_err(io)?;
    let script = "cd /; grep -E ' /(data|ro) ' /proc/mounts; \
        cat /data/abs /data/rel /data/sub/rel2 /data/../secret; \
        cat /data/old /ro/keep; \
        echo new > /data/new; mkdir /data/dir; echo x > /data/dir/f; \
        mv /data/old /data/dir/old2; ln -s new /data/link; echo more >> /data/new; \
        for c in 'echo x > /ro/keep' 'echo x > /ro/n' 'mkdir /ro/d' 'rm /ro/keep' \
            'mv /ro/keep /ro/k2' 'chmod 777 /ro/keep' 'touch /ro/keep' 'ln -s a /ro/l'; do \
            sh -c \"$c\" 2>&1 | grep -q 'Read-only file system' && echo \"EROFS: $c\"; \
        done; \
        if ln /data/new /hard 2>/dev/null; then echo cross-mount link worked; fi; \
        d=$(stat -c %d /); v=$(stat -c %d /data); r=$(stat -c %d /ro); \
        [ $d != $v ] && [ $v != $r ] && [ $v = $(stat -c %d /data/new) ] && echo devices apart; \
        echo done";
    let rw_arg = format!("{}:/data", rw.display());
    let ro_arg = format!("--volume={}:/ro:ro", ro.display());
    let r = run_sh(platform, &root, &["-v", &rw_arg, &ro_arg], script)?;
    let want = "none /data 9p rw,nosuid,nodev,relatime 0 0\n\
        none /ro 9p ro,nosuid,nodev,relatime 0 0\n\
        decoy abs\ndecoy rel\ndecoy rel\ndecoy rel\nold\nkeep\n\
        EROFS: echo x > /ro/keep\nEROFS: echo x > /ro/n\nEROFS: mkdir /ro/d\n\
        EROFS: rm /ro/keep\nEROFS: mv /ro/keep /ro/k2\nEROFS: chmod 777 /ro/keep\n\
        EROFS: touch /ro/keep\nEROFS: ln -s a /ro/l\ndevices apart\ndone\n";
    let got = String::from_utf8_lossy(&r.stdout);
    let mut problems = Vec::new();
    if got != want {
        problems.push(format!("output {got:?}, want {want:?}"));
    }
    if read(&rw.join("new")) != "new\nmore\n" || read(&rw.join("dir/f")) != "x\n" {
        problems.push("the read-write volume's new files are not on the host".into());
    }
    if read(&rw.join("dir/old2")) != "old\n" || rw.join("old").exists() {
        problems.push("the rename in the volume did not reach the host".into());
    }
    if std::fs::read_link(rw.join("link")).ok() != Some(PathBuf::from("new")) {
        problems.push("the symlink made in the volume is not on the host".into());
    }
    let names: Vec<_> = std::fs::read_dir(&ro)
        .map_err(io)?
        .flatten()
        .map(|e| e.file_name())
        .collect();
    if read(&ro.join("keep")) != "keep\n" || names.len() != 1 {
        problems.push(format!("the read-only volume changed: {names:?}"));
    }
    if read(&base.join("secret")) != "host secret\n" || root.join("hard").exists() {
        problems.push("something outside the volumes changed".into());
    }
    let _ = std::fs::remove_dir_all(&base);
    verdict(&problems, &r)
}

/// `--volume FILE:PATH`: a single host file bound on a file, as engines
/// bind `/etc/hosts`: read, appended to (on the host after), stat'ed;
/// its mount point cannot be removed or renamed (EBUSY), a read-only one
/// refuses writes (EROFS); a mount point missing in the root is made
/// with its directories; a host symlink given as the source is followed
/// (as `mount(2)` does). While the sandbox runs, the host replaces the
/// file by a symlink to a secret: the sandbox keeps the file it was
/// given and never reaches the secret. The sides take turns through a
/// second bound file, rewritten in place.
fn volume_file(platform: &str) -> Result<(), Failed> {
    let root = busybox_root(&format!("mounts-volume-file-{platform}"))?;
    let base = root.parent().unwrap_or(&root).to_path_buf();
    std::fs::create_dir_all(root.join("etc")).map_err(io)?;
    std::fs::write(root.join("etc/hosts"), "the image's hosts\n").map_err(io)?;
    std::fs::write(base.join("hosts"), "127.0.0.1 localhost\n").map_err(io)?;
    std::fs::write(base.join("ro.txt"), "read only\n").map_err(io)?;
    std::fs::write(base.join("target"), "through a link\n").map_err(io)?;
    std::fs::write(base.join("secret"), "host secret\n").map_err(io)?;
    std::fs::write(base.join("sig"), "wait!\n").map_err(io)?;
    std::os::unix::fs::symlink(base.join("target"), base.join("link")).map_err(io)?;
    let script = "cd /; grep -E ' /(etc/hosts|ro.txt|new/dir/f) ' /proc/mounts; \
        cat /etc/hosts /ro.txt /new/dir/f; stat -c '%s %F' /etc/hosts; \
        echo appended >> /etc/hosts; stat -c '%s' /etc/hosts; \
        for c in 'rm /etc/hosts' 'mv /etc/hosts /etc/h2' 'mv /ro.txt /etc/hosts'; do \
            sh -c \"$c\" 2>&1 | grep -q 'busy' && echo \"EBUSY: $c\"; \
        done; \
        for c in 'echo x > /ro.txt' 'chmod 777 /ro.txt' 'touch /ro.txt' 'truncate -s 0 /ro.txt'; do \
            sh -c \"$c\" 2>&1 | grep -q 'Read-only file system' && echo \"EROFS: $c\"; \
        done; \
        cat /etc/hosts/.. 2>&1 | grep -q 'Not a directory' && echo ENOTDIR; \
        [ $(stat -c %d /) != $(stat -c %d /etc/hosts) ] && echo own device; \
        printf 'ready\\n' > /sig; i=0; \
        until grep -q gogo /sig || [ $i -ge 400 ]; do usleep 50000; i=$((i+1)); done; \
        grep -q gogo /sig || echo the host never said go; \
        cat /etc/hosts; echo done";
    let host = {
        let base = base.clone();
        thread::spawn(move || -> Result<(), String> {
            let end = Instant::now() + Duration::from_secs(20);
            while read(&base.join("sig")) != "ready\n" {
                if Instant::now() > end {
                    return Err("the sandbox never became ready".into());
                }
                thread::sleep(Duration::from_millis(10));
            }
            let e = |e: std::io::Error| e.to_string();
            std::os::unix::fs::symlink(base.join("secret"), base.join("swap")).map_err(e)?;
            std::fs::rename(base.join("swap"), base.join("hosts")).map_err(e)?;
            // In place, the same length: the sandbox reads it afresh.
            std::fs::OpenOptions::new()
                .write(true)
                .open(base.join("sig"))
                .and_then(|mut f| f.write_all(b"gogo!\n"))
                .map_err(e)
        })
    };
    let args = [
        format!("--volume={}:/etc/hosts", base.join("hosts").display()),
        format!("--volume={}:/ro.txt:ro", base.join("ro.txt").display()),
        format!("--volume={}:/new/dir/f", base.join("link").display()),
        format!("--volume={}:/sig", base.join("sig").display()),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = run_sh(platform, &root, &args, script);
    let host = host.join().map_err(|_| "the host side panicked")?;
    let r = r?;
    let want = "none /etc/hosts 9p rw,nosuid,nodev,relatime 0 0\n\
        none /ro.txt 9p ro,nosuid,nodev,relatime 0 0\n\
        none /new/dir/f 9p rw,nosuid,nodev,relatime 0 0\n\
        127.0.0.1 localhost\nread only\nthrough a link\n20 regular file\n29\n\
        EBUSY: rm /etc/hosts\nEBUSY: mv /etc/hosts /etc/h2\nEBUSY: mv /ro.txt /etc/hosts\n\
        EROFS: echo x > /ro.txt\nEROFS: chmod 777 /ro.txt\nEROFS: touch /ro.txt\n\
        EROFS: truncate -s 0 /ro.txt\nENOTDIR\nown device\n\
        127.0.0.1 localhost\nappended\ndone\n";
    let got = String::from_utf8_lossy(&r.stdout);
    let mut problems = Vec::new();
    if let Err(e) = host {
        problems.push(e);
    }
    if got != want {
        problems.push(format!("output {got:?}, want {want:?}"));
    }
    if read(&base.join("ro.txt")) != "read only\n" || read(&base.join("secret")) != "host secret\n"
    {
        problems.push("the read-only file or the secret changed".into());
    }
    if read(&root.join("etc/hosts")) != "the image's hosts\n" || root.join("new").exists() {
        problems.push("the root's file under the mount or a mount point changed".into());
    }
    let _ = std::fs::remove_dir_all(&base);
    verdict(&problems, &r)
}

/// Passes with no problems, else fails with them and the sandbox's stderr.
fn verdict(problems: &[String], r: &RunResult) -> Result<(), Failed> {
    if problems.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{}\nstderr: {}",
        problems.join("\n"),
        String::from_utf8_lossy(&r.stderr)
    )
    .into())
}

/// Waits up to 20 s for `p` to exist.
fn wait_for(p: &Path) -> bool {
    let end = Instant::now() + Duration::from_secs(20);
    while !p.exists() {
        if Instant::now() > end {
            return false;
        }
        thread::sleep(Duration::from_millis(10));
    }
    true
}

/// `--file-access=shared`: while the sandbox runs, the host rewrites a
/// file in place (longer), replaces another by a rename, makes one and
/// removes one, in a volume the sandbox has already looked at (listed,
/// read, stat'ed); the sandbox's next stat, open and listing see each
/// change. The two sides take turns through files in the volume (the
/// sandbox's lookup of `go` is itself a lookup of a file the host made
/// after the sandbox found it missing), each wait bounded.
fn shared_file_access(platform: &str) -> Result<(), Failed> {
    let root = busybox_root(&format!("mounts-shared-{platform}"))?;
    let base = root.parent().unwrap_or(&root).to_path_buf();
    let vol = base.join("vol");
    std::fs::create_dir_all(&vol).map_err(io)?;
    std::fs::write(vol.join("f"), "short\n").map_err(io)?;
    std::fs::write(vol.join("swap"), "old inode\n").map_err(io)?;
    std::fs::write(vol.join("gone"), "soon gone\n").map_err(io)?;
    let script = "cd /; ls /v | tr '\\n' ' '; echo; cat /v/f /v/swap; stat -c '%n %s' /v/f; \
        [ -e /v/new ] || echo no new yet; [ -e /v/go ] || echo no go yet; \
        touch /v/ready; i=0; \
        while [ ! -e /v/go ] && [ $i -lt 400 ]; do usleep 50000; i=$((i+1)); done; \
        [ -e /v/go ] || echo the host never said go; \
        cat /v/f /v/swap /v/new; stat -c '%n %s' /v/f; [ -e /v/gone ] || echo gone is gone; \
        ls /v | tr '\\n' ' '; echo";
    let host = {
        let vol = vol.clone();
        thread::spawn(move || -> Result<(), String> {
            if !wait_for(&vol.join("ready")) {
                return Err("the sandbox never became ready".into());
            }
            let e = |e: std::io::Error| e.to_string();
            // In place: the same inode, longer.
            std::fs::OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(vol.join("f"))
                .and_then(|mut f| f.write_all(b"longer contents\n"))
                .map_err(e)?;
            std::fs::write(vol.join("swap.tmp"), "new inode\n").map_err(e)?;
            std::fs::rename(vol.join("swap.tmp"), vol.join("swap")).map_err(e)?;
            std::fs::write(vol.join("new"), "made on the host\n").map_err(e)?;
            std::fs::remove_file(vol.join("gone")).map_err(e)?;
            std::fs::write(vol.join("go"), "").map_err(e)
        })
    };
    let v = format!("{}:/v", vol.display());
    let r = run_sh(
        platform,
        &root,
        &["--file-access=shared", "--volume", &v],
        script,
    );
    let host = host.join().map_err(|_| "the host side panicked")?;
    let _ = std::fs::remove_dir_all(&base);
    let r = r?;
    host?;
    let want = "f gone swap \nshort\nold inode\n/v/f 6\nno new yet\nno go yet\n\
        longer contents\nnew inode\nmade on the host\n/v/f 16\ngone is gone\n\
        f go new ready swap \n";
    let got = String::from_utf8_lossy(&r.stdout);
    if got != want {
        return Err(format!("output {got:?}, want {want:?}").into());
    }
    Ok(())
}

/// Extended attributes of a volume's files are the host's: one the host
/// set is read inside, what the sandbox sets or removes is on the host
/// after, a read-only volume's are read but not changed (EROFS).
fn volume_xattr(platform: &str) -> Result<(), Failed> {
    let base = fresh_workdir(&format!("mounts-xattr-{platform}"))?;
    let (rw, ro) = (base.join("rw"), base.join("ro"));
    std::fs::create_dir_all(&rw).map_err(io)?;
    std::fs::create_dir_all(&ro).map_err(io)?;
    for d in [&rw, &ro] {
        std::fs::write(d.join("f"), "f\n").map_err(io)?;
        set_xattr(&d.join("f"), "user.host", "from host")?;
    }
    let script = r#"
import os
for p in ('/rw/f', '/ro/f'):
    print(p, os.getxattr(p, 'user.host'))
os.setxattr('/rw/f', 'user.made', b'inside')
os.setxattr('/rw', 'user.dir', b'on a directory')
os.removexattr('/rw/f', 'user.host')
print(sorted(os.listxattr('/rw/f')))
try:
    os.getxattr('/rw/f', 'user.host')
except OSError as e:
    print('removed:', e.strerror)
for f in (lambda: os.setxattr('/ro/f', 'user.x', b'1'),
          lambda: os.removexattr('/ro/f', 'user.host')):
    try:
        f()
    except OSError as e:
        print('ro:', e.strerror)
"#;
    let mut argv: Vec<OsString> = vec![rvisor_bin().into(), "do".into()];
    for a in ["--platform", platform, "--cwd", "/"] {
        argv.push(a.into());
    }
    for (d, at) in [(&rw, ":/rw"), (&ro, ":/ro:ro")] {
        argv.push("--volume".into());
        let mut v = d.clone().into_os_string();
        v.push(at);
        argv.push(v);
    }
    for a in ["--", "python3", "-c", script] {
        argv.push(a.into());
    }
    let r = run_cmd(&argv, Path::new("/"), None)?;
    let want = "/rw/f b'from host'\n/ro/f b'from host'\n['user.made']\n\
        removed: No data available\nro: Read-only file system\nro: Read-only file system\n";
    let got = String::from_utf8_lossy(&r.stdout);
    let mut problems = Vec::new();
    if r.status != Some(0) || got != want {
        problems.push(format!(
            "output {got:?}, want {want:?}\n{}",
            describe(&r, &argv)
        ));
    }
    let host = |p: &Path, n: &str| get_xattr(p, n);
    if host(&rw.join("f"), "user.made").as_deref() != Some("inside")
        || host(&rw, "user.dir").as_deref() != Some("on a directory")
        || host(&rw.join("f"), "user.host").is_some()
    {
        problems.push("the sandbox's xattr changes are not on the host".into());
    }
    if host(&ro.join("f"), "user.host").as_deref() != Some("from host")
        || host(&ro.join("f"), "user.x").is_some()
    {
        problems.push("the read-only volume's xattrs changed".into());
    }
    let _ = std::fs::remove_dir_all(&base);
    if !problems.is_empty() {
        return Err(problems.join("\n").into());
    }
    Ok(())
}

fn c_path(p: &Path) -> Result<std::ffi::CString, Failed> {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::CString::new(p.as_os_str().as_bytes()).map_err(|e| format!("{e}").into())
}

fn set_xattr(p: &Path, name: &str, value: &str) -> Result<(), Failed> {
    let (cp, cn) = (
        c_path(p)?,
        std::ffi::CString::new(name).map_err(|e| format!("{e}"))?,
    );
    // SAFETY: valid NUL-terminated strings and a live value buffer.
    let r = unsafe {
        libc::setxattr(
            cp.as_ptr(),
            cn.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    if r != 0 {
        return Err(format!(
            "setxattr {}: {}",
            p.display(),
            std::io::Error::last_os_error()
        )
        .into());
    }
    Ok(())
}

fn get_xattr(p: &Path, name: &str) -> Option<String> {
    let (cp, cn) = (c_path(p).ok()?, std::ffi::CString::new(name).ok()?);
    let mut buf = [0u8; 256];
    // SAFETY: valid NUL-terminated strings and a live buffer of its length.
    let n = unsafe { libc::getxattr(cp.as_ptr(), cn.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    (n >= 0).then(|| String::from_utf8_lossy(&buf[..n as usize]).into_owned())
}

/// Bad `--volume` and `--file-access` values are refused with a message.
fn bad_volume() -> Result<(), Failed> {
    for (v, msg) in [
        ("--volume=/tmp", "--volume expects"),
        ("--volume=/tmp:relative", "--volume expects"),
        ("--volume=/tmp:/x:rx", "--volume expects"),
        ("--volume=/nonexistent-dir:/x", "No such file"),
        (
            "--volume=/dev/null:/x",
            "neither a directory nor a regular file",
        ),
        ("--volume=/proc/self/mounts:/bin", "cannot mount"),
        ("--file-access=sometimes", "--file-access expects"),
    ] {
        refused_do_flag(v, msg)?;
    }
    Ok(())
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
