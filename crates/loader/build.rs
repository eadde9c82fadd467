//! Builds the vDSO (`vdso/vdso.c`) into `$OUT_DIR/vdso.so` with the system C
//! compiler and checks that the result can be mapped as is: one R+X segment at
//! offset 0 / address 0, no dynamic relocations, no writable data, and the
//! expected `LINUX_2.6` symbols.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

#[allow(dead_code)]
#[path = "vdso/elf.rs"]
mod elf;

/// Symbols the image must export, all with version `LINUX_2.6`.
const EXPORTS: [&str; 10] = [
    "__vdso_clock_gettime",
    "__vdso_gettimeofday",
    "__vdso_time",
    "__vdso_getcpu",
    "__vdso_clock_getres",
    "clock_gettime",
    "gettimeofday",
    "time",
    "getcpu",
    "clock_getres",
];

/// Above this the image no longer fits in two pages; not fatal, but worth a
/// look.
const SIZE_WARN: usize = 8192;

fn main() {
    if let Err(e) = run() {
        eprintln!("error building the vDSO: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?);
    let out = PathBuf::from(env::var("OUT_DIR").map_err(|e| e.to_string())?);
    let src = manifest.join("vdso");
    for f in ["vdso.c", "vdso.lds", "vdso.map", "elf.rs"] {
        println!("cargo:rerun-if-changed={}", src.join(f).display());
    }
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=VDSO_CC");

    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if arch != "x86_64" {
        return Err(format!("the vDSO is x86-64 only (target arch {arch:?})"));
    }

    let so = out.join("vdso.so");
    compile(&src, &so)?;
    let image = std::fs::read(&so).map_err(|e| format!("reading {}: {e}", so.display()))?;
    check(&image).map_err(|e| format!("{}: {e}", so.display()))?;
    if image.len() > SIZE_WARN {
        println!(
            "cargo:warning=vDSO image is {} bytes (more than {SIZE_WARN})",
            image.len()
        );
    }
    Ok(())
}

fn compile(src: &Path, so: &Path) -> Result<(), String> {
    // Deliberately not $CC / $CFLAGS: the flags below must not be mixed with
    // whatever the environment wants for ordinary objects.
    let cc = env::var("VDSO_CC").unwrap_or_else(|_| "cc".to_string());
    let lds = src.join("vdso.lds");
    let map = src.join("vdso.map");
    let mut cmd = Command::new(&cc);
    cmd.args([
        "-std=gnu11",
        "-m64",
        "-O2",
        "-fPIC",
        "-shared",
        "-nostdlib",
        "-ffreestanding",
        "-fvisibility=hidden",
        "-fno-stack-protector",
        "-fno-stack-clash-protection",
        "-fcf-protection=none",
        "-fasynchronous-unwind-tables",
        "-Wall",
        "-Wextra",
        "-Wl,-soname=linux-vdso.so.1",
        "-Wl,--hash-style=both",
        "-Wl,-z,max-page-size=4096",
        "-Wl,-z,common-page-size=4096",
        "-Wl,--no-undefined",
        "-Wl,--build-id=none",
        "-Wl,--eh-frame-hdr",
    ])
    .arg(format!("-Wl,-T,{}", lds.display()))
    .arg(format!("-Wl,--version-script={}", map.display()))
    .arg("-o")
    .arg(so)
    .arg(src.join("vdso.c"));

    let output = cmd
        .output()
        .map_err(|e| format!("running {cc:?} (set VDSO_CC to choose a C compiler): {e}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!("{cmd:?} failed ({}):\n{stderr}", output.status));
    }
    for line in stderr.lines() {
        println!("cargo:warning=vdso.c: {line}");
    }
    Ok(())
}

/// Checks that `image` can be copied to a page-aligned address and used with
/// no further processing.
fn check(image: &[u8]) -> Result<(), String> {
    use elf::*;

    let e = Elf::parse(image)?;
    if e.e_type != ET_DYN || e.e_machine != EM_X86_64 {
        return Err("not an x86-64 ET_DYN image".into());
    }

    let loads: Vec<_> = e.phdrs.iter().filter(|p| p.p_type == PT_LOAD).collect();
    let [text] = loads.as_slice() else {
        return Err(format!("expected one PT_LOAD, found {}", loads.len()));
    };
    if text.p_offset != 0 || text.p_vaddr != 0 || text.p_filesz != text.p_memsz {
        return Err(format!("PT_LOAD must map the file 1:1 from 0: {text:?}"));
    }
    if text.p_flags != PF_R | PF_X {
        return Err(format!("PT_LOAD flags {:#x}, want R+X", text.p_flags));
    }
    if e.phdrs
        .iter()
        .any(|p| p.p_type == PT_INTERP || p.p_type == PT_TLS)
    {
        return Err("unexpected PT_INTERP or PT_TLS".into());
    }

    const FORBIDDEN: [(i64, &str); 12] = [
        (DT_NEEDED, "DT_NEEDED"),
        (DT_PLTRELSZ, "DT_PLTRELSZ"),
        (DT_RELA, "DT_RELA"),
        (DT_RELASZ, "DT_RELASZ"),
        (DT_REL, "DT_REL"),
        (DT_RELSZ, "DT_RELSZ"),
        (DT_TEXTREL, "DT_TEXTREL"),
        (DT_JMPREL, "DT_JMPREL"),
        (DT_RELR, "DT_RELR"),
        (DT_RELRSZ, "DT_RELRSZ"),
        (DT_RELACOUNT, "DT_RELACOUNT"),
        (DT_RELCOUNT, "DT_RELCOUNT"),
    ];
    for (tag, name) in FORBIDDEN {
        if e.dyn_val(tag).is_some() {
            return Err(format!("{name} present: the vDSO must need no relocation"));
        }
    }
    if e.dyn_val(DT_FLAGS).unwrap_or(0) & DF_TEXTREL != 0 {
        return Err("DF_TEXTREL set".into());
    }
    for (tag, name) in [
        (DT_HASH, "DT_HASH"),
        (DT_GNU_HASH, "DT_GNU_HASH"),
        (DT_VERSYM, "DT_VERSYM"),
        (DT_VERDEF, "DT_VERDEF"),
    ] {
        if e.dyn_val(tag).is_none() {
            return Err(format!("{name} missing"));
        }
    }
    if e.soname()? != Some("linux-vdso.so.1") {
        return Err(format!("soname {:?}", e.soname()?));
    }

    for s in e.sections()? {
        if s.sh_type == SHT_REL || s.sh_type == SHT_RELA {
            return Err(format!("relocation section {}", s.name));
        }
        if s.sh_flags & (SHF_ALLOC | SHF_WRITE) == SHF_ALLOC | SHF_WRITE
            && s.sh_type != SHT_DYNAMIC
            && s.sh_size != 0
        {
            return Err(format!("writable section {} ({} bytes)", s.name, s.sh_size));
        }
    }

    let syms = e.dynsyms()?;
    if let Some(u) = syms.iter().find(|s| s.shndx == 0) {
        return Err(format!("undefined dynamic symbol {}", u.name));
    }
    for name in EXPORTS {
        let s = syms
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(|| format!("symbol {name} not exported"))?;
        if s.sym_type != STT_FUNC
            || s.version != Some("LINUX_2.6")
            || s.version_hidden
            || s.value.saturating_add(s.size) > text.p_filesz
        {
            return Err(format!("bad export {s:?}"));
        }
    }
    Ok(())
}
