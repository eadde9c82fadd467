//! `/proc`: process information computed on demand from the task table.

use std::cell::Cell;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock, Weak};

use abi::fs::*;
use abi::{Errno, SysResult};
use vfs::inode::{next_ino, Meta, DEV_PROC};
use vfs::synth::{FnFile, FnLink, LinkTarget, SynthDir, SynthFile};
use vfs::{Dentry, File, FileOps, Inode, Kind};

use crate::pidns::PidNs;
use crate::task::{lock, Task, ThreadGroup};
use crate::Kernel;

thread_local! {
    /// `(tid, pid)` of the task this host thread runs: what `self` means.
    static CURRENT: Cell<(i32, i32)> = const { Cell::new((0, 0)) };
    /// The same task's shared state, for files whose operations act on
    /// their caller (a `signalfd` reads the reading thread's signals).
    static CURRENT_TASK: std::cell::RefCell<Weak<crate::TaskShared>> =
        const { std::cell::RefCell::new(Weak::new()) };
}

pub fn set_current(task: &Task) {
    CURRENT.with(|c| c.set((task.tid(), task.pid())));
    CURRENT_TASK.with(|c| *c.borrow_mut() = Arc::downgrade(&task.shared));
    vfs::fanotify::set_current_pid(task.pid());
    *lock(&task.shared.files) = Some(task.fds.clone());
    *lock(&task.shared.fsctx) = Some(task.fs.clone());
    vfs::mount::set_current(lock(&task.shared.ns).mnt.ns.clone());
}

pub(crate) fn current() -> (i32, i32) {
    CURRENT.with(|c| c.get())
}

/// The task this host thread runs, if it runs one.
pub(crate) fn current_task() -> Option<Arc<crate::TaskShared>> {
    CURRENT_TASK.with(|c| c.borrow().upgrade())
}

/// Whether the task this host thread runs holds `cap` (as last published
/// by `Task::publish_creds`).
fn current_capable(k: &Kernel, cap: u32) -> bool {
    k.find_task(current().0)
        .is_some_and(|t| t.shown_caps[0].load(Ordering::Relaxed) & (1 << cap) != 0)
}

/// The namespaces of the task reading `/proc` (the first ones when the
/// reader is not a task).
fn reader_ns(k: &Kernel) -> Arc<crate::ns::Namespaces> {
    k.find_task(current().0)
        .map(|t| lock(&t.ns).clone())
        .unwrap_or_else(|| k.init_ns.clone())
}

/// The pid namespace of the task reading `/proc` (the first one when the
/// reader is not a task).
fn reader_pidns(k: &Kernel) -> Arc<PidNs> {
    k.find_task(current().0)
        .map(|t| t.tg.pidns.clone())
        .unwrap_or_else(|| k.init_ns.pid.clone())
}

/// A `/proc/PID` file owned by the task's effective ids while it is
/// dumpable (root's otherwise), as Linux's `task_dump_owner`.
fn owned_by_task(kw: &Weak<Kernel>, tid: i32, inode: Arc<Inode>) -> Arc<Inode> {
    let Some(k) = kw.upgrade() else { return inode };
    let Some(t) = k.find_task(tid) else {
        return inode;
    };
    if t.tg.lock().dumpable {
        let ids = |i: usize| t.ids[i].load(std::sync::atomic::Ordering::Relaxed);
        let (u, g) = (ids(1), ids(5));
        inode.update_meta(|m| {
            m.uid = u;
            m.gid = g;
        });
    }
    inode
}

/// The kernel and the user namespace of task `tid`, for its
/// `uid_map`, `gid_map` and `setgroups` files.
fn task_user_ns(kw: &Weak<Kernel>, tid: i32) -> SysResult<(Arc<Kernel>, Arc<crate::ns::UserNs>)> {
    let k = kw.upgrade().ok_or(Errno::ENOENT)?;
    let t = k.find_task(tid).ok_or(Errno::ENOENT)?;
    let ns = lock(&t.ns).user.clone();
    Ok((k, ns))
}

/// The task writing a `/proc` file, for the user-namespace rules.
fn writer(k: &Kernel) -> SysResult<crate::ns::Writer> {
    let t = k.find_task(current().0).ok_or(Errno::EPERM)?;
    let ids = |i: usize| t.ids[i].load(std::sync::atomic::Ordering::Relaxed);
    let user = lock(&t.ns).user.clone();
    Ok(crate::ns::Writer {
        user,
        caps: t.shown_caps[0].load(std::sync::atomic::Ordering::Relaxed),
        euid: ids(1),
        egid: ids(5),
    })
}

fn file(ino: u64, f: impl Fn() -> SysResult<Vec<u8>> + Send + Sync + 'static) -> Arc<Inode> {
    Inode::new(
        ino,
        DEV_PROC,
        Meta::new(S_IFREG | 0o444, 0, 0),
        Kind::SynthFile(Arc::new(FnFile(f))),
    )
}

fn link(ino: u64, f: impl Fn() -> SysResult<LinkTarget> + Send + Sync + 'static) -> Arc<Inode> {
    Inode::new(
        ino,
        DEV_PROC,
        Meta::new(S_IFLNK | 0o777, 0, 0),
        Kind::SynthLink(Arc::new(FnLink(f))),
    )
}

/// A file a process may write: `parse` gets the text written (one
/// value, surrounding blanks dropped).
fn rw_file(
    ino: u64,
    gen: impl Fn() -> SysResult<String> + Send + Sync + 'static,
    parse: impl Fn(&str) -> SysResult<()> + Send + Sync + 'static,
) -> Arc<Inode> {
    Inode::new(
        ino,
        DEV_PROC,
        Meta::new(S_IFREG | 0o644, 0, 0),
        Kind::SynthFile(Arc::new(RwFile { gen, parse })),
    )
}

struct RwFile<G, P> {
    gen: G,
    parse: P,
}

impl<G, P> SynthFile for RwFile<G, P>
where
    G: Fn() -> SysResult<String> + Send + Sync,
    P: Fn(&str) -> SysResult<()> + Send + Sync,
{
    fn generate(&self) -> SysResult<Vec<u8>> {
        (self.gen)().map(String::into_bytes)
    }

    fn write(&self, data: &[u8]) -> SysResult<usize> {
        // Linux reads the buffer as a C string: a NUL ends it ("7\0").
        let text = data.split(|&b| b == 0).next().unwrap_or_default();
        let v = std::str::from_utf8(text).map_err(|_| Errno::EINVAL)?;
        (self.parse)(v.trim())?;
        Ok(data.len())
    }
}

/// A number as `kstrtoul(.., 0)` reads it: decimal, `0x` hex or `0` octal.
fn parse_c_number(v: &str) -> Option<u64> {
    if let Some(h) = v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()
    } else if v.len() > 1 && v.starts_with('0') {
        u64::from_str_radix(&v[1..], 8).ok()
    } else {
        v.parse().ok()
    }
}

/// `/proc/pid/oom_score` as Linux computes it: 1000 plus the process's
/// share of memory per thousand plus its `oom_score_adj` (0 for an
/// unkillable -1000).
fn oom_score(k: &Kernel, g: &Arc<ThreadGroup>) -> i64 {
    let (_, rss) = mm_sizes(g);
    let adj = g.lock().oom_score_adj as i64;
    if adj == -1000 {
        return 0;
    }
    let share = (rss as u128 * 1000 / k.memory().total.max(1) as u128) as i64;
    (1000 + share + adj).clamp(0, 2000)
}

fn dir(ino: u64, d: Arc<dyn SynthDir>) -> Arc<Inode> {
    let mut m = Meta::new(S_IFDIR | 0o555, 0, 0);
    m.nlink = 2;
    Inode::new(ino, DEV_PROC, m, Kind::SynthDir(d))
}

fn text(t: &str) -> LinkTarget {
    LinkTarget {
        text: t.as_bytes().to_vec(),
        dentry: None,
    }
}

fn pid_ino(pid: i32, idx: u64) -> u64 {
    0x1_0000_0000 + ((pid as u64) << 8) + idx
}

