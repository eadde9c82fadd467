//! The sandbox side of `exec`: a new process in the running container,
//! built from an OCI process description by the kernel
//! (`kernel::process::prepare_process`: no parent inside the container, a
//! session of its own, the container's namespaces and root: init's, or a
//! pod container's, `member.rs`), its
//! standard streams the host descriptors the CLI passed, or with a
//! terminal a sandbox pty relayed to the host terminal passed.

use std::os::fd::OwnedFd;
use std::sync::Arc;

use abi::Errno;
use kernel::process::{InitSpec, PreparedInit, Stdio};
use kernel::{Kernel, ThreadGroup};

use super::bundle;
use crate::terminal::HostTerminal;

/// An exec'd process, running.
pub struct Spawned {
    pub tg: Arc<ThreadGroup>,
    term: Option<HostTerminal>,
}

/// A pod container's namespaces and root (`member.rs`); `None` where a
/// function takes one: the sandbox's first container.
pub struct Place {
    pub ns: Arc<kernel::ns::Namespaces>,
    pub root: Arc<vfs::dentry::Dentry>,
}

/// A process built from an OCI process description, not running yet.
pub struct Prepared {
    pub init: PreparedInit,
    pub term: Option<HostTerminal>,
}

impl Prepared {
    /// Lets it run (its terminal's output copied from now on).
    pub fn start(self, kernel: &Arc<Kernel>) -> Result<Spawned, String> {
        let tg = self
            .init
            .start_orphan(kernel)
            .map_err(|e| format!("cannot start: {}", std::io::Error::from_raw_os_error(e.0)))?;
        if let Some(t) = &self.term {
            t.start_copying();
        }
        Ok(Spawned {
            tg,
            term: self.term,
        })
    }
}

/// Starts the process `process` describes, in `place`.
pub fn spawn(
    kernel: &Arc<Kernel>,
    place: Option<&Place>,
    process: serde_json::Value,
    tty: bool,
    fds: Vec<OwnedFd>,
) -> Result<Spawned, String> {
    prepare(kernel, place, process, tty, fds)?.start(kernel)
}

/// Builds the process `process` describes, in `place`, without starting
/// it: a pod container's init.
pub fn prepare(
    kernel: &Arc<Kernel>,
    place: Option<&Place>,
    process: serde_json::Value,
    tty: bool,
    fds: Vec<OwnedFd>,
) -> Result<Prepared, String> {
    let p: oci_spec::runtime::Process =
        serde_json::from_value(process).map_err(|e| format!("malformed process: {e}"))?;
    let parts = bundle::process_parts(&p);
    let Some(arg0) = parts.argv.first().cloned() else {
        return Err("process.args must not be empty".into());
    };
    let (uid, gid, groups) = parts.user;
    let creds = kernel::process::creds_for(uid, gid, groups, parts.extras.caps.as_ref());
    let vfs = &kernel.vfs;
    let mut fds = fds.into_iter();
    let (files, term) = if tty {
        let fd = fds
            .next()
            .ok_or("exec -t: no terminal came with the request")?;
        let term = HostTerminal::on_owned(vfs, uid, fd)
            .ok_or("exec -t: the descriptor passed is not a terminal")?;
        (vec![term.slave.clone(); 3], Some(term))
    } else {
        let files: Vec<_> = fds.by_ref().take(3).map(host_file).collect();
        if files.len() != 3 {
            return Err("exec: three standard streams must come with the request".into());
        }
        (files, None)
    };
    let (ns, root) = match place {
        Some(p) => (p.ns.clone(), p.root.clone()),
        None => {
            let init = kernel.find_task(1).ok_or("the container's init is gone")?;
            let ns = kernel::task::lock(&init.ns).clone();
            (ns, vfs.root.clone())
        }
    };
    let cmd = vfs::mount::with_current(&ns.mnt.ns, || {
        crate::sandbox::find_command(vfs, &root, &arg0, &parts.env, parts.cwd.as_bytes())
    });
    let spec = InitSpec {
        path: &cmd,
        argv: parts.argv.iter().map(|a| a.as_bytes().to_vec()).collect(),
        envp: parts.env.iter().map(|e| e.as_bytes().to_vec()).collect(),
        cwd: parts.cwd.as_bytes(),
        stdio: Stdio {
            files,
            ctty: term.as_ref().map(|t| t.tty().clone()),
        },
        creds,
        extras: parts.extras,
    };
    let init = kernel::process::prepare_process(kernel, spec, ns, root).map_err(|e| match e {
        Errno::ENOENT if !arg0.contains('/') => {
            format!("exec: {arg0:?}: executable file not found in $PATH")
        }
        e => format!("exec: {arg0:?}: {}", std::io::Error::from_raw_os_error(e.0)),
    })?;
    Ok(Prepared { init, term })
}

impl Spawned {
    /// Waits for the process to end, reaps it and returns its wait
    /// status, its terminal output written out.
    pub fn wait(self, kernel: &Kernel) -> i32 {
        let w = Arc::new(waiter::Waiter::new());
        let _reg = self.tg.exit_events.register(&w, waiter::events::ALL);
        let status = loop {
            if let Some(st) = kernel::process::reap_orphan(kernel, &self.tg) {
                break st;
            }
            // Counted as running while it sleeps (see terminal.rs).
            let _running = waiter::TaskRunning::start();
            w.wait(None);
        };
        if let Some(t) = &self.term {
            t.drain();
        }
        status
    }
}

/// A passed descriptor as a sandbox file (a standard stream).
fn host_file(fd: OwnedFd) -> Arc<vfs::File> {
    use std::os::fd::AsRawFd;
    // SAFETY: F_GETFL on a descriptor we own.
    let fl = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) } as u32;
    vfs::File::new(
        None,
        fl & (abi::fs::O_ACCMODE | abi::fs::O_APPEND),
        Box::new(vfs::hostfd::HostFdOps::passed(fd)),
    )
}
