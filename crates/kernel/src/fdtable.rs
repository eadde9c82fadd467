//! File descriptor tables.

use std::sync::Arc;

use abi::{Errno, SysResult};
use vfs::File;

#[derive(Clone)]
pub struct FdEntry {
    pub file: Arc<File>,
    pub cloexec: bool,
}

#[derive(Clone, Default)]
pub struct FdTable {
    slots: Vec<Option<FdEntry>>,
}

impl FdTable {
    pub fn get(&self, fd: i32) -> SysResult<Arc<File>> {
        self.entry(fd).map(|e| e.file.clone())
    }

    pub fn entry(&self, fd: i32) -> SysResult<&FdEntry> {
        if fd < 0 {
            return Err(Errno::EBADF);
        }
        self.slots
            .get(fd as usize)
            .and_then(|s| s.as_ref())
            .ok_or(Errno::EBADF)
    }

    pub fn entry_mut(&mut self, fd: i32) -> SysResult<&mut FdEntry> {
        if fd < 0 {
            return Err(Errno::EBADF);
        }
        self.slots
            .get_mut(fd as usize)
            .and_then(|s| s.as_mut())
            .ok_or(Errno::EBADF)
    }

    /// Installs `file` at the lowest free descriptor `>= min`, below `limit`.
    pub fn install(
        &mut self,
        file: Arc<File>,
        cloexec: bool,
        min: i32,
        limit: u64,
    ) -> SysResult<i32> {
        let min = min.max(0) as usize;
        let mut i = min;
        while i < self.slots.len() && self.slots[i].is_some() {
            i += 1;
        }
        if i as u64 >= limit {
            return Err(Errno::EMFILE);
        }
        if i >= self.slots.len() {
            self.slots.resize(i + 1, None);
        }
        self.slots[i] = Some(FdEntry { file, cloexec });
        Ok(i as i32)
    }

    /// Puts `file` at exactly `fd`, returning what was there.
    pub fn install_at(
        &mut self,
        fd: i32,
        file: Arc<File>,
        cloexec: bool,
        limit: u64,
    ) -> SysResult<Option<FdEntry>> {
        if fd < 0 || fd as u64 >= limit {
            return Err(Errno::EBADF);
        }
        let i = fd as usize;
        if i >= self.slots.len() {
            self.slots.resize(i + 1, None);
        }
        Ok(self.slots[i].replace(FdEntry { file, cloexec }))
    }

    pub fn remove(&mut self, fd: i32) -> SysResult<FdEntry> {
        if fd < 0 {
            return Err(Errno::EBADF);
        }
        self.slots
            .get_mut(fd as usize)
            .and_then(|s| s.take())
            .ok_or(Errno::EBADF)
    }

    /// Closes (or marks close-on-exec) every descriptor in `[lo, hi]`.
    pub fn close_range(&mut self, lo: u32, hi: u32, cloexec_only: bool) -> Vec<FdEntry> {
        let mut closed = Vec::new();
        let end = (hi as usize).min(self.slots.len().saturating_sub(1));
        for i in lo as usize..=end {
            if i >= self.slots.len() {
                break;
            }
            if cloexec_only {
                if let Some(e) = self.slots[i].as_mut() {
                    e.cloexec = true;
                }
            } else if let Some(e) = self.slots[i].take() {
                closed.push(e);
            }
        }
        closed
    }

    /// Drops close-on-exec descriptors (at `execve`).
    pub fn close_on_exec(&mut self) -> Vec<FdEntry> {
        let mut closed = Vec::new();
        for s in self.slots.iter_mut() {
            if s.as_ref().is_some_and(|e| e.cloexec) {
                if let Some(e) = s.take() {
                    closed.push(e);
                }
            }
        }
        closed
    }

    /// `(fd, entry)` of every open descriptor.
    pub fn iter(&self) -> impl Iterator<Item = (i32, &FdEntry)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|e| (i as i32, e)))
    }
}