struct Root {
    kernel: Weak<Kernel>,
    /// The pid namespace of whoever mounted it: the one it shows.
    ns: Arc<PidNs>,
    /// The inode of each of [`ROOT_FILES`], made at the first look-up
    /// and kept for the instance's life, as Linux keeps its proc entries:
    /// an inotify watch or a mount on one (bubblewrap binds `/proc/sys`
    /// read-only) is found by its inode.
    files: [OnceLock<Arc<Inode>>; ROOT_FILES.len()],
    /// The host's, read when first asked for: reading it costs the host
    /// milliseconds (it samples every CPU's frequency), too much for every
    /// sandbox's start.
    cpuinfo: Arc<OnceLock<Vec<u8>>>,
    /// `/proc/sys/kernel/random/boot_id`: one per sandbox.
    boot_id: Arc<OnceLock<String>>,
}

const ROOT_FILES: &[&str] = &[
    "cpuinfo",
    "meminfo",
    "uptime",
    "version",
    "loadavg",
    "stat",
    "filesystems",
    "mounts",
    "self",
    "thread-self",
    "sys",
    "partitions",
    "swaps",
    "net",
];

impl Root {
    /// The inode of root entry `name` (number `idx`).
    fn make(&self, name: &str, idx: u64) -> SysResult<Arc<Inode>> {
        let kw = self.kernel.clone();
        let ns = self.ns.clone();
        Ok(match name {
            // A reader outside the namespace has no number in it.
            "self" => link(idx, move || {
                let pid = ns.local(current().1).ok_or(Errno::ENOENT)?;
                Ok(text(&pid.to_string()))
            }),
            "thread-self" => link(idx, move || {
                let (tid, pid) = current();
                let (tid, pid) = (ns.local(tid), ns.local(pid));
                let (tid, pid) = tid.zip(pid).ok_or(Errno::ENOENT)?;
                Ok(text(&format!("{pid}/task/{tid}")))
            }),
            "mounts" => link(idx, || Ok(text("self/mounts"))),
            "cpuinfo" => {
                let c = self.cpuinfo.clone();
                file(idx, move || {
                    Ok(c.get_or_init(|| cpuinfo(host_cpuinfo())).clone())
                })
            }
            "meminfo" => file(idx, move || {
                let k = kw.upgrade().ok_or(Errno::ENOENT)?;
                Ok(meminfo(&k.memory(), k.swaps.total_kb()).into_bytes())
            }),
            "uptime" => file(idx, move || {
                let k = kw.upgrade().ok_or(Errno::ENOENT)?;
                let up = k.start.elapsed().as_secs_f64();
                // The second figure is the CPUs' idle time, summed.
                let busy = k.cpu_total_ns() as f64 / 1e9;
                let idle = (up * crate::sched::ncpus() as f64 - busy).max(0.0);
                Ok(format!("{up:.2} {idle:.2}\n").into_bytes())
            }),
            "version" => file(idx, || {
                Ok(format!(
                    "Linux version {} (rvisor@rvisor) (rvisor) {}\n",
                    crate::UTS_RELEASE,
                    crate::UTS_VERSION
                )
                .into_bytes())
            }),
            "loadavg" => file(idx, move || {
                let k = kw.upgrade().ok_or(Errno::ENOENT)?;
                let t = lock(&k.table);
                let last = t.last_pid();
                let n = t.tasks.len();
                let running = waiter::awake_tasks().clamp(1, n.max(1) as u32);
                Ok(format!("0.00 0.00 0.00 {running}/{n} {last}\n").into_bytes())
            }),
            "stat" => file(idx, move || {
                let k = kw.upgrade().ok_or(Errno::ENOENT)?;
                Ok(proc_stat(&k).into_bytes())
            }),
            "filesystems" => file(idx, || {
                Ok(b"nodev\tsysfs\nnodev\ttmpfs\nnodev\tramfs\nnodev\tproc\nnodev\tcgroup2\nnodev\tdevtmpfs\nnodev\tdevpts\nnodev\toverlay\n".to_vec())
            }),
            // The sandbox has no block devices.
            "partitions" => file(idx, || Ok(b"major minor  #blocks  name\n\n".to_vec())),
            "swaps" => file(idx, move || {
                let k = kw.upgrade().ok_or(Errno::ENOENT)?;
                Ok(k.swaps.proc_swaps())
            }),
            "net" => dir(idx, Arc::new(NetDir { kernel: kw.clone() })),
            "sys" => dir(
                idx,
                Arc::new(SysDir {
                    kernel: self.kernel.clone(),
                    boot_id: self.boot_id.clone(),
                    path: Vec::new(),
                }),
            ),
            _ => return Err(Errno::ENOENT),
        })
    }
}

impl SynthDir for Root {
    fn lookup(&self, name: &[u8]) -> SysResult<Arc<Inode>> {
        let k = self.kernel.upgrade().ok_or(Errno::ENOENT)?;
        let name = std::str::from_utf8(name).map_err(|_| Errno::ENOENT)?;
        if let Ok(vpid) = name.parse::<i32>() {
            let pid = self.ns.global(vpid).filter(|_| vpid > 0);
            if let Some(pid) = pid.filter(|&p| k.find_group(p).is_some()) {
                return Ok(dir(
                    pid_ino(pid, 0),
                    Arc::new(PidDir {
                        kernel: self.kernel.clone(),
                        ns: self.ns.clone(),
                        pid,
                        tid: pid,
                        process_dir: true,
                    }),
                ));
            }
            return Err(Errno::ENOENT);
        }
        let i = ROOT_FILES
            .iter()
            .position(|&n| n == name)
            .ok_or(Errno::ENOENT)?;
        if let Some(ino) = self.files[i].get() {
            return Ok(ino.clone());
        }
        let ino = self.make(name, i as u64 + 2)?;
        Ok(self.files[i].get_or_init(|| ino).clone())
    }

    fn list(&self) -> Vec<(Vec<u8>, u8, u64)> {
        let mut out: Vec<(Vec<u8>, u8, u64)> = ROOT_FILES
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let dt = match *n {
                    "self" | "thread-self" | "mounts" => DT_LNK,
                    "sys" | "net" => DT_DIR,
                    _ => DT_REG,
                };
                (n.as_bytes().to_vec(), dt, i as u64 + 2)
            })
            .collect();
        if let Some(k) = self.kernel.upgrade() {
            let mut pids: Vec<(i32, i32)> = lock(&k.table)
                .groups
                .iter()
                .filter(|(_, g)| !g.is_zombie())
                .filter_map(|(&pid, _)| Some((self.ns.local(pid)?, pid)))
                .collect();
            pids.sort_unstable();
            for (vpid, pid) in pids {
                out.push((vpid.to_string().into_bytes(), DT_DIR, pid_ino(pid, 0)));
            }
        }
        out
    }
}

/// `/proc/net`: the tables of the reader's network namespace
/// (`net::procnet`), as Linux's `/proc/net` is `/proc/self/net`.
struct NetDir {
    kernel: Weak<Kernel>,
}

impl SynthDir for NetDir {
    fn lookup(&self, name: &[u8]) -> SysResult<Arc<Inode>> {
        let name = std::str::from_utf8(name).map_err(|_| Errno::ENOENT)?;
        let n = *net::procnet::FILES
            .iter()
            .find(|&&f| f == name)
            .ok_or(Errno::ENOENT)?;
        let kw = self.kernel.clone();
        Ok(file(next_ino(), move || {
            let k = kw.upgrade().ok_or(Errno::ENOENT)?;
            let stack = reader_ns(&k).net.stack.clone();
            net::procnet::file(&stack, n)
                .map(String::into_bytes)
                .ok_or(Errno::ENOENT)
        }))
    }

    fn list(&self) -> Vec<(Vec<u8>, u8, u64)> {
        net::procnet::FILES
            .iter()
            .map(|n| (n.as_bytes().to_vec(), DT_REG, next_ino()))
            .collect()
    }
}

