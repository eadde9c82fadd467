//! `splice`, `tee`, `vmsplice`, `sendfile` and `copy_file_range`: data
//! moved between files without passing through the application. Nothing is zero-copy here: bytes go through a sentry buffer,
//! and a pipe's bytes are taken only once the other side accepted them,
//! so an interrupted or failed transfer loses nothing.

use std::sync::Arc;

use abi::fs::*;
use abi::{Errno, SysResult};
use kernel::Task;
use vfs::pipe::Pipe;
use vfs::File;
use waiter::events;

use crate::file::{
    blocking, fsize_cap, fsize_signal, fsize_spliced_short, iovecs, regular, sigpipe, MAX_RW,
};
use crate::util::{self, file};

const SPLICE_F_NONBLOCK: u64 = 2;
const SPLICE_F_ALL: u64 = 0xf;
/// The most one call moves (a pipe holds at most 1 MiB).
const STEP: usize = 1 << 20;

/// Runs `op` until it stops saying `EAGAIN`, sleeping on `q` for `ev`
/// unless `nonblock`.
fn wait<R>(
    t: &mut Task,
    q: &waiter::Queue,
    ev: u32,
    nonblock: bool,
    mut op: impl FnMut() -> SysResult<R>,
) -> SysResult<R> {
    if nonblock {
        return op();
    }
    t.block_on(Some(q), ev, None, |_| op())
}

/// Reads an optional `loff_t` argument.
fn offset_arg(t: &Task, p: u64) -> SysResult<Option<i64>> {
    if p == 0 {
        return Ok(None);
    }
    util::read_obj::<i64>(t, p).map(Some)
}

/// Bytes of the input pipe the output took: `EPIPE` (and `SIGPIPE`) for
/// a pipe nobody reads.
fn out_of_pipe(
    t: &mut Task,
    ipipe: &Arc<Pipe>,
    nonblock: bool,
    len: usize,
    mut put: impl FnMut(&mut Task, &[u8]) -> SysResult<usize>,
) -> SysResult<usize> {
    let mut buf = vec![0u8; len.min(STEP)];
    let n = wait(t, &ipipe.queue, events::IN | events::HUP, nonblock, || {
        ipipe.peek(&mut buf)
    })?;
    if n == 0 {
        return Ok(0);
    }
    let w = put(t, &buf[..n])?;
    ipipe.consume(w);
    Ok(w)
}

/// Writes `data` into `opipe` once there is room (as much as fits).
fn into_pipe(
    t: &mut Task,
    opipe: &Arc<Pipe>,
    end: &File,
    nonblock: bool,
    data: &[u8],
) -> SysResult<usize> {
    let r = wait(t, &opipe.queue, events::OUT, nonblock, || {
        end.ops.write(end, data, 0)
    });
    if r == Err(Errno::EPIPE) {
        sigpipe(t);
    }
    r
}

/// Waits for a free buffer in `opipe`: how much room the free ones have
/// ([`Pipe::splice_room`]).
fn pipe_room(t: &mut Task, opipe: &Arc<Pipe>, nonblock: bool) -> SysResult<usize> {
    let r = wait(t, &opipe.queue, events::OUT, nonblock, || {
        match opipe.splice_room()? {
            0 => Err(Errno::EAGAIN),
            n => Ok(n),
        }
    });
    if r == Err(Errno::EPIPE) {
        sigpipe(t);
    }
    r
}

