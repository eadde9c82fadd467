//! Dentries: the named tree. A dentry links a name in a parent directory to
//! an inode; what is mounted where is the mount namespace's (`mount.rs`).

use std::sync::{Arc, Mutex};

use crate::inode::{lock, Inode};

pub struct Dentry {
    name: Mutex<Vec<u8>>,
    parent: Mutex<Option<Arc<Dentry>>>,
    pub inode: Arc<Inode>,
    /// Unlinked from its parent (still usable through open files).
    removed: Mutex<bool>,
}

impl Dentry {
    pub fn new(name: &[u8], parent: Option<Arc<Dentry>>, inode: Arc<Inode>) -> Arc<Dentry> {
        Arc::new(Dentry {
            name: Mutex::new(name.to_vec()),
            parent: Mutex::new(parent),
            inode,
            removed: Mutex::new(false),
        })
    }

    pub fn name(&self) -> Vec<u8> {
        lock(&self.name).clone()
    }

    pub fn parent(&self) -> Option<Arc<Dentry>> {
        lock(&self.parent).clone()
    }

    pub(crate) fn set_parent(&self, parent: Arc<Dentry>, name: &[u8]) {
        *lock(&self.parent) = Some(parent);
        *lock(&self.name) = name.to_vec();
    }

    pub fn is_removed(&self) -> bool {
        *lock(&self.removed)
    }

    pub(crate) fn set_removed(&self) {
        *lock(&self.removed) = true;
    }

    /// The parent as `..` sees it, crossing out of mounts.
    pub fn dotdot(self: &Arc<Dentry>) -> Arc<Dentry> {
        crate::mount::up(&mut None, self, None)
    }

    /// Absolute path from the tree's root (`/` for the root itself).
    pub fn path(self: &Arc<Dentry>) -> Vec<u8> {
        self.path_to(None).0
    }

    /// The path as a process whose root is `root` (after `chroot`) sees
    /// it, and whether `root` is above this dentry at all; when it is not,
    /// the path is the one from the tree's root, as Linux's `d_path`
    /// gives it.
    pub fn path_under(self: &Arc<Dentry>, root: &Arc<Dentry>) -> (Vec<u8>, bool) {
        self.path_to(Some(root))
    }

    fn path_to(self: &Arc<Dentry>, root: Option<&Arc<Dentry>>) -> (Vec<u8>, bool) {
        // The root may be a mounted filesystem's root or the dentry it is
        // mounted on: both count as reaching it.
        let is_root = |d: &Arc<Dentry>| root.is_some_and(|r| Arc::ptr_eq(d, r));
        let mut parts: Vec<Vec<u8>> = Vec::new();
        let mut d = self.clone();
        // The mount the walk is in: out of a mount's root it continues
        // at the dentry the mount is on, in the parent mount.
        let mut m = crate::mount::mount_of(self);
        let reached = loop {
            if is_root(&d) {
                break true;
            }
            if let Some(mm) = m.clone().filter(|mm| mm.is_root(&d)) {
                match (mm.parent(), mm.mountpoint()) {
                    (Some(p), Some(mp)) => {
                        d = mp;
                        m = Some(p);
                        continue;
                    }
                    // The namespace's root, or a detached mount's.
                    _ => break root.is_none(),
                }
            }
            match d.parent() {
                Some(p) => {
                    parts.push(d.name());
                    d = p;
                }
                // The top of the tree: reached only when it is the root.
                None => break root.is_none(),
            }
            if parts.len() > 4096 {
                break root.is_none();
            }
        };
        if !reached {
            // Unreachable from `root`: the whole path from the top.
            return (self.path_to(None).0, false);
        }
        let mut out = Vec::new();
        for p in parts.iter().rev() {
            out.push(b'/');
            out.extend_from_slice(p);
        }
        if out.is_empty() {
            out.push(b'/');
        }
        if self.is_removed() {
            out.extend_from_slice(b" (deleted)");
        }
        (out, true)
    }
}