/// A random version-4 UUID, as `/proc/sys/kernel/random/uuid` gives.
fn uuid() -> SysResult<String> {
    let mut b = [0u8; 16];
    vfs::dev::random_bytes(&mut b)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

/// The host's `/proc/cpuinfo` cut to the sandbox's CPUs, renumbered (the
/// sandbox's CPU `i` is the host's `sched::host_cpus()[i]`).
fn cpuinfo(host: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(host);
    let cpus = crate::sched::host_cpus();
    let n = cpus.len().to_string();
    let mut out = String::new();
    for block in text.split("\n\n").filter(|b| !b.trim().is_empty()) {
        let num = |key: &str| {
            block.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                (k.trim() == key).then(|| v.trim().parse::<usize>().ok())?
            })
        };
        let Some(i) = num("processor").and_then(|p| cpus.iter().position(|&c| c == p)) else {
            continue;
        };
        for l in block.lines() {
            let key = l.split_once(':').map_or("", |(k, _)| k.trim());
            let value = match key {
                "processor" => Some(i.to_string()),
                "physical id" => Some("0".to_string()),
                "siblings" | "cpu cores" => Some(n.clone()),
                "core id" | "apicid" | "initial apicid" => Some(i.to_string()),
                _ => None,
            };
            match value {
                Some(v) => {
                    let _ = writeln!(out, "{}: {v}", l.split_once(':').map_or(l, |(k, _)| k));
                }
                None => {
                    out.push_str(l);
                    out.push('\n');
                }
            }
        }
        out.push('\n');
    }
    out.into_bytes()
}

/// `/proc/meminfo`; `swap_kb` is the swap `swapon` enabled, all free.
fn meminfo(m: &crate::Memory, swap_kb: u64) -> String {
    let kb = |b: u64| b / 1024;
    let (total, free, shared, buffers) = (kb(m.total), kb(m.free), kb(m.shared), kb(m.buffers));
    let avail = free + buffers;
    let mut s = String::new();
    for (k, v) in [
        ("MemTotal", total),
        ("MemFree", free),
        ("MemAvailable", avail),
        ("Buffers", buffers),
        ("Cached", 0),
        ("SwapCached", 0),
        ("Active", 0),
        ("Inactive", 0),
        ("SwapTotal", swap_kb),
        ("SwapFree", swap_kb),
        ("Dirty", 0),
        ("Writeback", 0),
        ("AnonPages", 0),
        ("Mapped", 0),
        ("Shmem", shared),
        ("KReclaimable", 0),
        ("Slab", 0),
        ("SReclaimable", 0),
        ("SUnreclaim", 0),
        ("CommitLimit", total),
        ("Committed_AS", total - free.min(total)),
        ("VmallocTotal", 34359738367),
        ("VmallocUsed", 0),
        ("VmallocChunk", 0),
        ("AnonHugePages", 0),
        ("HugePages_Total", 0),
        ("HugePages_Free", 0),
        ("HugePages_Rsvd", 0),
        ("HugePages_Surp", 0),
        ("Hugepagesize", 2048),
    ] {
        let unit = if k.starts_with("HugePages_") {
            ""
        } else {
            " kB"
        };
        let _ = writeln!(s, "{:<16}{v:>8}{unit}", format!("{k}:"));
    }
    s
}

/// `/proc/stat`: the CPU time the sandbox's tasks used, spread over its
/// CPUs, the rest idle, in clock ticks (100 Hz).
fn proc_stat(k: &Kernel) -> String {
    let n = crate::sched::ncpus() as u64;
    let up = k.start.elapsed().as_millis() as u64 / 10;
    let busy = k.cpu_total_ns() / 10_000_000;
    let idle = (up * n).saturating_sub(busy);
    let line = |name: &str, user: u64, idle: u64| format!("{name} {user} 0 0 {idle} 0 0 0 0 0 0\n");
    let mut s = line("cpu ", busy, idle);
    for i in 0..n {
        s.push_str(&line(
            &format!("cpu{i}"),
            busy / n + u64::from(i < busy % n),
            idle / n + u64::from(i < idle % n),
        ));
    }
    let btime = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() - k.start.elapsed().as_secs())
        .unwrap_or(0);
    let (procs, threads) = {
        let t = lock(&k.table);
        (t.last_pid(), t.tasks.len())
    };
    let running = waiter::awake_tasks().clamp(1, threads.max(1) as u32);
    let _ = write!(
        s,
        "intr 0\nctxt 0\nbtime {btime}\nprocesses {procs}\nprocs_running {running}\nprocs_blocked 0\nsoftirq 0 0 0 0 0 0 0 0 0 0 0\n"
    );
    s
}

/// `/proc/sys`: a few read-only tunables programs look at.
struct SysDir {
    kernel: Weak<Kernel>,
    boot_id: Arc<OnceLock<String>>,
    path: Vec<&'static str>,
}

fn sys_entries(path: &[&str]) -> &'static [&'static str] {
    match path {
        [] => &["kernel", "vm", "fs", "net"],
        ["net"] => &["core", "ipv4", "ipv6"],
        ["net", "core"] => &[
            "somaxconn",
            "rmem_default",
            "rmem_max",
            "wmem_default",
            "wmem_max",
        ],
        ["net", "ipv4"] => &[
            "ip_local_port_range",
            "tcp_rmem",
            "tcp_wmem",
            "tcp_syncookies",
        ],
        ["net", "ipv6"] => &["bindv6only"],
        ["kernel"] => &[
            "hostname",
            "domainname",
            "osrelease",
            "ostype",
            "pid_max",
            "ns_last_pid",
            "threads-max",
            "dmesg_restrict",
            "ngroups_max",
            "overflowuid",
            "overflowgid",
            "random",
            // System V IPC limits (crate::ipc::sysctl).
            "msgmax",
            "msgmnb",
            "msgmni",
            "sem",
            "shmall",
            "shmmax",
            "shmmni",
        ],
        ["kernel", "random"] => &["boot_id", "uuid"],
        ["vm"] => &["overcommit_memory", "max_map_count", "mmap_min_addr"],
        ["fs"] => &[
            "dir-notify-enable",
            "file-max",
            "nr_open",
            "pipe-max-size",
            "mqueue",
            "inotify",
        ],
        ["fs", "inotify"] => &[
            "max_queued_events",
            "max_user_instances",
            "max_user_watches",
        ],
        ["fs", "mqueue"] => crate::ipc::sysctl::MQUEUE_FILES,
        _ => &[],
    }
}