pub fn splice(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let (off_in_p, off_out_p, flags) = (a[1], a[3], a[5] as u32 as u64);
    let len = (a[4] as usize).min(MAX_RW);
    if len == 0 {
        return Ok(0);
    }
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let fin = file(t, a[0])?;
    let fout = file(t, a[2])?;
    let ipipe = fin.ops.pipe().cloned();
    let opipe = fout.ops.pipe().cloned();
    if (ipipe.is_some() && off_in_p != 0) || (opipe.is_some() && off_out_p != 0) {
        return Err(Errno::ESPIPE);
    }
    let off_in = offset_arg(t, off_in_p)?;
    let off_out = offset_arg(t, off_out_p)?;
    if !fin.readable() || !fout.writable() {
        return Err(Errno::EBADF);
    }
    let mut nonblock = flags & SPLICE_F_NONBLOCK != 0;
    match (&ipipe, &opipe) {
        (Some(ip), Some(op)) => {
            if Arc::ptr_eq(ip, op) {
                return Err(Errno::EINVAL);
            }
            nonblock |= fin.nonblocking() || fout.nonblocking();
            let n = out_of_pipe(t, ip, nonblock, len, |t, data| {
                into_pipe(t, op, &fout, nonblock, data)
            })?;
            Ok(n as u64)
        }
        (Some(ip), None) => {
            if (off_out.is_some() && !fout.ops.seekable()) || fout.flags() & O_APPEND != 0 {
                return Err(Errno::EINVAL);
            }
            // Linux's `rw_verify_area` on the file's side: a negative
            // count or position, or one past the largest offset, is EINVAL.
            if (a[4] as i64) < 0
                || off_out.is_some_and(|o| o < 0 || o.checked_add(a[4] as i64).is_none())
            {
                return Err(Errno::EINVAL);
            }
            nonblock |= fin.nonblocking();
            let out_nonblock = fout.nonblocking();
            let mut pos = off_out.map(|o| o as u64);
            let cap = fsize_cap(t, &fout);
            let n = out_of_pipe(t, ip, nonblock, len, |t, data| {
                let r = match pos {
                    Some(p) => fout.pwrite_capped(data, p, cap),
                    None => {
                        let q = fout.ops.queue().filter(|_| !out_nonblock);
                        match q {
                            Some(_) => {
                                blocking(t, &fout, events::OUT, || fout.write_capped(data, cap))
                            }
                            None => fout.write_capped(data, cap),
                        }
                    }
                };
                let r = fsize_signal(t, cap, r.map(|n| n as u64)).map(|n| n as usize);
                if r == Err(Errno::EPIPE) {
                    sigpipe(t);
                }
                let w = r?;
                fsize_spliced_short(t, &fout, cap, data.len(), w);
                if let Some(p) = &mut pos {
                    *p += w as u64;
                }
                Ok(w)
            })?;
            if let Some(p) = pos {
                util::write_obj(t, off_out_p, &(p as i64))?;
            }
            Ok(n as u64)
        }
        (None, Some(op)) => {
            if off_in.is_some() && !fin.ops.seekable() {
                return Err(Errno::EINVAL);
            }
            // Linux's `rw_verify_area` on the file's side: a negative
            // count or position, or one past the largest offset, is EINVAL.
            if (a[4] as i64) < 0
                || off_in.is_some_and(|o| o < 0 || o.checked_add(a[4] as i64).is_none())
            {
                return Err(Errno::EINVAL);
            }
            // Directories have no splice_read.
            if fin.dentry.as_ref().is_some_and(|d| d.inode.is_dir()) {
                return Err(Errno::EINVAL);
            }
            nonblock |= fout.nonblocking();
            let room = pipe_room(t, op, nonblock)?;
            let mut buf = vec![0u8; len.min(room).min(STEP)];
            let n = match off_in {
                Some(o) => fin.pread(&mut buf, o as u64)?,
                None if nonblock || fin.nonblocking() => fin.read(&mut buf)?,
                None => blocking(t, &fin, events::IN, || fin.read(&mut buf))?,
            };
            if n == 0 {
                return Ok(0);
            }
            // Room was made for it; another writer racing in may take
            // some, and what does not fit is lost (Linux holds the pipe
            // locked instead).
            let w = into_pipe(t, op, &fout, true, &buf[..n]).unwrap_or(0);
            if let Some(o) = off_in {
                util::write_obj(t, off_in_p, &(o + w as i64))?;
            } else if w < n && fin.ops.seekable() {
                // Give back what was read but not moved.
                let mut pos = kernel::task::lock(&fin.pos);
                *pos -= (n - w) as u64;
            }
            Ok(w as u64)
        }
        (None, None) => Err(Errno::EINVAL),
    }
}

