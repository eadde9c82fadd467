//! Read-only access to the host directory that forms the lower layer of the
//! root filesystem. Every path handed in is relative to that directory and
//! made only of components the sandbox's own lookup found to be real
//! directories; opens additionally refuse to leave the directory or follow
//! any symlink (`RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`).

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use abi::{Errno, SysResult};

pub struct HostRoot {
    fd: OwnedFd,
}

fn cpath(rel: &str) -> SysResult<CString> {
    let p = if rel.is_empty() { "." } else { rel };
    CString::new(p).map_err(|_| Errno::EINVAL)
}

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
const RESOLVE_NO_SYMLINKS: u64 = 0x04;
const RESOLVE_BENEATH: u64 = 0x08;

impl HostRoot {
    pub fn open(dir: &str) -> SysResult<HostRoot> {
        let c = CString::new(dir).map_err(|_| Errno::EINVAL)?;
        // SAFETY: valid NUL-terminated path; result checked.
        let fd = unsafe {
            libc::open(
                c.as_ptr(),
                libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(Errno::last_host());
        }
        // SAFETY: fresh fd we own.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(HostRoot { fd })
    }

    /// A root already open (an `O_PATH` directory descriptor), e.g. from
    /// before the sentry gave up the host's tree.
    pub fn from_fd(fd: OwnedFd) -> HostRoot {
        HostRoot { fd }
    }

    /// `lstat` of a path under the root.
    pub fn lstat(&self, rel: &str) -> SysResult<libc::stat> {
        let c = cpath(rel)?;
        // SAFETY: zeroed stat is a valid out-buffer.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: valid dirfd, path and out-pointer.
        let r = unsafe {
            libc::fstatat(
                self.fd.as_raw_fd(),
                c.as_ptr(),
                &mut st,
                libc::AT_SYMLINK_NOFOLLOW,
            )
        };
        if r != 0 {
            return Err(Errno::last_host());
        }
        Ok(st)
    }

    /// Opens a regular file or directory under the root, read-only.
    pub fn open_file(&self, rel: &str, directory: bool) -> SysResult<OwnedFd> {
        let c = cpath(rel)?;
        let mut flags = (libc::O_RDONLY
            | libc::O_CLOEXEC
            | libc::O_NOFOLLOW
            | libc::O_NOCTTY
            | libc::O_NONBLOCK) as u64;
        if directory {
            flags |= libc::O_DIRECTORY as u64;
        }
        let how = OpenHow {
            flags,
            mode: 0,
            resolve: RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        // SAFETY: openat2 with a valid dirfd, path and open_how of the
        // size passed.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                self.fd.as_raw_fd(),
                c.as_ptr(),
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            )
        };
        if fd < 0 {
            return Err(Errno::last_host());
        }
        // SAFETY: fresh fd we own.
        Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
    }

    pub fn readlink(&self, rel: &str) -> SysResult<Vec<u8>> {
        let c = cpath(rel)?;
        let mut buf = vec![0u8; 4096];
        // SAFETY: valid dirfd/path; buffer of the given length.
        let n = unsafe {
            libc::readlinkat(
                self.fd.as_raw_fd(),
                c.as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        };
        if n < 0 {
            return Err(Errno::last_host());
        }
        buf.truncate(n as usize);
        Ok(buf)
    }

    /// Names in a host directory, without `.` and `..`.
    pub fn list(&self, rel: &str) -> SysResult<Vec<Vec<u8>>> {
        let fd = self.open_file(rel, true)?;
        let mut names = Vec::new();
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            // SAFETY: getdents64 into a buffer of the given length.
            let n = unsafe {
                libc::syscall(
                    libc::SYS_getdents64,
                    fd.as_raw_fd(),
                    buf.as_mut_ptr(),
                    buf.len(),
                )
            };
            if n < 0 {
                return Err(Errno::last_host());
            }
            if n == 0 {
                break;
            }
            let mut off = 0usize;
            while off + 19 <= n as usize {
                let reclen = u16::from_le_bytes([buf[off + 16], buf[off + 17]]) as usize;
                if reclen == 0 {
                    break;
                }
                let name_bytes = &buf[off + 19..off + reclen];
                let len = name_bytes
                    .iter()
                    .position(|&b| b == 0)
                    .unwrap_or(name_bytes.len());
                let name = &name_bytes[..len];
                if name != b"." && name != b".." {
                    names.push(name.to_vec());
                }
                off += reclen;
            }
        }
        Ok(names)
    }
}

/// `pread` on a host descriptor, retrying on `EINTR`.
pub fn pread(fd: i32, buf: &mut [u8], off: u64) -> SysResult<usize> {
    loop {
        // SAFETY: reads into a live buffer of the given length.
        let n = unsafe { libc::pread(fd, buf.as_mut_ptr().cast(), buf.len(), off as i64) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = Errno::last_host();
        if e != Errno::EINTR {
            return Err(e);
        }
    }
}

/// Reads as much of `buf` as the file has from `off`.
pub fn pread_full(fd: i32, buf: &mut [u8], off: u64) -> SysResult<usize> {
    let mut done = 0;
    while done < buf.len() {
        let n = pread(fd, &mut buf[done..], off + done as u64)?;
        if n == 0 {
            break;
        }
        done += n;
    }
    Ok(done)
}