impl SynthDir for SysDir {
    fn lookup(&self, name: &[u8]) -> SysResult<Arc<Inode>> {
        let name = std::str::from_utf8(name).map_err(|_| Errno::ENOENT)?;
        let n = *sys_entries(&self.path)
            .iter()
            .find(|&&e| e == name)
            .ok_or(Errno::ENOENT)?;
        let mut path = self.path.clone();
        path.push(n);
        if !sys_entries(&path).is_empty() {
            return Ok(dir(
                next_ino(),
                Arc::new(SysDir {
                    kernel: self.kernel.clone(),
                    boot_id: self.boot_id.clone(),
                    path,
                }),
            ));
        }
        if let ["kernel", n] | ["fs", "mqueue", n] = path.as_slice() {
            if crate::ipc::sysctl::KERNEL_FILES.contains(n) || path[0] == "fs" {
                let k = self.kernel.upgrade().ok_or(Errno::ENOENT)?;
                return Ok(crate::ipc::sysctl::inode(&k.ipc, n));
            }
        }
        if let ["fs", "dir-notify-enable"] = path.as_slice() {
            return Ok(Inode::new(
                next_ino(),
                DEV_PROC,
                Meta::new(S_IFREG | 0o644, 0, 0),
                Kind::SynthFile(Arc::new(vfs::dnotify::EnableKnob)),
            ));
        }
        let kw = self.kernel.clone();
        if path.as_slice() == ["kernel", "ns_last_pid"] {
            // The reader's pid namespace's; writable with CAP_SYS_ADMIN.
            let kr = kw.clone();
            return Ok(rw_file(
                next_ino(),
                move || {
                    let k = kr.upgrade().ok_or(Errno::ENOENT)?;
                    let ns = reader_pidns(&k);
                    let last = if ns.is_initial() {
                        lock(&k.table).last_pid()
                    } else {
                        ns.last_pid()
                    };
                    Ok(format!("{last}\n"))
                },
                move |v| {
                    let k = kw.upgrade().ok_or(Errno::ENOENT)?;
                    if !current_capable(&k, crate::task::CAP_SYS_ADMIN) {
                        return Err(Errno::EPERM);
                    }
                    let n: i32 = v.parse().map_err(|_| Errno::EINVAL)?;
                    if !(0..crate::pidns::PID_MAX).contains(&n) {
                        return Err(Errno::EINVAL);
                    }
                    let ns = reader_pidns(&k);
                    if ns.is_initial() {
                        lock(&k.table).set_last_pid(n);
                    } else {
                        ns.set_last_pid(n);
                    }
                    Ok(())
                },
            ));
        }
        if path.as_slice() == ["fs", "nr_open"] {
            let kr = kw.clone();
            return Ok(rw_file(
                next_ino(),
                move || {
                    let k = kr.upgrade().ok_or(Errno::ENOENT)?;
                    Ok(format!("{}\n", k.nr_open.load(Ordering::Relaxed)))
                },
                move |v| {
                    let k = kw.upgrade().ok_or(Errno::ENOENT)?;
                    // proc_dointvec_minmax within Linux's bounds.
                    let n = parse_c_number(v).ok_or(Errno::EINVAL)?;
                    if !(crate::NR_OPEN_MIN..=crate::NR_OPEN_MAX).contains(&n) {
                        return Err(Errno::EINVAL);
                    }
                    k.nr_open.store(n, Ordering::Relaxed);
                    Ok(())
                },
            ));
        }
        if path.as_slice() == ["kernel", "dmesg_restrict"] {
            let kr = kw.clone();
            return Ok(rw_file(
                next_ino(),
                move || {
                    let k = kr.upgrade().ok_or(Errno::ENOENT)?;
                    Ok(format!(
                        "{}\n",
                        k.klog.restrict.load(Ordering::Relaxed) as u8
                    ))
                },
                move |v| {
                    let k = kw.upgrade().ok_or(Errno::ENOENT)?;
                    // proc_dointvec_minmax_sysadmin: 0 or 1, root's
                    // CAP_SYS_ADMIN only.
                    if !current_capable(&k, crate::task::CAP_SYS_ADMIN) {
                        return Err(Errno::EPERM);
                    }
                    match v {
                        "0" => k.klog.restrict.store(false, Ordering::Relaxed),
                        "1" => k.klog.restrict.store(true, Ordering::Relaxed),
                        _ => return Err(Errno::EINVAL),
                    }
                    Ok(())
                },
            ));
        }
        let boot_id = self.boot_id.clone();
        Ok(file(next_ino(), move || {
            let k = kw.upgrade().ok_or(Errno::ENOENT)?;
            let v = match path.as_slice() {
                // The reader's UTS namespace, as on Linux.
                ["kernel", "hostname"] => {
                    String::from_utf8_lossy(&lock(&reader_ns(&k).uts.names).hostname).into_owned()
                }
                ["kernel", "domainname"] => {
                    String::from_utf8_lossy(&lock(&reader_ns(&k).uts.names).domainname).into_owned()
                }
                ["kernel", "osrelease"] => crate::UTS_RELEASE.to_string(),
                ["kernel", "ostype"] => "Linux".to_string(),
                ["kernel", "pid_max"] => "4194304".to_string(),
                ["kernel", "threads-max"] => crate::MAX_TASKS.to_string(),
                ["kernel", "ngroups_max"] => "65536".to_string(),
                // What an unmapped id shows as in a user namespace.
                ["kernel", "overflowuid"] | ["kernel", "overflowgid"] => {
                    crate::ns::OVERFLOW_ID.to_string()
                }
                ["kernel", "random", "boot_id"] => match boot_id.get() {
                    Some(id) => id.clone(),
                    None => boot_id.get_or_init(|| uuid().unwrap_or_default()).clone(),
                },
                ["kernel", "random", _] => uuid()?,
                ["net", "core", "somaxconn"] => vfs::unix::SOMAXCONN.to_string(),
                ["net", "core", _] => vfs::unix::BUF_MAX.to_string(),
                ["net", "ipv4", "ip_local_port_range"] => {
                    format!("{}\t{}", net::EPHEMERAL_LOW, net::EPHEMERAL_HIGH)
                }
                ["net", "ipv4", "tcp_rmem"] => format!("4096\t{}\t33554432", net::inet::TCP_RCVBUF),
                ["net", "ipv4", "tcp_wmem"] => format!("4096\t{}\t4194304", net::inet::TCP_SNDBUF),
                ["net", "ipv4", "tcp_syncookies"] => "1".to_string(),
                ["net", "ipv6", "bindv6only"] => "0".to_string(),
                ["vm", "overcommit_memory"] => "0".to_string(),
                ["vm", "max_map_count"] => "65530".to_string(),
                ["vm", "mmap_min_addr"] => "65536".to_string(),
                ["fs", "file-max"] => "9223372036854775807".to_string(),
                ["fs", "pipe-max-size"] => "1048576".to_string(),
                ["fs", "inotify", "max_queued_events"] => {
                    vfs::inotify::MAX_QUEUED_EVENTS.to_string()
                }
                ["fs", "inotify", "max_user_instances"] => {
                    vfs::inotify::MAX_USER_INSTANCES.to_string()
                }
                ["fs", "inotify", "max_user_watches"] => vfs::inotify::MAX_USER_WATCHES.to_string(),
                _ => return Err(Errno::ENOENT),
            };
            Ok(format!("{v}\n").into_bytes())
        }))
    }

    fn list(&self) -> Vec<(Vec<u8>, u8, u64)> {
        sys_entries(&self.path)
            .iter()
            .map(|n| {
                let mut p = self.path.clone();
                p.push(n);
                let dt = if sys_entries(&p).is_empty() {
                    DT_REG
                } else {
                    DT_DIR
                };
                (n.as_bytes().to_vec(), dt, next_ino())
            })
            .collect()
    }
}

const PID_FILES: &[&str] = &[
    "exe",
    "cwd",
    "root",
    "fd",
    "cmdline",
    "comm",
    "environ",
    "maps",
    "stat",
    "status",
    "statm",
    "mounts",
    "limits",
    "auxv",
    "task",
    "mountinfo",
    "fdinfo",
    "wchan",
    "mem",
    "cgroup",
    "oom_score",
    "oom_score_adj",
    "coredump_filter",
    "smaps",
    "smaps_rollup",
    "io",
    "ns",
    "uid_map",
    "gid_map",
    "setgroups",
];

/// `/proc/pid/mem`: the process's memory at file offset = address, read
/// and written as a debugger does. Opening binds the file to the address
/// space of that moment, as on Linux.
struct ProcMem {
    kernel: Weak<Kernel>,
    pid: i32,
}

impl SynthFile for ProcMem {
    fn generate(&self) -> SysResult<Vec<u8>> {
        Err(Errno::EINVAL)
    }

    fn open_ops(&self, inode: &Arc<Inode>) -> Option<SysResult<Box<dyn FileOps>>> {
        Some(group(&self.kernel, self.pid).and_then(|(_, g)| {
            // Landlock: a landlocked opener reaches only processes in its
            // domain or below, as ptrace does. (The task table is locked
            // before any process.)
            let opener = self.kernel.upgrade().and_then(|k| k.find_task(current().0));
            let dom = opener.and_then(|t| lock(&t.landlock).clone());
            let inner = g.lock();
            if !inner.dumpable {
                return Err(Errno::EACCES);
            }
            let leader = inner.threads.first().ok_or(Errno::ESRCH)?;
            if !crate::ptrace::landlock_scoped(dom.as_ref(), leader) {
                return Err(Errno::EACCES);
            }
            let mm = inner.mm.clone().ok_or(Errno::ESRCH)?;
            Ok(Box::new(MemOps {
                inode: inode.clone(),
                mm,
            }) as Box<dyn FileOps>)
        }))
    }
}

