//! The sandbox's kernel log: what `syslog(2)` (`dmesg`, `klogctl`) reads.
//!
//! A small ring of formatted records, `<level>[seconds.micros] text\n`
//! as Linux's `syslog` interface gives them, holding the few lines the
//! sentry writes as it starts (gVisor does the same). The host's log is
//! never visible. `/proc/sys/kernel/dmesg_restrict` decides who may read
//! it, as on Linux.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use abi::{Errno, SysResult};
use waiter::Queue;

use crate::task::lock;

/// The ring's size in bytes (`SYSLOG_ACTION_SIZE_BUFFER`); the oldest
/// records go when a new one does not fit.
pub const LOG_BUF_LEN: usize = 16 * 1024;

pub const SYSLOG_ACTION_CLOSE: i32 = 0;
pub const SYSLOG_ACTION_OPEN: i32 = 1;
pub const SYSLOG_ACTION_READ: i32 = 2;
pub const SYSLOG_ACTION_READ_ALL: i32 = 3;
pub const SYSLOG_ACTION_READ_CLEAR: i32 = 4;
pub const SYSLOG_ACTION_CLEAR: i32 = 5;
pub const SYSLOG_ACTION_CONSOLE_OFF: i32 = 6;
pub const SYSLOG_ACTION_CONSOLE_ON: i32 = 7;
pub const SYSLOG_ACTION_CONSOLE_LEVEL: i32 = 8;
pub const SYSLOG_ACTION_SIZE_UNREAD: i32 = 9;
pub const SYSLOG_ACTION_SIZE_BUFFER: i32 = 10;

/// Linux's default console level (`CONSOLE_LOGLEVEL_DEFAULT`) and the
/// lowest one `SYSLOG_ACTION_CONSOLE_LEVEL` sets.
const CONSOLE_LOGLEVEL_DEFAULT: i32 = 7;
const CONSOLE_LOGLEVEL_MIN: i32 = 1;

/// The host's `kernel.dmesg_restrict`, read before the sentry gives up the
/// host's tree: the sandbox starts with the same policy.
static HOST_RESTRICT: OnceLock<bool> = OnceLock::new();

/// Reads the host's `dmesg_restrict` (restricted if it cannot be read).
pub fn read_host_setting() {
    HOST_RESTRICT.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/dmesg_restrict").map_or(true, |v| v.trim() != "0")
    });
}

#[derive(Default)]
struct Ring {
    /// Formatted records, oldest first, with their sequence numbers.
    records: VecDeque<(u64, Vec<u8>)>,
    bytes: usize,
    /// Sequence number of the next record.
    next: u64,
    /// First record `SYSLOG_ACTION_READ` has not consumed.
    read_seq: u64,
    /// First record `READ_ALL` shows (moved by `CLEAR`).
    clear_seq: u64,
}

impl Ring {
    fn from(&self, seq: u64) -> impl Iterator<Item = &Vec<u8>> {
        self.records
            .iter()
            .filter(move |(s, _)| *s >= seq)
            .map(|(_, r)| r)
    }
}

pub struct KernelLog {
    ring: Mutex<Ring>,
    /// `SYSLOG_ACTION_READ` sleeps here until a record arrives.
    queue: Queue,
    start: Instant,
    /// `/proc/sys/kernel/dmesg_restrict`, initially the host's.
    pub restrict: AtomicBool,
    console_level: AtomicI32,
    console_saved: AtomicI32,
}

impl KernelLog {
    pub fn new(start: Instant) -> KernelLog {
        KernelLog {
            ring: Mutex::default(),
            queue: Queue::new(),
            start,
            restrict: AtomicBool::new(HOST_RESTRICT.get().copied().unwrap_or(true)),
            console_level: AtomicI32::new(CONSOLE_LOGLEVEL_DEFAULT),
            console_saved: AtomicI32::new(0),
        }
    }

    /// Appends one line at `level` (0-7, 6 = info), stamped with the
    /// time since the sandbox started.
    pub fn log(&self, level: u8, text: &str) {
        let t = self.start.elapsed();
        let rec = format!(
            "<{}>[{:5}.{:06}] {}\n",
            level.min(7),
            t.as_secs(),
            t.subsec_micros(),
            text
        )
        .into_bytes();
        let mut r = lock(&self.ring);
        r.bytes += rec.len();
        let seq = r.next;
        r.records.push_back((seq, rec));
        r.next += 1;
        while r.bytes > LOG_BUF_LEN {
            let Some((_, old)) = r.records.pop_front() else {
                break;
            };
            r.bytes -= old.len();
        }
        let first = r.records.front().map_or(r.next, |(s, _)| *s);
        r.read_seq = r.read_seq.max(first);
        r.clear_seq = r.clear_seq.max(first);
        drop(r);
        self.queue.notify(waiter::events::IN);
    }

    /// Whether `action` needs `CAP_SYSLOG` (or `CAP_SYS_ADMIN`):
    /// everything but reading the whole log and its size, or everything
    /// with `dmesg_restrict` set.
    pub fn restricted(&self, action: i32) -> bool {
        self.restrict.load(Ordering::Relaxed)
            || (action != SYSLOG_ACTION_READ_ALL && action != SYSLOG_ACTION_SIZE_BUFFER)
    }

