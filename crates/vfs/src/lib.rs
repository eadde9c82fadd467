//! The virtual filesystem: a tree of dentries over inodes, path resolution,
//! and the filesystems the sandbox sees.
//!
//! The root filesystem is an overlay made lazily: a directory mirrors a host
//! directory (read-only lower layer) until the sandbox looks into it, and
//! from then on its entries live in memory, so creating, removing and
//! renaming never touch the host. A host file's bytes stay on the host until
//! it is opened for writing, when they are copied into the memory file.
//! The host tree is assumed not to change while the sandbox runs.

pub mod dentry;
pub mod dev;
pub mod dnotify;
pub mod epoll;
pub mod eventfd;
pub mod fanotify;
pub mod fasync;
pub mod fiemap;
pub mod file;
pub mod handle;
pub mod host;
pub mod hostfd;
pub mod inode;
pub mod inotify;
pub mod landlock;
pub mod lock;
pub mod mount;
pub mod ops;
pub mod pipe;
pub mod reopen;
pub mod secretmem;
pub mod synth;
pub mod timerfd;
pub mod tty;
pub mod unix;
pub mod userfaultfd;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use abi::fs::*;
use abi::time::Timespec;
use abi::{Errno, SysResult};
use mm::{MemObject, MemoryFile};

pub use dentry::Dentry;
pub use file::{File, FileOps};
pub use inode::{Inode, Kind, Meta};

use host::HostRoot;
use inode::{lock, next_ino, Child, FileData, DEV_PIPE, DEV_ROOT};

/// Who is asking, for permission checks: the file-system IDs and the
/// two capabilities that bypass permission bits.
#[derive(Clone, Debug)]
pub struct Creds {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups, shared so that taking credentials for a
    /// lookup does not allocate.
    pub groups: Arc<[u32]>,
    /// `CAP_DAC_OVERRIDE`: read, write and search anything; execute what
    /// anyone may execute.
    pub dac_override: bool,
    /// `CAP_DAC_READ_SEARCH`: read any file, read and search any directory.
    pub dac_read_search: bool,
    /// `CAP_FOWNER`: act as the owner of any file (sticky directories).
    pub fowner: bool,
    /// The task's Landlock domain, if it enforced one.
    pub landlock: Option<Arc<landlock::Domain>>,
}

impl Creds {
    /// Root with both capabilities: the sentry opening files on its own
    /// behalf.
    pub fn root() -> Creds {
        Creds {
            uid: 0,
            gid: 0,
            groups: Arc::from([]),
            dac_override: true,
            dac_read_search: true,
            fowner: true,
            landlock: None,
        }
    }
}

const MAX_SYMLINKS: u32 = 40;

/// `openat2`'s `RESOLVE_*` flags.
pub const RESOLVE_NO_XDEV: u64 = 0x01;
pub const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
pub const RESOLVE_NO_SYMLINKS: u64 = 0x04;
pub const RESOLVE_BENEATH: u64 = 0x08;
pub const RESOLVE_IN_ROOT: u64 = 0x10;
pub const RESOLVE_CACHED: u64 = 0x20;

/// Restrictions on a path walk (`openat2`): `flags` are `RESOLVE_*`,
/// `dir` the directory the walk started in (what `RESOLVE_BENEATH` keeps
/// it under and `RESOLVE_IN_ROOT` makes its root).
pub struct Scope {
    pub flags: u64,
    pub dir: Arc<Dentry>,
}

/// What a walk carries through the symlinks it follows.
struct WalkState<'a> {
    links: u32,
    scope: Option<&'a Scope>,
}

/// Host descriptors kept open for reuse (one per host file opened), and the
/// most the sandbox keeps: opening a host file costs a round trip to the
/// gofer.
static CACHED_HOST_FDS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
const MAX_CACHED_HOST_FDS: usize = 16384;

/// Entries of directories below one being listed that the gofer sends
/// along in a tree walk: a walk then asks once per this many entries
/// instead of once per directory (`find /usr` here: ~15,000 directories,
/// each exchange ~30 us), for at most this many extra lookups' worth of
/// work when nothing walks further.
const PREFETCH_ENTRIES: u32 = 16384;

/// Listing a directory for `getdents`: the gofer `lstat`s the entries of
/// one this small, and sends only names, types and inode numbers of the
/// files of a larger one (`ls -f` and `find` need no more); subdirectories
/// always come whole. A file named only is loaded when looked up.
const LIST_STAT_LIMIT: u32 = 32;

/// Names of a directory not listed yet looked up one round trip each
/// before the whole directory is asked for in one exchange (`git status`
/// `lstat`s every file of each directory, a Python import tries several
/// names per directory of its path).
const LOOKUPS_BEFORE_LISTING: u32 = 8;

/// The same listing's stat limit: a directory larger than this comes as
/// names, whose files are then loaded one by one as looked up.
const LOOKUP_STAT_LIMIT: u32 = 256;

/// Files named only that are loaded one round trip each before the rest
/// of the directory's attributes are asked for in one exchange: this
/// many, plus one per this many entries of the directory (a full listing
/// costs the gofer one `lstat` per entry, so it pays off only once a
/// fair share of them is looked up).
const LAZY_LOADS_BEFORE_STAT: u32 = 4;
const LAZY_LOADS_PER_ENTRIES: usize = 32;

/// A host directory the VFS mirrors through a gofer connection: the
/// root's lower layer, or a volume. Its inodes carry its device number,
/// which is how a host-backed inode finds the connection its host path
/// is relative to: inodes of two layers never mix.
pub(crate) struct HostLayer {
    pub dev: u64,
    pub gofer: HostRoot,
    /// Changes to its files and directories go through to the host
    /// (`--overlay=none`, a read-write volume) instead of staying in
    /// memory.
    pub write_through: bool,
    /// What the sandbox knows of it is checked against the host on each
    /// lookup and listing (`--file-access=shared`, for a layer whose
    /// host directory is the truth: a volume, or the root with
    /// `--overlay=none`).
    pub revalidate: bool,
    /// Inodes of host files with more than one name, by host device and
    /// inode number, while any dentry or open file holds them: a second
    /// name of the same host file gets the same inode (attributes, page
    /// cache, link count), as on Linux. Only for layers writing through;
    /// the default overlay's lower layer breaks hard links at copy-up, as
    /// Linux's overlayfs does without `index=on`.
    links: Mutex<HashMap<(u64, u64), Weak<Inode>>>,
}

/// The extended attributes of a host file, read and changed through its
/// layer's gofer ([`Vfs::host_xattrs`]).
pub struct HostXattrs<'a> {
    gofer: &'a HostRoot,
    rel: String,
}

impl HostXattrs<'_> {
    pub fn get(&self, name: &[u8]) -> SysResult<Vec<u8>> {
        self.gofer.getxattr(&self.rel, name)
    }

    /// `flags`: `XATTR_CREATE`, `XATTR_REPLACE`.
    pub fn set(&self, name: &[u8], value: &[u8], flags: u32) -> SysResult<()> {
        self.gofer.setxattr(&self.rel, name, value, flags)
    }

    /// The names, each NUL-terminated.
    pub fn list(&self) -> SysResult<Vec<u8>> {
        self.gofer.listxattr(&self.rel)
    }

    pub fn remove(&self, name: &[u8]) -> SysResult<()> {
        self.gofer.removexattr(&self.rel, name)
    }
}

/// Who changes host files while the sandbox runs (`--file-access`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileAccess {
    /// Only the sandbox: what it learnt of a host file stays true, so a
    /// second lookup, stat or open asks the gofer nothing.
    Exclusive,
    /// The host too: every lookup of a host entry asks the gofer (one
    /// `lstat`), and a directory is listed again when read, so a file
    /// changed, made or removed on the host is seen by the next walk.
    Shared,
}

pub struct Vfs {
    pub root: Arc<Dentry>,
    /// The sandbox's first mount namespace (its root mount is `root`'s).
    pub init_mnt: Arc<mount::MountNs>,
    /// The root's lower layer (if it has one) first, then the volumes:
    /// a handful, searched by device number.
    pub(crate) hosts: Vec<HostLayer>,
    /// Host layers added while the sandbox runs ([`Vfs::add_host`]: the
    /// roots and volumes of a pod's later containers), filled in order
    /// and never emptied, so a lookup by device number takes no lock.
    added: [std::sync::OnceLock<HostLayer>; MAX_ADDED_LAYERS],
    added_count: Mutex<usize>,
    /// Some host layer is revalidated (`--file-access=shared`): lookups
    /// ask; otherwise what was learnt once is kept, with no round trip.
    shared: bool,
    pub mf: Arc<MemoryFile>,
    /// `/dev/pts`: the sandbox's terminals.
    pub devpts: Arc<tty::devpts::Devpts>,
    /// Serialises tree-shape changes that involve two directories.
    rename_lock: Mutex<()>,
}

/// The most host layers [`Vfs::add_host`] adds in a sandbox's life.
pub const MAX_ADDED_LAYERS: usize = 64;

/// A mount namespace and the root its paths start from: where mounts are
/// made (the sandbox's first, or a pod container's).
#[derive(Clone)]
pub struct Tree {
    pub ns: Arc<mount::MountNs>,
    pub root: Arc<Dentry>,
}

/// Whether an open with these flags reads and whether it writes.
fn read_write(flags: u32) -> (bool, bool) {
    let acc = flags & O_ACCMODE;
    (
        acc == O_RDONLY || acc == O_RDWR,
        acc == O_WRONLY || acc == O_RDWR,
    )
}

fn is_dot(name: &[u8]) -> bool {
    name == b"." || name == b".."
}

fn join(dir: &str, name: &[u8]) -> String {
    let n = String::from_utf8_lossy(name);
    if dir.is_empty() {
        n.into_owned()
    } else {
        format!("{dir}/{n}")
    }
}

impl Vfs {
    /// A VFS whose root mirrors `host_dir` (or is empty when `None`), with
    /// `/dev` mounted. Other mounts (`/proc`, `/sys`) are added by the kernel.
    pub fn new(host_dir: Option<&str>, mf: Arc<MemoryFile>) -> SysResult<Arc<Vfs>> {
        let host = match host_dir {
            Some(d) => Some(HostRoot::open(d)?),
            None => None,
        };
        Vfs::with_host_root(host, mf)
    }

    /// [`Vfs::new`] over a host root opened beforehand
    /// ([`HostRoot::open`]).
    pub fn with_host_root(host: Option<HostRoot>, mf: Arc<MemoryFile>) -> SysResult<Arc<Vfs>> {
        Vfs::with_hosts(host, Vec::new(), FileAccess::Exclusive, mf)
    }

    /// [`Vfs::with_host_root`], with host directories to mount later
    /// ([`Vfs::mount_volume`], by their index in `volumes`), each served
    /// by its own gofer connection, and whether the host may change them
    /// meanwhile (`access`).
    pub fn with_hosts(
        host: Option<HostRoot>,
        volumes: Vec<HostRoot>,
        access: FileAccess,
        mf: Arc<MemoryFile>,
    ) -> SysResult<Arc<Vfs>> {
        let root_inode = match &host {
            Some(h) => Self::host_root_inode(h, DEV_ROOT)?,
            None => Inode::new_dir(DEV_ROOT, 0o755, None),
        };
        let hosts: Vec<HostLayer> = host
            .map(|h| (DEV_ROOT, h))
            .into_iter()
            .chain(volumes.into_iter().map(|v| (inode::next_dev(), v)))
            .map(|(dev, gofer)| HostLayer {
                dev,
                write_through: gofer.writable(),
                // The default overlay's lower layer is not: what the
                // sandbox removed there is recorded as absent, as what
                // the host lacks, and the host must not bring it back.
                revalidate: access == FileAccess::Shared && (gofer.writable() || dev != DEV_ROOT),
                gofer,
                links: Mutex::new(HashMap::new()),
            })
            .collect();
        let shared = hosts.iter().any(|l| l.revalidate);
        let root = Dentry::new(b"/", None, root_inode);
        let devpts = tty::devpts::Devpts::new();
        let root_mount = mount::Mount::new(
            mount::Super::new("overlay", "overlay", DEV_ROOT, "", false),
            root.clone(),
            mount::MS_RELATIME,
        );
        let init_mnt = mount::MountNs::new(root_mount);
        mount::set_fallback(&init_mnt);
        mount::set_current(init_mnt.clone());
        let vfs = Arc::new(Vfs {
            root,
            init_mnt,
            hosts,
            added: std::array::from_fn(|_| std::sync::OnceLock::new()),
            added_count: Mutex::new(0),
            shared,
            mf,
            devpts: devpts.clone(),
            rename_lock: Mutex::new(()),
        });
        vfs.mount_devfs(&vfs.init_tree())?;
        Ok(vfs)
    }

    /// The sandbox's first mount namespace and root.
    pub fn init_tree(&self) -> Tree {
        Tree {
            ns: self.init_mnt.clone(),
            root: self.root.clone(),
        }
    }