struct MemOps {
    inode: Arc<Inode>,
    mm: Arc<std::sync::Mutex<mm::MemoryManager>>,
}

/// A debugger-style access that moved nothing is `EIO`, as on Linux.
fn moved(n: usize, len: usize) -> SysResult<usize> {
    if n == 0 && len != 0 {
        Err(Errno::EIO)
    } else {
        Ok(n)
    }
}

impl FileOps for MemOps {
    fn read(&self, _f: &File, buf: &mut [u8], off: u64) -> SysResult<usize> {
        moved(lock(&self.mm).read_forced(off, buf), buf.len())
    }

    fn write(&self, _f: &File, buf: &[u8], off: u64) -> SysResult<usize> {
        moved(lock(&self.mm).write_forced(off, buf), buf.len())
    }

    fn seekable(&self) -> bool {
        true
    }

    fn stat(&self, _f: &File) -> SysResult<Stat> {
        Ok(self.inode.stat())
    }
}

#[derive(Clone)]
struct PidDir {
    kernel: Weak<Kernel>,
    /// The namespace the `/proc` instance shows (`pid`, `tid` are global).
    ns: Arc<PidNs>,
    pid: i32,
    tid: i32,
    /// `/proc/PID` itself, not `/proc/PID/task/TID`.
    process_dir: bool,
}

/// The process an open `/proc/PID` directory stands for, as
/// `pidfd_send_signal` accepts it (EBADF for anything else, ESRCH once
/// the process is gone).
pub fn process_of_dir(f: &vfs::File) -> SysResult<Arc<ThreadGroup>> {
    let d = f
        .dentry
        .as_ref()
        .and_then(|d| match &d.inode.kind {
            vfs::inode::Kind::SynthDir(sd) => sd.as_any()?.downcast_ref::<PidDir>().cloned(),
            _ => None,
        })
        .filter(|d| d.process_dir)
        .ok_or(Errno::EBADF)?;
    let k = d.kernel.upgrade().ok_or(Errno::ESRCH)?;
    k.find_group(d.pid).ok_or(Errno::ESRCH)
}

fn group(kernel: &Weak<Kernel>, pid: i32) -> SysResult<(Arc<Kernel>, Arc<ThreadGroup>)> {
    let k = kernel.upgrade().ok_or(Errno::ENOENT)?;
    let g = k.find_group(pid).ok_or(Errno::ENOENT)?;
    Ok((k, g))
}

/// A process's command line (`/proc/PID/cmdline`: its arguments, each
/// ended by a NUL).
pub fn cmdline(g: &ThreadGroup) -> Vec<u8> {
    read_mm_range(g, |m| (m.arg_start, m.arg_end)).unwrap_or_default()
}

/// The CPU time (ns) a process's threads have used, live and exited.
pub fn process_cpu_ns(g: &ThreadGroup) -> u64 {
    let inner = g.lock();
    inner.threads.iter().map(|t| t.cpu_ns_now()).sum::<u64>() + inner.exited_threads_ns
}

fn read_mm_range(
    g: &ThreadGroup,
    which: fn(&mm::MemoryManager) -> (u64, u64),
) -> SysResult<Vec<u8>> {
    let Some(mm) = g.lock().mm.clone() else {
        return Ok(Vec::new());
    };
    let mut mm = lock(&mm);
    let (s, e) = which(&mm);
    if e <= s || e - s > 4 << 20 {
        return Ok(Vec::new());
    }
    let mut buf = vec![0u8; (e - s) as usize];
    mm.copy_in(s, &mut buf).map(|_| buf).or(Ok(Vec::new()))
}

/// The address space's size and resident size, in bytes. Taken before
/// the process's lock: the address space's lock must never be waited for
/// under it (putting patched code back holds the first and takes the
/// second).
fn mm_sizes(g: &Arc<ThreadGroup>) -> (u64, u64) {
    let mm = g.lock().mm.clone();
    mm.map_or((0, 0), |m| {
        let m = lock(&m);
        (m.virtual_size(), m.resident_size())
    })
}

/// Whether thread `tid` (or the first, if gone) is running as Linux
/// counts it: in application code now, or the thread reading the file
/// (it is inside a syscall, on a CPU). A thread in the sentry for
/// another reason is counted sleeping: most of those are waits.
fn running(threads: &[Arc<crate::TaskShared>], tid: i32) -> bool {
    threads
        .iter()
        .find(|t| t.tid == tid)
        .or(threads.first())
        .is_some_and(|t| {
            t.app_since.load(std::sync::atomic::Ordering::Relaxed) != 0 || t.tid == current().0
        })
}

fn stat_line(k: &Kernel, g: &Arc<ThreadGroup>, tid: i32, ns: &PidNs) -> String {
    let (vsize, rss) = mm_sizes(g);
    let rss = rss / 4096;
    let inner = g.lock();
    let ppid = ns.shown(inner.parent.as_ref().map_or(0, |p| p.pid));
    let comm = inner
        .threads
        .first()
        .map(|t| String::from_utf8_lossy(&lock(&t.comm)).into_owned())
        .unwrap_or_default();
    let state = if inner.exit_status.is_some() {
        'Z'
    } else if inner.stopped {
        'T'
    } else if running(&inner.threads, tid) {
        'R'
    } else {
        'S'
    };
    let nthreads = inner.threads.len().max(1);
    let sched = inner
        .threads
        .iter()
        .find(|t| t.tid == tid)
        .or(inner.threads.first())
        .map_or_else(crate::sched::Sched::initial, |t| *lock(&t.sched));
    // Linux's "priority": 20 + nice for the fair classes, -1 - priority
    // for the real-time ones.
    let prio = if sched.rt_priority > 0 {
        -1 - sched.rt_priority as i64
    } else {
        20 + sched.nice as i64
    };
    let cpu_now = (0..crate::sched::MAX_CPUS)
        .find(|&c| sched.affinity.contains(c))
        .unwrap_or(0);
    let start = g.start.duration_since(k.start).as_millis() as u64 / 10;
    let cpu = inner.threads.iter().map(|t| t.cpu_ns_now()).sum::<u64>() / 10_000_000;
    format!(
        "{} ({comm}) {state} {ppid} {} {} 0 -1 4194304 0 0 0 0 {cpu} 0 0 0 {prio} {} {nthreads} 0 {start} {vsize} {rss} 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 {cpu_now} {} {} 0 0 0 0 0 0 0 0 0 0 0\n",
        ns.shown(tid),
        ns.shown(inner.pgid),
        ns.shown(inner.sid),
        sched.nice,
        sched.rt_priority,
        sched.policy
    )
}

/// Id `id`'s numbers in the namespaces from `ns` (the `/proc`
/// instance's) down to process `g`'s own, outermost first, 0 where it has
/// none: `NStgid`, `NSpid`, `NSpgid`, `NSsid`.
fn ns_ids(g: &ThreadGroup, id: i32, ns: &PidNs) -> String {
    let mut levels = Vec::new();
    let mut cur = Some(g.pidns.clone());
    while let Some(c) = cur.filter(|c| c.level >= ns.level) {
        levels.push(c.shown(id).to_string());
        cur = c.parent.clone();
    }
    levels.reverse();
    levels.join("\t")
}

