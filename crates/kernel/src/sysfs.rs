//! `/sys`: the few parts programs read to learn about the machine they
//! run on, describing the sandbox (its CPUs, one NUMA node, the limits of
//! its cgroup, transparent huge pages). Everything is read-only.

use std::sync::{Arc, Weak};

use abi::fs::*;
use abi::{Errno, SysResult};
use vfs::inode::{next_ino, Meta, DEV_CGROUP, DEV_SYSFS};
use vfs::synth::{FnFile, FnLink, LinkTarget, SynthDir};
use vfs::{Dentry, Inode, Kind};

use crate::sched;
use crate::task::lock;
use crate::Kernel;

type Gen = Arc<dyn Fn() -> SysResult<Vec<u8>> + Send + Sync>;

/// A node of a fixed tree whose files are generated when read.
enum Node {
    Dir(Vec<(String, Arc<Tree>)>),
    File(Gen),
    Link(String),
}

struct Tree {
    ino: u64,
    dev: u64,
    node: Node,
    /// The inode, made once: a mount on a directory is found by its
    /// inode (`vfs::mount`). A directory's inode refers back to its tree,
    /// so the tree lives as long as the sandbox (it is made once).
    inode: std::sync::OnceLock<Arc<Inode>>,
}

impl Tree {
    fn inode(self: &Arc<Tree>) -> Arc<Inode> {
        self.inode.get_or_init(|| self.make_inode()).clone()
    }

    fn make_inode(self: &Arc<Tree>) -> Arc<Inode> {
        match &self.node {
            Node::Dir(_) => {
                let mut m = Meta::new(S_IFDIR | 0o555, 0, 0);
                m.nlink = 2;
                Inode::new(
                    self.ino,
                    self.dev,
                    m,
                    Kind::SynthDir(Arc::new(TreeDir(self.clone()))),
                )
            }
            Node::File(g) => {
                let g = g.clone();
                Inode::new(
                    self.ino,
                    self.dev,
                    Meta::new(S_IFREG | 0o444, 0, 0),
                    Kind::SynthFile(Arc::new(FnFile(move || g()))),
                )
            }
            Node::Link(t) => {
                let t = t.clone();
                Inode::new(
                    self.ino,
                    self.dev,
                    Meta::new(S_IFLNK | 0o777, 0, 0),
                    Kind::SynthLink(Arc::new(FnLink(move || {
                        Ok(LinkTarget {
                            text: t.as_bytes().to_vec(),
                            dentry: None,
                        })
                    }))),
                )
            }
        }
    }
}

struct TreeDir(Arc<Tree>);

impl SynthDir for TreeDir {
    fn lookup(&self, name: &[u8]) -> SysResult<Arc<Inode>> {
        let Node::Dir(entries) = &self.0.node else {
            return Err(Errno::ENOTDIR);
        };
        entries
            .iter()
            .find(|(n, _)| n.as_bytes() == name)
            .map(|(_, t)| t.inode())
            .ok_or(Errno::ENOENT)
    }

    fn list(&self) -> Vec<(Vec<u8>, u8, u64)> {
        let Node::Dir(entries) = &self.0.node else {
            return Vec::new();
        };
        entries
            .iter()
            .map(|(n, t)| {
                let dt = match t.node {
                    Node::Dir(_) => DT_DIR,
                    Node::File(_) => DT_REG,
                    Node::Link(_) => DT_LNK,
                };
                (n.as_bytes().to_vec(), dt, t.ino)
            })
            .collect()
    }
}

/// Builds trees on one device.
struct Builder {
    dev: u64,
}

impl Builder {
    fn dir(&self, entries: Vec<(String, Arc<Tree>)>) -> Arc<Tree> {
        self.node(Node::Dir(entries))
    }

    fn text(&self, s: impl Into<String>) -> Arc<Tree> {
        let b = s.into().into_bytes();
        self.node(Node::File(Arc::new(move || Ok(b.clone()))))
    }

    fn gen(&self, f: impl Fn() -> SysResult<String> + Send + Sync + 'static) -> Arc<Tree> {
        self.node(Node::File(Arc::new(move || f().map(String::into_bytes))))
    }

    fn link(&self, t: &str) -> Arc<Tree> {
        self.node(Node::Link(t.to_string()))
    }

