//! Landlock (ABI 3): rulesets a program builds, and the domains that
//! restrict its file access once it enforces them.
//!
//! A rule grants access rights beneath an inode (a directory, or a file
//! for the file rights). A domain is a stack of up to 16 layers, one per
//! `landlock_restrict_self`; each layer handles some rights and grants
//! them only where one of its rules does, on the path's inode or on any
//! directory above it up to the real root (crossing mount points upward,
//! skipping the directories mounts hide, as Linux's walk does). An
//! access is allowed when every layer that handles it grants it.
//!
//! The domain rides on the caller's [`Creds`], so a task without one pays
//! a single `None` check per operation. Layer sets are kept as Linux keeps
//! them: for each access right, a bit mask of the layers still denying it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use abi::fs::Stat;
use abi::{Errno, SysResult};

use crate::dentry::Dentry;
use crate::file::{File, FileOps};
use crate::inode::{lock, Inode};
use crate::Creds;

pub const ACCESS_FS_EXECUTE: u64 = 1 << 0;
pub const ACCESS_FS_WRITE_FILE: u64 = 1 << 1;
pub const ACCESS_FS_READ_FILE: u64 = 1 << 2;
pub const ACCESS_FS_READ_DIR: u64 = 1 << 3;
pub const ACCESS_FS_REMOVE_DIR: u64 = 1 << 4;
pub const ACCESS_FS_REMOVE_FILE: u64 = 1 << 5;
pub const ACCESS_FS_MAKE_CHAR: u64 = 1 << 6;
pub const ACCESS_FS_MAKE_DIR: u64 = 1 << 7;
pub const ACCESS_FS_MAKE_REG: u64 = 1 << 8;
pub const ACCESS_FS_MAKE_SOCK: u64 = 1 << 9;
pub const ACCESS_FS_MAKE_FIFO: u64 = 1 << 10;
pub const ACCESS_FS_MAKE_BLOCK: u64 = 1 << 11;
pub const ACCESS_FS_MAKE_SYM: u64 = 1 << 12;
pub const ACCESS_FS_REFER: u64 = 1 << 13;
pub const ACCESS_FS_TRUNCATE: u64 = 1 << 14;

/// The ABI version reported by `LANDLOCK_CREATE_RULESET_VERSION`: every
/// file-system right up to `TRUNCATE`; no network rules (ABI 4), device
/// ioctls (5) or scopes (6).
pub const ABI_VERSION: u64 = 3;
const NUM_ACCESS: usize = 15;
pub const MASK_ACCESS_FS: u64 = (1 << NUM_ACCESS) - 1;
/// Rights that make sense on a file (a rule on a non-directory).
pub const ACCESS_FILE: u64 =
    ACCESS_FS_EXECUTE | ACCESS_FS_WRITE_FILE | ACCESS_FS_READ_FILE | ACCESS_FS_TRUNCATE;
/// Layers a domain may stack.
pub const MAX_LAYERS: usize = 16;

/// For each access right, the layers (bit N = layer N) still denying it.
type Masks = [u16; NUM_ACCESS];

/// Rule key: the inode's identity. The rule holds the inode, so the
/// address stays its own.
fn key(inode: &Arc<Inode>) -> usize {
    Arc::as_ptr(inode) as usize
}

/// What a ruleset descriptor holds: rules not yet enforced.
pub struct Ruleset {
    /// `handled_access_fs` as given.
    pub handled: u64,
    rules: Mutex<HashMap<usize, (Arc<Inode>, u64)>>,
}

impl Ruleset {
    /// A new ruleset; `ENOMSG` when it would handle nothing.
    pub fn new(handled: u64) -> SysResult<Arc<Ruleset>> {
        if handled & !MASK_ACCESS_FS != 0 {
            return Err(Errno::EINVAL);
        }
        if handled == 0 {
            return Err(Errno::ENOMSG);
        }
        Ok(Arc::new(Ruleset {
            handled,
            rules: Mutex::new(HashMap::new()),
        }))
    }

    /// `LANDLOCK_RULE_PATH_BENEATH`: `access` beneath `d`. Rules on the
    /// same inode merge.
    pub fn add_path_beneath(&self, d: &Arc<Dentry>, access: u64) -> SysResult<()> {
        if access == 0 {
            return Err(Errno::ENOMSG);
        }
        if access | self.handled != self.handled {
            return Err(Errno::EINVAL);
        }
        if !d.inode.is_dir() && access & !ACCESS_FILE != 0 {
            return Err(Errno::EINVAL);
        }
        lock(&self.rules)
            .entry(key(&d.inode))
            .or_insert_with(|| (d.inode.clone(), 0))
            .1 |= access;
        Ok(())
    }
}

