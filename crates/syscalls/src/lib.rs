//! System calls: the table and thin handlers that decode arguments, call the
//! layer that owns the work and encode the result.

pub mod admin;
pub mod aio;
pub mod epoll;
pub mod fanotify;
pub mod file;
pub mod fs;
pub mod hostinet;
pub mod inet;
pub mod inotify;
pub mod ioacct;
pub mod ipc;
pub mod keys;
pub mod landlock;
pub mod memfd;
pub mod misc;
pub mod mm;
pub mod mount;
pub mod net;
pub mod ns;
pub mod poll;
pub mod process;
pub mod ptrace;
pub mod sched;
pub mod seccomp;
pub mod signal;
pub mod splice;
pub mod table;
pub mod time;
pub mod timer;
pub mod timerfd;
pub mod user_dispatch;
pub mod userfaultfd;
pub mod util;
pub mod xattr;

use abi::{Errno, SysResult};
use kernel::Task;

pub type Handler = fn(&mut Task, [u64; 6]) -> SysResult<u64>;

/// How completely a syscall is implemented.
#[derive(Clone, Copy, Debug)]
pub enum Status {
    Full,
    /// Implemented with the stated gaps.
    Partial(&'static str),
    /// Not implemented: returns `ENOSYS`.
    Enosys,
    /// Deliberately not implemented (returns `ENOSYS`), for the stated
    /// reason.
    EnosysBecause(&'static str),
}

pub struct Entry {
    pub name: &'static str,
    pub handler: Option<Handler>,
    pub status: Status,
}

/// Serves the syscall in `task.regs`. The kernel's run loop calls this.
pub fn dispatch(task: &mut Task) -> SysResult<u64> {
    let mut nr = task.regs.orig_rax;
    let mut args = task.regs.syscall_args();
    if let Some(ud) = task.user_dispatch {
        if let Some(r) = user_dispatch::check(task, nr, ud) {
            return r;
        }
    }
    if task
        .shared
        .seccomp_sync
        .load(std::sync::atomic::Ordering::Relaxed)
    {
        seccomp::take_sync(task);
    }
    if !task.seccomp.is_empty() {
        if let Some(r) = seccomp::check(task, nr, &args) {
            return r;
        }
        // A tracer may have changed the call at a seccomp stop.
        nr = task.regs.orig_rax;
        args = task.regs.syscall_args();
    }
    let entry = table::TABLE.get(nr as usize);
    let r = match entry.and_then(|e| e.handler) {
        Some(h) => {
            if let Some(&(n, d)) = task.kernel.stuck_test.get() {
                if n == nr {
                    // Test only: a call stuck where nothing interrupts it.
                    std::thread::sleep(d);
                }
            }
            if task.kernel.strace {
                return traced(task, nr, h, args);
            }
            h(task, args)
        }
        None => {
            let name = entry.map_or("", |e| e.name);
            task.kernel.report_once(nr, || {
                format!("rvisor: unsupported syscall {nr} ({name}): returning ENOSYS")
            });
            Err(Errno::ENOSYS)
        }
    };
    if task.kernel.strace && entry.and_then(|e| e.handler).is_none() {
        let name = entry.map_or("", |e| e.name);
        task.kernel.log_line(&format!(
            "[{}] {}({}) = -1 ENOSYS",
            task.tid(),
            display_name(name, nr),
            fmt_args(task, nr, &args)
        ));
    }
    r
}

fn display_name(name: &str, nr: u64) -> String {
    if name.is_empty() {
        format!("syscall_{nr}")
    } else {
        name.to_string()
    }
}

/// Which arguments are path strings, for `--strace`.
fn string_args(name: &str) -> &'static [usize] {
    match name {
        "open" | "stat" | "lstat" | "access" | "execve" | "mkdir" | "unlink" | "rmdir"
        | "readlink" | "chdir" | "chmod" | "chown" | "lchown" | "truncate" | "creat" | "statfs"
        | "mknod" | "utime" | "utimes" => &[0],
        "openat" | "newfstatat" | "statx" | "faccessat" | "faccessat2" | "mkdirat" | "unlinkat"
        | "readlinkat" | "fchmodat" | "fchownat" | "utimensat" | "mknodat" | "execveat"
        | "futimesat" | "fchmodat2" => &[1],
        "rename" | "symlink" | "link" => &[0, 1],
        "renameat" | "renameat2" | "linkat" => &[1, 3],
        "symlinkat" => &[0, 2],
        "write" | "sethostname" => &[1],
        _ => &[],
    }
}

fn fmt_args(task: &Task, nr: u64, args: &[u64; 6]) -> String {
    let name = table::TABLE.get(nr as usize).map_or("", |e| e.name);
    let strs = string_args(name);
    let mut out = Vec::new();
    for (i, &a) in args.iter().enumerate() {
        if strs.contains(&i) {
            let s = if name == "write" || name == "sethostname" {
                let n = (args[2] as usize).min(32);
                let mut b = vec![0u8; n];
                task.mm().copy_in(a, &mut b).map(|_| b)
            } else {
                task.mm().read_cstring(a, 4096)
            };
            out.push(match s {
                Ok(b) => format!("{:?}", String::from_utf8_lossy(&b)),
                Err(_) => format!("{a:#x}"),
            });
        } else if (a as i64).unsigned_abs() < 0x10000 {
            out.push(format!("{}", a as i64));
        } else {
            out.push(format!("{a:#x}"));
        }
    }
    out.join(", ")
}

fn traced(task: &mut Task, nr: u64, h: Handler, args: [u64; 6]) -> SysResult<u64> {
    let name = table::TABLE.get(nr as usize).map_or("", |e| e.name);
    let before = fmt_args(task, nr, &args);
    let tid = task.tid();
    let r = h(task, args);
    let res = match &r {
        Ok(v) if *v > 0xffff => format!("{v:#x}"),
        Ok(v) => format!("{v}"),
        Err(e) => format!("-1 {e:?}"),
    };
    task.kernel
        .log_line(&format!("[{tid}] {name}({before}) = {res}"));
    r
}

/// A syscall's name from the table ("" if it has none).
pub fn name(nr: u64) -> &'static str {
    table::TABLE.get(nr as usize).map_or("", |e| e.name)
}

