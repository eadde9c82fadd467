//! Dentries: the named tree. A dentry links a name in a parent directory to
//! an inode; a mount point carries the root of the filesystem mounted on it.

use std::sync::{Arc, Mutex};

use crate::inode::{lock, Inode};

pub struct Dentry {
    name: Mutex<Vec<u8>>,
    parent: Mutex<Option<Arc<Dentry>>>,
    pub inode: Arc<Inode>,
    /// Root of the filesystem mounted here.
    mounted: Mutex<Option<Arc<Dentry>>>,
    /// For a filesystem root: the dentry it is mounted on.
    mountpoint: Mutex<Option<Arc<Dentry>>>,
    /// Unlinked from its parent (still usable through open files).
    removed: Mutex<bool>,
}

impl Dentry {
    pub fn new(name: &[u8], parent: Option<Arc<Dentry>>, inode: Arc<Inode>) -> Arc<Dentry> {
        Arc::new(Dentry {
            name: Mutex::new(name.to_vec()),
            parent: Mutex::new(parent),
            inode,
            mounted: Mutex::new(None),
            mountpoint: Mutex::new(None),
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

    pub fn mounted(&self) -> Option<Arc<Dentry>> {
        lock(&self.mounted).clone()
    }

    pub fn mountpoint(&self) -> Option<Arc<Dentry>> {
        lock(&self.mountpoint).clone()
    }

    /// Mounts `root` on this dentry.
    pub fn mount(self: &Arc<Dentry>, root: Arc<Dentry>) {
        *lock(&root.mountpoint) = Some(self.clone());
        *lock(&self.mounted) = Some(root);
    }

    pub fn is_removed(&self) -> bool {
        *lock(&self.removed)
    }

    pub(crate) fn set_removed(&self) {
        *lock(&self.removed) = true;
    }

    /// The parent as `..` sees it, crossing out of a mounted filesystem.
    pub fn dotdot(self: &Arc<Dentry>) -> Arc<Dentry> {
        let mut d = self.clone();
        while let Some(mp) = d.mountpoint() {
            d = mp;
        }
        d.parent().unwrap_or(d)
    }

    /// Absolute path from the tree's root (`/` for the root itself).
    pub fn path(self: &Arc<Dentry>) -> Vec<u8> {
        let mut parts: Vec<Vec<u8>> = Vec::new();
        let mut d = self.clone();
        loop {
            while let Some(mp) = d.mountpoint() {
                d = mp;
            }
            match d.parent() {
                Some(p) => {
                    parts.push(d.name());
                    d = p;
                }
                None => break,
            }
            if parts.len() > 4096 {
                break;
            }
        }
        if parts.is_empty() {
            return b"/".to_vec();
        }
        let mut out = Vec::new();
        for p in parts.iter().rev() {
            out.push(b'/');
            out.extend_from_slice(p);
        }
        if self.is_removed() {
            out.extend_from_slice(b" (deleted)");
        }
        out
    }
}
