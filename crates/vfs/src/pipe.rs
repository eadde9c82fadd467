//! Pipes: a bounded byte queue with reader and writer ends.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use abi::fs::*;
use abi::{Errno, SysResult};
use mm::MemoryManager;
use waiter::{events, Queue};

use crate::file::{File, FileOps};
use crate::inode::{lock, next_ino, DEV_PIPE};

pub const PIPE_BUF: usize = 4096;
pub const DEFAULT_CAPACITY: usize = 65536;

struct State {
    data: VecDeque<u8>,
    capacity: usize,
    readers: usize,
    writers: usize,
    /// Opens of a read end and of a write end so far (Linux's
    /// `r_counter`/`w_counter`): a FIFO open waits for the other one to
    /// move, and a reader reports hang-up only once a writer came.
    r_counter: u64,
    w_counter: u64,
}

pub struct Pipe {
    state: Mutex<State>,
    pub queue: Queue,
    pub ino: u64,
    /// `flock` locks on the pipe (its inode's, on Linux): both ends and a
    /// FIFO's every opening share them.
    pub locks: crate::lock::Locks,
}

impl Pipe {
    pub fn new() -> Arc<Pipe> {
        Arc::new(Pipe {
            state: Mutex::new(State {
                data: VecDeque::new(),
                capacity: DEFAULT_CAPACITY,
                readers: 0,
                writers: 0,
                r_counter: 0,
                w_counter: 0,
            }),
            queue: Queue::new(),
            ino: next_ino(),
            locks: Default::default(),
        })
    }

    /// An end of a pipe (`pipe(2)`, or a pipe reopened through
    /// `/proc/pid/fd`): never waits for the other side.
    pub fn open_end(self: &Arc<Pipe>, read: bool, write: bool) -> PipeEnd {
        self.open(read, write, None)
    }

    /// An end of a FIFO, as Linux's `fifo_open`: a read-only open waits
    /// for a writer, a write-only one for a reader (`ENXIO` at once if
    /// non-blocking); see [`PipeEnd::fifo_ready`]. A non-blocking reader
    /// opened with no writer reports hang-up only after a writer came and
    /// went.
    pub fn open_fifo(self: &Arc<Pipe>, read: bool, write: bool, nonblock: bool) -> PipeEnd {
        self.open(read, write, Some(nonblock))
    }

    fn open(self: &Arc<Pipe>, read: bool, write: bool, fifo: Option<bool>) -> PipeEnd {
        let mut s = lock(&self.state);
        if read {
            s.readers += 1;
            s.r_counter += 1;
        }
        if write {
            s.writers += 1;
            s.w_counter += 1;
        }
        let (mut w_seen, mut wait) = (0, FifoWait::None);
        if let Some(nonblock) = fifo {
            match (read, write) {
                (true, false) if s.writers == 0 => {
                    if nonblock {
                        w_seen = s.w_counter;
                    } else {
                        wait = FifoWait::Writer(s.w_counter);
                    }
                }
                (false, true) if s.readers == 0 => {
                    wait = if nonblock {
                        FifoWait::NoReader
                    } else {
                        FifoWait::Reader(s.r_counter)
                    };
                }
                _ => {}
            }
        }
        drop(s);
        self.queue.notify(events::IN | events::OUT);
        PipeEnd {
            pipe: self.clone(),
            read,
            write,
            w_seen,
            wait,
        }
    }

    pub fn capacity(&self) -> usize {
        lock(&self.state).capacity
    }

    /// Copies up to `buf.len()` buffered bytes without taking them
    /// (`tee`, and `splice` before it knows how much the other side took):
    /// `EAGAIN` while empty with writers, 0 at end of file.
    pub fn peek(&self, buf: &mut [u8]) -> SysResult<usize> {
        let s = lock(&self.state);
        if s.data.is_empty() {
            if s.writers == 0 && s.w_counter > 0 {
                return Ok(0);
            }
            return Err(Errno::EAGAIN);
        }
        let n = buf.len().min(s.data.len());
        for (d, b) in buf[..n].iter_mut().zip(s.data.iter()) {
            *d = *b;
        }
        Ok(n)
    }

    /// Drops the first `n` buffered bytes (after a [`Pipe::peek`]).
    pub fn consume(&self, n: usize) {
        let mut s = lock(&self.state);
        let n = n.min(s.data.len());
        s.data.drain(..n);
        drop(s);
        self.queue.notify(events::OUT | events::WRNORM);
    }

    /// Free space, or `EPIPE` when nobody reads.
    pub fn room(&self) -> SysResult<usize> {
        let s = lock(&self.state);
        if s.readers == 0 {
            return Err(Errno::EPIPE);
        }
        Ok(s.capacity - s.data.len())
    }

    /// Free space for a splice into the pipe: whole page buffers only.
    /// Linux's pipe is a ring of page buffers and a splice takes free
    /// ones, never the rest of a partly filled one, so a pipe whose
    /// buffers all hold something has no room for it even where a write
    /// would still fit (here the bytes are counted as filling buffers
    /// from the first).
    pub fn splice_room(&self) -> SysResult<usize> {
        let s = lock(&self.state);
        if s.readers == 0 {
            return Err(Errno::EPIPE);
        }
        let slots = s.capacity / PIPE_BUF;
        Ok(slots.saturating_sub(s.data.len().div_ceil(PIPE_BUF)) * PIPE_BUF)
    }