/// A syscall's number by name.
pub fn number(name: &str) -> Option<u64> {
    table::TABLE
        .iter()
        .position(|e| !e.name.is_empty() && e.name == name)
        .map(|n| n as u64)
}

/// `docs/syscalls.md`: the table as Markdown.
pub fn table_markdown() -> String {
    let mut s = String::from(
        "# System calls\n\nGenerated from the syscall table (`crates/syscalls/src/table.rs`) by\n`rvisor help syscalls`; do not edit by hand.\n\n",
    );
    let (mut full, mut partial, mut enosys) = (0, 0, 0);
    let mut rows = String::new();
    for (nr, e) in table::TABLE.iter().enumerate() {
        if e.name.is_empty() {
            continue;
        }
        let (st, note) = match e.status {
            Status::Full => {
                full += 1;
                ("full", "")
            }
            Status::Partial(n) => {
                partial += 1;
                ("partial", n)
            }
            Status::Enosys => {
                enosys += 1;
                ("ENOSYS", "")
            }
            Status::EnosysBecause(n) => {
                enosys += 1;
                ("ENOSYS", n)
            }
        };
        rows.push_str(&format!("| {nr} | {} | {st} | {note} |\n", e.name));
    }
    s.push_str(&format!(
        "{full} full, {partial} partial, {enosys} return ENOSYS (x86-64).\n\n"
    ));
    s.push_str("| nr | name | status | missing |\n|---|---|---|---|\n");
    s.push_str(&rows);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_indexed_by_number() {
        assert_eq!(table::TABLE[0].name, "read");
        assert_eq!(table::TABLE[59].name, "execve");
        assert_eq!(table::TABLE[231].name, "exit_group");
        assert_eq!(table::TABLE[435].name, "clone3");
    }

    #[test]
    fn docs_are_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/syscalls.md");
        let on_disk = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            on_disk == table_markdown(),
            "docs/syscalls.md is stale: run `rvisor help syscalls > docs/syscalls.md`"
        );
    }
}
