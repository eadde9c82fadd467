//! `add_key`, `request_key`, `keyctl` over the sandbox's key store
//! (`kernel::keys`). This layer resolves the special keyring ids, which
//! live in the task (thread keyring) and its process (process and session
//! keyrings).

use std::sync::atomic::Ordering;

use abi::{Errno, SysResult};
use kernel::keys::{self, Caller, KeyType, Keys};
use kernel::keys::{KEY_ALL, KEY_LINK, KEY_READ, KEY_SEARCH, KEY_SETATTR, KEY_VIEW, KEY_WRITE};
use kernel::Task;

const CAP_SYS_ADMIN: u32 = 21;

/// The caller's credentials and keyrings.
fn caller(t: &Task) -> (u32, u32, std::sync::Arc<[u32]>, bool, [i32; 3]) {
    let thread = t.shared.thread_keyring.load(Ordering::Relaxed);
    let (process, session) = {
        let g = t.tg().lock();
        (g.process_keyring, g.session_keyring)
    };
    (
        t.creds.uid,
        t.creds.gid,
        t.creds.groups.clone(),
        t.capable(CAP_SYS_ADMIN),
        [thread, process, session],
    )
}

/// Runs `f` with the store locked and the caller described.
fn with_keys<R>(t: &Task, f: impl FnOnce(&mut Keys, &mut Caller) -> SysResult<R>) -> SysResult<R> {
    let (uid, gid, groups, admin, anchors) = caller(t);
    let mut c = Caller {
        uid,
        gid,
        groups: &groups,
        admin,
        anchors,
    };
    let mut k = t.kernel.keys.lock();
    f(&mut k, &mut c)
}

/// A new session keyring for the process (`KEYCTL_JOIN_SESSION_KEYRING`'s
/// default permissions).
/// An anonymous one is not linkable by its owner, a named one is.
fn new_session(t: &Task, k: &mut Keys, c: &mut Caller, name: Option<&[u8]>) -> SysResult<i32> {
    let usr = if name.is_some() {
        KEY_VIEW | KEY_READ | KEY_LINK
    } else {
        KEY_VIEW | KEY_READ
    };
    let perm = KEY_ALL << 24 | usr << 16;
    let name = name.unwrap_or(b"_ses");
    let id = k.create_anchor(name, (t.creds.uid, t.creds.gid), perm)?;
    t.tg().lock().session_keyring = id;
    c.anchors[2] = id;
    Ok(id)
}

/// The serial `id` names: a special keyring id is resolved (made if
/// `create`, else `ENOKEY` if missing), an unknown negative one is
/// `EINVAL`. A positive id is returned as is; the caller checks the key.
fn resolve(t: &Task, k: &mut Keys, c: &mut Caller, id: i32, create: bool) -> SysResult<i32> {
    let ids = (t.creds.uid, t.creds.gid);
    let own = KEY_ALL << 24 | KEY_VIEW << 16;
    match id {
        keys::KEY_SPEC_THREAD_KEYRING => {
            let cur = t.shared.thread_keyring.load(Ordering::Relaxed);
            if cur != 0 && k.get(cur).is_some() {
                return Ok(cur);
            }
            if !create {
                return Err(Errno::ENOKEY);
            }
            let r = k.create_anchor(b"_tid", ids, own)?;
            t.shared.thread_keyring.store(r, Ordering::Relaxed);
            c.anchors[0] = r;
            Ok(r)
        }
        keys::KEY_SPEC_PROCESS_KEYRING => {
            let cur = t.tg().lock().process_keyring;
            if cur != 0 && k.get(cur).is_some() {
                return Ok(cur);
            }
            if !create {
                return Err(Errno::ENOKEY);
            }
            let r = k.create_anchor(b"_pid", ids, own)?;
            t.tg().lock().process_keyring = r;
            c.anchors[1] = r;
            Ok(r)
        }
        keys::KEY_SPEC_SESSION_KEYRING => {
            let cur = t.tg().lock().session_keyring;
            if cur != 0 && k.get(cur).is_some() {
                return Ok(cur);
            }
            if create {
                return new_session(t, k, c, None);
            }
            // As Linux: without a session keyring, the user session keyring
            // becomes it.
            let (_, ses) = k.user_keyrings(ids.0, ids.1)?;
            t.tg().lock().session_keyring = ses;
            c.anchors[2] = ses;
            Ok(ses)
        }
        keys::KEY_SPEC_USER_KEYRING => Ok(k.user_keyrings(ids.0, ids.1)?.0),
        keys::KEY_SPEC_USER_SESSION_KEYRING => Ok(k.user_keyrings(ids.0, ids.1)?.1),
        keys::KEY_SPEC_REQKEY_AUTH_KEY | keys::KEY_SPEC_REQUESTOR_KEYRING => Err(Errno::ENOKEY),
        // Group keyrings are not supported by Linux either.
        keys::KEY_SPEC_GROUP_KEYRING => Err(Errno::EINVAL),
        i if i > 0 => Ok(i),
        _ => Err(Errno::EINVAL),
    }
}