    /// Mounts `fsroot` (of filesystem `sb`, with `MS_*` per-mount `flags`)
    /// at `path` in the first namespace, creating the directory (in
    /// memory) if the host has none.
    pub fn mount_at(
        &self,
        path: &[u8],
        fsroot: Arc<Dentry>,
        sb: Arc<mount::Super>,
        flags: u64,
    ) -> SysResult<()> {
        self.mount_at_in(&self.init_tree(), path, fsroot, sb, flags)
    }

    /// [`Vfs::mount_at`] in tree `t`.
    pub fn mount_at_in(
        &self,
        t: &Tree,
        path: &[u8],
        fsroot: Arc<Dentry>,
        sb: Arc<mount::Super>,
        flags: u64,
    ) -> SysResult<()> {
        mount::with_current(&t.ns, || {
            let d = self.mount_point(&t.root, path, fsroot.inode.is_dir())?;
            let parent = t.ns.mount_of(&d).unwrap_or_else(|| t.ns.root());
            t.ns.attach(&mount::Mount::new(sb, fsroot, flags), &parent, &d);
            Ok(())
        })
    }

    /// The mount point at `path` for a directory (`dir`) or a file, made
    /// in memory where the root lacks it (with the directories above it,
    /// as a container runtime makes them); `ENOTDIR` when what is there
    /// is of the other kind, as `mount(2)` refuses a directory on a file
    /// and a file on a directory.
    fn mount_point(&self, root: &Arc<Dentry>, path: &[u8], dir: bool) -> SysResult<Arc<Dentry>> {
        let d = match self.resolve(root, root, path, true, &Creds::root()) {
            Ok(d) => d,
            Err(Errno::ENOENT) => {
                let (parent, name, _) = match self.resolve_parent(root, root, path, &Creds::root())
                {
                    Ok(p) => p,
                    Err(Errno::ENOENT) => {
                        let up = match path.iter().rposition(|&c| c == b'/') {
                            Some(0) | None => return Err(Errno::ENOENT),
                            Some(i) => &path[..i],
                        };
                        self.mount_point(root, up, true)?;
                        self.resolve_parent(root, root, path, &Creds::root())?
                    }
                    Err(e) => return Err(e),
                };
                let inode = if dir {
                    Inode::new_dir(DEV_ROOT, 0o755, None)
                } else {
                    self.new_file_inode(0o644, &Creds::root())
                };
                self.create_child(&parent, &name, inode)?
            }
            Err(e) => return Err(e),
        };
        if d.inode.is_dir() != dir {
            return Err(Errno::ENOTDIR);
        }
        Ok(d)
    }

    /// Adds a host layer served by `gofer` while the sandbox runs (a pod
    /// container's root or volume): its changes stay in memory unless
    /// the gofer serves writes. Returns its device number and top
    /// directory. `ENOSPC` past [`MAX_ADDED_LAYERS`].
    pub fn add_host(&self, gofer: HostRoot) -> SysResult<(u64, Arc<Dentry>)> {
        let mut n = lock(&self.added_count);
        let slot = self.added.get(*n).ok_or(Errno::ENOSPC)?;
        let dev = inode::next_dev();
        let top = Self::host_root_inode(&gofer, dev)?;
        let layer = HostLayer {
            dev,
            write_through: gofer.writable(),
            // Its host directory is the container's alone.
            revalidate: false,
            gofer,
            links: Mutex::new(HashMap::new()),
        };
        if slot.set(layer).is_err() {
            return Err(Errno::EIO);
        }
        *n += 1;
        Ok((dev, Dentry::new(b"/", None, top)))
    }

    /// A new mount namespace whose root is `root` (an overlay over the
    /// host layer of device `dev`, from [`Vfs::add_host`]), with its own
    /// `/dev` (the sandbox's terminals in `/dev/pts`).
    pub fn new_tree(&self, root: Arc<Dentry>, dev: u64, ino: u64) -> SysResult<Tree> {
        let root_mount = mount::Mount::new(
            mount::Super::new("overlay", "overlay", dev, "", false),
            root.clone(),
            mount::MS_RELATIME,
        );
        let t = Tree {
            ns: mount::MountNs::new_numbered(root_mount, ino),
            root,
        };
        self.mount_devfs(&t)?;
        Ok(t)
    }

    fn mount_devfs(&self, t: &Tree) -> SysResult<()> {
        self.mount_at_in(
            t,
            b"/dev",
            dev::build_devfs(&self.devpts),
            mount::Super::new("tmpfs", "devtmpfs", inode::DEV_DEVFS, "mode=755", false),
            mount::MS_NOSUID,
        )
    }

    /// The top directory of a host layer served by `gofer`.
    fn host_root_inode(gofer: &HostRoot, dev: u64) -> SysResult<Arc<Inode>> {
        let (st, _) = gofer.lstat("")?;
        if st.st_mode & S_IFMT != S_IFDIR {
            return Err(Errno::ENOTDIR);
        }
        let ino = Inode::new_dir(dev, st.st_mode & 0o7777, Some(String::new()));
        ino.update_meta(|m| {
            m.uid = st.st_uid;
            m.gid = st.st_gid;
        });
        Ok(ino)
    }

    /// Mounts volume `index` (of those given to [`Vfs::with_hosts`]) at
    /// `path` in the first namespace, as a bind mount of its host
    /// directory (`nosuid,nodev`, and read-only with `readonly`: writes
    /// there fail with `EROFS`, and a volume served read-only has no
    /// way to the host anyway). The mount point is made in memory if the
    /// root lacks it.
    ///
    /// `file`: the volume is a single host file, the one entry of that
    /// name in the directory its gofer serves; that file (not the
    /// directory, which nothing in the sandbox can name) is mounted on
    /// a file at `path`.
    pub fn mount_volume(
        &self,
        index: usize,
        file: Option<&[u8]>,
        path: &[u8],
        readonly: bool,
    ) -> SysResult<()> {
        let dev = *self.volume_devs().get(index).ok_or(Errno::EINVAL)?;
        self.mount_host_in(&self.init_tree(), dev, file, path, readonly)
    }

    /// The device numbers of the volumes given to [`Vfs::with_hosts`],
    /// in their order.
    pub fn volume_devs(&self) -> Vec<u64> {
        self.hosts
            .iter()
            .filter(|l| l.dev != DEV_ROOT)
            .map(|l| l.dev)
            .collect()
    }

    /// [`Vfs::mount_volume`] of the host layer of device `dev` in tree
    /// `t`.
    pub fn mount_host_in(
        &self,
        t: &Tree,
        dev: u64,
        file: Option<&[u8]>,
        path: &[u8],
        readonly: bool,
    ) -> SysResult<()> {
        let layer = self
            .layer(dev)
            .filter(|l| l.dev != DEV_ROOT)
            .ok_or(Errno::EINVAL)?;
        let mut root = Dentry::new(b"/", None, Self::host_root_inode(&layer.gofer, layer.dev)?);
        if let Some(name) = file {
            root = self.lookup_child(&root, name)?;
            if root.inode.is_dir() {
                return Err(Errno::EISDIR);
            }
        }
        let mut flags = mount::MS_NOSUID | mount::MS_NODEV | mount::MS_RELATIME;
        if readonly {
            flags |= mount::MS_RDONLY;
        }
        // Shown as gVisor shows its gofer mounts.
        let sb = mount::Super::new("9p", "none", layer.dev, "", readonly);
        self.mount_at_in(t, path, root, sb, flags)
    }

    /// The host's `statfs` of the volume `d` is on (`None` for other
    /// filesystems): a bind mount shows the host filesystem's type and
    /// room, as on Linux.
    pub fn volume_statfs(&self, d: &Arc<Dentry>) -> Option<SysResult<StatFs>> {
        let layer = self.layer(d.inode.dev).filter(|l| l.dev != DEV_ROOT)?;
        Some(layer.gofer.statfs().map(|h| StatFs {
            type_: h.fs_type as i64,
            bsize: h.bsize as i64,
            blocks: h.blocks,
            bfree: h.bfree,
            bavail: h.bavail,
            files: h.files,
            ffree: h.ffree,
            fsid: [0, 0],
            namelen: h.namelen as i64,
            frsize: h.frsize as i64,
            flags: h.flags as i64,
            spare: [0; 4],
        }))
    }

    /// The host layer whose inodes carry device number `dev`.
    fn layer(&self, dev: u64) -> Option<&HostLayer> {
        self.hosts.iter().find(|l| l.dev == dev).or_else(|| {
            self.added
                .iter()
                .map_while(std::sync::OnceLock::get)
                .find(|l| l.dev == dev)
        })
    }

    /// The gofer serving the host layer of device `dev`.
    fn gofer(&self, dev: u64) -> SysResult<&HostRoot> {
        self.layer(dev).map(|l| &l.gofer).ok_or(Errno::EIO)
    }

    /// Whether changes to host-backed inodes of device `dev` go through
    /// to the host.
    pub(crate) fn writes_through(&self, dev: u64) -> bool {
        self.layer(dev).is_some_and(|l| l.write_through)
    }

    /// Binds what is at `path` (with the mounts below it) over itself,
    /// read-only, in the first mount namespace: a container's
    /// `readonlyPaths`. `ENOENT` if there is nothing there.
    pub fn bind_readonly(&self, path: &[u8]) -> SysResult<()> {
        self.bind_readonly_in(&self.init_tree(), path)
    }

    /// [`Vfs::bind_readonly`] in tree `t`.
    pub fn bind_readonly_in(&self, t: &Tree, path: &[u8]) -> SysResult<()> {
        mount::with_current(&t.ns, || self.bind_readonly_here(t, path))
    }

    fn bind_readonly_here(&self, t: &Tree, path: &[u8]) -> SysResult<()> {
        let d = self.resolve(&t.root, &t.root, path, true, &Creds::root())?;
        let ns = &t.ns;
        let from = ns.mount_of(&d).unwrap_or_else(|| ns.root());
        let tree = ns.bind_tree(&from, &d, true)?;
        ns.attach_tree(&tree, &from, &d);
        for m in &tree {
            m.set_flags(m.flags() | mount::MS_RDONLY);
        }
        Ok(())
    }

    /// With writes going through to the host: the host path of
    /// directory `dir`, if it mirrors one (a new entry in it is made on
    /// the host).
    fn host_dir(&self, dir: &Arc<Dentry>) -> Option<String> {
        if !self.writes_through(dir.inode.dev) {
            return None;
        }
        Self::mirrored_dir(dir)
    }

    /// The host path of directory `dir`, if it mirrors one.
    fn mirrored_dir(dir: &Arc<Dentry>) -> Option<String> {
        if dir.is_removed() {
            return None;
        }
        match &dir.inode.kind {
            Kind::Dir(s) => lock(s).host.clone(),
            _ => None,
        }
    }

    /// The host path of `d`, if it is the host's (a directory mirroring
    /// one, or an entry of one that the sandbox did not make in memory
    /// or copy up).
    fn mirrored(d: &Arc<Dentry>) -> Option<String> {
        if d.is_removed() {
            return None;
        }
        match &d.inode.kind {
            Kind::Dir(s) => lock(s).host.clone(),
            Kind::File(data) => match &*lock(data) {
                FileData::Host { .. } => {
                    Self::mirrored_dir(&d.parent()?).map(|p| join(&p, &d.name()))
                }
                FileData::Mem(_) => None,
            },
            Kind::Symlink(_) | Kind::Fifo(_) | Kind::Socket if d.inode.ino < 1 << 40 => {
                Self::mirrored_dir(&d.parent()?).map(|p| join(&p, &d.name()))
            }
            _ => None,
        }
    }

