//! Host descriptors passed through to the sandbox: the standard streams
//! `rvisor do` was started with.

use std::os::fd::{AsRawFd, OwnedFd};

use abi::fs::*;
use abi::time::Timespec;
use abi::{Errno, SysResult};
use mm::MemoryManager;

use crate::file::{File, FileOps};

pub struct HostFdOps {
    fd: OwnedFd,
    is_tty: bool,
    /// What the host calls it (`pipe:[N]`, `/dev/pts/0`), for /proc.
    name: Vec<u8>,
}

impl HostFdOps {
    pub fn new(fd: OwnedFd) -> HostFdOps {
        // SAFETY: isatty on a descriptor we own.
        let is_tty = unsafe { libc::isatty(fd.as_raw_fd()) } == 1;
        let name = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
            .map(|p| p.into_os_string().into_encoded_bytes())
            .unwrap_or_else(|_| b"anon_inode:[unknown]".to_vec());
        HostFdOps { fd, is_tty, name }
    }

    /// A descriptor received from outside once the sentry is confined
    /// (no `/proc` to name it by): named from its type, as the host would
    /// name a pipe or socket.
    pub fn passed(fd: OwnedFd) -> HostFdOps {
        // SAFETY: isatty on a descriptor we own.
        let is_tty = unsafe { libc::isatty(fd.as_raw_fd()) } == 1;
        // SAFETY: zeroed stat is a valid out-buffer.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: fstat on our descriptor with a valid out-pointer.
        let ok = unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } == 0;
        let name = match st.st_mode & libc::S_IFMT {
            libc::S_IFIFO if ok => format!("pipe:[{}]", st.st_ino),
            libc::S_IFSOCK if ok => format!("socket:[{}]", st.st_ino),
            libc::S_IFCHR if ok && st.st_rdev == libc::makedev(1, 3) => "/dev/null".into(),
            _ => "anon_inode:[unknown]".into(),
        };
        HostFdOps {
            fd,
            is_tty,
            name: name.into_bytes(),
        }
    }
}

fn retry<F: FnMut() -> isize>(mut f: F) -> SysResult<usize> {
    loop {
        let n = f();
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = Errno::last_host();
        if e != Errno::EINTR {
            return Err(e);
        }
    }
}

impl FileOps for HostFdOps {
    fn read(&self, _f: &File, buf: &mut [u8], _off: u64) -> SysResult<usize> {
        // SAFETY: read into a live buffer of the given length.
        retry(|| unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) })
    }

    fn write(&self, _f: &File, buf: &[u8], _off: u64) -> SysResult<usize> {
        // SAFETY: write from a live buffer of the given length.
        retry(|| unsafe { libc::write(self.fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) })
    }

    fn stat(&self, _f: &File) -> SysResult<Stat> {
        // SAFETY: zeroed stat is a valid out-buffer.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: fstat on our descriptor with a valid out-pointer.
        if unsafe { libc::fstat(self.fd.as_raw_fd(), &mut st) } != 0 {
            return Err(Errno::last_host());
        }
        Ok(Stat {
            dev: st.st_dev,
            ino: st.st_ino,
            nlink: st.st_nlink,
            mode: st.st_mode,
            uid: st.st_uid,
            gid: st.st_gid,
            rdev: st.st_rdev,
            size: st.st_size,
            blksize: st.st_blksize,
            blocks: st.st_blocks,
            atime: Timespec {
                sec: st.st_atime,
                nsec: st.st_atime_nsec,
            },
            mtime: Timespec {
                sec: st.st_mtime,
                nsec: st.st_mtime_nsec,
            },
            ctime: Timespec {
                sec: st.st_ctime,
                nsec: st.st_ctime_nsec,
            },
            ..Default::default()
        })
    }

    fn ioctl(&self, _f: &File, cmd: u32, arg: u64, mm: &mut MemoryManager) -> SysResult<u64> {
        let fd = self.fd.as_raw_fd();
        match cmd {
            FIONREAD => {
                let mut n: libc::c_int = 0;
                // SAFETY: FIONREAD writes one int.
                if unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n) } != 0 {
                    return Err(Errno::last_host());
                }
                mm.write_obj(arg, &n)?;
                Ok(0)
            }
            TCGETS | TIOCGWINSZ if self.is_tty => {
                let mut buf = [0u8; 64];
                // SAFETY: both requests write at most 60 bytes.
                if unsafe { libc::ioctl(fd, cmd as libc::c_ulong, buf.as_mut_ptr()) } != 0 {
                    return Err(Errno::last_host());
                }
                let len = if cmd == TCGETS {
                    std::mem::size_of::<Termios>()
                } else {
                    8
                };
                mm.copy_out(arg, &buf[..len])?;
                Ok(0)
            }
            TCSETS | TCSETSW | TCSETSF | TIOCSWINSZ if self.is_tty => {
                let len = if cmd == TIOCSWINSZ {
                    8
                } else {
                    std::mem::size_of::<Termios>()
                };
                let mut buf = [0u8; 64];
                mm.copy_in(arg, &mut buf[..len])?;
                // SAFETY: the buffer holds a full termios/winsize.
                if unsafe { libc::ioctl(fd, cmd as libc::c_ulong, buf.as_ptr()) } != 0 {
                    return Err(Errno::last_host());
                }
                Ok(0)
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    fn anon_name(&self) -> Option<Vec<u8>> {
        Some(self.name.clone())
    }

    fn host_fd(&self) -> Option<i32> {
        Some(self.fd.as_raw_fd())
    }
}
