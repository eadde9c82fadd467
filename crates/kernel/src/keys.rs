//! Kernel key retention (`add_key`, `request_key`, `keyctl`): one store of
//! keys per sandbox. Types "user", "logon" and "keyring"; keyrings hold
//! links to keys. A key lives while a keyring links it or it is some
//! process's thread/process/session keyring or a user's keyring (those are
//! pinned; a thread's or process's goes when it exits, session and user
//! keyrings are never collected). The syscall layer resolves the special
//! keyring ids, since they live in the task and its process.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use abi::{Errno, SysResult};

pub const KEY_SPEC_THREAD_KEYRING: i32 = -1;
pub const KEY_SPEC_PROCESS_KEYRING: i32 = -2;
pub const KEY_SPEC_SESSION_KEYRING: i32 = -3;
pub const KEY_SPEC_USER_KEYRING: i32 = -4;
pub const KEY_SPEC_USER_SESSION_KEYRING: i32 = -5;
pub const KEY_SPEC_GROUP_KEYRING: i32 = -6;
pub const KEY_SPEC_REQKEY_AUTH_KEY: i32 = -7;
pub const KEY_SPEC_REQUESTOR_KEYRING: i32 = -8;

/// Permission bits, per class (possessor << 24, user << 16, group << 8,
/// other).
pub const KEY_VIEW: u32 = 0x01;
pub const KEY_READ: u32 = 0x02;
pub const KEY_WRITE: u32 = 0x04;
pub const KEY_SEARCH: u32 = 0x08;
pub const KEY_LINK: u32 = 0x10;
pub const KEY_SETATTR: u32 = 0x20;
pub const KEY_ALL: u32 = 0x3f;
const POS: u32 = 24;
const USR: u32 = 16;
const GRP: u32 = 8;

/// Longest description (`KEY_MAX_DESC_SIZE` less the NUL).
pub const MAX_DESC: usize = 4095;
/// Largest "user"/"logon" payload.
pub const MAX_USER_PAYLOAD: usize = 32767;
/// Linux's default quotas (`/proc/sys/kernel/keys/{root_,}max{keys,bytes}`).
const ROOT_MAXKEYS: u32 = 1_000_000;
const ROOT_MAXBYTES: usize = 25_000_000;
const MAXKEYS: u32 = 200;
const MAXBYTES: usize = 20_000;
/// How deep a search descends into nested keyrings (Linux's
/// `KEYRING_SEARCH_MAX_DEPTH`).
const MAX_DEPTH: usize = 6;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum KeyType {
    User,
    Logon,
    Keyring,
}

impl KeyType {
    /// The type called `name`; `None` for types this store lacks.
    pub fn from_name(name: &[u8]) -> Option<KeyType> {
        match name {
            b"user" => Some(KeyType::User),
            b"logon" => Some(KeyType::Logon),
            b"keyring" => Some(KeyType::Keyring),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            KeyType::User => "user",
            KeyType::Logon => "logon",
            KeyType::Keyring => "keyring",
        }
    }

    /// The permissions `add_key` gives a new key of this type (Linux's
    /// `key_create_or_update`): all to the possessor (no read for "logon"),
    /// view to the owner.
    pub fn default_perm(self) -> u32 {
        let pos = match self {
            KeyType::Logon => KEY_ALL & !KEY_READ,
            _ => KEY_ALL,
        };
        pos << POS | KEY_VIEW << USR
    }

    /// Checks a description and payload for a new key or an update.
    pub fn vet(self, desc: &[u8], payload: &[u8]) -> SysResult<()> {
        match self {
            KeyType::User | KeyType::Logon => {
                if payload.is_empty() || payload.len() > MAX_USER_PAYLOAD {
                    return Err(Errno::EINVAL);
                }
                // "logon" descriptions are "service:name".
                if self == KeyType::Logon && desc.iter().position(|&b| b == b':').unwrap_or(0) == 0
                {
                    return Err(Errno::EINVAL);
                }
            }
            KeyType::Keyring => {
                if !payload.is_empty() {
                    return Err(Errno::EINVAL);
                }
            }
        }
        Ok(())
    }
}