/// `user`: the reader's user namespace, through which ids are shown.
fn status_text(g: &Arc<ThreadGroup>, tid: i32, ns: &PidNs, user: &crate::ns::UserNs) -> String {
    let (vsize, rss) = mm_sizes(g);
    let (vsize, rss) = (vsize / 1024, rss / 1024);
    let inner = g.lock();
    // A namespace's init has its parent outside: 0.
    let ppid = ns.shown(inner.parent.as_ref().map_or(0, |p| p.pid));
    let t = inner
        .threads
        .iter()
        .find(|t| t.tid == tid)
        .or(inner.threads.first())
        .cloned();
    let comm = t
        .as_ref()
        .map(|t| String::from_utf8_lossy(&lock(&t.comm)).into_owned())
        .unwrap_or_default();
    let mask = t.as_ref().map_or(0, |t| t.mask().0);
    let cpus = t
        .as_ref()
        .map_or_else(crate::sched::online, |t| lock(&t.sched).affinity);
    let pend = t.as_ref().map_or(0, |t| lock(&t.pending).set().0);
    let (ign, cgt) = {
        let h = lock(&inner.sighand);
        let mut ign = 0u64;
        let mut cgt = 0u64;
        for (i, a) in h.actions.iter().enumerate() {
            if a.handler == abi::signal::SIG_IGN {
                ign |= 1 << i;
            } else if a.handler != abi::signal::SIG_DFL {
                cgt |= 1 << i;
            }
        }
        (ign, cgt)
    };
    let seccomp = t.as_ref().map_or(0, |t| {
        t.shown_seccomp.load(std::sync::atomic::Ordering::Relaxed)
    });
    let umask = t
        .as_ref()
        .and_then(|t| lock(&t.fsctx).clone())
        .map_or(0o022, |fs| lock(&fs).umask);
    let nnp = t.as_ref().is_some_and(|t| {
        t.shown_no_new_privs
            .load(std::sync::atomic::Ordering::Relaxed)
    }) as u8;
    let (ids, eff, prm) = match t.as_ref() {
        Some(t) => (
            t.ids
                .each_ref()
                .map(|v| v.load(std::sync::atomic::Ordering::Relaxed)),
            t.shown_caps[0].load(std::sync::atomic::Ordering::Relaxed),
            t.shown_caps[1].load(std::sync::atomic::Ordering::Relaxed),
        ),
        None => (
            [inner.uid, inner.uid, inner.uid, inner.uid, 0, 0, 0, 0],
            0,
            0,
        ),
    };
    let [ruid, euid, suid, fsuid, rgid, egid, sgid, fsgid] = ids;
    let [ruid, euid, suid, fsuid] = [ruid, euid, suid, fsuid].map(|u| user.uid_of(u));
    let [rgid, egid, sgid, fsgid] = [rgid, egid, sgid, fsgid].map(|g| user.gid_of(g));
    let (tracer_pid, trace_stopped) = t.as_ref().map_or((0, false), |t| {
        let tr = lock(&t.trace);
        (
            ns.shown(tr.tracer.as_ref().map_or(0, |x| x.pid)),
            tr.stop.is_some(),
        )
    });
    let state = if inner.exit_status.is_some() {
        "Z (zombie)"
    } else if trace_stopped {
        "t (tracing stop)"
    } else if inner.stopped {
        "T (stopped)"
    } else if running(&inner.threads, tid) {
        "R (running)"
    } else {
        "S (sleeping)"
    };
    let mut s = String::new();
    let _ = write!(
        s,
        "Name:\t{comm}\nUmask:\t{umask:04o}\nState:\t{state}\nTgid:\t{}\nNgid:\t0\nPid:\t{}\nPPid:\t{ppid}\nTracerPid:\t{tracer_pid}\nUid:\t{ruid}\t{euid}\t{suid}\t{fsuid}\nGid:\t{rgid}\t{egid}\t{sgid}\t{fsgid}\nFDSize:\t64\nGroups:\t\nNStgid:\t{}\nNSpid:\t{}\nNSpgid:\t{}\nNSsid:\t{}\nVmPeak:\t{vsize:8} kB\nVmSize:\t{vsize:8} kB\nVmRSS:\t{rss:8} kB\nThreads:\t{}\nSigQ:\t0/63704\nSigPnd:\t{pend:016x}\nShdPnd:\t{:016x}\nSigBlk:\t{mask:016x}\nSigIgn:\t{ign:016x}\nSigCgt:\t{cgt:016x}\nCapInh:\t0000000000000000\nCapPrm:\t{prm:016x}\nCapEff:\t{eff:016x}\nCapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000000\nNoNewPrivs:\t{nnp}\nSeccomp:\t{seccomp}\nCpus_allowed:\t{}\nCpus_allowed_list:\t{}\nMems_allowed:\t{}00000001\nMems_allowed_list:\t0\nvoluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n",
        ns.shown(g.pid),
        ns.shown(tid),
        ns_ids(g, g.pid, ns),
        ns_ids(g, tid, ns),
        ns_ids(g, inner.pgid, ns),
        ns_ids(g, inner.sid, ns),
        inner.threads.len().max(1),
        inner.pending.set().0,
        cpus.hex(),
        cpus.list(),
        // MAX_NUMNODES (1024) bits, node 0 last.
        "00000000,".repeat(31),
    );
    s
}

