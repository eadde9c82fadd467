//! Linux native AIO: `io_setup`, `io_submit`, `io_getevents`,
//! `io_pgetevents`, `io_cancel`, `io_destroy`.
//!
//! Reads, writes and syncs complete inside `io_submit`, as they do on
//! Linux for every file but `O_DIRECT` ones on a few filesystems (none
//! here): their events are waiting when it returns. `IOCB_CMD_POLL`
//! completes at once when the file is ready, else when a later
//! `io_getevents` finds it ready. A context's ID is the address of a
//! mapping in the caller's memory, as Linux's ring; the ring's header
//! has no `AIO_RING_MAGIC`, which tells libaio to read events with the
//! system call rather than from the ring.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use abi::mman::{MADV_DONTFORK, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE};
use abi::time::Timespec;
use abi::{Errno, SysResult};
use kernel::task::lock;
use kernel::Task;
use mm::{MapRequest, MemoryManager, VmaName};
use vfs::eventfd::EventFd;
use vfs::File;
use waiter::{events, Queue, Registration};

use crate::file::{blocking, fsize_cap, fsize_signal, iovecs, regular};
use crate::util::{self, file};

const IOCB_CMD_PREAD: u16 = 0;
const IOCB_CMD_PWRITE: u16 = 1;
const IOCB_CMD_FSYNC: u16 = 2;
const IOCB_CMD_FDSYNC: u16 = 3;
const IOCB_CMD_POLL: u16 = 5;
const IOCB_CMD_PREADV: u16 = 7;
const IOCB_CMD_PWRITEV: u16 = 8;
const IOCB_FLAG_RESFD: u32 = 1;
const IOCB_FLAG_IOPRIO: u32 = 2;
/// `RWF_HIPRI | RWF_DSYNC | RWF_SYNC | RWF_NOWAIT | RWF_APPEND`.
const RWF_SUPPORTED: u32 = 0x1f;
const RWF_APPEND: u32 = 0x10;
/// What `io_submit` writes into each iocb's `aio_key`.
const KIOCB_KEY: u32 = 0;
/// `aio-max-nr`, the most events all contexts may ask for.
const AIO_MAX_NR: u64 = 65536;

/// `struct iocb`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Iocb {
    data: u64,
    key: u32,
    rw_flags: u32,
    opcode: u16,
    reqprio: i16,
    fildes: u32,
    buf: u64,
    nbytes: u64,
    offset: i64,
    reserved2: u64,
    flags: u32,
    resfd: u32,
}
// SAFETY: repr(C) of integers; 64 bytes, no padding.
unsafe impl abi::Pod for Iocb {}

/// `struct io_event`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct IoEvent {
    data: u64,
    obj: u64,
    res: i64,
    res2: i64,
}
// SAFETY: repr(C) of integers; 32 bytes.
unsafe impl abi::Pod for IoEvent {}

/// An `IOCB_CMD_POLL` waiting for its file.
struct Poll {
    file: Arc<File>,
    events: u32,
    event: IoEvent,
    eventfd: Option<Arc<File>>,
}

struct State {
    done: VecDeque<IoEvent>,
    polls: Vec<Poll>,
}

struct Ctx {
    mm: Weak<Mutex<MemoryManager>>,
    id: u64,
    ring_len: u64,
    /// Requests the context holds at most (completed and not yet read,
    /// or waiting): more is `EAGAIN`.
    max: usize,
    /// `io_submit`'s cap on one call (the `nr_events` asked for).
    nr: u32,
    state: Mutex<State>,
    /// `io_getevents` callers wait here for completions.
    queue: Queue,
}

impl Ctx {
    fn complete(&self, ev: IoEvent, eventfd: Option<&Arc<File>>) {
        lock(&self.state).done.push_back(ev);
        if let Some(e) = eventfd.and_then(|f| f.ops.as_any()?.downcast_ref::<EventFd>()) {
            e.signal(1);
        }
        self.queue.notify(events::IN);
    }

    /// Completes the polls whose files are ready now.
    fn check_polls(&self) {
        let ready: Vec<Poll> = {
            let mut s = lock(&self.state);
            let (ready, wait): (Vec<Poll>, Vec<Poll>) = std::mem::take(&mut s.polls)
                .into_iter()
                .partition(|p| p.file.ops.readiness() & p.events != 0);
            s.polls = wait;
            ready
        };
        for mut p in ready {
            // As Linux's wake-up path: the whole mask the file reports.
            p.event.res = p.file.ops.readiness() as i64;
            self.complete(p.event, p.eventfd.as_ref());
        }
    }
}

/// Every context of the sandbox, each tied to the memory of the process
/// that made it.
fn contexts() -> &'static Mutex<Vec<Arc<Ctx>>> {
    static C: OnceLock<Mutex<Vec<Arc<Ctx>>>> = OnceLock::new();
    C.get_or_init(|| Mutex::new(Vec::new()))
}