    fn node(&self, node: Node) -> Arc<Tree> {
        Arc::new(Tree {
            ino: next_ino(),
            dev: self.dev,
            node,
            inode: Default::default(),
        })
    }
}

fn e(name: &str, t: Arc<Tree>) -> (String, Arc<Tree>) {
    (name.to_string(), t)
}

/// The host's `kernel_max` (the highest CPU number its kernel supports),
/// which says nothing about the host beyond its build. Read once, before
/// the sentry gives up the host's tree (`procfs::open_host_files`).
pub fn host_kernel_max() -> u32 {
    static KERNEL_MAX: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *KERNEL_MAX.get_or_init(|| {
        std::fs::read_to_string("/sys/devices/system/cpu/kernel_max")
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
            .unwrap_or(8191)
    })
}

fn cpu_tree(b: &Builder) -> Arc<Tree> {
    let n = sched::ncpus();
    let all = format!("{}\n", sched::online().list());
    let mut entries = vec![
        e("online", b.text(all.clone())),
        e("possible", b.text(all.clone())),
        e("present", b.text(all.clone())),
        e("offline", b.text("\n")),
        e("isolated", b.text("\n")),
        e("kernel_max", b.text(format!("{}\n", host_kernel_max()))),
    ];
    for i in 0..n {
        // Every CPU is its own core of one package: the sandbox knows
        // nothing truer to say about its host's topology.
        let own = sched::CpuSet::single(i);
        let (own_list, own_mask) = (format!("{i}\n"), format!("{}\n", own.hex()));
        let all_mask = format!("{}\n", sched::online().hex());
        let mut topology = vec![
            e("physical_package_id", b.text("0\n")),
            e("die_id", b.text("0\n")),
            e("core_id", b.text(own_list.clone())),
            e("cluster_id", b.text(own_list.clone())),
        ];
        for (name, list, mask) in [
            ("thread_siblings", &own_list, &own_mask),
            ("core_cpus", &own_list, &own_mask),
            ("cluster_cpus", &own_list, &own_mask),
            ("core_siblings", &all, &all_mask),
            ("die_cpus", &all, &all_mask),
            ("package_cpus", &all, &all_mask),
        ] {
            topology.push(e(name, b.text(mask.clone())));
            topology.push(e(&format!("{name}_list"), b.text(list.clone())));
        }
        let topology = b.dir(topology);
        entries.push(e(
            &format!("cpu{i}"),
            b.dir(vec![e("online", b.text("1\n")), e("topology", topology)]),
        ));
    }
    b.dir(entries)
}

fn node_tree(b: &Builder, kernel: &Weak<Kernel>) -> Arc<Tree> {
    let all = format!("{}\n", sched::online().list());
    let k = kernel.clone();
    let mut node0 = vec![
        e("cpulist", b.text(all)),
        e("cpumap", b.text(format!("{}\n", sched::online().hex()))),
        e(
            "meminfo",
            b.gen(move || {
                let m = k.upgrade().ok_or(Errno::ENOENT)?.memory();
                let kb = |v: u64| v / 1024;
                Ok(format!(
                    "Node 0 MemTotal:       {:8} kB\nNode 0 MemFree:        {:8} kB\nNode 0 MemUsed:        {:8} kB\n",
                    kb(m.total),
                    kb(m.free),
                    kb(m.total.saturating_sub(m.free))
                ))
            }),
        ),
        e("distance", b.text("10\n")),
    ];
    for i in 0..sched::ncpus() {
        node0.push(e(&format!("cpu{i}"), b.link(&format!("../../cpu/cpu{i}"))));
    }
    b.dir(vec![
        e("online", b.text("0\n")),
        e("possible", b.text("0\n")),
        e("has_cpu", b.text("0\n")),
        e("has_memory", b.text("0\n")),
        e("has_normal_memory", b.text("0\n")),
        e("node0", b.dir(node0)),
    ])
}