/// The permissions `k` grants the caller as its owner, group or other.
fn class_perm(k: &Key, c: &Caller) -> u32 {
    (if k.uid == c.uid {
        k.perm >> USR
    } else if k.gid == c.gid || c.groups.contains(&k.gid) {
        k.perm >> GRP
    } else {
        k.perm
    }) & KEY_ALL
}

pub struct Key {
    pub ktype: KeyType,
    pub desc: Vec<u8>,
    pub uid: u32,
    pub gid: u32,
    pub perm: u32,
    pub payload: Vec<u8>,
    /// A keyring's links, in order.
    pub links: Vec<i32>,
    pub expiry: Option<Instant>,
    pub revoked: bool,
    /// A process's or user's own keyring: kept while unlinked.
    pub pinned: bool,
}

impl Key {
    fn quota_bytes(&self) -> usize {
        self.desc.len() + 1 + self.payload.len()
    }
}

/// Who asks: the credentials key permissions are checked against and the
/// keyrings whose contents the caller possesses.
pub struct Caller<'a> {
    pub uid: u32,
    pub gid: u32,
    pub groups: &'a [u32],
    /// `CAP_SYS_ADMIN`.
    pub admin: bool,
    /// The thread, process and session keyrings (0: none).
    pub anchors: [i32; 3],
}

#[derive(Default)]
struct Quota {
    nkeys: u32,
    nbytes: usize,
    /// The user keyring and user session keyring (0: not made yet).
    rings: (i32, i32),
}

#[derive(Default)]
pub struct KeyStore {
    inner: Mutex<Keys>,
}

impl KeyStore {
    pub fn lock(&self) -> MutexGuard<'_, Keys> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[derive(Default)]
pub struct Keys {
    next: i32,
    keys: BTreeMap<i32, Key>,
    users: HashMap<u32, Quota>,
}

impl Keys {
    /// A new key linked nowhere yet, charged to `uid`'s quota (`EDQUOT`).
    pub fn create(
        &mut self,
        ktype: KeyType,
        desc: &[u8],
        payload: Vec<u8>,
        (uid, gid): (u32, u32),
        perm: u32,
    ) -> SysResult<i32> {
        self.alloc(ktype, desc, payload, (uid, gid), perm, false)
    }

    /// `overrun`: a process's own keyring may exceed the quota, as Linux's
    /// `KEY_ALLOC_QUOTA_OVERRUN`.
    fn alloc(
        &mut self,
        ktype: KeyType,
        desc: &[u8],
        payload: Vec<u8>,
        (uid, gid): (u32, u32),
        perm: u32,
        overrun: bool,
    ) -> SysResult<i32> {
        let key = Key {
            ktype,
            desc: desc.to_vec(),
            uid,
            gid,
            perm,
            payload,
            links: Vec::new(),
            expiry: None,
            revoked: false,
            pinned: false,
        };
        let bytes = key.quota_bytes();
        let q = self.users.entry(uid).or_default();
        let (maxkeys, maxbytes) = if uid == 0 {
            (ROOT_MAXKEYS, ROOT_MAXBYTES)
        } else {
            (MAXKEYS, MAXBYTES)
        };
        if !overrun && (q.nkeys >= maxkeys || q.nbytes + bytes > maxbytes) {
            return Err(Errno::EDQUOT);
        }
        q.nkeys += 1;
        q.nbytes += bytes;
        // Serials are positive and never reused while the key lives.
        loop {
            self.next = if self.next < 0x1000_0000 || self.next == i32::MAX {
                0x1000_0000
            } else {
                self.next + 1
            };
            if !self.keys.contains_key(&self.next) {
                break;
            }
        }
        self.keys.insert(self.next, key);
        Ok(self.next)
    }

    /// A pinned keyring (a process's or user's own).
    pub fn create_anchor(&mut self, name: &[u8], ids: (u32, u32), perm: u32) -> SysResult<i32> {
        let id = self.alloc(KeyType::Keyring, name, Vec::new(), ids, perm, true)?;
        if let Some(k) = self.keys.get_mut(&id) {
            k.pinned = true;
        }
        Ok(id)
    }