pub fn tee(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let flags = a[3] as u32 as u64;
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let len = (a[2] as usize).min(MAX_RW);
    if len == 0 {
        return Ok(0);
    }
    let fin = file(t, a[0])?;
    let fout = file(t, a[1])?;
    if !fin.readable() || !fout.writable() {
        return Err(Errno::EBADF);
    }
    let (Some(ip), Some(op)) = (fin.ops.pipe().cloned(), fout.ops.pipe().cloned()) else {
        return Err(Errno::EINVAL);
    };
    if Arc::ptr_eq(&ip, &op) {
        return Err(Errno::EINVAL);
    }
    let nonblock = flags & SPLICE_F_NONBLOCK != 0;
    let mut buf = vec![0u8; len.min(STEP)];
    let n = wait(t, &ip.queue, events::IN | events::HUP, nonblock, || {
        ip.peek(&mut buf)
    })?;
    if n == 0 {
        return Ok(0);
    }
    into_pipe(t, &op, &fout, nonblock, &buf[..n]).map(|w| w as u64)
}

pub fn vmsplice(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let flags = a[3] as u32 as u64;
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let f = file(t, a[0])?;
    if !f.writable() && !f.readable() {
        return Err(Errno::EBADF);
    }
    let vecs = iovecs(t, a[1], a[2])?;
    let total = vecs
        .iter()
        .map(|v| v.len as usize)
        .sum::<usize>()
        .min(MAX_RW);
    if total == 0 {
        return Ok(0);
    }
    let p = f.ops.pipe().cloned().ok_or(Errno::EBADF)?;
    let nonblock = flags & SPLICE_F_NONBLOCK != 0 || f.nonblocking();
    let total = total.min(STEP);
    let mut buf = vec![0u8; total];
    if f.writable() {
        // Gather the user's memory, then put in as much as fits.
        let mut off = 0;
        for v in &vecs {
            let take = (v.len as usize).min(total - off);
            t.mm().copy_in(v.base, &mut buf[off..off + take])?;
            off += take;
        }
        return into_pipe(t, &p, &f, nonblock, &buf).map(|n| n as u64);
    }
    // Reading: like readv, taking only what reached the user.
    let n = wait(t, &p.queue, events::IN | events::HUP, nonblock, || {
        p.peek(&mut buf)
    })?;
    let mut done = 0;
    for v in &vecs {
        if done >= n {
            break;
        }
        let take = (v.len as usize).min(n - done);
        let copied = t.mm().copy_out_partial(v.base, &buf[done..done + take]);
        done += copied;
        if copied < take {
            break;
        }
    }
    if done == 0 && n > 0 {
        return Err(Errno::EFAULT);
    }
    p.consume(done);
    Ok(done as u64)
}

/// Chunk moved per step by `sendfile` and `copy_file_range`.
const CHUNK: usize = 4 << 20;

