//! Signal-driven I/O (`O_ASYNC`, `FIOASYNC`; Linux's `fasync`): while a
//! file has the flag, each readiness change its queue announces that the
//! file now has (data to read, room to write, a hang-up) sends its owner
//! (`F_SETOWN`) a signal: `SIGIO`, or `F_SETSIG`'s with `POLL_IN`/
//! `POLL_OUT`/`POLL_HUP`, the band and the descriptor in its siginfo.
//! The descriptor is the one the flag was set through, as Linux's
//! `fasync_struct` records it. Files without a queue (always ready) raise
//! nothing, as Linux's files without a `fasync` operation.

use std::sync::{Arc, Weak};

use waiter::events;

use crate::file::File;
use crate::inode::lock;

/// `si_code`s of `SIGPOLL`.
const POLL_IN: i32 = 1;
const POLL_OUT: i32 = 2;
const POLL_ERR: i32 = 4;
const POLL_HUP: i32 = 6;

/// Linux's `band_table`: the poll bits reported for each code.
fn band(code: i32) -> u64 {
    match code {
        POLL_IN => (events::IN | events::RDNORM) as u64,
        POLL_OUT => (events::OUT | events::WRNORM | 0x200) as u64,
        POLL_ERR => events::ERR as u64,
        _ => (events::HUP | events::ERR) as u64,
    }
}

/// Turns signal-driven I/O on or off for `f`, set through descriptor `fd`.
pub fn set(f: &Arc<File>, fd: i32, on: bool) {
    let Some(q) = f.ops.queue() else { return };
    let mut slot = lock(&f.fasync);
    match (on, slot.take()) {
        (true, Some(id)) => *slot = Some(id),
        (true, None) => {
            let w: Weak<File> = Arc::downgrade(f);
            let call: waiter::Callback = Arc::new(move |ev| {
                if let Some(f) = w.upgrade() {
                    fire(&f, fd, ev);
                }
            });
            let mask = events::IN | events::OUT | events::ERR | events::HUP;
            *slot = Some(q.register_call(call, mask));
        }
        (false, Some(id)) => q.unregister_call(id),
        (false, None) => {}
    }
}

/// Ends signal-driven I/O for a file going away.
pub(crate) fn release(f: &File) {
    if let Some(id) = lock(&f.fasync).take() {
        if let Some(q) = f.ops.queue() {
            q.unregister_call(id);
        }
    }
}

/// A readiness change `ev`: signals the owner when it is one this file
/// now has.
fn fire(f: &File, fd: i32, ev: u32) {
    if f.flags() & abi::fs::O_ASYNC == 0 {
        return;
    }
    let now = f.ops.readiness() & ev;
    let code = if now & events::IN != 0 {
        POLL_IN
    } else if now & events::OUT != 0 {
        POLL_OUT
    } else if now & events::HUP != 0 {
        // A pipe's readers hear of the last writer's close as input, as
        // Linux's pipe_release says it.
        if f.ops.pipe().is_some() {
            POLL_IN
        } else {
            POLL_HUP
        }
    } else if now & events::ERR != 0 {
        POLL_ERR
    } else {
        return;
    };
    let owner = *lock(&f.fown);
    if owner.id == 0 {
        return;
    }
    if let Some(s) = crate::dnotify::sink() {
        s.send_io(owner, fd, code, band(code));
    }
}