/// The file behind a ruleset descriptor (`anon_inode:[landlock-ruleset]`).
pub struct RulesetFile(pub Arc<Ruleset>);

impl FileOps for RulesetFile {
    fn stat(&self, _f: &File) -> SysResult<Stat> {
        Ok(crate::epoll::anon_stat())
    }
    fn anon_name(&self) -> Option<Vec<u8>> {
        Some(b"anon_inode:[landlock-ruleset]".to_vec())
    }
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

/// A rule's grants in each layer that has one: (layer, rights).
type Grants = Vec<(u8, u64)>;

/// An enforced stack of layers. Immutable: `landlock_restrict_self`
/// makes a new one from the caller's and a ruleset.
pub struct Domain {
    /// Per layer, the rights it handles; `REFER` is always handled.
    handled: Vec<u64>,
    /// Per inode with a rule in some layer: (inode, per-layer grants).
    rules: HashMap<usize, (Arc<Inode>, Grants)>,
    /// The domain this one was made from (ptrace scoping).
    pub parent: Option<Arc<Domain>>,
}

impl Domain {
    /// `parent` plus a layer from `rs`; `E2BIG` past [`MAX_LAYERS`].
    pub fn stack(parent: Option<&Arc<Domain>>, rs: &Ruleset) -> SysResult<Arc<Domain>> {
        let (mut handled, mut rules) = match parent {
            Some(p) => (p.handled.clone(), p.rules.clone()),
            None => (Vec::new(), HashMap::new()),
        };
        if handled.len() >= MAX_LAYERS {
            return Err(Errno::E2BIG);
        }
        let layer = handled.len() as u8;
        handled.push(rs.handled | ACCESS_FS_REFER);
        for (k, (inode, access)) in lock(&rs.rules).iter() {
            rules
                .entry(*k)
                .or_insert_with(|| (inode.clone(), Vec::new()))
                .1
                .push((layer, *access));
        }
        Ok(Arc::new(Domain {
            handled,
            rules,
            parent: parent.cloned(),
        }))
    }

    /// Whether `self` is `other` or one of the domains it was made from.
    pub fn is_ancestor_of(self: &Arc<Domain>, other: &Arc<Domain>) -> bool {
        let mut d = Some(other);
        while let Some(x) = d {
            if Arc::ptr_eq(x, self) {
                return true;
            }
            d = x.parent.as_ref();
        }
        false
    }

    /// The layers denying each requested right before any rule is seen;
    /// returns the requested rights some layer handles.
    fn init_masks(&self, request: u64, masks: &mut Masks) -> u64 {
        let mut handled_any = 0;
        for (layer, h) in self.handled.iter().enumerate() {
            let hit = h & request;
            handled_any |= hit;
            for (bit, m) in masks.iter_mut().enumerate() {
                if hit & 1 << bit != 0 {
                    *m |= 1 << layer;
                }
            }
        }
        handled_any
    }

    /// Applies the rules on `d`'s inode to `masks` for `request`; true
    /// when no layer denies any requested right any more.
    fn unmask(&self, d: &Dentry, request: u64, masks: &mut Masks) -> bool {
        if let Some((_, grants)) = self.rules.get(&(Arc::as_ptr(&d.inode) as usize)) {
            for &(layer, access) in grants {
                let hit = access & request;
                for (bit, m) in masks.iter_mut().enumerate() {
                    if hit & 1 << bit != 0 {
                        *m &= !(1u16 << layer);
                    }
                }
            }
        }
        all_clear(masks, request)
    }

    /// Walks from `d` to the real root applying rules; true when every
    /// requested right is granted by every layer handling it.
    fn walk_allows(&self, d: &Arc<Dentry>, request: u64, masks: &mut Masks) -> bool {
        let mut cur = d.clone();
        loop {
            if self.unmask(&cur, request, masks) {
                return true;
            }
            let up = cur.dotdot();
            if Arc::ptr_eq(&up, &cur) {
                return false;
            }
            cur = up;
        }
    }