    /// A thread's or process's own keyring whose owner has exited: it
    /// lives on only while some keyring links it.
    pub fn release(&mut self, id: i32) {
        if let Some(k) = self.keys.get_mut(&id) {
            k.pinned = false;
        }
        self.collect(id);
    }

    /// `uid`'s user keyring and user session keyring, made on first use.
    pub fn user_keyrings(&mut self, uid: u32, gid: u32) -> SysResult<(i32, i32)> {
        let rings = self.users.get(&uid).map(|q| q.rings).unwrap_or((0, 0));
        if rings.0 != 0 && self.keys.contains_key(&rings.0) {
            return Ok(rings);
        }
        let perm = KEY_ALL << POS | KEY_ALL << USR;
        let user = self.create_anchor(format!("_uid.{uid}").as_bytes(), (uid, gid), perm)?;
        let ses = self.create_anchor(format!("_uid_ses.{uid}").as_bytes(), (uid, gid), perm)?;
        self.link(ses, user)?;
        self.users.entry(uid).or_default().rings = (user, ses);
        Ok((user, ses))
    }

    pub fn get(&self, id: i32) -> Option<&Key> {
        self.keys.get(&id)
    }

    /// The key, if it is usable: `ENOKEY` if gone, `EKEYREVOKED`,
    /// `EKEYEXPIRED`.
    pub fn valid(&self, id: i32) -> SysResult<&Key> {
        let k = self.keys.get(&id).ok_or(Errno::ENOKEY)?;
        if k.revoked {
            return Err(Errno::EKEYREVOKED);
        }
        if k.expiry.is_some_and(|e| Instant::now() >= e) {
            return Err(Errno::EKEYEXPIRED);
        }
        Ok(k)
    }

    /// Whether the caller possesses `id`: it is one of the caller's
    /// keyrings, or found from one through keyrings the caller may search,
    /// itself searchable (as Linux's search of the process keyrings).
    pub fn possessed(&self, id: i32, c: &Caller) -> bool {
        if c.anchors.contains(&id) {
            return true;
        }
        let mut seen: Vec<i32> = Vec::new();
        let mut todo: Vec<(i32, usize)> = c
            .anchors
            .iter()
            .filter(|&&a| a != 0)
            .map(|&a| (a, 0))
            .collect();
        while let Some((r, depth)) = todo.pop() {
            if seen.contains(&r) || depth > MAX_DEPTH {
                continue;
            }
            seen.push(r);
            let Some(k) = self.keys.get(&r) else {
                continue;
            };
            if k.ktype != KeyType::Keyring || k.revoked {
                continue;
            }
            for &l in &k.links {
                let Some(lk) = self.keys.get(&l) else {
                    continue;
                };
                if (lk.perm >> POS | class_perm(lk, c)) & KEY_SEARCH == 0 {
                    continue;
                }
                if l == id {
                    return true;
                }
                todo.push((l, depth + 1));
            }
        }
        false
    }

    /// The permission bits the caller holds on `id` (0 if it is gone).
    pub fn perm(&self, id: i32, c: &Caller) -> u32 {
        let Some(k) = self.keys.get(&id) else {
            return 0;
        };
        let mut p = class_perm(k, c);
        if self.possessed(id, c) {
            p |= (k.perm >> POS) & KEY_ALL;
        }
        p
    }

    /// `id` valid and granting `need` to the caller (`EACCES`).
    pub fn check(&self, id: i32, c: &Caller, need: u32) -> SysResult<()> {
        self.valid(id)?;
        self.check_perm(id, c, need)
    }

    pub fn check_perm(&self, id: i32, c: &Caller, need: u32) -> SysResult<()> {
        if self.perm(id, c) & need != need {
            return Err(Errno::EACCES);
        }
        Ok(())
    }

