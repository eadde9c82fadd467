//! The namespaces a task belongs to (Linux's `nsproxy`). UTS and IPC
//! namespaces can be made afresh (`clone`/`unshare` with `CLONE_NEWUTS`,
//! `CLONE_NEWIPC`); the mount, pid, network, user, cgroup and time
//! namespaces are the sandbox's single ones for now. Each has an inode
//! number, which `/proc/PID/ns/*` shows (`uts:[4026531838]`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::ipc::IpcNamespace;
use crate::task::lock;

/// Host name and NIS domain name (`uname`, `sethostname`).
#[derive(Clone)]
pub struct Uts {
    pub hostname: Vec<u8>,
    pub domainname: Vec<u8>,
}

pub struct UtsNamespace {
    pub ino: u64,
    pub names: Mutex<Uts>,
}

/// An IPC namespace with the inode number it is shown by.
pub struct IpcNs {
    pub ino: u64,
    pub ns: Arc<IpcNamespace>,
}

/// The kinds `/proc/PID/ns` lists, in Linux's order of its directory.
pub const KINDS: &[&str] = &[
    "cgroup",
    "ipc",
    "mnt",
    "net",
    "pid",
    "pid_for_children",
    "time",
    "time_for_children",
    "user",
    "uts",
];

/// Linux's inode numbers of the initial namespaces (`PROC_*_INIT_INO`).
const INIT_IPC: u64 = 0xEFFF_FFFF;
const INIT_UTS: u64 = 0xEFFF_FFFE;
const INIT_USER: u64 = 0xEFFF_FFFD;
const INIT_PID: u64 = 0xEFFF_FFFC;
const INIT_CGROUP: u64 = 0xEFFF_FFFB;
const INIT_TIME: u64 = 0xEFFF_FFFA;
/// The sandbox's mount and network namespaces are not the initial ones
/// on Linux either (numbers from the dynamic range).
const SANDBOX_MNT: u64 = 0xF000_0000;
const SANDBOX_NET: u64 = 0xF000_0001;

/// Numbers for namespaces made later, as Linux's `proc_inum` range.
static NEXT_INO: AtomicU64 = AtomicU64::new(0xF000_0100);

fn next_ino() -> u64 {
    NEXT_INO.fetch_add(1, Ordering::Relaxed)
}

#[derive(Clone)]
pub struct Namespaces {
    pub uts: Arc<UtsNamespace>,
    pub ipc: Arc<IpcNs>,
}

impl Namespaces {
    /// The sandbox's first namespaces.
    pub fn initial(hostname: &str, ipc: Arc<IpcNamespace>) -> Arc<Namespaces> {
        Arc::new(Namespaces {
            uts: Arc::new(UtsNamespace {
                ino: INIT_UTS,
                names: Mutex::new(Uts {
                    hostname: hostname.as_bytes().to_vec(),
                    domainname: b"(none)".to_vec(),
                }),
            }),
            ipc: Arc::new(IpcNs {
                ino: INIT_IPC,
                ns: ipc,
            }),
        })
    }

    /// A copy with a fresh UTS namespace (a copy of this one's names)
    /// and/or a fresh, empty IPC namespace.
    pub fn unshared(&self, uts: bool, ipc: bool, mf: &Arc<mm::MemoryFile>) -> Arc<Namespaces> {
        let mut n = self.clone();
        if uts {
            let names = lock(&self.uts.names).clone();
            n.uts = Arc::new(UtsNamespace {
                ino: next_ino(),
                names: Mutex::new(names),
            });
        }
        if ipc {
            n.ipc = Arc::new(IpcNs {
                ino: next_ino(),
                ns: IpcNamespace::new(mf.clone()),
            });
        }
        Arc::new(n)
    }

    /// The inode number `/proc/PID/ns/KIND` shows.
    pub fn ino(&self, kind: &str) -> Option<u64> {
        Some(match kind {
            "uts" => self.uts.ino,
            "ipc" => self.ipc.ino,
            "mnt" => SANDBOX_MNT,
            "net" => SANDBOX_NET,
            "user" => INIT_USER,
            "pid" | "pid_for_children" => INIT_PID,
            "cgroup" => INIT_CGROUP,
            "time" | "time_for_children" => INIT_TIME,
            _ => return None,
        })
    }
}

/// `CLONE_NEWUTS`/`CLONE_NEWIPC` (with `CLONE_NEWNS`'s siblings checked by
/// the caller): the namespaces a task made by `clone` or `unshare` gets.
/// Making a namespace needs `CAP_SYS_ADMIN`.
pub fn for_child(task: &crate::Task, flags: u64) -> abi::SysResult<Arc<Namespaces>> {
    use crate::process::{CLONE_NEWIPC, CLONE_NEWUTS};
    let cur = lock(&task.shared.ns).clone();
    let (uts, ipc) = (flags & CLONE_NEWUTS != 0, flags & CLONE_NEWIPC != 0);
    if !uts && !ipc {
        return Ok(cur);
    }
    if !task.capable(crate::task::CAP_SYS_ADMIN) {
        return Err(abi::Errno::EPERM);
    }
    Ok(cur.unshared(uts, ipc, &task.kernel.mf))
}
