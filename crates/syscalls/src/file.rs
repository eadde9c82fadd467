//! File I/O and descriptor syscalls.

use std::sync::Arc;

use abi::fs::*;
use abi::misc::IoVec;
use abi::signal::{SigInfo, SIGPIPE, SIGXFSZ, SI_USER};
use abi::{Errno, SysResult};
use kernel::task::lock;
use kernel::Task;
use vfs::lock::{Lock, LockKind, Owner};
use vfs::File;
use waiter::events;

use crate::util::{self, file};

/// Largest single transfer, as Linux's `MAX_RW_COUNT`.
pub const MAX_RW: usize = 0x7fff_f000;
/// Largest chunk moved through the sentry per step.
const CHUNK: usize = 4 << 20;

/// Runs `op`, waiting on the file's queue while it would block (unless the
/// file is non-blocking).
pub fn blocking<R>(
    t: &mut Task,
    f: &File,
    ev: u32,
    mut op: impl FnMut() -> SysResult<R>,
) -> SysResult<R> {
    if f.nonblocking() || f.ops.queue().is_none() {
        return op();
    }
    t.block_on(f.ops.queue(), ev, None, |_| op())
}

/// [`blocking`] for reads into `buf`: a file with a read deadline (a
/// terminal's `VTIME`) gives up then with what it has (maybe nothing).
fn blocking_read(
    t: &mut Task,
    f: &File,
    buf: &mut [u8],
    op: &impl Fn(&File, &mut [u8]) -> SysResult<usize>,
) -> SysResult<usize> {
    if f.nonblocking() || f.ops.queue().is_none() {
        return op(f, buf);
    }
    // Data already there: no registration and no clock read.
    match op(f, buf) {
        Err(Errno::EAGAIN) => {}
        r => return r,
    }
    let started = std::time::Instant::now();
    loop {
        let deadline = f.ops.read_deadline(started);
        // Input arriving can start a timer (VMIN and VTIME both set):
        // the wait is then begun again with it.
        let r = t.block_on(f.ops.queue(), events::IN, deadline, |_| match op(f, buf) {
            Err(Errno::EAGAIN) if f.ops.read_deadline(started) != deadline => Ok(None),
            r => r.map(Some),
        });
        match r {
            Ok(Some(n)) => return Ok(n),
            Ok(None) => continue,
            Err(Errno::ETIMEDOUT) => return f.ops.read_expired(f, buf),
            Err(e) => return Err(e),
        }
    }
}

pub(crate) fn take_scratch(t: &mut Task, len: usize) -> Vec<u8> {
    let mut buf = std::mem::take(&mut t.scratch);
    if buf.len() < len {
        buf.resize(len, 0);
    }
    buf
}

pub(crate) fn put_scratch(t: &mut Task, mut buf: Vec<u8>) {
    if buf.len() > (1 << 20) {
        buf.truncate(1 << 20);
        buf.shrink_to_fit();
    }
    t.scratch = buf;
}

/// Reads up to `count` bytes with `op` and copies them to `addr`, as
/// [`readv_common`] with one buffer. `op` is called with the bytes done so
/// far (where a `pread` continues).
fn read_into(
    t: &mut Task,
    f: &Arc<File>,
    addr: u64,
    count: usize,
    op: impl Fn(&File, &mut [u8], u64) -> SysResult<usize>,
) -> SysResult<u64> {
    if count == 0 {
        return Ok(0);
    }
    readv_common(
        t,
        f,
        &[IoVec {
            base: addr,
            len: count as u64,
        }],
        op,
    )
}

/// Entries of the host iovec a direct transfer fills per host call (on
/// the stack: nothing is allocated per call). A buffer in more pieces of
/// the memory file than this takes more calls.
const DIRECT_IOV: usize = 16;

/// A read (`write` false) or write of a regular file whose data is a host
/// file's, straight between the host file and the application's pages:
/// `None` when the file is not such a file (or application memory is not
/// in the sentry's mapping), and the caller copies through a buffer.
/// `at`: a `pread`/`pwrite` offset, else the file position.
fn direct(
    t: &Task,
    f: &File,
    addr: u64,
    count: usize,
    at: Option<u64>,
    write: Option<u64>,
) -> Option<SysResult<u64>> {
    if count == 0 || !t.kernel.mf.mapped_for_copies() || !regular(f) {
        return None;
    }
    let io = |fd, off, max| transfer_direct(t, fd, off, addr, max, write.is_some());
    let r = match write {
        Some(cap) => f.write_host(at, count, cap, io),
        None => f.read_host(at, count, io),
    };
    r.map(|r| r.map(|n| n as u64))
}