    fn keyring(&self, id: i32) -> SysResult<&Key> {
        let k = self.keys.get(&id).ok_or(Errno::ENOKEY)?;
        if k.ktype != KeyType::Keyring {
            return Err(Errno::ENOTDIR);
        }
        Ok(k)
    }

    /// The key in keyring `ring` with this type and description.
    pub fn find_in(&self, ring: i32, ktype: KeyType, desc: &[u8]) -> Option<i32> {
        let r = self.keys.get(&ring)?;
        r.links.iter().copied().find(|l| {
            self.keys
                .get(l)
                .is_some_and(|k| k.ktype == ktype && k.desc == desc)
        })
    }

    /// Links `key` into `ring`, displacing a key of the same type and
    /// description; `EDEADLK` if that would make a keyring cycle.
    pub fn link(&mut self, ring: i32, key: i32) -> SysResult<()> {
        self.keyring(ring)?;
        let k = self.keys.get(&key).ok_or(Errno::ENOKEY)?;
        if k.ktype == KeyType::Keyring && (key == ring || self.reaches(key, ring)) {
            return Err(Errno::EDEADLK);
        }
        let (ktype, desc) = (k.ktype, k.desc.clone());
        let old = self.find_in(ring, ktype, &desc);
        if old == Some(key) {
            return Ok(());
        }
        if let Some(r) = self.keys.get_mut(&ring) {
            r.links.retain(|&l| Some(l) != old);
            r.links.push(key);
        }
        if let Some(o) = old {
            self.collect(o);
        }
        Ok(())
    }

    /// Whether keyring `from` links `to`, directly or not.
    fn reaches(&self, from: i32, to: i32) -> bool {
        let mut seen = Vec::new();
        let mut todo = vec![from];
        while let Some(r) = todo.pop() {
            if r == to {
                return true;
            }
            if seen.contains(&r) {
                continue;
            }
            seen.push(r);
            if let Some(k) = self.keys.get(&r) {
                todo.extend(k.links.iter().copied());
            }
        }
        false
    }

    /// Removes the link to `key` from `ring` (`ENOENT` if none).
    pub fn unlink(&mut self, ring: i32, key: i32) -> SysResult<()> {
        self.keyring(ring)?;
        let r = self.keys.get_mut(&ring).ok_or(Errno::ENOKEY)?;
        let at = r
            .links
            .iter()
            .position(|&l| l == key)
            .ok_or(Errno::ENOENT)?;
        r.links.remove(at);
        self.collect(key);
        Ok(())
    }

    /// Empties keyring `ring`.
    pub fn clear(&mut self, ring: i32) -> SysResult<()> {
        self.keyring(ring)?;
        let links = self
            .keys
            .get_mut(&ring)
            .map(|r| std::mem::take(&mut r.links))
            .unwrap_or_default();
        for l in links {
            self.collect(l);
        }
        Ok(())
    }

    pub fn revoke(&mut self, id: i32) {
        if let Some(k) = self.keys.get_mut(&id) {
            k.revoked = true;
        }
        // A revoked keyring drops its links, as Linux's.
        if self
            .keys
            .get(&id)
            .is_some_and(|k| k.ktype == KeyType::Keyring)
        {
            let _ = self.clear(id);
        }
    }

    /// Removes `id` at once, from every keyring linking it.
    pub fn invalidate(&mut self, id: i32) {
        for k in self.keys.values_mut() {
            k.links.retain(|&l| l != id);
        }
        self.delete(id);
    }

    pub fn set_timeout(&mut self, id: i32, secs: u32) {
        if let Some(k) = self.keys.get_mut(&id) {
            k.expiry = (secs != 0).then(|| Instant::now() + Duration::from_secs(secs.into()));
        }
    }

    /// Replaces a key's payload, charging the difference to its owner.
    pub fn update(&mut self, id: i32, payload: Vec<u8>) -> SysResult<()> {
        let k = self.keys.get(&id).ok_or(Errno::ENOKEY)?;
        let (uid, old) = (k.uid, k.payload.len());
        let maxbytes = if uid == 0 { ROOT_MAXBYTES } else { MAXBYTES };
        let q = self.users.entry(uid).or_default();
        let bytes = (q.nbytes + payload.len()).saturating_sub(old);
        if payload.len() > old && bytes > maxbytes {
            return Err(Errno::EDQUOT);
        }
        q.nbytes = bytes;
        if let Some(k) = self.keys.get_mut(&id) {
            k.payload = payload;
        }
        Ok(())
    }