fn find(t: &Task, id: u64) -> SysResult<Arc<Ctx>> {
    lock(contexts())
        .iter()
        .find(|c| c.id == id && std::ptr::eq(c.mm.as_ptr(), Arc::as_ptr(&t.mm)))
        .cloned()
        .ok_or(Errno::EINVAL)
}

pub fn io_setup(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (nr, ctxp) = (a[0] as u32, a[1]);
    let old: u64 = util::read_obj(t, ctxp)?;
    if old != 0 || nr == 0 {
        return Err(Errno::EINVAL);
    }
    // Linux doubles the count (with a minimum per CPU) for its ring.
    let ring_events = (nr as u64).max(8) * 2;
    if ring_events > 0x1000_0000 / 32 {
        return Err(Errno::EINVAL);
    }
    let asked: u64 = {
        let mut all = lock(contexts());
        all.retain(|c| c.mm.strong_count() > 0);
        all.iter().map(|c| c.nr as u64).sum()
    };
    if nr as u64 > AIO_MAX_NR || asked + nr as u64 > AIO_MAX_NR * 2 {
        return Err(Errno::EAGAIN);
    }
    let ring_len = abi::page_up(32 + 32 * ring_events).ok_or(Errno::ENOMEM)?;
    let id = {
        let mut mm = t.mm();
        let id = mm.mmap(MapRequest {
            addr: 0,
            len: ring_len,
            prot: PROT_READ | PROT_WRITE,
            flags: MAP_PRIVATE | MAP_ANONYMOUS,
            backing: None,
            may_write: true,
            name: VmaName::Anon,
        })?;
        // As Linux's ring: not inherited by fork children.
        mm.madvise(id, ring_len, MADV_DONTFORK)?;
        // struct aio_ring: id, nr, head, tail, magic (left 0),
        // compat_features, incompat_features, header_length.
        mm.write_obj(id, &[0u32, ring_events as u32, 0, 0, 0, 1, 0, 32])?;
        id
    };
    let ctx = Arc::new(Ctx {
        mm: Arc::downgrade(&t.mm),
        id,
        ring_len,
        max: ring_events as usize - 1,
        nr,
        state: Mutex::new(State {
            done: VecDeque::new(),
            polls: Vec::new(),
        }),
        queue: Queue::new(),
    });
    if let Err(e) = util::write_obj(t, ctxp, &id) {
        let _ = t.mm().munmap(id, ring_len);
        return Err(e);
    }
    lock(contexts()).push(ctx);
    Ok(0)
}

pub fn io_destroy(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let ctx = find(t, a[0])?;
    lock(contexts()).retain(|c| !Arc::ptr_eq(c, &ctx));
    lock(&ctx.state).polls.clear();
    ctx.queue.notify(events::ALL);
    let _ = t.mm().munmap(ctx.id, ctx.ring_len);
    Ok(0)
}