    /// The rights of `request` that the domain allows on `d`.
    pub fn allowed(&self, d: &Arc<Dentry>, request: u64) -> u64 {
        let mut masks = [0; NUM_ACCESS];
        let effective = self.init_masks(request, &mut masks);
        if effective == 0 || self.walk_allows(d, effective, &mut masks) {
            return request;
        }
        (0..NUM_ACCESS)
            .filter(|&bit| request & 1 << bit != 0 && masks[bit] == 0)
            .fold(0, |acc, bit| acc | 1 << bit)
    }
}

fn all_clear(masks: &Masks, request: u64) -> bool {
    masks
        .iter()
        .enumerate()
        .all(|(bit, m)| request & 1 << bit == 0 || *m == 0)
}

/// The right to make a node of this type (`S_IFMT` bits of `mode`).
pub fn make_access(mode: u32) -> u64 {
    use abi::fs::*;
    match mode & S_IFMT {
        0 | S_IFREG => ACCESS_FS_MAKE_REG,
        S_IFDIR => ACCESS_FS_MAKE_DIR,
        S_IFLNK => ACCESS_FS_MAKE_SYM,
        S_IFCHR => ACCESS_FS_MAKE_CHAR,
        S_IFBLK => ACCESS_FS_MAKE_BLOCK,
        S_IFIFO => ACCESS_FS_MAKE_FIFO,
        S_IFSOCK => ACCESS_FS_MAKE_SOCK,
        _ => 0,
    }
}

fn remove_access(d: &Dentry) -> u64 {
    if d.inode.is_dir() {
        ACCESS_FS_REMOVE_DIR
    } else {
        ACCESS_FS_REMOVE_FILE
    }
}

/// Checks `request` on `d` for the caller: `EACCES` when its domain
/// denies any of it. Free without a domain.
#[inline]
pub fn check(creds: &Creds, d: &Arc<Dentry>, request: u64) -> SysResult<()> {
    match &creds.landlock {
        None => Ok(()),
        Some(dom) if dom.allowed(d, request) == request => Ok(()),
        Some(_) => Err(Errno::EACCES),
    }
}

/// An `open` of `d` (not `O_PATH`): `EACCES` unless the domain allows
/// what the open needs (`READ_DIR` for a directory, `READ_FILE` /
/// `WRITE_FILE` by access mode, `EXECUTE` for an exec); returns whether
/// the file may later be truncated through the descriptor.
pub fn check_open(creds: &Creds, d: &Arc<Dentry>, read: bool, write: bool) -> SysResult<bool> {
    let Some(dom) = &creds.landlock else {
        return Ok(true);
    };
    let need = if d.inode.is_dir() {
        if read {
            ACCESS_FS_READ_DIR
        } else {
            0
        }
    } else {
        (if read { ACCESS_FS_READ_FILE } else { 0 }) | if write { ACCESS_FS_WRITE_FILE } else { 0 }
    };
    let got = dom.allowed(d, need | ACCESS_FS_TRUNCATE);
    if got & need != need {
        return Err(Errno::EACCES);
    }
    Ok(got & ACCESS_FS_TRUNCATE != 0)
}

/// Linux's `current_check_refer_path`: a `link` (`removable` false) or
/// `rename` of `old` (in `old_dir`) to `new_dir`, replacing or (with
/// `exchange`) swapping with `new` when it exists. Moving to another
/// directory also needs `REFER` on both sides, and must not give the
/// moved file rights it did not have where it was: `EXDEV` when only that
/// fails (so `mv` falls back to copying), `EACCES` when a make or remove
/// right is missing.
pub fn check_refer(
    creds: &Creds,
    (old_dir, old): (&Arc<Dentry>, &Arc<Dentry>),
    (new_dir, new): (&Arc<Dentry>, Option<&Arc<Dentry>>),
    removable: bool,
    exchange: bool,
) -> SysResult<()> {
    let Some(dom) = &creds.landlock else {
        return Ok(());
    };
    let mut req1 = match (exchange, new) {
        (true, Some(n)) => make_access(n.inode.mode()),
        (true, None) => return Err(Errno::ENOENT),
        _ => 0,
    };
    let mut req2 = make_access(old.inode.mode());
    if removable {
        req1 |= remove_access(old);
        req2 |= new.map_or(0, |n| remove_access(n));
    }
    if Arc::ptr_eq(old_dir, new_dir) {
        // No reparenting: no REFER needed.
        return check(creds, new_dir, req1 | req2);
    }
    req1 |= ACCESS_FS_REFER;
    req2 |= ACCESS_FS_REFER;
    let mnt_root = mount_root(new_dir);
    let (mut m1, mut m2) = ([0; NUM_ACCESS], [0; NUM_ACCESS]);
    let a1 = collect(dom, &mnt_root, old_dir, &mut m1);
    let a2 = collect(dom, &mnt_root, new_dir, &mut m2);
    if a1 && a2 {
        return Ok(());
    }
    let child = |d: &Arc<Dentry>| {
        let mut m = [0; NUM_ACCESS];
        dom.init_masks(MASK_ACCESS_FS, &mut m);
        dom.unmask(d, MASK_ACCESS_FS, &mut m);
        (m, d.inode.is_dir())
    };
    let c1 = child(old);
    let c2 = if exchange { new.map(child) } else { None };
    if refer_walk(dom, &mnt_root, (req1, &mut m1, c1), (req2, &mut m2, c2)) {
        return Ok(());
    }
    let eacces = |m: &Masks, req: u64| {
        (0..NUM_ACCESS).any(|bit| req & !ACCESS_FS_REFER & 1 << bit != 0 && m[bit] != 0)
    };
    if eacces(&m1, req1) || eacces(&m2, req2) {
        Err(Errno::EACCES)
    } else {
        Err(Errno::EXDEV)
    }
}

/// The root of the filesystem `d` is in (a mount's root or the top).
fn mount_root(d: &Arc<Dentry>) -> Arc<Dentry> {
    let mut cur = d.clone();
    while !crate::mount::is_mount_root(&cur) {
        match cur.parent() {
            Some(p) => cur = p,
            None => break,
        }
    }
    cur
}

/// The layers denying each handled right from `dir` up to `mnt_root`;
/// true when nothing is denied.
fn collect(dom: &Domain, mnt_root: &Arc<Dentry>, dir: &Arc<Dentry>, masks: &mut Masks) -> bool {
    let all = dom.init_masks(MASK_ACCESS_FS, masks);
    let mut cur = dir.clone();
    loop {
        if dom.unmask(&cur, all, masks) {
            return true;
        }
        if Arc::ptr_eq(&cur, mnt_root) {
            return false;
        }
        match cur.parent() {
            Some(p) => cur = p,
            None => return false,
        }
    }
}

/// Whether the destination keeps at least the source's restrictions on
/// the moved file (and the reverse for an exchange): Linux's
/// `no_more_access`.
fn no_more_access(m1: &Masks, c1: &(Masks, bool), m2: &Masks, c2: Option<&(Masks, bool)>) -> bool {
    (0..NUM_ACCESS).all(|bit| {
        let file_right = ACCESS_FILE & 1 << bit != 0;
        let fwd = !(c1.1 || file_right) || ((m1[bit] & c1.0[bit]) | m2[bit]) == m2[bit];
        let back = c2
            .is_none_or(|c2| !(c2.1 || file_right) || ((m2[bit] & c2.0[bit]) | m1[bit]) == m1[bit]);
        fwd && back
    })
}

/// Clears the masks of rights not requested; true when nothing requested
/// stays denied.
fn scope_to(request: u64, masks: &mut Masks) -> bool {
    for (bit, m) in masks.iter_mut().enumerate() {
        if request & 1 << bit == 0 {
            *m = 0;
        }
    }
    masks.iter().all(|m| *m == 0)
}

type Side<'a> = (u64, &'a mut Masks, (Masks, bool));
type OtherSide<'a> = (u64, &'a mut Masks, Option<(Masks, bool)>);