/// A key type name from the application: `EINVAL` if empty or 32 bytes or
/// longer, `EPERM` for the kernel's own ("." prefixed) types.
fn read_type(t: &Task, addr: u64) -> SysResult<Vec<u8>> {
    let ty = read_str(t, addr, 31)?;
    if ty.is_empty() {
        return Err(Errno::EINVAL);
    }
    if ty[0] == b'.' {
        return Err(Errno::EPERM);
    }
    Ok(ty)
}

/// A NUL-terminated string of at most `max` bytes (`EINVAL` if longer).
fn read_str(t: &Task, addr: u64, max: usize) -> SysResult<Vec<u8>> {
    t.mm().read_cstring(addr, max).map_err(|e| {
        if e == Errno::ENAMETOOLONG {
            Errno::EINVAL
        } else {
            e
        }
    })
}

fn read_payload(t: &Task, addr: u64, len: u64) -> SysResult<Vec<u8>> {
    if len > 1024 * 1024 - 1 {
        return Err(Errno::EINVAL);
    }
    let mut buf = vec![0u8; len as usize];
    if len != 0 {
        t.mm().copy_in(addr, &mut buf)?;
    }
    Ok(buf)
}

/// Copies `data` out whole if `buflen` holds it; returns its length.
fn copy_whole(t: &Task, buf: u64, buflen: u64, data: &[u8]) -> SysResult<u64> {
    if buf != 0 && buflen >= data.len() as u64 {
        t.mm().copy_out(buf, data)?;
    }
    Ok(data.len() as u64)
}

/// `add_key(type, description, payload, plen, keyring)`.
pub fn add_key(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let ty = read_type(t, a[0])?;
    let desc = if a[1] != 0 {
        read_str(t, a[1], keys::MAX_DESC)?
    } else {
        Vec::new()
    };
    let payload = read_payload(t, a[2], a[3])?;
    let dest = a[4] as i32;
    with_keys(t, |k, c| {
        let ring = resolve(t, k, c, dest, true)?;
        k.check(ring, c, KEY_WRITE)?;
        let ktype = KeyType::from_name(&ty).ok_or(Errno::ENODEV)?;
        ktype.vet(&desc, &payload)?;
        if desc.is_empty() {
            return Err(Errno::EINVAL);
        }
        if k.get(ring).map(|r| r.ktype) != Some(KeyType::Keyring) {
            return Err(Errno::ENOTDIR);
        }
        // An existing key of the type and description is updated in place
        // (keyrings are replaced instead).
        if ktype != KeyType::Keyring {
            if let Some(old) = k.find_in(ring, ktype, &desc) {
                if k.check(old, c, KEY_WRITE).is_ok() {
                    k.update(old, payload)?;
                    return Ok(old as u64);
                }
            }
        }
        let id = k.create(ktype, &desc, payload, (c.uid, c.gid), ktype.default_perm())?;
        if let Err(e) = k.link(ring, id) {
            k.invalidate(id);
            return Err(e);
        }
        Ok(id as u64)
    })
}