pub fn io_submit(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (nr, list) = (a[1] as i64, a[2]);
    if nr < 0 {
        return Err(Errno::EINVAL);
    }
    let ctx = find(t, a[0])?;
    let nr = nr.min(ctx.nr as i64) as u64;
    let mut done = 0u64;
    while done < nr {
        let r = util::read_obj::<u64>(t, list + done * 8).and_then(|p| submit_one(t, &ctx, p));
        match r {
            Ok(()) => done += 1,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(done)
}

fn submit_one(t: &mut Task, ctx: &Arc<Ctx>, uiocb: u64) -> SysResult<()> {
    let cb: Iocb = util::read_obj(t, uiocb)?;
    if cb.reserved2 != 0 || (cb.nbytes as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    {
        let s = lock(&ctx.state);
        if s.done.len() + s.polls.len() >= ctx.max {
            return Err(Errno::EAGAIN);
        }
    }
    let f = file(t, cb.fildes as u64).map_err(|_| Errno::EBADF)?;
    let eventfd = if cb.flags & IOCB_FLAG_RESFD != 0 {
        let e = file(t, cb.resfd as u64)?;
        if e.ops
            .as_any()
            .and_then(|a| a.downcast_ref::<EventFd>())
            .is_none()
        {
            return Err(Errno::EINVAL);
        }
        Some(e)
    } else {
        None
    };
    util::write_obj(t, uiocb + 8, &KIOCB_KEY)?;
    let mut ev = IoEvent {
        data: cb.data,
        obj: uiocb,
        ..Default::default()
    };
    let res: SysResult<u64> = match cb.opcode {
        IOCB_CMD_PREAD | IOCB_CMD_PWRITE | IOCB_CMD_PREADV | IOCB_CMD_PWRITEV => {
            if cb.rw_flags & !RWF_SUPPORTED != 0 {
                return Err(Errno::EOPNOTSUPP);
            }
            if cb.flags & IOCB_FLAG_IOPRIO != 0 && (cb.reqprio as u16 >> 13) > 3 {
                return Err(Errno::EINVAL);
            }
            let write = matches!(cb.opcode, IOCB_CMD_PWRITE | IOCB_CMD_PWRITEV);
            if (write && !f.writable()) || (!write && !f.readable()) {
                return Err(Errno::EBADF);
            }
            // Directories have no read_iter/write_iter.
            if f.dentry.as_ref().is_some_and(|d| d.inode.is_dir()) {
                return Err(Errno::EINVAL);
            }
            let vecs = if matches!(cb.opcode, IOCB_CMD_PREADV | IOCB_CMD_PWRITEV) {
                iovecs(t, cb.buf, cb.nbytes)?
                    .into_iter()
                    .map(|v| (v.base, v.len))
                    .collect()
            } else {
                vec![(cb.buf, cb.nbytes)]
            };
            if cb.offset < 0 && f.ops.seekable() {
                return Err(Errno::EINVAL);
            }
            let append = cb.rw_flags & RWF_APPEND != 0;
            if write {
                rw_write(t, &f, &vecs, cb.offset as u64, append)
            } else {
                rw_read(t, &f, &vecs, cb.offset as u64)
            }
        }
        IOCB_CMD_FSYNC | IOCB_CMD_FDSYNC => {
            if cb.buf != 0 || cb.offset != 0 || cb.nbytes != 0 || cb.rw_flags != 0 {
                return Err(Errno::EINVAL);
            }
            if f.ops.pipe().is_some() || f.ops.fsync(&f).is_err() {
                return Err(Errno::EINVAL);
            }
            Ok(0)
        }
        IOCB_CMD_POLL => {
            if cb.buf as u16 as u64 != cb.buf
                || cb.offset != 0
                || cb.nbytes != 0
                || cb.rw_flags != 0
            {
                return Err(Errno::EINVAL);
            }
            // Linux adds the error and hang-up conditions to what is asked.
            let want = cb.buf as u32 | events::ERR | events::HUP;
            let ready = f.ops.readiness() & want;
            if ready == 0 {
                lock(&ctx.state).polls.push(Poll {
                    file: f,
                    events: want,
                    event: ev,
                    eventfd,
                });
                return Ok(());
            }
            Ok(ready as u64)
        }
        _ => return Err(Errno::EINVAL),
    };
    ev.res = match res {
        Ok(n) => n as i64,
        Err(e) => -(e.0 as i64),
    };
    ctx.complete(ev, eventfd.as_ref());
    Ok(())
}

/// Bytes one request moves through the sentry at a time: a large
/// request goes in pieces, never in one application-sized buffer.
const PIECE: usize = 1 << 20;

/// Total length of `vecs`, capped as Linux caps one transfer.
fn total_len(vecs: &[(u64, u64)]) -> usize {
    vecs.iter()
        .fold(0u64, |a, v| a.saturating_add(v.1))
        .min(crate::file::MAX_RW as u64) as usize
}

/// Copies `data` into the buffers `vecs` from byte `skip` of them on
/// (`copy_out`), or fills `data` from them (`copy_in`).
fn through_vecs(
    t: &Task,
    vecs: &[(u64, u64)],
    skip: usize,
    data: &mut [u8],
    out: bool,
) -> SysResult<()> {
    let (mut pos, mut done) = (0usize, 0usize);
    for &(base, len) in vecs {
        let len = len as usize;
        if done >= data.len() {
            break;
        }
        if pos + len > skip {
            let from = skip.saturating_sub(pos);
            let take = (len - from).min(data.len() - done);
            let addr = base + from as u64;
            let piece = &mut data[done..done + take];
            if out {
                t.mm().copy_out(addr, piece)?;
            } else {
                t.mm().copy_in(addr, piece)?;
            }
            done += take;
        }
        pos += len;
    }
    Ok(())
}

/// A read into the buffers `vecs` at `off` (a file without a position
/// reads as `read` does, waiting for data, in one piece).
fn rw_read(t: &mut Task, f: &Arc<File>, vecs: &[(u64, u64)], off: u64) -> SysResult<u64> {
    let total = total_len(vecs);
    let mut buf = vec![0u8; total.min(PIECE)];
    let mut done = 0usize;
    while done < total {
        let want = (total - done).min(PIECE);
        let n = if f.ops.seekable() {
            f.pread(&mut buf[..want], off + done as u64)
        } else {
            blocking(t, f, events::IN, || f.read(&mut buf[..want]))
        };
        let n = match n {
            Ok(n) => n,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        through_vecs(t, vecs, done, &mut buf[..n], true)?;
        done += n;
        if n < want || !f.ops.seekable() {
            break;
        }
    }
    Ok(done as u64)
}

/// A write of the buffers `vecs` at `off` (at the end for `RWF_APPEND`),
/// under the file-size limit.
fn rw_write(
    t: &mut Task,
    f: &Arc<File>,
    vecs: &[(u64, u64)],
    off: u64,
    append: bool,
) -> SysResult<u64> {
    let total = total_len(vecs);
    let cap = fsize_cap(t, f);
    let off = if append && regular(f) {
        f.ops.size()
    } else {
        off
    };
    let mut buf = vec![0u8; total.min(PIECE)];
    let mut done = 0usize;
    while done < total {
        let want = (total - done).min(PIECE);
        through_vecs(t, vecs, done, &mut buf[..want], false)?;
        let r = if f.ops.seekable() {
            f.pwrite_capped(&buf[..want], off + done as u64, cap)
        } else {
            blocking(t, f, events::OUT, || f.write_capped(&buf[..want], cap))
        };
        let n = match r {
            Ok(n) => n,
            Err(e) if done == 0 => return fsize_signal(t, cap, Err(e)),
            Err(_) => break,
        };
        done += n;
        if n < want || !f.ops.seekable() {
            break;
        }
    }
    Ok(done as u64)
}

/// Linux's `read_events`: events are copied out as they come until
/// `min` were, the timeout passes (`None`: never) or a signal arrives
/// (`EINTR` if none was copied).
fn getevents(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (min, nr, out, tp) = (a[1] as i64, a[2] as i64, a[3], a[4]);
    let deadline = if tp == 0 {
        None
    } else {
        let ts: Timespec = util::read_obj(t, tp)?;
        let ns = (ts.sec.max(0) as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add(ts.nsec.max(0) as u64);
        Some(Instant::now() + Duration::from_nanos(ns))
    };
    let ctx = find(t, a[0])?;
    if min > nr || min < 0 {
        return Err(Errno::EINVAL);
    }
    let (min, nr) = (min as usize, nr as usize);
    let waiter = t.shared.waiter.clone();
    let mut got = 0usize;
    loop {
        ctx.check_polls();
        let evs: Vec<IoEvent> = {
            let mut s = lock(&ctx.state);
            let n = s.done.len().min(nr - got);
            s.done.drain(..n).collect()
        };
        for e in &evs {
            if let Err(err) = util::write_obj(t, out + got as u64 * 32, e) {
                // What could not be copied is lost, as on Linux.
                return if got == 0 { Err(err) } else { Ok(got as u64) };
            }
            got += 1;
        }
        if got >= min || deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(got as u64);
        }
        if t.interrupted() {
            return if got > 0 {
                Ok(got as u64)
            } else {
                Err(Errno::EINTR)
            };
        }
        let polls: Vec<Arc<File>> = lock(&ctx.state)
            .polls
            .iter()
            .map(|p| p.file.clone())
            .collect();
        let mut regs: Vec<Registration> = vec![ctx.queue.register(&waiter, events::ALL)];
        regs.extend(
            polls
                .iter()
                .filter_map(|f| f.ops.queue())
                .map(|q| q.register(&waiter, events::ALL)),
        );
        ctx.check_polls();
        if lock(&ctx.state).done.is_empty() {
            waiter.wait(deadline);
        }
        drop(regs);
    }
}

pub fn io_getevents(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    getevents(t, a)
}

/// `io_pgetevents`: `io_getevents` under a temporary signal mask
/// (`struct { const sigset_t *sigmask; size_t sigsetsize; }` at `a[5]`).
pub fn io_pgetevents(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let old = if a[5] == 0 {
        None
    } else {
        let [mask, size]: [u64; 2] = util::read_obj(t, a[5])?;
        crate::poll::with_sigmask(t, mask, size)?
    };
    let r = getevents(t, a);
    crate::poll::finish_sigmask(t, old, &r);
    r
}

pub fn io_cancel(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let key: u32 = util::read_obj(t, a[1] + 8)?;
    if key != KIOCB_KEY {
        return Err(Errno::EINVAL);
    }
    let ctx = find(t, a[0])?;
    let p = {
        let mut s = lock(&ctx.state);
        let i = s
            .polls
            .iter()
            .position(|p| p.event.obj == a[1])
            .ok_or(Errno::EINVAL)?;
        s.polls.remove(i)
    };
    // The event is still delivered, with what the file has now.
    let mut ev = p.event;
    ev.res = (p.file.ops.readiness() & p.events) as i64;
    ctx.complete(ev, p.eventfd.as_ref());
    Err(Errno::EINPROGRESS)
}