    /// The host's extended attributes of `d`, when they are its own:
    /// `d` is the host's, on a volume or with writes going through
    /// (the read-only lower layer of `--overlay=memory` keeps them in
    /// the sandbox, as everything it changes).
    pub fn host_xattrs(&self, d: &Arc<Dentry>) -> Option<HostXattrs<'_>> {
        let layer = self
            .layer(d.inode.dev)
            .filter(|l| l.write_through || l.dev != DEV_ROOT)?;
        Some(HostXattrs {
            gofer: &layer.gofer,
            rel: Self::mirrored(d)?,
        })
    }

    /// With writes going through to the host: the host path of `d`, if
    /// it is the host's (a directory mirroring one, or an entry of one
    /// that the sandbox did not make in memory).
    pub fn host_path(&self, d: &Arc<Dentry>) -> Option<String> {
        if !self.writes_through(d.inode.dev) {
            return None;
        }
        Self::mirrored(d)
    }

    /// The gofer of device `dev`'s host layer, when writes go through
    /// to it.
    fn writer(&self, dev: u64) -> SysResult<&HostRoot> {
        self.layer(dev)
            .filter(|l| l.write_through)
            .map(|l| &l.gofer)
            .ok_or(Errno::EIO)
    }

    /// An inode for a node just made on the host at `rel` in `dir`.
    fn made_on_host(
        &self,
        dir: &Arc<Dentry>,
        rel: String,
        st: &libc::stat,
        target: Option<Vec<u8>>,
    ) -> SysResult<Arc<Inode>> {
        let ino = self.host_inode(dir.inode.dev, rel, st, target)?;
        if let Kind::Dir(s) = &ino.kind {
            // New and empty: nothing to ask the host.
            lock(s).complete = true;
        }
        Ok(ino)
    }

    /// `chmod` of `d` on the host, when it is the host's and writes go
    /// through (the caller then changes the inode as for any file).
    pub fn host_chmod(&self, d: &Arc<Dentry>, mode: u32) -> SysResult<()> {
        self.host_setattr(
            d,
            &gofer::proto::SetAttr {
                mask: gofer::proto::SET_MODE,
                mode,
                ..Default::default()
            },
        )
    }

    /// `chown` on the host (`u32::MAX`: unchanged); see [`Vfs::host_chmod`].
    pub fn host_chown(&self, d: &Arc<Dentry>, uid: u32, gid: u32) -> SysResult<()> {
        let mut mask = 0;
        if uid != u32::MAX {
            mask |= gofer::proto::SET_UID;
        }
        if gid != u32::MAX {
            mask |= gofer::proto::SET_GID;
        }
        self.host_setattr(
            d,
            &gofer::proto::SetAttr {
                mask,
                uid,
                gid,
                ..Default::default()
            },
        )
    }

    /// Access and modification times on the host; see [`Vfs::host_chmod`].
    pub fn host_utimes(
        &self,
        d: &Arc<Dentry>,
        atime: Option<Timespec>,
        mtime: Option<Timespec>,
    ) -> SysResult<()> {
        let mut a = gofer::proto::SetAttr::default();
        if let Some(t) = atime {
            a.mask |= gofer::proto::SET_ATIME;
            a.atime = (t.sec, t.nsec);
        }
        if let Some(t) = mtime {
            a.mask |= gofer::proto::SET_MTIME;
            a.mtime = (t.sec, t.nsec);
        }
        self.host_setattr(d, &a)
    }

    fn host_setattr(&self, d: &Arc<Dentry>, a: &gofer::proto::SetAttr) -> SysResult<()> {
        if a.mask == 0 {
            return Ok(());
        }
        match self.host_path(d) {
            Some(rel) => self.writer(d.inode.dev)?.setattr(&rel, a),
            None => Ok(()),
        }
    }

    /// `fsync` of `d` on the host, when it is the host's and writes go
    /// through.
    pub fn host_fsync(&self, d: &Arc<Dentry>, data_only: bool) -> SysResult<()> {
        match self.host_path(d) {
            Some(rel) => self.writer(d.inode.dev)?.fsync(&rel, data_only),
            None => Ok(()),
        }
    }

    /// After a rename on the host: `d` and what was loaded below it now
    /// mirror `rel`.
    fn rehome(d: &Arc<Dentry>, rel: String) {
        match &d.inode.kind {
            Kind::Dir(s) => {
                let children: Vec<(Vec<u8>, Arc<Dentry>)> = {
                    let mut st = lock(s);
                    if st.host.is_none() {
                        return;
                    }
                    st.host = Some(rel.clone());
                    st.children
                        .iter()
                        .filter_map(|(n, c)| match c {
                            Child::Present(c) => Some((n.clone(), c.clone())),
                            // Its path is made from the directory's when
                            // it is loaded.
                            Child::Absent | Child::Lazy { .. } => None,
                        })
                        .collect()
                };
                for (n, c) in children {
                    Self::rehome(&c, join(&rel, &n));
                }
            }
            Kind::File(data) => {
                if let FileData::Host { path, .. } = &mut *lock(data) {
                    *path = rel;
                }
            }
            _ => {}
        }
    }

    /// An inode for file `rel` of the host layer of device `dev`; a
    /// symlink's target is `target` when the gofer sent it along, else
    /// asked for.
    fn host_inode(
        &self,
        dev: u64,
        rel: String,
        st: &libc::stat,
        target: Option<Vec<u8>>,
    ) -> SysResult<Arc<Inode>> {
        self.host_inode_numbered(dev, rel, st, target, st.st_ino)
    }

    /// [`Vfs::host_inode`] with inode number `ino` (a listing's `d_ino`
    /// for an entry it named first: the same but at a host mount point).
    fn host_inode_numbered(
        &self,
        dev: u64,
        rel: String,
        st: &libc::stat,
        target: Option<Vec<u8>>,
        ino: u64,
    ) -> SysResult<Arc<Inode>> {
        // One inode per host file: a hard link already known is that
        // inode (one hash lookup, only for files with several names).
        let linked = st.st_nlink > 1 && st.st_mode & S_IFMT == S_IFREG;
        let layer = self.layer(dev).filter(|l| linked && l.write_through);
        if let Some(l) = layer {
            if let Some(known) = lock(&l.links)
                .get(&(st.st_dev, st.st_ino))
                .and_then(Weak::upgrade)
            {
                if l.revalidate {
                    refresh(&known, st);
                }
                return Ok(known);
            }
        }
        let meta = Meta {
            mode: st.st_mode,
            uid: st.st_uid,
            gid: st.st_gid,
            nlink: st.st_nlink,
            rdev: st.st_rdev,
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
        };
        let kind = match st.st_mode & S_IFMT {
            S_IFDIR => Kind::Dir(Mutex::new(inode::DirState {
                host: Some(rel),
                children: Default::default(),
                complete: false,
                lookups: 0,
            })),
            S_IFREG => Kind::File(Mutex::new(FileData::Host {
                fd: None,
                rw: false,
                path: rel,
                size: st.st_size as u64,
                cache: None,
            })),
            S_IFLNK => match target {
                Some(t) => Kind::Symlink(t),
                None => Kind::Symlink(self.gofer(dev)?.readlink(&rel)?),
            },
            S_IFIFO => Kind::Fifo(pipe::Pipe::new()),
            _ => Kind::Socket,
        };
        let inode = Inode::new(ino, dev, meta, kind);
        if let Some(l) = layer {
            Self::remember_link(l, (st.st_dev, st.st_ino), &inode);
        }
        Ok(inode)
    }

    /// Records `inode` as host file `key`'s (see `HostLayer::links`),
    /// dropping entries whose inode is gone when the table has doubled
    /// since it was last swept.
    fn remember_link(l: &HostLayer, key: (u64, u64), inode: &Arc<Inode>) {
        let mut links = lock(&l.links);
        if links.len() >= 64 && links.len().is_power_of_two() {
            links.retain(|_, w| w.strong_count() > 0);
        }
        links.insert(key, Arc::downgrade(inode));
    }

    /// Before a name of host file `d` goes (unlink, or replaced by a
    /// rename) while others stay: the inode keeps a descriptor of its
    /// own, so its data is still reached once the name it was found by
    /// is gone.
    fn keep_host_fd(&self, d: &Arc<Dentry>) {
        // Not writable by the gofer: a read-only one will do.
        if d.inode.meta().nlink > 1
            && self.writes_through(d.inode.dev)
            && self.open_host_rw(&d.inode, false).is_err()
        {
            let _ = self.keep_host_fd_ro(&d.inode);
        }
    }

    fn keep_host_fd_ro(&self, inode: &Inode) -> SysResult<()> {
        let Kind::File(data) = &inode.kind else {
            return Ok(());
        };
        let mut data = lock(data);
        if let FileData::Host {
            path,
            fd: fd @ None,
            ..
        } = &mut *data
        {
            let opened = self.gofer(inode.dev)?.open_file(path, false)?;
            CACHED_HOST_FDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            *fd = Some(Arc::new(opened));
        }
        Ok(())
    }

    /// The child `name` of directory `dir` (mounts not crossed).
    pub fn lookup_child(&self, dir: &Arc<Dentry>, name: &[u8]) -> SysResult<Arc<Dentry>> {
        match &dir.inode.kind {
            Kind::Dir(s) => {
                if self.shared {
                    if let Some(r) = self.revalidate_child(dir, s, name) {
                        return r;
                    }
                }
                let mut st = lock(s);
                match st.children.get(name) {
                    Some(Child::Present(d)) => return Ok(d.clone()),
                    Some(Child::Absent) => return Err(Errno::ENOENT),
                    Some(&Child::Lazy { ino, .. }) => {
                        return self.load_lazy(dir, &mut st, name, ino)
                    }
                    None => {}
                }
                let (host_dir, host) = match (&st.host, st.complete, self.layer(dir.inode.dev)) {
                    (Some(h), false, Some(l)) => (h.clone(), &l.gofer),
                    _ => return Err(Errno::ENOENT),
                };
                st.lookups += 1;
                if st.lookups > LOOKUPS_BEFORE_LISTING {
                    // Many names of this directory wanted: all of it in
                    // one exchange, then the answer from memory.
                    st.lookups = 0;
                    drop(st);
                    self.populate_with(dir, LOOKUP_STAT_LIMIT, false)?;
                    st = lock(s);
                    match st.children.get(name) {
                        Some(Child::Present(d)) => return Ok(d.clone()),
                        Some(&Child::Lazy { ino, .. }) => {
                            return self.load_lazy(dir, &mut st, name, ino)
                        }
                        _ if st.complete => return Err(Errno::ENOENT),
                        // Not listed after all (renamed meanwhile): ask
                        // for the name alone.
                        _ => {}
                    }
                }
                self.lookup_host_name(dir, &mut st, host, &host_dir, name, None)
            }
            Kind::SynthDir(sd) => {
                let ino = sd.lookup(name)?;
                Ok(Dentry::new(name, Some(dir.clone()), ino))
            }
            _ => Err(Errno::ENOTDIR),
        }
    }

    /// Makes the inode of `name`, a file of `dir` a listing named without
    /// its attributes (inode number `ino`). After enough of those, the
    /// attributes of every such file of the directory come in one
    /// exchange.
    fn load_lazy(
        &self,
        dir: &Arc<Dentry>,
        st: &mut inode::DirState,
        name: &[u8],
        ino: u64,
    ) -> SysResult<Arc<Dentry>> {
        let dev = dir.inode.dev;
        let (Some(host_dir), Some(l)) = (st.host.clone(), self.layer(dev)) else {
            return Err(Errno::ENOENT);
        };
        st.lookups += 1;
        let threshold =
            LAZY_LOADS_BEFORE_STAT as usize + st.children.len() / LAZY_LOADS_PER_ENTRIES;
        if st.lookups as usize > threshold {
            st.lookups = 0;
            let mut listings = l.gofer.list(&host_dir, &[], 0, gofer::proto::STAT_ALL)?;
            if let Some((_, entries)) = listings.first_mut().filter(|(sub, _)| sub.is_empty()) {
                for e in std::mem::take(entries) {
                    let Some(&Child::Lazy { ino, .. }) = st.children.get(&e.name) else {
                        continue;
                    };
                    let hst = e.attr.to_stat();
                    let rel = join(&host_dir, &e.name);
                    let inode = self.host_inode_numbered(dev, rel, &hst, e.target, ino)?;
                    let d = Dentry::new(&e.name, Some(dir.clone()), inode);
                    st.children.insert(e.name, Child::Present(d));
                }
            }
            if let Some(Child::Present(d)) = st.children.get(name) {
                return Ok(d.clone());
            }
        }
        self.lookup_host_name(dir, st, &l.gofer, &host_dir, name, Some(ino))
    }

    /// Asks the gofer for `name` of `dir` (host directory `host_dir`) and
    /// records the answer: its dentry (inode number `ino` if given, else
    /// the host's), or that it is absent.
    fn lookup_host_name(
        &self,
        dir: &Arc<Dentry>,
        st: &mut inode::DirState,
        host: &HostRoot,
        host_dir: &str,
        name: &[u8],
        ino: Option<u64>,
    ) -> SysResult<Arc<Dentry>> {
        let rel = join(host_dir, name);
        match host.lstat(&rel) {
            Ok((hst, target)) => {
                let ino = ino.unwrap_or(hst.st_ino);
                let inode = self.host_inode_numbered(dir.inode.dev, rel, &hst, target, ino)?;
                let d = Dentry::new(name, Some(dir.clone()), inode);
                st.children.insert(name.to_vec(), Child::Present(d.clone()));
                Ok(d)
            }
            Err(Errno::ENOENT) | Err(Errno::ENOTDIR) => {
                st.children.insert(name.to_vec(), Child::Absent);
                Err(Errno::ENOENT)
            }
            Err(e) => Err(e),
        }
    }

    /// `--file-access=shared`: the child `name` of `dir` as the host has
    /// it now, when `dir` mirrors a host directory that is revalidated
    /// (`None`: look it up as usual). A cached entry that is still the
    /// same host file (inode number and type) is kept, its attributes
    /// refreshed; one the host replaced gets a new inode; one the host
    /// removed is gone. Entries the sandbox made in memory, and mount
    /// points, are kept as they are.
    fn revalidate_child(
        &self,
        dir: &Arc<Dentry>,
        s: &Mutex<inode::DirState>,
        name: &[u8],
    ) -> Option<SysResult<Arc<Dentry>>> {
        let layer = self.layer(dir.inode.dev).filter(|l| l.revalidate)?;
        if is_dot(name) || dir.is_removed() {
            return None;
        }
        let mut st = lock(s);
        let rel = join(st.host.as_deref()?, name);
        let cached = match st.children.get(name) {
            Some(Child::Present(d)) if !host_backed(d) || mount::is_mountpoint(d) => {
                return Some(Ok(d.clone()))
            }
            Some(Child::Present(d)) => Some(d.clone()),
            _ => None,
        };
        let r = match layer.gofer.lstat(&rel) {
            Ok((hst, target)) => {
                if let Some(d) = &cached {
                    if d.inode.ino == hst.st_ino && d.inode.file_type() == hst.st_mode & S_IFMT {
                        refresh(&d.inode, &hst);
                        return Some(Ok(d.clone()));
                    }
                    d.set_removed();
                }
                self.host_inode(dir.inode.dev, rel, &hst, target)
                    .map(|ino| {
                        let d = Dentry::new(name, Some(dir.clone()), ino);
                        st.children.insert(name.to_vec(), Child::Present(d.clone()));
                        d
                    })
            }
            Err(Errno::ENOENT) | Err(Errno::ENOTDIR) => {
                if let Some(d) = &cached {
                    d.set_removed();
                }
                st.children.insert(name.to_vec(), Child::Absent);
                Err(Errno::ENOENT)
            }
            Err(e) => Err(e),
        };
        Some(r)
    }

    /// `--file-access=shared`: lists a revalidated host directory again
    /// and makes `dir`'s entries what the host has now (as
    /// [`Vfs::revalidate_child`] does for one name). `false` when `dir`
    /// is not such a directory.
    fn relist(&self, dir: &Arc<Dentry>) -> SysResult<bool> {
        let (Kind::Dir(s), Some(layer)) = (
            &dir.inode.kind,
            self.layer(dir.inode.dev).filter(|l| l.revalidate),
        ) else {
            return Ok(false);
        };
        let host_dir = match &lock(s).host {
            Some(h) if !dir.is_removed() => h.clone(),
            _ => return Ok(false),
        };
        let mut listings = layer
            .gofer
            .list(&host_dir, &[], 0, gofer::proto::STAT_ALL)?;
        let entries = match listings.first_mut() {
            Some((sub, e)) if sub.is_empty() => std::mem::take(e),
            _ => return Err(Errno::EIO),
        };
        let mut st = lock(s);
        let mut seen = std::collections::BTreeSet::new();
        for e in entries {
            let hst = e.attr.to_stat();
            seen.insert(e.name.clone());
            if let Some(Child::Present(d)) = st.children.get(&e.name) {
                if !host_backed(d) || mount::is_mountpoint(d) {
                    continue;
                }
                if d.inode.ino == hst.st_ino && d.inode.file_type() == hst.st_mode & S_IFMT {
                    refresh(&d.inode, &hst);
                    continue;
                }
                d.set_removed();
            }
            let ino = self.host_inode(dir.inode.dev, join(&host_dir, &e.name), &hst, e.target)?;
            let d = Dentry::new(&e.name, Some(dir.clone()), ino);
            st.children.insert(e.name, Child::Present(d));
        }
        let gone: Vec<Vec<u8>> = st
            .children
            .iter()
            .filter(|(n, c)| {
                !seen.contains(*n)
                    && match c {
                        Child::Present(d) => host_backed(d) && !mount::is_mountpoint(d),
                        Child::Lazy { .. } => true,
                        Child::Absent => false,
                    }
            })
            .map(|(n, _)| n.clone())
            .collect();
        for n in gone {
            if let Some(Child::Present(d)) = st.children.insert(n, Child::Absent) {
                d.set_removed();
            }
        }
        st.complete = true;
        Ok(true)
    }

    /// Loads every host entry of `dir` into memory. In a tree walk (the
    /// parent was listed before), the listings of its siblings not
    /// listed yet and of the directories below come along, up to
    /// [`PREFETCH_ENTRIES`], so that the walk does not ask the gofer once
    /// per directory.
    pub fn populate(&self, dir: &Arc<Dentry>) -> SysResult<()> {
        self.populate_with(dir, LIST_STAT_LIMIT, true)
    }

    /// [`Vfs::populate`], with the files of listed directories of more
    /// than `stat_limit` entries named only (`Child::Lazy`); `walk`: in a
    /// tree walk, listings of other directories come along.
    fn populate_with(&self, dir: &Arc<Dentry>, stat_limit: u32, walk: bool) -> SysResult<()> {
        let Kind::Dir(s) = &dir.inode.kind else {
            return Ok(());
        };
        let host_dir = {
            let st = lock(s);
            match (&st.host, st.complete) {
                (Some(h), false) => h.clone(),
                _ => return Ok(()),
            }
        };
        let host = self.gofer(dir.inode.dev)?;
        let siblings = walk.then(|| self.walk_siblings(dir, &host_dir)).flatten();
        let (base, base_host, starts) = match siblings {
            Some((parent, parent_host, names)) => (parent, parent_host, names),
            None => (dir.clone(), host_dir, Vec::new()),
        };
        let budget = if starts.is_empty() {
            0
        } else {
            PREFETCH_ENTRIES
        };
        let names: Vec<&[u8]> = starts.iter().map(|n| &n[..]).collect();
        let listings = host.list_raw(&base_host, &names, budget, stat_limit)?;
        let mut recs = listings.records().peekable();
        while let Some(rec) = recs.next() {
            let gofer::Record::Dir(sub) = rec? else {
                return Err(Errno::EIO);
            };
            // This listing's entries, read as they are filed.
            let mut entries = std::iter::from_fn(|| {
                match recs.next_if(|r| matches!(r, Ok(gofer::Record::Entry(_)))) {
                    Some(Ok(gofer::Record::Entry(e))) => Some(e),
                    _ => None,
                }
            });
            // Listings come parents first: each one's directory is a
            // dentry an earlier one made (or was there before); one the
            // sandbox removed or renamed meanwhile is skipped.
            let mut d = Some(base.clone());
            for name in sub.split(|&b| b == b'/').filter(|n| !n.is_empty()) {
                d = d.and_then(|d| match &d.inode.kind {
                    Kind::Dir(ds) => match lock(ds).children.get(name) {
                        Some(Child::Present(c)) => Some(c.clone()),
                        _ => None,
                    },
                    _ => None,
                });
            }
            if let Some(d) = d {
                let rel = if sub.is_empty() {
                    base_host.clone()
                } else {
                    join(&base_host, sub)
                };
                self.fill_dir(&d, &rel, &mut entries)?;
            }
            entries.for_each(drop);
        }
        Ok(())
    }

    /// In a tree walk (the parent of `dir` mirrors a host directory and
    /// was listed): the parent, its host path, and the names of `dir` and
    /// of its sibling directories not listed yet (`dir` first), each
    /// still the host's directory of that name.
    fn walk_siblings(
        &self,
        dir: &Arc<Dentry>,
        host_dir: &str,
    ) -> Option<(Arc<Dentry>, String, Vec<Vec<u8>>)> {
        /// Bytes of names one request carries at most.
        const MAX_NAMES: usize = 16 * 1024;
        let parent = dir.parent()?;
        let Kind::Dir(ps) = &parent.inode.kind else {
            return None;
        };
        let ps = lock(ps);
        let parent_host = match (&ps.host, ps.complete) {
            (Some(h), true) => h.clone(),
            _ => return None,
        };
        let name = dir.name();
        if join(&parent_host, &name) != host_dir {
            return None;
        }
        let mut names = vec![name.clone()];
        let mut bytes = 0;
        // Those after `dir` first: a walk in name order goes there next.
        let after = ps.children.range::<[u8], _>((
            std::ops::Bound::Excluded(&name[..]),
            std::ops::Bound::Unbounded,
        ));
        let before = ps.children.range::<[u8], _>((
            std::ops::Bound::Unbounded,
            std::ops::Bound::Excluded(&name[..]),
        ));
        for (n, c) in after.chain(before) {
            let Child::Present(c) = c else { continue };
            if Arc::ptr_eq(c, dir) {
                continue;
            }
            let Kind::Dir(cs) = &c.inode.kind else {
                continue;
            };
            let unlisted = {
                let cs = lock(cs);
                !cs.complete && cs.host.as_deref() == Some(&join(&parent_host, n))
            };
            if unlisted {
                bytes += n.len() + 4;
                if bytes > MAX_NAMES {
                    break;
                }
                names.push(n.clone());
            }
        }
        drop(ps);
        Some((parent, parent_host, names))
    }

    /// Adds the listing of host directory `rel` to `dir`, if `dir` still
    /// mirrors it and was not loaded yet. A name the sandbox already knows
    /// (looked up, created or removed here) keeps its slot.
    fn fill_dir(
        &self,
        dir: &Arc<Dentry>,
        rel: &str,
        entries: &mut dyn Iterator<Item = gofer::DirEntry>,
    ) -> SysResult<()> {
        let Kind::Dir(s) = &dir.inode.kind else {
            return Ok(());
        };
        let mut st = lock(s);
        if st.complete || st.host.as_deref() != Some(rel) {
            return Ok(());
        }
        for e in entries {
            if st.children.contains_key(&e.name) {
                continue;
            }
            if !e.stated {
                let c = Child::Lazy {
                    dtype: (e.attr.mode >> 12) as u8,
                    ino: e.attr.ino,
                };
                st.children.insert(e.name, c);
                continue;
            }
            let ino = self.host_inode(
                dir.inode.dev,
                join(rel, &e.name),
                &e.attr.to_stat(),
                e.target,
            )?;
            let d = Dentry::new(&e.name, Some(dir.clone()), ino);
            st.children.insert(e.name, Child::Present(d));
        }
        st.complete = true;
        Ok(())
    }

    /// `(name, d_type, ino)` of a directory's entries, without `.`/`..`.
    pub fn list_dir(&self, dir: &Arc<Dentry>) -> SysResult<Vec<(Vec<u8>, u8, u64)>> {
        let mut out = Vec::new();
        self.list_dir_into(dir, &mut out)?;
        Ok(out)
    }

    /// [`Vfs::list_dir`], appended to `out` (room made for all at once).
    pub fn list_dir_into(
        &self,
        dir: &Arc<Dentry>,
        out: &mut Vec<(Vec<u8>, u8, u64)>,
    ) -> SysResult<()> {
        match &dir.inode.kind {
            Kind::Dir(s) => {
                if !(self.shared && self.relist(dir)?) {
                    self.populate(dir)?;
                }
                let st = lock(s);
                out.reserve(st.children.len());
                out.extend(st.children.iter().filter_map(|(n, c)| match c {
                    Child::Present(d) => Some((n.clone(), dtype_of(d.inode.mode()), d.inode.ino)),
                    &Child::Lazy { dtype, ino } => Some((n.clone(), dtype, ino)),
                    Child::Absent => None,
                }));
                Ok(())
            }
            Kind::SynthDir(sd) => {
                out.extend(sd.list());
                Ok(())
            }
            _ => Err(Errno::ENOTDIR),
        }
    }

    /// Resolves `path` from `base` (or `root` if absolute).
    pub fn resolve(
        &self,
        root: &Arc<Dentry>,
        base: &Arc<Dentry>,
        path: &[u8],
        follow: bool,
        creds: &Creds,
    ) -> SysResult<Arc<Dentry>> {
        self.resolve_in(root, base, path, follow, None, creds)
    }

    /// [`Vfs::resolve`] under `openat2`'s `RESOLVE_*` restrictions.
    pub fn resolve_in(
        &self,
        root: &Arc<Dentry>,
        base: &Arc<Dentry>,
        path: &[u8],
        follow: bool,
        scope: Option<&Scope>,
        creds: &Creds,
    ) -> SysResult<Arc<Dentry>> {
        let mut w = WalkState { links: 0, scope };
        match scope {
            // The directory is the root for the whole walk: absolute paths,
            // absolute symlinks and `..` stay inside it.
            Some(s) if s.flags & RESOLVE_IN_ROOT != 0 => {
                self.walk(&s.dir, base, path, follow, &mut w, creds)
            }
            _ => self.walk(root, base, path, follow, &mut w, creds),
        }
    }

    fn walk(
        &self,
        root: &Arc<Dentry>,
        base: &Arc<Dentry>,
        path: &[u8],
        follow_last: bool,
        w: &mut WalkState,
        creds: &Creds,
    ) -> SysResult<Arc<Dentry>> {
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        if path.len() >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let rf = w.scope.map_or(0, |s| s.flags);
        let mut cur = if path[0] == b'/' {
            if rf & RESOLVE_BENEATH != 0 {
                return Err(Errno::EXDEV);
            }
            root.clone()
        } else {
            base.clone()
        };
        let trailing_slash = path.ends_with(b"/");
        // The mount `cur` is in, once a mount matters (`mount.rs`): the
        // start's, looked up when first needed.
        let mut mnt: Option<Arc<mount::Mount>> = None;
        let start = cur.clone();
        let need = |mnt: &mut Option<Arc<mount::Mount>>, d: &Arc<Dentry>| {
            if mnt.is_none() && d.inode.mounts.load(std::sync::atomic::Ordering::Acquire) != 0 {
                *mnt = mount::current().and_then(|ns| ns.mount_of(&start));
            }
        };
        let comps: Vec<&[u8]> = path
            .split(|&b| b == b'/')
            .filter(|c| !c.is_empty())
            .collect();
        for (i, comp) in comps.iter().enumerate() {
            let last = i + 1 == comps.len();
            if !cur.inode.is_dir() {
                return Err(Errno::ENOTDIR);
            }
            // Every directory walked through needs search permission.
            if !creds.dac_override && !inode::may_access(&cur.inode.meta(), creds, X_OK) {
                return Err(Errno::EACCES);
            }
            if comp.len() > NAME_MAX {
                return Err(Errno::ENAMETOOLONG);
            }
            if *comp == b"." {
                continue;
            }
            if *comp == b".." {
                if rf & RESOLVE_BENEATH != 0 && w.scope.is_some_and(|s| Arc::ptr_eq(&cur, &s.dir)) {
                    return Err(Errno::EXDEV);
                }
                if !Arc::ptr_eq(&cur, root) {
                    need(&mut mnt, &cur);
                    let up = mount::up(&mut mnt, &cur, Some(root));
                    if rf & RESOLVE_NO_XDEV != 0 && up.inode.dev != cur.inode.dev {
                        return Err(Errno::EXDEV);
                    }
                    cur = up;
                }
                continue;
            }
            let child = self.lookup_child(&cur, comp)?;
            need(&mut mnt, &child);
            let child = mount::down(&mut mnt, &cur, child);
            if rf & RESOLVE_NO_XDEV != 0 && child.inode.dev != cur.inode.dev {
                return Err(Errno::EXDEV);
            }
            let is_link = matches!(child.inode.kind, Kind::Symlink(_) | Kind::SynthLink(_));
            if is_link && (!last || follow_last || trailing_slash) {
                w.links += 1;
                if w.links > MAX_SYMLINKS || rf & RESOLVE_NO_SYMLINKS != 0 {
                    return Err(Errno::ELOOP);
                }
                match &child.inode.kind {
                    Kind::SynthLink(l) => {
                        let t = l.target()?;
                        cur = match t.dentry {
                            Some(d) => {
                                // A magic link (`/proc/self/fd/N`).
                                if rf & RESOLVE_NO_MAGICLINKS != 0 {
                                    return Err(Errno::ELOOP);
                                }
                                if rf & (RESOLVE_BENEATH | RESOLVE_IN_ROOT) != 0
                                    || (rf & RESOLVE_NO_XDEV != 0 && d.inode.dev != cur.inode.dev)
                                {
                                    return Err(Errno::EXDEV);
                                }
                                d
                            }
                            None => self.walk(root, &cur, &t.text, true, w, creds)?,
                        };
                    }
                    Kind::Symlink(t) => {
                        let t = t.clone();
                        mount::accessed(&child);
                        cur = self.walk(root, &cur, &t, true, w, creds)?;
                    }
                    _ => unreachable!(),
                }
                mnt = None;
                continue;
            }
            cur = child;
        }
        if trailing_slash && !cur.inode.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        need(&mut mnt, &cur);
        mount::walk_ended(&cur, &mnt);
        Ok(cur)
    }

    /// Splits `path` into its resolved parent directory and last name.
    /// Returns whether the path had a trailing slash.
    pub fn resolve_parent(
        &self,
        root: &Arc<Dentry>,
        base: &Arc<Dentry>,
        path: &[u8],
        creds: &Creds,
    ) -> SysResult<(Arc<Dentry>, Vec<u8>, bool)> {
        self.resolve_parent_in(root, base, path, None, creds)
    }

    fn resolve_parent_in(
        &self,
        root: &Arc<Dentry>,
        base: &Arc<Dentry>,
        path: &[u8],
        scope: Option<&Scope>,
        creds: &Creds,
    ) -> SysResult<(Arc<Dentry>, Vec<u8>, bool)> {
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        if path.len() >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let mut end = path.len();
        while end > 1 && path[end - 1] == b'/' {
            end -= 1;
        }
        let trailing = end < path.len();
        let p = &path[..end];
        let (dir_path, name): (&[u8], &[u8]) = match p.iter().rposition(|&b| b == b'/') {
            Some(0) => (b"/", &p[1..]),
            Some(i) => (&p[..i], &p[i + 1..]),
            None => (b".", p),
        };
        let name = if name.is_empty() {
            b".".as_slice()
        } else {
            name
        };
        if name.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let dir = self.resolve_in(root, base, dir_path, true, scope, creds)?;
        if !dir.inode.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        // Looking the last name up searches its directory: without search
        // permission that is EACCES, before any EEXIST (Linux's may_lookup).
        if !creds.dac_override && !inode::may_access(&dir.inode.meta(), creds, X_OK) {
            return Err(Errno::EACCES);
        }
        if name == b".." && scope.is_some_and(|s| s.flags & RESOLVE_BENEATH != 0) {
            return Err(Errno::EXDEV);
        }
        Ok((dir, name.to_vec(), trailing))
    }

    fn dir_state(dir: &Arc<Dentry>) -> SysResult<&Mutex<inode::DirState>> {
        match &dir.inode.kind {
            Kind::Dir(s) => Ok(s),
            Kind::SynthDir(_) => Err(Errno::EACCES),
            _ => Err(Errno::ENOTDIR),
        }
    }

    /// Inserts a new child; `EEXIST` if the name is taken.
    pub fn create_child(
        &self,
        dir: &Arc<Dentry>,
        name: &[u8],
        inode: Arc<Inode>,
    ) -> SysResult<Arc<Dentry>> {
        let d = self.insert_child(dir, name, inode)?;
        inotify::dir_event(&dir.inode, inotify::IN_CREATE, 0, name, &d.inode);
        Ok(d)
    }

    /// [`Vfs::create_child`] without the event.
    fn insert_child(
        &self,
        dir: &Arc<Dentry>,
        name: &[u8],
        inode: Arc<Inode>,
    ) -> SysResult<Arc<Dentry>> {
        if is_dot(name) {
            return Err(Errno::EEXIST);
        }
        if dir.is_removed() {
            return Err(Errno::ENOENT);
        }
        // Made in a size-limited filesystem: its bytes count there.
        if let Some(sp) = dir.inode.space.get() {
            let _ = inode.space.set(sp.clone());
        }
        match self.lookup_child(dir, name) {
            Ok(_) => return Err(Errno::EEXIST),
            Err(Errno::ENOENT) => {}
            Err(e) => return Err(e),
        }
        let s = Self::dir_state(dir)?;
        mount::check_writable(dir)?;
        let is_dir = inode.is_dir();
        let d = Dentry::new(name, Some(dir.clone()), inode);
        lock(s)
            .children
            .insert(name.to_vec(), Child::Present(d.clone()));
        if is_dir {
            dir.inode.update_meta(|m| m.nlink += 1);
        }
        dir.inode.touch_modified();
        Ok(d)
    }

    /// Removes `d` on the host first, when it is the host's and writes
    /// go through. One the host no longer has is only removed here.
    fn unlink_on_host(&self, d: &Arc<Dentry>, dir: bool) -> SysResult<()> {
        let Some(rel) = self.host_path(d) else {
            return Ok(());
        };
        self.keep_host_fd(d);
        match self.writer(d.inode.dev)?.unlink(&rel, dir) {
            Ok(()) | Err(Errno::ENOENT) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn remove_child(&self, dir: &Arc<Dentry>, name: &[u8], d: &Arc<Dentry>) -> SysResult<()> {
        let s = Self::dir_state(dir)?;
        mount::check_writable(dir)?;
        lock(s).children.insert(name.to_vec(), Child::Absent);
        d.set_removed();
        let is_dir = d.inode.is_dir();
        d.inode.update_meta(|m| {
            m.nlink = if is_dir { 0 } else { m.nlink.saturating_sub(1) };
            m.ctime = inode::now();
        });
        if is_dir {
            dir.inode
                .update_meta(|m| m.nlink = m.nlink.saturating_sub(1));
        }
        dir.inode.touch_modified();
        Ok(())
    }

    /// A regular file made on the host at `rel` in `dir`, holding its
    /// read-write descriptor.
    fn create_on_host(
        &self,
        dir: &Arc<Dentry>,
        rel: String,
        mode: u32,
        creds: &Creds,
    ) -> SysResult<Arc<Inode>> {
        let dev = dir.inode.dev;
        let (fd, st) = self
            .writer(dev)?
            .create(&rel, mode & 0o7777, creds.uid, creds.gid)?;
        let ino = self.host_inode(dev, rel, &st, None)?;
        if let Kind::File(d) = &ino.kind {
            if let FileData::Host { fd: slot, rw, .. } = &mut *lock(d) {
                CACHED_HOST_FDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                *slot = Some(Arc::new(fd));
                *rw = true;
            }
        }
        Ok(ino)
    }

    /// Makes a host file's cached descriptor a read-write one (opening
    /// for writing with writes going through), emptying the file for
    /// `trunc`.
    fn open_host_rw(&self, inode: &Inode, trunc: bool) -> SysResult<()> {
        let Kind::File(d) = &inode.kind else {
            return Ok(());
        };
        let mut data = lock(d);
        let FileData::Host {
            path,
            size,
            cache,
            fd,
            rw,
        } = &mut *data
        else {
            return Ok(());
        };
        match (&*fd, *rw) {
            (Some(f), true) => {
                if trunc {
                    use std::os::fd::AsRawFd;
                    // SAFETY: our own descriptor.
                    if unsafe { libc::ftruncate(f.as_raw_fd(), 0) } != 0 {
                        return Err(Errno::last_host());
                    }
                }
            }
            _ => {
                let opened = Arc::new(self.writer(inode.dev)?.open_rw(path, trunc)?);
                if fd.is_none() {
                    CACHED_HOST_FDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                *fd = Some(opened);
                *rw = true;
            }
        }
        if trunc && *size != 0 {
            *size = 0;
            if let Some(c) = cache {
                c.truncate(0);
            }
            drop(data);
            inode.touch_modified();
        }
        Ok(())
    }

    /// A new in-memory regular file.
    pub fn new_file_inode(&self, mode: u32, creds: &Creds) -> Arc<Inode> {
        Inode::new(
            next_ino(),
            DEV_ROOT,
            Meta::new(S_IFREG | (mode & 0o7777), creds.uid, creds.gid),
            Kind::File(Mutex::new(FileData::Mem(Arc::new(MemObject::new(
                self.mf.clone(),
                0,
            ))))),
        )
    }

    /// A regular file with no name in any directory (`memfd_create`):
    /// shown in /proc as `/memfd:NAME (deleted)`. `seals` are its first
    /// seals (`F_SEAL_SEAL` unless it was made with `MFD_ALLOW_SEALING`).
    pub fn anonymous_file(&self, name: &[u8], creds: &Creds, seals: u32) -> Arc<File> {
        let inode = self.new_file_inode(0o777, creds);
        inode.make_sealable(seals);
        let mut shown = b"memfd:".to_vec();
        shown.extend_from_slice(name);
        let d = Dentry::new(&shown, Some(self.root.clone()), inode.clone());
        d.set_removed();
        File::new(
            Some(d),
            O_RDWR | O_LARGEFILE,
            Box::new(ops::RegularOps {
                inode,
                host_fd: None,
                mf: self.mf.clone(),
                write_through: false,
            }),
        )
    }

    /// `open(2)` by path. `mode` has the umask applied already.
    pub fn open(
        self: &Arc<Self>,
        root: &Arc<Dentry>,
        base: &Arc<Dentry>,
        path: &[u8],
        flags: u32,
        mode: u32,
        creds: &Creds,
    ) -> SysResult<Arc<File>> {
        self.open_in(root, base, path, flags, mode, None, creds)
    }

    /// [`Vfs::open`] under `openat2`'s `RESOLVE_*` restrictions.
    #[allow(clippy::too_many_arguments)]
    pub fn open_in(
        self: &Arc<Self>,
        root: &Arc<Dentry>,
        base: &Arc<Dentry>,
        path: &[u8],
        flags: u32,
        mode: u32,
        scope: Option<&Scope>,
        creds: &Creds,
    ) -> SysResult<Arc<File>> {
        let follow = flags & O_NOFOLLOW == 0;
        let d = if flags & O_CREAT != 0 && flags & O_TMPFILE != O_TMPFILE {
            let (dir, name, trailing) = self.resolve_parent_in(root, base, path, scope, creds)?;
            if trailing || is_dot(&name) {
                return Err(Errno::EISDIR);
            }
            match self.lookup_child(&dir, &name) {
                Ok(d) => {
                    if flags & O_EXCL != 0 {
                        return Err(Errno::EEXIST);
                    }
                    let d = mount::down(&mut None, &dir, d);
                    if let Kind::Symlink(target) = &d.inode.kind {
                        if !follow {
                            return Err(Errno::ELOOP);
                        }
                        match self.resolve_in(root, &dir, &name, true, scope, creds) {
                            Ok(t) => t,
                            // A dangling symlink: create what it names.
                            Err(Errno::ENOENT) if flags & O_EXCL == 0 && !target.is_empty() => {
                                return self.open_in(
                                    root,
                                    &dir,
                                    &target.clone(),
                                    flags,
                                    mode,
                                    scope,
                                    creds,
                                );
                            }
                            Err(e) => return Err(e),
                        }
                    } else if matches!(d.inode.kind, Kind::SynthLink(_)) {
                        if !follow {
                            return Err(Errno::ELOOP);
                        }
                        self.resolve_in(root, &dir, &name, true, scope, creds)?
                    } else {
                        d
                    }
                }
                Err(Errno::ENOENT) => {
                    if !may_write_dir(&dir, creds) {
                        return Err(Errno::EACCES);
                    }
                    landlock::check(creds, &dir, landlock::ACCESS_FS_MAKE_REG)?;
                    if let Kind::SynthDir(sd) = &dir.inode.kind {
                        // A file system whose files are objects (an
                        // mqueue mount's queues) makes its own.
                        mount::check_writable(&dir)?;
                        sd.create(&name, mode & 0o7777, creds)?;
                        let d = self.lookup_child(&dir, &name)?;
                        inotify::dir_event(&dir.inode, inotify::IN_CREATE, 0, &name, &d.inode);
                        return self.open_dentry(
                            &d,
                            (flags & !O_TRUNC) | O_LARGEFILE,
                            &Creds::root(),
                        );
                    }
                    let ino = match self.host_dir(&dir) {
                        Some(h) => self.create_on_host(&dir, join(&h, &name), mode, creds)?,
                        None => self.new_file_inode(mode, creds),
                    };
                    let fresh = self.create_child(&dir, &name, ino)?;
                    // As on Linux, a file Landlock lets the caller make but
                    // not open stays made.
                    let (read, write) = read_write(flags);
                    let may_truncate = landlock::check_open(creds, &fresh, read, write)?;
                    let f =
                        self.open_dentry(&fresh, (flags & !O_TRUNC) | O_LARGEFILE, &Creds::root())?;
                    if !may_truncate {
                        f.deny_truncate();
                    }
                    return Ok(f);
                }
                Err(e) => return Err(e),
            }
        } else {
            self.resolve_in(root, base, path, follow, scope, creds)?
        };
        if flags & O_PATH == 0
            && !follow
            && matches!(d.inode.kind, Kind::Symlink(_) | Kind::SynthLink(_))
        {
            return Err(Errno::ELOOP);
        }
        // O_CREAT never opens a directory (Linux's do_open).
        if flags & O_CREAT != 0 && d.inode.is_dir() {
            return Err(Errno::EISDIR);
        }
        self.open_dentry(&d, flags, creds)
    }

    /// Opens an already resolved dentry: `IN_OPEN`, and `IN_MODIFY` for
    /// a truncation (in that order, as Linux since 6.7).
    pub fn open_dentry(
        self: &Arc<Self>,
        d: &Arc<Dentry>,
        flags: u32,
        creds: &Creds,
    ) -> SysResult<Arc<File>> {
        let f = self.open_dentry_quiet(d, flags, creds)?;
        if flags & O_PATH == 0 {
            inotify::event(d, inotify::IN_OPEN, true);
            if flags & O_TRUNC != 0 && matches!(d.inode.kind, Kind::File(_)) {
                inotify::event(d, inotify::IN_MODIFY, false);
            }
        }
        Ok(f)
    }

    /// Opens an already resolved dentry without any notification event.
    pub fn open_dentry_quiet(
        self: &Arc<Self>,
        d: &Arc<Dentry>,
        flags: u32,
        creds: &Creds,
    ) -> SysResult<Arc<File>> {
        let inode = d.inode.clone();
        if flags & O_DIRECTORY != 0 && !inode.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if flags & O_PATH != 0 {
            return Ok(File::new(
                Some(d.clone()),
                flags,
                Box::new(ops::PathOps { inode }),
            ));
        }
        let (read, write) = read_write(flags);
        // Linux's `may_open` refuses writing to a directory, truncation
        // included, before it checks permissions.
        if inode.is_dir() && (write || flags & O_TRUNC != 0) {
            return Err(Errno::EISDIR);
        }
        let mut want = 0;
        if read {
            want |= R_OK;
        }
        if write || flags & O_TRUNC != 0 {
            want |= W_OK;
        }
        if !inode::may_access(&inode.meta(), creds, want) {
            return Err(Errno::EACCES);
        }
        match &inode.kind {
            Kind::Dir(_) | Kind::File(_) if want & W_OK != 0 => mount::check_writable(d)?,
            // Device nodes on a `nodev` mount do not open.
            Kind::Device(_) if mount::flags_of(d) & mount::MS_NODEV != 0 => {
                return Err(Errno::EACCES)
            }
            _ => {}
        }
        let may_truncate = landlock::check_open(creds, d, read, write)?;
        let regular = matches!(inode.kind, Kind::File(_));
        if !may_truncate && flags & O_TRUNC != 0 && regular {
            return Err(Errno::EACCES);
        }
        // Only regular files take direct I/O (Linux's FMODE_CAN_ODIRECT):
        // directories, devices, FIFOs and /proc files are EINVAL.
        if flags & O_DIRECT != 0 && !regular {
            return Err(Errno::EINVAL);
        }
        let f = self.open_ops(d, flags, creds)?;
        if !may_truncate {
            f.deny_truncate();
        }
        Ok(f)
    }

    /// The open file for `d`, permissions already checked.
    fn open_ops(
        self: &Arc<Self>,
        d: &Arc<Dentry>,
        flags: u32,
        creds: &Creds,
    ) -> SysResult<Arc<File>> {
        let inode = d.inode.clone();
        let (read, write) = read_write(flags);
        let ops: Box<dyn FileOps> = match &inode.kind {
            Kind::Dir(_) | Kind::SynthDir(_) => {
                if write {
                    return Err(Errno::EISDIR);
                }
                Box::new(ops::DirOps::new(d.clone(), self.clone()))
            }
            Kind::File(data) => {
                let on_host =
                    matches!(&*lock(data), FileData::Host { .. }) && self.writes_through(inode.dev);
                if on_host && (write || flags & O_TRUNC != 0) {
                    inode.check_resize(0)?;
                    self.open_host_rw(&inode, flags & O_TRUNC != 0)?;
                } else if write || flags & O_TRUNC != 0 {
                    // O_TRUNC truncates even a read-only open (the caller
                    // had to be allowed to write), and always stamps the
                    // file, size changed or not (Linux's do_truncate).
                    ops::copy_up(self, &inode, flags & O_TRUNC != 0)?;
                    if flags & O_TRUNC != 0 {
                        inode.check_resize(0)?;
                        if let FileData::Mem(o) = &*lock(data) {
                            if !o.is_empty() {
                                o.truncate(0);
                                inode.uncharge_to(0);
                            }
                            inode.touch_modified();
                        }
                    }
                }
                let host_fd = match &mut *lock(data) {
                    FileData::Host { fd: Some(fd), .. } => Some(fd.clone()),
                    FileData::Host { path, fd, .. } => {
                        let opened = Arc::new(self.gofer(inode.dev)?.open_file(path, false)?);
                        // Keep it for later opens, up to a bound on host
                        // descriptors held.
                        if CACHED_HOST_FDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                            < MAX_CACHED_HOST_FDS
                        {
                            *fd = Some(opened.clone());
                        } else {
                            CACHED_HOST_FDS.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        Some(opened)
                    }
                    FileData::Mem(_) => None,
                };
                Box::new(ops::RegularOps {
                    inode: inode.clone(),
                    host_fd,
                    mf: self.mf.clone(),
                    write_through: on_host,
                })
            }
            Kind::Symlink(_) | Kind::SynthLink(_) => return Err(Errno::ELOOP),
            Kind::Device(dev::DeviceKind::Tty) => Box::new(self.devpts.open_current()?),
            Kind::Device(dev::DeviceKind::Ptmx) => Box::new(self.devpts.open_master(creds.uid)?),
            Kind::Device(dev::DeviceKind::Pts(n)) => {
                Box::new(self.devpts.open_slave(*n, &inode, flags)?)
            }
            Kind::Device(k) => Box::new(dev::DeviceOps {
                kind: *k,
                inode: inode.clone(),
                mf: self.mf.clone(),
            }),
            // A pipe reopened through /proc/pid/fd never waits (Linux's
            // is_pipe); a FIFO node does.
            Kind::Fifo(p) if inode.dev == DEV_PIPE => Box::new(p.open_end(read, write)),
            Kind::Fifo(p) => Box::new(p.open_fifo(read, write, flags & O_NONBLOCK != 0)),
            Kind::Socket => return Err(Errno::ENXIO),
            Kind::SynthFile(s) => {
                if let Some(ops) = s.open_ops(&inode) {
                    return Ok(File::new(Some(d.clone()), flags, ops?));
                }
                let data = s.generate()?;
                Box::new(ops::SynthOps {
                    inode: inode.clone(),
                    data,
                })
            }
        };
        Ok(File::new(Some(d.clone()), flags, ops))
    }

    /// Creating `name` in `dir`: `EEXIST` first (as Linux reports it even
    /// without write permission), then `EACCES`.
    fn may_create(&self, dir: &Arc<Dentry>, name: &[u8], creds: &Creds) -> SysResult<()> {
        match self.lookup_child(dir, name) {
            Ok(_) => Err(Errno::EEXIST),
            Err(Errno::ENOENT) if !may_write_dir(dir, creds) => Err(Errno::EACCES),
            Err(Errno::ENOENT) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The directory and name a new entry at `path` goes to, checked for
    /// creation; a trailing slash is allowed only where a directory is made.
    fn parent_for_new(
        &self,
        (root, base, path): (&Arc<Dentry>, &Arc<Dentry>, &[u8]),
        creds: &Creds,
        trailing_ok: bool,
    ) -> SysResult<(Arc<Dentry>, Vec<u8>)> {
        let (dir, name, trailing) = self.resolve_parent(root, base, path, creds)?;
        if trailing && !trailing_ok {
            return Err(Errno::ENOENT);
        }
        self.may_create(&dir, &name, creds)?;
        Ok((dir, name))
    }

    pub fn mkdir(
        &self,
        root: &Arc<Dentry>,
        base: &Arc<Dentry>,
        path: &[u8],
        mode: u32,
        creds: &Creds,
    ) -> SysResult<()> {
        let (dir, name) = self.parent_for_new((root, base, path), creds, true)?;
        landlock::check(creds, &dir, landlock::ACCESS_FS_MAKE_DIR)?;
        if let Kind::SynthDir(sd) = &dir.inode.kind {
            return sd.mkdir(&name);
        }
        if let Some(h) = self.host_dir(&dir) {
            let rel = join(&h, &name);
            let st =
                self.writer(dir.inode.dev)?
                    .mkdir(&rel, mode & 0o7777, creds.uid, creds.gid)?;
            let ino = self.made_on_host(&dir, rel, &st, None)?;
            return self.create_child(&dir, &name, ino).map(|_| ());
        }
        let ino = Inode::new_dir(DEV_ROOT, mode & 0o7777, None);
        ino.update_meta(|m| {
            m.uid = creds.uid;
            m.gid = creds.gid;
        });
        self.create_child(&dir, &name, ino).map(|_| ())
    }

    pub fn mknod(
        &self,
        root: &Arc<Dentry>,
        base: &Arc<Dentry>,
        path: &[u8],
        mode: u32,
        creds: &Creds,
    ) -> SysResult<()> {
        let (dir, name) = self.parent_for_new((root, base, path), creds, false)?;
        landlock::check(creds, &dir, landlock::make_access(mode))?;
        if let Some(h) = self.host_dir(&dir) {
            let ty = match mode & S_IFMT {
                0 | S_IFREG => S_IFREG,
                S_IFIFO | S_IFSOCK => mode & S_IFMT,
                S_IFCHR | S_IFBLK => return Err(Errno::EPERM),
                _ => return Err(Errno::EINVAL),
            };
            let rel = join(&h, &name);
            let st = self.writer(dir.inode.dev)?.mknod(
                &rel,
                ty | (mode & 0o7777),
                creds.uid,
                creds.gid,
            )?;
            let ino = self.made_on_host(&dir, rel, &st, None)?;
            return self.create_child(&dir, &name, ino).map(|_| ());
        }
        let kind = match mode & S_IFMT {
            0 | S_IFREG => {
                return self
                    .create_child(&dir, &name, self.new_file_inode(mode, creds))
                    .map(|_| ())
            }
            S_IFIFO => Kind::Fifo(pipe::Pipe::new()),
            S_IFSOCK => Kind::Socket,
            S_IFCHR | S_IFBLK => return Err(Errno::EPERM),
            _ => return Err(Errno::EINVAL),
        };
        let ino = Inode::new(
            next_ino(),
            DEV_ROOT,
            Meta::new(mode, creds.uid, creds.gid),
            kind,
        );
        self.create_child(&dir, &name, ino).map(|_| ())
    }

    pub fn symlink(
        &self,
        target: &[u8],
        root: &Arc<Dentry>,
        base: &Arc<Dentry>,
        path: &[u8],
        creds: &Creds,
    ) -> SysResult<()> {
        if target.is_empty() {
            return Err(Errno::ENOENT);
        }
        let (dir, name) = self.parent_for_new((root, base, path), creds, false)?;
        landlock::check(creds, &dir, landlock::ACCESS_FS_MAKE_SYM)?;
        if let Some(h) = self.host_dir(&dir) {
            let rel = join(&h, &name);
            let st = self
                .writer(dir.inode.dev)?
                .symlink(&rel, target, creds.uid, creds.gid)?;
            let ino = self.made_on_host(&dir, rel, &st, Some(target.to_vec()))?;
            return self.create_child(&dir, &name, ino).map(|_| ());
        }
        let ino = Inode::new(
            next_ino(),
            DEV_ROOT,
            Meta::new(S_IFLNK | 0o777, creds.uid, creds.gid),
            Kind::Symlink(target.to_vec()),
        );
        self.create_child(&dir, &name, ino).map(|_| ())
    }

    /// `link(2)`: a new name for the inode of `old`.
    pub fn link(
        &self,
        old: &Arc<Dentry>,
        root: &Arc<Dentry>,
        base: &Arc<Dentry>,
        path: &[u8],
        creds: &Creds,
    ) -> SysResult<()> {
        // The mount `old` was found on, before the walk below replaces
        // the record of the caller's last walk.
        let om = mount::mount_of(old);
        let (dir, name, trailing) = self.resolve_parent(root, base, path, creds)?;
        if trailing {
            return Err(Errno::ENOENT);
        }
        // Not across mounts, even of one filesystem (as Linux checks
        // before anything about the file itself).
        let nm = mount::mount_of(&dir);
        match (&om, &nm) {
            (Some(a), Some(b)) if !Arc::ptr_eq(a, b) => return Err(Errno::EXDEV),
            (Some(_), None) | (None, Some(_)) => return Err(Errno::EXDEV),
            _ => {}
        }
        if old.inode.is_dir() {
            return Err(Errno::EPERM);
        }
        if !may_hardlink(old, creds) {
            return Err(Errno::EPERM);
        }
        self.may_create(&dir, &name, creds)?;
        if let Some(old_dir) = old.parent() {
            landlock::check_refer(creds, (&old_dir, old), (&dir, None), false, false)?;
        }
        if let Some(h) = self.host_dir(&dir) {
            // Host to host only: a file the sandbox keeps in memory has
            // no host name to link.
            let from = self.host_path(old).ok_or(Errno::EXDEV)?;
            let st = self.writer(dir.inode.dev)?.link(&from, &join(&h, &name))?;
            if let Some(l) = self.layer(dir.inode.dev) {
                // A file with one name until now: from here on found
                // again by either.
                Self::remember_link(l, (st.st_dev, st.st_ino), &old.inode);
            }
        } else if self.host_path(old).is_some() {
            return Err(Errno::EXDEV);
        }
        self.insert_child(&dir, &name, old.inode.clone())?;
        old.inode.update_meta(|m| {
            m.nlink += 1;
            m.ctime = inode::now();
        });
        inotify::inode_event(&old.inode, inotify::IN_ATTRIB);
        inotify::dir_event(&dir.inode, inotify::IN_CREATE, 0, &name, &old.inode);
        Ok(())
    }

    pub fn unlink(
        &self,
        root: &Arc<Dentry>,
        base: &Arc<Dentry>,
        path: &[u8],
        creds: &Creds,
    ) -> SysResult<()> {
        let (dir, name, trailing) = self.resolve_parent(root, base, path, creds)?;
        if is_dot(&name) {
            return Err(Errno::EISDIR);
        }
        let d = self.lookup_child(&dir, &name)?;
        if trailing && !d.inode.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        landlock::check(creds, &dir, landlock::ACCESS_FS_REMOVE_FILE)?;
        may_delete(&dir, &d, creds)?;
        if d.inode.is_dir() {
            return Err(Errno::EISDIR);
        }
        if trailing {
            return Err(Errno::ENOTDIR);
        }
        if mount::is_mountpoint(&d) {
            return Err(Errno::EBUSY);
        }
        mount::check_writable(&dir)?;
        if let Kind::SynthDir(sd) = &dir.inode.kind {
            sd.unlink(&name)?;
            d.set_removed();
        } else {
            self.unlink_on_host(&d, false)?;
            self.remove_child(&dir, &name, &d)?;
        }
        // Linux: the link count's IN_ATTRIB, the inode's end if that was
        // its last trace, then the directory's IN_DELETE.
        inotify::inode_event(&d.inode, inotify::IN_ATTRIB);
        inotify::maybe_gone(&d.inode);
        inotify::dir_event(&dir.inode, inotify::IN_DELETE, 0, &name, &d.inode);
        Ok(())
    }

    pub fn rmdir(
        &self,
        root: &Arc<Dentry>,
        base: &Arc<Dentry>,
        path: &[u8],
        creds: &Creds,
    ) -> SysResult<()> {
        // The root itself (a path of only slashes: Linux's LAST_ROOT).
        if !path.is_empty() && path.iter().all(|&c| c == b'/') {
            return Err(Errno::EBUSY);
        }
        let (dir, name, _) = self.resolve_parent(root, base, path, creds)?;
        if name == b"." {
            return Err(Errno::EINVAL);
        }
        if name == b".." {
            return Err(Errno::ENOTEMPTY);
        }
        let d = self.lookup_child(&dir, &name)?;
        landlock::check(creds, &dir, landlock::ACCESS_FS_REMOVE_DIR)?;
        may_delete(&dir, &d, creds)?;
        if !d.inode.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if mount::is_mountpoint(&d) || Arc::ptr_eq(&d, root) {
            return Err(Errno::EBUSY);
        }
        if !ops::dir_is_empty(self, &d)? {
            return Err(Errno::ENOTEMPTY);
        }
        mount::check_writable(&dir)?;
        self.unlink_on_host(&d, true)?;
        self.remove_child(&dir, &name, &d)?;
        inotify::maybe_gone(&d.inode);
        inotify::dir_event(&dir.inode, inotify::IN_DELETE, 0, &name, &d.inode);
        Ok(())
    }

    /// `renameat2(2)`.
    #[allow(clippy::too_many_arguments)]
    pub fn rename(
        &self,
        root: &Arc<Dentry>,
        old_base: &Arc<Dentry>,
        old_path: &[u8],
        new_base: &Arc<Dentry>,
        new_path: &[u8],
        flags: u32,
        creds: &Creds,
    ) -> SysResult<()> {
        if flags & !(RENAME_NOREPLACE | RENAME_EXCHANGE) != 0
            || (flags & RENAME_NOREPLACE != 0 && flags & RENAME_EXCHANGE != 0)
        {
            return Err(Errno::EINVAL);
        }
        let _g = lock(&self.rename_lock);
        let (od, on, _) = self.resolve_parent(root, old_base, old_path, creds)?;
        // Each directory's mount, as its walk found it.
        let om = mount::mount_of(&od);
        let (nd, nn, _) = self.resolve_parent(root, new_base, new_path, creds)?;
        let nm = mount::mount_of(&nd);
        // Linux: a source of "." or ".." is EBUSY; such a target is
        // EEXIST under RENAME_NOREPLACE, else EBUSY.
        if is_dot(&on) {
            return Err(Errno::EBUSY);
        }
        if is_dot(&nn) {
            return Err(if flags & RENAME_NOREPLACE != 0 {
                Errno::EEXIST
            } else {
                Errno::EBUSY
            });
        }
        let src = self.lookup_child(&od, &on)?;
        let dst = match self.lookup_child(&nd, &nn) {
            Ok(d) => Some(d),
            Err(Errno::ENOENT) => None,
            Err(e) => return Err(e),
        };
        if creds.landlock.is_some() {
            if flags & RENAME_NOREPLACE != 0 && dst.is_some() {
                return Err(Errno::EEXIST);
            }
            let exchange = flags & RENAME_EXCHANGE != 0;
            landlock::check_refer(creds, (&od, &src), (&nd, dst.as_ref()), true, exchange)?;
        }
        // A target that exists is EEXIST under RENAME_NOREPLACE before
        // anything else (Linux's `do_renameat2`); renaming a file onto
        // itself (or a hard link of it) then does nothing, before any
        // permission check (`vfs_rename`).
        if flags & RENAME_NOREPLACE != 0 && dst.is_some() {
            return Err(Errno::EEXIST);
        }
        if dst
            .as_ref()
            .is_some_and(|d| Arc::ptr_eq(&d.inode, &src.inode))
        {
            return Ok(());
        }
        may_delete(&od, &src, creds)?;
        match &dst {
            Some(d) => may_delete(&nd, d, creds)?,
            None if !may_write_dir(&nd, creds) => return Err(Errno::EACCES),
            None => {}
        }
        if mount::is_mountpoint(&src) || dst.as_ref().is_some_and(mount::is_mountpoint) {
            return Err(Errno::EBUSY);
        }
        let od_s = Self::dir_state(&od)?;
        let nd_s = Self::dir_state(&nd)?;
        // Not across mounts, even of one filesystem.
        if let (Some(a), Some(b)) = (&om, &nm) {
            if !Arc::ptr_eq(a, b) {
                return Err(Errno::EXDEV);
            }
        }
        if om.is_some() != nm.is_some() {
            return Err(Errno::EXDEV);
        }
        if om.is_some_and(|m| m.is_rdonly()) {
            return Err(Errno::EROFS);
        }
        // With writes going through, the host renames first: both ends
        // must be the host's (else EXDEV, as between filesystems).
        let host_move = match (self.host_path(&src), self.host_dir(&od), self.host_dir(&nd)) {
            (Some(from), Some(_), Some(ndh)) => Some((from, join(&ndh, &nn))),
            (None, None, None) => None,
            _ if self.writes_through(od.inode.dev) || self.writes_through(nd.inode.dev) => {
                return Err(Errno::EXDEV)
            }
            _ => None,
        };
        // A directory cannot move below itself.
        let below = |a: &Arc<Dentry>, target: &Arc<Dentry>| {
            let mut p = Some(target.clone());
            while let Some(x) = p {
                if Arc::ptr_eq(&x, a) {
                    return true;
                }
                p = x.parent();
            }
            false
        };
        if flags & RENAME_EXCHANGE != 0 {
            let dst = dst.ok_or(Errno::ENOENT)?;
            if (src.inode.is_dir() && below(&src, &nd)) || (dst.inode.is_dir() && below(&dst, &od))
            {
                return Err(Errno::EINVAL);
            }
            if let Some((from, to)) = &host_move {
                if self.host_path(&dst).is_none() {
                    return Err(Errno::EXDEV);
                }
                self.writer(od.inode.dev)?
                    .rename(from, to, RENAME_EXCHANGE)?;
                Self::rehome(&src, to.clone());
                Self::rehome(&dst, from.clone());
            }
            lock(od_s)
                .children
                .insert(on.clone(), Child::Present(dst.clone()));
            lock(nd_s)
                .children
                .insert(nn.clone(), Child::Present(src.clone()));
            dst.set_parent(od.clone(), &on);
            src.set_parent(nd.clone(), &nn);
            drop(_g);
            moved((&od, &on), (&nd, &nn), &src, None);
            moved((&nd, &nn), (&od, &on), &dst, None);
            return Ok(());
        }
        if src.inode.is_dir() && below(&src, &nd) {
            return Err(Errno::EINVAL);
        }
        let mut replaced = None;
        if let Some(dst) = &dst {
            if flags & RENAME_NOREPLACE != 0 {
                return Err(Errno::EEXIST);
            }
            if Arc::ptr_eq(&dst.inode, &src.inode) {
                return Ok(());
            }
            match (src.inode.is_dir(), dst.inode.is_dir()) {
                (true, false) => return Err(Errno::ENOTDIR),
                (false, true) => return Err(Errno::EISDIR),
                (true, true) if !ops::dir_is_empty(self, dst)? => return Err(Errno::ENOTEMPTY),
                _ => {}
            }
        }
        if let Some((from, to)) = &host_move {
            if let Some(dst) = &dst {
                self.keep_host_fd(dst);
            }
            self.writer(od.inode.dev)?.rename(from, to, flags)?;
            Self::rehome(&src, to.clone());
        }
        if let Some(dst) = &dst {
            self.remove_child(&nd, &nn, dst)?;
            replaced = Some(dst);
        }
        lock(od_s).children.insert(on.clone(), Child::Absent);
        lock(nd_s)
            .children
            .insert(nn.clone(), Child::Present(src.clone()));
        src.set_parent(nd.clone(), &nn);
        if src.inode.is_dir() && !Arc::ptr_eq(&od, &nd) {
            od.inode
                .update_meta(|m| m.nlink = m.nlink.saturating_sub(1));
            nd.inode.update_meta(|m| m.nlink += 1);
        }
        od.inode.touch_modified();
        nd.inode.touch_modified();
        src.inode.update_meta(|m| m.ctime = inode::now());
        drop(_g);
        moved((&od, &on), (&nd, &nn), &src, replaced);
        Ok(())
    }

    /// Truncates the file behind a dentry (`truncate(2)`).
    pub fn truncate(&self, d: &Arc<Dentry>, len: u64) -> SysResult<()> {
        match &d.inode.kind {
            Kind::File(data) => {
                d.inode.check_resize(len)?;
                mount::check_writable(d)?;
                if let Some(rel) = self.host_path(d) {
                    self.writer(d.inode.dev)?.setattr(
                        &rel,
                        &gofer::proto::SetAttr {
                            mask: gofer::proto::SET_SIZE,
                            size: len,
                            ..Default::default()
                        },
                    )?;
                    if let FileData::Host { size, cache, .. } = &mut *lock(data) {
                        *size = len;
                        if let Some(c) = cache {
                            c.truncate(len);
                        }
                    }
                }
                ops::copy_up(self, &d.inode, len == 0)?;
                if let FileData::Mem(o) = &*lock(data) {
                    o.truncate(len);
                    d.inode.uncharge_to(len);
                }
                d.inode.touch_modified();
                inotify::event(d, inotify::IN_MODIFY, false);
                Ok(())
            }
            Kind::Dir(_) | Kind::SynthDir(_) => Err(Errno::EISDIR),
            _ => Err(Errno::EINVAL),
        }
    }
}

/// The events of a rename of `src` from `from` to `to` (Linux's
/// `fsnotify_move`): one cookie for the pair, the replaced entry's link
/// count, the source's `IN_MOVE_SELF`, then the replaced inode's end.
fn moved(
    from: (&Arc<Dentry>, &[u8]),
    to: (&Arc<Dentry>, &[u8]),
    src: &Arc<Dentry>,
    replaced: Option<&Arc<Dentry>>,
) {
    let cookie = inotify::cookie();
    inotify::dir_event(
        &from.0.inode,
        inotify::IN_MOVED_FROM,
        cookie,
        from.1,
        &src.inode,
    );
    inotify::dir_event(&to.0.inode, inotify::IN_MOVED_TO, cookie, to.1, &src.inode);
    if let Some(r) = replaced {
        inotify::inode_event(&r.inode, inotify::IN_ATTRIB);
    }
    inotify::inode_event(&src.inode, inotify::IN_MOVE_SELF);
    if let Some(r) = replaced {
        inotify::maybe_gone(&r.inode);
    }
}

/// Whether `creds` may remove (or rename away) `victim` from `dir`: write
/// and search permission on `dir` (`EACCES`) and, in a sticky directory,
/// ownership of the entry or the directory (`EPERM`).
fn may_delete(dir: &Arc<Dentry>, victim: &Arc<Dentry>, creds: &Creds) -> SysResult<()> {
    if !may_write_dir(dir, creds) {
        return Err(Errno::EACCES);
    }
    let dm = dir.inode.meta();
    if dm.mode & S_ISVTX != 0
        && !creds.fowner
        && creds.uid != dm.uid
        && creds.uid != victim.inode.meta().uid
    {
        return Err(Errno::EPERM);
    }
    Ok(())
}

/// Linux's protected hard links (`fs.protected_hardlinks`, on by default):
/// without `CAP_FOWNER` one may link only files one owns, or regular,
/// non-set-id files one may read and write.
fn may_hardlink(old: &Arc<Dentry>, creds: &Creds) -> bool {
    let m = old.inode.meta();
    let setid = m.mode & S_ISUID != 0 || m.mode & (S_ISGID | 0o010) == S_ISGID | 0o010;
    creds.fowner
        || m.uid == creds.uid
        || (m.mode & S_IFMT == S_IFREG && !setid && inode::may_access(&m, creds, R_OK | W_OK))
}

/// Whether `creds` may create or remove entries in `dir`.
pub fn may_write_dir(dir: &Arc<Dentry>, creds: &Creds) -> bool {
    matches!(dir.inode.kind, Kind::Dir(_) | Kind::SynthDir(_))
        && inode::may_access(&dir.inode.meta(), creds, W_OK | X_OK)
}

/// Whether `d` stands for a host file or directory (not one the
/// sandbox made in memory, or copied up).
fn host_backed(d: &Arc<Dentry>) -> bool {
    match &d.inode.kind {
        Kind::Dir(s) => lock(s).host.is_some(),
        Kind::File(data) => matches!(&*lock(data), FileData::Host { .. }),
        Kind::Symlink(_) | Kind::Fifo(_) | Kind::Socket => d.inode.ino < 1 << 40,
        _ => false,
    }
}

/// A host file's inode takes the attributes the host has now
/// (`--file-access=shared`). A regular file's size is the host's; its
/// page cache goes when the host changed the file and the sandbox never
/// wrote it (a mapping made before keeps what it had).
fn refresh(ino: &Inode, st: &libc::stat) {
    let t = |sec, nsec| Timespec { sec, nsec };
    let mtime = t(st.st_mtime, st.st_mtime_nsec);
    let changed = ino.update_meta(|m| {
        let changed = m.mtime != mtime;
        m.mode = st.st_mode;
        m.uid = st.st_uid;
        m.gid = st.st_gid;
        m.nlink = st.st_nlink;
        m.atime = t(st.st_atime, st.st_atime_nsec);
        m.mtime = mtime;
        m.ctime = t(st.st_ctime, st.st_ctime_nsec);
        changed
    });
    if let Kind::File(data) = &ino.kind {
        if let FileData::Host {
            size, cache, rw, ..
        } = &mut *lock(data)
        {
            let grown = *size != st.st_size as u64;
            *size = st.st_size as u64;
            if (changed || grown) && !*rw {
                *cache = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vfs_on(dir: &std::path::Path) -> Arc<Vfs> {
        let mf = Arc::new(MemoryFile::new(1 << 30).unwrap());
        Vfs::new(Some(dir.to_str().unwrap()), mf).unwrap()
    }

    fn tmpdir(tag: &str) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("rvisor-vfs-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(p.join("sub")).unwrap();
        std::fs::write(p.join("sub/f"), b"host data").unwrap();
        std::os::unix::fs::symlink("sub/f", p.join("link")).unwrap();
        std::os::unix::fs::symlink("/../../..", p.join("escape")).unwrap();
        p
    }

    #[test]
    fn reads_host_and_writes_stay_in_memory() {
        let dir = tmpdir("rw");
        let v = vfs_on(&dir);
        let c = Creds::root();
        let r = v.root.clone();
        let f = v.open(&r, &r, b"/link", O_RDONLY, 0, &c).unwrap();
        let mut b = [0u8; 64];
        let n = f.read(&mut b).unwrap();
        assert_eq!(&b[..n], b"host data");
        let w = v
            .open(&r, &r, b"/sub/f", O_WRONLY | O_TRUNC, 0, &c)
            .unwrap();
        w.write(b"sandbox").unwrap();
        let n = f.pread(&mut b, 0).unwrap();
        assert_eq!(&b[..n], b"sandbox");
        assert_eq!(std::fs::read(dir.join("sub/f")).unwrap(), b"host data");
        v.unlink(&r, &r, b"/sub/f", &c).unwrap();
        assert!(dir.join("sub/f").exists());
        assert_eq!(
            v.resolve(&r, &r, b"/sub/f", true, &c).err(),
            Some(Errno::ENOENT)
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn watch_survives_copy_up() {
        use inotify::*;
        let dir = tmpdir("inotify");
        let v = vfs_on(&dir);
        let c = Creds::root();
        let r = v.root.clone();
        let ino = new_file(O_NONBLOCK).unwrap();
        let g = group_of(&ino).unwrap();
        let d = v.resolve(&r, &r, b"/sub/f", true, &c).unwrap();
        let wd = g.add_watch(&d.inode, IN_MODIFY | IN_CLOSE_WRITE).unwrap();
        let w = v.open(&r, &r, b"/sub/f", O_WRONLY, 0, &c).unwrap();
        assert!(d.inode.mem_object().is_some(), "copied up");
        w.write(b"x").unwrap();
        drop(w);
        let mut b = [0u8; 64];
        let n = ino.read(&mut b).unwrap();
        let ev: Vec<(i32, u32)> = b[..n]
            .chunks(16)
            .map(|e| {
                let wd = i32::from_ne_bytes(e[0..4].try_into().unwrap());
                (wd, u32::from_ne_bytes(e[4..8].try_into().unwrap()))
            })
            .collect();
        assert_eq!(ev, vec![(wd, IN_MODIFY), (wd, IN_CLOSE_WRITE)]);
        assert_eq!(std::fs::read(dir.join("sub/f")).unwrap(), b"host data");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Listings the gofer sends along in a tree walk land only on the
    /// directories that still mirror them: a directory renamed in the
    /// sandbox keeps its own host contents, a renamed-away name stays
    /// gone.
    #[test]
    fn tree_walk_listings_follow_sandbox_renames() {
        let dir = tmpdir("walk");
        for f in ["a/x/1", "a/x/2", "a/y/3", "b/z/4"] {
            let p = dir.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"").unwrap();
        }
        let v = vfs_on(&dir);
        let c = Creds::root();
        let r = v.root.clone();
        let names = |path: &[u8]| -> Vec<Vec<u8>> {
            let d = v.resolve(&r, &r, path, true, &c).unwrap();
            let mut n: Vec<Vec<u8>> = v.list_dir(&d).unwrap().into_iter().map(|e| e.0).collect();
            n.sort();
            n
        };
        assert!(names(b"/").contains(&b"a".to_vec()));
        v.rename(&r, &r, b"/a/y", &r, b"/b/y2", 0, &c).unwrap();
        // A walk: /a's parent is listed, so /a, /b and below come at once.
        assert_eq!(names(b"/a"), [b"x".to_vec()]);
        assert_eq!(names(b"/b"), [b"y2".to_vec(), b"z".to_vec()]);
        assert_eq!(names(b"/b/y2"), [b"3".to_vec()]);
        assert_eq!(names(b"/a/x"), [b"1".to_vec(), b"2".to_vec()]);
        assert_eq!(names(b"/b/z"), [b"4".to_vec()]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn symlinks_cannot_escape_the_root() {
        let dir = tmpdir("esc");
        let v = vfs_on(&dir);
        let r = v.root.clone();
        let d = v.resolve(&r, &r, b"/escape", true, &Creds::root()).unwrap();
        assert!(Arc::ptr_eq(&d, &r));
        let d = v
            .resolve(&r, &r, b"/../../sub", true, &Creds::root())
            .unwrap();
        assert_eq!(d.path(), b"/sub");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn rename_and_listing() {
        let dir = tmpdir("ren");
        let v = vfs_on(&dir);
        let c = Creds::root();
        let r = v.root.clone();
        v.mkdir(&r, &r, b"/d", 0o755, &c).unwrap();
        assert_eq!(v.mkdir(&r, &r, b"/d", 0o755, &c), Err(Errno::EEXIST));
        v.rename(&r, &r, b"/sub/f", &r, b"/d/g", 0, &c).unwrap();
        let names: Vec<Vec<u8>> = v
            .list_dir(&v.resolve(&r, &r, b"/d", true, &c).unwrap())
            .unwrap()
            .into_iter()
            .map(|e| e.0)
            .collect();
        assert_eq!(names, vec![b"g".to_vec()]);
        assert_eq!(
            v.rename(&r, &r, b"/d", &r, b"/d/x", 0, &c),
            Err(Errno::EINVAL)
        );
        assert_eq!(v.rmdir(&r, &r, b"/d", &c), Err(Errno::ENOTEMPTY));
        assert_eq!(v.rmdir(&r, &r, b"/sub", &c), Ok(()));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
