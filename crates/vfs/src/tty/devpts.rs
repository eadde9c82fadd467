//! The devpts filesystem (`/dev/pts`): `ptmx` and one `N` per live
//! master, numbered from the lowest free index.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use abi::fs::*;
use abi::{Errno, SysResult};
use waiter::Queue;

use super::{ldisc::Ldisc, MasterOps, Sessions, SlaveOps, State, Tty};
use crate::dev::{makedev, DeviceKind};
use crate::inode::{lock, next_ino, Inode, Kind, Meta};
use crate::synth::SynthDir;

/// Device number of the devpts filesystem.
pub const DEV_DEVPTS: u64 = 0x18;
/// Linux's `UNIX98_PTY_SLAVE_MAJOR`.
pub const PTS_MAJOR: u64 = 136;
/// The group owning slaves (`tty`), as the usual `gid=5,mode=620` mount.
const TTY_GID: u32 = 5;
/// Linux's default `pty.max`.
const MAX_PTYS: u32 = 4096;

pub struct Devpts {
    ttys: Mutex<BTreeMap<u32, Arc<Tty>>>,
    sessions: Arc<OnceLock<Arc<dyn Sessions>>>,
    ptmx: Arc<Inode>,
}

impl Devpts {
    pub fn new() -> Arc<Devpts> {
        let mut m = Meta::new(S_IFCHR, 0, 0);
        m.rdev = DeviceKind::Ptmx.rdev();
        Arc::new(Devpts {
            ttys: Mutex::new(BTreeMap::new()),
            sessions: Arc::new(OnceLock::new()),
            ptmx: Inode::new(next_ino(), DEV_DEVPTS, m, Kind::Device(DeviceKind::Ptmx)),
        })
    }

    /// The kernel's side of job control, installed once.
    pub fn set_sessions(&self, s: Arc<dyn Sessions>) {
        let _ = self.sessions.set(s);
    }

    pub fn sessions(&self) -> Option<&Arc<dyn Sessions>> {
        self.sessions.get()
    }

    /// The directory's inode, for mounting.
    pub fn dir_inode(self: &Arc<Devpts>) -> Arc<Inode> {
        let mut m = Meta::new(S_IFDIR | 0o755, 0, 0);
        m.nlink = 2;
        Inode::new(next_ino(), DEV_DEVPTS, m, Kind::SynthDir(self.clone()))
    }

    /// Opening `/dev/ptmx`: a new pair, locked, owned by `uid`.
    pub fn open_master(self: &Arc<Devpts>, uid: u32) -> SysResult<MasterOps> {
        let mut ttys = lock(&self.ttys);
        let index = (0..MAX_PTYS)
            .find(|i| !ttys.contains_key(i))
            .ok_or(Errno::ENOSPC)?;
        let mut m = Meta::new(S_IFCHR | 0o620, uid, TTY_GID);
        m.rdev = makedev(PTS_MAJOR, index as u64);
        let tty = Arc::new(Tty {
            index,
            state: Mutex::new(State {
                ld: Ldisc::new(),
                winsize: WinSize::default(),
                slaves: 0,
                master_open: true,
                locked: true,
                hung_up: false,
                session: 0,
                pgrp: 0,
                other_closed: false,
                last_input: Instant::now(),
                exclusive: false,
                locked_termios: Termios::default(),
                packet: false,
                pktstatus: 0,
            }),
            slave_q: Queue::new(),
            master_q: Queue::new(),
            inode: Inode::new(
                next_ino(),
                DEV_DEVPTS,
                m,
                Kind::Device(DeviceKind::Pts(index)),
            ),
            sessions: self.sessions.clone(),
        });
        ttys.insert(index, tty.clone());
        Ok(MasterOps {
            tty,
            devpts: self.clone(),
        })
    }

    /// Opening `/dev/pts/N` through its node `inode`.
    pub fn open_slave(&self, index: u32, inode: &Arc<Inode>, flags: u32) -> SysResult<SlaveOps> {
        let tty = lock(&self.ttys).get(&index).cloned();
        let tty = match tty {
            // A stale node of a pair that is gone (the index may be reused).
            Some(t) if Arc::ptr_eq(&t.inode, inode) => t,
            _ => return Err(Errno::EIO),
        };
        let ops = tty.open_slave()?;
        tty.opened(flags);
        Ok(ops)
    }

    /// Opening `/dev/tty`: another file on the caller's terminal.
    pub fn open_current(&self) -> SysResult<SlaveOps> {
        let tty = self.sessions().and_then(|s| s.ctty()).ok_or(Errno::ENXIO)?;
        tty.open_slave()
    }

    pub(super) fn remove(&self, index: u32) {
        lock(&self.ttys).remove(&index);
    }
}

impl SynthDir for Devpts {
    fn lookup(&self, name: &[u8]) -> SysResult<Arc<Inode>> {
        if name == b"ptmx" {
            return Ok(self.ptmx.clone());
        }
        let s = std::str::from_utf8(name).map_err(|_| Errno::ENOENT)?;
        if s.is_empty() || (s.len() > 1 && s.starts_with('0')) {
            return Err(Errno::ENOENT);
        }
        let i: u32 = s.parse().map_err(|_| Errno::ENOENT)?;
        lock(&self.ttys)
            .get(&i)
            .map(|t| t.inode.clone())
            .ok_or(Errno::ENOENT)
    }

    fn list(&self) -> Vec<(Vec<u8>, u8, u64)> {
        let mut v = vec![(b"ptmx".to_vec(), DT_CHR, self.ptmx.ino)];
        for (i, t) in lock(&self.ttys).iter() {
            v.push((i.to_string().into_bytes(), DT_CHR, t.inode.ino));
        }
        v
    }
}