/// Moves up to `max` bytes between host descriptor `fd` at `off` and
/// application memory at `addr` (`write`: from it) with `preadv` or
/// `pwritev` on the application's own pages
/// (`MemoryManager::host_ranges`), at most [`CHUNK`] per call, each under
/// the address space's lock so no page changes hands meanwhile. Stops
/// after a short transfer (the end of the file) or at the first page the
/// access may not touch: the bytes moved before count, `EFAULT` when
/// there are none, as Linux's copy to or from a page-cache page stops at
/// the first fault.
fn transfer_direct(
    t: &Task,
    fd: i32,
    off: u64,
    addr: u64,
    max: usize,
    write: bool,
) -> SysResult<usize> {
    let mut iov = [libc::iovec {
        iov_base: std::ptr::null_mut(),
        iov_len: 0,
    }; DIRECT_IOV];
    let mut done = 0usize;
    while done < max {
        let want = (max - done).min(CHUNK);
        let mut mm = t.mm();
        let (cnt, covered) = mm
            .host_ranges(addr + done as u64, want, !write, &mut iov)
            .unwrap_or((0, 0));
        if covered == 0 {
            return if done > 0 {
                Ok(done)
            } else {
                Err(Errno::EFAULT)
            };
        }
        let r = vfs::host::transfer_iov(fd, &iov[..cnt], off + done as u64, write);
        drop(mm);
        match r {
            Ok(n) => {
                done += n;
                if n < covered {
                    break;
                }
            }
            Err(_) if done > 0 => break,
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// Whether `f` is a regular file (reads and writes are never short).
pub(crate) fn regular(f: &File) -> bool {
    f.dentry
        .as_ref()
        .is_some_and(|d| matches!(d.inode.kind, vfs::Kind::File(_)))
}

/// Sends `SIGPIPE` to the calling thread after an `EPIPE` write.
pub fn sigpipe(t: &Task) {
    signal_self(t, SIGPIPE);
}

/// `sig` for the calling thread from itself (Linux's `send_sig(sig,
/// current, 0)`: `SI_USER` with its own pid).
fn signal_self(t: &Task, sig: i32) {
    lock(&t.shared.pending).push(SigInfo::from_user(sig, SI_USER, t.pid(), t.creds.uid));
    t.shared
        .attention
        .store(true, std::sync::atomic::Ordering::Release);
}

/// How far the caller may write `f` (its soft `RLIMIT_FSIZE` for a
/// regular file; `u64::MAX` for none). Other files skip the look-up.
pub(crate) fn fsize_cap(t: &Task, f: &File) -> u64 {
    if regular(f) {
        t.rlimit(abi::misc::RLIMIT_FSIZE).cur
    } else {
        u64::MAX
    }
}

/// A write that failed with `EFBIG` under a limit hit the limit: the
/// caller gets `SIGXFSZ` too.
pub(crate) fn fsize_signal(t: &Task, cap: u64, r: SysResult<u64>) -> SysResult<u64> {
    if r == Err(Errno::EFBIG) && cap != u64::MAX {
        signal_self(t, SIGXFSZ);
    }
    r
}

/// A splice into a regular file that the limit cut short: Linux's
/// `iter_file_splice_write` writes again at the limit for the rest, which
/// raises `SIGXFSZ` (the call still returns what was written).
pub(crate) fn fsize_spliced_short(t: &Task, f: &File, cap: u64, asked: usize, wrote: usize) {
    if cap != u64::MAX && wrote < asked && regular(f) {
        signal_self(t, SIGXFSZ);
    }
}

/// Linux's `inode_newsize_ok` for a regular file growing from `old` to
/// `new` bytes: past the file-size limit it is `EFBIG` and `SIGXFSZ`.
pub(crate) fn fsize_grow_ok(t: &Task, old: u64, new: u64) -> SysResult<()> {
    if new > old && new > t.rlimit(abi::misc::RLIMIT_FSIZE).cur {
        signal_self(t, SIGXFSZ);
        return Err(Errno::EFBIG);
    }
    Ok(())
}

/// Whether `f` is a unix stream or TCP socket.
fn stream_socket(f: &File) -> bool {
    vfs::unix::from_file(f).is_some_and(|s| s.sock_type() == vfs::unix::SOCK_STREAM)
        || net::inet::from_file(f).is_some_and(|s| s.proto == net::Proto::Tcp)
        || net::driven::from_file(f).is_some_and(|s| s.is_stream())
}

/// Writes `data` with `op`; blocking writers keep going until all is
/// written or a signal arrives after some progress.
fn write_all(
    t: &mut Task,
    f: &Arc<File>,
    data: &[u8],
    op: impl Fn(&File, &[u8]) -> SysResult<usize>,
) -> SysResult<u64> {
    let mut done = 0usize;
    // The file's write deadline (a socket's `SO_SNDTIMEO`), from the
    // first wait on.
    let mut deadline = None;
    loop {
        let r = match op(f, &data[done..]) {
            Err(Errno::EAGAIN) if !f.nonblocking() && f.ops.queue().is_some() => {
                let until = *deadline
                    .get_or_insert_with(|| f.ops.write_deadline(std::time::Instant::now()));
                t.block_on(f.ops.queue(), events::OUT, until, |_| op(f, &data[done..]))
                    .map_err(|e| {
                        if e == Errno::ETIMEDOUT {
                            Errno::EAGAIN
                        } else {
                            e
                        }
                    })
            }
            r => r,
        };
        match r {
            Ok(n) => {
                done += n;
                // Only pipes and stream sockets block until everything is
                // written; other files (eventfd, datagram sockets, devices)
                // report what one write took.
                if done >= data.len()
                    || f.nonblocking()
                    || n == 0
                    || (f.ops.pipe().is_none() && !stream_socket(f))
                {
                    return Ok(done as u64);
                }
            }
            Err(e) if done > 0 && (e == Errno::EAGAIN || e.0 >= 512) => return Ok(done as u64),
            // The readers went away: SIGPIPE either way, and what was
            // written before still counts (Linux's `pipe_write`).
            Err(Errno::EPIPE) => {
                sigpipe(t);
                return if done > 0 {
                    Ok(done as u64)
                } else {
                    Err(Errno::EPIPE)
                };
            }
            Err(e) => return Err(e),
        }
    }
}

/// Writes `count` bytes from `addr` with `op`: a regular file or a
/// stream socket in chunks until all is written (Linux never writes one
/// short; a blocking stream socket waits for room), other files what one
/// step took.
fn write_from(
    t: &mut Task,
    f: &Arc<File>,
    addr: u64,
    count: usize,
    op: impl Fn(&File, &[u8]) -> SysResult<usize>,
) -> SysResult<u64> {
    if count == 0 {
        return Ok(0);
    }
    let reg = regular(f);
    let mut buf = take_scratch(t, count.min(CHUNK));
    let mut done = 0usize;
    let r = loop {
        let want = (count - done).min(CHUNK);
        // A regular file keeps what came before a fault in the buffer
        // (Linux copies page by page); other files fail the copy whole.
        let got = if reg {
            t.mm().copy_in_prefix(addr + done as u64, &mut buf[..want])
        } else if t.mm().copy_in(addr + done as u64, &mut buf[..want]).is_ok() {
            want
        } else {
            0
        };
        let r = if got == 0 {
            Err(Errno::EFAULT)
        } else {
            write_all(t, f, &buf[..got], &op)
        };
        match r {
            Ok(n) => {
                done += n as usize;
                if (n as usize) < got || got < want || done >= count || !(reg || stream_socket(f)) {
                    break Ok(done as u64);
                }
            }
            Err(_) if done > 0 => break Ok(done as u64),
            Err(e) => break Err(e),
        }
    };
    put_scratch(t, buf);
    r
}

pub fn read(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let f = file(t, a[0])?;
    if !f.readable() {
        return Err(Errno::EBADF);
    }
    if f.dentry.as_ref().is_some_and(|d| d.inode.is_dir()) {
        return Err(Errno::EISDIR);
    }
    // A fanotify group's read installs descriptors.
    if let Some(g) = vfs::fanotify::group_of(&f) {
        return crate::fanotify::read(t, &f, &g, a[1], a[2] as usize);
    }
    let count = (a[2] as usize).min(MAX_RW);
    if let Some(r) = direct(t, &f, a[1], count, None, None) {
        return r;
    }
    if let Some(r) = device_read(t, &f, a[1], count) {
        return r;
    }
    read_into(t, &f, a[1], count, |f, b, _| f.read(b))
}

/// `read` of `/dev/zero`: the application's memory is zeroed in place,
/// with no buffer to fill and copy (Linux's `read_zero`: up to the first
/// page it may not write; `EFAULT` if that is the first). `/dev/null`'s
/// end of file never looks at the buffer.
fn device_read(t: &Task, f: &File, addr: u64, count: usize) -> Option<SysResult<u64>> {
    match vfs::dev::kind_of(f)? {
        vfs::dev::DeviceKind::Null => return Some(Ok(0)),
        vfs::dev::DeviceKind::Zero if count > 0 => {}
        _ => return None,
    }
    let n = t.mm().zero_out_partial(addr, count as u64);
    if n == 0 {
        return Some(Err(Errno::EFAULT));
    }
    f.accessed(n, false);
    Some(Ok(n as u64))
}

/// Whether `f` throws written bytes away unread (`/dev/null`,
/// `/dev/zero`: Linux's `write_null` never touches the buffer, so even a
/// bad one is "written").
fn discards_writes(f: &File) -> bool {
    matches!(
        vfs::dev::kind_of(f),
        Some(vfs::dev::DeviceKind::Null | vfs::dev::DeviceKind::Zero)
    )
}

pub fn write(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let f = file(t, a[0])?;
    if !f.writable() {
        return Err(Errno::EBADF);
    }
    let count = (a[2] as usize).min(MAX_RW);
    if discards_writes(&f) {
        f.modified(count);
        return Ok(count as u64);
    }
    let cap = fsize_cap(t, &f);
    let r = match direct(t, &f, a[1], count, None, Some(cap)) {
        Some(r) => r,
        None => write_from(t, &f, a[1], count, |f, b| f.write_capped(b, cap)),
    };
    fsize_signal(t, cap, r)
}

pub fn pread64(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let f = file(t, a[0])?;
    let off = a[3] as i64;
    if off < 0 {
        return Err(Errno::EINVAL);
    }
    // ESPIPE before EBADF: Linux checks FMODE_PREAD/PWRITE first, once
    // the descriptor is found (an O_PATH one is not: EBADF).
    if f.flags() & O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    if !f.ops.seekable() {
        return Err(Errno::ESPIPE);
    }
    if !f.readable() {
        return Err(Errno::EBADF);
    }
    verify_area(off, a[2])?;
    let count = (a[2] as usize).min(MAX_RW);
    if let Some(r) = direct(t, &f, a[1], count, Some(off as u64), None) {
        return r;
    }
    read_into(t, &f, a[1], count, |f, b, done| {
        f.pread(b, off as u64 + done)
    })
}

pub fn pwrite64(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let f = file(t, a[0])?;
    let off = a[3] as i64;
    if off < 0 {
        return Err(Errno::EINVAL);
    }
    // ESPIPE before EBADF: Linux checks FMODE_PREAD/PWRITE first, once
    // the descriptor is found (an O_PATH one is not: EBADF).
    if f.flags() & O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    if !f.ops.seekable() {
        return Err(Errno::ESPIPE);
    }
    if !f.writable() {
        return Err(Errno::EBADF);
    }
    verify_area(off, a[2])?;
    let cell = std::cell::Cell::new(off as u64);
    let cap = fsize_cap(t, &f);
    let count = (a[2] as usize).min(MAX_RW);
    let r = match direct(t, &f, a[1], count, Some(off as u64), Some(cap)) {
        Some(r) => r,
        None => write_from(t, &f, a[1], count, |f, b| {
            let n = f.pwrite_capped(b, cell.get(), cap)?;
            cell.set(cell.get() + n as u64);
            Ok(n)
        }),
    };
    fsize_signal(t, cap, r)
}

/// Linux's `rw_verify_area` for a transfer at an explicit offset: the
/// count must be a valid size and the range must end within the largest
/// file offset, or the call is `EINVAL` before anything moves.
fn verify_area(off: i64, count: u64) -> SysResult<()> {
    if count > isize::MAX as u64 || off.checked_add_unsigned(count).is_none() {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// Linux's `iovec_from_user`: the array of `cnt` (at most `UIO_MAXIOV`)
/// entries read whole (`EFAULT`), a negative length `EINVAL`.
pub(crate) fn iovecs(t: &Task, addr: u64, cnt: u64) -> SysResult<Vec<IoVec>> {
    if cnt > 1024 {
        return Err(Errno::EINVAL);
    }
    let mut v = Vec::with_capacity(cnt as usize);
    for i in 0..cnt {
        let iov: IoVec = util::read_obj(t, addr.wrapping_add(i * 16))?;
        if (iov.len as i64) < 0 {
            return Err(Errno::EINVAL);
        }
        v.push(iov);
    }
    Ok(v)
}

/// Linux's `import_iovec` for readv and writev: the array as [`iovecs`]
/// reads it, then a range outside the
/// user address space is `EFAULT` (even an empty one) and the lengths are
/// cut so that the total stays within `MAX_RW`.
fn import_iovecs(t: &Task, addr: u64, cnt: u64) -> SysResult<Vec<IoVec>> {
    /// The end of the user address range (`TASK_SIZE_MAX`): `access_ok`.
    const TASK_SIZE_MAX: u64 = 0x7fff_ffff_f000;
    let mut v = iovecs(t, addr, cnt)?;
    let mut total = 0u64;
    for iov in &mut v {
        if iov
            .base
            .checked_add(iov.len)
            .is_none_or(|end| end > TASK_SIZE_MAX)
        {
            return Err(Errno::EFAULT);
        }
        iov.len = iov.len.min(MAX_RW as u64 - total);
        total += iov.len;
    }
    Ok(v)
}

/// Whether a read of `f` fills the whole buffer, as Linux loops over it:
/// a regular file (up to its end) and the devices that make their bytes
/// (`/dev/zero`, `/dev/full`, `/dev/random`, `/dev/urandom`).
fn fills(f: &File) -> bool {
    use vfs::dev::DeviceKind as D;
    f.dentry.as_ref().is_some_and(|d| {
        matches!(
            d.inode.kind,
            vfs::Kind::File(_) | vfs::Kind::Device(D::Zero | D::Full | D::Random | D::URandom)
        )
    })
}

/// Reads into an iovec array through a buffer of at most `CHUNK` bytes:
/// a file that [`fills`] the buffer in steps until the total (up to the
/// first bad byte of the buffers, as Linux's copy stops at a fault), other
/// files what one step got. `op` is called with the bytes done so far.
fn readv_common(
    t: &mut Task,
    f: &Arc<File>,
    vecs: &[IoVec],
    op: impl Fn(&File, &mut [u8], u64) -> SysResult<usize>,
) -> SysResult<u64> {
    let full = fills(f);
    let mut total = vecs.iter().map(|v| v.len).sum::<u64>() as usize;
    if full {
        let mut good = 0u64;
        for v in vecs {
            let p = t.mm().access_prefix(v.base, v.len, true);
            good += p;
            if p < v.len {
                break;
            }
        }
        if good == 0 && total > 0 {
            return Err(Errno::EFAULT);
        }
        total = total.min(good as usize);
    } else {
        // Other files (a pipe's copy fails whole) refuse a partly bad
        // buffer before consuming anything.
        total = total.min(CHUNK);
        let mut left = total as u64;
        for v in vecs {
            t.mm().check_access(v.base, v.len.min(left), true)?;
            left -= v.len.min(left);
        }
    }
    if total == 0 {
        return Ok(0);
    }
    let mut buf = take_scratch(t, total.min(CHUNK));
    let mut done = 0usize;
    let r = loop {
        let want = (total - done).min(CHUNK);
        let r = if done == 0 {
            blocking_read(t, f, &mut buf[..want], &|f: &File, b: &mut [u8]| {
                op(f, b, 0)
            })
        } else {
            op(f, &mut buf[..want], done as u64)
        };
        let n = match r {
            Ok(n) => n,
            Err(_) if done > 0 => break Ok(done as u64),
            Err(e) => break Err(e),
        };
        if let Err(e) = crate::net::scatter_at(t, vecs, done, &buf[..n]) {
            break if done > 0 { Ok(done as u64) } else { Err(e) };
        }
        done += n;
        if n < want || done >= total || !full {
            break Ok(done as u64);
        }
    };
    put_scratch(t, buf);
    r
}

/// Writes from an iovec array through a buffer of at most `CHUNK` bytes:
/// a regular file or a stream socket in steps until all is written (a
/// regular file up to the first bad byte of the buffers, as Linux's copy
/// stops at a fault), other files what one step took.
fn writev_common(
    t: &mut Task,
    f: &Arc<File>,
    vecs: &[IoVec],
    op: impl Fn(&File, &[u8]) -> SysResult<usize>,
) -> SysResult<u64> {
    let total = vecs.iter().map(|v| v.len).sum::<u64>() as usize;
    if total == 0 {
        return Ok(0);
    }
    let reg = regular(f);
    let more = reg || stream_socket(f);
    let total = if more { total } else { total.min(CHUNK) };
    let mut buf = take_scratch(t, total.min(CHUNK));
    let mut done = 0usize;
    let r = loop {
        let want = (total - done).min(CHUNK);
        let got = crate::net::gather_prefix(t, vecs, done, &mut buf[..want]);
        // Only a regular file keeps what came before a fault.
        if got == 0 || (got < want && !reg) {
            break if done > 0 {
                Ok(done as u64)
            } else {
                Err(Errno::EFAULT)
            };
        }
        match write_all(t, f, &buf[..got], &op) {
            Ok(n) => {
                done += n as usize;
                if (n as usize) < got || got < want || done >= total || !more {
                    break Ok(done as u64);
                }
            }
            Err(_) if done > 0 => break Ok(done as u64),
            Err(e) => break Err(e),
        }
    };
    put_scratch(t, buf);
    r
}

pub fn readv(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let f = file(t, a[0])?;
    let vecs = import_iovecs(t, a[1], a[2])?;
    if !f.readable() {
        return Err(Errno::EBADF);
    }
    readv_common(t, &f, &vecs, |f, b, _| f.read(b))
}

pub fn writev(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let f = file(t, a[0])?;
    let vecs = import_iovecs(t, a[1], a[2])?;
    if !f.writable() {
        return Err(Errno::EBADF);
    }
    let cap = fsize_cap(t, &f);
    let r = writev_common(t, &f, &vecs, |f, b| f.write_capped(b, cap));
    fsize_signal(t, cap, r)
}

const RWF_SUPPORTED: u64 = 0x1f; // HIPRI | DSYNC | SYNC | NOWAIT | APPEND

fn preadv_at(t: &mut Task, a: [u64; 6], flags: u64) -> SysResult<u64> {
    let f = file(t, a[0])?;
    if flags & !RWF_SUPPORTED != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    let vecs = import_iovecs(t, a[1], a[2])?;
    let off = a[3] as i64;
    if off != -1 && off >= 0 && f.flags() & O_PATH == 0 && !f.ops.seekable() {
        return Err(Errno::ESPIPE);
    }
    if !f.readable() {
        return Err(Errno::EBADF);
    }
    if off == -1 {
        return readv_common(t, &f, &vecs, |f, b, _| f.read(b));
    }
    if off < 0 {
        return Err(Errno::EINVAL);
    }
    if !f.ops.seekable() {
        return Err(Errno::ESPIPE);
    }
    verify_area(off, vecs.iter().map(|v| v.len).sum())?;
    readv_common(t, &f, &vecs, |f, b, done| f.pread(b, off as u64 + done))
}

fn pwritev_at(t: &mut Task, a: [u64; 6], flags: u64) -> SysResult<u64> {
    let f = file(t, a[0])?;
    if flags & !RWF_SUPPORTED != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    let vecs = import_iovecs(t, a[1], a[2])?;
    let off = a[3] as i64;
    if off != -1 && off >= 0 && f.flags() & O_PATH == 0 && !f.ops.seekable() {
        return Err(Errno::ESPIPE);
    }
    if !f.writable() {
        return Err(Errno::EBADF);
    }
    const RWF_APPEND: u64 = 0x10;
    let cap = fsize_cap(t, &f);
    if off == -1 {
        let r = writev_common(t, &f, &vecs, |f, b| f.write_capped(b, cap));
        return fsize_signal(t, cap, r);
    }
    if off < 0 {
        return Err(Errno::EINVAL);
    }
    if !f.ops.seekable() {
        return Err(Errno::ESPIPE);
    }
    verify_area(off, vecs.iter().map(|v| v.len).sum())?;
    let off = if flags & RWF_APPEND != 0 {
        f.ops.size() as i64
    } else {
        off
    };
    let cell = std::cell::Cell::new(off as u64);
    let r = writev_common(t, &f, &vecs, |f, b| {
        let n = f.pwrite_capped(b, cell.get(), cap)?;
        cell.set(cell.get() + n as u64);
        Ok(n)
    });
    fsize_signal(t, cap, r)
}

pub fn preadv(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    if (a[3] as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    preadv_at(t, a, 0)
}

pub fn pwritev(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    if (a[3] as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    pwritev_at(t, a, 0)
}

pub fn preadv2(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    preadv_at(t, a, a[5])
}

pub fn pwritev2(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    pwritev_at(t, a, a[5])
}

pub fn lseek(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let f = file(t, a[0])?;
    f.seek(a[1] as i64, a[2] as i32)
}

pub fn close(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let e = t.fds().remove(a[0] as i32)?;
    release_posix_locks(t, &e.file);
    drop(e);
    Ok(0)
}

pub fn close_range(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    const UNSHARE: u64 = 2;
    const CLOEXEC: u64 = 4;
    let (lo, hi, flags) = (a[0] as u32, a[1] as u32, a[2]);
    if flags & !(UNSHARE | CLOEXEC) != 0 || lo > hi {
        return Err(Errno::EINVAL);
    }
    let closed = t.fds().close_range(lo, hi, flags & CLOEXEC != 0);
    for e in &closed {
        release_posix_locks(t, &e.file);
    }
    drop(closed);
    Ok(0)
}

fn nofile(t: &Task) -> u64 {
    t.rlimit(abi::misc::RLIMIT_NOFILE).cur
}

pub fn dup(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let f = file(t, a[0])?;
    let lim = nofile(t);
    t.fds().install(f, false, 0, lim).map(|fd| fd as u64)
}

fn dup_to(t: &mut Task, old: u64, new: u64, cloexec: bool) -> SysResult<u64> {
    let f = file(t, old)?;
    let lim = nofile(t);
    let prev = t.fds().install_at(new as i32, f, cloexec, lim)?;
    if let Some(p) = &prev {
        release_posix_locks(t, &p.file);
    }
    drop(prev);
    Ok(new as i32 as u64)
}

pub fn dup2(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    if a[0] as i32 == a[1] as i32 {
        file(t, a[0])?;
        return Ok(a[1] as i32 as u64);
    }
    dup_to(t, a[0], a[1], false)
}

pub fn dup3(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    if a[2] as u32 & !O_CLOEXEC != 0 || a[0] as i32 == a[1] as i32 {
        return Err(Errno::EINVAL);
    }
    dup_to(t, a[0], a[1], a[2] as u32 & O_CLOEXEC != 0)
}

pub fn fcntl(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let fd = a[0] as i32;
    let cmd = a[1] as i32;
    let arg = a[2];
    let f = t.fds().get(fd)?;
    // An O_PATH descriptor only duplicates and has its flags read or
    // its close-on-exec flag set (Linux's `check_fcntl_cmd`).
    if f.flags() & O_PATH != 0
        && !matches!(cmd, F_DUPFD | F_DUPFD_CLOEXEC | F_GETFD | F_SETFD | F_GETFL)
    {
        return Err(Errno::EBADF);
    }
    match cmd {
        F_DUPFD | F_DUPFD_CLOEXEC => {
            let min = arg as i32;
            let lim = nofile(t);
            if min < 0 || min as u64 >= lim {
                return Err(Errno::EINVAL);
            }
            t.fds()
                .install(f, cmd == F_DUPFD_CLOEXEC, min, lim)
                .map(|x| x as u64)
        }
        F_GETFD => Ok(t.fds().entry(fd)?.cloexec as u64),
        F_SETFD => {
            t.fds().entry_mut(fd)?.cloexec = arg & FD_CLOEXEC as u64 != 0;
            Ok(0)
        }
        F_GETFL => Ok(f.flags() as u64),
        F_SETFL => {
            f.set_flags(arg as u32);
            vfs::fasync::set(&f, fd, f.flags() & O_ASYNC != 0);
            Ok(0)
        }
        F_GETPIPE_SZ => f
            .ops
            .pipe()
            .map(|p| p.capacity() as u64)
            .ok_or(Errno::EBADF),
        F_SETPIPE_SZ => {
            let p = f.ops.pipe().ok_or(Errno::EBADF)?;
            // Linux's `pipe_fcntl` takes the size as an unsigned int, and
            // one that rounds past 2^31 is no size at all (EINVAL).
            let arg = arg as u32 as u64;
            if arg > (1 << 31) {
                return Err(Errno::EINVAL);
            }
            if arg > (1 << 20) {
                return Err(Errno::EPERM);
            }
            p.set_capacity(arg as usize).map(|c| c as u64)
        }
        F_ADD_SEALS => crate::memfd::seals(t, &f, Some(arg)),
        F_GET_SEALS => crate::memfd::seals(t, &f, None),
        // The owner and signal: dnotify and O_ASYNC signal through them.
        F_GETOWN => {
            let o = *lock(&f.fown);
            let id = t.vpid(o.id);
            let shown = if o.kind == vfs::file::F_OWNER_PGRP {
                -id
            } else {
                id
            };
            Ok(shown as i64 as u64)
        }
        F_SETOWN => {
            let who = arg as i32;
            if who == i32::MIN {
                return Err(Errno::EINVAL);
            }
            let (kind, id) = if who < 0 {
                (vfs::file::F_OWNER_PGRP, -who)
            } else {
                (vfs::file::F_OWNER_PID, who)
            };
            set_owner(t, &f, kind, id)
        }
        F_GETOWN_EX => {
            let o = *lock(&f.fown);
            util::write_obj(t, arg, &[o.kind, t.vpid(o.id)])?;
            Ok(0)
        }
        F_SETOWN_EX => {
            let [kind, id]: [i32; 2] = util::read_obj(t, arg)?;
            if !(vfs::file::F_OWNER_TID..=vfs::file::F_OWNER_PGRP).contains(&kind) {
                return Err(Errno::EINVAL);
            }
            set_owner(t, &f, kind, id)
        }
        F_GETSIG => Ok(lock(&f.fown).sig as u64),
        F_SETSIG => {
            if arg > 64 {
                return Err(Errno::EINVAL);
            }
            lock(&f.fown).sig = arg as i32;
            Ok(0)
        }
        F_NOTIFY => {
            if f.flags() & O_PATH != 0 {
                return Err(Errno::EBADF);
            }
            let table = Arc::as_ptr(&t.fds) as usize;
            vfs::dnotify::fcntl_notify(&f, fd, table, arg as u32, t.pid())?;
            Ok(0)
        }
        F_GETLK | F_SETLK | F_SETLKW | F_OFD_GETLK | F_OFD_SETLK | F_OFD_SETLKW => {
            record_lock(t, &f, cmd, arg)
        }
        _ => Err(Errno::EINVAL),
    }
}

pub fn flock(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let f = util::file_io(t, a[0])?;
    const LOCK_SH: u64 = 1;
    const LOCK_EX: u64 = 2;
    const LOCK_NB: u64 = 4;
    const LOCK_UN: u64 = 8;
    let op = a[1] & !LOCK_NB;
    if op != LOCK_SH && op != LOCK_EX && op != LOCK_UN {
        return Err(Errno::EINVAL);
    }
    let locks = f.locks();
    let owner = Owner::Flock(f.id());
    if op == LOCK_UN {
        locks.unlock(owner, 0, u64::MAX);
        return Ok(0);
    }
    let kind = if op == LOCK_SH {
        LockKind::Read
    } else {
        LockKind::Write
    };
    let want = Lock {
        owner,
        kind,
        start: 0,
        end: u64::MAX,
    };
    if a[1] & LOCK_NB != 0 {
        return locks.try_lock(want).map(|_| 0);
    }
    t.block_on(Some(&locks.queue), events::ALL, None, |_| {
        locks.try_lock(want)
    })
    .map(|_| 0)
}

/// `struct flock` (x86-64).
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Flock {
    l_type: i16,
    l_whence: i16,
    _pad: i32,
    l_start: i64,
    l_len: i64,
    l_pid: i32,
    _pad2: i32,
}
// SAFETY: repr(C) of integers with explicit padding.
unsafe impl abi::Pod for Flock {}

const F_RDLCK: i16 = 0;
const F_WRLCK: i16 = 1;
const F_UNLCK: i16 = 2;

/// `fcntl` record locks: POSIX (per process) and OFD (per open file).
fn record_lock(t: &mut Task, f: &Arc<File>, cmd: i32, arg: u64) -> SysResult<u64> {
    let ofd = matches!(cmd, F_OFD_GETLK | F_OFD_SETLK | F_OFD_SETLKW);
    let mut fl: Flock = util::read_obj(t, arg)?;
    if ofd && fl.l_pid != 0 {
        return Err(Errno::EINVAL);
    }
    let locks = f.locks();
    let base: i64 = match fl.l_whence as i32 {
        SEEK_SET => 0,
        SEEK_CUR => *lock(&f.pos) as i64,
        SEEK_END => f.ops.size() as i64,
        _ => return Err(Errno::EINVAL),
    };
    let start = base.checked_add(fl.l_start).ok_or(Errno::EOVERFLOW)?;
    let (start, end) = match fl.l_len {
        0 => (start, u64::MAX as i128),
        n if n > 0 => (start, start as i128 + n as i128),
        n => (start + n, start as i128),
    };
    if start < 0 {
        return Err(Errno::EINVAL);
    }
    let end = end.min(u64::MAX as i128) as u64;
    let owner = if ofd {
        Owner::Description(f.id())
    } else {
        Owner::Process(t.pid())
    };
    let kind = match fl.l_type {
        F_RDLCK => LockKind::Read,
        F_WRLCK => LockKind::Write,
        F_UNLCK => {
            if matches!(cmd, F_GETLK | F_OFD_GETLK) {
                return Err(Errno::EINVAL);
            }
            locks.unlock(owner, start as u64, end);
            return Ok(0);
        }
        _ => return Err(Errno::EINVAL),
    };
    let want = Lock {
        owner,
        kind,
        start: start as u64,
        end,
    };
    match cmd {
        F_GETLK | F_OFD_GETLK => {
            match locks.conflict(&want) {
                Some(c) => {
                    fl.l_type = if c.kind == LockKind::Read {
                        F_RDLCK
                    } else {
                        F_WRLCK
                    };
                    fl.l_whence = SEEK_SET as i16;
                    fl.l_start = c.start as i64;
                    fl.l_len = if c.end == u64::MAX {
                        0
                    } else {
                        (c.end - c.start) as i64
                    };
                    fl.l_pid = match c.owner {
                        // As the caller's pid namespace numbers it (0
                        // for a holder it cannot see).
                        Owner::Process(p) => t.vpid(p),
                        _ => -1,
                    };
                }
                None => fl.l_type = F_UNLCK,
            }
            util::write_obj(t, arg, &fl).map(|_| 0)
        }
        _ => {
            if (kind == LockKind::Read && !f.readable())
                || (kind == LockKind::Write && !f.writable())
            {
                return Err(Errno::EBADF);
            }
            if matches!(cmd, F_SETLK | F_OFD_SETLK) {
                return locks.try_lock(want).map(|_| 0);
            }
            t.block_on(Some(&locks.queue), events::ALL, None, |_| {
                locks.try_lock(want)
            })
            .map(|_| 0)
        }
    }
}

/// A process's POSIX locks on a file go away when it closes any
/// descriptor for that file.
/// `F_SETOWN(_EX)`: `ESRCH` for an owner that does not exist.
/// The owner is kept as a global id ([`kernel::pidns`]).
fn set_owner(t: &Task, f: &File, kind: i32, id: i32) -> SysResult<u64> {
    if id < 0 {
        return Err(Errno::ESRCH);
    }
    let id = if id == 0 {
        0
    } else {
        let g = t.global_id(id).ok_or(Errno::ESRCH)?;
        let known = match kind {
            vfs::file::F_OWNER_PGRP => t.kernel.pgrp_exists(g),
            vfs::file::F_OWNER_TID => t.kernel.find_task(g).is_some(),
            _ => t.kernel.find_group(g).is_some(),
        };
        if !known {
            return Err(Errno::ESRCH);
        }
        g
    };
    let mut o = lock(&f.fown);
    o.kind = kind;
    o.id = id;
    Ok(0)
}

/// A descriptor of `f` was closed (Linux's `filp_close`): the
/// process's POSIX locks on the file and the table's dnotify requests
/// through it end.
pub fn release_posix_locks(t: &Task, f: &File) {
    f.release_posix_locks(t.pid());
    if f.dentry.is_some() {
        vfs::dnotify::flush(f, Arc::as_ptr(&t.fds) as usize);
    }
}

pub fn ioctl(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let fd = a[0] as i32;
    let cmd = a[1] as u32;
    let arg = a[2];
    let f = util::file_io(t, fd as u64)?;
    match cmd {
        FIONBIO => {
            let v: i32 = util::read_obj(t, arg)?;
            let fl = f.flags();
            f.set_flags(if v != 0 {
                fl | O_NONBLOCK
            } else {
                fl & !O_NONBLOCK
            });
            Ok(0)
        }
        FIOASYNC => {
            let v: i32 = util::read_obj(t, arg)?;
            let fl = f.flags();
            f.set_flags(if v != 0 { fl | O_ASYNC } else { fl & !O_ASYNC });
            vfs::fasync::set(&f, fd, v != 0);
            Ok(0)
        }
        FIOCLEX | FIONCLEX => {
            t.fds().entry_mut(fd)?.cloexec = cmd == FIOCLEX;
            Ok(0)
        }
        TIOCGPTPEER => open_pty_peer(t, &f, arg as u32),
        // Linux serves it for every file, through the inode: only regular
        // files have extents here (as tmpfs, which has no fiemap at all).
        FS_IOC_FIEMAP if !regular(&f) => Err(Errno::EOPNOTSUPP),
        // The interface ioctls work on any socket (glibc's if_nametoindex
        // uses a unix one); inet and netlink sockets serve them themselves.
        0x8910..=0x8960 if vfs::unix::from_file(&f).is_some() => {
            let mm = t.mm.clone();
            let mut mm = lock(&mm);
            net::ifaces::ioctl(&crate::inet::task_stack(t), cmd, arg, &mut mm)
        }
        FIONREAD if f.ops.seekable() && !f.dentry.as_ref().is_some_and(|d| d.inode.is_dir()) => {
            let pos = *lock(&f.pos);
            let n = f.ops.size().saturating_sub(pos) as i32;
            util::write_obj(t, arg, &n)?;
            Ok(0)
        }
        _ => {
            let mm = t.mm.clone();
            let mut mm = lock(&mm);
            f.ops.ioctl(&f, cmd, arg, &mut mm)
        }
    }
}

/// `TIOCGPTPEER`: opens the slave of the master `f` as a new descriptor.
fn open_pty_peer(t: &mut Task, f: &File, flags: u32) -> SysResult<u64> {
    let any = f.ops.as_any();
    let Some(master) = any.and_then(|a| a.downcast_ref::<vfs::tty::MasterOps>()) else {
        // Linux: EIO from any other terminal.
        let slave = any.is_some_and(|a| a.is::<vfs::tty::SlaveOps>());
        return Err(if slave { Errno::EIO } else { Errno::ENOTTY });
    };
    let (inode, ops) = master.open_peer(flags)?;
    let vfs = t.kernel.vfs.clone();
    let dir = vfs
        .resolve(&vfs.root, &vfs.root, b"/dev/pts", true, &vfs::Creds::root())
        .ok();
    let name = master.tty.index.to_string();
    let d = vfs::Dentry::new(name.as_bytes(), dir, inode);
    let file = File::new(Some(d), flags | O_LARGEFILE, Box::new(ops));
    let lim = nofile(t);
    t.fds()
        .install(file, flags & O_CLOEXEC != 0, 0, lim)
        .map(|fd| fd as u64)
}

pub fn pipe2(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let flags = a[1] as u32;
    if flags & !(O_CLOEXEC | O_NONBLOCK | O_DIRECT) != 0 {
        return Err(Errno::EINVAL);
    }
    let p = vfs::pipe::Pipe::new();
    let r = File::new(
        None,
        O_RDONLY | (flags & O_NONBLOCK),
        Box::new(p.open_end(true, false)),
    );
    let w = File::new(
        None,
        O_WRONLY | (flags & O_NONBLOCK),
        Box::new(p.open_end(false, true)),
    );
    let lim = nofile(t);
    let cloexec = flags & O_CLOEXEC != 0;
    let rfd = t.fds().install(r, cloexec, 0, lim)?;
    let wfd = match t.fds().install(w, cloexec, 0, lim) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = t.fds().remove(rfd);
            return Err(e);
        }
    };
    if let Err(e) = util::write_obj(t, a[0], &[rfd, wfd]) {
        let _ = t.fds().remove(rfd);
        let _ = t.fds().remove(wfd);
        return Err(e);
    }
    Ok(0)
}

pub fn pipe(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    pipe2(t, [a[0], 0, 0, 0, 0, 0])
}

pub fn getdents64(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (addr, data) = read_dir(t, a)?;
    t.mm().copy_out(addr, &data)?;
    Ok(data.len() as u64)
}

/// The legacy `getdents`: `struct linux_dirent` records, the same length
/// as `linux_dirent64` ones (`d_name` one byte earlier, `d_type` in the
/// record's last byte).
pub fn getdents(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (addr, mut data) = read_dir(t, a)?;
    let mut at = 0;
    while at + 19 < data.len() {
        let reclen = u16::from_le_bytes([data[at + 16], data[at + 17]]) as usize;
        let rec = &mut data[at..at + reclen];
        let dtype = rec[18];
        let name_len = rec[19..].iter().position(|&b| b == 0).unwrap_or(0);
        rec.copy_within(19..19 + name_len, 18);
        rec[18 + name_len..].fill(0);
        rec[reclen - 1] = dtype;
        at += reclen;
    }
    t.mm().copy_out(addr, &data)?;
    Ok(data.len() as u64)
}

/// Reads directory entries (`linux_dirent64` records) for `getdents` and
/// `getdents64` at `a[1]`, `a[2]` bytes. As Linux: a size over `INT_MAX`
/// is `EINVAL`; entries go only where the buffer is writable (those before
/// a bad page are returned), `EFAULT` if not even the first fits there,
/// `EINVAL` if the first does not fit the size given.
fn read_dir(t: &mut Task, a: [u64; 6]) -> SysResult<(u64, Vec<u8>)> {
    let f = file(t, a[0])?;
    let asked = a[2] as u32;
    if f.flags() & O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    if asked > i32::MAX as u32 {
        return Err(Errno::EINVAL);
    }
    let count = (asked as usize).min(1 << 20);
    let room = (t.mm().access_prefix(a[1], count as u64, true) as usize).min(count);
    let data = match f.ops.getdents(&f, room) {
        // The first entry did not fit where the buffer is good: a fault if
        // it fits the size given (the position is put back after asking).
        Err(Errno::EINVAL) if room < count => {
            let pos = *lock(&f.pos);
            let fits = f.ops.getdents(&f, count).is_ok();
            *lock(&f.pos) = pos;
            return Err(if fits { Errno::EFAULT } else { Errno::EINVAL });
        }
        r => r?,
    };
    // Linux reports every successful directory read, the last empty one too.
    if let Some(d) = &f.dentry {
        if f.flags() & O_NOATIME == 0 {
            vfs::mount::accessed(d);
        }
        vfs::inotify::event(d, vfs::inotify::IN_ACCESS, true);
    }
    Ok((a[1], data))
}

pub fn fsync(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let f = util::file_io(t, a[0])?;
    f.ops.fsync(&f)?;
    // A host file written through (`--overlay=none`) is flushed on the
    // host by the gofer.
    if let Some(d) = &f.dentry {
        t.kernel.vfs.host_fsync(d, false)?;
    }
    Ok(0)
}

/// Everything lives in memory or on the read-only host: nothing to flush.
pub fn sync(_t: &mut Task, _a: [u64; 6]) -> SysResult<u64> {
    Ok(0)
}

pub fn syncfs(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    util::file_io(t, a[0]).map(|_| 0)
}

/// `sync_file_range`: nothing is ever written back to a disk, so only
/// the checks remain.
pub fn sync_file_range(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    const VALID: u64 = 1 | 2 | 4; // WAIT_BEFORE | WRITE | WAIT_AFTER
    let f = util::file_io(t, a[0])?;
    let (off, n, flags) = (a[1] as i64, a[2] as i64, a[3] as u32 as u64);
    if flags & !VALID != 0 || off < 0 || off.checked_add(n).is_none_or(|e| e < off) {
        return Err(Errno::EINVAL);
    }
    let mode = f.stat()?.mode & S_IFMT;
    if !matches!(mode, S_IFREG | S_IFBLK | S_IFDIR | S_IFLNK) {
        return Err(Errno::ESPIPE);
    }
    Ok(0)
}

/// `readahead`: every file is in memory or read on demand; only the checks
/// (regular files readable through this descriptor) remain.
pub fn readahead(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let f = file(t, a[0])?;
    if !f.readable() {
        return Err(Errno::EBADF);
    }
    let mode = f.stat()?.mode & S_IFMT;
    if !matches!(mode, S_IFREG | S_IFBLK) || (a[2] as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

pub fn fadvise64(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let f = util::file_io(t, a[0])?;
    if a[3] > 5 || (a[2] as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    if f.ops.pipe().is_some() {
        return Err(Errno::ESPIPE);
    }
    Ok(0)
}