    /// Consumes up to `len` bytes of whole records not yet read
    /// (`SYSLOG_ACTION_READ`); `EAGAIN` while there are none.
    pub fn read_new(&self, len: usize) -> SysResult<Vec<u8>> {
        let mut r = lock(&self.ring);
        let mut out = Vec::new();
        let start = r.read_seq;
        let mut seq = start;
        for (s, rec) in r.records.iter().filter(|(s, _)| *s >= start) {
            if out.len() + rec.len() > len {
                // Linux copies a record that does not fit in part only
                // when it is the first.
                if out.is_empty() {
                    out.extend_from_slice(&rec[..len]);
                    seq = s + 1;
                }
                break;
            }
            out.extend_from_slice(rec);
            seq = s + 1;
        }
        if out.is_empty() && seq == r.next {
            return Err(Errno::EAGAIN);
        }
        r.read_seq = seq;
        Ok(out)
    }

    pub fn queue(&self) -> &Queue {
        &self.queue
    }

    /// The newest whole records that fit in `len` bytes, oldest first
    /// (`SYSLOG_ACTION_READ_ALL`); with `clear`, the log then starts
    /// empty for later `READ_ALL`s.
    pub fn read_all(&self, len: usize, clear: bool) -> Vec<u8> {
        let mut r = lock(&self.ring);
        let recs: Vec<&Vec<u8>> = r.from(r.clear_seq).collect();
        let mut take = 0;
        let mut size = 0;
        for rec in recs.iter().rev() {
            if size + rec.len() > len {
                break;
            }
            size += rec.len();
            take += 1;
        }
        let out: Vec<u8> = recs[recs.len() - take..]
            .iter()
            .flat_map(|r| r.iter().copied())
            .collect();
        if clear {
            r.clear_seq = r.next;
        }
        out
    }

    pub fn clear(&self) {
        let mut r = lock(&self.ring);
        r.clear_seq = r.next;
    }

    /// Bytes `SYSLOG_ACTION_READ` would return.
    pub fn unread(&self) -> usize {
        let r = lock(&self.ring);
        r.from(r.read_seq).map(Vec::len).sum()
    }

    pub fn console_off(&self) {
        let level = self.console_level.load(Ordering::Relaxed);
        if self.console_saved.load(Ordering::Relaxed) == 0 {
            self.console_saved.store(level, Ordering::Relaxed);
        }
        self.console_level
            .store(CONSOLE_LOGLEVEL_MIN, Ordering::Relaxed);
    }

    pub fn console_on(&self) {
        let saved = self.console_saved.swap(0, Ordering::Relaxed);
        if saved != 0 {
            self.console_level.store(saved, Ordering::Relaxed);
        }
    }

    /// `SYSLOG_ACTION_CONSOLE_LEVEL`: 1 to 8.
    pub fn set_console_level(&self, level: i64) -> SysResult<()> {
        if !(1..=8).contains(&level) {
            return Err(Errno::EINVAL);
        }
        self.console_level
            .store((level as i32).max(CONSOLE_LOGLEVEL_MIN), Ordering::Relaxed);
        self.console_saved.store(0, Ordering::Relaxed);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_consumes_and_read_all_keeps() {
        let l = KernelLog::new(Instant::now());
        l.log(6, "one");
        l.log(6, "two");
        let all = l.read_all(LOG_BUF_LEN, false);
        assert!(all.starts_with(b"<6>["));
        assert_eq!(all.iter().filter(|&&b| b == b'\n').count(), 2);
        assert_eq!(l.unread(), all.len());
        let first = l.read_new(all.len() - 1).unwrap();
        assert!(first.ends_with(b"one\n"));
        assert!(l.read_new(LOG_BUF_LEN).unwrap().ends_with(b"two\n"));
        assert_eq!(l.read_new(10), Err(Errno::EAGAIN));
        assert_eq!(l.read_all(LOG_BUF_LEN, true), all);
        assert!(l.read_all(LOG_BUF_LEN, false).is_empty());
    }

    #[test]
    fn restrict_policy() {
        let l = KernelLog::new(Instant::now());
        l.restrict.store(false, Ordering::Relaxed);
        assert!(!l.restricted(SYSLOG_ACTION_READ_ALL));
        assert!(!l.restricted(SYSLOG_ACTION_SIZE_BUFFER));
        assert!(l.restricted(SYSLOG_ACTION_READ));
        assert!(l.restricted(SYSLOG_ACTION_CLEAR));
        assert!(l.restricted(-1));
        l.restrict.store(true, Ordering::Relaxed);
        assert!(l.restricted(SYSLOG_ACTION_READ_ALL));
        assert!(l.restricted(SYSLOG_ACTION_SIZE_BUFFER));
    }

    #[test]
    fn ring_drops_the_oldest() {
        let l = KernelLog::new(Instant::now());
        for i in 0..2000 {
            l.log(6, &format!("line {i}"));
        }
        let all = l.read_all(usize::MAX, false);
        assert!(all.len() <= LOG_BUF_LEN);
        assert!(all.ends_with(b"line 1999\n"));
    }
}