    pub fn set_owner(&mut self, id: i32, uid: Option<u32>, gid: Option<u32>) {
        let Some(k) = self.keys.get_mut(&id) else {
            return;
        };
        let (old, bytes) = (k.uid, k.quota_bytes());
        if let Some(g) = gid {
            k.gid = g;
        }
        if let Some(u) = uid.filter(|&u| u != old) {
            k.uid = u;
            // The key moves to its new owner's quota.
            if let Some(q) = self.users.get_mut(&old) {
                q.nkeys = q.nkeys.saturating_sub(1);
                q.nbytes = q.nbytes.saturating_sub(bytes);
            }
            let q = self.users.entry(u).or_default();
            q.nkeys += 1;
            q.nbytes += bytes;
        }
    }

    pub fn set_perm(&mut self, id: i32, perm: u32) {
        if let Some(k) = self.keys.get_mut(&id) {
            k.perm = perm;
        }
    }

    /// Searches keyring `ring` and the keyrings it links (breadth first)
    /// for a key the caller may search: `ENOKEY`, or the error of the last
    /// matching key that was revoked or expired.
    pub fn search(&self, ring: i32, ktype: KeyType, desc: &[u8], c: &Caller) -> SysResult<i32> {
        let mut err = Errno::ENOKEY;
        let mut level = vec![ring];
        let mut seen = Vec::new();
        for _ in 0..=MAX_DEPTH {
            let mut next = Vec::new();
            for r in level {
                if seen.contains(&r) {
                    continue;
                }
                seen.push(r);
                let Some(rk) = self.keys.get(&r) else {
                    continue;
                };
                for &l in &rk.links {
                    let Some(k) = self.keys.get(&l) else {
                        continue;
                    };
                    if k.ktype == ktype && k.desc == desc {
                        match self.valid(l) {
                            Ok(_) if self.perm(l, c) & KEY_SEARCH != 0 => return Ok(l),
                            Ok(_) => err = Errno::EACCES,
                            Err(e) => err = e,
                        }
                    }
                    if k.ktype == KeyType::Keyring
                        && self.valid(l).is_ok()
                        && self.perm(l, c) & KEY_SEARCH != 0
                    {
                        next.push(l);
                    }
                }
            }
            if next.is_empty() {
                break;
            }
            level = next;
        }
        Err(err)
    }

    /// The caller's keyring named `name` that it may search without
    /// possessing it (`KEYCTL_JOIN_SESSION_KEYRING`, as Linux's
    /// `find_keyring_by_name`).
    pub fn find_keyring_by_name(&self, name: &[u8], c: &Caller) -> Option<i32> {
        let outsider = Caller {
            anchors: [0; 3],
            ..*c
        };
        self.keys.iter().find_map(|(&id, k)| {
            (k.ktype == KeyType::Keyring
                && k.desc == name
                && k.uid == c.uid
                && self.valid(id).is_ok()
                && self.perm(id, &outsider) & KEY_SEARCH != 0)
                .then_some(id)
        })
    }

    /// Drops `id` if nothing holds it any more.
    fn collect(&mut self, id: i32) {
        let Some(k) = self.keys.get(&id) else {
            return;
        };
        if k.pinned || self.keys.values().any(|r| r.links.contains(&id)) {
            return;
        }
        self.delete(id);
    }

    fn delete(&mut self, id: i32) {
        let Some(k) = self.keys.remove(&id) else {
            return;
        };
        if let Some(q) = self.users.get_mut(&k.uid) {
            q.nkeys = q.nkeys.saturating_sub(1);
            q.nbytes = q.nbytes.saturating_sub(k.quota_bytes());
        }
        for l in k.links {
            self.collect(l);
        }
    }
}