/// The shared walk from the common mount root up for a reparenting:
/// first compares all handled rights (no privilege gain), then only the
/// requested ones.
fn refer_walk(dom: &Domain, start: &Arc<Dentry>, s1: Side, s2: OtherSide) -> bool {
    let (req1, m1, c1) = s1;
    let (req2, m2, c2) = s2;
    let all = MASK_ACCESS_FS;
    let (mut want1, mut want2) = (all, all);
    let mut dom_check = true;
    let (mut ok1, mut ok2) = (false, false);
    let mut cur = start.clone();
    loop {
        if dom_check && no_more_access(m1, &c1, m2, c2.as_ref()) {
            ok1 = scope_to(req1, m1);
            ok2 = scope_to(req2, m2);
            if ok1 && ok2 {
                return true;
            }
            dom_check = false;
            want1 = req1;
            want2 = req2;
        }
        ok1 = ok1 || dom.unmask(&cur, want1, m1);
        ok2 = ok2 || dom.unmask(&cur, want2, m2);
        if ok1 && ok2 {
            return true;
        }
        let up = cur.dotdot();
        if Arc::ptr_eq(&up, &cur) {
            return false;
        }
        cur = up;
    }
}

impl std::fmt::Debug for Domain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Domain({} layers)", self.handled.len())
    }
}
