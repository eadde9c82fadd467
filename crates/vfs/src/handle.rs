//! File handles (`name_to_handle_at`/`open_by_handle_at`) over the
//! sentry's own inodes. A handle names an inode of a sandbox filesystem
//! in tmpfs's format (`FILEID_INO32_GEN`, three 32-bit words: where tmpfs
//! has the generation, the inode's device number, then the inode
//! number's low and high halves). It is decoded only to a dentry a handle
//! was made for in this sandbox, while something still holds it (its
//! directory or an open file), and only against a mount descriptor on
//! the same filesystem: so it never reaches a host file the sandbox could
//! not already name by path.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use abi::{Errno, SysResult};

use crate::dentry::Dentry;

/// `FILEID_INO32_GEN`, the type tmpfs and ext4 give.
pub const HANDLE_TYPE: i32 = 1;
/// Bytes of a handle (tmpfs's three 32-bit words).
pub const HANDLE_BYTES: usize = 12;
/// `FILEID_INVALID`: what `name_to_handle_at` leaves as the type when
/// the buffer is too small.
pub const FILEID_INVALID: i32 = 255;

/// Dentries a handle was made for, by `(device, inode number)`: the
/// handle is only a number, so decoding looks the dentry up here.
type Registry = Mutex<HashMap<(u64, u64), Weak<Dentry>>>;

fn registry() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The handle of `d`'s inode; if `decodable`, it can be opened by it
/// from now on (an `AT_HANDLE_FID` identifier of a procfs file cannot).
pub fn encode(d: &Arc<Dentry>, decodable: bool) -> [u8; HANDLE_BYTES] {
    let (dev, ino) = (d.inode.dev, d.inode.ino);
    if decodable {
        let mut r = crate::inode::lock(registry());
        // Forget dead entries now and then, so the table tracks live ones.
        if r.len() >= 1024 && r.len().is_power_of_two() {
            r.retain(|_, w| w.strong_count() > 0);
        }
        r.insert((dev, ino), Arc::downgrade(d));
    }
    let mut h = [0u8; HANDLE_BYTES];
    h[..4].copy_from_slice(&(dev as u32).to_le_bytes());
    h[4..8].copy_from_slice(&(ino as u32).to_le_bytes());
    h[8..].copy_from_slice(&((ino >> 32) as u32).to_le_bytes());
    h
}

/// The dentry a handle of type `ty` names, on the filesystem of
/// `anchor` (the mount descriptor's): `ESTALE` for a malformed or
/// unknown handle, a file of another filesystem, or one gone since (a
/// removed file stays reachable while open, as on tmpfs and ext4).
pub fn decode(anchor: &Arc<Dentry>, ty: i32, bytes: &[u8]) -> SysResult<Arc<Dentry>> {
    if ty != HANDLE_TYPE || bytes.len() < HANDLE_BYTES {
        return Err(Errno::ESTALE);
    }
    let word = |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let (dev, ino) = (word(0) as u64, word(4) as u64 | (word(8) as u64) << 32);
    let d = crate::inode::lock(registry())
        .get(&(dev, ino))
        .and_then(Weak::upgrade)
        .ok_or(Errno::ESTALE)?;
    if !Arc::ptr_eq(&fs_root(&d), &fs_root(anchor)) {
        return Err(Errno::ESTALE);
    }
    Ok(d)
}

/// The root of the filesystem `d` is on: the first dentry up its
/// ancestry that is the root of a mount, or the top.
fn fs_root(d: &Arc<Dentry>) -> Arc<Dentry> {
    let mut d = d.clone();
    loop {
        if crate::mount::is_mount_root(&d) {
            return d;
        }
        match d.parent() {
            Some(p) => d = p,
            None => return d,
        }
    }
}
