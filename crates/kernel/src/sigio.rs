//! Signal-driven notification (`send_sigio`): the signal a file's owner
//! gets for a dnotify event or, with `O_ASYNC` (`vfs::fasync`), a
//! readiness change. With `F_SETSIG`'s signal the siginfo says
//! `POLL_MSG` with the band and the descriptor; without one it is a
//! plain `SIGIO`.

use std::sync::{Arc, Weak};

use abi::signal::{SigInfo, SIGIO, SI_KERNEL};

use crate::signal::send_to_group;
use crate::task::lock;
use crate::Kernel;

/// `POLL_MSG`, the `si_code` dnotify sends.
const POLL_MSG: i32 = 3;
/// `POLLIN | POLLRDNORM | POLLMSG`, its `si_band`.
const BAND_MSG: u64 = 0x441;

pub struct KernelSigio(pub Weak<Kernel>);

impl vfs::dnotify::SigioSink for KernelSigio {
    fn send_io(&self, owner: vfs::file::Fown, fd: i32, code: i32, band: u64) {
        self.send_io_impl(owner, fd, code, band);
    }

    fn send(&self, pid: i32, sig: i32, fd: i32) {
        let Some(k) = self.0.upgrade() else { return };
        let info = if sig != 0 {
            let mut i = SigInfo::new(sig, POLL_MSG);
            i.fields[0] = BAND_MSG;
            i.fields[1] = fd as u32 as u64;
            i
        } else {
            SigInfo::new(SIGIO, SI_KERNEL)
        };
        let groups: Vec<_> = {
            let t = lock(&k.table);
            t.groups
                .values()
                .filter(|g| !g.is_zombie())
                .filter(|g| {
                    if pid > 0 {
                        g.pid == pid
                    } else {
                        pid < 0 && g.lock().pgid == -pid
                    }
                })
                .cloned()
                .collect()
        };
        for g in groups {
            send_to_group(&g, info);
        }
    }
}

impl KernelSigio {
    fn send_io_impl(&self, owner: vfs::file::Fown, fd: i32, code: i32, band: u64) {
        let Some(k) = self.0.upgrade() else { return };
        let info = if owner.sig != 0 {
            let mut i = SigInfo::new(owner.sig, code);
            i.fields[0] = band;
            i.fields[1] = fd as u32 as u64;
            i
        } else {
            SigInfo::new(SIGIO, SI_KERNEL)
        };
        match owner.kind {
            vfs::file::F_OWNER_TID => {
                if let Some(t) = k.find_task(owner.id) {
                    if lock(&t.pending).push(info) {
                        t.signal_queued(info.signo);
                    }
                }
            }
            vfs::file::F_OWNER_PGRP => {
                let groups: Vec<_> = lock(&k.table)
                    .groups
                    .values()
                    .filter(|g| !g.is_zombie() && g.lock().pgid == owner.id)
                    .cloned()
                    .collect();
                for g in groups {
                    send_to_group(&g, info);
                }
            }
            _ => {
                if let Some(g) = k.find_group(owner.id).filter(|g| !g.is_zombie()) {
                    send_to_group(&g, info);
                }
            }
        }
    }
}

/// Installs the sink dnotify signals through.
pub fn install(k: &Arc<Kernel>) {
    vfs::dnotify::set_sink(Arc::new(KernelSigio(Arc::downgrade(k))));
}