pub fn sendfile(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    // Linux's `do_sendfile` order: the input, its offset and the count
    // (`rw_verify_area`: a negative count or position, or one the count
    // would take past the largest offset, is `EINVAL`), then the output;
    // a file output opened `O_APPEND` is `EINVAL` (`do_splice_direct`),
    // and so is an input that cannot be read as a stream of bytes (a
    // directory: no `splice_read`).
    let inp = file(t, a[1])?;
    if !inp.readable() {
        return Err(Errno::EBADF);
    }
    let start = match offset_arg(t, a[2])? {
        Some(o) if o < 0 => return Err(Errno::EINVAL),
        o => o.map(|o| o as u64),
    };
    if (a[3] as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    let pos = start.unwrap_or_else(|| *kernel::task::lock(&inp.pos));
    if (pos as i64).checked_add(a[3] as i64).is_none() {
        return Err(Errno::EINVAL);
    }
    let out = file(t, a[0])?;
    if !out.writable() {
        return Err(Errno::EBADF);
    }
    if out.ops.pipe().is_none() && out.flags() & O_APPEND != 0 {
        return Err(Errno::EINVAL);
    }
    if inp.dentry.as_ref().is_some_and(|d| d.inode.is_dir()) {
        return Err(Errno::EINVAL);
    }
    let count = (a[3] as usize).min(MAX_RW);
    let mut buf = vec![0u8; count.min(CHUNK)];
    let mut done = 0usize;
    // Chunk by chunk until all is sent, the input ends or the output takes
    // less; only the first step of a stream input may wait for data.
    let r = loop {
        if done >= count || (done > 0 && !inp.ops.seekable()) {
            break Ok(());
        }
        let want = (count - done).min(CHUNK);
        let n = match start {
            Some(o) => inp.pread(&mut buf[..want], o + done as u64),
            None if done == 0 => blocking(t, &inp, events::IN, || inp.read(&mut buf[..want])),
            None => inp.read(&mut buf[..want]),
        };
        let n = match n {
            Ok(0) => break Ok(()),
            Ok(n) => n,
            Err(e) => break Err(e),
        };
        // As Linux, a pipe or socket output takes what fits once it has
        // room: no waiting for the rest.
        let cap = fsize_cap(t, &out);
        let w = blocking(t, &out, events::OUT, || out.write_capped(&buf[..n], cap));
        let w = fsize_signal(t, cap, w.map(|w| w as u64)).map(|w| w as usize);
        if w == Err(Errno::EPIPE) {
            sigpipe(t);
        }
        let w = match w {
            Ok(w) => w,
            Err(e) => {
                if start.is_none() && inp.ops.seekable() {
                    *kernel::task::lock(&inp.pos) -= n as u64;
                }
                break Err(e);
            }
        };
        done += w;
        fsize_spliced_short(t, &out, cap, n, w);
        if w < n {
            if start.is_none() && inp.ops.seekable() {
                *kernel::task::lock(&inp.pos) -= (n - w) as u64;
            }
            break Ok(());
        }
    };
    if let Some(o) = start {
        util::write_obj(t, a[2], &((o + done as u64) as i64))?;
    }
    match r {
        Err(e) if done == 0 => Err(e),
        _ => Ok(done as u64),
    }
}

/// `copy_file_range(fd_in, off_in, fd_out, off_out, len, flags)` between
/// regular files, chunk by chunk through the sentry.
pub fn copy_file_range(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    if a[5] != 0 {
        return Err(Errno::EINVAL);
    }
    let fin = file(t, a[0])?;
    let fout = file(t, a[2])?;
    if !fin.readable() || !fout.writable() || fout.flags() & O_APPEND != 0 {
        return Err(Errno::EBADF);
    }
    if !regular(&fin) || !regular(&fout) {
        return Err(Errno::EINVAL);
    }
    let oin = offset_arg(t, a[1])?;
    let oout = offset_arg(t, a[3])?;
    if oin.is_some_and(|o| o < 0) || oout.is_some_and(|o| o < 0) {
        return Err(Errno::EINVAL);
    }
    let len = (a[4] as usize).min(MAX_RW);
    let pin = oin.map_or_else(|| *kernel::task::lock(&fin.pos), |o| o as u64);
    let pout = oout.map_or_else(|| *kernel::task::lock(&fout.pos), |o| o as u64);
    if Arc::ptr_eq(&fin, &fout)
        || fin.dentry.as_ref().map(|d| d.inode.ino) == fout.dentry.as_ref().map(|d| d.inode.ino)
    {
        let (a_end, b_end) = (
            pin.saturating_add(len as u64),
            pout.saturating_add(len as u64),
        );
        if pin < b_end && pout < a_end {
            return Err(Errno::EINVAL);
        }
    }
    // Linux's generic_copy_file_checks: nothing at or past the file-size
    // limit, and no further than it.
    let cap = fsize_cap(t, &fout);
    if len > 0 && pout >= cap {
        return fsize_signal(t, cap, Err(Errno::EFBIG));
    }
    let len = len.min(cap.saturating_sub(pout).min(MAX_RW as u64) as usize);
    let mut buf = vec![0u8; len.min(CHUNK)];
    let mut done = 0usize;
    while done < len {
        let want = (len - done).min(CHUNK);
        let n = fin.pread(&mut buf[..want], pin + done as u64)?;
        if n == 0 {
            break;
        }
        let w = match fout.pwrite(&buf[..n], pout + done as u64) {
            Ok(w) => w,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        done += w;
        if w < n {
            break;
        }
    }
    let d = done as u64;
    match oin {
        Some(_) => util::write_obj(t, a[1], &((pin + d) as i64))?,
        None => *kernel::task::lock(&fin.pos) = pin + d,
    }
    match oout {
        Some(_) => util::write_obj(t, a[3], &((pout + d) as i64))?,
        None => *kernel::task::lock(&fout.pos) = pout + d,
    }
    Ok(d)
}
