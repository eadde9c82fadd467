//! `/proc/pid/io` accounting: the read and write families count their
//! calls and bytes on the calling task (`TaskShared::io`), then do the
//! work in `file`.

use abi::{Errno, SysResult};
use kernel::Task;

use crate::{file, Handler};

/// Runs `h` and counts it as a read (`write` false) or a write. A call
/// refused for its descriptor never reached a file and is not counted, as
/// on Linux.
fn counted(t: &mut Task, a: [u64; 6], h: Handler, write: bool) -> SysResult<u64> {
    let r = h(t, a);
    if r != Err(Errno::EBADF) {
        t.shared.io.add(write, *r.as_ref().unwrap_or(&0));
    }
    r
}

macro_rules! counted {
    ($($name:ident => $write:expr),* $(,)?) => {
        $(pub fn $name(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
            counted(t, a, file::$name, $write)
        })*
    };
}

counted! {
    read => false,
    pread64 => false,
    readv => false,
    preadv => false,
    preadv2 => false,
    write => true,
    pwrite64 => true,
    writev => true,
    pwritev => true,
    pwritev2 => true,
}