impl SynthDir for PidDir {
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }

    fn lookup(&self, name: &[u8]) -> SysResult<Arc<Inode>> {
        let name = std::str::from_utf8(name).map_err(|_| Errno::ENOENT)?;
        let idx = PID_FILES
            .iter()
            .position(|&n| n == name)
            .ok_or(Errno::ENOENT)? as u64
            + 1;
        let ino = pid_ino(self.tid, idx);
        let (kw, pid, tid) = (self.kernel.clone(), self.pid, self.tid);
        let ns = self.ns.clone();
        group(&kw, pid)?;
        Ok(match name {
            "exe" => link(ino, move || {
                let (_, g) = group(&kw, pid)?;
                let d = g.lock().exe.clone().ok_or(Errno::ENOENT)?;
                Ok(LinkTarget {
                    text: d.path(),
                    dentry: Some(d),
                })
            }),
            "cwd" | "root" => {
                let cwd = name == "cwd";
                link(ino, move || {
                    let k = kw.upgrade().ok_or(Errno::ENOENT)?;
                    let t = k.find_task(tid).ok_or(Errno::ENOENT)?;
                    let fs = lock(&t.fsctx).clone().ok_or(Errno::ENOENT)?;
                    let d = if cwd {
                        lock(&fs).cwd.clone()
                    } else {
                        lock(&fs).root.clone()
                    };
                    Ok(LinkTarget {
                        text: d.path(),
                        dentry: Some(d),
                    })
                })
            }
            "ns" => dir(ino, Arc::new(NsDir { kernel: kw, tid })),
            "fd" => dir(
                ino,
                Arc::new(FdDir {
                    kernel: kw,
                    tid,
                    info: false,
                }),
            ),
            "fdinfo" => dir(
                ino,
                Arc::new(FdDir {
                    kernel: kw,
                    tid,
                    info: true,
                }),
            ),
            "wchan" => file(ino, || Ok(b"0".to_vec())),
            // Reads and writes through the read/write families; the
            // sandbox's files live in memory or are read from the host
            // page cache, so no byte is counted as storage I/O.
            "io" => file(ino, move || {
                let (_, g) = group(&kw, pid)?;
                let inner = g.lock();
                let mut c = inner.exited_io;
                for t in &inner.threads {
                    for (sum, v) in c.iter_mut().zip(t.io.get()) {
                        *sum += v;
                    }
                }
                let [rchar, wchar, syscr, syscw] = c;
                Ok(format!("rchar: {rchar}\nwchar: {wchar}\nsyscr: {syscr}\nsyscw: {syscw}\nread_bytes: 0\nwrite_bytes: 0\ncancelled_write_bytes: 0\n").into_bytes())
            }),
            // Every process is in the sandbox's one cgroup (v2).
            "cgroup" => file(ino, || Ok(b"0::/\n".to_vec())),
            "oom_score" => file(ino, move || {
                let (k, g) = group(&kw, pid)?;
                Ok(format!("{}\n", oom_score(&k, &g)).into_bytes())
            }),
            "oom_score_adj" => rw_file(
                ino,
                {
                    let kw = kw.clone();
                    move || Ok(format!("{}\n", group(&kw, pid)?.1.lock().oom_score_adj))
                },
                move |v: &str| {
                    let adj: i32 = v.parse().map_err(|_| Errno::EINVAL)?;
                    if !(-1000..=1000).contains(&adj) {
                        return Err(Errno::EINVAL);
                    }
                    let (_, g) = group(&kw, pid)?;
                    g.lock().oom_score_adj = adj;
                    Ok(())
                },
            ),
            "coredump_filter" => rw_file(
                ino,
                {
                    let kw = kw.clone();
                    move || {
                        Ok(format!(
                            "{:08x}\n",
                            group(&kw, pid)?.1.lock().coredump_filter
                        ))
                    }
                },
                move |v: &str| {
                    let f = parse_c_number(v).ok_or(Errno::EINVAL)?;
                    let (_, g) = group(&kw, pid)?;
                    // Linux keeps the bits it knows (MMF_DUMP_FILTER_BITS).
                    g.lock().coredump_filter = (f & 0x1ff) as u32;
                    Ok(())
                },
            ),
            "smaps" | "smaps_rollup" => {
                let rollup = name == "smaps_rollup";
                file(ino, move || {
                    let (_, g) = group(&kw, pid)?;
                    let mm = g.lock().mm.clone();
                    Ok(mm
                        .map(|m| lock(&m).smaps_text(rollup).into_bytes())
                        .unwrap_or_default())
                })
            }
            "mem" => {
                let (_, g) = group(&kw, pid)?;
                let uid = g.lock().uid;
                Inode::new(
                    ino,
                    DEV_PROC,
                    Meta::new(S_IFREG | 0o600, uid, 0),
                    Kind::SynthFile(Arc::new(ProcMem { kernel: kw, pid })),
                )
            }
            "task" => dir(
                ino,
                Arc::new(TaskDir {
                    kernel: kw,
                    ns: ns.clone(),
                    pid,
                }),
            ),
            "cmdline" => file(ino, move || {
                read_mm_range(&group(&kw, pid)?.1, |m| (m.arg_start, m.arg_end))
            }),
            "environ" => file(ino, move || {
                read_mm_range(&group(&kw, pid)?.1, |m| (m.env_start, m.env_end))
            }),
            "comm" => file(ino, move || {
                let k = kw.upgrade().ok_or(Errno::ENOENT)?;
                let t = k.find_task(tid).ok_or(Errno::ENOENT)?;
                let mut c = lock(&t.comm).clone();
                c.push(b'\n');
                Ok(c)
            }),
            "maps" => file(ino, move || {
                let (_, g) = group(&kw, pid)?;
                let mm = g.lock().mm.clone();
                Ok(mm
                    .map(|m| lock(&m).maps_text().into_bytes())
                    .unwrap_or_default())
            }),
            "stat" => file(ino, move || {
                let (k, g) = group(&kw, pid)?;
                Ok(stat_line(&k, &g, tid, &ns).into_bytes())
            }),
            "status" => file(ino, move || {
                let (k, g) = group(&kw, pid)?;
                let user = reader_ns(&k).user.clone();
                Ok(status_text(&g, tid, &ns, &user).into_bytes())
            }),
            "statm" => file(ino, move || {
                let (_, g) = group(&kw, pid)?;
                let mm = g.lock().mm.clone();
                let (v, r) = mm.map_or((0, 0), |m| {
                    let m = lock(&m);
                    (m.virtual_size() / 4096, m.resident_size() / 4096)
                });
                Ok(format!("{v} {r} 0 0 0 0 0\n").into_bytes())
            }),
            "mounts" | "mountinfo" => {
                let info = name == "mountinfo";
                file(ino, move || {
                    let k = kw.upgrade().ok_or(Errno::ENOENT)?;
                    let t = k.find_task(tid).ok_or(Errno::ENOENT)?;
                    let ns = lock(&t.ns).mnt.ns.clone();
                    let root = lock(&t.fsctx)
                        .as_ref()
                        .map(|fs| lock(fs).root.clone())
                        .unwrap_or_else(|| ns.root().root.clone());
                    Ok(ns.render(&root, info).into_bytes())
                })
            }
            "uid_map" | "gid_map" => {
                let uid = name == "uid_map";
                owned_by_task(
                    &kw.clone(),
                    tid,
                    rw_file(
                        ino,
                        {
                            let kw = kw.clone();
                            move || {
                                let (k, ns) = task_user_ns(&kw, tid)?;
                                Ok(ns.map_text(&reader_ns(&k).user, uid))
                            }
                        },
                        move |v: &str| {
                            let (k, ns) = task_user_ns(&kw, tid)?;
                            crate::ns::write_map(&ns, &writer(&k)?, uid, v.as_bytes())
                        },
                    ),
                )
            }
            "setgroups" => owned_by_task(
                &kw.clone(),
                tid,
                rw_file(
                    ino,
                    {
                        let kw = kw.clone();
                        move || {
                            let (_, ns) = task_user_ns(&kw, tid)?;
                            let denied = lock(&ns.maps).setgroups_denied;
                            Ok(if denied { "deny\n" } else { "allow\n" }.to_string())
                        }
                    },
                    move |v: &str| {
                        let (k, ns) = task_user_ns(&kw, tid)?;
                        crate::ns::write_setgroups(&ns, &writer(&k)?, v)
                    },
                ),
            ),
            "limits" => file(ino, move || {
                let (_, g) = group(&kw, pid)?;
                let r = g.lock().rlimits;
                let names = [
                    ("Max cpu time", "seconds"),
                    ("Max file size", "bytes"),
                    ("Max data size", "bytes"),
                    ("Max stack size", "bytes"),
                    ("Max core file size", "bytes"),
                    ("Max resident set", "bytes"),
                    ("Max processes", "processes"),
                    ("Max open files", "files"),
                    ("Max locked memory", "bytes"),
                    ("Max address space", "bytes"),
                    ("Max file locks", "locks"),
                    ("Max pending signals", "signals"),
                    ("Max msgqueue size", "bytes"),
                    ("Max nice priority", ""),
                    ("Max realtime priority", ""),
                    ("Max realtime timeout", "us"),
                ];
                let v = |x: u64| {
                    if x == u64::MAX {
                        "unlimited".to_string()
                    } else {
                        x.to_string()
                    }
                };
                let mut s = format!(
                    "{:<25} {:<20} {:<20} {:<10}\n",
                    "Limit", "Soft Limit", "Hard Limit", "Units"
                );
                for (i, (n, u)) in names.iter().enumerate() {
                    let _ = writeln!(
                        s,
                        "{:<25} {:<20} {:<20} {:<10}",
                        n,
                        v(r[i].cur),
                        v(r[i].max),
                        u
                    );
                }
                Ok(s.into_bytes())
            }),
            "auxv" => file(ino, move || {
                let (_, g) = group(&kw, pid)?;
                let mm = g.lock().mm.clone();
                Ok(mm
                    .map(|m| {
                        lock(&m)
                            .auxv
                            .iter()
                            .flat_map(|(k, v)| k.to_le_bytes().into_iter().chain(v.to_le_bytes()))
                            .collect()
                    })
                    .unwrap_or_default())
            }),
            _ => return Err(Errno::ENOENT),
        })
    }

    fn list(&self) -> Vec<(Vec<u8>, u8, u64)> {
        PID_FILES
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let dt = match *n {
                    "exe" | "cwd" | "root" => DT_LNK,
                    "fd" | "task" | "fdinfo" | "ns" => DT_DIR,
                    _ => DT_REG,
                };
                (n.as_bytes().to_vec(), dt, pid_ino(self.tid, i as u64 + 1))
            })
            .collect()
    }
}

struct TaskDir {
    kernel: Weak<Kernel>,
    ns: Arc<PidNs>,
    pid: i32,
}

impl SynthDir for TaskDir {
    fn lookup(&self, name: &[u8]) -> SysResult<Arc<Inode>> {
        let tid: i32 = std::str::from_utf8(name)
            .ok()
            .and_then(|s| s.parse().ok())
            .and_then(|v: i32| self.ns.global(v))
            .ok_or(Errno::ENOENT)?;
        let (_, g) = group(&self.kernel, self.pid)?;
        if !g.lock().threads.iter().any(|t| t.tid == tid) {
            return Err(Errno::ENOENT);
        }
        Ok(dir(
            pid_ino(tid, 0),
            Arc::new(PidDir {
                kernel: self.kernel.clone(),
                ns: self.ns.clone(),
                pid: self.pid,
                tid,
                process_dir: false,
            }),
        ))
    }