/// `request_key(type, description, callout_info, dest_keyring)`: searches
/// the caller's thread, process and session keyrings. There is no
/// `/sbin/request-key` to call out to: a key not found is `ENOKEY`, or
/// `ENOENT` with `callout_info` (Linux's error when the helper is missing).
pub fn request_key(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let ty = read_type(t, a[0])?;
    let desc = read_str(t, a[1], keys::MAX_DESC)?;
    let callout = a[2] != 0;
    if callout {
        read_str(t, a[2], 4095)?;
    }
    let dest = a[3] as i32;
    with_keys(t, |k, c| {
        let dest = if dest != 0 {
            let r = resolve(t, k, c, dest, true)?;
            k.check(r, c, KEY_WRITE)?;
            Some(r)
        } else {
            None
        };
        let ktype = KeyType::from_name(&ty).ok_or(Errno::ENOKEY)?;
        if desc.is_empty() {
            return Err(Errno::EINVAL);
        }
        let mut err = Errno::ENOKEY;
        let mut found = None;
        for ring in [
            keys::KEY_SPEC_THREAD_KEYRING,
            keys::KEY_SPEC_PROCESS_KEYRING,
            keys::KEY_SPEC_SESSION_KEYRING,
        ] {
            let Ok(r) = resolve(t, k, c, ring, false) else {
                continue;
            };
            if k.check(r, c, KEY_SEARCH).is_err() {
                continue;
            }
            match k.search(r, ktype, &desc, c) {
                Ok(id) => {
                    found = Some(id);
                    break;
                }
                Err(Errno::ENOKEY) => {}
                Err(e) => err = e,
            }
        }
        if callout && found.is_none() && err == Errno::ENOKEY {
            err = Errno::ENOENT;
        }
        let id = found.ok_or(err)?;
        if let Some(d) = dest {
            k.link(d, id)?;
        }
        Ok(id as u64)
    })
}

const KEYCTL_GET_KEYRING_ID: u64 = 0;
const KEYCTL_JOIN_SESSION_KEYRING: u64 = 1;
const KEYCTL_UPDATE: u64 = 2;
const KEYCTL_REVOKE: u64 = 3;
const KEYCTL_CHOWN: u64 = 4;
const KEYCTL_SETPERM: u64 = 5;
const KEYCTL_DESCRIBE: u64 = 6;
const KEYCTL_CLEAR: u64 = 7;
const KEYCTL_LINK: u64 = 8;
const KEYCTL_UNLINK: u64 = 9;
const KEYCTL_SEARCH: u64 = 10;
const KEYCTL_READ: u64 = 11;
const KEYCTL_SET_TIMEOUT: u64 = 15;
const KEYCTL_GET_SECURITY: u64 = 17;
const KEYCTL_INVALIDATE: u64 = 21;
const KEYCTL_CAPABILITIES: u64 = 31;