    pub fn set_capacity(&self, cap: usize) -> SysResult<usize> {
        let cap = cap.clamp(PIPE_BUF, 1 << 20).next_power_of_two();
        let mut s = lock(&self.state);
        if s.data.len() > cap {
            return Err(Errno::EBUSY);
        }
        s.capacity = cap;
        Ok(cap)
    }
}

/// What opening a FIFO still waits for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FifoWait {
    None,
    /// A writer's open (the write-open count moves past this).
    Writer(u64),
    /// A reader's open.
    Reader(u64),
    /// Non-blocking write-only open without a reader: `ENXIO`.
    NoReader,
}

/// One open end (or both, for a FIFO opened `O_RDWR`).
pub struct PipeEnd {
    pipe: Arc<Pipe>,
    read: bool,
    write: bool,
    /// The write-open count hang-up must differ from (Linux's
    /// `f_version`): 0, or the count at a non-blocking read-only open
    /// without writers.
    w_seen: u64,
    wait: FifoWait,
}

impl PipeEnd {
    pub fn pipe(&self) -> &Arc<Pipe> {
        &self.pipe
    }

    /// Whether the FIFO open that made this end is complete: `EAGAIN`
    /// while the partner it waits for has not opened (the caller sleeps
    /// on the pipe's queue), `ENXIO` for a non-blocking writer without
    /// readers.
    pub fn fifo_ready(&self) -> SysResult<()> {
        let s = lock(&self.pipe.state);
        match self.wait {
            FifoWait::None => Ok(()),
            FifoWait::NoReader => Err(Errno::ENXIO),
            FifoWait::Writer(w) if s.w_counter == w => Err(Errno::EAGAIN),
            FifoWait::Reader(r) if s.r_counter == r => Err(Errno::EAGAIN),
            _ => Ok(()),
        }
    }
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        let mut s = lock(&self.pipe.state);
        if self.read {
            s.readers -= 1;
        }
        if self.write {
            s.writers -= 1;
        }
        drop(s);
        self.pipe.queue.notify(events::ALL);
    }
}

impl FileOps for PipeEnd {
    fn read(&self, _f: &File, buf: &mut [u8], _off: u64) -> SysResult<usize> {
        if !self.read {
            return Err(Errno::EBADF);
        }
        let mut s = lock(&self.pipe.state);
        if s.data.is_empty() {
            if buf.is_empty() {
                return Ok(0);
            }
            if s.writers == 0 && (s.w_counter > 0 || !self.write) {
                return Ok(0);
            }
            return Err(Errno::EAGAIN);
        }
        let n = buf.len().min(s.data.len());
        let (a, b) = s.data.as_slices();
        let from_a = n.min(a.len());
        buf[..from_a].copy_from_slice(&a[..from_a]);
        if n > from_a {
            buf[from_a..n].copy_from_slice(&b[..n - from_a]);
        }
        s.data.drain(..n);
        drop(s);
        self.pipe.queue.notify(events::OUT);
        Ok(n)
    }

    fn write(&self, _f: &File, buf: &[u8], _off: u64) -> SysResult<usize> {
        if !self.write {
            return Err(Errno::EBADF);
        }
        let mut s = lock(&self.pipe.state);
        if s.readers == 0 {
            return Err(Errno::EPIPE);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let room = s.capacity - s.data.len();
        // Writes of at most PIPE_BUF bytes are atomic.
        if room == 0 || (buf.len() <= PIPE_BUF && room < buf.len()) {
            return Err(Errno::EAGAIN);
        }
        let n = room.min(buf.len());
        s.data.extend(&buf[..n]);
        drop(s);
        self.pipe.queue.notify(events::IN);
        Ok(n)
    }

    fn readiness(&self) -> u32 {
        let s = lock(&self.pipe.state);
        let mut r = 0;
        if self.read {
            if !s.data.is_empty() {
                r |= events::IN | events::RDNORM;
            }
            if s.writers == 0 && s.w_counter != self.w_seen {
                r |= events::HUP;
            }
        }
        if self.write {
            if s.capacity - s.data.len() >= PIPE_BUF.min(s.capacity) {
                r |= events::OUT | events::WRNORM;
            }
            if s.readers == 0 {
                r |= events::ERR;
            }
        }
        r
    }

    fn queue(&self) -> Option<&Queue> {
        Some(&self.pipe.queue)
    }

    fn stat(&self, _f: &File) -> SysResult<Stat> {
        Ok(Stat {
            dev: DEV_PIPE,
            ino: self.pipe.ino,
            nlink: 1,
            mode: S_IFIFO | 0o600,
            blksize: 4096,
            ..Default::default()
        })
    }

    fn ioctl(&self, _f: &File, cmd: u32, arg: u64, mm: &mut MemoryManager) -> SysResult<u64> {
        match cmd {
            FIONREAD => {
                let n = lock(&self.pipe.state).data.len() as i32;
                mm.write_obj(arg, &n)?;
                Ok(0)
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    fn fsync(&self, _f: &File) -> SysResult<()> {
        Err(Errno::EINVAL)
    }

    fn anon_name(&self) -> Option<Vec<u8>> {
        Some(format!("pipe:[{}]", self.pipe.ino).into_bytes())
    }

    fn pipe(&self) -> Option<&Arc<Pipe>> {
        Some(&self.pipe)
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}
