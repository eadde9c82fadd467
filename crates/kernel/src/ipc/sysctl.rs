//! The IPC limits under `/proc/sys`: `kernel/{shmmax,shmall,shmmni,sem,
//! msgmax,msgmnb,msgmni}` and `fs/mqueue/*`, readable by all and
//! writable by root (the file mode; writes are applied at once).

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Weak};

use abi::fs::S_IFREG;
use abi::{Errno, SysResult};
use vfs::inode::{next_ino, Meta, DEV_PROC};
use vfs::synth::SynthFile;
use vfs::{Inode, Kind};

use super::{IpcNamespace, IPCMNI};

/// The files of `/proc/sys/kernel` this module serves.
pub const KERNEL_FILES: &[&str] = &[
    "msgmax", "msgmnb", "msgmni", "sem", "shmall", "shmmax", "shmmni",
];
/// The files of `/proc/sys/fs/mqueue`.
pub const MQUEUE_FILES: &[&str] = &[
    "msg_default",
    "msg_max",
    "msgsize_default",
    "msgsize_max",
    "queues_max",
];

struct Tunable {
    ns: Weak<IpcNamespace>,
    name: &'static str,
}

/// An `int` tunable and its allowed range.
fn int_of<'a>(ns: &'a IpcNamespace, name: &str) -> Option<(&'a AtomicI32, i32, i32)> {
    let l = &ns.limits;
    Some(match name {
        "shmmni" | "msgmni" => (
            if name == "shmmni" {
                &l.shmmni
            } else {
                &l.msgmni
            },
            0,
            IPCMNI as i32,
        ),
        "msgmax" => (&l.msgmax, 0, i32::MAX),
        "msgmnb" => (&l.msgmnb, 0, i32::MAX),
        "queues_max" => (&l.mq_queues_max, 0, i32::MAX),
        "msg_max" => (&l.mq_msg_max, 1, 65536),
        "msgsize_max" => (&l.mq_msgsize_max, 128, 16 << 20),
        "msg_default" => (&l.mq_msg_default, 1, 65536),
        "msgsize_default" => (&l.mq_msgsize_default, 128, 16 << 20),
        _ => return None,
    })
}

fn parse<T: std::str::FromStr>(w: &str) -> SysResult<T> {
    w.parse().map_err(|_| Errno::EINVAL)
}

impl SynthFile for Tunable {
    fn generate(&self) -> SysResult<Vec<u8>> {
        let ns = self.ns.upgrade().ok_or(Errno::ENOENT)?;
        let l = &ns.limits;
        let v = match self.name {
            "shmmax" => l.shmmax.load(Ordering::Relaxed).to_string(),
            "shmall" => l.shmall.load(Ordering::Relaxed).to_string(),
            "sem" => l
                .sem
                .iter()
                .map(|a| a.load(Ordering::Relaxed).to_string())
                .collect::<Vec<_>>()
                .join("\t"),
            n => int_of(&ns, n)
                .ok_or(Errno::ENOENT)?
                .0
                .load(Ordering::Relaxed)
                .to_string(),
        };
        Ok(format!("{v}\n").into_bytes())
    }

    /// Linux's `proc_do*vec_minmax`: numbers separated by white space,
    /// each within its range, else `EINVAL` and nothing changes.
    fn write(&self, data: &[u8]) -> SysResult<usize> {
        let ns = self.ns.upgrade().ok_or(Errno::ENOENT)?;
        let text = std::str::from_utf8(data).map_err(|_| Errno::EINVAL)?;
        let words: Vec<&str> = text.split_whitespace().collect();
        let first = *words.first().ok_or(Errno::EINVAL)?;
        let l = &ns.limits;
        match self.name {
            "shmmax" | "shmall" => {
                let v: u64 = parse(first)?;
                let a = if self.name == "shmmax" {
                    &l.shmmax
                } else {
                    &l.shmall
                };
                a.store(v, Ordering::Relaxed);
            }
            "sem" => {
                let mut vals = [0i32; 4];
                for (i, v) in vals.iter_mut().enumerate() {
                    *v = match words.get(i) {
                        Some(w) => parse(w)?,
                        None => l.sem[i].load(Ordering::Relaxed),
                    };
                }
                if !(0..=IPCMNI as i32).contains(&vals[3]) {
                    return Err(Errno::ERANGE);
                }
                for (a, v) in l.sem.iter().zip(vals) {
                    a.store(v, Ordering::Relaxed);
                }
            }
            n => {
                let (a, min, max) = int_of(&ns, n).ok_or(Errno::EINVAL)?;
                let v: i32 = parse(first)?;
                if !(min..=max).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                a.store(v, Ordering::Relaxed);
            }
        }
        Ok(data.len())
    }
}

/// The inode of tunable `name` (one of [`KERNEL_FILES`] or
/// [`MQUEUE_FILES`]).
pub fn inode(ns: &Arc<IpcNamespace>, name: &'static str) -> Arc<Inode> {
    Inode::new(
        next_ino(),
        DEV_PROC,
        Meta::new(S_IFREG | 0o644, 0, 0),
        Kind::SynthFile(Arc::new(Tunable {
            ns: Arc::downgrade(ns),
            name,
        })),
    )
}
