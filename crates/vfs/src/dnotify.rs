//! dnotify (`fcntl(F_NOTIFY)`): a directory's changes raise a signal for
//! the process that asked, built on the inotify hooks
//! ([`crate::inotify::Listener`]) as Linux builds it on fsnotify. Each
//! directory with requests carries one [`DirMark`] holding an entry per
//! (open file, descriptor table); the signal goes to the file's owner
//! (`F_NOTIFY` makes the caller its owner) with `F_SETSIG`'s signal, or
//! `SIGIO`. The kernel sends it through [`SigioSink`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use abi::{Errno, SysResult};

use crate::file::File;
use crate::inode::{lock, Inode};
use crate::inotify::{self, Listener};
use crate::synth::SynthFile;

pub const DN_ACCESS: u32 = 0x1;
pub const DN_MODIFY: u32 = 0x2;
pub const DN_CREATE: u32 = 0x4;
pub const DN_DELETE: u32 = 0x8;
pub const DN_RENAME: u32 = 0x10;
pub const DN_ATTRIB: u32 = 0x20;
pub const DN_MULTISHOT: u32 = 0x8000_0000;

/// `/proc/sys/fs/dir-notify-enable`.
static ENABLED: AtomicBool = AtomicBool::new(true);
/// Some `F_NOTIFY` request was ever made: until then closing a
/// directory does not look for requests to end.
static USED: AtomicBool = AtomicBool::new(false);

/// Sends a file's notification signal: to process `pid` (a process
/// group for a negative one), signal `sig` with `POLL_MSG` and `fd` in
/// its siginfo, or plain `SIGIO` for `sig` 0 (`send_sigio`).
pub trait SigioSink: Send + Sync {
    fn send(&self, pid: i32, sig: i32, fd: i32);
    /// Signal-driven I/O ([`crate::fasync`]): the file's owner `owner`
    /// gets its signal (`SIGIO` when none was set, with no details) or,
    /// with `F_SETSIG`'s, one whose siginfo says `code` (`POLL_IN`...),
    /// `band` (poll bits) and `fd`.
    fn send_io(&self, owner: crate::file::Fown, fd: i32, code: i32, band: u64);
}

static SINK: OnceLock<Arc<dyn SigioSink>> = OnceLock::new();

/// Installed once by the kernel.
pub fn set_sink(s: Arc<dyn SigioSink>) {
    let _ = SINK.set(s);
}

pub(crate) fn sink() -> Option<&'static Arc<dyn SigioSink>> {
    SINK.get()
}

/// One `F_NOTIFY` request: a file, the descriptor it was made through
/// and that descriptor table, and the events (`DN_*`).
struct Entry {
    file: Weak<File>,
    fd: i32,
    table: usize,
    mask: u32,
}

/// The dnotify mark of one directory.
struct DirMark {
    inode: Weak<Inode>,
    entries: Mutex<Vec<Entry>>,
    /// The cookie of the last `IN_MOVED_FROM` seen here: its
    /// `IN_MOVED_TO` arriving here too makes a rename within the
    /// directory (`DN_RENAME`).
    from_cookie: Mutex<u32>,
}

/// The `IN_*` events that a `DN_*` mask wants (Linux's `convert_arg`;
/// `DN_RENAME`, Linux's `FS_RENAME` taken for a rename within the
/// directory, is seen as the pair of moves).
fn in_mask(dn: u32) -> u32 {
    let mut m = 0;
    if dn & DN_ACCESS != 0 {
        m |= inotify::IN_ACCESS;
    }
    if dn & DN_MODIFY != 0 {
        m |= inotify::IN_MODIFY;
    }
    if dn & DN_ATTRIB != 0 {
        m |= inotify::IN_ATTRIB;
    }
    if dn & DN_CREATE != 0 {
        m |= inotify::IN_CREATE | inotify::IN_MOVED_TO;
    }
    if dn & DN_DELETE != 0 {
        m |= inotify::IN_DELETE | inotify::IN_MOVED_FROM;
    }
    if dn & DN_RENAME != 0 {
        m |= inotify::IN_MOVED_FROM | inotify::IN_MOVED_TO;
    }
    m
}

impl Listener for DirMark {
    fn mask(&self) -> u32 {
        lock(&self.entries)
            .iter()
            .fold(0, |m, e| m | in_mask(e.mask))
    }