/// `keyctl(cmd, ...)`. Commands other than the ones below (key
/// construction, persistent keyrings, Diffie-Hellman, restrictions, move,
/// watches) are `EOPNOTSUPP`, as Linux built without them.
pub fn keyctl(t: &mut Task, a: [u64; 6]) -> SysResult<u64> {
    let id = a[1] as i32;
    match a[0] {
        KEYCTL_GET_KEYRING_ID => with_keys(t, |k, c| {
            let r = resolve(t, k, c, id, a[2] != 0)?;
            k.check(r, c, KEY_SEARCH)?;
            Ok(r as u64)
        }),
        KEYCTL_JOIN_SESSION_KEYRING => {
            let name = if a[1] != 0 {
                Some(read_str(t, a[1], keys::MAX_DESC)?)
            } else {
                None
            };
            with_keys(t, |k, c| match name {
                None => new_session(t, k, c, None).map(|r| r as u64),
                Some(n) => {
                    if let Some(r) = k.find_keyring_by_name(&n, c) {
                        t.tg().lock().session_keyring = r;
                        c.anchors[2] = r;
                        return Ok(r as u64);
                    }
                    new_session(t, k, c, Some(&n)).map(|r| r as u64)
                }
            })
        }
        KEYCTL_UPDATE => {
            if a[3] > 4096 {
                return Err(Errno::EINVAL);
            }
            let payload = read_payload(t, a[2], a[3])?;
            with_keys(t, |k, c| {
                let r = resolve(t, k, c, id, true)?;
                k.check(r, c, KEY_WRITE)?;
                let key = k.valid(r)?;
                if key.ktype == KeyType::Keyring {
                    return Err(Errno::EOPNOTSUPP);
                }
                key.ktype.vet(&key.desc.clone(), &payload)?;
                k.update(r, payload)?;
                Ok(0)
            })
        }
        KEYCTL_REVOKE => with_keys(t, |k, c| {
            let r = resolve(t, k, c, id, false)?;
            k.valid(r)?;
            if k.check_perm(r, c, KEY_WRITE).is_err() {
                k.check_perm(r, c, KEY_SETATTR)?;
            }
            k.revoke(r);
            Ok(0)
        }),
        KEYCTL_CHOWN => with_keys(t, |k, c| {
            let (uid, gid) = (a[2] as u32, a[3] as u32);
            if uid == u32::MAX && gid == u32::MAX {
                return Ok(0);
            }
            let r = resolve(t, k, c, id, true)?;
            k.check(r, c, KEY_SETATTR)?;
            let owner = k.get(r).map(|key| key.uid).unwrap_or(u32::MAX);
            if uid != u32::MAX && uid != owner && !c.admin {
                return Err(Errno::EACCES);
            }
            if gid != u32::MAX
                && !c.admin
                && (owner != c.uid || (gid != c.gid && !c.groups.contains(&gid)))
            {
                return Err(Errno::EACCES);
            }
            k.set_owner(
                r,
                (uid != u32::MAX).then_some(uid),
                (gid != u32::MAX).then_some(gid),
            );
            Ok(0)
        }),
        KEYCTL_SETPERM => with_keys(t, |k, c| {
            let perm = a[2] as u32;
            if perm & !0x3f3f_3f3f != 0 || a[2] > u32::MAX as u64 {
                return Err(Errno::EINVAL);
            }
            let r = resolve(t, k, c, id, true)?;
            k.check(r, c, KEY_SETATTR)?;
            if !c.admin && k.get(r).map(|key| key.uid) != Some(c.uid) {
                return Err(Errno::EACCES);
            }
            k.set_perm(r, perm);
            Ok(0)
        }),
        KEYCTL_DESCRIBE => with_keys(t, |k, c| {
            let r = resolve(t, k, c, id, true)?;
            k.check(r, c, KEY_VIEW)?;
            let key = k.valid(r)?;
            let s = format!(
                "{};{};{};{:08x};{}\0",
                key.ktype.name(),
                key.uid as i32,
                key.gid as i32,
                key.perm,
                String::from_utf8_lossy(&key.desc)
            );
            copy_whole(t, a[2], a[3], s.as_bytes())
        }),
        KEYCTL_CLEAR => with_keys(t, |k, c| {
            let r = resolve(t, k, c, id, true)?;
            k.check(r, c, KEY_WRITE)?;
            k.clear(r)?;
            Ok(0)
        }),
        KEYCTL_LINK => with_keys(t, |k, c| {
            let key = resolve(t, k, c, id, true)?;
            k.check(key, c, KEY_LINK)?;
            let ring = resolve(t, k, c, a[2] as i32, true)?;
            k.check(ring, c, KEY_WRITE)?;
            k.link(ring, key)?;
            Ok(0)
        }),
        KEYCTL_UNLINK => with_keys(t, |k, c| {
            let ring = resolve(t, k, c, a[2] as i32, false)?;
            k.check(ring, c, KEY_WRITE)?;
            let key = resolve(t, k, c, id, false)?;
            if k.get(key).is_none() {
                return Err(Errno::ENOKEY);
            }
            k.unlink(ring, key)?;
            Ok(0)
        }),
        KEYCTL_SEARCH => {
            let ty = read_type(t, a[2])?;
            let desc = read_str(t, a[3], keys::MAX_DESC)?;
            with_keys(t, |k, c| {
                let ring = resolve(t, k, c, id, false)?;
                k.check(ring, c, KEY_SEARCH)?;
                let dest = match a[4] as i32 {
                    0 => None,
                    d => {
                        let r = resolve(t, k, c, d, true)?;
                        k.check(r, c, KEY_WRITE)?;
                        Some(r)
                    }
                };
                let ktype = KeyType::from_name(&ty).ok_or(Errno::ENOKEY)?;
                if k.get(ring).map(|r| r.ktype) != Some(KeyType::Keyring) {
                    return Err(Errno::ENOTDIR);
                }
                let found = k.search(ring, ktype, &desc, c)?;
                if let Some(d) = dest {
                    k.check_perm(found, c, KEY_LINK)?;
                    k.link(d, found)?;
                }
                Ok(found as u64)
            })
        }
        KEYCTL_READ => with_keys(t, |k, c| {
            let r = resolve(t, k, c, id, false)?;
            let key = k.get(r).ok_or(Errno::ENOKEY)?;
            // Readable with READ, or when possessed with SEARCH.
            if k.check_perm(r, c, KEY_READ).is_err()
                && !(k.possessed(r, c) && k.check_perm(r, c, KEY_SEARCH).is_ok())
            {
                return Err(Errno::EACCES);
            }
            if key.ktype == KeyType::Logon {
                return Err(Errno::EOPNOTSUPP);
            }
            let key = k.valid(r)?;
            let data: Vec<u8> = if key.ktype == KeyType::Keyring {
                key.links.iter().flat_map(|l| l.to_ne_bytes()).collect()
            } else {
                key.payload.clone()
            };
            copy_whole(t, a[2], a[3], &data)
        }),
        KEYCTL_SET_TIMEOUT => with_keys(t, |k, c| {
            let r = resolve(t, k, c, id, true)?;
            k.check(r, c, KEY_SETATTR)?;
            k.set_timeout(r, a[2] as u32);
            Ok(0)
        }),
        KEYCTL_GET_SECURITY => with_keys(t, |k, c| {
            let r = resolve(t, k, c, id, true)?;
            k.check(r, c, KEY_VIEW)?;
            // No security module labels keys: the context is empty.
            if a[2] != 0 && a[3] > 0 {
                t.mm().copy_out(a[2], &[0])?;
            }
            Ok(1)
        }),
        KEYCTL_INVALIDATE => with_keys(t, |k, c| {
            let r = resolve(t, k, c, id, false)?;
            k.check(r, c, KEY_SEARCH)?;
            k.invalidate(r);
            Ok(0)
        }),
        KEYCTL_CAPABILITIES => {
            // KEYCTL_CAPS0_CAPABILITIES | KEYCTL_CAPS0_INVALIDATE.
            let caps = [0x01u8 | 0x20, 0];
            let n = (a[2] as usize).min(caps.len());
            if a[1] != 0 && n > 0 {
                t.mm().copy_out(a[1], &caps[..n])?;
            }
            Ok(caps.len() as u64)
        }
        _ => Err(Errno::EOPNOTSUPP),
    }
}