/// The sandbox's cgroup (cgroup v2): it has no limits of its own, so
/// every limit reads as `max`; the counters are the sandbox's.
fn cgroup_tree(kernel: &Weak<Kernel>) -> Arc<Tree> {
    let b = Builder { dev: DEV_CGROUP };
    // A file listing what `f` finds in the kernel's tables.
    let live = |f: fn(&Kernel) -> String| {
        let k = kernel.clone();
        b.gen(move || {
            let k = k.upgrade().ok_or(Errno::ENOENT)?;
            Ok(f(&k))
        })
    };
    b.dir(vec![
        e("cgroup.controllers", b.text("cpuset cpu io memory pids\n")),
        e("cgroup.subtree_control", b.text("")),
        e("cgroup.type", b.text("domain\n")),
        e("cgroup.max.depth", b.text("max\n")),
        e("cgroup.max.descendants", b.text("max\n")),
        e(
            "cgroup.procs",
            live(|k| {
                // Not under the table's lock: a process's lock is never
                // taken inside it.
                let groups: Vec<_> = lock(&k.table).groups.values().cloned().collect();
                groups
                    .iter()
                    .filter(|g| !g.is_zombie())
                    .map(|g| format!("{}\n", g.pid))
                    .collect()
            }),
        ),
        e(
            "cgroup.threads",
            live(|k| {
                let t = lock(&k.table);
                t.tasks.keys().map(|p| format!("{p}\n")).collect()
            }),
        ),
        e("cpu.max", b.text("max 100000\n")),
        e("cpu.weight", b.text("100\n")),
        e("cpu.weight.nice", b.text("0\n")),
        e(
            "cpuset.cpus.effective",
            b.text(format!("{}\n", sched::online().list())),
        ),
        e("cpuset.mems.effective", b.text("0\n")),
        e("io.max", b.text("")),
        e("memory.max", b.text("max\n")),
        e("memory.high", b.text("max\n")),
        e("memory.low", b.text("0\n")),
        e("memory.min", b.text("0\n")),
        e("memory.swap.max", b.text("max\n")),
        e("pids.max", b.text("max\n")),
        e(
            "pids.current",
            live(|k| format!("{}\n", lock(&k.table).tasks.len())),
        ),
    ])
}

/// Builds `/sys` and mounts it.
pub fn mount(kernel: &Arc<Kernel>) {
    mount_in(kernel, &kernel.vfs.init_tree());
}

/// Mounts a sysfs (with its cgroup2 tree) at `/sys` of tree `t`.
pub fn mount_in(kernel: &Arc<Kernel>, t: &vfs::Tree) {
    let (root, cg_root) = build(kernel);
    use vfs::mount::{Super, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_RELATIME};
    let flags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
    let sb = Super::new("sysfs", "sysfs", DEV_SYSFS, "", true);
    // The cgroup2 tree is a filesystem of its own mounted on its
    // directory, as on Linux.
    let cg_sb = Super::new("cgroup2", "cgroup2", DEV_CGROUP, "", true);
    let r = kernel
        .vfs
        .mount_at_in(t, b"/sys", root, sb, flags)
        .and_then(|_| {
            kernel
                .vfs
                .mount_at_in(t, b"/sys/fs/cgroup", cg_root, cg_sb, flags | MS_RELATIME)
        });
    if let Err(e) = r {
        kernel.log_line(&format!("rvisor: cannot mount /sys: {e}"));
    }
}

/// A sysfs root and its cgroup2 directory's root (`mount -t sysfs`).
pub fn build(kernel: &Arc<Kernel>) -> (Arc<Dentry>, Arc<Dentry>) {
    let b = Builder { dev: DEV_SYSFS };
    let system = b.dir(vec![
        e("cpu", cpu_tree(&b)),
        e("node", node_tree(&b, &Arc::downgrade(kernel))),
    ]);
    let thp = b.dir(vec![
        // Application memory is never backed by huge pages.
        e("enabled", b.text("always madvise [never]\n")),
        e(
            "defrag",
            b.text("always defer defer+madvise [madvise] never\n"),
        ),
        e("hpage_pmd_size", b.text("2097152\n")),
    ]);
    let cgroup = cgroup_tree(&Arc::downgrade(kernel));
    let root = b.dir(vec![
        e("devices", b.dir(vec![e("system", system)])),
        e("fs", b.dir(vec![e("cgroup", cgroup.clone())])),
        e(
            "kernel",
            b.dir(vec![e("mm", b.dir(vec![e("transparent_hugepage", thp)]))]),
        ),
    ]);
    let root = Dentry::new(b"/", None, root.inode());
    (root, Dentry::new(b"/", None, cgroup.inode()))
}