    fn event(&self, mask: u32, cookie: u32, name: &[u8]) -> bool {
        // The directory's own events count only as a directory's (they
        // carry IN_ISDIR); a child's come with its name.
        if name.is_empty() && mask & inotify::IN_ISDIR == 0 {
            return true;
        }
        // One fsnotify call each: a rename within this directory
        // (Linux's FS_RENAME, which dnotify takes only when both
        // directories are one), the entry's removal or arrival, or the
        // plain events.
        let mut calls: Vec<u32> = Vec::new();
        if mask & inotify::IN_MOVED_FROM != 0 {
            *lock(&self.from_cookie) = cookie;
            calls.push(DN_DELETE);
        } else if mask & inotify::IN_MOVED_TO != 0 {
            if cookie != 0 && std::mem::take(&mut *lock(&self.from_cookie)) == cookie {
                calls.push(DN_RENAME);
            }
            calls.push(DN_CREATE);
        } else {
            let pairs = [
                (inotify::IN_ACCESS, DN_ACCESS),
                (inotify::IN_MODIFY, DN_MODIFY),
                (inotify::IN_ATTRIB, DN_ATTRIB),
                (inotify::IN_CREATE, DN_CREATE),
                (inotify::IN_DELETE, DN_DELETE),
            ];
            let m = pairs
                .iter()
                .filter(|(i, _)| mask & i != 0)
                .fold(0, |m, (_, d)| m | d);
            calls.push(m);
        }
        let mut sends = Vec::new();
        let left = {
            let mut entries = lock(&self.entries);
            for want in calls {
                entries.retain(|e| {
                    let Some(f) = e.file.upgrade() else {
                        return false;
                    };
                    if e.mask & want == 0 {
                        return true;
                    }
                    let fown = *lock(&f.fown);
                    sends.push((fown.getown(), fown.sig, e.fd));
                    e.mask & DN_MULTISHOT != 0
                });
            }
            !entries.is_empty()
        };
        if let Some(s) = SINK.get() {
            for (pid, sig, fd) in sends {
                s.send(pid, sig, fd);
            }
        }
        if left {
            if let Some(i) = self.inode.upgrade() {
                inotify::listeners_changed(&i);
            }
        }
        left
    }
}

/// The marks of directories with requests, by inode (for `F_NOTIFY` to
/// find a directory's mark again).
type Marks = Mutex<Vec<Arc<DirMark>>>;

fn marks() -> &'static Marks {
    static M: OnceLock<Marks> = OnceLock::new();
    M.get_or_init(|| Mutex::new(Vec::new()))
}

fn mark_of(inode: &Arc<Inode>, create: bool) -> Option<Arc<DirMark>> {
    let mut all = lock(marks());
    all.retain(|m| m.inode.strong_count() > 0 && !lock(&m.entries).is_empty());
    if let Some(m) = all
        .iter()
        .find(|m| std::ptr::eq(m.inode.as_ptr(), Arc::as_ptr(inode)))
    {
        return Some(m.clone());
    }
    if !create {
        return None;
    }
    let m = Arc::new(DirMark {
        inode: Arc::downgrade(inode),
        entries: Mutex::new(Vec::new()),
        from_cookie: Mutex::new(0),
    });
    all.push(m.clone());
    Some(m)
}

/// `fcntl(fd, F_NOTIFY, arg)` on `f`, descriptor `fd` of table `table`,
/// by process `pid` (who becomes the file's owner). Requests of the same
/// file and table add up; no event bits removes them.
pub fn fcntl_notify(f: &Arc<File>, fd: i32, table: usize, arg: u32, pid: i32) -> SysResult<()> {
    if !ENABLED.load(Ordering::Relaxed) {
        return Err(Errno::EINVAL);
    }
    if arg & !DN_MULTISHOT == 0 {
        flush(f, table);
        return Ok(());
    }
    let d = f.dentry.as_ref().ok_or(Errno::ENOTDIR)?;
    if !d.inode.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    let inode = d.inode.clone();
    USED.store(true, Ordering::Relaxed);
    let mark = mark_of(&inode, true).ok_or(Errno::ENOMEM)?;
    {
        let mut o = lock(&f.fown);
        o.kind = crate::file::F_OWNER_PID;
        o.id = pid;
    }
    let fresh = {
        let mut entries = lock(&mark.entries);
        let fresh = entries.is_empty();
        match entries
            .iter_mut()
            .find(|e| e.table == table && std::ptr::eq(e.file.as_ptr(), Arc::as_ptr(f)))
        {
            Some(e) => {
                e.fd = fd;
                e.mask |= arg;
            }
            None => entries.push(Entry {
                file: Arc::downgrade(f),
                fd,
                table,
                mask: arg,
            }),
        }
        fresh
    };
    let l: Arc<dyn Listener> = mark;
    if fresh {
        inotify::add_listener(&inode, l);
    } else {
        inotify::listeners_changed(&inode);
    }
    Ok(())
}

/// A descriptor of `f` in `table` was closed (Linux's `dnotify_flush`
/// from `filp_close`): its requests end.
pub fn flush(f: &File, table: usize) {
    if !USED.load(Ordering::Relaxed) {
        return;
    }
    let Some(d) = &f.dentry else { return };
    if !d.inode.is_dir() {
        return;
    }
    let Some(mark) = mark_of(&d.inode, false) else {
        return;
    };
    let empty = {
        let mut entries = lock(&mark.entries);
        entries.retain(|e| {
            !(e.table == table && std::ptr::eq(e.file.as_ptr(), f as *const File))
                && e.file.strong_count() > 0
        });
        entries.is_empty()
    };
    let l: Arc<dyn Listener> = mark;
    if empty {
        inotify::remove_listener(&d.inode, &l);
    } else {
        inotify::listeners_changed(&d.inode);
    }
}

/// `/proc/sys/fs/dir-notify-enable`: 0 makes `F_NOTIFY` `EINVAL`.
pub struct EnableKnob;

impl SynthFile for EnableKnob {
    fn generate(&self) -> SysResult<Vec<u8>> {
        Ok(format!("{}\n", ENABLED.load(Ordering::Relaxed) as u8).into_bytes())
    }
    fn write(&self, data: &[u8]) -> SysResult<usize> {
        let v: i64 = std::str::from_utf8(data)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or(Errno::EINVAL)?;
        ENABLED.store(v != 0, Ordering::Relaxed);
        Ok(data.len())
    }
}