    fn list(&self) -> Vec<(Vec<u8>, u8, u64)> {
        match group(&self.kernel, self.pid) {
            Ok((_, g)) => g
                .lock()
                .threads
                .iter()
                .map(|t| {
                    let v = self.ns.shown(t.tid);
                    (v.to_string().into_bytes(), DT_DIR, pid_ino(t.tid, 0))
                })
                .collect(),
            Err(_) => Vec::new(),
        }
    }
}

/// `/proc/pid/fd` (magic links) or, with `info`, `/proc/pid/fdinfo`.
/// `/proc/PID/ns`: one link per namespace kind, `uts:[INODE]`; equal
/// texts mean the same namespace.
struct NsDir {
    kernel: Weak<Kernel>,
    tid: i32,
}

impl SynthDir for NsDir {
    fn lookup(&self, name: &[u8]) -> SysResult<Arc<Inode>> {
        let kind = std::str::from_utf8(name).map_err(|_| Errno::ENOENT)?;
        let idx = crate::ns::KINDS
            .iter()
            .position(|k| *k == kind)
            .ok_or(Errno::ENOENT)?;
        let kind = crate::ns::KINDS[idx];
        let (kw, tid) = (self.kernel.clone(), self.tid);
        Ok(link(pid_ino(tid, 0x80 + idx as u64), move || {
            let k = kw.upgrade().ok_or(Errno::ENOENT)?;
            let t = k.find_task(tid).ok_or(Errno::ENOENT)?;
            let ns = lock(&t.ns).clone();
            let shown = kind.trim_end_matches("_for_children");
            // A process's own pid namespace is its process's; the one for
            // children is in its namespace set.
            let r = if kind == "pid" {
                Some(crate::ns::NsRef::Pid(t.tg.pidns.clone()))
            } else {
                crate::ns::NsRef::of(&ns, kind).or_else(|| crate::ns::NsRef::of(&ns, shown))
            };
            let ino = match &r {
                // A namespace for children without its init yet is not
                // shown (Linux's `pidns_for_children_get`).
                Some(crate::ns::NsRef::Pid(p)) if !p.has_init() => return Err(Errno::ENOENT),
                Some(crate::ns::NsRef::Pid(p)) => p.ino,
                _ => ns.ino(kind).ok_or(Errno::ENOENT)?,
            };
            let name = format!("{shown}:[{ino}]");
            // Opening the link gives a file holding the namespace
            // (`setns`); the time namespace has none to enter yet.
            let dentry = r.map(|r| {
                let inode = Inode::new(
                    ino,
                    crate::ns::DEV_NSFS,
                    Meta::new(S_IFREG | 0o444, 0, 0),
                    Kind::SynthFile(Arc::new(crate::ns::NsNode(r))),
                );
                Dentry::new(name.as_bytes(), None, inode)
            });
            Ok(LinkTarget {
                text: name.into_bytes(),
                dentry,
            })
        }))
    }

    fn list(&self) -> Vec<(Vec<u8>, u8, u64)> {
        crate::ns::KINDS
            .iter()
            .enumerate()
            .map(|(i, n)| {
                (
                    n.as_bytes().to_vec(),
                    DT_LNK,
                    pid_ino(self.tid, 0x80 + i as u64),
                )
            })
            .collect()
    }
}

struct FdDir {
    kernel: Weak<Kernel>,
    tid: i32,
    info: bool,
}

impl FdDir {
    fn table(&self) -> SysResult<Arc<std::sync::Mutex<crate::fdtable::FdTable>>> {
        let k = self.kernel.upgrade().ok_or(Errno::ENOENT)?;
        let t = k.find_task(self.tid).ok_or(Errno::ENOENT)?;
        let f = lock(&t.files).clone().ok_or(Errno::ENOENT)?;
        Ok(f)
    }
}

impl SynthDir for FdDir {
    fn lookup(&self, name: &[u8]) -> SysResult<Arc<Inode>> {
        let fd: i32 = std::str::from_utf8(name)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or(Errno::ENOENT)?;
        let table = self.table()?;
        let (of, cloexec) = {
            let t = lock(&table);
            let e = t.entry(fd).map_err(|_| Errno::ENOENT)?;
            (e.file.clone(), e.cloexec)
        };
        let ino = next_ino();
        if self.info {
            return Ok(file(ino, move || {
                let pos = *lock(&of.pos);
                let flags = of.flags() | if cloexec { abi::fs::O_CLOEXEC } else { 0 };
                let fino = of.stat().map(|s| s.ino).unwrap_or(0);
                Ok(
                    format!("pos:\t{pos}\nflags:\t0{flags:o}\nmnt_id:\t0\nino:\t{fino}\n")
                        .into_bytes(),
                )
            }));
        }
        let meta_mode =
            S_IFLNK | if of.readable() { 0o500 } else { 0 } | if of.writable() { 0o200 } else { 0 };
        let f = of.clone();
        let node = Inode::new(
            ino,
            DEV_PROC,
            Meta::new(meta_mode, 0, 0),
            Kind::SynthLink(Arc::new(FnLink(move || {
                let text = f.display_path();
                let dentry = vfs::reopen::link_dentry(&f);
                Ok(LinkTarget { text, dentry })
            }))),
        );
        Ok(node)
    }

    fn list(&self) -> Vec<(Vec<u8>, u8, u64)> {
        match self.table() {
            Ok(t) => lock(&t)
                .iter()
                .map(|(fd, _)| {
                    (
                        fd.to_string().into_bytes(),
                        if self.info { DT_REG } else { DT_LNK },
                        next_ino(),
                    )
                })
                .collect(),
            Err(_) => Vec::new(),
        }
    }
}

/// The host's `/proc/cpuinfo`, opened by [`open_host_files`] before the
/// sentry gives up the host's tree and read the first time the sandbox
/// asks for it (a read costs the host ~2.5 ms, most sandboxes never do).
static HOST_CPUINFO: OnceLock<Option<std::fs::File>> = OnceLock::new();

/// Opens what the sandbox's `/proc` and `/sys` later read from the host;
/// call it before the sentry pivots away from the host's root.
pub fn open_host_files() {
    HOST_CPUINFO.get_or_init(|| std::fs::File::open("/proc/cpuinfo").ok());
    crate::sysfs::host_kernel_max();
    crate::klog::read_host_setting();
}

/// The host's `/proc/cpuinfo`, read once.
pub fn host_cpuinfo() -> &'static [u8] {
    static CPUINFO: OnceLock<Vec<u8>> = OnceLock::new();
    CPUINFO.get_or_init(|| {
        use std::io::Read;
        let mut text = Vec::new();
        if let Some(mut f) = HOST_CPUINFO
            .get_or_init(|| std::fs::File::open("/proc/cpuinfo").ok())
            .as_ref()
        {
            if f.read_to_end(&mut text).is_err() {
                text.clear();
            }
        }
        text
    })
}

/// Builds `/proc` and mounts it.
pub fn mount(kernel: &Arc<Kernel>) {
    mount_in(kernel, &kernel.vfs.init_tree(), kernel.init_ns.pid.clone());
}

/// Mounts a procfs showing pid namespace `ns` at `/proc` of tree `t`.
pub fn mount_in(kernel: &Arc<Kernel>, t: &vfs::Tree, ns: Arc<PidNs>) {
    let root = new_root(kernel, ns);
    let sb = vfs::mount::Super::new("proc", "proc", vfs::inode::DEV_PROC, "", false);
    let flags = vfs::mount::MS_NOSUID | vfs::mount::MS_NODEV | vfs::mount::MS_NOEXEC;
    if let Err(e) = kernel.vfs.mount_at_in(t, b"/proc", root, sb, flags) {
        kernel.log_line(&format!("rvisor: cannot mount /proc: {e}"));
    }
}

/// A procfs root (`mount -t proc`) showing pid namespace `ns`.
pub fn new_root(kernel: &Arc<Kernel>, ns: Arc<PidNs>) -> Arc<Dentry> {
    Dentry::new(
        b"/",
        None,
        dir(
            1,
            Arc::new(Root {
                kernel: Arc::downgrade(kernel),
                ns,
                files: Default::default(),
                cpuinfo: Default::default(),
                boot_id: Default::default(),
            }),
        ),
    )
}
